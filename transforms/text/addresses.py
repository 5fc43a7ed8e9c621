"""Address parts that the street and ZIP patterns in ``detectors.py`` and ``places.py`` do not read: an apartment
on its own ("Apt 4B", "Apartment 12"), rural routes and highway contracts with their box ("RR 2 Box 45", "HC 1 Box
9"), a street in lower case after a residence cue ("lives at 18 elm st"), and a ZIP code named in a sentence
("zip is 60614", "the 10027 zip code"). Apartments are always someone's home; "Suite", "Unit" and "Room" are not
taken alone (a clinic's suite, a hospital's unit). One pass of each pattern: linear in the text.
"""

from __future__ import annotations

import re

from transforms.text import lexicon
from transforms.text.caseless import Caseless, alternatives, by_first_letter

_Raw = tuple[int, int, str, tuple[tuple[int, int, str], ...]]

# "apt" is also an appointment ("next apt 1 week"): no time unit after the number, no "3x" (times a day)
_APARTMENT = Caseless(
    r"(?i)(?<![\w-])(?:apt|apartment)\.?\s?#?\s?(?:[a-wyz]?\d+[a-wyz]?(?:-\d+[a-z]?)?)(?![\w-])"
    r"(?!\s*(?:hours?|hrs?|days?|weeks?|wks?|months?|mos?|min|minutes?|times|pm|am|o'?clock)\b)"
)
_RURAL_ROUTE = Caseless(
    r"(?i)(?<![\w-])(?:rr|r\.r\.|rural\s+route|hc|star\s+route|psc|cmr)\s?#?\s?\d{1,4},?\s+box\s+#?\d{1,5}(?![\w-])"
)
_SUFFIX = "|".join(sorted(lexicon.STREET_SUFFIXES, key=len, reverse=True))
_LOWER_STREET = Caseless(
    r"(?i)\b(?:lives?|living|lived|resides|residing|stays|staying|moved)\s+(?:at|to)\s+"
    r"(\d{1,6}[a-z]?\s(?:[a-z][a-z'’-]*\s){1,3}(?:" + _SUFFIX + r")\b\.?)"
)
_ZIP_SENTENCE = Caseless(
    r"(?i)\b(?:zip|zip\s?code|postal\s+code|postcode)\s+(?:is|was|of|=)\s+(\d{5}(?:-\d{4})?)(?![\w-])"
    r"|(?<![\w-])(\d{5}(?:-\d{4})?)\s+(?:zip|zip\s?code|postal\s+code)\b"
)


def find_address_parts(text: str) -> list[_Raw]:
    """STREET_ADDRESS findings for apartments, rural routes and lower-case streets; LOCATION for ZIP codes."""
    out: list[_Raw] = []
    low = text.lower()
    if "ap" in low:
        out.extend((m.start(), m.end(), "STREET_ADDRESS", ()) for m in _APARTMENT.finditer(text))
    if "box" in low:
        out.extend((m.start(), m.end(), "STREET_ADDRESS", ()) for m in _RURAL_ROUTE.finditer(text))
    if " at " in low or " to " in low:
        out.extend((m.start(1), m.end(1), "STREET_ADDRESS", ()) for m in _LOWER_STREET.finditer(text))
    if "zip" in low or "postal" in low or "postcode" in low:
        for m in _ZIP_SENTENCE.finditer(text):
            g = 1 if m.group(1) else 2
            out.append((m.start(g), m.end(g), "LOCATION", ()))
    return out


# --- places after a journey, and the rest of a place's name ----------------------------------------------------

# Where a patient went or came from: the same reading of the words after it as after "lives in" (places.py).
# (The cues branch on their first letter, "\b" tested past it: re skips to those letters.)
_JOURNEY_CUE = Caseless(
    r"(?i)(?:"
    + by_first_letter(
        alternatives(
            r"travel(?:l)?ed\s+(?:to|from)|trip\s+to|vacation(?:ing)?\s+in|holiday\s+in|(?:drove|flew|came|arrived"
            r"|returned|transported|transferred|driven|flown)\s+(?:in\s+)?from|stayed\s+in|commutes?\s+(?:to|from)"
        ),
        r"\w",
    )
    + r")\s+(?=[^\W\d_])"
)
_RESIDENCE_STAND_IN = "lives in "  # a cue places.py reads the same way
# Particles that continue a place's name and are no English words: "San Lorenzo los Altos", "Osterode am Harz",
# "Rothenburg ob der Tauber", "Castelluccio dei Sauri", "Paris-les-Bains".
_PLACE_TAIL = re.compile(
    r"(?:[ -](?:los|las|am|an\s+der|ob\s+der|im|dei|della|delle|degli|del|de\s+la|de|du|des|les|sur|upon|ed)[ -]"
    r"[^\W\d_]{3,}(?:-[^\W\d_]+)*)+"
)


def find_journey_places(text: str) -> list[_Raw]:
    """LOCATION findings after a journey cue ("drove from batesbury", "travelled to Sestola"); not after "was in"
    or "visiting" ("was in USOH", "visiting guidelines")."""
    from transforms.text import places  # here: places is imported by detectors after this module

    out: list[_Raw] = []
    for cue in _JOURNEY_CUE.finditer(text):
        tail = text[cue.end() : cue.end() + 80]
        shift = cue.end() - len(_RESIDENCE_STAND_IN)
        for s, e, kind, parts in places._places_after_residence_cue(_RESIDENCE_STAND_IN + tail):
            if s >= len(_RESIDENCE_STAND_IN):
                out.append((s + shift, e + shift, kind, parts))
    return out


def grow_places(text: str, found: list[_Raw]) -> list[_Raw]:
    """The particles and words that continue a found place: "San Lorenzo" + " los Altos"."""
    out: list[_Raw] = []
    for s, e, kind, _ in found:
        if kind in ("LOCATION", "ORGANIZATION_NAME"):  # "San Adán" is read as a firm or a place
            m = _PLACE_TAIL.match(text, e)
            if m is not None:
                out.append((s, m.end(), kind, ()))
    return out


# --- "City ST 12345" with other separators ---------------------------------------------------------------------

_ZIP = re.compile(r"\d(?<![\w-]\d)\d{4}(?:-\d{4})?(?![\w-])")  # (?<![\w-])\d{5}...: re skips to digits
_STATES = {a.lower(): a for _, a in lexicon.US_STATES} | {n.lower(): n for n, _ in lexicon.US_STATES}
_SEPARATORS = " \t,;|/()-."
_CITY_WORD = re.compile(r"[^\W\d_][\w'’.-]*$")


def _state_before(text: str, end: int) -> tuple[int, int] | None:
    """The span of a state (abbreviation or name, any case, maybe bracketed) ending, separators aside, at ``end``:
    string steps over a bounded window (a regular expression searched there would try every start)."""
    i = end
    while i > 0 and end - i < 6 and text[i - 1] in _SEPARATORS:
        i -= 1
    j = i
    for _ in range(3):  # a state name has three words at most ("District of Columbia")
        k = j
        while k > 0 and text[k - 1].isalpha():
            k -= 1
        if k == j:
            return None
        if text[k:i].lower() in _STATES:
            return k, i
        if k == 0 or text[k - 1] != " ":
            return None
        j = k - 1
    return None


_CITY_PREFIXES = frozenset(
    "north south east west new port lake fort mount mt saint st san santa la le el los las".split()
)


def find_city_state_zips(text: str) -> list[_Raw]:
    """LOCATION findings for the city and the ZIP code of "City ST 12345" written with any of the separators forms
    and exports use: "Dayton (OH) 45402", "Dayton,OH,45402", "Dayton/OH/45402", "Dayton; OH; 45402", and in lower
    case ("euclid, tx 75001") when the state is no English word."""
    out: list[_Raw] = []
    for z in _ZIP.finditer(text):
        st = _state_before(text, z.start())
        if st is None:
            continue
        state = text[st[0] : st[1]]
        if state.islower() and (state in lexicon.COMMON_WORDS or state in ("in", "or", "me", "oh", "hi", "ok", "pa")):
            continue  # "45 min, in 30000": in lower case a state that is an English word is that word
        i = st[0]
        while i > 0 and st[0] - i < 4 and text[i - 1] in _SEPARATORS:
            i -= 1
        lower = state.islower()
        kept: list[tuple[int, int]] = []
        pos = i
        while len(kept) < 3 and pos > 0:
            m = _CITY_WORD.search(text, max(0, pos - 40), pos)
            if m is None:
                break
            word = m.group().rstrip(".,;")
            plain = lexicon.fold(word)
            shaped = word.islower() if lower else word[:1].isupper()
            if not shaped or (plain in lexicon.COMMON_WORDS and plain not in _CITY_PREFIXES) or (
                lower and plain in lexicon.CLINICAL_VOCAB
            ):
                break
            kept.append((m.start(), m.start() + len(word)))
            if m.start() == 0 or text[m.start() - 1] != " ":
                break
            pos = m.start() - 1
        if not kept:
            continue
        out.append((kept[-1][0], kept[0][1], "LOCATION", ()))
        out.append((z.start(), z.end(), "LOCATION", ()))
    return out

"""Address parts that the street and ZIP patterns in ``detectors.py`` and ``places.py`` do not read: an apartment
on its own ("Apt 4B", "Apartment 12"), rural routes and highway contracts with their box ("RR 2 Box 45", "HC 1 Box
9"), a street in lower case after a residence cue ("lives at 18 elm st"), and a ZIP code named in a sentence
("zip is 60614", "the 10027 zip code"). Apartments are always someone's home; "Suite", "Unit" and "Room" are not
taken alone (a clinic's suite, a hospital's unit). One pass of each pattern: linear in the text.
"""

from __future__ import annotations

import re

from transforms.text import lexicon
from transforms.text.caseless import Caseless

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
_JOURNEY_CUE = Caseless(
    r"(?i)\b(?:travel(?:l)?ed\s+(?:to|from)|trip\s+to|vacation(?:ing)?\s+in|holiday\s+in|(?:drove|flew|came|arrived"
    r"|returned|transported|transferred|driven|flown)\s+(?:in\s+)?from|(?:was|were|stayed)\s+in|went\s+to"
    r"|visiting|visited|commutes?\s+(?:to|from))\s+(?=[^\W\d_])"
)
_RESIDENCE_STAND_IN = "lives in "  # a cue places.py reads the same way
# Particles that continue a place's name and are no English words: "San Lorenzo los Altos", "Osterode am Harz",
# "Rothenburg ob der Tauber", "Castelluccio dei Sauri", "Paris-les-Bains".
_PLACE_TAIL = re.compile(
    r"(?:[ -](?:los|las|am|an\s+der|ob\s+der|im|dei|della|delle|degli|del|de\s+la|de|du|des|les|sur|upon|ed)[ -]"
    r"[^\W\d_]{3,}(?:-[^\W\d_]+)*)+"
)


def find_journey_places(text: str) -> list[_Raw]:
    """LOCATION findings after a journey cue ("drove from batesbury", "Pt was in Sestola last week")."""
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

_ZIP = re.compile(r"(?<![\w-])\d{5}(?:-\d{4})?(?![\w-])")
_STATE_ALTS = "|".join(
    sorted([a for _, a in lexicon.US_STATES] + [n for n, _ in lexicon.US_STATES], key=len, reverse=True)
)
# Before a ZIP code: a state (abbreviation or name, any case, maybe in brackets) and the words of a city, joined by
# any of the separators forms and exports use: "Dayton (OH) 45402", "Dayton,OH,45402", "Dayton/OH/45402",
# "Dayton; OH; 45402", "dayton, oh 45402".
_CITY_STATE_BEFORE = re.compile(
    r"((?:[^\W\d_][\w'’.-]*\s){0,2}[^\W\d_][\w'’.-]*)\s*[,;|/(-]?\s*\(?(?i:" + _STATE_ALTS + r")\)?\.?\s*[,;|/-]?\s*$"
)
_CITY_PREFIXES = frozenset(
    "north south east west new port lake fort mount mt saint st san santa la le el los las".split()
)


def find_city_state_zips(text: str) -> list[_Raw]:
    """LOCATION findings for the city and the ZIP code of "City ST 12345" written with any separator."""
    out: list[_Raw] = []
    for z in _ZIP.finditer(text):
        m = _CITY_STATE_BEFORE.search(text, max(0, z.start() - 60), z.start())
        if m is None:
            continue
        words = list(re.finditer(r"\S+", m.group(1)))
        state = text[m.end(1) : z.start()]
        bare = state.strip(" ,;|/()-.")
        if state.islower() and (bare in lexicon.COMMON_WORDS or bare in ("in", "or", "me", "oh", "hi", "ok", "pa")):
            continue  # "45 min, in 30000": in lower case a state that is an English word is that word
        lower = m.group(1).islower() and state.islower()  # "euclid, tx 75001": a city in lower case, its state too
        kept = []
        for w in reversed(words):
            word = w.group().rstrip(".,;")
            plain = lexicon.fold(word)
            shaped = word.islower() if lower else word[:1].isupper()
            if not shaped or (plain in lexicon.COMMON_WORDS and plain not in _CITY_PREFIXES) or (
                lower and plain in lexicon.CLINICAL_VOCAB
            ):
                break
            kept.append(w)
        if not kept:
            continue
        start = m.start(1) + kept[-1].start()
        end = m.start(1) + kept[0].start() + len(kept[0].group().rstrip(".,;"))
        out.append((start, end, "LOCATION", ()))
        out.append((z.start(), z.end(), "LOCATION", ()))
    return out

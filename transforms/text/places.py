"""Places below state level and organisations in free text: a gazetteer, place-name shapes, cues and heads.

Cities come from a gazetteer (every US city and county with a ZIP code, every city of the world with 15,000
people; ``data/places.txt``), found on their own when the name is no English or clinical word and no person's name,
and otherwise only after a place cue ("lives in", "from", "born in") or in an address. Unknown names that are
shaped like places ("Blackburgh", "West Brandonchester", "Port Christopher") count after a place cue or in an
address. Counties, parishes and boroughs by their head word; ZIP codes after a city or a state; street
addresses written the European way ("Schaafstraße 59/19"). Organisations are a run of capitalised words ending in
an organisation head ("Valley Endoscopy Center", "Fidelity Investments", "Acme Corporation"), optionally "of"
a place, a law-firm list ("Lopez, Jones and Walton"), a name before a registered legal form ("Müller GmbH & Co.
KG", "Rossi S.p.A."), a care facility written in lower case ("sacred heart hospital"), or any capitalised run
after an employment cue.
Also: any name after a residence or origin cue ("resident of Tuusniemi"), a city before a state and ZIP, foreign
postcodes ("SW1A 1AA", "75008 Paris"), and a facility's acronym or lower-case name after a patient's transfer cue
("transferred to GH"), where care units, services and states are negative evidence.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator

from transforms.text import lexicon
from transforms.text.caseless import Caseless, alternatives, by_first_letter, lowered, trie_pattern
from transforms.text.names import _is_common as is_everyday_word
from transforms.text.names import eponym_like

_Raw = tuple[int, int, str, tuple]
_NO_PARTS: tuple = ()

_MAX_PLACE_WORDS = 4
_DIGIT = re.compile(r"\d")
_FIVE_DIGITS = re.compile(r"\d{5}")

_UP = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
_CAPWORD = r"[" + _UP + r"][^\W\d_]*(?:['’][^\W\d_]+)?(?:-[^\W\d_]+)*\.?"
_CAP_RUN = re.compile(_CAPWORD + r"(?: " + _CAPWORD + r"){0,3}")

# Cues right before a place: "lives in", "from", "born in", "moved to", "resident of", "near".
_PLACE_CUE_WORDS = (
    "in", "from", "to", "near", "at", "of", "outside", "around", "into", "toward", "towards", "via", "visiting",
    "visit", "lives", "living", "lived", "resides", "residing", "resident", "born", "raised", "moved", "relocated",
    "travel", "traveled", "travelled", "trip", "returned", "flew", "drove", "hometown", "city", "town", "village",
    "county", "home", "address", "located", "based", "outskirts", "downtown", "native",
)  # fmt: skip
_PLACE_CUE = Caseless(r"(?i)(?:\b(?:" + "|".join(_PLACE_CUE_WORDS) + r")\b|,)\s*(?:the\s+)?$")
# Place-name shapes: an English or continental place-name ending, or a prefix word before a capitalised name.
_TOPONYM_END = Caseless(
    r"(?i)(?:ville|ton|town|burg|burgh|borough|boro|bury|berry|field|ford|port|mouth|haven|view|side|land|shire"
    r"|chester|cester|caster|stad|stadt|furt|fort|berg|wood|dale|mont|ham|stead|worth|by|ley|bridge|brook|hurst"
    r"|ington|ingham|wick|wich|minster|pool|combe|cliff|crest|gate|grove|heim|hausen|dorf|hagen|feld|bach|au)$"
)
_TOPONYM_PREFIX = frozenset(
    """north south east west new port lake fort mount mt saint st san santa la le el los las nueva nuevo vieja viejo
    villa vila puerto porto""".split()
)
_AREA = re.compile(
    r"(?<![\w])(?:" + _CAPWORD + r" ){1,3}(?:County|Parish|Borough|Township|Municipality|District|Province|Prefecture"
    r"|Canton|Shire|COUNTY|PARISH|BOROUGH|TOWNSHIP)(?![\w])"
)
_STATE_ABBR = "|".join(a for _, a in lexicon.US_STATES)
_STATE_ABBRS = frozenset(a for _, a in lexicon.US_STATES)
# State abbreviations that are also words or units in lower case ("or", "in", "me", "ct", "md")
_WORD_STATES = frozenset("IN OR ME HI OK OH DE LA AL ID CO MO NE MS MD PA CT MT".split())
_STATE_NAME = "|".join(re.escape(n) for n, _ in lexicon.US_STATES)
# A ZIP code after a state ("MA 02139", "Ohio 44101-2345") or right after a city in an address ("Nashua 03060").
_ZIP_AFTER_STATE = re.compile(
    r"(?<![\w])(?:" + _STATE_ABBR + r"|" + _STATE_NAME + r")\.?,?\s+(\d{5}(?:-\d{4})?)(?![\w-])"
)
# A ZIP code after a state written in lower case after a comma ("somerville, ma 02144") or in its traditional short
# form ("Mass. 02139", "Calif 94110").
_ZIP_AFTER_LOWER_STATE = re.compile(
    r"(?:, (?:" + "|".join(a.lower() for a in sorted(_STATE_ABBRS - _WORD_STATES)) + r")\.?"
    r"|(?<![\w])(?i:mass|calif|penn|fla|conn|mich|minn|wis|ariz|colo|tenn|okla|nebr|kans|ark|nev|wyo)\.?)"
    r" (\d{5}(?:-\d{4})?)(?![\w-])"
)
_ZIP_START = re.compile(r"\s(\d{5})")  # where a ZIP code after whitespace starts: what the two patterns above hold
_ZIP_AFTER_CITY = re.compile(r",? (\d{5}(?:-\d{4})?)(?![\w-]|[.,]\d)")
# European street addresses: name + street word + number ("Schaafstraße 59/19", "Naomiring 64", "Rue Cler 5").
_EURO_STREET = re.compile(
    r"(?<![\w-])[" + _UP + r"][^\W\d_]*(?:-[^\W\d_]+)*?-?(?i:straße|strasse|str\.|ring|weg|gasse|platz|allee|damm"
    r"|ufer|chaussee|steig|pfad|markt|laan|straat|gracht|plein|kade|vej|gade|gatan|gata|vägen|katu|tie|utca|ulica|ul\.)"
    r"\s\d{1,4}[a-z]?(?:\s?[/-]\s?\d{1,4})?(?![\w])"
    r"|(?<![\w])(?:Rue|Avenue|Boulevard|Via|Viale|Piazza|Corso|Calle|Avenida|Rua|Praça|Plaza|Paseo|Carrer|Place)"
    r"\s(?:(?:de|del|della|des|du|da|do|la|le|los|las)\s){0,2}" + _CAPWORD + r"(?:\s" + _CAPWORD + r")?,?\s\d{1,4}"
    r"[a-z]?(?![\w])"
)
# What every _AREA and _EURO_STREET match holds, found by scans that skip on a keyword's first letter.
_AREA_HEAD = re.compile(
    r"(?:County|Parish|Borough|Township|Municipality|District|Province|Prefecture|Canton|Shire|COUNTY|PARISH|BOROUGH"
    r"|TOWNSHIP)(?![\w])"
)
# The street words of _EURO_STREET's first branch, lower case: every match of that branch ends in one, then
# whitespace and a digit.
_EURO_SUFFIXES = (
    "straße", "strasse", "str.", "ring", "weg", "gasse", "platz", "allee", "damm", "ufer", "chaussee", "steig", "pfad",
    "markt", "laan", "straat", "gracht", "plein", "kade", "vej", "gade", "gatan", "gata", "vägen", "katu", "tie",
    "utca", "ulica", "ul.",
)  # fmt: skip
_EURO_SUFFIX_NUMBER = re.compile(r"(?:" + "|".join(re.escape(k) for k in _EURO_SUFFIXES) + r")\s\d")
_EURO_STREET_WORD = re.compile(
    r"(?:Rue|Avenue|Boulevard|Via|Viale|Piazza|Corso|Calle|Avenida|Rua|Praça|Plaza|Paseo|Carrer|Place)\s"
)


_SPACE_DIGIT = re.compile(r"\s\d")


def _euro_street_possible(text: str) -> bool:
    low = lowered(text)
    if low is None:
        return True
    # _EURO_SUFFIX_NUMBER.search(low), asked only where whitespace and a digit are: does a suffix end right there?
    for m in _SPACE_DIGIT.finditer(low):
        if low.endswith(_EURO_SUFFIXES, 0, m.start()):
            return True
    return bool(_EURO_STREET_WORD.search(text))


# Organisation heads: the last word of an organisation's name.
_ORG_HEADS = (
    r"hospitals?|clinics?|minuteclinic|health|healthcare|center|centre|centers|group|practice|associates|partners"
    r"|institute|school|college|academy|university|department|services|systems?|network|inc\.?|llc|l\.l\.c\.|ltd\.?"
    r"|co\.|corp\.?|corporation|company|plc|gmbh|ag|trust|foundation|society|rehabilitation|rehab|living|psychiatry"
    r"|orthopedics|orthopaedics|cardiology|radiology|imaging|oncology|pediatrics|paediatrics|dialysis|endoscopy|lab"
    r"|labs|laboratory|laboratories|therapy|pharmacy|drugstore|insurance|investments|mutual|bank|depot|warehouse"
    r"|market|supermarket|stores?|shop|church|agency|authority|transit|airlines?|airport|dynamics|industries"
    r"|enterprises|solutions|technologies|consulting|logistics|manufacturing|motors|farms?|hospice|infirmary"
    r"|sanatorium|klinikum|universitätsklinikum|klinik|hôpital|ospedale|krankenhaus|clinique|ziekenhuis|medicine"
    r"|surgery|dermatology|neurology|urology|gastroenterology|obstetrics|gynecology|ophthalmology|dentistry|dental"
    r"|physicians|specialists|urgent\s+care|health\s+care|senior\s+living|assisted\s+living|nursing\s+home"
    r"|care\s+center|residence|manor|gardens|lodge|pavilion|campus|memorial|ymca|ywca|police|sheriff"
    r"|bakery|restaurant|cafe|diner|hotel|motel|casino|club|gym|fitness|studio|salon|bureau|ministry|council"
    r"|commission|league|federation|diagnostics|chiropractic|orthodontics|optometry|audiology|podiatry|pharmaceuticals"
    r"|behavioral\s+health|home\s+health|sons|brothers|bros\.|partnership|holdings|international|worldwide"
    r"|eye\s+care|health\s+plan|library|construction|plumbing|roofing|landscaping|trucking|realty|electric|foods"
)
_ORG = re.compile(
    r"(?<![\w])((?:" + _CAPWORD + r"|&|and|the|" + "|".join(sorted(p for p in lexicon.PARTICLES if p.isalpha()))
    + r"|St\.|Mt\.) ){0,5}(?:(?i:" + _ORG_HEADS + r"))"
    r"(?:\s(?:of|for|OF)\s(?:the\s|THE\s)?" + _CAPWORD + r"(?:\s" + _CAPWORD + r"){0,2}){0,2}(?![\w])"
)
_LAW_FIRM = re.compile(
    r"(?<![\w])(" + _CAPWORD + r"), (" + _CAPWORD + r"),? (?:and|&|AND) (" + _CAPWORD + r")(?![\w])"
)
_HEADS_FIRST = (
    r"(?:Universitätsklinikum|Klinikum|Universitätsspital|Kantonsspital|Krankenhaus|Klinik|Hôpital|Clinique"
    r"|Centre\sHospitalier(?:\sUniversitaire)?|CHU|Ospedale|Policlinico|Hospital|Hospitalet|Sjukhus|Ziekenhuis"
    r"|University|Universität|Université|Universidad|Università|Instituto|Institut|HOSPITAL|UNIVERSITY)"
)
_HEAD_FIRST_ORG = re.compile(
    r"(?<![\w])" + _HEADS_FIRST + r"(?: (?:de |del |di |der |des |du |(?:of|OF) (?:the |THE )?)?" + _CAPWORD + r"){1,4}"
)
# What every _HEAD_FIRST_ORG match holds: a head and a space. Without the look-behind in front, re skips to the heads'
# first letters; the full pattern tries every position (5x slower on a note that holds no head).
_HEAD_FIRST_HINT = re.compile(_HEADS_FIRST + " ")
_SAINT_ORG = re.compile(
    r"(?<![\w])(?:" + _CAPWORD + r" )?(?:St\.|Saint|Mount|Mt\.|San|Santa|Sainte|Ste\.) " + _CAPWORD
    + r"(?: (?:West|East|North|South|Medical|Hospital))?"
)
_ADDRESS_AFTER = re.compile(
    r",\s+(?:(?:" + "|".join(a for _, a in lexicon.US_STATES) + r")\b|" + _CAPWORD + r" (?:County|Parish|Borough))"
    r"|,?\s+\d{5}(?:-\d{4})?(?![\w-])"
)
# A state's postal abbreviation right after a place-shaped name, as in a short address ("Sloanfurt VA", "Port
# Katherineside FL 33101"); not the abbreviations that are also words or units ("OR", "MD", "CT").
_BARE_STATE_AFTER = re.compile(
    r" (?:" + "|".join(sorted(_STATE_ABBRS - _WORD_STATES)) + r")(?:\s*$|[.,;)\n]|\s+\d{5}(?![\w-]))"
)
_STRONG_PLACE_CUE = Caseless(
    r"(?i)\b(?:(?:lives|living|lived|resides|residing|born|raised|moved|located|based|grew\s+up)\b[^.;\n]{0,30}"
    r"\b(?:in|to|at|near)|from|lives\s+in|living\s+in|lived\s+in|resides\s+in|residing\s+in|resident\s+of|born\s+in"
    r"|raised\s+in|moved\s+(?:to|from)|relocated\s+to|hometown|visiting\s+from|city\s+of|town\s+of"
    r"|village\s+of|county\s+of|near|outside|outskirts\s+of|native\s+of|trip\s+to|travel(?:l?ed)?\s+to)\s+(?:the\s+)?$"
)
# The words _STRONG_PLACE_CUE's alternatives end in, before its closing blanks (and "the").
_STRONG_CUE_ENDS = ("in", "to", "at", "near", "from", "of", "hometown", "outside")
_AFTER_ADDRESS = re.compile(r"\d[^\d,;.]{0,30},\s*$")  # "Suite 549, Burlington", "Hill, Denver" after a number
# Only the cue and its blank are consumed, so "lives in catonsville" tries "in" too; the words are read after it.
_LOWER_AFTER_CUE = Caseless(
    r"(?i)(?:" + by_first_letter(alternatives(r"in|from|to|near|visiting|lives|born|moved|resident\s+of"), r"\w")
    + r")\s+(?=[^\W\d_])"
)  # only its matches' ends are read (a Caseless match indexes the lower-cased text: the same offsets)
_LOWER_WORDS = re.compile(r"[^\W\d_]+(?: [^\W\d_]+){0,2}")
_EMPLOYMENT_WORDS = (
    r"works?|worked|working|employed|employee|employer|job|retired|contractor|manager|clerk|cashier"
    r"|driver|engineer|teacher|nurse|analyst|technician|salesman|mechanic|accountant|guard|officer|staff"
)
_EMPLOYMENT_CUE = Caseless(
    r"(?i)\b(?:" + _EMPLOYMENT_WORDS + r")(?:\s+(?:as\s+an?\s+\w+|\w+)){0,3}\s+(?:at|for|by|from|with)\s+$"
)
# Cues before a care facility's or employer's own name.
_FACILITY_CUES = (
    r"(?:transferr?ed|transfer|trans|admitted|adm|discharged|dc'd|referred|sent|brought|taken|moved|returned"
    r"|med-?flighted|flighted|flown|came|went|arrived|accepted|enroute|en\s+route)\s+(?:to|from)|came\s+into"
    r"|(?:accepted|arrived)\s+(?:at|by)"
    r"|(?:seen|treated|followed|evaluated|imaged|scanned|performed|done|delivered|born|hospitali[sz]ed)\s+at"
    r"|outside\s+(?:hospital|facility|films?|imaging|stud(?:y|ies)|images|exam|report|read)(?:\s+(?:from|at))?"
    r"|(?:records|films|images|imaging|stud(?:y|ies)|report|exam)\s+(?:from|at)"
    r"|(?:insurance|insurer|insured\s+by|payer|carrier|health\s+plan|company|firm)\s*:"
    r"|works?\s+(?:at|for)|worked\s+(?:at|for)|employed\s+(?:at|by)|employer:?|facility:?|hospital:?|clinic:?"
    r"|institution:?|site:"
)
# "(?i)...(?=[A-Z])": any letter follows; over lower-cased text that is [a-z]. There the cues branch on their first
# letter (the same matches; re skips to those letters instead of trying every word boundary).
_FACILITY_CUE = Caseless(
    r"(?i)\b(?:" + _FACILITY_CUES + r")\s+(?:the\s+)?(?=[A-Z])",
    r"(?:" + by_first_letter(alternatives(_FACILITY_CUES), r"\w") + r")\s+(?:the\s+)?(?=[a-z])",
)
# A company's name after a cue: capitalised words joined by commas, "&", "and" and its other languages' words,
# then a registered form or a family firm's "e figli" ("Venegas, Narváez y Cruz", "Jakobsen & Dam A/S").
_JOINERS = frozenset("& and y e et und i og och ja -".split())
_ORG_RUN = re.compile(
    _CAPWORD + r"(?:(?:,? (?:&|and|y|e|et|und|i|og|och|ja) |, | - | )" + _CAPWORD + r"){0,5}"
    r"(?:,? (?:e |y |& |et |und |and )?(?:figli|hijos|fils|sons|søn|söhne|asociados|associados|associates|ry|HB|EI"
    r"|S\.\s?Coop\.|Sp\.\s?[jkp]\.|(?:sp|Sp)\.\s?z\s?o\.\s?o\.))?"
)
# "\b(?:St\.|Saint|Mount|Mt\.|San|Santa|Sainte|Ste\.) " (what every _SAINT_ORG match holds) branching on its first
# letter, "\b" tested past it: re skips to an "S" or an "M"
_SAINT_WORD = re.compile(r"(?:S(?<!\wS)(?:t\.|aint|an|anta|ainte|te\.)|M(?<!\wM)(?:ount|t\.)) ")
_EMPLOYMENT_WORD = Caseless(r"(?i)(?:" + by_first_letter(alternatives(_EMPLOYMENT_WORDS), r"\w") + r")\b")
_LOCATION_CUE_BEFORE_ORG = Caseless(
    r"(?i)\b(?:at|from|to|in|admitted|transferred|discharged|seen|resident|followed|referred)\s+(?:the\s+)?$"
)
_LEAD_TRIM = frozenset(
    """the a an at from to in on of for by with and or seen transferred admitted discharged referred followed
    patient pt this that these those his her their our my your outside prior previous recent see call contact
    visit send fax refer per via dear cc attn please note""".split()
)


def _fold_words(words: list[str]) -> str:
    return lexicon.fold(" ".join(w.rstrip(".,") for w in words))


@functools.lru_cache(maxsize=1 << 13)
def _is_wordlike(word: str) -> bool:
    """An English, clinical or name word: such a place is found only with a cue."""
    w = lexicon.fold(word.rstrip(".")).replace("’", "'")
    return (
        w in lexicon.COMMON_WORDS
        or w in lexicon.CLINICAL_VOCAB
        or w in lexicon.DICTIONARY_NAMES
        or w in lexicon.GIVEN_NAMES
        or w in lexicon.SURNAMES
        or w in lexicon.FACILITY_WORDS
    )


@functools.lru_cache(maxsize=1 << 13)
def _is_english(word: str) -> bool:
    w = lexicon.fold(word.rstrip("."))
    return w in lexicon.COMMON_WORDS or w in lexicon.CLINICAL_VOCAB or w in lexicon.DICTIONARY_NAMES


@functools.lru_cache(maxsize=1 << 13)
def _is_everyday(word: str) -> bool:
    return lexicon.fold(word.rstrip(".")) in lexicon.COMMON_WORDS


@functools.lru_cache(maxsize=1 << 13)
def _word_facts(word: str) -> tuple[str, bool, bool, bool]:
    """What _cities asks of one word of a capitalised run: its folded form, whether it is a place-name prefix
    ("Port", "West"), whether it ends a name after such a prefix, and whether it is place-shaped alone (the
    answers of _toponym_shaped, per word)."""
    last = word.rstrip(".")
    return (
        lexicon.fold(word.rstrip(".,")),
        lexicon.fold(last) in _TOPONYM_PREFIX,
        not _is_wordlike(word) or bool(_TOPONYM_END.search(word)),
        len(last) >= 6 and bool(_TOPONYM_END.search(last)) and not _is_wordlike(last),
    )


@functools.cache
def _multi_word_firsts() -> frozenset[str]:
    """The first word of every gazetteer entry of two or more words ("new" of "new haven")."""
    return frozenset(p.split(" ", 1)[0] for p in lexicon.PLACES if " " in p)


_Run = tuple[tuple[str, ...], tuple[tuple[str, bool, bool, bool], ...], tuple[str, ...]]


@functools.lru_cache(maxsize=1 << 13)
def _run_facts(run: str) -> _Run | None:
    """A capitalised run's words, their facts and folded forms; None when no word of it can start or end a place:
    none is a gazetteer entry or the first word of one, a place-name prefix, or place-shaped alone. _cities finds
    nothing in such a run ("Patient", "Seen", "MRN", "Discharged"): at each word no entry starts and, without a
    prefix, the shaped names starting there are judged by their last word alone. Runs repeat from text to text:
    each is split and looked up once."""
    words = tuple(run.split(" "))
    facts = tuple(_word_facts(w) for w in words)
    folded = tuple(f[0] for f in facts)
    places = lexicon.PLACES
    firsts = _multi_word_firsts()
    if not any(f[1] or f[3] or f[0] in places or f[0] in firsts for f in facts):
        return None
    return words, facts, folded


def _toponym_shaped(words: list[str]) -> bool:
    if len(words) >= 2 and lexicon.fold(words[0].rstrip(".")) in _TOPONYM_PREFIX:
        return not _is_wordlike(words[-1]) or bool(_TOPONYM_END.search(words[-1]))
    last = words[-1].rstrip(".")
    return len(last) >= 6 and bool(_TOPONYM_END.search(last)) and not _is_wordlike(last)


def find_places(text: str, wanted: frozenset[str]) -> list[_Raw]:
    """LOCATION (cities, areas, ZIP codes), STREET_ADDRESS (European form) and ORGANIZATION_NAME findings."""
    out: list[_Raw] = []
    if "LOCATION" in wanted:
        out.extend(_cities(text))
        if _RESIDENCE_WORD.search(text):
            out.extend(_places_after_residence_cue(text))
        if _FIVE_DIGITS.search(text):
            for m in _city_state_zips(text):
                words = m.group(1).split(" ")
                while words and (
                    _is_english(words[0]) and words[0].lower() not in _TOPONYM_PREFIX or _DIGIT.search(words[0])
                ):
                    words = words[1:]  # "Suite Boston" -> "Boston"; "Springfield" stays
                if words:
                    out.append((m.end(1) - len(" ".join(words)), m.end(1), "LOCATION", _NO_PARTS))
        if _DIGIT.search(text):
            out.extend(_foreign_postcodes(text))
        if _AREA_HEAD.search(text):
            for m in _AREA.finditer(text):
                out.append((m.start(), m.end(), "LOCATION", _NO_PARTS))
        zips = [m.start(1) for m in _ZIP_START.finditer(text)] if _FIVE_DIGITS.search(text) else None
        if zips:  # each match ends in a ZIP code's chunk, its state (3 words at most) in the 3 chunks before
            for m in _windowed(_ZIP_AFTER_STATE, text, zips, 4, 0):
                out.append((m.start(1), m.end(1), "LOCATION", _NO_PARTS))
            for m in _windowed(_ZIP_AFTER_LOWER_STATE, text, zips, 3, 0):
                out.append((m.start(1), m.end(1), "LOCATION", _NO_PARTS))
    if "STREET_ADDRESS" in wanted and _DIGIT.search(text) and _euro_street_possible(text):
        for m in _EURO_STREET.finditer(text):
            out.append((m.start(), m.end(), "STREET_ADDRESS", _NO_PARTS))
    if "ORGANIZATION_NAME" in wanted:
        out.extend(_organisations(text))
    return out


# Where a person lives, comes from or was born: whatever name follows is a place, known to the gazetteer or not
# ("resident of Tuusniemi", "born in Kurtinig", "lives in clercbourg").
_RESIDENCE_WORD = Caseless(
    r"(?i)(?:" + by_first_letter(alternatives(r"lives?|living|lived|resides|residing|resident|born|raised|moved"
                                             r"|relocated|visiting|hometown|native|from|city|town"), r"\w") + r")\b"
)
_RESIDENCE_CUE = Caseless(
    r"(?i)\b(?:(?:lives?|living|lived|resides|residing|raised|grew\s+up)(?:\s+(?:with|alone|together)(?:\s+[a-z]+){0,2})?"
    r"\s+(?:in|near)|resident\s+of|born\s+in"
    r"|moved\s+(?:here\s+)?(?:to|from)|relocated\s+(?:to|from)|visiting\s+from|hometown:?|native\s+of"
    r"|(?:city|town)\s*:"
    r"|(?:pt|patient|family|daughter|son|wife|husband|he|she|who|is|are|was|originally|comes|came)\s+from)\s+"
    r"(?:the\s+)?(?=[^\W\d_])"
)
_PARTICLE = r"(?:" + "|".join(sorted(lexicon.PLACE_PARTICLES)) + r")"
_PARTICLE_WORD = re.compile(r"(?i)" + _PARTICLE)
_PLACE_WORDS_TITLE = re.compile(_CAPWORD + r"(?: (?:" + _PARTICLE + r" )?" + _CAPWORD + r"){0,3}")
_PLACE_WORDS_LOWER = re.compile(r"[^\W\d_A-Z]+(?:[-'’][^\W\d_]+)*(?: [^\W\d_A-Z]+(?:[-'’][^\W\d_]+)*){0,3}")
_STATE_NAMES = frozenset(lexicon.fold(n) for n, _ in lexicon.US_STATES)


def _places_after_residence_cue(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    for cue in _RESIDENCE_CUE.finditer(text):
        m = _PLACE_WORDS_TITLE.match(text, cue.end()) or _PLACE_WORDS_LOWER.match(text, cue.end())
        if m is None:
            continue
        words = m.group().split(" ")
        caps = words[0].isupper()
        keep = 0  # the words up to the first English, clinical or unit word (a particle inside the name is kept)
        joined = False  # the word before was a particle or a place prefix: this one belongs to the name
        for k, w in enumerate(words):
            bare = w.rstrip(".")
            if _PARTICLE_WORD.fullmatch(w) and k:
                joined = True
                continue
            if joined and w[0].isupper():
                keep, joined = k + 1, False  # "Duarte do Campo", "New Dawn"
                continue
            joined = False
            if (
                _is_english(bare) or _is_unit(bare) or lexicon.fold(bare) in lexicon.TITLES
                or (caps and len(bare) < 4) or (w[0].islower() and len(bare) < 4)
            ):
                if k == 0 and lexicon.fold(bare) in _TOPONYM_PREFIX and len(words) > 1:
                    joined = True
                    continue  # "New", "Port", "San" before the name
                break
            keep = k + 1
            joined = lexicon.fold(bare) in _TOPONYM_PREFIX  # "Nueva Canadá": the word after a prefix is the name
        if not keep:
            continue
        phrase = " ".join(words[:keep]).rstrip(".")
        if lexicon.fold(phrase) in _STATE_NAMES:
            continue  # Safe Harbor keeps states
        out.append((m.start(), m.start() + len(phrase), "LOCATION", _NO_PARTS))
    return out


# A city right before a state and a ZIP code, known to the gazetteer or not: "Søborg, MA 02139", "Elmira NY 14901".
_CITY_STATE_ZIP = re.compile(
    r"(?<![\w])(" + _CAPWORD + r"(?: " + _CAPWORD + r"){0,2})(?:,?\s(?:" + _STATE_ABBR + r"|" + _STATE_NAME
    + r")\.?,?\s\d{5}(?:-\d{4})?|, " + _CAPWORD + r",? \d{4,5})(?![\w-])"
)
# Every _CITY_STATE_ZIP match ends in its last chunk with whitespace and what its two branches end in: 4 or 5 digits, or
# a ZIP+4, then no word character or hyphen (a date's "1956-09-16" is neither); its city (3 words) and its state (3:
# "Northern Mariana Islands") take at most 6 chunks before that one.
_CSZ_DIGITS = re.compile(r"\s(\d{4,5}(?![\w-])|\d{5}-\d{4}(?![\w-]))")
_CSZ_BEFORE = 7


def _city_state_zips(text: str) -> Iterator[re.Match[str]]:
    """Exactly ``_CITY_STATE_ZIP.finditer(text)``, run only in the chunks before each ZIP-like number."""
    anchors = [m.start(1) for m in _CSZ_DIGITS.finditer(text)]
    return _windowed(_CITY_STATE_ZIP, text, anchors, _CSZ_BEFORE, 0) if anchors else iter(())


# Postcodes of other countries: British ("SW1A 1AA"), Canadian ("M5V 2T6"), and a 4- or 5-digit code before a known
# city at the start of an address part ("75008 Paris", "PLZ 10115 Berlin") or after a city in one ("Søborg 2860").
# (no single C, T, L or S before the digit: "L4 5SS", "C5 6TH" are spine levels in a report)
_UK_POSTCODE = re.compile(r"(?<![\w-])(?:[A-Z]{2}|[ABD-KMNO-RU-Z])[1-9][A-Z\d]? \d(?!MG|ML)[A-Z]{2}(?![\w-])")
_CA_POSTCODE = re.compile(r"(?<![\w-])[A-Z]\d[A-Z] ?\d[A-Z]\d(?![\w-])")
_UK_HINT = re.compile(r" \d[A-Z]{2}")  # what every _UK_POSTCODE match holds (its inward code after the space)
_CA_HINT = re.compile(r"\d[A-Z]\d")  # what every _CA_POSTCODE match ends in
_CODE_THEN_CITY = re.compile(
    r"(?:^|(?<=[,\n])|(?<=, )|(?<=PLZ )|(?<=CP )|(?<=CAP )|(?<=NPA )|(?<=[DFIAB]-))(\d{4,5}) (" + _CAPWORD + r")"
)
# What every _CODE_THEN_CITY match holds, "\d{4} [A-ZÀ-Þ]", found from its space (re skips to spaces; from every
# digit it would try the four)
_CODE_SPACE_CAPITAL = re.compile(r" (?<=\d{4} )[A-ZÀ-Þ]")
_CITY_THEN_CODE = re.compile(r"(?<=, )(" + _CAPWORD + r"(?: " + _CAPWORD + r")?) ((?!19|20)\d{4})(?![\w-])")
_SPACED_CODE = re.compile(r" (?!19|20)\d{4}(?![\w-])")  # what every _CITY_THEN_CODE match ends in


def _foreign_postcodes(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    for pattern, hint in ((_UK_POSTCODE, _UK_HINT), (_CA_POSTCODE, _CA_HINT)):
        for m in pattern.finditer(text) if hint.search(text) else ():
            out.append((m.start(), m.end(), "LOCATION", _NO_PARTS))
    for m in _CODE_THEN_CITY.finditer(text) if _CODE_SPACE_CAPITAL.search(text) else ():
        city = lexicon.fold(m.group(2).rstrip("."))
        if city in lexicon.PLACES and city not in lexicon.CLINICAL_VOCAB:
            out.append((m.start(1), m.end(2) - m.group(2).endswith("."), "LOCATION", _NO_PARTS))
    for m in _after_comma(_CITY_THEN_CODE, text) if _SPACED_CODE.search(text) else ():
        words = m.group(1).split(" ")
        if not any(_is_english(w) or w.isupper() or len(w) < 4 for w in words):  # "SVR 1057", "CK 9914": values
            out.append((m.start(1), m.end(2), "LOCATION", _NO_PARTS))
    return out


def _after_comma(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Exactly ``pattern.finditer(text)`` for a pattern that starts with the look-behind ``(?<=, )``: it is tried
    only right after each ", " (where the scan could match), at or after the end of the match before, instead of
    at every position of the text."""
    pos = 0
    comma = text.find(", ")
    while comma >= 0:
        if comma + 2 >= pos:
            m = pattern.match(text, comma + 2)
            if m is not None:
                yield m
                pos = m.end()
        comma = text.find(", ", comma + 1)


_CITY_ZIP_AFTER_COMMA = re.compile(r"(?<=, )(" + _CAPWORD + r"(?: " + _CAPWORD + r"){0,2}) (\d{5}(?:-\d{4})?)(?![\w-])")
_SPACED_ZIP = re.compile(r" \d{5}(?:-\d{4})?(?![\w-])")  # what every _CITY_ZIP_AFTER_COMMA match ends in


def _strong_place_cue(before: str) -> bool:
    """A residence cue ("lives in", "born in") or an address's number ("Suite 549, ") right before a place."""
    tail = before.rstrip()
    last = tail[-1:]
    if last == ",":  # _AFTER_ADDRESS ends in a comma and blanks; _STRONG_PLACE_CUE in a word and blanks: not here
        return _AFTER_ADDRESS.search(before) is not None
    return (
        last.isalpha() and len(tail) < len(before) and _may_end_in(tail, _STRONG_CUE_ENDS)
        and _STRONG_PLACE_CUE.search(before) is not None
    )


def _place_cue(before: str) -> re.Match[str] | None:
    """``_PLACE_CUE.search(before)``, which can match only where ``before`` ends in a comma or a cue word (a letter;
    "ſ", "ı", "K" too, which (?i) folds), maybe "the", and then blanks: "Patient: ", "MRN 12 ", "Dr. " are no cue."""
    tail = before.rstrip()
    last = tail[-1:]
    if last == "," or (last.isalpha() and _may_end_in(tail, _PLACE_CUE_ENDS)):
        return _PLACE_CUE.search(before)
    return None


_PLACE_CUE_ENDS = (*_PLACE_CUE_WORDS, ",")


def _may_end_in(tail: str, ends: tuple[str, ...]) -> bool:
    """Whether ``tail`` (the text before a place, without its closing blanks), lower-cased, ends in one of
    ``ends``, or in one of them, maybe blanks, and "the": what a cue pattern ending in "(?:ENDS)\\s*(?:the\\s+)?$"
    needs there (a cheap look before its search). A tail that is not ASCII may fold otherwise under (?i) ("İN"):
    True, the search decides."""
    if not tail.isascii():
        return True
    low = tail.lower()
    return low.endswith(ends) or (low.endswith("the") and low[:-3].rstrip().endswith(ends))


def _preposition_cue(cue: re.Match[str] | None) -> bool:
    """A place cue holding a word ("in", "from"), not only a comma or blanks."""
    return cue is not None and cue.group().strip() not in ("", ",")


def _cities(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    has_digit = _DIGIT.search(text) is not None
    places = lexicon.PLACES
    firsts = _multi_word_firsts()
    for m in _CAP_RUN.finditer(text):
        # each word folded once: folding is per character, so joining folded words equals _fold_words
        run = _run_facts(m.group())
        if run is None:
            continue  # no place can start or end in this run
        words, facts, folded = run
        start = m.start()
        # the longest gazetteer entry or place-shaped name starting at each word of the run
        k = 0
        while k < len(words):
            best = 0
            if folded[k] in firsts:
                for n in range(min(_MAX_PLACE_WORDS, len(words) - k), 0, -1):
                    if " ".join(folded[k : k + n]) in places:
                        best = n
                        break
            elif folded[k] in places:
                best = 1
            shaped = 0
            if not best:  # _toponym_shaped(words[k : k + n]) for n = 3, 2, 1, from each word's facts
                prefix = facts[k][1]
                for n in range(min(3, len(words) - k), 0, -1):
                    if facts[k + n - 1][2] if n >= 2 and prefix else facts[k + n - 1][3]:
                        shaped = n
                        break
            size = best or shaped
            if not size:
                start += len(words[k]) + 1
                k += 1
                continue
            phrase = " ".join(words[k : k + size])
            end = start + len(phrase.rstrip("."))
            address = bool(_ADDRESS_AFTER.match(text, end)) or bool(shaped and _BARE_STATE_AFTER.match(text, end))
            distinctive = best and not all(_is_wordlike(w) for w in words[k : k + size])
            acronym = phrase.isupper() and len(phrase) <= 4
            before = text[max(0, start - 30) : start]
            # A place cue before it (a preposition, "lives in", a comma) or an address after it makes the phrase a
            # place; the cue patterns are searched only when the decision needs them (each is a scan of `before`).
            if address:
                found = True  # an address after it ("Hartford, CT", "Søborg 2860")
            elif distinctive:  # a gazetteer name that is not every word a dictionary or name word
                found = not acronym and (
                    size > 1 or not words[k].isupper() or _place_cue(before) is not None
                    or _strong_place_cue(before)
                )
            elif shaped:  # shaped like a place ("Blackburgh", "Port Christopher"): after any cue
                found = _place_cue(before) is not None or (not acronym and _strong_place_cue(before))
            else:  # a gazetteer name made of dictionary or name words: only after a strong cue
                found = not acronym and (_strong_place_cue(before) or (
                    # a town named like a person ("in Jackson", "from Lowell"): a preposition is cue enough;
                    # "in", "to", "at" before an everyday word ("TO GRAVITY", "IN TIME") is no place cue
                    not any(_is_english(w) for w in words[k : k + size])
                    and _preposition_cue(_place_cue(before))
                ))
            if found and not eponym_like(text, start, end):
                if not (best and size == 1 and words[k].rstrip(".").lower() in lexicon.TITLES):
                    out.append((start, end, "LOCATION", _NO_PARTS))
                    if has_digit:
                        z = _ZIP_AFTER_CITY.match(text, end)
                        if z:
                            out.append((z.start(1), z.end(1), "LOCATION", _NO_PARTS))
            start += len(phrase) + 1
            k += size
    if not text.isupper() and any(ch.islower() for ch in text):  # a text in capitals: no scan at all
        for cue in _LOWER_AFTER_CUE.finditer(text):
            m = _LOWER_WORDS.match(text, cue.end())
            if m is None or m.group().isupper():
                continue  # "from WARD 3": a capitalised place is the gazetteer scan's above
            words = m.group().split(" ")
            for n in range(min(3, len(words)), 0, -1):
                phrase = " ".join(words[:n])
                # one word: no English or clinical word ("in time"); several: not all everyday words ("são paulo")
                english = _is_english if n == 1 else _is_everyday
                if n == 1 and len(phrase) < 4 and phrase.islower():
                    continue  # "from osh": a short lower-case word here is an abbreviation
                if _fold_words(words[:n]) in lexicon.PLACES and not all(english(w) for w in words[:n]):
                    out.append((m.start(), m.start() + len(phrase), "LOCATION", _NO_PARTS))
                    break
    if has_digit and ", " in text and _SPACED_ZIP.search(text):  # the pattern's look-behind and its ZIP code
        for z in _after_comma(_CITY_ZIP_AFTER_COMMA, text):
            out.append((z.start(1), z.end(1), "LOCATION", _NO_PARTS))
            out.append((z.start(2), z.end(2), "LOCATION", _NO_PARTS))
    return out


# The first word of every organisation head of one word, lower case ("l" of "L.L.C.", "inc" of "Inc."), and the
# heads of two words ("urgent care", "home health"): an _ORG match holds one, so the pattern is run only near them
# (below). A two-word head is looked for whole: its first word alone ("home" of "discharged home", "care" of "plan
# of care") is everyday clinical English and would run the pattern for nothing.
_HEAD_FIRST_WORDS = frozenset(
    w
    for alt in _ORG_HEADS.split("|")
    if "\\s+" not in alt
    for first in [re.split(r"\\\.|\\|\.", alt)[0]]
    for w in ((first[:-2], first[:-1]) if first.endswith("s?") else (first,))
)
_HEAD_PHRASES = tuple(
    sorted(alt for alt in _ORG_HEADS.split("|") if "\\s+" in alt and alt.split("\\s+")[0] not in _HEAD_FIRST_WORDS)
)


# Where a head starts in the lower-cased text: a one-word head's first word as a whole \w+ word (one scan of a prefix
# trie), or the first word of a two-word head followed by the rest of it as _ORG takes it (whitespace, the second
# word, then no word character: what the pattern's tail or its final (?![\w]) needs). Only the first word is consumed.
_HEAD_WORD = re.compile(
    r"(?<!\w)(?:" + trie_pattern(_HEAD_FIRST_WORDS) + r"(?!\w)|"
    + "|".join(first + r"(?=\s+" + rest + r"(?!\w))" for first, rest in (p.split("\\s+", 1) for p in _HEAD_PHRASES))
    + r")"
)
_CHUNK = re.compile(r"\S+")
# An _ORG match spans at most 5 modifier words, a head of 1-2 words and two "of the X Y Z" tails (5 more each), each
# whitespace-free: it lies within the chunks from 6 before to 12 after the one holding its head's first word.
_ORG_BEFORE, _ORG_AFTER = 6, 12


def _org_matches(text: str) -> Iterator[re.Match[str]]:
    """Exactly ``_ORG.finditer(text)``, but the pattern runs only in windows of whitespace-separated chunks around
    a head word (it was the slowest scan of all)."""
    low = lowered(text)
    if low is None:  # a character re folds otherwise than lower() does: the whole text, plainly
        yield from _ORG.finditer(text)
        return
    heads = [m.start() for m in _HEAD_WORD.finditer(low)]
    if heads:
        yield from _windowed(_ORG, text, heads, _ORG_BEFORE, _ORG_AFTER)


# The last text split into whitespace-separated chunks (their start offsets), as lowered() keeps its lower case.
_LAST_CHUNKS: tuple[str | None, list[int], list[int]] = (None, [], [])


def _chunks(text: str) -> tuple[list[int], list[int]]:
    global _LAST_CHUNKS
    last, starts, ends = _LAST_CHUNKS
    if last is not text:
        spans = [m.span() for m in _CHUNK.finditer(text)]
        starts, ends = [a for a, _ in spans], [b for _, b in spans]
        _LAST_CHUNKS = (text, starts, ends)
    return starts, ends


def _windowed(
    pattern: re.Pattern[str], text: str, anchors: list[int], before: int, after: int
) -> Iterator[re.Match[str]]:
    """Exactly the matches of ``pattern.finditer(text)`` when each of them lies whole within the chunks from
    ``before`` chunks before to ``after`` chunks after the one holding one of ``anchors`` (sorted offsets, each
    inside a chunk): the pattern runs only in those windows. Each window starts and ends next to whitespace (or the
    text's ends), so the look-behinds and look-aheads see there what they see in the whole text, and a match the
    whole scan finds lies in one window, where the scan meets no earlier match."""
    starts, ends = _chunks(text)
    windows: list[list[int]] = []
    for k in sorted({bisect.bisect_right(starts, h) - 1 for h in anchors}):
        lo, hi = max(0, k - before), min(len(starts) - 1, k + after)
        if windows and lo <= windows[-1][1] + 1:
            windows[-1][1] = hi
        else:
            windows.append([lo, hi])
    for lo, hi in windows:
        yield from pattern.finditer(text, starts[lo], ends[hi])


# Legal forms of companies, written as registered (case-sensitive: "AB", "SA", "Oy" are also words or
# abbreviations in lower or other case): German, French, Italian, Spanish, Portuguese, Dutch, Nordic, Polish,
# Japanese and Commonwealth forms, and the family firms' "et Fils", "e Figli", "e Hijos", "& Söhne".
_LEGAL_FORM = (
    r"(?:GmbH|AG|KGaA|KG|OHG|GbR|UG|mbH|e\.\s?V\.|e\.\s?G\.|eG|Stiftung|SARL|S\.A\.R\.L\.|SAS|S\.A\.S\.|SA|S\.A\."
    r"|S\.L\.L?\.?|SL"
    r"|S\.r\.l\.|s\.r\.l\.|Srl|SRL|S\.p\.A\.|SpA|SPA|S\.C\.|S/A|Ltda\.?|LTDA|EIRELI|B\.V\.|BV|N\.V\.|NV|V\.O\.F\.|VOF"
    r"|A/S|ApS|AB|Oy|Oyj|ASA|sp\.\s?z\s?o\.\s?o\.|Sp\.\s?z\s?o\.\s?o\.|sp\.\s?[jkp]\.|S\.C\.|K\.K\."
    r"|Pty\.?(?:\s+Ltd\.?)?"
    r"|Pvt\.?\s+Ltd\.?|LLP|LP|L\.P\.|PC|P\.C\.|PLLC|P\.A\."
    r"|(?:et|e|y|und|&)\s+(?:Fils|Figli|Hijos|Filhos|Söhne|Zonen|Zn\.|Cie\.?))"
)
_LEGAL_ORG = re.compile(
    r"(?<![\w-])(?P<name>" + _CAPWORD + r"(?:[ -]" + _CAPWORD + r"){0,2}(?: (?:&|und|and|y|et|e) " + _CAPWORD + r")?)"
    r"(?:,)? (?:(?:GmbH|AG|Stiftung|KG|SE) (?:&|und) Co\.? )?" + _LEGAL_FORM + r"(?![\w/])"
)
_LEGAL_WORD = re.compile(_LEGAL_FORM + r"|Co\.?|Cie\.?")
_LEGAL_HINT = re.compile(r" (?:" + _LEGAL_FORM + r")(?![\w/])")


# A care facility written in lower case, as nurses do: "sacred heart hospital", "holy cross hosp", "mercy medical
# center". The words before the head name it when one of them is no everyday or clinical word (a place, a surname,
# an unknown word), a saint, or a word that US hospitals are commonly named by.
_LOWER_FACILITY = re.compile(
    r"(?<![\w'’-])((?:[a-zß-öø-ÿ][a-zß-öø-ÿ'’-]*\.? ){1,3})"
    r"(?:hospital|hosp\.?|medical cent(?:er|re)|med\.? ctr\.?|clinic|health cent(?:er|re)"
    r"|nursing home|rehab(?:ilitation)? (?:center|hospital)|infirmary|medical group|health (?:system|partners)"
    r"|pediatrics|imaging|urgent care|laboratories|orthopedics|radiology associates|surgical associates"
    r"|family practice|cancer (?:institute|center)|pharmacy)(?![\w])"
)
_LOWER_FACILITY_HINT = re.compile(
    r"hosp|cent|ctr|clinic|home|infirm|group|system|partners|pediatrics|imaging|urgent|laboratories|orthopedics"
    r"|associates|practice|pharmacy|institute"
)
_FACILITY_NAME_WORDS = frozenset(
    """sacred heart holy cross good samaritan mercy providence baptist methodist presbyterian lutheran adventist christ
    trinity shepherd redeemer angels st saint mt mount our lady""".split()
)
_GENERIC_FACILITY = frozenset(
    """outside other local community general regional memorial university county state city veterans va children's
    childrens women's womens psychiatric psych rehab rehabilitation teaching private public nearby referring same
    another previous prior new old main""".split()
)


def _lower_facilities(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    for m in _LOWER_FACILITY.finditer(text):
        words = m.group(1).split()
        k = len(words)  # the words right before the head that name it, walking back
        named = False
        while k > 0:
            w = lexicon.fold(words[k - 1].rstrip(".-").replace("’", "'"))
            if w in _GENERIC_FACILITY or (w == "of" and k < len(words)):
                k -= 1
            elif w in _LEAD_TRIM or "'" in w or "/" in w:
                break
            elif (
                w in _FACILITY_NAME_WORDS or w in lexicon.PLACES
                or (w in lexicon.SURNAMES and not is_everyday_word(w))
                or not (_is_english(w) or is_everyday_word(w))
            ):
                k -= 1
                named = True
            else:
                break
        while k < len(words) and lexicon.fold(words[k]) == "of":
            k += 1
        if named:
            start = m.start(1) + len(" ".join(words[:k])) + (1 if k else 0)
            out.append((start, m.end(), "ORGANIZATION_NAME", _NO_PARTS))
    return out


def _organisations(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    if _LOWER_FACILITY_HINT.search(text):
        out.extend(_lower_facilities(text))
    if _LEGAL_HINT.search(text):  # "Müller GmbH & Co. KG", "Rossi S.p.A.", "Dupont et Fils", "Nielsen A/S"
        for m in _LEGAL_ORG.finditer(text):
            words = m.group("name").split(" ")
            lead = 0
            while lead < len(words) - 1 and lexicon.fold(words[lead].rstrip(".")) in _LEAD_TRIM:
                lead += 1
            mods = [w for w in words[lead:] if w[:1].isupper() and not _LEGAL_WORD.fullmatch(w)]
            if (
                mods
                and not any(_plain(w) in lexicon.CLINICAL_VOCAB for w in mods)
                and not all(w.isupper() for w in mods)  # in capitals, "PRESSORS AS", "CT SA": words
            ):
                start = m.start() + len(" ".join(words[:lead])) + (1 if lead else 0)
                out.append((start, m.end(), "ORGANIZATION_NAME", _NO_PARTS))
    for m in _org_matches(text):
        words = m.group().split(" ")
        head_index = _head_index(words)
        mods = words[:head_index]
        while mods and lexicon.fold(mods[0].rstrip(".")) in _LEAD_TRIM:
            mods = mods[1:]
        while mods and mods[0] in ("&", "and", "of", "the", "for"):
            mods = mods[1:]
        lead = 0
        while lead < len(mods) and mods[lead] in _NAME_PARTICLES:
            lead += 1
        if lead and (lead == len(mods) or not mods[lead][:1].isupper()):
            mods = mods[lead:]  # "van der" of "van der Veen Hospital" stays; particles before no name do not
        if not mods:
            continue
        head = words[head_index]
        caps_text = mods[-1].isupper() and head.isupper()
        # an empty word is the gap of a doubled space (the words are split on single spaces)
        if not (head[:1].isupper() and all(w[:1].isupper() or w in _ORG_JOINERS or not w for w in mods)):
            continue
        if caps_text:  # "COPY TO WEST SURGICAL ASSOCIATES": the words before a preposition are no part of it
            cut = max((k + 1 for k, w in enumerate(mods) if _plain(w) in _LEAD_TRIM), default=0)
            mods = mods[cut:] or mods
        if caps_text:  # "CT CHEST JONES HOSPITAL": the modality and body part before the name are no part of it
            while len(mods) > 1 and (_department_word(mods[0]) or mods[0] in _MODALITIES) and not _naming(mods[0]):
                mods = mods[1:]
        # "MAIN LINE PEDIATRICS", "East Surgical Associates"; "MEDICAL COLLEGE OF ALEXBURY" by the place it is of
        named = any(_naming(w) for w in mods) or any(
            not (_is_english(w) or w in ("of", "OF", "for", "the", "THE")) for w in words[head_index + 1 :]
        )
        if caps_text and not named and all(
            _department_word(w) or len(w) <= 3 and _plain(w) not in lexicon.TOP_SURNAMES for w in mods
        ):
            continue  # "NM CARDIOLOGY", "CT HEAD": modality and body part, no name ("JONES HOSPITAL" is one)
        if not named and all(_department_word(w) for w in mods) and _plain(head) in _SPECIALTY_HEADS:
            continue  # "Interventional Radiology", "Pediatric Cardiology": a department kind, not a name
        start = m.start() + len(" ".join(words[: head_index - len(mods)])) + (1 if head_index > len(mods) else 0)
        end = m.end() - (1 if head_index < len(words) - 1 and words[-1].endswith(".") else 0)  # "... of Nebraska."
        out.append((start, end, "ORGANIZATION_NAME", _NO_PARTS))
    if "," in text and (" and " in text or " & " in text or " AND " in text):  # what every _LAW_FIRM match holds
        for m in _LAW_FIRM.finditer(text):
            names = [m.group(i) for i in (1, 2, 3)]
            if all(lexicon.fold(n.rstrip(".")) in lexicon.SURNAMES for n in names):
                out.append((m.start(), m.end(), "ORGANIZATION_NAME", _NO_PARTS))
    if "&" in text or "-" in text:
        out.extend(_surname_firms(text))
    if " at " in text or " from " in text:
        out.extend(_acronyms_after_at(text))
    for m in _HEAD_FIRST_ORG.finditer(text) if _HEAD_FIRST_HINT.search(text) else ():
        words = m.group().split(" ")
        for k, w in enumerate(words[1:], 1):
            if w.endswith(".") and len(w) > 4:  # a sentence's end: "HOSPITAL MOST OF TIME. SEDATED"
                words = words[:k] + [w[:-1]]
                break
        while len(words) > 1 and (
            (_is_english(words[-1]) and not _HEAD_RE.match(words[-1]))
            or words[-1] in ("of", "OF", "the", "THE") or words[-1] in _NAME_PARTICLES
        ):
            words.pop()  # "Hospital Course", "Hospital Day 3", "University of the": no name after the head
        if len(words) > 1:
            end = m.start() + len(" ".join(words))
            out.append((m.start(), end - (1 if words[-1].endswith(".") else 0), "ORGANIZATION_NAME", _NO_PARTS))
    if _SAINT_WORD.search(text):
        for m in _SAINT_ORG.finditer(text):
            if _LOCATION_CUE_BEFORE_ORG.search(text[max(0, m.start() - 20) : m.start()]):
                out.append((m.start(), m.end(), "ORGANIZATION_NAME", _NO_PARTS))
    for cue in _FACILITY_CUE.finditer(text):  # "transferred from Cedars-Sinai", "seen at Kaiser Permanente"
        m = _CAP_RUN.match(text, cue.end())
        if m is not None and not m.group().isupper():
            m = _ORG_RUN.match(text, cue.end())  # "Olivárez, Quintana y Jaime", "Schmidt & Søn A/S"
        if m is None:  # in lower case, one word that is no English or clinical word nor a unit: "transfered to gh"
            w = _LOWER_WORD.match(text, cue.end())
            if w and _PATIENT_MOVE.match(cue.group()) and not (
                _is_english(w.group()) or _is_unit(w.group()) or is_everyday_word(w.group())
                or w.group() in lexicon.FACILITY_WORDS
            ):
                out.append((w.start(), w.end(), "ORGANIZATION_NAME", _NO_PARTS))
            continue
        words = m.group().rstrip(".").split(" ")
        if words[0].isupper():  # in capitals every word is capitalised: the name ends before a word, a unit or a stop
            k = 1
            while k < len(words) and not (words[k - 1].endswith(".") or _is_english(words[k]) or _is_unit(words[k])):
                k += 1
            words = words[:k]
            words[-1] = words[-1].rstrip(".")
        if len(words) == 1 and (
            _is_english(words[0]) or _is_unit(words[0])
            or (words[0].isupper() and len(words[0]) <= 4 and not _PATIENT_MOVE.match(cue.group()))
        ):
            continue  # "to ICU", "to Medicine": a unit or a service, not a named organisation
        if (
            all(_is_english(w.rstrip(",")) or w in _JOINERS for w in words)
            and not (len(words) > 1 and _HEAD_RE.match(words[-1]) and any(_naming(w) for w in words[:-1]))
        ) or _fold_words(words) in lexicon.PLACES:
            continue  # "from Home", "to Boston" (the city detector decides); "at Main Line Pediatrics" is a name
        out.append((m.start(), m.start() + len(" ".join(words)), "ORGANIZATION_NAME", _NO_PARTS))
    for cue in _EMPLOYMENT_WORD.finditer(text):  # the cue is rare: look for it first, then at what follows it
        m = _CAP_RUN.search(text, cue.end(), cue.end() + 60)
        if m and not m.group().isupper():
            m = _ORG_RUN.match(text, m.start())
        if m and _EMPLOYMENT_CUE.search(text[max(0, m.start() - 60) : m.start()]):
            end = m.end() - (1 if m.group().endswith(".") else 0)
            out.append((m.start(), end, "ORGANIZATION_NAME", _NO_PARTS))
    return out


# The cues of a patient's own move between facilities: a lower-case word after them may be a facility's name; after
# "sent to", "returned to", "went to" it is a lab, a rhythm or a ventilator mode far more often.
_PATIENT_MOVE = re.compile(
    r"(?i)(?:transfer|trans\s|admitted|adm\s|med-?flighted|flighted|flown|came|arrived|accepted|enroute|en\s+route"
    r"|brought"
    r"|seen|treated|followed|hospitali)"
)
_LOWER_WORD = re.compile(r"[a-z]{2,}(?![\w'’-])")
# Care units, services and destinations inside a hospital or for discharge, which follow "transferred to" as a
# facility's name does: none names an organisation.
_UNITS = frozenset(
    """icu micu sicu ccu cicu nicu picu cvicu csru ctic ctu tsicu ticu neuroicu nsicu ed er ew ed's or pacu tcu snf
    ltac ltach ltc ltcf nh alf irf ipr rehab hospice cath ir ct mri mr us nm pet ekg echo ecg eeg emg floor ward unit
    stepdown tele telemetry dialysis hd pt ot slp gi ent ob l&d ld nsy nicu cdu obs ama home vna ems ambulance
    medflight hosp or's cath-lab pre-op preop postop post-op osh bb vicu baseline nsr afib svt simv imv cpap
    medicare medicaid tricare self-pay
    selfpay""".split()
)
_UNIT_END = re.compile(r"(?i)[a-z]{0,3}(?:icu|cu|ru)$")  # "pmicu", "nisicu", "csru": intensive and step-down units


def _is_unit(word: str) -> bool:
    word = word.rstrip(".,")
    return lexicon.fold(word) in _UNITS or word.upper() in _STATE_ABBRS or bool(_UNIT_END.match(word))


_MODALITIES = frozenset(
    "CT MR MRI MRA CTA NM US XR PET CR DX MG RF XA IR SPECT DEXA DXA ECHO TEE TTE EKG ECG WO W/O W/ WWO".split()
)


def _clinical_mod(word: str) -> bool:
    """A clinical word before an organisation head, unless one of the 3,000 commonest surnames ("Jones", "Cox")."""
    w = _plain(word)
    return w in lexicon.CLINICAL_VOCAB and (
        w not in lexicon.TOP_SURNAMES or w in lexicon.CLINICAL_WORDS or is_everyday_word(w)
    )


# Words that name an organisation after its place or a pleasant image rather than its kind of care: directions,
# landforms, waters, trees and brand words ("Main Line Pediatrics", "Summit Radiology Partners", "EAST SURGICAL
# ASSOCIATES"). Before an organisation head they make a run a name even when every other word is clinical vocabulary;
# no clinical department is named so ("Internal Medicine", "NUCLEAR CARDIOLOGY", "Interventional Radiology").
_NAMING_WORDS = frozenset(
    """north south east west northeast northwest southeast southwest northern southern eastern western midwest
    main line valley mountain mountains summit pinnacle peak lake lakes lakeside lakeview river riverside riverbend
    bay bayside bayview harbor harbour harborview coastal coast shore shores ocean pacific atlantic gulf metro
    metropolitan tri-county capital sunrise sunset evergreen cedar oak oaks pine pines maple elm willow birch aspen
    magnolia cypress meadow meadows park hill hills ridge crest creek brook springs forest grove gardens prairie
    plains canyon mesa desert island star liberty heritage pioneer frontier horizon vista premier alliance unity
    harmony beacon lighthouse gateway crossroads landmark keystone cornerstone compass anchor bridge bridges
    village town downtown uptown midtown westside eastside northside southside""".split()
)
# Words that say which kind of department or service, as clinical words do, though no dictionary of diseases has them.
_DEPARTMENT_WORDS = frozenset(
    """interventional geriatric geriatrics integrative preventive functional regenerative academic hospital
    outpatient inpatient ambulatory diagnostic""".split()
)


def _naming(word: str) -> bool:
    return _plain(word) in _NAMING_WORDS


def _department_word(word: str) -> bool:
    return _clinical_mod(word) or _plain(word) in _DEPARTMENT_WORDS


_NAME_PARTICLES = frozenset(p for p in lexicon.PARTICLES if p.isalpha())
_ORG_JOINERS = _NAME_PARTICLES | {"&", "and", "of", "the", "for"}


def _plain(word: str) -> str:
    return lexicon.fold(word.rstrip(".,").replace("’", "'").removesuffix("'s"))


_HEAD_RE = re.compile(r"(?i)^(?:" + _ORG_HEADS + r")$")
_SPECIALTY_HEADS = frozenset(
    """radiology cardiology oncology imaging pediatrics paediatrics orthopedics orthopaedics dialysis endoscopy
    therapy medicine surgery dermatology neurology urology gastroenterology obstetrics gynecology ophthalmology
    dentistry dental psychiatry rehabilitation rehab care health plan""".split()
)


def _head_index(words: list[str]) -> int:
    """The index of the organisation head in a matched run (the last head word before any "of ..." tail)."""
    for i in range(len(words) - 1, -1, -1):
        if _HEAD_RE.match(words[i]) and (i == len(words) - 1 or words[i + 1] in ("of", "for", "OF")):
            return i
    return len(words) - 1


# Two family names joined by "&" ("Lee & Johnston", "FITZGERALD & TUCKER", "Hägglund & Eliasson HB") or by a hyphen
# ("Medina-Hicks", "WHITE-JOHNS"): a firm or a double-barrelled surname, either way identifying. Eponyms are
# written so too ("Swan-Ganz", "Stevens-Johnson syndrome", "Jackson-Pratt drain", "Child-Pugh C"): no half may be
# an eponym or, both, clinical vocabulary, and no eponym's trigger word, grade or class may follow.
_SURNAME_PAIR = re.compile(
    r"(?<![\w'’-])([" + _UP + r"][^\W\d_]{2,})(?: & |-)([" + _UP + r"][^\W\d_]{2,})(?![\w'’]|-\w)"
)
_TITLE_BEFORE = re.compile(r"(?i)(?<![\w])(?:dr|drs|mr|mrs|ms|miss|mx|prof)\.?\s+$")
_GRADE_AFTER = re.compile(r"\s*(?:[A-Z]|[IV]{1,4}|\d)(?![\w])|\s+(?:class|grade|stage|type|score)")
# Hyphenated eponyms whose halves are family names that ICD-10-CM does not list (it lists "Swan-Ganz", "Mallory-Weiss")
_HYPHEN_EPONYMS = frozenset(
    """jackson-pratt kaplan-meier mann-whitney brown-sequard child-pugh hunt-hess may-thurner salter-harris
    kellgren-lawrence hill-sachs wolff-parkinson parkinson-white spetzler-martin gustilo-anderson frank-starling
    williams-campbell swyer-james lauge-hansen bland-altman kruskal-wallis henderson-hasselbalch michaelis-menten
    loeys-dietz stein-leventhal lown-ganong ganong-levine romano-ward adams-stokes blalock-taussig
    sengstaken-blakemore hamman-rich libman-sacks paget-schroetter stuart-prower shwachman-diamond diamond-blackfan
    bernard-soulier hardy-weinberg holt-oram beckwith-wiedemann smith-lemli lemli-opitz wiskott-aldrich
    chediak-higashi kasabach-merritt klippel-trenaunay waterhouse-friderichsen kimmelstiel-wilson virchow-robin
    bezold-jarisch austin-flint graham-steell ivor-lewis mallory-denk charcot-leyden lange-nielsen rendu-osler
    osler-weber weber-rendu fitz-hugh hugh-curtis kellgren-lawrence guillain-barre roux-en ehlers-danlos
    bankart-perthes monteggia-galeazzi""".split()
)


_PAIR_JOIN = re.compile(r"(?: & |-)[" + _UP + r"]")  # what every _SURNAME_PAIR match holds, found by a fast scan


def _surname_pairs(text: str) -> Iterator[re.Match[str]]:
    """Exactly the _SURNAME_PAIR matches, tried only at the word before each joiner (each letter is walked back
    over once at most: it belongs to the word before one joiner)."""
    last = -1
    for j in _PAIR_JOIN.finditer(text):
        k = j.start()
        while k > last + 1 and text[k - 1].isalpha():
            k -= 1
        if j.start() - k >= 3:
            m = _SURNAME_PAIR.match(text, k)
            if m is not None:
                last = m.end()
                yield m
                continue
        last = max(last, k)


def _surname_firms(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    for m in _surname_pairs(text):
        halves = [_plain(m.group(1)), _plain(m.group(2))]
        if "-".join(halves) in _HYPHEN_EPONYMS:
            continue
        caps = m.group(1).isupper()
        if not all(
            h in lexicon.SURNAMES
            or not (caps or w.isupper() or _is_wordlike(h) or is_everyday_word(h) or _UNIT_END.match(h))
            for h, w in zip(halves, (m.group(1), m.group(2)))
        ):
            continue  # in capitals only census family names ("INTUBATED & VENTED", "CXR-RLL" are notes' words)
        if caps and any(is_everyday_word(h) or h in lexicon.CLINICAL_VOCAB for h in halves):
            continue  # "PLEASANT & COOPERATIVE", "BOLUS & GTT"
        if any(h in lexicon.CLINICAL_WORDS for h in halves):
            continue  # "Guillain-Barre", "Parkinson-White": eponyms
        if "&" in m.group() and all(h in lexicon.TOP_SURNAMES for h in halves):
            pass  # "Carter & King", "Diaz & Williams": common family names that are also words, joined as firms are
        elif all(h in lexicon.CLINICAL_VOCAB for h in halves) or all(is_everyday_word(h) for h in halves):
            continue  # "Swan-Ganz", "Stevens-Johnson" (eponyms), "Hand-Foot" (words)
        if m.group(1).isupper() != m.group(2).isupper() or (m.group(1).isupper() and text.isupper() is False
                                                              and len(m.group(1)) <= 4):
            continue  # "CT-Guided", "MRI-Compatible"; "ECG-Holter" in running text
        if _TITLE_BEFORE.search(text, max(0, m.start() - 8), m.start()):
            continue  # "Dr. Oyelaran-Adeyemi": a person's name (names.py)
        if _GRADE_AFTER.match(text, m.end()) or eponym_like(text, m.start(), m.end()):
            continue  # "Jackson-Pratt drain", "Child-Pugh C", "Hunt-Hess grade 3"
        if "&" in m.group():
            out.append((m.start(), m.end(), "ORGANIZATION_NAME", _NO_PARTS))
        else:  # a double-barrelled family name is a person's far more often than a firm's
            out.append((m.start(), m.end(), "PERSON_NAME", ((m.start(), m.end(), "LAST_NAME"),)))
    return out


# A company or an agency by its acronym after "at" or "from", ending its clause, in running text ("Fall at MBTA.",
# "works at IBM,", "transferred from BIDMC"): capitals that no dictionary, unit, modality or state is.
_ACRONYM_AFTER_AT = re.compile(r"(?:at|from|At|From) ([A-Z]{3,6}|[A-Z]{1,3}&[A-Z]{1,3})(?=[.,;:)]|\s*$|\n)")
# Clinical abbreviations that may stand there: times and doses, places in the body, tests and procedures.
_CLINICAL_ABBREVIATIONS = frozenset(
    """hs qhs bid tid qid qod prn stat noc eod qam qpm ruq luq rlq llq mcp pip dip cmc tmj gej svc ivc lad lcx rca
    pda egd ercp tee tte cabg pci ptca tavr ef lvef hr rr bp map spo2 abg vbg ekg ecg eeg emg ncs cxr kub ugi sbft
    baseline bl dvt pe copd chf cad htn ckd esrd aki uti uri cva tia mi stemi nstemi gerd gi gu ent ob gyn obgyn
    peds psych neuro ortho onc heme cards pulm renal id ams loc sob doe cp abd npo nkda adl adls iadl iadls pmh
    psh hpi ros rom ua ucx bcx cbc bmp cmp lft lfts inr ptt bnp ldh esr crp tsh hba1c rhythm sinus nsr afib aflutter
    svt vt vf pea asystole rvr lbbb rbbb avb ivcd lvh rvh asa apap nsaid nsaids ppi prbc ffp ivf ivig tpn ppn ngt
    ogt peg picc cvc art foley ett trach bipap cpap hfnc nrb nc vent simv prvc peep fio2 dnr dni dnrdni macu
    mri mra cta ctv pet spect dexa dxa fluoro ivp vcug hida mibg usg tbd tba wnl nad rrr ctab nabs hsm jvd
    cvat perrl perrla eomi aox aaox mae pmd pcp pcps ptot slp rt mdm pca pacu ccu tsicu hcp poa nok tlc ett oett
    nett cbs fsbs mds""".split()
)


def _acronyms_after_at(text: str) -> list[_Raw]:
    if text.isupper():
        return []  # a note in capitals: every word is capitals
    out: list[_Raw] = []
    for m in _ACRONYM_AFTER_AT.finditer(text):
        if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] == "_"):
            continue  # "Qatar", "Khalifa from": a word's end, not the preposition
        word = m.group(1)
        low = word.lower()
        if len(word) < 4 and "&" in word:
            continue  # "I&O", "D&C"
        if (
            low in _CLINICAL_ABBREVIATIONS or _is_wordlike(word) or _is_unit(word) or word in _MODALITIES
            or low in lexicon.TITLES or low in lexicon.HONORIFICS
        ):
            continue
        out.append((m.start(1), m.end(1), "ORGANIZATION_NAME", _NO_PARTS))
    return out

"""Offline infoType detectors: regular expressions, validators and census name lists over plain text."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import phonenumbers

from transforms.text import lexicon
from transforms.text.context import context_findings

# --- vocabulary ------------------------------------------------------------------------------------------

# Every infoType a detector here can report. A child is reported as its parent when only the parent is asked for.
PARENT: dict[str, str] = {
    "FIRST_NAME": "PERSON_NAME",
    "LAST_NAME": "PERSON_NAME",
    "DATE_OF_BIRTH": "DATE",
    "FAX_NUMBER": "PHONE_NUMBER",
    "STREET_ADDRESS": "LOCATION",
    "US_STATE": "LOCATION",
    # Care facility names place a patient as precisely as a town does: LOCATION covers them too (deidflow's choice).
    "ORGANIZATION_NAME": "LOCATION",
    "US_PASSPORT": "PASSPORT",
}
INFO_TYPES: frozenset[str] = frozenset(
    {
        "PERSON_NAME", "FIRST_NAME", "LAST_NAME", "DATE", "DATE_OF_BIRTH", "TIME", "AGE",
        "PHONE_NUMBER", "FAX_NUMBER", "EMAIL_ADDRESS", "URL", "IP_ADDRESS", "MAC_ADDRESS",
        "US_SOCIAL_SECURITY_NUMBER", "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER", "CREDIT_CARD_NUMBER",
        "MEDICAL_RECORD_NUMBER", "FINANCIAL_ACCOUNT_NUMBER", "US_DRIVERS_LICENSE_NUMBER", "PASSPORT",
        "US_PASSPORT", "DEVICE_SERIAL_NUMBER", "US_HEALTHCARE_NPI", "US_VEHICLE_IDENTIFICATION_NUMBER",
        "SWIFT_CODE", "STREET_ADDRESS", "LOCATION", "US_STATE", "ORGANIZATION_NAME", "CTX",
    }
)  # fmt: skip

# Higher wins when overlapping findings are merged into one span.
PRIORITY: dict[str, int] = {
    "CTX": 100,
    "EMAIL_ADDRESS": 90,
    "URL": 89,
    "STREET_ADDRESS": 80,
    "US_SOCIAL_SECURITY_NUMBER": 75,
    "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER": 76,
    "MEDICAL_RECORD_NUMBER": 74,
    "FINANCIAL_ACCOUNT_NUMBER": 73,
    "US_DRIVERS_LICENSE_NUMBER": 73,
    "PASSPORT": 73,
    "DEVICE_SERIAL_NUMBER": 73,
    "US_HEALTHCARE_NPI": 73,
    "SWIFT_CODE": 73,
    "CREDIT_CARD_NUMBER": 72,
    "FAX_NUMBER": 71,
    "PHONE_NUMBER": 70,
    "DATE_OF_BIRTH": 66,
    "DATE": 65,
    "ORGANIZATION_NAME": 62,
    "LOCATION": 61,
    "PERSON_NAME": 60,
    "US_STATE": 55,
    "AGE": 50,
    "IP_ADDRESS": 50,
    "MAC_ADDRESS": 50,
    "US_VEHICLE_IDENTIFICATION_NUMBER": 50,
    "TIME": 40,
}


@dataclass(frozen=True, order=True)
class Finding:
    """A span ``text[start:end]`` holding a value of ``info_type``."""

    start: int
    end: int
    info_type: str


# A raw detection: (start, end, info_type, name parts) — parts are (start, end, FIRST_NAME|LAST_NAME) of a name.
_Raw = tuple[int, int, str, tuple[tuple[int, int, str], ...]]
_NO_PARTS: tuple[tuple[int, int, str], ...] = ()

# --- simple patterns -------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_URL = re.compile(r"\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'^\\]+[^\s<>\"'^\\.,;:!?)\]]")
_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)"
)
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_MAC = re.compile(
    r"(?<![\w:-])(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![\w:-])"
)
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
_SSN_CTX = re.compile(
    r"(?i)\b(?:ssn|ss#|soc(?:ial)?\.?\s*sec(?:urity)?\.?(?:\s*(?:number|no\.?|#))?)\s*[:#]?\s*((?!000|666|9\d\d)\d{3}[- ]?(?!00)\d{2}[- ]?(?!0000)\d{4})\b"
)
_ITIN = re.compile(r"(?<![\w-])9\d{2}([- ]?)(?:5\d|6[0-5]|7\d|8[0-8]|9[0-2]|9[4-9])\1\d{4}(?![\w-])")
_CARD = re.compile(r"(?<![\w-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w-])")
_PHONE_NANP = re.compile(
    # separated 3-3-4 digits are a phone number even where NANP has no such exchange (555-123-4567): recall first
    r"(?<![\w+])(?:(?:\+1|001|1)[\s.-]?)?(?:\(\d{3}\)[\s.-]?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
    r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,6})?(?![\w-])"
)
_PHONE_CTX = re.compile(
    r"(?i)\b(?:tel|telephone|phone|ph|cell|mobile|mob|pager|fax|call|contact|home|work)\b\.?\s*(?:no\.?|number|#)?\s*[:#]?\s*(\+?\d[\d ()./-]{6,18}\d)"
)
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}(?![\w-])")
_PHONE_BARE = re.compile(r"(?<![\w+.-])1?[2-9]\d{2}[2-9]\d{6}(?![\w-]|\.\d)")
_PHONE_HINT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|fax|call|contact|cell|mobile|pager|reach|room|line|desk|number)\b"
)
_FAX_BEFORE = re.compile(r"(?i)\bfax\b[^\n\d]{0,12}$")

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
MONTHS = _MONTHS
_MON = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")"
_MON_I = r"(?i:" + _MON + r")"
_DATE_PATTERNS = [
    # DICOM DA / DT: YYYYMMDD[HHMMSS[.FFFFFF]][&ZZXX]
    re.compile(
        r"(?<!\w)(?<!\d\.)(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:\d{2,6}(?:\.\d{1,6})?)?(?:[+-]\d{4})?(?![\w]|\.\d)"
    ),
    # ISO and friends: YYYY-MM-DD[THH:MM[:SS[.f]][Z|+hh:mm]], YYYY/MM/DD, YYYY.MM.DD
    re.compile(
        r"(?<![\w.])(?:19|20)\d{2}([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])"
        r"(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w])"
    ),
    # US / European numeric: MM/DD/YYYY, M/D/YY, DD.MM.YYYY, MM-DD-YYYY
    re.compile(r"(?<![\w./-])(?:[0-3]?\d)([/.-])(?:[0-3]?\d)\1(?:(?:19|20)\d{2}|\d{2})(?![\w]|[./-]\d)"),
    # 31-Jan-2024, 31 January 2024, 31st Jan, 2024, 31-JAN-24
    re.compile(r"(?<![\w])(?:[0-3]?\d)(?:st|nd|rd|th)?[\s-]" + _MON_I + r"\.?,?[\s-](?:(?:19|20)\d{2}|\d{2})(?![\w])"),
    # January 31, 2024 / Jan 31 2024 / Jan. 31st / January 31
    re.compile(r"(?<![\w])" + _MON_I + r"\.?\s(?:[0-3]?\d)(?:st|nd|rd|th)?(?:,?\s(?:19|20)\d{2})?(?![\w])"),
    # January 2024 / Jan-2024 / Jan. 2024
    re.compile(r"(?<![\w])" + _MON_I + r"\.?[\s,-]\s?(?:19|20)\d{2}(?![\w])"),
    # YYYY-MM (month precision)
    re.compile(r"(?<![\w./-])(?:19|20)\d{2}-(?:0[1-9]|1[0-2])(?![\w]|[-/.]\d)"),
]
_YEAR_CTX = re.compile(
    r"(?i)\b(?:in|since|from|during|year|until|till|by|circa|of|dated)\s+((?:19|20)\d{2})(?![\w]|[-/.]\d)"
)
_DOB_BEFORE = re.compile(
    r"(?i)(?:\bdob|\bd\.o\.b\.?|\bdate of birth|\bbirth\s?date|\bborn(?:\s+on)?|\bbirthday)\W{0,4}$"
)
_TIME = re.compile(
    r"(?<![\w:.])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:\s?[AaPp]\.?[Mm]\.?)?(?![\w:])"
    r"|(?<![\w:.])(?:1[0-2]|0?[1-9])\s?[AaPp]\.?[Mm]\.?(?!\w)"
)
_AGE_PATTERNS = [
    re.compile(r"(?<![\w])\d{3}[DWMY](?![\w])"),  # DICOM AS
    re.compile(r"(?i)(?<![\w])\d{1,3}[\s-]?(?:years?|yrs?|y)[\s-]?(?:old|o\b\.?)"),
    re.compile(r"(?i)(?<![\w])\d{1,3}\s?(?:yo|y/o|y\.o\.?)(?![\w])"),
    re.compile(r"(?i)(?<![\w])\d{1,3}[\s-](?:months?|weeks?|days?|mos?)[\s-]old\b"),
]
_AGE_CTX = re.compile(r"(?i)\b(?:age|aged|age at exam)\s*[:=]?\s*(\d{1,3})(?![\w])")

_ID = r"(#?\s?[A-Za-z]{0,4}[-]?\d[\dA-Za-z-]{2,19})(?![\w])"
_ID_CONTEXTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "MEDICAL_RECORD_NUMBER",
        re.compile(
            r"(?i)\b(?:mrn|mr\s?#|mr\s?no\.?|med(?:ical)?\.?\s?rec(?:ord)?\.?(?:\s?(?:number|no\.?|#))?|record\s?(?:number|no\.?|#)"
            r"|patient\s?(?:id|number|no\.?|#)|pat\s?id|pid|chart\s?(?:number|no\.?|#)?|hospital\s?(?:number|no\.?|#)"
            r"|unit\s?(?:number|no\.?)|accession\s?(?:number|no\.?|#)?|acc\s?#|encounter\s?(?:id|number|no\.?|#)?"
            r"|visit\s?(?:id|number|no\.?|#)|case\s?(?:id|number|no\.?|#)|specimen\s?(?:id|number|no\.?|#)|order\s?(?:id|number|no\.?|#))"
            r"\s*(?:is|:|=|-)?\s*" + _ID
        ),
    ),
    (
        "FINANCIAL_ACCOUNT_NUMBER",
        re.compile(r"(?i)\b(?:account|acct|acc't|billing)\s?(?:number|no\.?|#)?\s*(?:is|:|=|-)?\s*" + _ID),
    ),
    (
        "US_DRIVERS_LICENSE_NUMBER",
        re.compile(r"(?i)\b(?:driver'?s?\s?licen[cs]e|dl|licen[cs]e)\s?(?:number|no\.?|#)?\s*(?:is|:|=|-)?\s*" + _ID),
    ),
    ("PASSPORT", re.compile(r"(?i)\bpassport\s?(?:number|no\.?|#)?\s*(?:is|:|=|-)?\s*" + _ID)),
    (
        "DEVICE_SERIAL_NUMBER",
        re.compile(
            r"(?i)\b(?:serial\s?(?:number|no\.?|#)?|s/n|sn|device\s?(?:id|serial)|udi)\s*(?:is|:|=|-)?\s*" + _ID
        ),
    ),
    ("US_HEALTHCARE_NPI", re.compile(r"(?i)\bnpi\s?(?:number|no\.?|#)?\s*[:#]?\s*(\d{10})\b")),
    ("SWIFT_CODE", re.compile(r"(?i:\b(?:swift|bic)(?:\s?code)?)\s*[:#]?\s*([A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b")),
]
_VIN = re.compile(r"(?<![\w])[A-HJ-NPR-Z0-9]{17}(?![\w])")

# --- locations -------------------------------------------------------------------------------------------

_STATE_NAMES = "|".join(sorted((re.escape(n) for n, _ in lexicon.US_STATES), key=len, reverse=True))
# In addresses also the freely associated states and military "states" (USPS): FM, MH, PW, AA, AE, AP.
_STATE_ABBRS = "|".join([a for _, a in lexicon.US_STATES] + ["FM", "MH", "PW", "AA", "AE", "AP"])
_STATE_NAME = re.compile(r"(?<![\w])(?:" + _STATE_NAMES + r"|" + _STATE_NAMES.upper() + r")(?![\w])")
_SUFFIX = "|".join(sorted(lexicon.STREET_SUFFIXES, key=len, reverse=True))
_CITY = r"[A-Z][A-Za-z.'-]+(?:\s[A-Z][A-Za-z.'-]+){0,3}"
_CITY_STATE_ZIP = (
    r"(?:" + _CITY + r"),?\s+(?:" + _STATE_ABBRS + r"|" + _STATE_NAMES + r")\.?,?\s+\d{5}(?:-\d{4})?(?![\w-])"
)
_STREET = re.compile(
    r"(?<![\w.-])\d{1,6}[A-Za-z]?(?:-\d{1,4})? "
    r"(?:(?:[NSEW]|NE|NW|SE|SW|North|South|East|West|NORTH|SOUTH|EAST|WEST)\.? )?"
    r"(?:(?:[A-Z0-9][\w'-]*\.?|of|the|de|la|del|von) ){1,4}"
    r"(?i:" + _SUFFIX + r")\b\.?"
    r"(?:\s+(?:[NSEW]|NE|NW|SE|SW)\b\.?)?"
    r"(?:,?\s+(?i:apt|apartment|suite|ste|unit|bldg|building|floor|fl|rm|room|#)\.?\s*#?\s*[\w-]+)?"
    r"(?:,?\s+" + _CITY_STATE_ZIP + r")?"
)
_PO_BOX = re.compile(r"(?i)\b(?:p\.?\s?o\.?\s?box|post\s+office\s+box)\s+\d+\b(?:,?\s+" + _CITY_STATE_ZIP + r")?")
_CSZ = re.compile(r"(?<![\w])" + _CITY_STATE_ZIP)
_CITY_STATE = re.compile(
    r"(?<![\w])"
    + _CITY
    + r",\s(?:"
    + "|".join(a for _, a in lexicon.US_STATES if a not in ("MD", "PA", "DO"))
    + r")(?![\w])"
)
_ZIP_CTX = re.compile(r"(?i)\b(?:zip|zip\s?code|postal\s?code)\s*[:#]?\s*(\d{5}(?:-\d{4})?)\b")
_FACILITY = re.compile(
    r"(?<![\w])(?:(?:St\.?|Saint|Mount|Mt\.?)\s)?(?:[A-Z][\w'&.-]*\s){0,4}(?:"
    r"(?i:hospital|medical\s+center|medical\s+centre|health\s+center|health\s+system|healthcare|health|clinic"
    r"|infirmary|imaging(?:\s+center)?|radiology(?:\s+associates)?|cancer\s+center|children'?s\s+hospital"
    r"|memorial|general|medical\s+group|rehabilitation\s+center|nursing\s+home|hospice|institute)"
    r")(?:\s(?:Hospital|HOSPITAL|Center|CENTER|Centre|Clinic|CLINIC|Campus))?(?![\w])"
)

# --- names -----------------------------------------------------------------------------------------------

_L = r"(?:[^\W\d_]|[\u0300-\u036f])"  # a letter, or a combining accent of a decomposed one
_TOKEN = re.compile(_L + r"+(?:['’]" + _L + r"+)*(?:-" + _L + r"+)*\.?")
_CARET_PN = re.compile(r"(?<![\w^])[^\W\d_][^\s^\\=|]*(?:\^[^\s^\\=|]*){1,4}")
_STRONG_LABEL = re.compile(
    r"(?i)(?:\b(?:patient|pt|name|patient\s+name|physician|doctor|attending|resident|fellow|radiologist|technologist"
    r"|tech|operator|surgeon|provider|nurse|rn|np|pcp|referring(?:\s+(?:physician|doctor|md))?|performed\s+by|read\s+by"
    r"|reviewed\s+by|signed\s+by|dictated\s+by|transcribed\s+by|approved\s+by|interpreted\s+by|seen\s+by|referred\s+by"
    r"|ordered\s+by|requested\s+by|verified\s+by|reported\s+by|contact|spouse|wife|husband|son|daughter|mother"
    r"|father|brother|sister|guardian|parent|caregiver|discussed\s+with|spoke\s+with|dear|cc|attn|from|to|"
    r"emergency\s+contact|next\s+of\s+kin|nok)\b\.?\s*(?:name)?\s*[:#=-]?\s*)$"
)
_DOTTED_TITLES = tuple(t for t in lexicon.TITLES if t.endswith("."))
_WEAK_LABEL = re.compile(r"(?i)\b(?:with|by|per|called|and|or|for|mr|mrs|ms)\s+$")
_EPONYM_AFTER = re.compile(
    r"(?i)^(?:['’]s)?[\s-]+(?:disease|syndrome|sign|test|palsy|lymphoma|sarcoma|phenomenon|fracture|score|scale|"
    r"classification|procedure|maneuver|reflex|catheter|triad|law|cyst|ulcer|hernia|criteria|view|position|tube|"
    r"operation|repair|type|stage|grade|node|method|stain|equation|formula|effect|disorder|anomaly|malformation)\b"
)


def _plain(word: str) -> str:
    return word.rstrip(".").lower().replace("’", "'")


def _base_forms(word: str) -> list[str]:
    w = _plain(word)
    forms = [w]
    if w.endswith("'s"):
        forms.append(w[:-2])
    if "-" in w:
        forms.extend(w.split("-"))
    return forms


def _in(word: str, table: frozenset[str]) -> bool:
    return any(f in table for f in _base_forms(word))


def _is_initial(word: str) -> bool:
    return len(word.rstrip(".")) == 1 and word[0].isupper()


def _is_cap(word: str) -> bool:
    return word[0].isupper()


def _common(word: str) -> bool:
    w = _plain(word)
    if len(w) == 1:
        return False
    return w in lexicon.COMMON_WORDS or w in lexicon.CLINICAL_WORDS or w in lexicon.FACILITY_WORDS


def _given(word: str) -> bool:
    return _in(word, lexicon.GIVEN_NAMES)


def _surname(word: str) -> bool:
    return _in(word, lexicon.SURNAMES)


def _name_parts(tokens: Sequence[tuple[int, int, str]], inverted: bool = False) -> tuple[tuple[int, int, str], ...]:
    """Split a name's tokens into FIRST_NAME / LAST_NAME parts (initials count as first names)."""
    if len(tokens) == 1:
        s, e, w = tokens[0]
        return ((s, e, "FIRST_NAME" if _given(w) and not _surname(w) else "LAST_NAME"),)
    last_index = 0 if inverted else len(tokens) - 1
    return tuple((s, e, "LAST_NAME" if i == last_index else "FIRST_NAME") for i, (s, e, _) in enumerate(tokens))


def _span_end(text: str, start: int, end: int) -> int:
    """Drop a sentence-final period from a name token (keep it on initials)."""
    word = text[start:end]
    if word.endswith(".") and len(word) > 2:
        return end - 1
    return end


def _accept_run(run: list[tuple[int, int, str]], titled: bool, strong: bool, weak: bool) -> bool:
    words = [w for _, _, w in run]
    if titled:
        return True
    if any(_plain(w) in lexicon.CLINICAL_WORDS or _plain(w) in lexicon.FACILITY_WORDS for w in words):
        return False
    initials = [w for w in words if _is_initial(w)]
    full = [w for w in words if not _is_initial(w)]
    if not full:
        return False
    if strong:
        return all(not _common(w) or _given(w) or _surname(w) for w in full)
    if len(full) >= 2 and all(not _common(w) and len(w.rstrip(".")) >= 3 for w in full):
        return True  # two or three capitalised words that are no English word: "ADELINDE JUNKEN"
    if len(full) >= 2 or initials:
        if any(_given(w) and not _common(w) for w in full):
            return True
        if len(full) >= 2 and _given(full[0]) and _surname(full[-1]) and not _common(full[-1]):
            return True
        if initials and (_surname(full[-1]) or not _common(full[-1])) and full[-1] == words[-1]:
            # "J. Smith", "John A. Smith": an initial with a full stop is a strong sign
            return any(w.endswith(".") or len(w) == 1 for w in initials) and full[-1][0].isupper()
        if all(not _common(w) for w in full) and any(_surname(w) or _given(w) for w in full):
            return not all(w.isupper() for w in full) or all(_surname(w) or _given(w) for w in full)
        return False
    (word,) = full
    if weak:
        return (_given(word) or _surname(word)) and not _common(word)
    return False


def _names(text: str) -> list[_Raw]:
    found: list[_Raw] = []
    for m in _CARET_PN.finditer(text):
        parts = []
        pos = m.start()
        for i, comp in enumerate(m.group().split("^")):
            if comp and i < 3:
                parts.append((pos, pos + len(comp), "LAST_NAME" if i == 0 else "FIRST_NAME"))
            pos += len(comp) + 1
        found.append((m.start(), m.end(), "PERSON_NAME", tuple(parts)))
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    n = len(tokens)
    i = 0
    while i < n:
        s, e, w = tokens[i]
        if not _is_cap(w):
            i += 1
            continue
        j = i + 1
        while j < n and _is_cap(tokens[j][2]) and j - i < 6:
            gap = text[tokens[j - 1][1] : tokens[j][0]]
            if gap not in (" ", "  ") or (
                tokens[j - 1][2].endswith(".")
                and not _is_initial(tokens[j - 1][2])
                and _plain(tokens[j - 1][2]) not in lexicon.TITLES
                and tokens[j - 1][2].lower() not in lexicon.TITLES
            ):
                break
            j += 1
        run = tokens[i:j]
        after_title = bool(run) and (_plain(run[0][2]) in lexicon.TITLES or run[0][2].lower() in lexicon.TITLES)
        for k, (_, _, word) in enumerate(run):  # a name never runs into a clinical or facility word
            if k == 1 and after_title:  # ... except right after a title: "Dr. Parkinson" is a person
                continue
            if k and (_plain(word) in lexicon.CLINICAL_WORDS or _plain(word) in lexicon.FACILITY_WORDS):
                run = run[:k]
                break
        titled = False
        while run and (_plain(run[0][2]) in lexicon.TITLES or run[0][2].lower() in lexicon.TITLES):
            run = run[1:]
            titled = True
        if not titled and text[max(0, s - 8) : s].rstrip().lower().endswith(_DOTTED_TITLES):
            titled = True
        # trim common words from the ends (sentence-initial "Yesterday", trailing "Hospital" ...)
        lead_trimmed = False
        if not titled:
            while run and _common(run[0][2]) and not _given(run[0][2]):
                run = run[1:]
                lead_trimmed = True
        while (
            len(run) > 1
            and _common(run[-1][2])
            and not (_given(run[-1][2]) or _surname(run[-1][2]) or _is_initial(run[-2][2]))
        ) or (len(run) == 1 and _common(run[0][2]) and not (_given(run[0][2]) or _surname(run[0][2]))):
            run = run[:-1]
        if run:
            after = text[run[-1][1] : run[-1][1] + 40]
            eponym = bool(_EPONYM_AFTER.match(after)) and not titled
            accepted = not eponym and _accept_run(run, titled, False, False)
            if not accepted and not eponym and not titled and not lead_trimmed:
                before = text[max(0, s - 48) : s]  # labels only looked at when the words alone do not decide
                accepted = _accept_run(run, False, bool(_STRONG_LABEL.search(before)), bool(_WEAK_LABEL.search(before)))
            if accepted:
                start, end = run[0][0], _span_end(text, run[-1][0], run[-1][1])
                toks = [(a, _span_end(text, a, b), w) for a, b, w in run]
                found.append((start, end, "PERSON_NAME", _name_parts(toks)))
        i = j
    # inverted "SMITH, JOHN [A.]"
    for m in _INVERTED.finditer(text):
        last, first = m.group(1), m.group(2)
        if not (last[0].isupper() and first[0].isupper()) or (_common(last) and _common(first)):
            continue
        before = text[max(0, m.start() - 48) : m.start()]
        labelled = bool(_STRONG_LABEL.search(before))
        weak = bool(_WEAK_LABEL.search(before))
        if (
            labelled
            or (weak and not _common(last) and not _common(first))
            or (_surname(last) and _given(first))
            or (_given(first) and not _common(first) and not _common(last))
        ) and not (_plain(last) in lexicon.CLINICAL_WORDS or _plain(first) in lexicon.CLINICAL_WORDS):
            parts = ((m.start(1), m.end(1), "LAST_NAME"), (m.start(2), m.end(2), "FIRST_NAME"))
            found.append((m.start(), m.end(), "PERSON_NAME", parts))
    return found


_INVERTED = re.compile(r"(?<![\w])([^\W\d_]{2,}(?:['’-][^\W\d_]+)*),\s?([^\W\d_]{2,}(?:-[^\W\d_]+)*)(?:\s[A-Z]\b\.?)?")

# --- validators ------------------------------------------------------------------------------------------


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_VIN_VALUES = {**{str(i): i for i in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True))}
_VIN_VALUES.update(dict(zip("JKLMN", range(1, 6), strict=True)))
_VIN_VALUES.update({"P": 7, "R": 9})
_VIN_VALUES.update(dict(zip("STUVWXYZ", range(2, 10), strict=True)))
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def _vin_ok(vin: str) -> bool:
    if vin.isdigit() or vin.isalpha():
        return False
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    check = total % 11
    return vin[8] == ("X" if check == 10 else str(check))


def _date_ok(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def _numeric_date_ok(s: str) -> bool:
    parts = re.split(r"[/.-]", s)
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return True
    a, b, c = (int(p) for p in parts)
    if len(parts[0]) == 4:
        return _date_ok(a, b, c)
    year = c if len(parts[2]) == 4 else 2000 + c
    return _date_ok(year, a, b) or _date_ok(year, b, a)


def _compact_date_ok(s: str) -> bool:
    return _date_ok(int(s[0:4]), int(s[4:6]), int(s[6:8]))


# --- detection -------------------------------------------------------------------------------------------


def _emit(pattern: re.Pattern[str], text: str, info_type: str, group: int = 0) -> Iterable[_Raw]:
    for m in pattern.finditer(text):
        yield (m.start(group), m.end(group), info_type, _NO_PARTS)


def _phone_type(text: str, start: int) -> str:
    return "FAX_NUMBER" if _FAX_BEFORE.search(text[max(0, start - 20) : start]) else "PHONE_NUMBER"


def _raw_findings(text: str, wanted: frozenset[str]) -> list[_Raw]:
    """All detections for the raw infoTypes in ``wanted`` (already expanded to children)."""
    out: list[_Raw] = []
    digits = any(ch.isdigit() for ch in text)
    if "EMAIL_ADDRESS" in wanted and "@" in text:
        out.extend(_emit(_EMAIL, text, "EMAIL_ADDRESS"))
    if "URL" in wanted and ("://" in text or "www." in text):
        out.extend(_emit(_URL, text, "URL"))
    if digits:
        if "IP_ADDRESS" in wanted:
            out.extend(_emit(_IPV4, text, "IP_ADDRESS"))
            if ":" in text:
                for m in _IPV6.finditer(text):
                    try:
                        ipaddress.IPv6Address(m.group())
                    except ValueError:
                        continue
                    out.append((m.start(), m.end(), "IP_ADDRESS", _NO_PARTS))
        if "MAC_ADDRESS" in wanted:
            out.extend(_emit(_MAC, text, "MAC_ADDRESS"))
        if "US_SOCIAL_SECURITY_NUMBER" in wanted:
            out.extend(_emit(_SSN, text, "US_SOCIAL_SECURITY_NUMBER"))
            out.extend(_emit(_SSN_CTX, text, "US_SOCIAL_SECURITY_NUMBER", 1))
        if "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER" in wanted:
            out.extend(_emit(_ITIN, text, "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER"))
        if "CREDIT_CARD_NUMBER" in wanted:
            for m in _CARD.finditer(text):
                d = re.sub(r"\D", "", m.group())
                if 13 <= len(d) <= 19 and _luhn(d):
                    out.append((m.start(), m.end(), "CREDIT_CARD_NUMBER", _NO_PARTS))
        if wanted & {"PHONE_NUMBER", "FAX_NUMBER"}:
            for m in _PHONE_NANP.finditer(text):
                out.append((m.start(), m.end(), _phone_type(text, m.start()), _NO_PARTS))
            for m in _PHONE_CTX.finditer(text):
                if 7 <= sum(ch.isdigit() for ch in m.group(1)) <= 15:
                    out.append((m.start(1), m.end(1), _phone_type(text, m.start(1)), _NO_PARTS))
            for m in _PHONE_BARE.finditer(text):
                try:
                    ok = phonenumbers.is_valid_number(phonenumbers.parse(m.group(), "US"))
                except phonenumbers.NumberParseException:
                    ok = False
                if ok or _PHONE_HINT.search(text[max(0, m.start() - 32) : m.start()]):
                    out.append((m.start(), m.end(), _phone_type(text, m.start()), _NO_PARTS))
            if "+" in text:
                for m in _PHONE_INTL.finditer(text):
                    try:
                        ok = phonenumbers.is_possible_number(phonenumbers.parse(m.group(), None))
                    except phonenumbers.NumberParseException:
                        ok = False
                    if ok:
                        out.append((m.start(), m.end(), _phone_type(text, m.start()), _NO_PARTS))
        if wanted & {"DATE", "DATE_OF_BIRTH"}:
            for k, pattern in enumerate(_DATE_PATTERNS):
                for m in pattern.finditer(text):
                    s = m.group()
                    if k == 0 and not _compact_date_ok(s):
                        continue
                    if k in (1, 2) and not _numeric_date_ok(s.split("T")[0]):
                        continue
                    out.append((m.start(), m.end(), _date_type(text, m.start()), _NO_PARTS))
            for m in _YEAR_CTX.finditer(text):
                out.append((m.start(1), m.end(1), _date_type(text, m.start(1)), _NO_PARTS))
        if "TIME" in wanted and (":" in text or "m" in text.lower()):
            out.extend(_emit(_TIME, text, "TIME"))
        if "AGE" in wanted:
            for pattern in _AGE_PATTERNS:
                out.extend(_emit(pattern, text, "AGE"))
            out.extend(_emit(_AGE_CTX, text, "AGE", 1))
        for info_type, pattern in _ID_CONTEXTS:
            if info_type in wanted or (info_type == "PASSPORT" and "US_PASSPORT" in wanted):
                for m in pattern.finditer(text):
                    s, e = m.start(1), m.end(1)
                    while s < e and text[s] in "# ":
                        s += 1
                    if e - s >= 3:
                        out.append((s, e, info_type, _NO_PARTS))
        if "US_VEHICLE_IDENTIFICATION_NUMBER" in wanted:
            for m in _VIN.finditer(text):
                if _vin_ok(m.group()):
                    out.append((m.start(), m.end(), "US_VEHICLE_IDENTIFICATION_NUMBER", _NO_PARTS))
        if "STREET_ADDRESS" in wanted:
            out.extend(_emit(_STREET, text, "STREET_ADDRESS"))
            out.extend(_emit(_PO_BOX, text, "STREET_ADDRESS"))
        if "LOCATION" in wanted:
            out.extend(_emit(_CSZ, text, "LOCATION"))
            out.extend(_emit(_ZIP_CTX, text, "LOCATION", 1))
    if "LOCATION" in wanted:
        out.extend(_emit(_CITY_STATE, text, "LOCATION"))
    if "US_STATE" in wanted:
        out.extend(_emit(_STATE_NAME, text, "US_STATE"))
    if "ORGANIZATION_NAME" in wanted:
        for m in _FACILITY.finditer(text):
            words = m.group().split()
            if len(words) >= 2 or words[0].lower() in ("memorial", "general"):
                if len(words) >= 2:
                    out.append((m.start(), m.end(), "ORGANIZATION_NAME", _NO_PARTS))
    if wanted & {"PERSON_NAME", "FIRST_NAME", "LAST_NAME"}:
        out.extend(_names(text))
    return out


def _date_type(text: str, start: int) -> str:
    return "DATE_OF_BIRTH" if _DOB_BEFORE.search(text[max(0, start - 24) : start]) else "DATE"


def expand(info_types: Iterable[str]) -> frozenset[str]:
    """The raw infoTypes to run for a selection: each type and every descendant of it."""
    selected = set(info_types)
    changed = True
    while changed:
        changed = False
        for child, parent in PARENT.items():
            if parent in selected and child not in selected:
                selected.add(child)
                changed = True
    return frozenset(selected)


def reported_type(raw_type: str, selected: frozenset[str]) -> str | None:
    """The selected infoType a raw finding is reported as: itself or its nearest selected ancestor."""
    t: str | None = raw_type
    while t is not None:
        if t in selected:
            return t
        t = PARENT.get(t)
    return None


def resolve(raw: Iterable[tuple[int, int, str]]) -> list[Finding]:
    """Merge overlapping findings into one span each (recall first); the highest-priority type names it."""
    items = sorted((s, e, t) for s, e, t in raw if e > s)
    out: list[Finding] = []
    cur_s = cur_e = -1
    best: tuple[int, int] = (-1, 0)
    best_type = ""
    for s, e, t in items:
        rank = (PRIORITY.get(t, 0), e - s)
        if s < cur_e:
            cur_e = max(cur_e, e)
            if rank > best:
                best, best_type = rank, t
            continue
        if cur_e > cur_s >= 0:
            out.append(Finding(cur_s, cur_e, best_type))
        cur_s, cur_e, best, best_type = s, e, rank, t
    if cur_e > cur_s >= 0:
        out.append(Finding(cur_s, cur_e, best_type))
    return out


def detect(
    text: str,
    info_types: frozenset[str] | None = None,
    *,
    context: Sequence[str] = (),
    exclude: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Sorted, non-overlapping findings of the given infoTypes (all known types when None) in ``text``.

    ``context`` holds values removed elsewhere from the same record (patient name, IDs, dates ...): their
    occurrences are reported as ``CTX``. ``exclude`` drops raw infoTypes even when a selected parent covers them.
    """
    selected = INFO_TYPES if info_types is None else frozenset(info_types)
    wanted = expand(selected) - exclude
    spans: list[tuple[int, int, str]] = []
    for s, e, raw_type, parts in _raw_findings(text, wanted):
        if raw_type in exclude:
            continue
        reported = reported_type(raw_type, selected)
        if reported is not None:
            spans.append((s, e, reported))
        elif parts:
            for ps, pe, part_type in parts:
                if part_type in selected:
                    spans.append((ps, pe, part_type))
    if context:
        spans.extend((s, e, "CTX") for s, e in context_findings(text, context))
    return resolve(spans)

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
from transforms.text.names import find_names

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
        out.extend(find_names(text))
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

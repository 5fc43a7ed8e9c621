"""Offline infoType detectors: regular expressions, validators and census name lists over plain text."""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import phonenumbers

from transforms.text import lexicon
from transforms.text.addresses import find_address_parts, find_city_state_zips, find_journey_places, grow_places
from transforms.text.ages import find_word_ages
from transforms.text.caseless import Caseless, alternatives, by_first_letter, lowered, trie_pattern
from transforms.text.context import context_findings
from transforms.text.date_shapes import find_more_dates
from transforms.text.name_cues import find_more_names
from transforms.text.names import find_names
from transforms.text.organisations import find_brand_organisations, grow_organisations
from transforms.text.places import find_places

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
    "US_MEDICARE_BENEFICIARY_ID_NUMBER": "HEALTH_PLAN_NUMBER",
}
INFO_TYPES: frozenset[str] = frozenset(
    {
        "PERSON_NAME", "FIRST_NAME", "LAST_NAME", "DATE", "DATE_OF_BIRTH", "TIME", "AGE",
        "PHONE_NUMBER", "FAX_NUMBER", "EMAIL_ADDRESS", "URL", "IP_ADDRESS", "MAC_ADDRESS",
        "US_SOCIAL_SECURITY_NUMBER", "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER", "CREDIT_CARD_NUMBER",
        "MEDICAL_RECORD_NUMBER", "FINANCIAL_ACCOUNT_NUMBER", "US_DRIVERS_LICENSE_NUMBER", "PASSPORT",
        "US_PASSPORT", "DEVICE_SERIAL_NUMBER", "US_HEALTHCARE_NPI", "US_VEHICLE_IDENTIFICATION_NUMBER",
        "SWIFT_CODE", "STREET_ADDRESS", "LOCATION", "US_STATE", "ORGANIZATION_NAME", "CTX",
        "HEALTH_PLAN_NUMBER", "US_MEDICARE_BENEFICIARY_ID_NUMBER", "CERTIFICATE_NUMBER", "BIOMETRIC_IDENTIFIER",
        "GENERIC_ID",
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
    "HEALTH_PLAN_NUMBER": 73,
    "US_MEDICARE_BENEFICIARY_ID_NUMBER": 74,
    "CERTIFICATE_NUMBER": 73,
    "BIOMETRIC_IDENTIFIER": 73,
    "GENERIC_ID": 45,
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


def _class_first(behind: str, first: str, rest: str) -> re.Pattern[str]:
    """``(?<!behind)first rest`` with ``behind`` and ``first`` one character each, compiled as
    ``first(?<!behind first)rest``: the same matches (the look-behind, moved past the first character, sees the
    same character before it), but a pattern that starts with a character class lets ``re`` skip to the
    positions holding one, where a leading look-behind is tried at every position (2-3x slower on prose)."""
    return re.compile(f"{first}(?<!(?:{behind}){first}){rest}")


# Local parts and domains in any script ("zoë.müllerová24@klinik.de"); the domain's last label is letters.
_EMAIL = re.compile(r"(?<![\w.%+-])[^\W_][\w.%+'-]*@[^\W_][\w-]*(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
_URL = re.compile(r"(?i)\b(?:(?:https?|ftps?|sftp|file)://|www\.)[^\s<>\"'^\\]+[^\s<>\"'^\\.,;:!?)\]]")
# Host names without a scheme ("mychart.example-health.org/visit?id=3", "portal.clinic.com"): a dot-separated
# name ending in a common top-level domain, with an optional port and path.
_TLDS = (
    "com|org|net|edu|gov|mil|int|info|biz|io|ai|app|health|care|clinic|hospital|med|us|uk|ca|au|de|fr|nl|be|ch|at"
    "|it|es|pt|se|no|dk|fi|ie|nz|jp|cn|kr|br|mx|ru|pl|za|eu|co|me|ly|online|site|cloud|dev"
)
_HOST = Caseless(
    r"(?i)(?<![\w@.-])(?:[a-z0-9][a-z0-9-]*\.){2,}(?:" + _TLDS + r")(?![\w-]|\.[a-z0-9])(?::\d{1,5})?"
    r"(?:/[^\s<>\"'^\\]*[^\s<>\"'^\\.,;:!?)\]])?"
    r"|(?<![\w@.-])[a-z0-9][a-z0-9-]*[a-z0-9]\.(?:com|org|net|edu|gov|health|io)(?![\w-]|\.[a-z0-9])(?::\d{1,5})?"
    r"(?:/[^\s<>\"'^\\]*[^\s<>\"'^\\.,;:!?)\]])?"
    r"|(?<![\w@.-])[a-z0-9][a-z0-9-]*\.(?:" + _TLDS + r")(?::\d{1,5})?/[^\s<>\"'^\\]*[^\s<>\"'^\\.,;:!?)\]]",
)
_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)"
)
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,8}[0-9A-Fa-f]{0,5}(?![\w:])")
_MAC = _class_first(
    r"[\w:-]",
    "[0-9A-Fa-f]",
    r"(?:[0-9A-Fa-f]([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{3}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})"
    r"(?![\w:-])",
)
# What every _MAC match holds (a pair between two of its five separators, or a dotted quad between dots), found
# by a scan that skips to separators; a date's "1956-09-16" or a phone's "535-555-9498" holds neither.
_MAC_HINT = re.compile(r"[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-]|\.[0-9A-Fa-f]{4}\.")
_SSN = _class_first(r"[\w-]", r"\d", r"(?!(?<=0)00|(?<=6)66|(?<=9)\d\d)\d{2}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
_SSN_CTX = Caseless(
    r"(?i)\b(?:ssn|ss#|soc(?:ial)?\.?\s*sec(?:urity)?\.?(?:\s*(?:number|no\.?|#))?)\s*[:#]?\s*((?!000|666|9\d\d)\d{3}[- ]?(?!00)\d{2}[- ]?(?!0000)\d{4})\b"
)
_ITIN = _class_first(r"[\w-]", "9", r"\d{2}([- ]?)(?:5\d|6[0-5]|7\d|8[0-8]|9[0-2]|9[4-9])\1\d{4}(?![\w-])")
_CARD = _class_first(r"[\w-]", "[2-6]", r"\d{3}(?:[ -]?\d){9,15}(?![\w-])")
# Separated 3-3-4 digits are a phone number even where NANP has no such exchange (555-123-4567): recall first.
# The plain form, (?<![\w+])(?:(?:\+1|001|1)[\s.-]?)?(?:AREA)REST, past its first character: after "+", "0" or
# "1" the country code (each followed by the rest), after "(" or a digit the area code on its own.
_NANP_AREA = r"(?:\(\d{3}\)[\s.-]?|\d{3}[\s.-])"
_NANP_REST = r"\d{3}[\s.-]\d{4}(?:\s?(?:x|ext\.?|extension)\s?\d{1,6})?(?![\w-])"
_PHONE_NANP = _class_first(
    r"[\w+]",
    r"[+(\d]",
    r"(?:(?<=\+)1[\s.-]?" + _NANP_AREA + _NANP_REST
    + r"|(?<=0)01[\s.-]?" + _NANP_AREA + _NANP_REST
    + r"|(?<=1)[\s.-]?" + _NANP_AREA + _NANP_REST
    + r"|(?<=\()\d{3}\)[\s.-]?" + _NANP_REST
    + r"|(?<=\d)\d{2}[\s.-]" + _NANP_REST + ")",
)
# (Cue words at a word's start: "\b" before a letter is "no letter or digit before it", tested past the first letter.)
_PHONE_CTX = Caseless(
    r"(?i)(?:"
    + by_first_letter(alternatives("tel|telephone|phone|ph|cell|mobile|mob|pager|fax|call|contact|home|work"), r"\w")
    + r")\b\.?\s*(?:no\.?|number|#)?\s*[:#]?\s*(\+?\d[\d ()./-]{6,18}\d)"
)
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}(?![\w-])")
_PHONE_BARE = re.compile(r"(?<![\w+.-])1?[2-9]\d{2}[2-9]\d{6}(?![\w-]|\.\d)")
_PHONE_HINT = Caseless(
    r"(?i)\b(?:phone|tel|telephone|fax|call|contact|cell|mobile|pager|reach|room|line|desk|number)\b"
)
_FAX_BEFORE = Caseless(r"(?i)f(?<!\wf)ax\b[^\n\d]{0,12}$")

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
        r"(?<![^\W_])(?<!\d\.)(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:\d{2,6}(?:\.\d{1,6})?)?(?:[+-]\d{4})?(?![\w]|\.\d)"
    ),
    # ISO and friends: YYYY-MM-DD[THH:MM[:SS[.f]][Z|+hh:mm]], YYYY/MM/DD, YYYY.MM.DD
    re.compile(
        r"[12](?<![\w.][12])(?:(?<=1)9|(?<=2)0)\d{2}([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])"
        r"(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w])"
    ),
    # US / European numeric: MM/DD/YYYY, M/D/YY, DD.MM.YYYY, MM-DD-YYYY
    _class_first(r"[\w./-]", r"\d", r"(?:(?<=[0-3])\d)?([/.-])(?:[0-3]?\d)\1(?:(?:19|20)\d{2}|\d{2})(?![\w]|[./-]\d)"),
    # 31-Jan-2024, 31 January 2024, 31st Jan, 2024, 31-JAN-24
    re.compile(r"(?<![\w])(?:[0-3]?\d)(?:st|nd|rd|th)?[\s-]" + _MON_I + r"\.?,?[\s-](?:(?:19|20)\d{2}|\d{2})(?![\w])"),
    # January 31, 2024 / Jan 31 2024 / Jan. 31st / January 31
    re.compile(r"(?<![\w])" + _MON_I + r"\.?\s(?:[0-3]?\d)(?:st|nd|rd|th)?(?:,?\s(?:19|20)\d{2})?(?![\w])"),
    # January 2024 / Jan-2024 / Jan. 2024
    re.compile(r"(?<![\w])" + _MON_I + r"\.?[\s,-]\s?(?:19|20)\d{2}(?![\w])"),
    # YYYY-MM (month precision)
    _class_first(r"[\w./-]", "[12]", r"(?:(?<=1)9|(?<=2)0)\d{2}-(?:0[1-9]|1[0-2])(?![\w]|[-/.]\d)"),
    # Oct-83, Sep '66, Apr-23: a month and a two-digit year
    re.compile(r"(?<![\w/-])" + _MON_I + r"[-'’ ]\d{2}(?![\w/:-]|\.\d)"),
    # MM/YYYY, MM-YYYY, MM.YYYY (month precision: "seen 12/2019")
    _class_first(r"[\w./-]", "[0-9]", r"(?:(?<=0)[1-9]|(?<=[1-9])|(?<=1)[0-2])[/.-](?:19|20)\d{2}(?![\w]|[./-]\d)"),
    # 5 Jan, 5th of January (no year)
    re.compile(r"(?<![\w/.-])(?:[0-3]?\d)(?:st|nd|rd|th)?(?:\s+of)?[\s-]" + _MON_I + r"\b\.?"),
]
# MM/DD after a date word: "on 3/14", "seen 12/03", "from 1/5 to 1/9"
_DATE_MD_CTX = Caseless(
    r"(?i)(?:\b(?:on|seen|dated|since|from|until|till|through|thru|date|dos|admitted|discharged|visit"
    r"|[a-z]{2,}ed)|\d{4}\s[-–])\s+"
    r"((?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01]))(?![\w/]|\.\d)"
)
# MM/DD on its own when the second number can only be a day (13-31): "cx 10/16", "CABG 3/23" (fractions,
# strengths and scales stay below 13: "5/5", "2/6 murmur", "8/10 pain"; "120/80" has no month)
_DATE_MD_BARE = _class_first(
    r"[\w./-]", "[0-9]", r"(?:(?<=0)[1-9]|(?<=[1-9])|(?<=1)[0-2])/(?:1[3-9]|2\d|3[01])(?![\w/]|[.,]\d)"
)
_MONTH_PATTERNS = frozenset(k for k, p in enumerate(_DATE_PATTERNS) if _MON in p.pattern)
# The patterns without a month name that need a digit, a separator and a digit ("3/14/2021", "2021-03", "12/2019");
# the compact DICOM date needs eight digits in a row. Texts without them skip those scans.
_SEPARATED_PATTERNS = frozenset({1, 2, 6, 8})
_NUMBER_SEP = re.compile(r"\d[/.-]\d")
_DIGIT = re.compile(r"\d")
# Every month pattern has a month name followed by a character that is not a letter or digit: "Married",
# "summary" and "Decatur" hold none.
_MONTH_WORD = Caseless(r"(?i)(?:" + trie_pattern(frozenset(_MONTHS)) + r")(?![\w])")
# A year as the patterns write it: four digits on their own, 19xx or 20xx (the patterns that need one: the ISO
# and month-year dates, "MM/YYYY", "YYYY-MM", "in 1998").
_YEAR_RUN = _class_first(r"\d", "[12]", r"(?:(?<=1)9|(?<=2)0)\d\d(?!\d)")
_YEAR_PATTERNS = frozenset({1, 5, 6, 8})
# What the age phrases need: a digit, maybe a space or "-", and a unit's first letter (its other letters,
# "yr|year|mo|month|week|day", and the DICOM "\d{3}[DWMY]" need no more than that).
_AGE_WORD = re.compile(r"\d[\s-]?[DMWYdmwy]")
_DIGIT_SEP_Y = re.compile(r"\d[\s-]?[yY]")  # what "45 years old", "45 y.o.", "45yo" and "102y" need
_YEAR_CTX = Caseless(
    r"(?i)(?:" + by_first_letter(alternatives("in|since|from|during|year|until|till|by|circa|of|dated"), r"\w")
    + r")\s+((?:19|20)\d{2})(?![\w]|[-/.]\d)"
)
_DOB_BEFORE = Caseless(
    r"(?i)(?:"
    + by_first_letter(alternatives(r"dob|d\.o\.b\.?|date of birth|birth\s?date|born(?:\s+on)?|birthday"), r"\w")
    + r")\W{0,4}$"
)
_TIME = _class_first(
    r"[\w:.]",
    r"\d",
    # "[01]?\d|2[0-3]" and then "1[0-2]|0?[1-9]" past their first digit, each alternative in its order (the
    # empty one: "\d" alone)
    r"(?:(?:(?<=[01])\d||(?<=2)[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:\s?[AaPp]\.?[Mm]\.?)?(?![\w:])"
    r"|(?:(?<=1)[0-2]|(?<=0)[1-9]|(?<=[1-9]))\s?[AaPp]\.?[Mm]\.?(?!\w))",
)
_AGE_DICOM = _class_first(r"[\w]", r"\d", r"\d{2}[DWMY](?![\w])")  # DICOM AS
_AGE_YEARS_OLD = Caseless(r"(?i)(?<![\w])\d{1,3}[\s-]?(?:years?|yrs?|y)[\s-]?(?:old|o\b\.?)")
_AGE_YO = Caseless(r"(?i)(?<![\w])\d{1,3}\s?(?:yo|y/o|y\.o\.?)(?![\w])")
_AGE_UNITS_OLD = Caseless(r"(?i)(?<![\w])\d{1,3}[\s-](?:months?|weeks?|days?|mos?)[\s-]old\b")
_AGE_CTX = Caseless(r"(?i)\b(?:age|aged|age at exam)\s*[:=]?\s*(\d{1,3})(?![\w])")
# "Pt is 96.", "now 101", "102y", and past 89 (HIPAA) any "Name, 94," aside
_AGE_IS = Caseless(
    r"(?i)\b(?:is|was|now|turned|turns|age|aged)\s+(9\d|1[01]\d|12[0-5])(?=\s*(?:[.,;)]|$|y\b|yo\b|yrs?\b|years?\b))"
)
_AGE_Y = re.compile(r"(?<![\w.])\d{1,3}[yY](?![\w])")
_AGE_NUMBER = _class_first(r"\d", "[19]", r"(?:(?<=9)\d|(?<=1)(?:[01]\d|2[0-5]))(?!\d)")  # 90 to 125
_DIGIT_Y = re.compile(r"\d[yY]")
_AGE_ASIDE = re.compile(r"(?<=[^\W\d_]), (9\d|1[01]\d|12[0-5])(?=[,;)])")

# Labelled identifiers: LABEL [QUALIFIER] [SEPARATOR] VALUE, whatever the label's spelling ("MRN", "M.R.N.",
# "MR#", "Med Rec No.", "Acc#", "Acct", "FIN", "Member ID", "S/N"). The label decides the infoType; a value is
# 3-30 letters/digits with at least two digits. Labels that are everyday words ("patient", "order", "study")
# count only with a qualifier ("Patient ID", "Order #").
_LABEL_TYPES: tuple[tuple[str, str, bool], ...] = (
    # (infoType, label alternatives, stands alone without a qualifier)
    ("MEDICAL_RECORD_NUMBER", r"m\.?r\.?n\.?|mr|med\.?\s*rec(?:ord)?s?\.?|medical\s+records?|hosp(?:ital)?|chart"
     r"|accession|accn?|acsn|acc\.|fin|csn|har|enc(?:ounter)?|visit|adm(?:ission|it)?|specimen|spec|req(?:uisition)?"
     r"|episode|pid|mpi|emr|ehr|epic", True),
    ("MEDICAL_RECORD_NUMBER", r"record|unit|patient|pt|pat|client|resident|case|order|study|exam|lab|sample|series"
     r"|procedure|report|document|doc|referral|authori[sz]ation|auth|prescription|rx|ticket", False),
    ("FINANCIAL_ACCOUNT_NUMBER", r"acct\.?|acc't|account|billing|invoice|claim|bank|routing|iban|card", True),
    ("HEALTH_PLAN_NUMBER", r"member(?:ship)?|subscriber|policy|insurance|ins\.?|medicaid|medicare|beneficiary|hicn|mbi"
     r"|payer|payor|plan|group|grp|coverage|health\s+plan|hmo|ppo|cigna|aetna|humana|bcbs|tricare", True),
    ("US_DRIVERS_LICENSE_NUMBER", r"driver'?s?\s+licen[cs]e|driving\s+licen[cs]e|d\.?l\.?|cdl", True),
    ("CERTIFICATE_NUMBER", r"licen[cs]e|lic\.?|certificate|cert\.?|certification|registration|reg\.?|dea|upin"
     r"|badge|employee|staff|provider|permit|board", True),
    ("US_HEALTHCARE_NPI", r"npi", True),
    ("PASSPORT", r"passport", True),
    ("DEVICE_SERIAL_NUMBER", r"serial|ser\.|s/n|sn|device|udi|imei|implant|pacemaker|icd|generator|lot|model|asset"
     r"|equipment|scanner|station|unit\s+serial", True),
    ("US_VEHICLE_IDENTIFICATION_NUMBER", r"vin|vehicle|licen[cs]e\s+plates?|plates?|tags?|registration\s+plates?",
     True),
    ("BIOMETRIC_IDENTIFIER", r"biometric|fingerprint|finger\s+print|retina(?:l)?(?:\s+scan)?|iris(?:\s+scan)?"
     r"|voice\s*print|face\s+(?:id|scan)|photo(?:graph)?|picture|image|img|dna|genetic", False),
    ("GENERIC_ID", r"id|i\.d\.|identifier|ident|ref(?:erence)?|tracking|barcode|bar\s+code|confirmation|conf|file"
     r"|folio|docket|control|ctrl|seq(?:uence)?|local|alternate|other|national|social|tax|ein|tin", True),
)  # fmt: skip
_QUALIFIER = r"(?:number|num\.?|no\.?|nbr\.?|nr\.?|#|id|i\.d\.|identifier|identification(?:\s+number)?|code|ref)"
_LABEL_ALTS = "|".join(f"(?P<l{i}>{alts})" for i, (_, alts, _) in enumerate(_LABEL_TYPES))
_LABEL_TAIL = (
    r"(?![\w])(?P<q>\s?" + _QUALIFIER + r"(?:\s?" + _QUALIFIER + r")?)?"
    r"(?:\s*(?:is|was|of|:|=|-|–|\.)|\s)?\s*(?:#\s?)?"
    r"(?P<v>[A-Za-z]{0,8}[-/]?\d[A-Za-z0-9/-]{1,29}|[A-Za-z]{1,8}\d?[A-Za-z][-]?\d[A-Za-z0-9-]{1,29}|\d[A-Za-z0-9-]{2,29})"
    r"(?![\w])"
)
_LABELLED_ID = Caseless(r"(?i)(?<![\w/])(?:" + _LABEL_ALTS + r")" + _LABEL_TAIL)


# _LABELLED_ID without the label groups: its matches, found faster (_labelled_ids asks _LABELLED_ID for the groups)
_LABELLED_ID_FAST = Caseless(
    r"(?i)(?:"
    + by_first_letter([a for _, alts, _ in _LABEL_TYPES for a in alternatives(alts)], r"[\w/]")
    + r")"
    + _LABEL_TAIL.replace("(?P<q>", "(?:").replace("(?P<v>", "(?:")
)

_MEASURE = re.compile(r"(?i)\d+(?:[.,]\d+)?(?:mm|cm|m|mg|mcg|ug|ml|cc|l|kg|g|lb|lbs|%|u|iu|units?|mmhg|bpm|hz|ms|s|min|hr|h|d|wk|y|yo|t|x\d*)")
# Medicare Beneficiary Identifier (CMS format: 11 characters, letters without S L O I B Z; dashes optional).
_MBI = _class_first(
    r"[\w-]",
    "[1-9]",
    r"[AC-HJKMNP-RT-Yac-hjkmnp-rt-y][AC-HJKMNP-RT-Yac-hjkmnp-rt-y0-9]\d-?"
    r"[AC-HJKMNP-RT-Yac-hjkmnp-rt-y][AC-HJKMNP-RT-Yac-hjkmnp-rt-y0-9]\d-?[AC-HJKMNP-RT-Yac-hjkmnp-rt-y]{2}\d{2}(?![\w-])"
)
# Numbers on their own that identify: 7+ digits, or a leading zero ("SCOUT 00301314"), or letters and digits
# mixed with a run of 5+ digits or 8+ digits in all ("E11390736", "PHOTO-4198840", "ACCUS215784", "58-9722673").
_ID_TOKEN = re.compile(r"(?<![^\W_]|[.,/:-])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![^\W_]|[/:-]|[.,]\d)")
# The _ID_TOKEN tokens that hold five digits in a row (the only ones _bare_ids takes): the look-ahead cannot read
# past a token's end, which is followed by neither a letter, a digit nor "-".
_ID_TOKEN_5 = re.compile(
    r"(?<![^\W_]|[.,/:-])(?=[A-Za-z0-9-]*\d{5})" + _ID_TOKEN.pattern[len(r"(?<![^\W_]|[.,/:-])") :]
)
_DIGIT_RUN = re.compile(r"\d+")


def _bare_ids(text: str) -> Iterable[_Raw]:
    """Bare identifiers; the caller runs it only on texts with five digits in a row (every token taken has them)."""
    for m in _ID_TOKEN_5.finditer(text):
        tok = m.group()
        if len(tok) < 6:
            continue
        digits = sum(map(str.isdigit, tok))
        if digits < 6:
            continue
        longest = max(len(r) for r in _DIGIT_RUN.findall(tok))
        if tok.isdigit():
            if digits >= 7 or tok[0] == "0":
                yield (m.start(), m.end(), "GENERIC_ID", _NO_PARTS)
        elif longest >= 5:
            yield (m.start(), m.end(), "GENERIC_ID", _NO_PARTS)


_SWIFT_WORD = re.compile(r"(?i:swift|bic)")
_SWIFT = re.compile(r"(?i:\b(?:swift|bic)(?:\s?code)?)\s*[:#]?\s*([A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b")


_PLATE_WORD = re.compile(r"(?i:plate|tag|registration)")
# A licence plate after its label, also written with a space ("registration ZAE 710", "plate 7 ABC 123").
_PLATE = re.compile(
    r"(?i)\b(?:licen[cs]e\s+plates?|plates?|tags?|registration)\s*(?:no\.?|number|#)?\s*[:#]?\s*"
    r"([A-Z0-9]{1,4}[ -][A-Z0-9]{1,4}(?:[ -][A-Z0-9]{1,3})?)(?![\w-])"
)


def _plate_ok(value: str) -> bool:
    """A licence plate after its label: 4-8 letters and digits with at least one digit ("MEDIC1", "7ABC12")."""
    bare = value.replace("-", "").replace(" ", "")
    return 4 <= len(bare) <= 8 and any(ch.isdigit() for ch in bare) and any(ch.isalpha() for ch in bare)


def _id_value_ok(value: str) -> bool:
    digits = sum(ch.isdigit() for ch in value)
    return len(value) >= 3 and digits >= 2 and not _is_measure(value)


def _is_measure(value: str) -> bool:
    """``_MEASURE.fullmatch(value)``, scanned only when the value can be one: it starts with a digit and ends with
    a unit's last letter, "%", or digits after an "x" ("1234567" would cost the case-insensitive unit alternation
    at every digit it backs off)."""
    last = value[-1:]
    if not value[:1].isdecimal() or not (
        last.isalpha() or last == "%" or (last.isdecimal() and ("x" in value or "X" in value))
    ):
        return False
    return _MEASURE.fullmatch(value) is not None


_VIN = re.compile(r"(?<![\w-])[A-Za-z0-9]{17}(?![\w-])")

# --- locations -------------------------------------------------------------------------------------------

_STATE_NAMES = "|".join(sorted((re.escape(n) for n, _ in lexicon.US_STATES), key=len, reverse=True))
# In addresses also the freely associated states and military "states" (USPS): FM, MH, PW, AA, AE, AP.
_STATE_ABBRS = "|".join([a for _, a in lexicon.US_STATES] + ["FM", "MH", "PW", "AA", "AE", "AP"])
_STATE_NAME = re.compile(r"(?<![\w])(?:" + _STATE_NAMES + r"|" + _STATE_NAMES.upper() + r")(?![\w])")


# A first look: the names as _STATE_NAME writes them, as written and in capitals, without its look-behind (re skips to
# their capitals; a trie over lower-cased text stops at almost every letter)
_STATE_NAME_CASED = re.compile(
    trie_pattern(frozenset(n for n, _ in lexicon.US_STATES) | frozenset(n.upper() for n, _ in lexicon.US_STATES))
)
_SUFFIX = "|".join(sorted(lexicon.STREET_SUFFIXES, key=len, reverse=True))
_CITY = r"[A-Z][A-Za-z.'-]+(?:\s[A-Z][A-Za-z.'-]+){0,3}"
_CITY_STATE_ZIP = (
    r"(?:" + _CITY + r"),?\s+(?:" + _STATE_ABBRS + r"|" + _STATE_NAMES + r")\.?,?\s+\d{5}(?:-\d{4})?(?![\w-])"
)
_STREET = _class_first(
    r"[\w.-]",
    r"\d",
    r"\d{0,5}[A-Za-z]?(?:-\d{1,4})? "
    r"(?:(?:[NSEW]|NE|NW|SE|SW|North|South|East|West|NORTH|SOUTH|EAST|WEST)\.? )?"
    r"(?:(?:[A-Z][^\W\d_]*(?:['’-][^\W\d_]+)*\.?|\d{1,3}(?:st|nd|rd|th|ST|ND|RD|TH)|of|the|de|la|del|von) ){1,4}"
    r"(?i:" + _SUFFIX + r")\b\.?"
    r"(?:\s+(?:[NSEW]|NE|NW|SE|SW)\b\.?)?"
    r"(?:,?\s+(?i:apt|apartment|suite|ste|unit|bldg|building|floor|fl|rm|room|#)\.?\s*#?\s*[\w-]+)?"
    r"(?:,?\s+" + _CITY_STATE_ZIP + r")?"
)
_PO_BOX = re.compile(r"(?i)\b(?:p\.?\s?o\.?\s?box|post\s+office\s+box)\s+\d+\b(?:,?\s+" + _CITY_STATE_ZIP + r")?")
_CSZ = re.compile(r"(?<![\w])" + _CITY_STATE_ZIP)
_COMMA_STATE = re.compile(r",\s[A-Z]{2}(?![\w])")  # how every _CITY_STATE match ends (re skips to commas)
_CITY_STATE = _class_first(
    r"[\w]",
    "[A-Z]",
    _CITY[len("[A-Z]") :]
    + r",\s(?:"
    + "|".join(a for _, a in lexicon.US_STATES if a not in ("MD", "PA", "DO"))
    + r")(?![\w])"
)
_ZIP_CTX = Caseless(
    r"(?i)\b(?:zip(?:\+4)?|zip\s?code|postal(?:\s?code)?|post\s?code|zip/postal(?:\s?code)?)\s*[:#=]?\s*"
    r"(\d{5}(?:-?\d{4})?)\b|\bthe\s(\d{5})\sarea\b"
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


def _emit(pattern: re.Pattern[str] | Caseless, text: str, info_type: str, group: int = 0) -> list[_Raw]:
    return [(m.start(group), m.end(group), info_type, _NO_PARTS) for m in pattern.finditer(text)]


# What a pattern needs, as a pattern that starts with a character class (``re`` then skips to candidates fast).
_AM_PM = re.compile(r"\d\s?[AaPp]\.?[Mm]")  # _TIME without a colon
_ZIP_AFTER_SPACE = re.compile(r"\s\d{5}(?:-\d{4})?(?![\w-])")  # how every _CSZ match ends


def _hosts(text: str) -> list[_Raw]:
    """Exactly ``_emit(_HOST, text, "URL")``, run only on the whitespace-free chunks holding a "." before a letter
    or digit (every host name has one and none spans whitespace; chunk edges are whitespace, so the look-arounds
    see what they would see in the whole text)."""
    low = lowered(text)
    if low is None:
        return _emit(_HOST, text, "URL")
    out: list[_Raw] = []
    size = len(low)
    end = -1  # the end of the last chunk scanned
    dot = low.find(".")
    while dot >= 0:
        if dot + 1 < size and dot >= end and (low[dot + 1].isascii() and low[dot + 1].isalnum()):
            a = dot
            while a > 0 and not low[a - 1].isspace():
                a -= 1
            b = dot + 1
            while b < size and not low[b].isspace():
                b += 1
            out.extend((m.start(), m.end(), "URL", _NO_PARTS) for m in _HOST.lowered.finditer(low, a, b))
            end = b
        dot = low.find(".", max(dot + 1, end))
    return out


@functools.cache
def _date_patterns(gates: tuple[bool, bool, bool, bool]) -> tuple[tuple[int, re.Pattern[str]], ...]:
    """The date patterns a text can match, by what it holds: (a month word, a digit, a separator and a digit,
    eight digits in a row, a 19xx/20xx year)."""
    has_month, has_sep, has_eight, has_year = gates
    return tuple(
        (k, pattern)
        for k, pattern in enumerate(_DATE_PATTERNS)
        if (has_month or k not in _MONTH_PATTERNS)
        and (has_sep or k not in _SEPARATED_PATTERNS)
        and (has_eight or k != 0)
        and (has_year or k not in _YEAR_PATTERNS)
    )


def _phone_type(text: str, start: int) -> str:
    return "FAX_NUMBER" if _FAX_BEFORE.search(text[max(0, start - 20) : start]) else "PHONE_NUMBER"


_PHONE_TYPES = frozenset({"PHONE_NUMBER", "FAX_NUMBER"})
_DATE_TYPES = frozenset({"DATE", "DATE_OF_BIRTH"})
_PLACE_TYPES = frozenset({"LOCATION", "STREET_ADDRESS", "ORGANIZATION_NAME"})
_NAME_TYPES = frozenset({"PERSON_NAME", "FIRST_NAME", "LAST_NAME"})


def _raw_findings(text: str, wanted: frozenset[str]) -> list[_Raw]:
    """All detections for the raw infoTypes in ``wanted`` (already expanded to children)."""
    out: list[_Raw] = []
    digits = _DIGIT.search(text) is not None or (not text.isascii() and any(ch.isdigit() for ch in text))
    low = lowered(text)  # None when lower-casing is not character for character: then no word gate is taken
    if "EMAIL_ADDRESS" in wanted and "@" in text:
        out.extend(_emit(_EMAIL, text, "EMAIL_ADDRESS"))
    if "URL" in wanted and "." in text:
        if "://" in text or "www." in text.lower():
            out.extend(_emit(_URL, text, "URL"))
        out.extend(_hosts(text))
    if digits:
        # One look at the digit runs gates every pattern below by what it needs: "longest" is the longest run of
        # ``\d`` (the patterns' own class), "count" all of them. An SSN, ITIN, card, NANP phone number or
        # "in 1998" holds four digits in a row, a bare phone number ten, a phone number after its cue seven.
        runs = _DIGIT_RUN.findall(text)
        longest = max(map(len, runs)) if runs else 0
        count = sum(map(len, runs))
        if "IP_ADDRESS" in wanted:
            if text.count(".") >= 3:  # an IPv4 address has three
                out.extend(_emit(_IPV4, text, "IP_ADDRESS"))
            if ":" in text:
                for m in _IPV6.finditer(text):
                    value = m.group()
                    for candidate in (value, value.rsplit(":", 1)[0]):  # "FE80::D213:1306:11112": a port after
                        try:
                            ipaddress.IPv6Address(candidate)
                        except ValueError:
                            continue
                        out.append((m.start(), m.start() + len(candidate), "IP_ADDRESS", _NO_PARTS))
                        break
        if "MAC_ADDRESS" in wanted and (
            text.count(":") >= 5 or text.count("-") >= 5 or text.count(".") >= 2
        ) and _MAC_HINT.search(text):
            out.extend(_emit(_MAC, text, "MAC_ADDRESS"))  # six pairs joined by ":" or "-", or three dotted quads
        if "US_SOCIAL_SECURITY_NUMBER" in wanted and longest >= 4:
            out.extend(_emit(_SSN, text, "US_SOCIAL_SECURITY_NUMBER"))
            if low is None or "ss" in low or "soc" in low:  # its labels: "SSN", "SS#", "Soc Sec"
                out.extend(_emit(_SSN_CTX, text, "US_SOCIAL_SECURITY_NUMBER", 1))
        if "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER" in wanted and longest >= 4:
            if "9" in text:  # an ITIN starts with 9
                out.extend(_emit(_ITIN, text, "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER"))
        if "CREDIT_CARD_NUMBER" in wanted and longest >= 4:
            for m in _CARD.finditer(text):
                d = re.sub(r"\D", "", m.group())
                if 13 <= len(d) <= 19 and _luhn(d):
                    out.append((m.start(), m.end(), "CREDIT_CARD_NUMBER", _NO_PARTS))
        if not wanted.isdisjoint(_PHONE_TYPES):
            for m in _PHONE_NANP.finditer(text) if longest >= 4 else ():
                out.append((m.start(), m.end(), _phone_type(text, m.start()), _NO_PARTS))
            for m in _PHONE_CTX.finditer(text) if count >= 7 else ():
                if 7 <= sum(ch.isdigit() for ch in m.group(1)) <= 15:
                    out.append((m.start(1), m.end(1), _phone_type(text, m.start(1)), _NO_PARTS))
            for m in _PHONE_BARE.finditer(text) if longest >= 10 else ():
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
        if not wanted.isdisjoint(_DATE_TYPES):
            has_year = longest >= 4 and _YEAR_RUN.search(text) is not None
            gates = (
                _MONTH_WORD.search(text) is not None,
                _NUMBER_SEP.search(text) is not None,
                longest >= 8,  # the compact DICOM date's eight digits in a row
                has_year,
            )
            for k, pattern in _date_patterns(gates):
                for m in pattern.finditer(text):
                    s = m.group()
                    if k == 0 and not _compact_date_ok(s):
                        continue
                    if k in (1, 2) and not _numeric_date_ok(s.split("T")[0]):
                        continue
                    out.append((m.start(), m.end(), _date_type(text, m.start()), _NO_PARTS))
            if "/" in text:
                for m in _DATE_MD_CTX.finditer(text):
                    out.append((m.start(1), m.end(1), _date_type(text, m.start(1)), _NO_PARTS))
                for m in _DATE_MD_BARE.finditer(text):
                    out.append((m.start(), m.end(), _date_type(text, m.start()), _NO_PARTS))
            for m in _YEAR_CTX.finditer(text) if has_year else ():
                out.append((m.start(1), m.end(1), _date_type(text, m.start(1)), _NO_PARTS))
        if "TIME" in wanted and (":" in text or _AM_PM.search(text)):  # "14:30", or "3 pm" / "11a.m."
            out.extend(_emit(_TIME, text, "TIME"))
        if "AGE" in wanted:
            sep_y = False  # a digit, maybe a space or "-", and a "y": implies _AGE_WORD
            if _AGE_WORD.search(text):
                out.extend(_emit(_AGE_DICOM, text, "AGE"))
                sep_y = _DIGIT_SEP_Y.search(text) is not None
                if sep_y:
                    out.extend(_emit(_AGE_YEARS_OLD, text, "AGE"))
                    out.extend(_emit(_AGE_YO, text, "AGE"))
                if low is None or "old" in low:
                    out.extend(_emit(_AGE_UNITS_OLD, text, "AGE"))
            if low is None or "age" in low:
                out.extend(_emit(_AGE_CTX, text, "AGE", 1))
            if _AGE_NUMBER.search(text):  # what _AGE_IS and _AGE_ASIDE take: 90 to 125
                out.extend(_emit(_AGE_IS, text, "AGE", 1))
                if ", " in text:
                    out.extend(_emit(_AGE_ASIDE, text, "AGE", 1))
            if sep_y and _DIGIT_Y.search(text):
                out.extend(_emit(_AGE_Y, text, "AGE"))
        out.extend(_labelled_ids(text, wanted))
        if "SWIFT_CODE" in wanted and (
            _SWIFT_WORD.search(text) if low is None else ("swift" in low or "bic" in low)
        ):
            out.extend(_emit(_SWIFT, text, "SWIFT_CODE", 1))
        if "US_MEDICARE_BENEFICIARY_ID_NUMBER" in wanted and count >= 5:  # an MBI holds five digits or more
            out.extend(_emit(_MBI, text, "US_MEDICARE_BENEFICIARY_ID_NUMBER"))
        if "GENERIC_ID" in wanted and longest >= 5:  # every token taken holds a run of five digits or more
            out.extend(_bare_ids(text))
        if "US_VEHICLE_IDENTIFICATION_NUMBER" in wanted:
            plate_word = (
                _PLATE_WORD.search(text) if low is None else ("plate" in low or "tag" in low or "registration" in low)
            )
            for m in _PLATE.finditer(text) if plate_word else ():
                if _plate_ok(m.group(1)):
                    out.append((m.start(1), m.end(1), "US_VEHICLE_IDENTIFICATION_NUMBER", _NO_PARTS))
            # a VIN's 17 letters and digits lie in one whitespace-free chunk of the text: most texts hold none so long
            for m in _VIN.finditer(text) if max(map(len, text.split()), default=0) >= 17 else ():
                v = m.group()
                if (v.isupper() and not any(ch in "IOQ" for ch in v) and _vin_ok(v)) or (
                    sum(ch.isdigit() for ch in v) >= 3 and sum(ch.isalpha() for ch in v) >= 3
                ):
                    out.append((m.start(), m.end(), "US_VEHICLE_IDENTIFICATION_NUMBER", _NO_PARTS))
        if "STREET_ADDRESS" in wanted:
            out.extend(_emit(_STREET, text, "STREET_ADDRESS"))
            if low is None or "box" in low:  # "P.O. Box", "post office box"
                out.extend(_emit(_PO_BOX, text, "STREET_ADDRESS"))
        if "LOCATION" in wanted and longest >= 5:  # both need a ZIP code's five digits
            if _ZIP_AFTER_SPACE.search(text):  # "City, ST 12345": the ZIP after whitespace, on its own
                out.extend(_emit(_CSZ, text, "LOCATION"))
            zip_word = low is None or "zip" in low or "post" in low or "area" in low  # what _ZIP_CTX's cues hold
            for m in _ZIP_CTX.finditer(text) if zip_word else ():
                group = 1 if m.group(1) else 2
                out.append((m.start(group), m.end(group), "LOCATION", _NO_PARTS))
    if "AGE" in wanted:
        out.extend(find_word_ages(text))
    if "DATE" in wanted:
        out.extend(find_more_dates(text))
    if digits and wanted & {"STREET_ADDRESS", "LOCATION"}:
        out.extend(f for f in find_address_parts(text) if f[2] in wanted)
        if "LOCATION" in wanted:
            out.extend(find_city_state_zips(text))
    if "LOCATION" in wanted and "," in text and _COMMA_STATE.search(text):  # "City, ST": a comma, two capitals
        out.extend(_emit(_CITY_STATE, text, "LOCATION"))
    if "US_STATE" in wanted:
        if _STATE_NAME_CASED.search(text):
            out.extend(_emit(_STATE_NAME, text, "US_STATE"))
    if not wanted.isdisjoint(_PLACE_TYPES):
        out.extend(find_places(text, wanted))
    if "ORGANIZATION_NAME" in wanted:
        out.extend(find_brand_organisations(text))
    if not wanted.isdisjoint(_NAME_TYPES):
        names = find_names(text)
        out.extend(names)
        out.extend(find_more_names(text, names))
    if "ORGANIZATION_NAME" in wanted:
        out.extend(grow_organisations(text, out))
    if "LOCATION" in wanted:
        out.extend(find_journey_places(text))
        out.extend(grow_places(text, out))
    return out


def _labelled_ids(text: str, wanted: frozenset[str]) -> Iterable[_Raw]:
    """What ``_LABELLED_ID.finditer(text)``'s matches name. _LABELLED_ID_FAST finds where the next one starts
    (it matches wherever _LABELLED_ID does); _LABELLED_ID, run there, gives the match and its groups."""
    low = lowered(text)
    subject, fast, full = (text, _LABELLED_ID_FAST.pattern, _LABELLED_ID.pattern) if low is None else (
        low, _LABELLED_ID_FAST.lowered, _LABELLED_ID.lowered)
    pos = 0
    while (found := fast.search(subject, pos)) is not None:
        m = full.match(subject, found.start())
        if m is None:
            pos = found.start() + 1
            continue
        pos = m.end()  # never empty: a match holds a value
        for i, (info_type, _, alone) in enumerate(_LABEL_TYPES):
            if m.group(f"l{i}") is not None:
                break
        if not alone and m.group("q") is None:
            continue
        if info_type == "US_HEALTHCARE_NPI" and "US_HEALTHCARE_NPI" not in wanted:
            info_type = "CERTIFICATE_NUMBER"
        if info_type not in wanted and not (info_type == "PASSPORT" and "US_PASSPORT" in wanted):
            continue
        s, e = m.span("v")
        value = text[s:e].rstrip("-/")
        if _id_value_ok(value) or (info_type == "US_VEHICLE_IDENTIFICATION_NUMBER" and _plate_ok(value)):
            yield (s, s + len(value), info_type, _NO_PARTS)


# Linear time whatever the input: a run of more than LONG_RUN characters without whitespace (a megabyte of one
# token, a run of carets or separators) is not read whole by the detectors. It is blanked in the text they see
# and read in windows of WINDOW characters overlapping by WINDOW - STEP, so any value up to that overlap long
# lies whole in one window; each window costs a bounded time, whatever each pattern does inside it.
LONG_RUN = 256
WINDOW = 256
STEP = 128
_LONG = re.compile(r"(?<!\S)\S{%d,}" % (LONG_RUN + 1))


# A no-break, thin or wide space is a space: "John\u00a0Smith" (HTML's &nbsp; in a narrative) is read as
# "John Smith". The swap keeps every offset.
_ODD_SPACES = {ord(ch): " " for ch in "\u00a0\u1680\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))}
_ODD_SPACE = re.compile("[%s]" % "".join(map(chr, _ODD_SPACES)))
# Two spaces or more are read as a field boundary ("Patient: Leonardo Caldwell   Medical Record ..."), which
# loses a name typed with two spaces ("Patient: John  Smith" found "John" only). Names are looked for a second
# time in the text with each run of spaces read as one, and what that finds is added, mapped back.
_SPACE_RUN = re.compile(r" {2,}")


def _spaced_findings(text: str, wanted: frozenset[str]) -> list[_Raw]:
    if not text.isascii() and _ODD_SPACE.search(text):
        text = text.translate(_ODD_SPACES)
    out = _bounded_findings(text, wanted)
    first = _SPACE_RUN.search(text) if wanted & _NAME_TYPES else None
    if first is None:
        return out
    pieces: list[str] = []
    marks = [0]  # from these positions of the squeezed text on, the offset to the written text is ...
    offsets = [0]  # ... this
    pos = 0
    for m in _SPACE_RUN.finditer(text, first.start()):
        pieces.append(text[pos : m.start()])
        pieces.append(" ")
        marks.append(m.start() - offsets[-1] + 1)
        offsets.append(offsets[-1] + m.end() - m.start() - 1)
        pos = m.end()
    pieces.append(text[pos:])

    def written(q: int) -> int:
        return q + offsets[bisect.bisect_right(marks, q) - 1]

    def span(s: int, e: int) -> tuple[int, int]:
        return (written(s), written(e - 1) + 1) if e > s else (written(s), written(s))

    for s, e, t, parts in _bounded_findings("".join(pieces), wanted & _NAME_TYPES):
        out.append((*span(s, e), t, tuple((*span(ps, pe), pt) for ps, pe, pt in parts)))
    return out


def _bounded_findings(text: str, wanted: frozenset[str]) -> list[_Raw]:
    if len(text) <= LONG_RUN:
        return _raw_findings(text, wanted)
    runs = [m.span() for m in _LONG.finditer(text)]
    if not runs:
        return _raw_findings(text, wanted)
    pieces = []
    pos = 0
    for s, e in runs:
        pieces.append(text[pos:s])
        pieces.append(" " * (e - s))
        pos = e
    pieces.append(text[pos:])
    out = _raw_findings("".join(pieces), wanted)
    for s, e in runs:
        start = s
        while True:
            end = min(start + WINDOW, e)
            for fs, fe, t, parts in _raw_findings(text[start:end], wanted):
                shifted = tuple((ps + start, pe + start, pt) for ps, pe, pt in parts)
                out.append((fs + start, fe + start, t, shifted))
            if end >= e:
                break
            start += STEP
    return out


def _date_type(text: str, start: int) -> str:
    return "DATE_OF_BIRTH" if _DOB_BEFORE.search(text[max(0, start - 24) : start]) else "DATE"


def expand(info_types: Iterable[str]) -> frozenset[str]:
    """The raw infoTypes to run for a selection: each type and every descendant of it."""
    if isinstance(info_types, frozenset):
        return _expand_set(info_types)
    return _expand(info_types)


@functools.lru_cache(maxsize=256)
def _expand_set(info_types: frozenset[str]) -> frozenset[str]:
    return _expand(info_types)  # a policy's selection is one frozenset, expanded once


def _expand(info_types: Iterable[str]) -> frozenset[str]:
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
    out: list[Finding] = []
    cur_s = cur_e = -1
    best: tuple[int, int] = (-1, 0)
    best_type = ""
    for s, e, t in sorted(raw):
        if e <= s:
            continue  # an empty span names nothing
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


class FindingMemo:
    """A bounded memo of what ``detect`` finds in a text before context phrases (a pure function of the text,
    the selected infoTypes and the exclusions), for callers whose texts repeat: coded texts of a store, DICOM
    descriptions. [CTX] findings depend on the record and are never kept here; they are searched for on every
    call. Cleared whole when full; a text longer than ``max_chars`` is not kept."""

    __slots__ = ("_spans", "max_entries", "max_chars", "hits")

    def __init__(self, max_entries: int = 8192, max_chars: int = 2048):
        self._spans: dict[tuple[str, frozenset[str], frozenset[str]], tuple[tuple[int, int, str], ...]] = {}
        self.max_entries = max_entries
        self.max_chars = max_chars
        self.hits = 0  # texts found here (tests read it)

    def __getstate__(self) -> dict:
        return {"max_entries": self.max_entries, "max_chars": self.max_chars}  # a copy starts empty

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["max_entries"], state["max_chars"])

    def __len__(self) -> int:
        return len(self._spans)

    def spans(self, text: str, selected: frozenset[str], exclude: frozenset[str]) -> list[tuple[int, int, str]]:
        """``_spans(text, selected, exclude)``, found once for a text kept here."""
        if len(text) > self.max_chars:
            return _spans(text, selected, exclude)
        key = (text, selected, exclude)
        found = self._spans.get(key)
        if found is None:
            if len(self._spans) >= self.max_entries:
                self._spans.clear()
            found = self._spans[key] = tuple(_spans(text, selected, exclude))
        else:
            self.hits += 1
        return list(found)


def detect(
    text: str,
    info_types: frozenset[str] | None = None,
    *,
    context: Sequence[str] = (),
    exclude: frozenset[str] = frozenset(),
    memo: FindingMemo | None = None,
) -> list[Finding]:
    """Sorted, non-overlapping findings of the given infoTypes (all known types when None) in ``text``.

    ``context`` holds values removed elsewhere from the same record (patient name, IDs, dates ...): their
    occurrences are reported as ``CTX``. ``exclude`` drops raw infoTypes even when a selected parent covers them.
    ``memo`` remembers the findings without context of texts seen before (the same result, found once).
    """
    selected = INFO_TYPES if info_types is None else frozenset(info_types)
    exclude = exclude if isinstance(exclude, frozenset) else frozenset(exclude)
    spans = _spans(text, selected, exclude) if memo is None else memo.spans(text, selected, exclude)
    if context:
        spans.extend((s, e, "CTX") for s, e in context_findings(text, context))
    return resolve(spans)


@functools.lru_cache(maxsize=256)
def _wanted(selected: frozenset[str], exclude: frozenset[str]) -> frozenset[str]:
    return expand(selected) - exclude


_EXCLUDED = object()  # a raw type dropped, name parts and all
_UNLISTED = object()


@functools.lru_cache(maxsize=256)
def _reporting(selected: frozenset[str], exclude: frozenset[str]) -> dict[str, object]:
    """What each known raw infoType is reported as (``reported_type``), or _EXCLUDED: found once a selection."""
    return {t: _EXCLUDED if t in exclude else reported_type(t, selected) for t in INFO_TYPES | PARENT.keys()}


def _spans(text: str, selected: frozenset[str], exclude: frozenset[str]) -> list[tuple[int, int, str]]:
    """The findings of ``detect`` without context phrases, before overlapping ones are merged."""
    spans: list[tuple[int, int, str]] = []
    table = _reporting(selected, exclude)
    for s, e, raw_type, parts in _spaced_findings(text, _wanted(selected, exclude)):
        reported = table.get(raw_type, _UNLISTED)
        if reported is _UNLISTED:
            reported = _EXCLUDED if raw_type in exclude else reported_type(raw_type, selected)
        if reported is _EXCLUDED:
            continue
        if reported is not None:
            spans.append((s, e, reported))  # type: ignore[arg-type]
        elif parts:
            for ps, pe, part_type in parts:
                if part_type in selected:
                    spans.append((ps, pe, part_type))
    return spans

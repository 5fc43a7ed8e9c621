"""Which OCR'd text is sensitive: infoType patterns, custom regexes and the instance's own tag values as context."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset

from transforms.text import DEFAULT_DICOM_INFO_TYPES
from transforms.text import INFO_TYPES as TEXT_INFO_TYPES
from transforms.text import detect as text_detect

# Spec §3.1 "Default DICOM infoTypes" (DEFAULT_DICOM_INFO_TYPES, kept by the text engine) is what
# REDACT_SENSITIVE_TEXT looks for: §2.4 says the mode "Uses the set of Default DICOM InfoTypes", so burned-in text
# does not take the wider HIPAA text default (DEFAULT_TEXT_INFO_TYPES); additionalInfoTypes widens it.
# deidflow's own addition for burned-in text: the instance's tag values found in the pixels. Excludable.
CONTEXT_INFO_TYPE = "DICOM_CONTEXT"
# CLEAN_DESCRIPTORS mode adds this one (the API's "additional InfoType"): Basic-profile D/Z/X/U values.
CLEAN_DESCRIPTORS_INFO_TYPE = "DICOM_DESCRIPTOR_CONTEXT"

# Tags whose values identify the patient, the visit or the place: the context of REDACT_SENSITIVE_TEXT.
IDENTIFYING_KEYWORDS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientBirthDate",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "MedicalRecordLocator",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "SeriesDate",
    "AcquisitionDate",
    "ContentDate",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord",
)

_MONTHS = r"(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC)[A-Z]*\.?"
# OCR-tolerant patterns, used with the text engine (transforms.text): OCR drops spaces ("ID:4829163",
# "STMARYHOSPITAL") and reads carets as "~", which the engine's word-bounded detectors do not expect.
_PATTERNS: dict[str, re.Pattern[str]] = {
    "DATE": re.compile(
        r"\b(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2}|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
        rf"|\d{{1,2}}[ -]?{_MONTHS}[ -]?(?:\d{{4}}|\d{{2}})|{_MONTHS} ?\d{{1,2}},? ?\d{{4}})\b",
        re.I,
    ),
    "AGE": re.compile(r"\b(?:AGE:? ?\d{1,3}|\d{1,3} ?(?:Y|YRS?|YEARS?)(?: ?OLD)?|0\d{2}[YMWD])\b", re.I),
    "EMAIL_ADDRESS": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    "IP_ADDRESS": re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"),
    "MAC_ADDRESS": re.compile(r"\b[0-9A-F]{2}(?:[:-][0-9A-F]{2}){5}\b", re.I),
    "PHONE_NUMBER": re.compile(r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\b\d{3})[ .-]?\d{3}[ .-]\d{4}\b"),
    "US_SOCIAL_SECURITY_NUMBER": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "CREDIT_CARD_NUMBER": re.compile(r"\b(?:\d[ -]?){13,19}\b"),
    "PERSON_NAME": re.compile(
        r"\b[A-Z][A-Za-z'-]+\^[A-Z][A-Za-z'-]*|\b(?:NAME|PATIENT|PT|DR)\b\.?:? ?[A-Z][a-z]+", re.I
    ),
    "LOCATION": re.compile(r"\b(?:HOSPITAL|CLINIC|MEDICAL CENT(?:ER|RE)|INFIRMARY|UNIVERSITY|KLINIK|CENTRE)\b", re.I),
    # Identifier-looking runs: a label (ID, MRN, ...) and a value, or six digits or more.
    "PASSPORT": re.compile(r"\b(?:ID|MRN|PID|ACC|ACCESSION|PATIENT ?ID)\b\.?:? ?[A-Z0-9-]*\d[A-Z0-9-]*|\d{6,}", re.I),
}

# OCR's usual confusions, folded on both sides before comparing text with tag values.
_FOLD = str.maketrans(
    {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "|": "1", "S": "5", "B": "8", "Z": "2", "G": "6"}
)
_NON_ALNUM = re.compile(r"[^0-9A-Z]+")
# Below this recogniser confidence a region's text is unreliable; unreadable regions this long are redacted.
UNREADABLE_CONFIDENCE = 0.5
UNREADABLE_MIN_CHARS = 3


def fold(text: str) -> str:
    """Upper-case, OCR-confusable letters folded to digits, everything but letters and digits dropped."""
    return _NON_ALNUM.sub("", text.upper()).translate(_FOLD)


@dataclass(frozen=True)
class CustomPattern:
    regex: re.Pattern[str]
    groups: tuple[int, ...] = ()

    def matches(self, text: str) -> bool:
        for match in self.regex.finditer(text):
            if not self.groups:
                if match.group(0):
                    return True
            elif any(match.group(g) for g in self.groups):
                return True
        return False


@dataclass(frozen=True)
class SensitivityPolicy:
    """What counts as sensitive in burned-in text."""

    info_types: frozenset[str]
    custom: tuple[CustomPattern, ...] = ()

    @property
    def uses_context(self) -> bool:
        return CONTEXT_INFO_TYPE in self.info_types or CLEAN_DESCRIPTORS_INFO_TYPE in self.info_types


@dataclass(frozen=True)
class Context:
    """Tag values prepared for matching: folded whole values and their longer tokens."""

    tokens: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> Context:
        tokens: set[str] = set()
        for value in values:
            if not value:
                continue
            for variant in _variants(str(value)):
                whole = fold(variant)
                if len(whole) >= 3:
                    tokens.add(whole)
                for part in re.split(r"[\s^,/\\.;:_-]+", variant):
                    folded = fold(part)
                    if len(folded) >= 3:
                        tokens.add(folded)
        return cls(tuple(sorted(tokens, key=lambda t: (-len(t), t))))

    def found_in(self, text: str) -> bool:
        folded = fold(text)
        if not folded:
            return False
        for token in self.tokens:
            if token in folded:
                return True
            if len(token) >= 6 and _near(token, folded):
                return True
        return False


def _variants(value: str) -> list[str]:
    """A DICOM DA value (YYYYMMDD) also appears in images as D/M/Y, M/D/Y or Y-M-D."""
    out = [value]
    if re.fullmatch(r"(?:19|20)\d{6}", value):
        y, m, d = value[:4], value[4:6], value[6:]
        out += [f"{d}{m}{y}", f"{m}{d}{y}", f"{d}{m}{y[2:]}", f"{m}{d}{y[2:]}"]
    return out


def _near(token: str, text: str) -> bool:
    """``token`` occurs in ``text`` with at most one substituted character."""
    n = len(token)
    for start in range(0, len(text) - n + 1):
        window = text[start : start + n]
        if sum(a != b for a, b in zip(window, token, strict=True)) <= 1:
            return True
    return False


def is_sensitive(text: str, confidence: float, policy: SensitivityPolicy, context: Context) -> bool:
    """The one decision: does this OCR'd region hold text to redact?

    Sensitive when unreadable, or a custom regex matches, or the text engine (transforms.text) finds one of the
    policy's infoTypes, or an OCR-tolerant pattern does, or (with context) one of the instance's values is read.
    """
    if confidence < UNREADABLE_CONFIDENCE and len(fold(text)) >= UNREADABLE_MIN_CHARS:
        return True  # cannot be read reliably, so cannot be called harmless
    if any(pattern.matches(text) for pattern in policy.custom):
        return True
    engine_types = policy.info_types & TEXT_INFO_TYPES
    if engine_types:
        # Burned-in text is often all capitals; the engine's name lists match title case best.
        variants = (text, text.title()) if text.isupper() else (text,)
        if any(text_detect(v, engine_types) for v in variants):
            return True
    for info_type in policy.info_types:
        pattern = _PATTERNS.get(info_type)
        if pattern is not None and pattern.search(text):
            return True
    return policy.uses_context and context.found_in(text)


def context_values(ds: Dataset, clean_descriptors: bool = False) -> list[str]:
    """The instance's own values that must not be read off its pixels.

    Identifying attributes always; with ``clean_descriptors``, every text value the Basic profile removes or
    replaces (actions D, Z, X, U and their combinations), as the Clean Descriptors Option does.
    """
    values: list[str] = []
    for keyword in IDENTIFYING_KEYWORDS:
        values.extend(_text_values(ds.data_element(keyword) if keyword in ds else None))
    if clean_descriptors:
        from pydicom.tag import Tag

        from transforms.dicom.basic_profile import ROWS

        for row in ROWS:
            if "X" in row.tag.upper()[:8] or not any(code in row.basic for code in "DZXU"):
                continue
            try:
                element = ds.get(Tag(int(row.tag, 16)))
            except ValueError:
                continue
            if element is not None and element.VR not in ("SQ", "UI", "OB", "OW", "UN"):
                values.extend(_text_values(element))
    return values


def _text_values(element) -> list[str]:
    if element is None or element.VR in ("SQ", "OB", "OW", "UN"):
        return []
    value = element.value
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
    return [str(item) for item in items if str(item).strip()]


def policy_for(info_types: Sequence[str], custom: Sequence[CustomPattern] = ()) -> SensitivityPolicy:
    return SensitivityPolicy(frozenset(info_types), tuple(custom))

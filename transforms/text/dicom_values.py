"""Cleaning one DICOM text element's value with a TextPolicy while keeping it valid for its VR."""

from __future__ import annotations

import re
from collections.abc import Sequence

from transforms.crypto import Keys
from transforms.text.context import context_findings
from transforms.text.dates import shift_dicom_date
from transforms.text.policy import TextPolicy, clean_text, transform_value

DICOM_TEXT_VRS: tuple[str, ...] = ("AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "DA", "DT", "AS")

# PS3.5 Table 6.2-1 maximum lengths in characters (PN: per component group); None: unlimited.
MAX_LENGTH: dict[str, int | None] = {
    "AE": 16, "AS": 4, "CS": 16, "DA": 8, "DT": 26, "LO": 64, "PN": 64, "SH": 16, "ST": 1024, "LT": 10240,
    "UC": None, "UT": None,
}  # fmt: skip
_SINGLE_VALUED = frozenset({"LT", "ST", "UT"})  # backslash is ordinary text in these
_AS = re.compile(r"\d{3}[DWMY]")
_PN_SPECIAL = re.compile(r"[\^=\\]")
_PERSON_TYPES = ("PERSON_NAME", "LAST_NAME", "FIRST_NAME")


def _fit(value: str, vr: str) -> str:
    limit = MAX_LENGTH.get(vr)
    if vr not in _SINGLE_VALUED:
        value = value.replace("\\", "/")
    if vr in ("AE", "SH", "LO", "CS"):
        value = "".join(ch if ch.isprintable() else " " for ch in value)
    return value[:limit] if limit is not None else value


def _date_value(value: str, vr: str, policy: TextPolicy, keys: Keys, patient: str, context: Sequence[str]) -> str:
    """A DA/DT value: shifted when DATE maps to a date shift, emptied when any other transformation applies."""
    if not value.strip():
        return value
    method = policy.method_for("DATE")
    if method is not None and method.kind == "shift":
        shifted = shift_dicom_date(value, vr, keys.date_shift_days(patient, key=method.key))
        return shifted if shifted is not None else ""
    if method is not None or (context and context_findings(value.strip(), context)):
        return ""  # a token, mask or hash is not a valid DA/DT: an empty value is
    return value


def _age_value(value: str, policy: TextPolicy, context: Sequence[str]) -> str:
    if not value.strip():
        return value
    if policy.method_for("AGE") is not None or not _AS.fullmatch(value.strip()):
        return ""  # no transformation output fits nnnD/W/M/Y
    return value


def _pn_component(comp: str, index: int, policy: TextPolicy, keys: Keys, patient: str, context: Sequence[str]) -> str:
    if not comp.strip():
        return comp
    if index < 3:  # family, given, middle: the whole component is a name
        wanted = ("LAST_NAME" if index == 0 else "FIRST_NAME",)
        for info_type in ("PERSON_NAME", *wanted):
            method = policy.method_for(info_type)
            if method is not None:
                if method.kind == "replace":
                    return f"[{info_type}]"
                return transform_value(comp, info_type, method, keys, patient).rstrip("=")
    return clean_text(comp, policy, keys, patient=patient, context=context)


def _pn_value(value: str, policy: TextPolicy, keys: Keys, patient: str, context: Sequence[str]) -> str:
    groups = []
    for group in value.split("="):
        comps = [
            _PN_SPECIAL.sub(" ", _pn_component(c, i, policy, keys, patient, context))
            for i, c in enumerate(group.split("^"))
        ]
        groups.append("^".join(comps)[:64])
    return "=".join(groups)


def clean_dicom_value(
    value: str, vr: str, policy: TextPolicy, keys: Keys, *, patient: str, context: Sequence[str]
) -> str:
    """One element's string value (``\\``-separated when multi-valued) cleaned and still valid for ``vr``.

    VRs outside DICOM_TEXT_VRS are returned unchanged. ``patient`` keys the date shift (PatientID, else
    StudyInstanceUID); ``context`` holds the instance's removed values, found as [CTX].
    """
    if vr not in DICOM_TEXT_VRS or not value:
        return value
    parts = [value] if vr in _SINGLE_VALUED else value.split("\\")
    out = []
    for part in parts:
        if vr in ("DA", "DT"):
            if "-" in part and vr == "DA":  # a DA range (query syntax): each end on its own
                cleaned = "-".join(_date_value(p, vr, policy, keys, patient, context) for p in part.split("-"))
                out.append(cleaned if cleaned.strip("-") else "")
            else:
                out.append(_date_value(part, vr, policy, keys, patient, context))
        elif vr == "AS":
            out.append(_age_value(part, policy, context))
        elif vr == "PN":
            out.append(_pn_value(part, policy, keys, patient, context))
        else:
            out.append(_fit(clean_text(part, policy, keys, patient=patient, context=context), vr))
    return "\\".join(out)

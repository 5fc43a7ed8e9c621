"""Does a kept element's value fit its data dictionary VR? (PS3.5 6.2: lengths, repertoire, multiplicity).

The rule: an element that is copied without re-encoding must be exactly one element of its dictionary VR, as a
conformant reader sees it. A value whose length or bytes cannot be one (a fixed-size binary value of the wrong
length or more values than its VM allows; a text value with control characters its VR forbids, longer than its
VR's maximum, or with more values than its VM allows) is most likely an element whose length swallowed the
elements after it, and copying it would copy them too. Such an element is refused with an error naming the tag.
"""

from __future__ import annotations

import re
from typing import Optional

from pydicom.datadict import dictionary_VM, dictionary_VR

from transforms.dicom.tags import tag_name
from transforms.errors import DeidentifyError

# Bytes per value of the binary VRs whose values have a fixed size.
FIXED_SIZE = {"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "AT": 4, "FD": 8, "SV": 8, "UV": 8, "OW": 2, "OF": 4,
              "OL": 4, "OD": 8, "OV": 8}
# Maximum characters per value (PS3.5 Table 6.2-1); PN: 64 per component group, three groups.
MAX_CHARS = {"AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64, "PN": 3 * 64 + 2,
             "SH": 16, "TM": 14, "UI": 64, "ST": 1024, "LT": 10240}
# VRs holding one value whose text may contain backslashes.
SINGLE_VALUED_TEXT = frozenset({"LT", "ST", "UT", "UR"})
TEXT_VRS = frozenset(MAX_CHARS) | {"UC", "UR", "UT"}
# Control characters a VR may hold: ESC (ISO 2022 code extensions) in every text VR; TAB, LF, FF, CR in the
# long free-text VRs. Trailing NUL or space padding is stripped before the check.
_CONTROL_SHORT = re.compile(rb"[\x00-\x1a\x1c-\x1f\x7f]")
_CONTROL_LONG = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_LONG_TEXT = frozenset({"LT", "ST", "UT"})
# Pre-3.0 (ACR-NEMA) spellings PS3.5 asks readers to accept for backward compatibility: DA "yyyy.mm.dd" and
# TM "hh:mm:ss.frac". Digits and separators only, so they can hide nothing.
_LEGACY = {"DA": re.compile(rb"[0-9]{4}\.[0-9]{2}\.[0-9]{2}"),
           "TM": re.compile(rb"[0-9]{2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?")}
_WIDE = re.compile(rb"[\x1b\x80-\xff]")
# Repertoires stricter than "any printable character" (PS3.5 Table 6.2-1).
_STRICT = {
    "UI": re.compile(rb"[^0-9.\\]"),
    "UR": re.compile(rb"[\x00-\x20\x7f-\xff]"),  # a URI: no spaces (trailing padding excepted), ASCII only
    "AE": re.compile(rb"[\\\x00-\x1f\x7f-\xff]"),
}


# One pattern per text VR: the control characters it forbids, or characters outside its stricter repertoire.
_BAD = {
    vr: re.compile((_CONTROL_LONG if vr in _LONG_TEXT else _CONTROL_SHORT).pattern
                   + (b"|" + _STRICT[vr].pattern if vr in _STRICT else b""))
    for vr in TEXT_VRS
}


class VrInfo:
    """What the data dictionary says about one public tag: its VRs and the largest number of values."""

    __slots__ = ("vrs", "max_vm")

    def __init__(self, vrs: tuple[str, ...], max_vm: Optional[int]):
        self.vrs = vrs
        self.max_vm = max_vm


_INFO: dict[int, Optional[VrInfo]] = {}


def dictionary_info(tag: int) -> Optional[VrInfo]:
    """The dictionary's VRs and bounded VM for a public tag; None for private or unknown tags (memoised)."""
    info = _INFO.get(tag, False)
    if info is not False:
        return info  # type: ignore[return-value]
    info = None
    if not (tag >> 16) & 1:
        try:
            vrs = tuple(v.strip() for v in dictionary_VR(tag).split(" or "))
            vm = dictionary_VM(tag)
        except KeyError:
            vrs = ()
        if vrs and vrs[0] not in ("NONE", "UN", ""):
            max_vm = None if "n" in vm or not vm else int(vm.split("-")[-1])
            info = VrInfo(vrs, max_vm)
    _INFO[tag] = info
    return info


def check_fits(tag: int, vr: str, value: bytes, info: Optional[VrInfo]) -> None:
    """Raise INVALID_ARGUMENT (naming the tag, never the value) unless ``value`` is one element of ``vr``."""
    if not value:
        return
    size = FIXED_SIZE.get(vr)
    if size is not None:
        if len(value) % size or (info is not None and info.max_vm is not None and len(value) > size * info.max_vm
                                 and vr not in ("OW", "OF", "OL", "OD", "OV")):
            raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} has a length its VR does not allow")
        return
    if vr not in TEXT_VRS:
        return
    text = value.rstrip(b"\x00 ") if vr != "UR" else value.rstrip(b" ")
    if _BAD[vr].search(text):
        raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} holds characters its VR does not allow")
    limit = MAX_CHARS.get(vr)
    if vr in SINGLE_VALUED_TEXT or b"\\" not in text:
        values: tuple[bytes, ...] | list[bytes] = (text,)
    else:
        values = text.split(b"\\")
        if info is not None and info.max_vm is not None and len(values) > info.max_vm:
            raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} has more values than its VM allows")
    if limit is not None and len(text) > limit:
        # Limits count characters; a multi-byte character set may take up to 4 bytes for one.
        wide = 4 if _WIDE.search(text) else 1
        legacy = _LEGACY.get(vr)
        for item in values:
            if len(item) > limit * wide and not (legacy and legacy.fullmatch(item)):
                raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} is longer than its VR allows")

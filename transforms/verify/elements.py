"""Data elements hidden inside another element's value: what a mis-encoded element (a ``UN`` whose length
swallows the elements after it, a private blob) carries, decoded under each embedded element's own tag.

A hostile or broken instance can encode a kept element (Modality) as ``UN`` with a length that covers the
PatientName, PatientID and PatientBirthDate elements that follow it: a parser then sees one opaque Modality
value and no patient elements at all. ``embedded_elements`` finds element headers inside such a value (explicit
VR little endian, whose VR must agree with the tag's dictionary VR, else implicit VR little endian for tags the
dictionary knows) and decodes the runs of consecutive elements that start there, sequences included. Pure: bytes
in, ``(tag, VR, value bytes)`` out; used both to collect source identifiers and to name where a destination
holds one.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import NamedTuple

from pydicom.datadict import dictionary_VR

# Every VR of PS3.5 6.2; the ones with a 2-byte reserved field and a 4-byte length in explicit VR.
VRS = ("AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
       "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV")
LONG_LENGTH_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"})
# The longest value each short text VR allows (PS3.5 Table 6.2-1); a longer value hides something.
MAX_LENGTH = {"AE": 16, "AS": 4, "CS": 16, "DA": 18, "DS": 16, "DT": 54, "IS": 12, "LO": 64, "PN": 324,
              "SH": 16, "TM": 28, "UI": 64}
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
MAX_DEPTH = 4

_EXPLICIT = re.compile(b"(?=(" + b"|".join(vr.encode() for vr in VRS) + b"))")
# Implicit VR: the low byte of an even group most instances use (file meta 0002 ... overlays 60xx), then 0x00.
_IMPLICIT = re.compile(rb"(?=[\x02\x04\x08\x10\x12\x14\x18\x20\x22\x28\x32\x38\x3a\x40\x42\x50\x54\x70\x88]\x00)")


class Embedded(NamedTuple):
    """One element found inside another's value: its tag, its VR (stated, or the dictionary's), its value."""

    tag: int
    vr: str
    value: bytes


def dictionary_vr(tag: int) -> str:
    """The tag's dictionary VR ("" when the dictionary does not know it; first of "US or SS")."""
    try:
        return dictionary_VR(tag).split(" or ")[0]
    except KeyError:
        return ""


def hides_elements(tag: int, stated_vr: str, length: int) -> bool:
    """Whether a value may carry other elements: a ``UN`` (or private OB/OW) value, or one longer than its
    dictionary VR allows (a Modality of 300 bytes is not a Modality)."""
    if stated_vr == "UN" or ((tag >> 16) & 1 and stated_vr in ("OB", "OW")):
        return length >= 8
    limit = MAX_LENGTH.get(dictionary_vr(tag) or stated_vr)
    return limit is not None and length > limit


def hides_elements_in(tag: int, stated_vr: str, value: bytes) -> bool:
    """``hides_elements`` for a value at hand: a text value longer than its VR allows hides elements only if it
    holds a NUL (every element header does; a long multi-valued ImageType does not)."""
    if not hides_elements(tag, stated_vr, len(value)):
        return False
    return stated_vr in ("UN", "OB", "OW") or b"\x00" in value.rstrip(b"\x00 ")


def embedded_elements(data: bytes, depth: int = 0) -> list[Embedded]:
    """The elements encoded inside ``data`` (explicit VR runs first; implicit VR runs where none is found)."""
    if depth > MAX_DEPTH or len(data) < 8:
        return []
    found = _runs(data, _EXPLICIT, True, depth)
    return found or _runs(data, _IMPLICIT, False, depth)


def _runs(data: bytes, pattern: re.Pattern, explicit: bool, depth: int) -> list[Embedded]:
    out: list[Embedded] = []
    covered = 0
    for match in pattern.finditer(data):
        start = match.start() - 4 if explicit else match.start()
        if start < covered or start < 0:
            continue
        run, end = _parse_run(data, start, explicit, depth)
        if run:
            out += run
            covered = end
    return out


def _header(data: bytes, pos: int, explicit: bool):
    """(tag, vr, value start, length) of a plausible element header at ``pos``, or None."""
    if pos + 8 > len(data):
        return None
    group, element = struct.unpack_from("<HH", data, pos)
    tag = group << 16 | element
    if tag in (ITEM, ITEM_END, SEQUENCE_END):
        return None
    private = group & 1
    if private and group < 0x0009:
        return None
    known = dictionary_vr(tag)
    if explicit:
        vr = data[pos + 4:pos + 6].decode("latin-1")
        if vr not in VRS or not (private or vr == "UN" or (known and vr in _allowed(tag))):
            return None
        if vr in LONG_LENGTH_VRS:
            if pos + 12 > len(data) or data[pos + 6:pos + 8] != b"\0\0":
                return None
            (length,) = struct.unpack_from("<L", data, pos + 8)
            start = pos + 12
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            start = pos + 8
    else:
        if not known:
            return None
        vr = known
        (length,) = struct.unpack_from("<L", data, pos + 4)
        start = pos + 8
    if length != UNDEFINED and start + length > len(data):
        return None
    if length == UNDEFINED and vr not in ("SQ", "UN"):
        return None
    return tag, vr, start, length


def _allowed(tag: int) -> tuple[str, ...]:
    try:
        return tuple(dictionary_VR(tag).split(" or "))
    except KeyError:
        return ()


def _parse_run(data: bytes, pos: int, explicit: bool, depth: int) -> tuple[list[Embedded], int]:
    """Consecutive elements from ``pos`` (at least one), sequences' items decoded in turn."""
    out: list[Embedded] = []
    while pos < len(data):
        header = _header(data, pos, explicit)
        if header is None:
            break
        tag, vr, start, length = header
        end = len(data) if length == UNDEFINED else start + length
        value = data[start:end]
        if vr == "SQ" or (length == UNDEFINED and vr == "UN"):
            out.append(Embedded(tag, "SQ", b""))
            for item in _items(value):
                out += embedded_elements(item, depth + 1)
        else:
            out.append(Embedded(tag, vr, value))
        pos = end
    return out, pos


def _items(value: bytes) -> Iterator[bytes]:
    pos = 0
    while pos + 8 <= len(value):
        tag_group, tag_element, length = struct.unpack_from("<HHL", value, pos)
        if (tag_group << 16 | tag_element) != ITEM:
            yield value[pos:]  # not an item: whatever is there is decoded as elements
            return
        start = pos + 8
        end = len(value) if length == UNDEFINED else min(start + length, len(value))
        yield value[start:end]
        pos = end


def walk_embedded(data: bytes, depth: int = 0) -> Iterator[Embedded]:
    """Every embedded element of a value, the ones hidden in embedded values in turn (sequences flattened)."""
    if depth > MAX_DEPTH:
        return
    for element in embedded_elements(data, depth):
        if element.vr == "SQ":
            continue
        yield element
        if hides_elements_in(element.tag, element.vr, element.value):
            yield from walk_embedded(element.value, depth + 1)

"""Is a Part-10 file's element stream whole? Walks the encoded elements without decoding values (PS3.5 7).

pydicom stops reading quietly where a file ends, so a file cut after its UIDs parses as a shorter instance. The
walk below follows every element header and every sequence item to its declared end: a stream that ends inside
a header or value, before a declared length, or without a sequence's delimiter is data loss.
"""

from __future__ import annotations

import re
import struct

from pydicom.datadict import DicomDictionary, dictionary_VR

from transforms.errors import DeidentifyError

_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UR", b"UT", b"UN", b"SV", b"UV"})
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
_UNDEFINED = 0xFFFFFFFF
_SQ_TAGS: dict[int, bool] = {}


def _is_sq(tag: int) -> bool:
    known = _SQ_TAGS.get(tag)
    if known is None:
        try:
            known = dictionary_VR(tag) == "SQ" if not (tag >> 16) & 1 else False
        except KeyError:
            known = False
        _SQ_TAGS[tag] = known
    return known


def _loss(what: str) -> DeidentifyError:
    return DeidentifyError("DATA_LOSS", f"the file is truncated ({what})")


_STRUCTS = {little: (struct.Struct(o + "HH"), struct.Struct(o + "I"), struct.Struct(o + "H"), struct.Struct(o + "HHI"))
            for little, o in ((True, "<"), (False, ">"))}


def walk_dataset(data: bytes, pos: int, end: int, implicit: bool, little: bool, depth: int = 0) -> int:
    """Walk the elements in data[pos:end]; return where the walk stopped (``end``, or an item delimiter)."""
    head, u32, u16, _ = _STRUCTS[bool(little)]
    while pos < end:
        if pos + 8 > end:
            raise _loss("an element header is cut")
        group, element = head.unpack_from(data, pos)
        tag = group << 16 | element
        if tag == ITEM_END:
            if depth == 0:
                raise DeidentifyError("INVALID_ARGUMENT", "an item delimiter stands outside any item")
            return pos
        if implicit or group == 0xFFFE:
            vr = None
            (length,) = u32.unpack_from(data, pos + 4)
            pos += 8
        else:
            vr = data[pos + 4 : pos + 6]
            if vr in _LONG_VRS:
                if pos + 12 > end:
                    raise _loss("an element header is cut")
                (length,) = u32.unpack_from(data, pos + 8)
                pos += 12
            else:
                (length,) = u16.unpack_from(data, pos + 6)
                pos += 8
        sequence = vr == b"SQ" or (vr is None and _is_sq(tag))
        if length == _UNDEFINED:
            if vr == b"UN":  # a sequence of unknown VR: its items are implicit VR little endian (PS3.5 6.2.2)
                pos = walk_items(data, pos, end, True, True, depth + 1, fragments=False)
            elif tag == PIXEL_DATA and depth == 0:
                pos = walk_items(data, pos, end, implicit, little, depth + 1, fragments=True)
            elif sequence or vr is None:
                pos = walk_items(data, pos, end, implicit, little, depth + 1, fragments=False)
            else:
                raise DeidentifyError("INVALID_ARGUMENT", "an element has an undefined length its VR does not allow")
            continue
        value_end = pos + length
        if value_end > end:
            raise _loss("an element's value is cut")
        if sequence and length:
            walk_items(data, pos, value_end, implicit, little, depth + 1, fragments=False, defined=True)
        pos = value_end
    if pos != end:
        raise _loss("the element stream overruns its end")
    return pos


def walk_items(data: bytes, pos: int, end: int, implicit: bool, little: bool, depth: int, fragments: bool,
               defined: bool = False) -> int:
    """Walk a sequence's items (or encapsulated fragments); return the offset just past the sequence."""
    if depth > 64:
        raise DeidentifyError("INVALID_ARGUMENT", "sequences are nested too deeply")
    head = _STRUCTS[bool(little)][3]
    while pos < end:
        if pos + 8 > end:
            raise _loss("an item header is cut")
        group, element, length = head.unpack_from(data, pos)
        tag = group << 16 | element
        pos += 8
        if tag == SEQUENCE_END and not defined:
            return pos
        if tag != ITEM:
            raise DeidentifyError("INVALID_ARGUMENT", "a sequence holds something that is not an item")
        if length == _UNDEFINED:
            if fragments:
                raise DeidentifyError("INVALID_ARGUMENT", "encapsulated PixelData has a malformed item")
            pos = walk_dataset(data, pos, end, implicit, little, depth)
            if pos + 8 > end:
                raise _loss("an item has no delimiter")
            pos += 8  # the item delimitation item
            continue
        item_end = pos + length
        if item_end > end:
            raise _loss("an item's value is cut")
        if not fragments and length and walk_dataset(data, pos, item_end, implicit, little, depth) != item_end:
            raise DeidentifyError("INVALID_ARGUMENT", "an item's elements do not fill its length")
        pos = item_end
    if defined and pos == end:
        return pos
    raise _loss("a sequence has no delimiter")


def meta_end(data: bytes) -> int:
    """The offset just past the file meta information (group 0002, explicit VR little endian, PS3.10 7.1)."""
    pos = 132
    while pos + 8 <= len(data):
        (group,) = struct.unpack_from("<H", data, pos)
        if group != 0x0002:
            return pos
        vr = data[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > len(data):
                break
            (length,) = struct.unpack_from("<I", data, pos + 8)
            pos += 12 + length
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            pos += 8 + length
    if pos > len(data):
        raise _loss("the file meta information is cut")
    return pos


def check_whole(data: bytes, start: int, implicit: bool, little: bool) -> None:
    """Raise DATA_LOSS unless data[start:] is a whole element stream (every length honoured, every sequence
    closed)."""
    walk_dataset(data, start, len(data), implicit, little)


_VR_CODES = (b"AE|AS|AT|CS|DA|DS|DT|FD|FL|IS|LO|LT|OB|OD|OF|OL|OV|OW|PN|SH|SL|SQ|SS|ST|SV|TM|UC|UI|UL|UN|UR|US|"
             b"UT|UV")
_EXPLICIT_CANDIDATE = re.compile(rb"(?=[\x00-\xff]{4}(?:" + _VR_CODES + rb"))", re.DOTALL)
MAX_SCANNED = 1 << 20  # opaque values longer than this are not scanned (bulk data: LUTs, waveforms, documents)


def hides_elements(value: bytes, tag: int, implicit: bool, little: bool) -> bool:
    """Whether an opaque value (OB, OW, UN, ...) ends in a stream of data elements: known public tags after
    ``tag``, walked whole to the value's end. That is what an element whose length swallowed the elements after
    it looks like; no VR rule can tell, since any bytes are a valid OB value."""
    if len(value) < 8 or len(value) > MAX_SCANNED:
        return False
    order = "<" if little else ">"
    head = struct.Struct(order + "HH")
    if implicit:
        candidates = range(0, len(value) - 7, 2)
    else:
        candidates = (m.start() for m in _EXPLICIT_CANDIDATE.finditer(value))
    for pos in candidates:
        group, element = head.unpack_from(value, pos)
        inner = group << 16 | element
        if inner <= tag or group & 1 or group == 0xFFFE or inner not in DicomDictionary:
            continue
        try:
            walk_dataset(value, pos, len(value), implicit, little)
        except DeidentifyError:
            continue
        return True
    return False

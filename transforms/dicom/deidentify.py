"""deidentify_instance: one DICOM Part-10 file's bytes in, de-identified bytes out (no Beam, no IO).

Fast path: the header is parsed with pydicom up to PixelData; the PixelData element's original bytes are carried
to the output unparsed (most policies leave pixels alone), and only what follows PixelData (trailing private
groups, padding, signatures) is parsed again. Elements the policy keeps stay pydicom RawDataElements, which the
writer copies byte for byte, so the cost of an instance is close to the cost of the elements that change.
"""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_data_element, write_dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import UID

from transforms.crypto import Keys
from transforms.dicom import iod, structure
from transforms.dicom.actions import DUMMY_VALUES, NEW_ELEMENT, Context, apply_policy  # noqa: F401 - DUMMY_VALUES re-exported
from transforms.dicom.paths import instance_path
from transforms.dicom.policy import (
    CODE_BASIC_PROFILE,
    CODE_CLEAN_DESCRIPTORS,
    CODE_CLEAN_PIXEL,
    CONTEXT_TAGS,
    CODE_RETAIN_UIDS,
    PIXEL_DATA,
    SOP_CLASS_UID,
    SOP_UID,
    Act,
    DicomPolicy,
    element_vr,
)
from transforms.errors import DeidentifyError

# pydicom's validation warnings quote element values (PHI) into logs and stderr: values are never validated by
# echoing them. Invalid source values are carried or replaced; what we write is valid by construction.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
pydicom.config.settings.writing_validation_mode = pydicom.config.IGNORE

IMPLEMENTATION_CLASS_UID = "2.25." + str(uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/deidflow/deidflow").int)
IMPLEMENTATION_VERSION_NAME = "DEIDFLOW_01"
DEFLATED = "1.2.840.10008.1.2.1.99"

@dataclass(frozen=True)
class DeidentifiedInstance:
    """The output of one instance: bytes plus the (new) UIDs that place it in the destination store."""

    data: bytes
    study_uid: str
    series_uid: str
    sop_uid: str
    boxes_painted: int = 0  # burned-in text regions painted over
    transfer_syntax_changed: bool = False  # pixels could not be re-encoded in the source transfer syntax
    modality: str = ""
    actions: tuple[tuple[int, str, int], ...] = ()  # (tag, action name, elements) for every element changed

    @property
    def store_path(self) -> str:
        return instance_path(self.study_uid, self.series_uid, self.sop_uid)


_Context = Context  # the names the tests and older callers use
_apply = apply_policy


def _context_values(ds: Dataset) -> list[str]:
    """The instance's identifying values (before any change), searched for in its free text as [CTX]."""
    values: list[str] = []

    def collect(dataset: Dataset, depth: int) -> None:
        for tag in list(dataset.keys()):
            elem = dataset.get_item(tag)
            vr = elem.VR or element_vr(tag)
            if vr == "SQ" and depth < 2:
                for item in dataset[tag].value or ():
                    collect(item, depth + 1)
            elif tag in CONTEXT_TAGS:
                try:
                    value = dataset[tag].value
                except Exception:  # noqa: BLE001 - an undecodable value cannot be matched anyway
                    continue
                items = value if isinstance(value, (list, tuple, pydicom.multival.MultiValue)) else [value]
                values.extend(str(v) for v in items if v not in (None, ""))

    collect(ds, 0)
    return sorted(set(values))


def _text_cleaner(ds: Dataset, policy: DicomPolicy, keys: Keys) -> Callable[[str, str], str]:
    from transforms.text import clean_dicom_value

    context = _context_values(ds)
    patient = str(ds.get("PatientID") or ds.get("StudyInstanceUID") or "")
    text_policy = policy.text

    def clean(value: str, vr: str) -> str:
        return clean_dicom_value(value, vr, text_policy, keys, patient=patient, context=context)

    return clean


# --- parsing and writing ---------------------------------------------------------------------------------


def pixel_element_end(data: bytes, start: int, implicit: bool, little: bool) -> int:
    """Offset just past the PixelData element that starts at ``start`` (native or encapsulated)."""
    order = "<" if little else ">"
    if implicit:
        (length,) = struct.unpack_from(order + "I", data, start + 4)
        value_start = start + 8
    else:
        vr = data[start + 4 : start + 6]
        if vr in (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN", b"UT", b"SQ", b"UC", b"UR"):
            (length,) = struct.unpack_from(order + "I", data, start + 8)
            value_start = start + 12
        else:
            (length,) = struct.unpack_from(order + "H", data, start + 6)
            value_start = start + 8
    if length != 0xFFFFFFFF:
        end = value_start + length
        if end > len(data):
            raise DeidentifyError("DATA_LOSS", "PixelData is truncated")
        return end
    pos = value_start  # encapsulated: items until the sequence delimiter
    while True:
        if pos + 8 > len(data):
            raise DeidentifyError("DATA_LOSS", "encapsulated PixelData is truncated")
        group, element, item_length = struct.unpack_from(order + "HHI", data, pos)
        pos += 8
        if (group, element) == (0xFFFE, 0xE0DD):
            return pos
        if (group, element) != (0xFFFE, 0xE000) or item_length == 0xFFFFFFFF:
            raise DeidentifyError("INVALID_ARGUMENT", "encapsulated PixelData has a malformed item")
        pos += item_length


def _read(data: bytes) -> tuple[Dataset, bytes, Optional[Dataset], bool]:
    """Parse a Part-10 file into (header dataset, raw PixelData element bytes, dataset of what follows, and
    whether the header's raw elements point into ``data``)."""
    if len(data) == 0:
        raise DeidentifyError("INVALID_ARGUMENT", "the file is empty")
    if len(data) < 132 or data[128:132] != b"DICM":
        raise DeidentifyError("INVALID_ARGUMENT", "not a DICOM Part-10 file (no preamble and file meta information)")
    fp = io.BytesIO(data)
    try:
        ds = pydicom.dcmread(fp, stop_before_pixels=True)
    except InvalidDicomError:
        raise DeidentifyError("INVALID_ARGUMENT", "not a DICOM Part-10 file") from None
    except (EOFError, struct.error, OverflowError):
        raise DeidentifyError("DATA_LOSS", "the file is truncated") from None
    except Exception as err:  # pydicom's messages may quote values: report the class only
        raise DeidentifyError("INVALID_ARGUMENT", f"the file cannot be parsed ({type(err).__name__})") from None
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if not ts:
        raise DeidentifyError("INVALID_ARGUMENT", "file meta information has no TransferSyntaxUID (0002,0010)")
    ts = UID(str(ts))
    if not ts.is_transfer_syntax:
        raise DeidentifyError("UNIMPLEMENTED", "unknown transfer syntax")
    pos = fp.tell()
    implicit, little = ts.is_implicit_VR, ts.is_little_endian
    start = structure.meta_end(data)
    if ts == DEFLATED:
        try:
            body = zlib.decompress(data[start:], -zlib.MAX_WBITS)
        except zlib.error:
            raise DeidentifyError("DATA_LOSS", "the deflated data set is truncated or corrupt") from None
        structure.check_whole(body, 0, False, True)
    else:
        as_implicit = _read_as_implicit(ds)
        structure.check_whole(data, start, implicit if as_implicit is None else as_implicit, little)
    if ts == DEFLATED or ds.original_encoding != (implicit, little) or _read_as_implicit(ds) not in (None, implicit):
        # The in-memory dataset does not line up with the file's bytes (deflated, or encoded other than its
        # transfer syntax says): take the slow path, decoding every element so it is written in the declared one.
        whole = _read_whole(data)
        for _ in whole.iterall():
            pass
        return whole, b"", None, False
    if pos >= len(data):  # no PixelData
        return ds, b"", None, True
    tag_bytes = data[pos : pos + 4]
    group, element = struct.unpack("<HH" if little else ">HH", tag_bytes)
    if (group << 16 | element) != PIXEL_DATA:
        raise DeidentifyError("INVALID_ARGUMENT", "the file cannot be parsed past the header")
    if not implicit and data[pos + 4 : pos + 6] not in (b"OB", b"OW", b"UN"):
        raise DeidentifyError("INVALID_ARGUMENT", "PixelData has an invalid value representation")
    end = pixel_element_end(data, pos, implicit, little)
    pixel = data[pos:end]
    rest = None
    if end < len(data):
        try:
            rest = read_dataset(io.BytesIO(data[end:]), implicit, little)
        except Exception as err:
            raise DeidentifyError("INVALID_ARGUMENT", f"elements after PixelData cannot be parsed ({type(err).__name__})") from None
    return ds, pixel, rest, True


def _read_as_implicit(ds: Dataset) -> Optional[bool]:
    """How pydicom actually read the dataset (it falls back to implicit VR when a file says explicit but is not,
    without saying so in ``original_encoding``); None when no raw element tells."""
    for tag in ds.keys():
        elem = ds.get_item(tag)
        if isinstance(elem, RawDataElement):
            return elem.is_implicit_VR
    return None


def _read_whole(data: bytes) -> Dataset:
    try:
        return pydicom.dcmread(io.BytesIO(data))
    except Exception as err:
        raise DeidentifyError("INVALID_ARGUMENT", f"the file cannot be parsed ({type(err).__name__})") from None


def _mark_codes(policy: DicomPolicy) -> tuple[tuple[str, str], ...]:
    if policy.profile not in ("BASIC", "MINIMAL"):
        return ()
    codes = [CODE_BASIC_PROFILE]
    if policy.image is not None:
        codes.append(CODE_CLEAN_PIXEL)
    if policy.clean_descriptors:
        codes.append(CODE_CLEAN_DESCRIPTORS)
    if policy.options.get(SOP_UID) is Act.KEEP:
        codes.append(CODE_RETAIN_UIDS)
    return tuple(codes)


_MARKS_CACHE: dict[tuple, tuple[tuple[int, str, bytes], ...]] = {}


def _encoded_marks(description: str, profile: str, codes: tuple, implicit: bool, little: bool):
    """The PS3.15 E.1.1 attributes as (tag, VR, value bytes), encoded once per policy and encoding."""
    key = (description, profile, codes, implicit, little)
    cached = _MARKS_CACHE.get(key)
    if cached is not None:
        return cached
    marks = Dataset()
    marks.DeidentificationMethod = description[:64]
    if codes:
        marks.PatientIdentityRemoved = "YES"
        items = []
        for value, meaning in codes:
            item = Dataset()
            item.CodeValue = value
            item.CodingSchemeDesignator = "DCM"
            item.CodeMeaning = meaning
            items.append(item)
        marks.DeidentificationMethodCodeSequence = Sequence(items)
        if profile == "BASIC":
            marks.LongitudinalTemporalInformationModified = "REMOVED"
    encoded = []
    for elem in marks:
        buffer = DicomBytesIO()
        buffer.is_implicit_VR, buffer.is_little_endian = implicit, little
        write_data_element(buffer, elem)
        data = buffer.getvalue()
        header = 8 if implicit or elem.VR not in _EXTENDED_LENGTH_VRS else 12
        encoded.append((int(elem.tag), elem.VR, data[header:]))
    _MARKS_CACHE[key] = result = tuple(encoded)
    return result


def _mark_deidentified(ds: Dataset, policy: DicomPolicy, encoding: tuple[bool, bool]) -> None:
    """PS3.15 E.1.1: record that and how the instance was de-identified (elements encoded once, then copied)."""
    implicit, little = encoding
    for tag, vr, value in _encoded_marks(policy.description, policy.profile, _mark_codes(policy), implicit, little):
        ds[tag] = RawDataElement(BaseTag(tag), vr, len(value), value, NEW_ELEMENT, implicit, little)


def _uid_value(ds: Dataset, tag: int) -> str:
    """A UID element's value without converting the element (converted elements are written the slow way)."""
    elem = ds.get_item(tag)
    if elem is None:
        return ""
    value = elem.value
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip("\x00 ")
    return str(value or "")


def _required_uid(ds: Dataset, keyword: str, tag: int) -> str:
    value = _uid_value(ds, tag)
    if not value:
        raise DeidentifyError("INVALID_ARGUMENT", f"{keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X}) is missing")
    return value


_PLACING_UIDS = (("SOPInstanceUID", SOP_UID), ("StudyInstanceUID", 0x0020000D), ("SeriesInstanceUID", 0x0020000E))


def _pixel_vr(ds: Dataset, pixel: bytes) -> str:
    if ds.original_encoding[0]:
        return "OW"
    if pixel:
        return pixel[4:6].decode("ascii", "replace")
    elem = ds.get_item(PIXEL_DATA)
    return (elem.VR if elem is not None and elem.VR else "OW") or "OW"


def deidentify_instance(data: bytes, policy: DicomPolicy, keys: Keys, detector: Any = None) -> DeidentifiedInstance:
    """De-identify one Part-10 file. Raises DeidentifyError (PHI-free message) when it cannot.

    ``detector`` is the OCR engine for burned-in text (loaded once per worker by the caller); it is only used
    when the policy cleans PixelData.
    """
    try:
        return _deidentify_instance(data, policy, keys, detector)
    except DeidentifyError:
        raise
    except Exception as err:  # a malformed instance pydicom chokes on: its message may quote values, ours does not
        raise DeidentifyError("INVALID_ARGUMENT", f"the instance cannot be de-identified ({type(err).__name__})") from None


def _raw_us(ds: Dataset, tag: int) -> Optional[int]:
    """An US element's value without converting the element; None when absent or not one US value."""
    elem = ds.get_item(tag)
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, bytes):
        if len(value) != 2:
            return None
        return struct.unpack("<H" if ds.original_encoding[1] is not False else ">H", value)[0]
    return value if isinstance(value, int) else None


def _check_pixels(ds: Dataset, pixel: bytes, sop_class: str) -> None:
    """DATA_LOSS when the instance says it has pixels (its IOD or its pixel module) but PixelData is missing or
    shorter than Rows x Columns x Samples x Frames x BitsAllocated say (native transfer syntaxes)."""
    present = [t for t in (PIXEL_DATA, 0x7FE00008, 0x7FE00009) if t in ds]
    rows, columns = _raw_us(ds, 0x00280010), _raw_us(ds, 0x00280011)
    if not pixel and not present:
        if rows or columns or (sop_class and iod.has_module(sop_class, "image-pixel")):
            raise DeidentifyError("DATA_LOSS", "the instance describes pixels but PixelData is missing")
        return
    bits, samples = _raw_us(ds, 0x00280100), _raw_us(ds, 0x00280002) or 1
    if not (rows and columns and bits):
        return
    frames = 1
    frames_elem = ds.get_item(0x00280008)
    if frames_elem is not None:
        text = frames_elem.value.decode("ascii", "replace") if isinstance(frames_elem.value, bytes) else str(frames_elem.value)
        try:
            frames = max(1, int(text.strip("\x00 ") or 1))
        except ValueError:
            frames = 1
    photometric = ds.get_item(0x00280004)
    text = photometric.value if photometric is not None else b""
    if (text if isinstance(text, bytes) else str(text).encode()).startswith((b"YBR_FULL_422", b"YBR_PARTIAL_422")):
        samples = 2  # two chroma values shared by each pair of pixels (PS3.3 C.7.6.3.1.2)
    expected = (rows * columns * samples * frames * bits + 7) // 8
    if pixel:
        implicit, little = ds.original_encoding
        header = 8 if implicit else 12
        (length,) = struct.unpack_from("<I" if little is not False else ">I", pixel, header - 4)
        if length == 0xFFFFFFFF:
            return  # encapsulated: the fragments were walked whole
    elif PIXEL_DATA in ds:
        value = ds.get_item(PIXEL_DATA).value
        if not isinstance(value, bytes) or _is_encapsulated(ds):
            return
        length = len(value)
    else:
        return
    if 0 < length < expected or (length == 0 and expected):
        raise DeidentifyError("DATA_LOSS", "PixelData is shorter than the pixel module says")


def _is_encapsulated(ds: Dataset) -> bool:
    ts = UID(str(ds.file_meta.TransferSyntaxUID))
    return ts.is_compressed


def _deidentify_instance(data: bytes, policy: DicomPolicy, keys: Keys, detector: Any) -> DeidentifiedInstance:
    ds, pixel, rest, raw_offsets = _read(data)
    for keyword, tag in _PLACING_UIDS:
        _required_uid(ds, keyword, tag)
    sop_class = _uid_value(ds, SOP_CLASS_UID) or str(ds.file_meta.get("MediaStorageSOPClassUID", ""))
    _check_pixels(ds, pixel, sop_class)
    ts = str(ds.file_meta.TransferSyntaxUID)
    boxes, ts_changed = 0, False
    if policy.image is not None and (pixel or PIXEL_DATA in ds):
        if policy.action(PIXEL_DATA, _pixel_vr(ds, pixel)) is Act.CLEAN_IMAGE:
            if pixel:  # the pixels must be decoded after all: parse the whole file
                ds, pixel, rest = _read_whole(data), b"", None
            if detector is None:
                from transforms.image import load_detector

                detector = load_detector()
            redaction = policy.image.redact(ds, detector)  # before the tags change: their values are context
            boxes = redaction.boxes_painted
            ts_changed = redaction.transfer_syntax_changed
            ts = str(redaction.transfer_syntax or ts)
    ctx = _Context(policy, keys, _text_cleaner(ds, policy, keys) if policy.text is not None else None,
                   ds.original_encoding if None not in ds.original_encoding else (False, True), sop_class)
    try:
        _apply(ds, ctx)
        if rest is not None:
            _apply(rest, ctx)
    except DeidentifyError:
        raise
    except Exception as err:  # a malformed element: fail this instance only, name no value
        raise DeidentifyError("INVALID_ARGUMENT", f"an element cannot be processed ({type(err).__name__})") from None
    if pixel:
        pixel_vr = "OW" if ds.original_encoding[0] else pixel[4:6].decode("ascii", "replace")
        pixel_act = policy.action(PIXEL_DATA, pixel_vr)
        if pixel_act in (Act.DELETE, Act.EMPTY, Act.DUMMY):
            pixel = b"" if pixel_act is Act.DELETE else _empty_pixel(pixel, ds.original_encoding)
    sop, study, series = (_required_uid(ds, keyword, tag) for keyword, tag in _PLACING_UIDS)
    instance_path(study, series, sop)  # UIDs that place the instance in a store must be valid (PS3.5 9.1)
    _mark_deidentified(ds, policy, ctx.encoding)
    meta = _file_meta_bytes(sop_class, sop, ts)
    out = DicomBytesIO()
    try:
        _write_part10(out, ds, ts, data if raw_offsets else None, meta)
        if pixel:
            out.write(pixel)
        if rest is not None and len(rest):
            tail = DicomBytesIO()
            tail.is_implicit_VR, tail.is_little_endian = ds.original_encoding
            write_dataset(tail, rest)
            out.write(tail.getvalue())
    except DeidentifyError:
        raise
    except Exception as err:
        raise DeidentifyError("INVALID_ARGUMENT", f"the de-identified instance cannot be encoded ({type(err).__name__})") from None
    modality = _uid_value(ds, 0x00080060)  # read without converting the element
    actions = tuple((tag, act.name.lower(), n) for (tag, act), n in ctx.tally.items())
    return DeidentifiedInstance(out.getvalue(), study, series, sop, boxes, ts_changed, str(modality), actions)


_EXTENDED_LENGTH_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UR", "UT", "UN", "SV", "UV"})


def _raw_span(elem: RawDataElement, data: bytes, implicit: bool, little: bool) -> Optional[tuple[int, int]]:
    """Where a raw element's encoded bytes sit in ``data``, or None when that cannot be trusted."""
    if elem.value is None or elem.value_tell is None:
        return None
    if implicit:
        header = 8
    elif elem.VR is None:
        return None
    else:
        header = 12 if elem.VR in _EXTENDED_LENGTH_VRS else 8
    start = elem.value_tell - header
    if elem.length == 0xFFFFFFFF:
        end = elem.value_tell + len(elem.value) + 8  # value, then the sequence delimitation item
    else:
        end = elem.value_tell + elem.length
    tag = int(elem.tag)
    expected = struct.pack("<HH" if little else ">HH", tag >> 16, tag & 0xFFFF)
    if start < 0 or end > len(data) or data[start : start + 4] != expected:
        return None
    return start, end


def _write_dataset_fast(out: DicomBytesIO, ds: Dataset, data: bytes, implicit: bool, little: bool) -> None:
    """Like pydicom's write_dataset, but untouched raw elements are copied from the source bytes in runs."""
    encodings = ds._character_set
    run_start = run_end = -1
    order = "<" if little else ">"
    for tag in sorted(map(int, ds.keys())):
        elem = ds.get_item(tag)
        if isinstance(elem, RawDataElement) and elem.value_tell == NEW_ELEMENT:
            if run_end > run_start:
                out.write(data[run_start:run_end])
                run_start = run_end = -1
            head = struct.pack(order + "HH", tag >> 16, tag & 0xFFFF)
            if implicit:
                head += struct.pack(order + "I", elem.length)
            elif elem.VR in _EXTENDED_LENGTH_VRS:
                head += elem.VR.encode("ascii") + b"\x00\x00" + struct.pack(order + "I", elem.length)
            else:
                head += elem.VR.encode("ascii") + struct.pack(order + "H", elem.length)
            out.write(head + elem.value)
            continue
        span = _raw_span(elem, data, implicit, little) if isinstance(elem, RawDataElement) else None
        if span is not None:
            if span[0] == run_end:
                run_end = span[1]
            else:
                if run_end > run_start:
                    out.write(data[run_start:run_end])
                run_start, run_end = span
            continue
        if run_end > run_start:
            out.write(data[run_start:run_end])
            run_start = run_end = -1
        write_data_element(out, ds[tag], encodings)
    if run_end > run_start:
        out.write(data[run_start:run_end])


def _meta_element(group_element: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr in (b"UI", b"OB") else b" "
    tag = struct.pack("<HH", group_element >> 16, group_element & 0xFFFF)
    if vr == b"OB":
        return tag + vr + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return tag + vr + struct.pack("<H", len(value)) + value


def _file_meta_bytes(sop_class: str, sop_instance: str, ts: str) -> bytes:
    """Preamble, DICM and the group 0002 elements we write (always explicit VR little endian, PS3.10 7.1)."""
    body = b"".join((
        _meta_element(0x00020001, b"OB", b"\x00\x01"),
        _meta_element(0x00020002, b"UI", sop_class.encode("ascii", "replace")),
        _meta_element(0x00020003, b"UI", sop_instance.encode("ascii", "replace")),
        _meta_element(0x00020010, b"UI", ts.encode("ascii")),
        _meta_element(0x00020012, b"UI", IMPLEMENTATION_CLASS_UID.encode("ascii")),
        _meta_element(0x00020013, b"SH", IMPLEMENTATION_VERSION_NAME.encode("ascii")),
    ))
    group_length = b"\x02\x00\x00\x00UL\x04\x00" + struct.pack("<I", len(body))
    return b"\x00" * 128 + b"DICM" + group_length + body


def _write_part10(out: DicomBytesIO, ds: Dataset, ts: str, source: Optional[bytes], meta: bytes) -> None:
    """Preamble, file meta and dataset, without dcmwrite's defensive copies (the meta is freshly built)."""
    out.write(meta)
    ts_uid = UID(ts)
    out.is_implicit_VR, out.is_little_endian = ts_uid.is_implicit_VR, ts_uid.is_little_endian
    if ts == DEFLATED:  # the dataset after the file meta is one raw deflate stream (PS3.5 A.5)
        body = DicomBytesIO()
        body.is_implicit_VR, body.is_little_endian = False, True
        write_dataset(body, ds)
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        out.write(compressor.compress(body.getvalue()) + compressor.flush())
    elif source is not None and ds.original_encoding == (ts_uid.is_implicit_VR, ts_uid.is_little_endian):
        _write_dataset_fast(out, ds, source, ts_uid.is_implicit_VR, ts_uid.is_little_endian)
    else:
        write_dataset(out, ds)


def _empty_pixel(pixel: bytes, encoding: tuple[bool, bool]) -> bytes:
    """A zero-length PixelData element in the file's encoding (removeTag / resetTag on PixelData)."""
    implicit, little = encoding
    order = "<" if little else ">"
    head = struct.pack(order + "HH", 0x7FE0, 0x0010)
    if implicit:
        return head + struct.pack(order + "I", 0)
    return head + pixel[4:6] + b"\x00\x00" + struct.pack(order + "I", 0)


def is_raw(elem: Any) -> bool:
    return isinstance(elem, RawDataElement)

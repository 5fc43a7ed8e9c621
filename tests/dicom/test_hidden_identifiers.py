"""Property: an identifier hidden inside a kept element never survives (issue 15, "every element that is written
is exactly one element of its dictionary VR").

For every VR a profile keeps, in both transfer-syntax families (and with the kept element re-labelled UN in
Explicit VR), hypothesis plants identifiers either after the kept element with the kept element's length
stretched over them (the swallowing attack) or inside its value. The oracle is the planted bytes: the output never
holds them, or the instance is refused with an error that names no value.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import DicomDictionary
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from transforms.config import parse_config
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import ALL_VRS, Act, compile_dicom_policy
from transforms.errors import DeidentifyError

KEYS = Keys(b"p" * 32)
PHI_TAGS = (0x40080114, 0x40080119, 0x4008011A)  # PN, PN, LO: X in the Basic profile, and on the remove list
BASIC = compile_dicom_policy(None)
REMOVE = compile_dicom_policy(parse_config({"dicom": {"removeList": {"tags": [f"{t:08X}" for t in PHI_TAGS]}}}))
VALUES = {
    "AE": "STATION1", "AS": "045Y", "AT": 0x00100010, "CS": "AB", "DA": "20200101", "DS": "1.5",
    "DT": "20200101101010", "FD": 1.0, "FL": 1.0, "IS": "7", "LO": "ACME", "LT": "note", "OB": b"\x01\x02",
    "OD": b"\x00" * 8, "OF": b"\x00" * 4, "OL": b"\x00" * 4, "OV": b"\x00" * 8, "OW": b"\x01\x00", "PN": "Doe^J",
    "SH": "SH1", "SL": 1, "SS": 1, "ST": "st", "SV": 1, "TM": "101010", "UC": "uc", "UI": "1.2.3", "UL": 1,
    "UN": b"\x01\x02", "UR": "http://x.org", "US": 1, "UT": "ut", "UV": 1,
}
PRIVATE_UN = 0x00291010  # a private element (creator in 0029,0010): UN, kept by a remove list


def _kept_tag(vr: str, policy) -> int | None:
    """The first public tag of dictionary VR ``vr`` after the UIDs and before the planted ones that ``policy``
    keeps (found in pydicom's dictionary)."""
    for tag, entry in sorted(DicomDictionary.items()):
        if 0x0020000E < tag < PHI_TAGS[0] and entry[0] == vr and not entry[3] and tag & 0xFFFF \
                and tag >> 16 not in (0x0028, 0x7FE0) and policy.action(tag, vr) is Act.KEEP:
            return tag
    return None


CASES = [("basic", vr, t) for vr in sorted(ALL_VRS - {"SQ"}) if (t := _kept_tag(vr, BASIC))]
CASES += [("remove", vr, t) for vr in sorted(ALL_VRS - {"SQ"}) if (t := _kept_tag(vr, REMOVE))]
CASES += [("remove", "UN", PRIVATE_UN)]


def test_every_vr_is_covered():
    assert {vr for _, vr, _ in CASES} == ALL_VRS - {"SQ"}


def _instance(tag: int, vr: str, phi: list[str], implicit: bool) -> bytes:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic Text SR: no pixels
    ds.SOPInstanceUID = "1.2.3.4.1"
    ds.StudyInstanceUID = "1.2.3.4.2"
    ds.SeriesInstanceUID = "1.2.3.4.3"
    if tag == PRIVATE_UN:
        ds.add_new(0x00290010, "LO", "ACME")
    ds.add_new(tag, vr, VALUES[vr])
    for planted, value in zip(PHI_TAGS, phi):
        ds.add_new(planted, DicomDictionary[planted][0], value)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds.file_meta = meta
    out = DicomBytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


_LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UR", "UT", "UN", "SV", "UV"}


def _hide(data: bytes, tag: int, vr: str, implicit: bool, as_un: bool, mode: str, phi: list[str]) -> bytes:
    at = data.index(struct.pack("<HH", tag >> 16, tag & 0xFFFF), 132)
    if implicit:
        header, (length,) = 8, struct.unpack_from("<I", data, at + 4)
    elif vr in _LONG:
        header, (length,) = 12, struct.unpack_from("<I", data, at + 8)
    else:
        header, (length,) = 8, struct.unpack_from("<H", data, at + 6)
    value = data[at + header : at + header + length]
    rest = data[at + header + length :]
    if mode == "inline":  # the identifier inside the value itself
        value = value + b"\x00" + phi[0].encode() + (b"\x00" if len(phi[0]) % 2 == 0 else b"")
    else:  # the value's length stretched over the planted elements after it
        value, rest = value + rest, b""
    if implicit:
        head = data[at : at + 4] + struct.pack("<I", len(value))
    elif as_un or vr in _LONG:
        head = data[at : at + 4] + (b"UN" if as_un else vr.encode()) + b"\x00\x00" + struct.pack("<I", len(value))
    else:
        if len(value) > 0xFFFF:
            return data
        head = data[at : at + 6] + struct.pack("<H", len(value))
    return data[:at] + head + value + rest


phi_text = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=6, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), implicit=st.booleans(), as_un=st.booleans(),
       mode=st.sampled_from(["swallow", "inline"]), texts=st.lists(phi_text, min_size=3, max_size=3))
def test_identifiers_hidden_in_kept_elements_never_survive(case, implicit, as_un, mode, texts):
    profile, vr, tag = case
    phi = [f"Q{i}Z{text}" for i, text in enumerate(texts)]  # digits only here: none is inside another
    policy = BASIC if profile == "basic" else REMOVE
    data = _hide(_instance(tag, vr, phi, implicit), tag, vr, implicit, as_un and not implicit, mode, phi)
    # Bytes inside an opaque value (OB, OW, ...) or a numeric value of unbounded multiplicity are that value's
    # data: no VR rule can tell them from it. Only the planted elements must be gone.
    opaque_inline = mode == "inline" and vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN", "SL", "SV", "UV")
    try:
        out = deidentify_instance(data, policy, KEYS).data
    except DeidentifyError as err:
        assert err.code in ("INVALID_ARGUMENT", "DATA_LOSS")
        assert not any(p in err.message for p in phi)
        return
    if opaque_inline:
        for p in phi[1:]:
            assert p.encode() not in out
        return
    for p in phi:
        assert p.encode() not in out, f"{p} survived inside {vr} ({tag:08X})"

"""Hostile and unusual files (issue 15, "What was seen"): each probe is a regression test.

Oracles are independent of the code under test: PHI strings planted by the test are searched for in the output's
raw bytes; truncation offsets are computed from pydicom's own reading of the whole file; expected IOD types are
the standard's (PS3.3) as written here by hand.
"""

from __future__ import annotations

import io
import os
import struct

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from transforms.config import parse_config
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.paths import instance_path, is_valid_uid, path_under
from transforms.dicom.policy import Act, compile_dicom_policy
from transforms.errors import DeidentifyError

KEYS = Keys(b"h" * 32)
BASIC = compile_dicom_policy(None)
NAME, PID, BIRTH, ADDRESS, PHONE = "Swallowed^Sally", "MRN-SWALLOW-77", "19610203", "12 Hidden Lane", "555-0199"
PHI = (NAME.encode(), PID.encode(), BIRTH.encode(), ADDRESS.encode(), PHONE.encode())
CT = "1.2.840.10008.5.1.4.1.1.2"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


def _image(sop_class: str = CT) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.3.4.5.6.7.1"
    ds.StudyDate = "20200101"
    ds.Modality = "CT"
    ds.PatientName = NAME
    ds.PatientID = PID
    ds.PatientBirthDate = BIRTH
    ds.PatientAddress = ADDRESS
    ds.PatientTelephoneNumbers = PHONE
    ds.StudyInstanceUID = "1.2.3.4.5.6.7.2"
    ds.SeriesInstanceUID = "1.2.3.4.5.6.7.3"
    if sop_class == CT:
        ds.Rows = ds.Columns = 4
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.PixelData = b"\x01\x00" * 16
    return ds


def _encode(ds: Dataset, implicit: bool = False) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds.file_meta = meta
    out = DicomBytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def _deid(data: bytes, policy=BASIC):
    return deidentify_instance(data, policy, KEYS)


def _assert_no_phi_or_refused(data: bytes, tag_text: str) -> None:
    try:
        out = _deid(data).data
    except DeidentifyError as err:
        assert err.code == "INVALID_ARGUMENT"
        assert tag_text in err.message
        assert not any(p.decode() in err.message for p in PHI)
        return
    for phi in PHI:
        assert phi not in out, f"{phi!r} survived in the output bytes"


# --- 1. swallowed elements ----------------------------------------------------------------------------------


def test_explicit_un_modality_whose_length_swallows_the_patient_is_refused():
    """Probe 1: Modality (kept) written as UN with a length covering PatientName ... phone."""
    data = _encode(_image())
    modality = data.index(b"\x08\x00\x60\x00CS\x02\x00CT")
    study = data.index(b"\x20\x00\x0d\x00UI")
    swallowed = data[modality + 10 : study]
    assert NAME.encode() in swallowed
    hostile = data[:modality] + b"\x08\x00\x60\x00UN\x00\x00" + struct.pack("<I", 2 + len(swallowed)) + b"CT" + \
        data[modality + 10 :]
    _assert_no_phi_or_refused(hostile, "(0008,0060)")
    with pytest.raises(DeidentifyError):
        _deid(hostile)


def test_un_that_fits_its_dictionary_vr_is_rewritten_as_that_vr():
    data = _encode(_image())
    modality = data.index(b"\x08\x00\x60\x00CS\x02\x00CT")
    as_un = data[:modality] + b"\x08\x00\x60\x00UN\x00\x00" + struct.pack("<I", 2) + b"CT" + data[modality + 10 :]
    out = pydicom.dcmread(io.BytesIO(_deid(as_un).data))
    assert out["Modality"].VR == "CS" and out.Modality == "CT"
    assert b"\x08\x00\x60\x00UN" not in _deid(as_un).data


def _kept_tag_before_patient(vr: str) -> int:
    """A tag in group 0008 that the Basic profile keeps, of dictionary VR ``vr`` (found in pydicom's dictionary)."""
    from pydicom.datadict import DicomDictionary

    for tag, entry in sorted(DicomDictionary.items()):
        if 0x00080000 < tag < 0x00100000 and entry[0] == vr and entry[1] == "1" and not entry[3] \
                and BASIC.action(tag, vr) is Act.KEEP:
            return tag
    raise AssertionError(f"no kept {vr} tag in group 0008")


@pytest.mark.parametrize("vr", ["US", "UL", "FL", "UR", "ST", "CS", "LO"])
def test_implicit_vr_kept_element_with_an_oversized_length_leaks_nothing(vr):
    """Probe 1, Implicit VR: a kept element whose length covers the patient elements after it."""
    tag = _kept_tag_before_patient(vr)
    ds = _image()
    values = {"US": 1, "UL": 1, "FL": 1.0, "UR": "http://x.org", "ST": "note", "CS": "AB", "LO": "ACME"}
    ds.add_new(tag, vr, values[vr])
    data = _encode(ds, implicit=True)
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    at = data.index(head, 132)
    (length,) = struct.unpack_from("<I", data, at + 4)
    study = data.index(b"\x20\x00\x0d\x00", at)
    hostile = data[: at + 4] + struct.pack("<I", study - at - 8) + data[at + 8 :]
    assert NAME.encode() in hostile[at + 8 : study]
    _assert_no_phi_or_refused(hostile, f"{tag & 0xFFFF:04X})")
    with pytest.raises(DeidentifyError):
        _deid(hostile)


def test_fast_path_copies_nothing_a_conformant_reader_would_not_see():
    """The header-only fast path: every kept element of a normal file is byte-identical and of its dictionary VR."""
    data = _encode(_image())
    out = pydicom.dcmread(io.BytesIO(_deid(data).data))
    for elem in out.iterall():
        if elem.tag.group not in (0x0002,) and not elem.tag.is_private:
            assert elem.VR != "UN"


# --- 2. truncation --------------------------------------------------------------------------------------------


def test_cut_after_the_uids_is_data_loss():
    """Probe 2: cut just after the UIDs (no Rows, no PixelData)."""
    data = _encode(_image())
    cut = data.index(b"\x28\x00\x02\x00")  # SamplesPerPixel, the first element after the UIDs
    with pytest.raises(DeidentifyError) as err:
        _deid(data[:cut])
    assert err.value.code == "DATA_LOSS"


def test_short_pixel_data_is_data_loss():
    ds = _image()
    ds.PixelData = b"\x01\x00" * 8  # half of 4 x 4 x 16 bits
    with pytest.raises(DeidentifyError) as err:
        _deid(_encode(ds))
    assert err.value.code == "DATA_LOSS"


def _top_level_boundaries(data: bytes) -> tuple[set[int], int]:
    """Offsets where a top-level element starts (from pydicom's reading of the whole file), and the file end."""
    ds = pydicom.dcmread(io.BytesIO(data), defer_size=None)
    starts = set()
    implicit = ds.original_encoding[0]
    for tag in ds.keys():
        raw = ds.get_item(tag)
        if getattr(raw, "value_tell", None) is None:
            continue
        vr = raw.VR
        header = 8 if implicit or vr not in ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UR", "UT", "UN", "SV", "UV") else 12
        starts.add(raw.value_tell - header)
    return starts, len(data)


SWEEP_FILES = ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "rtplan.dcm", "SC_rgb_small_odd.dcm"]


def _sweep_sources() -> list[tuple[str, bytes]]:
    from transforms.dicom.sample import SamplePatient, sample_instance

    sources = [("sample-explicit", sample_instance(SamplePatient(3), instance=0)),
               ("sample-implicit", sample_instance(SamplePatient(3), instance=1, implicit=True))]
    for name in SWEEP_FILES:
        path = get_testdata_file(name)
        if path:
            with open(path, "rb") as f:
                sources.append((name, f.read()))
    return sources


@pytest.mark.parametrize("name,data", _sweep_sources(), ids=lambda v: v if isinstance(v, str) else "")
def test_no_cut_succeeds_except_at_a_top_level_element_boundary(name, data):
    """Probe 2, swept: every offset of the header (and a stride through the pixels). A cut that succeeds must
    fall on a top-level element boundary; for images (PixelData last) only the whole file succeeds."""
    starts, end = _top_level_boundaries(data)
    pixel_start = data.rfind(b"\xe0\x7f\x10\x00")
    header_end = pixel_start + 16 if pixel_start > 0 else end
    offsets = list(range(132, min(header_end, end))) + list(range(header_end, end, 251))
    succeeded = []
    for cut in offsets:
        try:
            _deid(data[:cut])
        except DeidentifyError:
            continue
        succeeded.append(cut)
    assert set(succeeded) <= starts, f"{name}: cuts inside elements succeeded: {sorted(set(succeeded) - starts)[:5]}"
    if pixel_start > 0:
        assert not succeeded, f"{name}: a cut image succeeded at {succeeded[:5]}"
    _deid(data)  # and the whole file still succeeds


# --- 3. paths --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("study,series", [("..", "1.0"), ("1.2", ".."), ("1.2/../..", "1.3"), ("1.02", "1.3"),
                                          ("", "1.3"), ("1..2", "1.3"), ("1." + "1" * 64, "1.3")])
def test_kept_uids_that_are_not_valid_uids_are_refused(study, series):
    """Probe 3: with skipIdRedaction the source UIDs place the instance; an invalid one is an error record."""
    ds = _image()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study or "1.2", series
    data = _encode(ds)
    if not study:  # an empty study UID: make it empty in the bytes (pydicom would not write it empty)
        data = data.replace(b"\x20\x00\x0d\x00UI\x04\x001.2\x00", b"\x20\x00\x0d\x00UI\x04\x00    ")
    policy = compile_dicom_policy(parse_config({"dicom": {"skipIdRedaction": True}}))
    with pytest.raises(DeidentifyError) as err:
        deidentify_instance(data, policy, KEYS)
    assert err.value.code == "INVALID_ARGUMENT"


def test_uid_rules_of_ps3_5():
    assert is_valid_uid("1.2.840.10008.1.2") and is_valid_uid("2.25.0") and is_valid_uid("0")
    for bad in ("", ".", "1.", ".1", "1..2", "1.02", "01.2", "1.2a", "1.2 ", "1/2", "..", "1." + "1" * 63):
        assert not is_valid_uid(bad), bad
    assert instance_path("1.2", "1.3", "1.4") == "1.2/1.3/1.4.dcm"


def test_destination_paths_stay_under_the_store_after_resolution(tmp_path):
    root = tmp_path / "dest"
    root.mkdir()
    (tmp_path / "source").mkdir()
    assert path_under(str(root), "1.2/1.3/1.4.dcm") == os.path.join(str(root), "1.2", "1.3", "1.4.dcm")
    for bad in ("../source/x.dcm", "1.2/../../x.dcm", "/etc/passwd", "", "1.2//x.dcm", "./x.dcm"):
        with pytest.raises(DeidentifyError):
            path_under(str(root), bad)
    os.symlink(tmp_path / "source", root / "1.9")  # a symlink planted in the destination points outside it
    with pytest.raises(DeidentifyError):
        path_under(str(root), "1.9/1.3/1.4.dcm")
    assert path_under("gs://bucket/dest", "1.2/1.3/1.4.dcm") == "gs://bucket/dest/1.2/1.3/1.4.dcm"
    with pytest.raises(DeidentifyError):
        path_under("gs://bucket/dest", "../other/1.dcm")


# --- 5. D sequences keep their items -----------------------------------------------------------------------------


def _sr() -> Dataset:
    ds = _image(BASIC_TEXT_SR)
    ds.Modality = "SR"
    ds.ContentDate, ds.ContentTime = "20200101", "101010"
    observer = Dataset()
    observer.VerifyingObserverName = NAME
    observer.VerifyingOrganization = "St Elsewhere Hospital"
    observer.VerificationDateTime = "20200101101010"
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = PID, "L", ADDRESS
    observer.VerifyingObserverIdentificationCodeSequence = Sequence([code])
    ds.VerifyingObserverSequence = Sequence([observer])
    ds.ValueType = "CONTAINER"
    item = Dataset()
    item.RelationshipType, item.ValueType = "CONTAINS", "TEXT"
    concept = Dataset()
    concept.CodeValue, concept.CodingSchemeDesignator, concept.CodeMeaning = "121071", "DCM", "Finding"
    item.ConceptNameCodeSequence = Sequence([concept])
    item.TextValue = f"{NAME} seen at {ADDRESS}"
    ds.ContentSequence = Sequence([item])
    return ds


def test_d_sequences_keep_their_items_de_identified():
    """Probe 5: ContentSequence, VerifyingObserverSequence (D) keep their items; nothing planted survives."""
    result = _deid(_encode(_sr()))
    for phi in PHI + (b"St Elsewhere",):
        assert phi not in result.data
    out = pydicom.dcmread(io.BytesIO(result.data))
    assert len(out.ContentSequence) == 1
    assert out.ContentSequence[0].ValueType == "TEXT"
    assert len(out.VerifyingObserverSequence) == 1
    assert out.VerifyingObserverSequence[0].VerifyingObserverName
    # Verifying Observer Identification Code Sequence is Z in the table: present, empty
    assert len(out.VerifyingObserverSequence[0].VerifyingObserverIdentificationCodeSequence) == 0


# --- 6. IOD-aware compound codes -----------------------------------------------------------------------------------


def test_x_z_is_removed_when_type_3_in_the_iod():
    """Probe 6: ReferencedStudySequence (X/Z) is Type 3 in General Study: removed, never a zero-item sequence."""
    ds = _image()
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = "1.2.840.10008.3.1.2.3.1", "1.2.3.9"
    ds.ReferencedStudySequence = Sequence([ref])
    ds.InstitutionName = "St Elsewhere Hospital"  # X/Z/D, Type 3 in General Equipment
    out = pydicom.dcmread(io.BytesIO(_deid(_encode(ds)).data))
    assert "ReferencedStudySequence" not in out
    assert "InstitutionName" not in out


def test_z_d_follows_the_type_of_the_iod():
    """ContentDate (Z/D): Type 1 in SR Document General (a dummy), Type 2C in a CT's General Image (empty)."""
    sr = pydicom.dcmread(io.BytesIO(_deid(_encode(_sr())).data))
    assert sr.ContentDate and sr.ContentDate != "20200101"
    ct = _image()
    ct.ContentDate = "20200101"
    out = pydicom.dcmread(io.BytesIO(_deid(_encode(ct)).data))
    assert "ContentDate" in out and out.ContentDate in ("", None)


def test_unknown_sop_class_falls_back_to_the_safest_valid_choice():
    ds = _image("1.2.3.999.1")  # no IOD the tables know
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = "1.2.840.10008.3.1.2.3.1", "1.2.3.9"
    ds.ReferencedStudySequence = Sequence([ref])
    ds.ContentDate = "20200101"
    ds.InstitutionName = "St Elsewhere Hospital"
    out = pydicom.dcmread(io.BytesIO(_deid(_encode(ds)).data))
    assert len(out.ReferencedStudySequence) == 0  # X/Z -> Z
    assert out.ContentDate and out.ContentDate != "20200101"  # Z/D -> D
    assert out.InstitutionName and "Elsewhere" not in out.InstitutionName  # X/Z/D -> D


# --- 4. rows of the current edition ----------------------------------------------------------------------------------


def test_rows_added_since_2024b_no_longer_keep_their_values():
    """Probe 4: attributes the 2024b table lacked were kept verbatim; the current edition removes or replaces them."""
    ds = _image()
    ds.SecondaryCaptureDeviceID = "SCDEV-HOSPITAL-7"
    ds.HardcopyCreationDeviceID = "HCDEV-HOSPITAL-7"
    ds.AcquisitionContextDescription = "patient Swallowed agitated"
    ds.UnformattedTextValue = "Seen by Dr Who at 12 Hidden Lane"
    ds.TableTopPositionAlignmentUID = "1.2.3.4.5.6.7.99"
    channel = Dataset()
    channel.ChannelLabel = "Sally lead II"
    ds.ChannelDefinitionSequence = Sequence([channel])
    data = _encode(ds)
    out = _deid(data).data
    for value in (b"SCDEV-HOSPITAL-7", b"HCDEV-HOSPITAL-7", b"agitated", b"Dr Who", b"1.2.3.4.5.6.7.99",
                  b"Sally lead II"):
        assert value in data and value not in out
    result = pydicom.dcmread(io.BytesIO(out))
    assert result.UnformattedTextValue  # D: a dummy, not removed
    assert result.TableTopPositionAlignmentUID == KEYS.uid("1.2.3.4.5.6.7.99")  # U


def test_subsampled_ybr_pixels_are_not_mistaken_for_short_ones():
    """YBR_FULL_422 stores two values per pixel, not three: a whole file must not be DATA_LOSS."""
    with open(get_testdata_file("SC_ybr_full_422_uncompressed.dcm"), "rb") as f:
        data = f.read()
    _deid(data)
    cut = len(data) - 64
    with pytest.raises(DeidentifyError) as err:
        _deid(data[:cut])
    assert err.value.code == "DATA_LOSS"

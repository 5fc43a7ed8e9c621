"""deidentify_instance on whole Part-10 files: profiles, v1beta1 actions, UIDs, PHI, pixels, bad input."""

from __future__ import annotations

import base64
import hmac
import io

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRBigEndian, JPEGBaseline8Bit

from transforms.config import parse_config
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import MANDATORY_TAGS, compile_dicom_policy
from transforms.dicom.sample import SamplePatient, sample_dataset, sample_instance, sample_store_files
from transforms.errors import ConfigError, DeidentifyError

KEYS = Keys(b"k" * 32)
PATIENT = SamplePatient(4)


def deid(data: bytes, config: dict | None = None, keys: Keys = KEYS) -> pydicom.Dataset:
    policy = compile_dicom_policy(parse_config(config) if config is not None else None)
    out = deidentify_instance(data, policy, keys)
    return pydicom.dcmread(io.BytesIO(out.data))


def to_bytes(ds, transfer_syntax=None) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax or pydicom.uid.ExplicitVRLittleEndian
    ds.file_meta = meta
    out = DicomBytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


# --- PHI and UIDs under the default (Basic profile) -------------------------------------------------------


def test_basic_profile_leaves_no_known_phi_in_any_byte():
    files = dict(sample_store_files(patients=4, studies=2, series=1, instances=2))
    originals = set()
    for p in range(4):
        patient = SamplePatient(p)
        originals |= set(patient.phi_strings())
        for st in range(2):
            originals |= {patient.study_uid(st), patient.series_uid(st, 0), patient.frame_of_reference_uid(st)}
            originals |= {patient.sop_uid(st, 0, i) for i in range(3)}
            originals |= {patient.accession(st), patient.study_date(st)}
    policy = compile_dicom_policy(None)
    for data in files.values():
        out = deidentify_instance(data, policy, KEYS).data
        for phi in originals:
            assert phi.encode() not in out, "a known identifier survived"
        for part in ("Jane", "Hopewell", "MRN73", "555-", "Bayside", "BAYSIDE"):
            assert part.encode() not in out


def test_uids_are_consistent_across_instances_and_references():
    a = deid(sample_instance(PATIENT, 0, 0, 0))
    b = deid(sample_instance(PATIENT, 0, 0, 1))
    assert a.StudyInstanceUID == b.StudyInstanceUID != PATIENT.study_uid(0)
    assert a.SeriesInstanceUID == b.SeriesInstanceUID
    assert a.FrameOfReferenceUID == b.FrameOfReferenceUID != PATIENT.frame_of_reference_uid(0)
    assert a.SOPInstanceUID != b.SOPInstanceUID
    # instance 0 references instance 1: the reference follows the new UID
    assert a.ReferencedImageSequence[0].ReferencedSOPInstanceUID == b.SOPInstanceUID
    assert a.file_meta.MediaStorageSOPInstanceUID == a.SOPInstanceUID
    assert a.SOPInstanceUID == KEYS.uid(PATIENT.sop_uid(0, 0, 0))
    assert len(a.SOPInstanceUID) <= 64 and a.SOPInstanceUID.startswith("2.25.")


@pytest.mark.parametrize("key_length", [16, 24, 32])
def test_uid_is_the_decimal_of_the_first_128_bits_of_hmac_sha256(key_length):
    key = bytes(range(7, 7 + key_length))
    for original in ("1.2.840.113619.2.55.3.604688119", "", "1.2.3\udcff"):  # a lone surrogate hashes too
        digest = hmac.digest(key, original.encode("utf-8", "surrogatepass"), "sha256")
        assert Keys(key).uid(original) == "2.25." + str(int.from_bytes(digest[:16], "big"))
    assert Keys(key).crypto_hash("x") == base64.b64encode(hmac.digest(key, b"x", "sha256")).decode()


def test_same_input_and_key_give_identical_bytes_and_other_keys_other_uids():
    data = sample_instance(PATIENT)
    policy = compile_dicom_policy(None)
    first = deidentify_instance(data, policy, KEYS).data
    assert deidentify_instance(data, policy, KEYS).data == first
    other = deidentify_instance(data, policy, Keys(b"o" * 32))
    assert other.data != first and other.sop_uid != deidentify_instance(data, policy, KEYS).sop_uid


def test_deidentification_is_recorded_in_the_instance():
    ds = deid(sample_instance(PATIENT))
    assert ds.PatientIdentityRemoved == "YES"
    assert "Basic Profile" in ds.DeidentificationMethod
    assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert ds.LongitudinalTemporalInformationModified == "REMOVED"


def test_private_tags_and_file_meta_source_are_gone():
    ds = deid(sample_instance(PATIENT))
    assert not any(elem.tag.is_private for elem in ds.iterall())
    assert "SourceApplicationEntityTitle" not in ds.file_meta


# --- pixels and encodings ---------------------------------------------------------------------------------


def test_pixel_data_bytes_are_carried_through_unchanged():
    src = pydicom.dcmread(io.BytesIO(sample_instance(PATIENT, rows=32, columns=48)))
    out = deid(sample_instance(PATIENT, rows=32, columns=48))
    assert out.PixelData == src.PixelData
    assert np.array_equal(out.pixel_array, src.pixel_array)


def test_implicit_little_and_explicit_big_endian_inputs_keep_their_transfer_syntax():
    implicit = deid(sample_instance(PATIENT, implicit=True))
    assert implicit.file_meta.TransferSyntaxUID == pydicom.uid.ImplicitVRLittleEndian
    assert implicit.PatientName in (None, "")
    ds = sample_dataset(PATIENT)
    source = to_bytes(ds, ExplicitVRBigEndian)
    big = deid(source)
    assert big.file_meta.TransferSyntaxUID == ExplicitVRBigEndian
    assert big.Rows == 64 and big.PatientName in (None, "")
    assert np.array_equal(big.pixel_array, pydicom.dcmread(io.BytesIO(source)).pixel_array)


def test_encapsulated_pixel_data_passes_through_untouched():
    ds = sample_dataset(PATIENT)
    frames = [b"\xff\xd8fakejpegframe-one\xff\xd9", b"\xff\xd8fakejpegframe-two!\xff\xd9"]
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    ds.NumberOfFrames = 2
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    data = to_bytes(ds, JPEGBaseline8Bit)
    out = deid(data)
    assert out.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    assert out.PixelData == ds.PixelData


def test_elements_after_pixel_data_are_de_identified_too():
    ds = sample_dataset(PATIENT)
    block = ds.private_block(0x7FE1, "TRAILING VENDOR", create=True)
    block.add_new(0x01, "LO", PATIENT.name)
    ds.add_new(0xFFFCFFFC, "OB", b"\x00" * 8)
    out_bytes = deidentify_instance(to_bytes(ds), compile_dicom_policy(None), KEYS).data
    assert PATIENT.family.encode() not in out_bytes
    out = pydicom.dcmread(io.BytesIO(out_bytes))
    assert 0x7FE10010 not in out and 0xFFFCFFFC not in out
    assert out.PixelData == ds.PixelData


# --- v1 DicomConfig profiles ------------------------------------------------------------------------------


def test_keep_all_profile_keeps_tags_but_regenerates_primary_uids():
    ds = deid(sample_instance(PATIENT), {"dicom": {"filterProfile": "KEEP_ALL_PROFILE"}})
    assert ds.PatientName == PATIENT.name
    assert ds.SOPInstanceUID == KEYS.uid(PATIENT.sop_uid(0, 0, 0))
    assert ds.StudyInstanceUID == KEYS.uid(PATIENT.study_uid(0))
    assert ds.FrameOfReferenceUID == PATIENT.frame_of_reference_uid(0), "only primary UIDs outside the Basic profile"
    assert "PatientIdentityRemoved" not in ds


def test_unspecified_v1_profile_is_keep_all_and_skip_id_redaction_keeps_uids():
    ds = deid(sample_instance(PATIENT), {"dicom": {"skipIdRedaction": True}})
    assert ds.PatientName == PATIENT.name
    assert ds.SOPInstanceUID == PATIENT.sop_uid(0, 0, 0)
    assert ds.file_meta.MediaStorageSOPInstanceUID == PATIENT.sop_uid(0, 0, 0)


def test_v1_basic_profile():
    ds = deid(sample_instance(PATIENT), {"dicom": {"filterProfile": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}})
    assert ds.PatientName in (None, "") and "PatientAddress" not in ds


def test_minimal_keep_list_profile_keeps_only_what_valid_dicom_needs():
    ds = deid(sample_instance(PATIENT), {"dicom": {"filterProfile": "MINIMAL_KEEP_LIST_PROFILE"}})
    kept = {int(elem.tag) for elem in ds}
    added = {0x00120062, 0x00120063, 0x00120064}  # PatientIdentityRemoved and the method
    assert kept - added <= MANDATORY_TAGS
    assert {0x00080018, 0x0020000D, 0x7FE00010, 0x00280010} <= kept
    assert ds.pixel_array.shape == (64, 64)


def test_keep_list_keeps_listed_and_required_tags_only():
    ds = deid(sample_instance(PATIENT), {"dicom": {"keepList": {"tags": ["PatientID", "00080060", "SliceThickness"]}}})
    assert ds.PatientID == PATIENT.patient_id and ds.Modality == "CT" and ds.SliceThickness == 2.5
    assert "PatientName" not in ds and "InstitutionName" not in ds
    assert ds.Rows == 64 and ds.SOPInstanceUID == KEYS.uid(PATIENT.sop_uid(0, 0, 0))
    assert not any(elem.tag.is_private for elem in ds)


def test_remove_list_removes_listed_tags_and_overlay_data():
    ds = sample_dataset(PATIENT)
    ds.add_new(0x60003000, "OW", b"\x00\x01" * 8)
    out = deid(to_bytes(ds), {"dicom": {"removeList": {"tags": ["PatientName", "00100020"]}}})
    assert "PatientName" not in out and "PatientID" not in out
    assert 0x60003000 not in out
    assert out.InstitutionName == "Mass Bayside Medical Center", "everything else is kept"


def test_remove_list_may_not_name_required_tags():
    with pytest.raises(ConfigError) as err:
        compile_dicom_policy(parse_config({"dicom": {"removeList": {"tags": ["PatientName", "SOPInstanceUID"]}}}))
    assert "dicom.removeList.tags[1]" in str(err.value)


def test_bad_tag_names_are_config_errors_with_their_path():
    with pytest.raises(ConfigError) as err:
        compile_dicom_policy(parse_config({"dicom": {"keepList": {"tags": ["PatientNme"]}}}))
    assert "dicom.keepList.tags[0]" in str(err.value) and "PatientNme" not in str(err.value).split(":")[0]


@pytest.mark.parametrize(
    "config,path",
    [
        ({"image": {"textRedactionMode": "REDACT_ALL_TEXT", "additionalInfoTypes": ["AGE"]}}, "image.additionalInfoTypes"),
        ({"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT",
                                                        "additionalInfoTypes": ["NOT_AN_INFO_TYPE"]}}}},
         "dicomTagConfig.options.cleanImage.additionalInfoTypes[0]"),
        ({"dicomTagConfig": {"actions": [{"queries": ["PixelData"], "cleanImageTag": {
            "textRedactionMode": "REDACT_ALL_TEXT", "excludeInfoTypes": ["DATE"]}}]}},
         "dicomTagConfig.actions[0].cleanImageTag.excludeInfoTypes"),
    ],
)
def test_image_configs_are_validated_with_their_path(config, path):
    with pytest.raises(ConfigError) as err:
        compile_dicom_policy(parse_config(config))
    assert str(err.value).startswith(path), str(err.value)


def test_image_redaction_routes_pixel_data_through_the_redactor():
    from transforms.dicom.policy import PIXEL_DATA, Act

    for config in ({"image": {"textRedactionMode": "REDACT_ALL_TEXT"}},
                   {"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT"}}}},
                   {"dicomTagConfig": {"actions": [{"queries": ["PixelData"],
                                                    "cleanImageTag": {"textRedactionMode": "REDACT_ALL_TEXT"}}]}}):
        policy = compile_dicom_policy(parse_config(config))
        assert policy.image is not None and policy.action(PIXEL_DATA, "OW") is Act.CLEAN_IMAGE
    quiet = compile_dicom_policy(parse_config({"image": {"textRedactionMode": "REDACT_NO_TEXT"}}))
    assert quiet.image is None and quiet.action(PIXEL_DATA, "OW") is Act.KEEP, "no OCR unless asked"


# --- v1beta1 DicomTagConfig -------------------------------------------------------------------------------


def test_primary_ids_keep_and_regen():
    keep = deid(sample_instance(PATIENT), {"dicomTagConfig": {"options": {"primaryIds": "KEEP"}}})
    assert keep.SOPInstanceUID == PATIENT.sop_uid(0, 0, 0) and keep.StudyInstanceUID == PATIENT.study_uid(0)
    assert keep.FrameOfReferenceUID != PATIENT.frame_of_reference_uid(0), "other U-coded UIDs follow the profile"
    assert keep.DeidentificationMethodCodeSequence[1].CodeValue == "113110"
    regen = deid(sample_instance(PATIENT), {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE",
                                                                "options": {"primaryIds": "REGEN"}}})
    assert regen.SOPInstanceUID == KEYS.uid(PATIENT.sop_uid(0, 0, 0)) and regen.PatientName == PATIENT.name


@pytest.mark.parametrize("query", ["00100010", "PatientName", "PN"])
def test_actions_select_by_tag_keyword_and_vr(query):
    ds = deid(sample_instance(PATIENT), {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE",
                                                             "actions": [{"queries": [query], "deleteTag": {}}]}})
    assert "PatientName" not in ds
    if query == "PN":
        assert "ReferringPhysicianName" not in ds and "OperatorsName" not in ds
    else:
        assert ds.ReferringPhysicianName == "Dr Hopewell^Ezekiel"


def test_each_action_kind():
    config = {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "actions": [
        {"queries": ["PatientName"], "removeTag": {}},
        {"queries": ["PatientID"], "resetTag": {}},
        {"queries": ["PatientAddress"], "deleteTag": {}},
        {"queries": ["FrameOfReferenceUID"], "regenUidTag": {}},
        {"queries": ["InstitutionName"], "keepTag": {}},
        {"queries": ["AnatomicRegionSequence"], "recurseTag": {}},
    ]}}
    ds = deid(sample_instance(PATIENT), config)
    assert "PatientName" in ds and ds.PatientName in (None, "")
    assert ds.PatientID == "ANONYMIZED"
    assert "PatientAddress" not in ds
    assert ds.FrameOfReferenceUID == KEYS.uid(PATIENT.frame_of_reference_uid(0))
    assert ds.InstitutionName == "Mass Bayside Medical Center"
    # recursion applies the (keep-all) policy inside: the items are kept, and actions reach into them
    assert ds.AnatomicRegionSequence[0].PatientName in (None, "")


def test_later_actions_win_and_actions_override_options_and_profile():
    config = {"dicomTagConfig": {"options": {"primaryIds": "KEEP"}, "actions": [
        {"queries": ["PatientName"], "keepTag": {}},
        {"queries": ["PN"], "deleteTag": {}},
        {"queries": ["ReferringPhysicianName"], "keepTag": {}},
        {"queries": ["SOPInstanceUID"], "regenUidTag": {}},
    ]}}
    ds = deid(sample_instance(PATIENT), config)
    assert "PatientName" not in ds, "the VR action comes later than the keep"
    assert ds.ReferringPhysicianName == "Dr Hopewell^Ezekiel", "the later keep wins over the VR delete"
    assert ds.SOPInstanceUID == KEYS.uid(PATIENT.sop_uid(0, 0, 0)), "actions override options"
    assert ds.StudyInstanceUID == PATIENT.study_uid(0)


def test_pixel_data_can_be_removed_by_an_action():
    ds = deid(sample_instance(PATIENT), {"dicomTagConfig": {"actions": [{"queries": ["PixelData"], "deleteTag": {}}]}})
    assert "PixelData" not in ds and ds.Rows == 64


@pytest.mark.parametrize(
    "action,query",
    [("regenUidTag", "PatientName"), ("regenUidTag", "PN"), ("recurseTag", "PatientID"), ("cleanImageTag", "Rows"),
     ("recurseTag", "LO")],
)
def test_unsupported_action_targets_are_config_errors(action, query):
    config = {"dicomTagConfig": {"actions": [{"queries": ["Modality", query], action: {}}]}}
    with pytest.raises(ConfigError) as err:
        compile_dicom_policy(parse_config(config))
    assert "dicomTagConfig.actions[0].queries[" in str(err.value)


def test_unknown_query_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        compile_dicom_policy(parse_config({"dicomTagConfig": {"actions": [{"queries": ["NotAKeyword"], "keepTag": {}}]}}))
    assert "dicomTagConfig.actions[0].queries[0]" in str(err.value)


# --- bad input --------------------------------------------------------------------------------------------


def _missing(keyword: str) -> bytes:
    ds = sample_dataset(PATIENT)
    sop = ds.SOPInstanceUID
    delattr(ds, keyword)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.file_meta = meta
    out = DicomBytesIO()
    dcmwrite(out, ds, enforce_file_format=False)
    raw = out.getvalue()  # a Part-10 file (preamble, DICM, file meta) lacking only the one UID
    return raw if raw[128:132] == b"DICM" else b"\x00" * 128 + b"DICM" + raw


def _no_meta() -> bytes:
    ds = sample_dataset(PATIENT)
    out = DicomBytesIO()
    dcmwrite(out, ds, implicit_vr=False, little_endian=True)
    return out.getvalue()


GOOD = sample_instance(PATIENT)


@pytest.mark.parametrize(
    "name,data,code",
    [
        ("empty", b"", "INVALID_ARGUMENT"),
        ("not dicom", b"%PDF-1.4 this is not an image" * 20, "INVALID_ARGUMENT"),
        ("no file meta", _no_meta(), "INVALID_ARGUMENT"),
        ("truncated header", GOOD[:700], None),
        ("truncated pixels", GOOD[:-100], "DATA_LOSS"),
        ("missing SOPInstanceUID", _missing("SOPInstanceUID"), "INVALID_ARGUMENT"),
        ("missing StudyInstanceUID", _missing("StudyInstanceUID"), "INVALID_ARGUMENT"),
    ],
)
def test_bad_input_raises_a_phi_free_deidentify_error(name, data, code):
    with pytest.raises(DeidentifyError) as err:
        deidentify_instance(data, compile_dicom_policy(None), KEYS)
    if code:
        assert err.value.code == code
    message = str(err.value)
    if name.startswith("missing "):  # refused for the missing UID itself, not for an unrelated reason
        assert message.endswith(f"{name.split()[1]} ({'0008,0018' if 'SOP' in name else '0020,000D'}) is missing")
    for phi in PATIENT.phi_strings() + [PATIENT.sop_uid(0, 0, 0), PATIENT.study_uid(0)]:
        assert phi not in message


def test_invalid_uid_contents_fail_only_that_instance():
    ds = sample_dataset(PATIENT)
    ds.FrameOfReferenceUID = "1.2.3"
    data = bytearray(to_bytes(ds))
    at = bytes(data).index(b"1.2.3\x00")
    data[at : at + 6] = b"\xff\xfe\xfd\xfc\xfb\x00"
    with pytest.raises(DeidentifyError) as err:
        deidentify_instance(bytes(data), compile_dicom_policy(None), KEYS)
    assert "FrameOfReferenceUID" in str(err.value)

"""Text inspection inside DICOM tags: DEIDENTIFY_TAG_CONTENTS, cleanTextTag and the Clean Descriptors Option."""

from __future__ import annotations

import io

import pydicom
import pytest

from tests import oracles
from transforms.config import parse_config
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.dicom.sample import SamplePatient, sample_dataset
from tests.dicom.test_deidentify import to_bytes

KEYS = Keys(b"x" * 32)
PATIENT = SamplePatient(8)
MAX_LENGTH = {"AE": 16, "AS": 4, "CS": 16, "DA": 8, "DT": 26, "LO": 64, "SH": 16, "ST": 1024, "LT": 10240, "TM": 14}


def phi_in_descriptions() -> bytes:
    ds = sample_dataset(PATIENT)
    ds.StudyDescription = f"CT for {PATIENT.given} {PATIENT.family}"
    ds.SeriesDescription = f"MRN {PATIENT.patient_id}"
    ds.ImageComments = (f"Patient {PATIENT.family}, {PATIENT.given} ({PATIENT.patient_id}), call {PATIENT.phone}; "
                        f"seen 03/14/2023 at {PATIENT.address}")
    ds.AdditionalPatientHistory = f"{PATIENT.family} reports chest pain since 2023-03-01"
    ds.RequestedProcedureDescription = f"Follow-up for {PATIENT.family}"
    return to_bytes(ds)


PHI = [PATIENT.given, PATIENT.family, PATIENT.patient_id, PATIENT.phone, "03/14/2023", "2023-03-01",
       PATIENT.address, PATIENT.address.split(",")[0], PATIENT.birth_date]


def _check_valid(data: bytes) -> pydicom.Dataset:
    ds = pydicom.dcmread(io.BytesIO(data))
    for elem in ds.iterall():
        if elem.VR in MAX_LENGTH and isinstance(elem.value, str):
            assert len(elem.value) <= MAX_LENGTH[elem.VR], elem.keyword
        if elem.VR == "PN" and elem.value:
            for group in str(elem.value).split("="):
                assert len(group) <= 64
    return ds


@pytest.mark.parametrize(
    "config",
    [
        {"dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"}},
        {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}},
        {"dicomTagConfig": {"options": {"cleanDescriptors": {}}}},
    ],
)
def test_phi_typed_into_descriptions_does_not_survive(config):
    out = deidentify_instance(phi_in_descriptions(), compile_dicom_policy(parse_config(config)), KEYS).data
    for value in PHI:
        assert value.encode() not in out, "a value typed into free text survived"
    _check_valid(out)


def test_clean_descriptors_keeps_the_clinical_part_of_descriptions():
    policy = compile_dicom_policy(parse_config({"dicomTagConfig": {"options": {"cleanDescriptors": {}}}}))
    ds = _check_valid(deidentify_instance(phi_in_descriptions(), policy, KEYS).data)
    assert ds.StudyDescription.startswith("CT for")
    assert "chest pain" in ds.AdditionalPatientHistory
    assert ds.PatientName in (None, ""), "the Basic profile still applies to identifying tags"
    assert "Clean Descriptors" in ds.DeidentificationMethod


def test_tag_contents_keeps_tags_and_rewrites_only_sensitive_text():
    policy = compile_dicom_policy(parse_config({"dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"}}))
    ds = _check_valid(deidentify_instance(phi_in_descriptions(), policy, KEYS).data)
    assert ds.Modality == "CT" and ds.StudyDescription.startswith("CT for")
    assert "PatientName" in ds and PATIENT.family not in str(ds.PatientName)
    assert ds.SOPInstanceUID == oracles.keyed_uid(KEYS, PATIENT.sop_uid(0, 0, 0))


def test_clean_text_tag_action_applies_the_text_config():
    config = {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE",
                                 "actions": [{"queries": ["ImageComments"], "cleanTextTag": {}}]},
              "text": {"additionalTransformations": [{"infoTypes": ["PHONE_NUMBER"], "characterMaskConfig": {"maskingCharacter": "#"}}]}}
    source = sample_dataset(PATIENT)
    source.ImageComments = "Results: call 617-555-0199 tomorrow"
    source.StudyDescription = f"CT for {PATIENT.given} {PATIENT.family}"
    ds = _check_valid(deidentify_instance(to_bytes(source), compile_dicom_policy(parse_config(config)), KEYS).data)
    assert ds.ImageComments == "Results: call ############ tomorrow"
    assert ds.StudyDescription == f"CT for {PATIENT.given} {PATIENT.family}", "only the selected tag is cleaned"


def test_dates_in_text_are_shifted_consistently_for_the_patient():
    config = {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE",
                                 "actions": [{"queries": ["StudyDescription", "StudyDate"], "cleanTextTag": {}}]}}
    ds = sample_dataset(PATIENT)
    ds.StudyDescription = "Scan on 2023-03-01"
    ds.StudyDate = "20230301"
    out = pydicom.dcmread(io.BytesIO(deidentify_instance(to_bytes(ds), compile_dicom_policy(parse_config(config)), KEYS).data))
    shift = oracles.days(KEYS, PATIENT.patient_id)
    import datetime

    expected = datetime.date(2023, 3, 1) + datetime.timedelta(days=shift)
    assert out.StudyDate == expected.strftime("%Y%m%d")
    assert out.StudyDescription == f"Scan on {expected.isoformat()}"


def test_clean_text_tag_on_a_non_text_vr_is_a_config_error():
    from transforms.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        compile_dicom_policy(parse_config({"dicomTagConfig": {"actions": [{"queries": ["Rows"], "cleanTextTag": {}}]}}))
    assert "dicomTagConfig.actions[0].queries[0]" in str(err.value)


def test_text_cleaning_is_deterministic():
    policy = compile_dicom_policy(parse_config({"dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"}}))
    data = phi_in_descriptions()
    assert deidentify_instance(data, policy, KEYS).data == deidentify_instance(data, policy, KEYS).data

"""Keyed pseudonyms against independent oracles (tests/oracles.py, hmac directly) and fixed known vectors: a date
shift, UID or FHIR id derivation that drifts from README's documented one fails here, not only in its shape."""

from __future__ import annotations

import io

import pydicom

from tests import oracles
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.dicom.sample import SamplePatient, sample_instance
from transforms.fhir.ids import new_id, rewrite_reference

K = b"K" * 32
K16 = bytes(range(16))

# Known vectors: computed once from README's derivation (tests/oracles.py) and reviewed; literal on purpose.
SHIFTS = {(K, "MRN7310000"): 43, (K, "MRN7310001"): -33, (K, "MRN7310002"): 74, (K, "P1"): -14,
          (K, "pat-key"): -40, (K16, "P1"): -20, (K16, "k"): -80}
UIDS = {(K, "1.2.3.4.5"): "2.25.129376923606491420352492280341583622395",
        (K16, "1.2.840.113619.2.1"): "2.25.235443786450586955230747707168685017634"}
FHIR_IDS = {(K, "123"): "317e8d20-5ca0-4336-8ade-83dd209f19ad", (K16, "pat1"): "01e796b0-b6b2-4de0-b063-ad5ed2417f55",
            (K, "Pat-ABC"): "cf613834-c81d-436d-8f52-03837a94ac54"}


def test_known_vectors():
    for (key, patient), days in SHIFTS.items():
        assert Keys(key).date_shift_days(patient) == days, patient
        assert Keys(b"x" * 32, date_shift_key=key).date_shift_days(patient) == days  # the date-shift key wins
    for (key, original), uid in UIDS.items():
        assert Keys(key).uid(original) == uid
    for (key, original), fid in FHIR_IDS.items():
        assert new_id(Keys(key), original) == fid
        assert rewrite_reference(Keys(key), f"Patient/{original}") == f"Patient/{fid}"


def test_the_oracles_reproduce_the_known_vectors():
    # the oracle itself is checked against the literals, so a test comparing with it compares with README
    assert {k: oracles.shift_days(*k) for k in SHIFTS} == SHIFTS
    assert {k: oracles.uid(*k) for k in UIDS} == UIDS
    assert {k: oracles.fhir_id(*k) for k in FHIR_IDS} == FHIR_IDS


def test_shifts_uids_and_ids_follow_the_documented_derivation_for_many_values():
    shifts = set()
    for key in (K, K16, b"q" * 24):
        keys = Keys(key)
        for i in range(400):
            patient = f"MRN{i:07d}"
            days = keys.date_shift_days(patient)
            assert days == oracles.shift_days(key, patient)
            assert days != 0 and -100 <= days <= 100
            shifts.add(days)
            assert keys.uid(f"1.2.3.{i}") == oracles.uid(key, f"1.2.3.{i}")
            assert new_id(keys, f"obs-{i}") == oracles.fhir_id(key, f"obs-{i}")
    assert len(shifts) > 150 and min(shifts) == -100 and max(shifts) == 100  # a spread, not a constant


def test_a_de_identified_instance_carries_the_oracle_date_shift_and_uids():
    # end to end through the DICOM de-identifier, with the dates shifting config: literal expected dates
    from transforms.config import parse_config

    config = parse_config({"dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"},
                           "text": {"additionalTransformations": [{"infoTypes": ["DATE"], "dateShiftConfig": {}}]}})
    patient = SamplePatient(0)
    data = sample_instance(patient)
    source = pydicom.dcmread(io.BytesIO(data))
    out = pydicom.dcmread(io.BytesIO(deidentify_instance(data, compile_dicom_policy(config), Keys(K)).data))
    assert out.SOPInstanceUID == oracles.uid(K, source.SOPInstanceUID)
    assert out.StudyInstanceUID == oracles.uid(K, source.StudyInstanceUID)
    assert source.PatientID == "MRN7310000" and source.StudyDate == "20230101"
    assert out.StudyDate == "20230213"  # 2023-01-01 + 43 days (SHIFTS[K, "MRN7310000"])

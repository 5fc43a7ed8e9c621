"""Randomly corrupted instances: each is de-identified into a parseable instance without the patient's
identifiers, or refused with a DeidentifyError — never an unexpected exception, never a leak."""

from __future__ import annotations

import io
import random
import warnings

import pydicom

from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.dicom.sample import SamplePatient, sample_instance
from transforms.errors import DeidentifyError


def test_corrupted_bytes_never_crash_and_never_leak():
    patient = SamplePatient(2)
    sources = [sample_instance(patient, instance=i, implicit=bool(i % 2)) for i in range(4)]
    policy, keys = compile_dicom_policy(None), Keys(b"z" * 32)
    rnd = random.Random(7)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(400):
        data = bytearray(rnd.choice(sources))
        for _ in range(rnd.randint(1, 6)):
            data[rnd.randrange(132, len(data) - 8192)] = rnd.randrange(256)
        try:
            out = deidentify_instance(bytes(data), policy, keys).data
        except DeidentifyError as err:
            assert patient.family not in err.message and patient.patient_id not in err.message
            outcomes["refused"] += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(out))
            for elem in ds.iterall():
                text = elem.value.decode("latin-1") if isinstance(elem.value, bytes) else str(elem.value)
                for phi in (patient.family, patient.given, patient.patient_id, patient.phone):
                    assert phi not in text, f"{elem.keyword or elem.tag} kept an identifier"
        outcomes["ok"] += 1
    assert outcomes["ok"] > 100 and outcomes["refused"] > 100

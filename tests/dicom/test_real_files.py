"""Real files from another project (pydicom's own test data): every one is de-identified or cleanly refused."""

from __future__ import annotations

import io
import os
import warnings

import pydicom
import pytest
from pydicom.data import get_testdata_files

from tests import oracles
from transforms.config import parse_config
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.errors import DeidentifyError

KEYS = Keys(b"r" * 32)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    FILES = sorted(f for f in get_testdata_files("*") if os.path.isfile(f))
POLICIES = {
    "basic": compile_dicom_policy(None),
    "tag-contents": compile_dicom_policy(parse_config({"dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"}})),
}


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
@pytest.mark.parametrize("profile", sorted(POLICIES))
def test_real_file_is_deidentified_or_refused_cleanly(path, profile):
    data = open(path, "rb").read()
    try:
        out = deidentify_instance(data, POLICIES[profile], KEYS)
    except DeidentifyError as err:
        # a clean refusal names the problem, never an unexpected failure inside our code
        assert "cannot be processed" not in err.message and "cannot be encoded" not in err.message, err.message
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = pydicom.dcmread(io.BytesIO(out.data))
        for _ in result.iterall():
            pass
        source = pydicom.dcmread(io.BytesIO(data))
    assert result.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
    assert result.SOPInstanceUID == oracles.keyed_uid(KEYS, str(source.SOPInstanceUID))
    assert ("PixelData" in result) == ("PixelData" in source), "pixel data lost or invented"
    if "PixelData" in source:
        assert result.PixelData == source.PixelData, "pixel data changed"
    if any(ch.isalpha() for ch in str(source.get("PatientName", ""))):
        assert str(result.get("PatientName", "")) != str(source.PatientName), "the patient's name survived"

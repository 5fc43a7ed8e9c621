"""`deidflow dicom-stores deidentify` through a subprocess: exit codes, summaries, launch rules, nothing lost."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pydicom
import pytest

from tests.conftest import (
    DATASET,
    DEST,
    REPO,
    SOURCE,
    error_records,
    run_cli,
    store_files,
    summary_from_stdout,
    write_store,
)
from transforms.dicom.sample import SamplePatient, sample_dataset, sample_instance, sample_store_files

pytestmark = pytest.mark.pipeline


@pytest.fixture
def root(tmp_path):
    files = dict(sample_store_files(patients=2, studies=1, series=2, instances=2))
    write_store(tmp_path / "stores", SOURCE, files)
    return tmp_path / "stores"


def deidentify(root, *extra, source=SOURCE, dest=DEST):
    return run_cli("dicom-stores", "deidentify", source, "--destination-store", dest, "--store-root", str(root), *extra)


def test_store_is_deidentified_with_a_summary_and_no_phi(root):
    proc = deidentify(root)
    assert proc.returncode == 0, proc.stderr
    summary = summary_from_stdout(proc.stdout)
    assert summary["metadata"]["counter"] == {"success": "8", "failure": "0"}
    assert summary["metadata"]["apiMethodName"].endswith("DeidentifyDicomStore")
    assert summary["deidflow"]["destinationCreated"] is True
    # the Basic Profile edition the run applied is on record (catches the summary losing policy.edition)
    assert summary["deidflow"]["profileEdition"] == "DICOM PS3.15 2026d Table E.1-1"
    dest = root / DEST
    written = json.loads((dest / ".deidflow" / "runs" / summary["name"].rsplit("/", 1)[-1] / "summary.json").read_text())
    assert written["metadata"]["counter"] == summary["metadata"]["counter"]
    outputs = store_files(dest)
    assert len(outputs) == 8
    phi = set()
    for p in range(2):
        patient = SamplePatient(p)
        phi |= set(patient.phi_strings()) | {patient.study_uid(0), patient.series_uid(0, 0), patient.sop_uid(0, 0, 0)}
    for relative, data in outputs.items():
        ds = pydicom.dcmread(io.BytesIO(data))
        assert relative == f"{ds.StudyInstanceUID}/{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}.dcm"
        for value in phi:
            assert value.encode() not in data and value not in relative
    assert error_records(dest) == []
    key_text = summary["deidflow"]["keyFingerprint"]
    assert len(key_text) == 16


def test_runs_are_deterministic_across_runs_and_worker_counts(root, key_file):
    first = deidentify(root, "--key-file", str(key_file))
    second = deidentify(root, "--key-file", str(key_file), dest=f"{DATASET}/dicomStores/again")
    parallel = deidentify(root, "--key-file", str(key_file), "--direct_num_workers", "2",
                          "--direct_running_mode", "multi_processing", "--in-process-below", "0",
                          dest=f"{DATASET}/dicomStores/parallel")
    for proc in (first, second, parallel):
        assert proc.returncode == 0, proc.stderr
    reference = store_files(root / DEST)
    assert len(reference) == 8
    assert store_files(root / DATASET / "dicomStores" / "again") == reference
    assert store_files(root / DATASET / "dicomStores" / "parallel") == reference
    assert summary_from_stdout(parallel.stdout)["metadata"]["counter"]["success"] == "8"


def test_rerun_into_an_existing_store_rewrites_the_same_bytes(root, key_file):
    assert deidentify(root, "--key-file", str(key_file)).returncode == 0
    before = store_files(root / DEST)
    proc = deidentify(root, "--key-file", str(key_file))
    assert proc.returncode == 0
    assert summary_from_stdout(proc.stdout)["deidflow"]["destinationCreated"] is False
    assert store_files(root / DEST) == before
    assert len(list((root / DEST / ".deidflow" / "runs").iterdir())) == 2


def _without_meta(ds) -> bytes:
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, implicit_vr=False, little_endian=True)
    return out.getvalue()


def test_bad_inputs_become_error_records_and_nothing_is_lost(tmp_path):
    patient = SamplePatient(5)
    good = sample_instance(patient)
    no_sop = sample_dataset(patient, instance=1)
    del no_sop.SOPInstanceUID
    files = {
        "good/1.dcm": good,
        "good/2": sample_instance(patient, instance=2),
        "zz-dup/1-copy.dcm": good,
        "bad/zero.dcm": b"",
        "bad/truncated.dcm": good[: len(good) // 2],
        "bad/report.pdf": b"%PDF-1.7 " + b"x" * 300,
        "bad/nometa.dcm": _without_meta(sample_dataset(patient, instance=3)),
    }
    root = tmp_path / "stores"
    write_store(root, SOURCE, files)
    proc = deidentify(root)
    assert proc.returncode == 3, proc.stderr
    summary = summary_from_stdout(proc.stdout)
    assert summary["metadata"]["counter"] == {"success": "2", "failure": "5"}
    records = error_records(root / DEST)
    failed = {r["resource_name"]: r["error"]["code"] for r in records}  # store-relative names (issue 18)
    assert failed == {
        "zz-dup/1-copy.dcm": "ALREADY_EXISTS",
        "bad/zero.dcm": "INVALID_ARGUMENT",
        "bad/truncated.dcm": "DATA_LOSS",
        "bad/report.pdf": "INVALID_ARGUMENT",
        "bad/nometa.dcm": "INVALID_ARGUMENT",
    }
    assert len(store_files(root / DEST)) == 2
    # every source file is either in the destination or in the error records
    assert len(store_files(root / DEST)) + len(records) == len(files)
    text = json.dumps(records)
    for phi in patient.phi_strings():
        assert phi not in text


def test_missing_sop_instance_uid_is_an_error_record(tmp_path):
    patient = SamplePatient(6)
    ds = sample_dataset(patient)
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    del ds.SOPInstanceUID
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, enforce_file_format=False, implicit_vr=False, little_endian=True)
    data = b"\x00" * 128 + b"DICM" + out.getvalue() if out.getvalue()[128:132] != b"DICM" else out.getvalue()
    root = tmp_path / "stores"
    write_store(root, SOURCE, {"x.dcm": data})
    proc = deidentify(root)
    assert proc.returncode == 3
    [record] = error_records(root / DEST)
    assert "SOPInstanceUID" in record["error"]["message"]


@pytest.mark.parametrize(
    "source,dest,message",
    [
        ("projects/p1/locations/us/datasets/ds/dicomStores", DEST, "SOURCE_STORE: not a valid resource name"),
        (SOURCE, "projects/p1/locations/us/datasets/ds/fhirStores/x", "--destination-store: not a valid resource name"),
        (SOURCE, "projects/p2/locations/us/datasets/ds/dicomStores/dst", "across projects"),
        (SOURCE, "projects/p1/locations/eu/datasets/ds/dicomStores/dst", "across locations"),
        (SOURCE, SOURCE, "must differ from the source"),
        (f"{DATASET}/dicomStores/missing", DEST, "does not exist"),
        (SOURCE, "projects/p1/locations/us/datasets/nodataset/dicomStores/dst", "destination dataset"),
        (SOURCE, "projects/p1/locations/us/datasets/../dicomStores/dst", "not a valid resource name"),
    ],
)
def test_launch_rules_fail_with_exit_2_and_write_nothing(root, source, dest, message):
    before = sorted(str(p) for p in root.rglob("*"))
    proc = deidentify(root, source=source, dest=dest)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert sorted(str(p) for p in root.rglob("*")) == before


@pytest.mark.parametrize(
    "config,message",
    [
        ({"dicom": {"filterProfile": "BASIC"}}, "dicom.filterProfile: unknown value"),
        ({"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "regenUidTag": {}}]}},
         "dicomTagConfig.actions[0].queries[0]"),
        ({"image": {"textRedactionMode": "REDACT_ALL_TEXT", "excludeInfoTypes": ["DATE"]}}, "image.excludeInfoTypes"),
        ({"text": {"transformations": [{"dateShiftConfig": {"kmsWrapped": {"cryptoKey": "k", "wrappedKey": "AAAAAAAAAAAAAAAAAAAAAA=="}}}]}},
         "not supported yet: text.transformations[0].dateShiftConfig.kmsWrapped"),
    ],
)
def test_bad_configs_fail_before_launch(root, tmp_path, config, message):
    path = tmp_path / "deid.json"
    path.write_text(json.dumps(config))
    proc = deidentify(root, "--config-file", str(path))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not (root / DEST).exists()


def test_bad_key_file_and_missing_config_file_are_launch_errors(root, tmp_path):
    bad_key = tmp_path / "bad.key"
    bad_key.write_text("c2hvcnQ=\n")
    proc = deidentify(root, "--key-file", str(bad_key))
    assert proc.returncode == 2 and "--key-file" in proc.stderr and "c2hvcnQ" not in proc.stderr
    proc = deidentify(root, "--config-file", str(tmp_path / "nope.json"))
    assert proc.returncode == 2 and "--config-file" in proc.stderr
    assert not (root / DEST).exists()


def test_help_explains_the_command():
    proc = run_cli("dicom-stores", "deidentify", "--help")
    assert proc.returncode == 0
    for text in ("SOURCE_STORE", "--destination-store", "--config-file", "--store-root", "--key-file", "Exit codes"):
        assert text in proc.stdout


def test_dataflow_runner_without_the_gcp_extra_is_a_launch_error(monkeypatch):
    import sys

    from pipelines.launch import require_runner_installed
    from transforms.errors import LaunchError

    require_runner_installed(["--runner", "DirectRunner", "--direct_num_workers", "2"])
    monkeypatch.setitem(sys.modules, "google.cloud.dataflow", None)  # as on a base install without deidflow[gcp]
    for args in (["--runner", "DataflowRunner"], ["--runner=dataflow"]):
        with pytest.raises(LaunchError, match=r"deidflow\[gcp\]"):
            require_runner_installed(args)


def test_dataflow_runner_on_a_base_install_exits_2_and_writes_nothing(root):
    # a base install is simulated (Beam's Google Cloud extras hidden) rather than skipped where they are installed
    args = ["dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root),
            "--runner", "DataflowRunner", "--project", "p", "--region", "us-central1"]
    code = ("import sys; sys.modules['google.cloud.dataflow'] = None; from pipelines.cli import main; "
            f"sys.exit(main({args!r}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 2 and "deidflow[gcp]" in proc.stderr
    assert not (root / DEST).exists()


def test_no_runner_or_direct_runner_means_the_local_fn_api_runner_never_prism():
    from pipelines.local_runner import RUNNER_PATH, with_local_runner

    assert with_local_runner(["--direct_num_workers", "2"]) == ["--direct_num_workers", "2", f"--runner={RUNNER_PATH}"]
    assert with_local_runner(["--runner", "DirectRunner"]) == [f"--runner={RUNNER_PATH}"]
    assert with_local_runner(["--runner=PrismRunner", "--x=1"]) == ["--x=1", "--runner=PrismRunner"]
    assert with_local_runner(["--runner", "DataflowRunner"]) == ["--runner=DataflowRunner"]


def test_a_local_run_does_not_try_to_download_prism(root):
    proc = run_cli("-v", "dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root),
                   "--runner", "DirectRunner", "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "prism" not in proc.stderr.lower()
    assert summary_from_stdout(proc.stdout)["metadata"]["counter"]["success"] == "8"

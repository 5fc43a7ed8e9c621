"""`--store-root gs://...` against a real GCS emulator: stores, config, key and filter files, run records in the bucket."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re

import pydicom
import pytest

from tests.conftest import DATASET, DEST, SOURCE, summary_from_stdout
from tests.storage.conftest import run_deidflow
from transforms.dicom.sample import SamplePatient, sample_store_files

pytestmark = [pytest.mark.pipeline, pytest.mark.service]

ROOT = "stores"
CONFIG_TEXT = json.dumps({"dicom": {"filterProfile": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}})


def phi_strings(patients: int) -> set[str]:
    phi = set()
    for p in range(patients):
        patient = SamplePatient(p)
        phi |= set(patient.phi_strings()) | {patient.study_uid(0), patient.series_uid(0, 0), patient.sop_uid(0, 0, 0)}
    return phi


@pytest.fixture
def bucket(gcs):
    """A DICOM store of 2 patients x 2 series x 2 instances plus one unreadable file, a dataset, a config, a key."""
    files = dict(sample_store_files(patients=2, studies=1, series=2, instances=2))
    files["broken/not-dicom.dcm"] = b"this is not a DICOM file"
    gcs.upload(f"{ROOT}/{SOURCE}", files)
    gcs.upload("inputs", {"deid.json": CONFIG_TEXT.encode(),
                          "run.key": base64.b64encode(b"K" * 32) + b"\n"})
    return gcs


def deidentify(gcs, *extra: str, dest: str = DEST):
    return run_deidflow("dicom-stores", "deidentify", SOURCE, "--destination-store", dest,
                        "--store-root", gcs.uri(ROOT), *extra, env={"STORAGE_EMULATOR_HOST": gcs.host})


def test_store_in_a_bucket_is_deidentified_with_records_in_the_bucket(bucket):
    proc = deidentify(bucket, "--config-file", bucket.uri("inputs/deid.json"),
                      "--key-file", bucket.uri("inputs/run.key"))
    assert proc.returncode == 3, proc.stderr  # completed; the unreadable file is one error record
    summary = summary_from_stdout(proc.stdout)
    assert summary["metadata"]["counter"] == {"success": "8", "failure": "1"}
    assert summary["deidflow"]["configDigest"] == hashlib.sha256(CONFIG_TEXT.encode()).hexdigest()[:16]
    assert summary["deidflow"]["runDir"].startswith(bucket.uri(ROOT, DEST, ".deidflow/runs/"))

    outputs = bucket.store_files(f"{ROOT}/{DEST}")
    assert len(outputs) == 8
    phi = phi_strings(2)
    for relative, data in outputs.items():
        ds = pydicom.dcmread(io.BytesIO(data))
        assert relative == f"{ds.StudyInstanceUID}/{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}.dcm"
        for value in phi:
            assert value.encode() not in data and value not in relative

    summaries, errors = bucket.run_records(f"{ROOT}/{DEST}")
    assert [s["metadata"]["counter"] for s in summaries] == [summary["metadata"]["counter"]]
    assert len(errors) == 1
    assert errors[0]["resource_name"] == "broken/not-dicom.dcm"  # store-relative (issue 18): no bucket, no root
    assert "this is not" not in json.dumps(errors)
    # nothing was written outside the store root's destination store (and the inputs we uploaded)
    written = {name for name in bucket.objects() if not name.startswith((f"{ROOT}/{SOURCE}/", "inputs/"))}
    assert written and all(name.startswith(f"{ROOT}/{DEST}/") for name in written)


def test_key_file_from_a_bucket_gives_the_same_bytes_as_a_local_run(bucket, tmp_path):
    from tests.conftest import write_store

    assert deidentify(bucket, "--key-file", bucket.uri("inputs/run.key")).returncode == 3
    local_root = tmp_path / "stores"
    write_store(local_root, SOURCE, bucket.store_files(f"{ROOT}/{SOURCE}"))
    key = tmp_path / "run.key"
    key.write_bytes(bucket.objects("inputs")["run.key"])
    proc = run_deidflow("dicom-stores", "deidentify", SOURCE, "--destination-store", DEST,
                        "--store-root", str(local_root), "--key-file", str(key))
    assert proc.returncode == 3, proc.stderr
    local = {str(p.relative_to(local_root / DEST)): p.read_bytes()
             for p in (local_root / DEST).rglob("*.dcm") if ".deidflow" not in p.parts}
    assert bucket.store_files(f"{ROOT}/{DEST}") == local


def test_filter_file_from_a_bucket_limits_the_run(bucket):
    patient = SamplePatient(1)
    bucket.upload("inputs", {"filter.txt": f"/studies/{patient.study_uid(0)}/series/{patient.series_uid(0, 1)}\n"
                             .encode()})
    proc = deidentify(bucket, "--dicom-filter-file", bucket.uri("inputs/filter.txt"))
    assert proc.returncode == 3, proc.stderr  # an unreadable file is passed on by the filter, then recorded
    assert summary_from_stdout(proc.stdout)["metadata"]["counter"] == {"success": "2", "failure": "1"}
    outputs = bucket.store_files(f"{ROOT}/{DEST}")
    assert len(outputs) == 2
    assert len({pydicom.dcmread(io.BytesIO(d)).SeriesInstanceUID for d in outputs.values()}) == 1


def test_launch_errors_in_a_bucket_write_nothing(bucket):
    before = set(bucket.objects())
    missing = run_deidflow("dicom-stores", "deidentify", f"{DATASET}/dicomStores/nothere", "--destination-store",
                           DEST, "--store-root", bucket.uri(ROOT), env={"STORAGE_EMULATOR_HOST": bucket.host})
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    no_config = deidentify(bucket, "--config-file", bucket.uri("inputs/missing.json"))
    assert no_config.returncode == 2
    assert set(bucket.objects()) == before


@pytest.mark.parametrize("join", ["side", "keyed"])
def test_fhir_store_in_a_bucket_gives_the_same_bytes_as_a_local_run(gcs, tmp_path, join):
    """The FHIR pipeline reads NDJSON in byte ranges, and reads each batch's range again to de-identify it:
    against GCS (ranged reads through Beam's GCS filesystem) the output equals a local run's. The keyed join
    also writes its spill files into the destination's run folder and reads them back in ranges: in a bucket
    it gives the local side join's bytes and leaves no temporary object behind (catches spill files written or
    read only through local paths, and a clean-up that skips remote run folders)."""
    from tests.conftest import store_files

    fhir_source, fhir_dest = f"{DATASET}/fhirStores/src", f"{DATASET}/fhirStores/dst"
    local_root = tmp_path / "stores"
    sample = run_deidflow("sample", "fhir-store", fhir_source, "--store-root", str(local_root), "--patients", "300")
    assert sample.returncode == 0, sample.stderr
    files = {str(p.relative_to(local_root)): p.read_bytes() for p in local_root.rglob("*") if p.is_file()}
    assert max(len(data) for name, data in files.items() if name.endswith(".ndjson")) > 400_000  # split in ranges
    gcs.upload(ROOT, files)
    key = tmp_path / "run.key"
    key.write_text(base64.b64encode(b"F" * 32).decode())
    common = ("--key-file", str(key), "--reference-date", "2025-06-01", "--direct_num_workers", "2",
              "--direct_running_mode", "multi_processing", "--in-process-below", "0")
    remote = run_deidflow("fhir-stores", "deidentify", fhir_source, "--destination-store", fhir_dest,
                          "--store-root", gcs.uri(ROOT), *common, "--patient-join", join,
                          env={"STORAGE_EMULATOR_HOST": gcs.host})
    assert remote.returncode == 0, remote.stderr
    local = run_deidflow("fhir-stores", "deidentify", fhir_source, "--destination-store", fhir_dest,
                         "--store-root", str(local_root), *common)
    assert local.returncode == 0, local.stderr
    assert summary_from_stdout(remote.stdout)["metadata"]["counter"] == \
        summary_from_stdout(local.stdout)["metadata"]["counter"]

    def by_shard(files: dict[str, bytes]) -> dict[str, bytes]:  # shard names carry a tag of the source's path
        return {re.sub(r"-[0-9a-f]{8}-", "-", name): data for name, data in files.items()}

    in_bucket = by_shard(gcs.store_files(f"{ROOT}/{fhir_dest}"))
    assert len(in_bucket) > 5 and in_bucket == by_shard(store_files(local_root / fhir_dest))
    assert not [name for name in gcs.objects(f"{ROOT}/{fhir_dest}") if "/tmp/" in name]

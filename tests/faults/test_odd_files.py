"""Only regular files are read, and every entry of a source store is processed or recorded (issue 18 items 5, 7,
8): FIFOs, devices, dangling symlinks, loops and oversized files become error records with store-relative names
(never a hang: the run is bounded by a subprocess timeout); folder symlinks, nested ``.deidflow/`` folders and
``.tmp-`` names are de-identified like any other file."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import DATASET, DEST, SOURCE, run_cli, summary_from_stdout, write_store
from transforms.dicom.sample import sample_store_files

pytestmark = pytest.mark.pipeline


def test_odd_entries_are_error_records_and_odd_names_are_data(tmp_path):
    root = tmp_path / "stores"
    instances = [data for _, data in sample_store_files(patients=1, studies=1, series=1, instances=7)]
    names = ["a/0.dcm", "a/1.dcm", "MRN1234567/Smith_John_19650312.dcm", ".tmp-notes.dcm", "sub/.deidflow/x.dcm"]
    src = write_store(root, SOURCE, dict(zip(names, instances)))
    elsewhere = write_store(root, f"{DATASET}/dicomStores/other", {"e/5.dcm": instances[5], "e/6.dcm": instances[6]})
    (src / "linked").symlink_to(elsewhere / "e")  # a folder symlink in the same location: followed
    os.mkfifo(src / "fifo.dcm")  # read naively, it blocks forever
    (src / "zero.dcm").symlink_to("/dev/zero")  # read naively, it never ends
    (src / "dangling.dcm").symlink_to(tmp_path / "gone.dcm")
    (src / "loop").symlink_to(src)  # a folder loop
    cap = max(len(d) for d in instances) + 1000
    (src / "big.dcm").write_bytes(b"\0" * (2 * cap))
    env_cap = {"DEIDFLOW_MAX_FILE_BYTES": str(cap)}
    os.environ.update(env_cap)
    try:
        proc = run_cli("dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root),
                       "--quiet", timeout=400)
    finally:
        os.environ.pop("DEIDFLOW_MAX_FILE_BYTES")
    assert proc.returncode == 3, proc.stderr[-3000:]
    summary = summary_from_stdout(proc.stdout)
    assert summary["metadata"]["counter"] == {"success": "7", "failure": "5"}
    dest = root / DEST
    assert len([p for p in dest.rglob("*.dcm") if p.relative_to(dest).parts[0] != ".deidflow"]) == 7
    run_dir = next(dest.glob(".deidflow/runs/*"))
    records = {}
    for path in run_dir.glob("errors*.ndjson"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            records[record["resource_name"]] = record["error"]["message"]
    assert sorted(records) == ["big.dcm", "dangling.dcm", "fifo.dcm", "loop", "zero.dcm"]
    assert "FIFO" in records["fifo.dcm"] and "FIFO" in records["zero.dcm"]
    assert "limit" in records["big.dcm"] and "dangling" in records["dangling.dcm"] and "loop" in records["loop"]
    report = (run_dir / "report.html").read_text()
    for text in (json.dumps(records), report):
        assert str(tmp_path) not in text  # store-relative names only
    assert "Smith_John" not in json.dumps(records)


def test_a_store_named_dot_mr_is_deidentified_at_dataset_level(tmp_path):
    root = tmp_path / "stores"
    files = dict(sample_store_files(patients=1, studies=1, series=1, instances=2))
    write_store(root, f"{DATASET}/dicomStores/.mr", files)
    proc = run_cli("datasets", "deidentify", DATASET, "--destination-dataset",
                   "projects/p1/locations/us/datasets/out", "--store-root", str(root), "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert summary_from_stdout(proc.stdout)["metadata"]["counter"] == {"success": "2", "failure": "0"}
    out = root / "projects/p1/locations/us/datasets/out/dicomStores/.mr"
    assert len([p for p in out.rglob("*.dcm") if p.relative_to(out).parts[0] != ".deidflow"]) == 2


def test_fhir_store_fifo_and_device_are_error_records_not_a_hang(tmp_path):
    root = tmp_path / "stores"
    src = write_store(root, f"{DATASET}/fhirStores/src",
                      {"Patient.ndjson": b'{"resourceType":"Patient","id":"a","name":[{"family":"Doe"}]}\n'})
    os.mkfifo(src / "fifo.ndjson")
    (src / "zero.ndjson").symlink_to("/dev/zero")
    proc = run_cli("fhir-stores", "deidentify", f"{DATASET}/fhirStores/src", "--destination-store",
                   f"{DATASET}/fhirStores/dst", "--store-root", str(root), "--quiet", timeout=400)
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert summary_from_stdout(proc.stdout)["metadata"]["counter"] == {"success": "1", "failure": "2"}

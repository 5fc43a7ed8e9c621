"""--incremental: only instances whose destination is missing are de-identified; the result equals a full run's."""

from __future__ import annotations

import io
import json

import pytest

from pipelines.dicom.incremental import predicted_store_path
from pipelines.stores.dicom import uids_from_header
from pipelines.stores.dicom import uids_from_path as uids_from_export_path
from tests.conftest import DATASET, write_store
from tests.templates.helpers import cli, deidentify, dicom_store, files, key_file, ok_summary
from transforms.config import parse_config
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import Act, compile_dicom_policy
from transforms.dicom.sample import SamplePatient, sample_instance

pytestmark = pytest.mark.pipeline
KEYS = Keys(b"k" * 32)


def test_export_layout_paths_give_their_uids_and_other_paths_none():
    assert uids_from_export_path("1.2.3/1.2.3.4/1.2.3.4.5.dcm") == ("1.2.3", "1.2.3.4", "1.2.3.4.5")
    for path in ("a.dcm", "1.2/1.3.dcm", "1.2/1.3/1.4", "1.2/1.3/x.dcm", "1.2/1.3/1.4/1.5.dcm", "1.2/1..3/1.4.dcm",
                 "1.2/1.3/" + "1" * 65 + ".dcm"):
        assert uids_from_export_path(path) is None, path


@pytest.mark.parametrize("config", [None, {"dicom": {"skipIdRedaction": True}},
                                    {"dicom": {"filterProfile": "MINIMAL_KEEP_LIST_PROFILE"}}])
def test_predicted_destination_is_where_deidentify_puts_the_instance(config):
    policy = compile_dicom_policy(parse_config(config) if config else None)
    patient = SamplePatient(1)
    data = sample_instance(patient, 0, 0, 1)
    uids = uids_from_header(io.BytesIO(data))
    assert uids == (patient.study_uid(0), patient.series_uid(0, 0), patient.sop_uid(0, 0, 1))
    assert predicted_store_path(uids, policy, KEYS) == deidentify_instance(data, policy, KEYS).store_path


def test_destination_is_unpredictable_when_the_uids_are_neither_kept_nor_regenerated():
    class Emptying:
        def action(self, tag, vr):
            return Act.EMPTY

    assert predicted_store_path(("1.2", "1.3", "1.4"), Emptying(), KEYS) is None


def test_header_read_of_a_non_dicom_file_is_none():
    assert uids_from_header(io.BytesIO(b"not dicom at all" * 20)) is None
    assert uids_from_header(io.BytesIO(b"")) is None


def test_nightly_incremental_run_processes_only_new_instances(tmp_path):
    root = tmp_path / "stores"
    key = key_file(tmp_path)
    dicom_store(root, "src", patients=2)  # 4 instances
    first = ok_summary(deidentify(root, "src", "dst", "--key-file", str(key)))
    assert first["metadata"]["counter"] == {"success": "4", "failure": "0"}
    dicom_store(root, "src", patients=3)  # the same 4 plus 2 new ones
    second = ok_summary(deidentify(root, "src", "dst", "--key-file", str(key), "--incremental"))
    assert second["metadata"]["counter"] == {"success": "2", "failure": "0"}
    assert second["deidflow"]["skipped"] == "4" and second["deidflow"]["incremental"] is True
    full = ok_summary(deidentify(root, "src", "full", "--key-file", str(key)))
    assert full["metadata"]["counter"]["success"] == "6"
    assert len(files(root, "dicomStores", "dst")) == 6
    assert files(root, "dicomStores", "dst") == files(root, "dicomStores", "full")

    listing = cli("runs", "list", f"{DATASET}/dicomStores/dst", "--store-root", str(root), "--json")
    assert listing.returncode == 0, listing.stderr
    runs = json.loads(listing.stdout)
    assert [(r["success"], r["failure"], r["skipped"]) for r in runs] == [(4, 0, None), (2, 0, 4)]
    assert {r["keyFingerprint"] for r in runs} == {Keys(key_bytes(key)).fingerprint}
    table = cli("runs", "list", f"{DATASET}/dicomStores/dst", "--store-root", str(root))
    lines = table.stdout.splitlines()
    assert len(lines) == 3 and lines[0].split()[:3] == ["RUN", "STATUS", "KIND"]
    assert [line.split()[0] for line in lines[1:]] == [r["runId"] for r in runs]
    show = cli("runs", "show", f"{DATASET}/dicomStores/dst", "--store-root", str(root))
    assert show.returncode == 0 and runs[-1]["runId"] in show.stdout and "skipped      4" in show.stdout
    assert key.read_text().strip() not in show.stdout + table.stdout + listing.stdout


def key_bytes(path) -> bytes:
    import base64

    return base64.b64decode(path.read_text().strip())


def test_incremental_from_a_non_export_layout_reads_headers_in_parallel_workers(tmp_path):
    """Flat file names carry no UIDs: the header is read. Run with two worker processes (every DoFn pickles)."""
    root = tmp_path / "stores"
    key = key_file(tmp_path)
    patients = [SamplePatient(p) for p in range(3)]
    flat = {f"incoming/file{p}.dcm": sample_instance(patient) for p, patient in enumerate(patients[:2])}
    write_store(root, f"{DATASET}/dicomStores/flat", flat)
    ok_summary(deidentify(root, "flat", "dst", "--key-file", str(key)))
    write_store(root, f"{DATASET}/dicomStores/flat", {"incoming/file2.dcm": sample_instance(patients[2]),
                                                       "incoming/junk.bin": b"not dicom"})
    again = ok_summary_partial(deidentify(root, "flat", "dst", "--key-file", str(key), "--incremental",
                                          "--direct_running_mode", "multi_processing", "--direct_num_workers", "2",
                                          "--in-process-below", "0"))
    assert again["metadata"]["counter"] == {"success": "1", "failure": "1"}  # the junk file is an error record
    assert again["deidflow"]["skipped"] == "2"
    ok_summary_partial(deidentify(root, "flat", "full", "--key-file", str(key)))
    assert files(root, "dicomStores", "dst") == files(root, "dicomStores", "full")
    assert len(files(root, "dicomStores", "dst")) == 3


def ok_summary_partial(proc) -> dict:
    from tests.conftest import summary_from_stdout

    assert proc.returncode in (0, 3), proc.stderr[-3000:]
    return summary_from_stdout(proc.stdout)

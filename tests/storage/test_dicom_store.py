"""The DICOM store interface (pipelines/stores/dicom.py) and the one "store data" rule (store_root.is_store_data)."""

from __future__ import annotations

import io

import pytest

from pipelines.stores import store_root
from pipelines.stores.dicom import FolderDicomStore, StagedInstance, read_uids, stage, uids_from_header, uids_from_path
from transforms.dicom.sample import SamplePatient, sample_instance


@pytest.mark.parametrize("relative,data", [
    ("1.2/1.3/1.4.dcm", True), ("a/b", True), ("x.dcm", True),
    (".deidflow/runs/1/errors-1.ndjson", False), ("1.2/", False),
    # issue 18 item 7: only the store's own .deidflow/ is metadata, and only write_bytes' own temporary names
    # (mkstemp: ".tmp-" + 8 characters) are leftovers; a nested ".deidflow/" or a ".tmp-" file name is data
    ("1.2/.deidflow/store.json", True), ("1.2/.tmp-abc", True), ("1.2/.tmp-abcd_123", False),
    (".tmp-k2j4h5g6", False),
])
def test_store_data_leaves_out_run_records_and_temporary_files(relative, data):
    assert store_root.is_store_data("/root/store/" + relative, "/root/store") is data
    assert store_root.is_store_data("gs://b/store/" + relative, "gs://b/store/") is data


def test_uids_come_from_the_path_in_the_export_layout_else_from_the_header(tmp_path):
    patient = SamplePatient(3)
    data = sample_instance(patient)
    uids = (patient.study_uid(0), patient.series_uid(0, 0), patient.sop_uid(0, 0, 0))
    assert uids_from_header(io.BytesIO(data)) == uids
    laid_out = tmp_path / uids[0] / uids[1] / f"{uids[2]}.dcm"
    laid_out.parent.mkdir(parents=True)
    laid_out.write_bytes(b"not read")
    assert read_uids(str(laid_out), str(tmp_path)) == (uids, False)
    other = tmp_path / "scanner" / "IMG0001"
    other.parent.mkdir()
    other.write_bytes(data)
    assert read_uids(str(other), str(tmp_path)) == (uids, True)
    junk = tmp_path / "junk"
    junk.write_bytes(b"\0" * 300)
    assert read_uids(str(junk), str(tmp_path)) == (None, True)
    assert uids_from_path("1.2/1.3/" + "1" * 65 + ".dcm") is None  # no UID is longer than 64 characters


def test_a_retried_write_of_a_moved_instance_succeeds(tmp_path):
    store = FolderDicomStore(str(tmp_path / "dst"))
    staged = stage(str(tmp_path / "staging"), "/src/a.dcm", b"DICM bytes")
    assert staged == stage(str(tmp_path / "staging"), "/src/a.dcm", b"DICM bytes")  # a retry: the same file
    instance = StagedInstance("/src/a.dcm", "1.2/1.3/1.4.dcm", "1.4", staged)
    assert store.write([instance]) == {}
    assert store.write([instance]) == {}  # the bundle retried after the move
    assert (tmp_path / "dst" / "1.2" / "1.3" / "1.4.dcm").read_bytes() == b"DICM bytes"
    assert not (tmp_path / "staging").exists() or not list((tmp_path / "staging").iterdir())

"""The DICOM store interface (pipelines/stores/dicom.py) and the one "store data" rule (store_root.is_store_data)."""

from __future__ import annotations

import io
import os

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


def test_staging_replaces_its_file_whole_and_never_writes_through_a_symlink(tmp_path):
    # Catches a staging write that opens its name for writing (a planted symlink would be written through, and an
    # attempt outliving its retry would truncate the file the write step is moving into the store).
    outside = tmp_path / "outside.dcm"
    outside.write_bytes(b"not to be touched")
    staging = tmp_path / "staging"
    first = stage(str(staging), "/src/a.dcm", b"a longer first attempt")
    held = open(first, "rb")  # the write step holding the first attempt's file
    assert stage(str(staging), "/src/a.dcm", b"retry") == first  # a retried element: the same name, a new file
    assert held.read() == b"a longer first attempt" and open(first, "rb").read() == b"retry"
    held.close()
    os.unlink(first)
    os.symlink(outside, first)
    assert stage(str(staging), "/src/a.dcm", b"DICM bytes") == first
    assert not os.path.islink(first) and open(first, "rb").read() == b"DICM bytes"
    assert outside.read_bytes() == b"not to be touched"
    assert sorted(os.listdir(staging)) == [os.path.basename(first)]  # no temporary file left beside it


def test_a_write_into_a_destination_folder_symlinked_outside_is_refused(tmp_path):
    # Catches a write step that joins the store path without resolving its folder (the instance would land in
    # the folder the symlink points at), and a folder check cached even when it failed.
    root, outside = tmp_path / "dst", tmp_path / "elsewhere"
    (root / "1.2").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside, root / "1.2" / "1.3")
    store = FolderDicomStore(str(root))
    for attempt in range(2):
        staged = stage(str(tmp_path / "staging"), f"/src/{attempt}.dcm", b"DICM bytes")
        failures = store.write([StagedInstance(f"/src/{attempt}.dcm", "1.2/1.3/1.4.dcm", "1.4", staged)])
        assert list(failures) == ["1.4"] and store.write_error(failures["1.4"]).code == "INVALID_ARGUMENT"
        assert not os.path.exists(staged)  # a refused instance's staged file is removed
    assert list(outside.iterdir()) == []
    os.unlink(root / "1.2" / "1.3")  # made a real folder: the same path is accepted now
    staged = stage(str(tmp_path / "staging"), "/src/a.dcm", b"DICM bytes")
    assert store.write([StagedInstance("/src/a.dcm", "1.2/1.3/1.4.dcm", "1.4", staged)]) == {}
    assert (root / "1.2" / "1.3" / "1.4.dcm").read_bytes() == b"DICM bytes"


def test_a_symlink_at_an_instance_name_is_replaced_not_written_through(tmp_path):
    # Catches a write that opens the target path (following a planted symlink) instead of renaming onto it.
    root, outside = tmp_path / "dst", tmp_path / "outside.dcm"
    (root / "1.2" / "1.3").mkdir(parents=True)
    outside.write_bytes(b"not to be touched")
    os.symlink(outside, root / "1.2" / "1.3" / "1.4.dcm")
    staged = stage(str(tmp_path / "staging"), "/src/a.dcm", b"DICM bytes")
    assert FolderDicomStore(str(root)).write([StagedInstance("/src/a.dcm", "1.2/1.3/1.4.dcm", "1.4", staged)]) == {}
    assert not (root / "1.2" / "1.3" / "1.4.dcm").is_symlink()
    assert (root / "1.2" / "1.3" / "1.4.dcm").read_bytes() == b"DICM bytes"
    assert outside.read_bytes() == b"not to be touched"


def test_store_reads_resolve_folders_and_files_alike(tmp_path):
    # Catches a read check that trusts a file's own path without resolving its folders (a regular file inside a
    # folder symlinked to another project would be read), or that resolves only a file's last link.
    location = tmp_path / "projects/p/locations/l"
    store = location / "datasets/d/dicomStores/s"
    other = tmp_path / "projects/q/locations/l/x"
    store.mkdir(parents=True)
    other.mkdir(parents=True)
    (other / "a.dcm").write_bytes(b"other project")
    (store / "own.dcm").write_bytes(b"own")
    os.symlink(other, store / "linked")
    os.symlink(other / "a.dcm", store / "file-link.dcm")
    area = store_root.location_area(str(store))
    assert store_root.check_regular(str(store / "own.dcm"), area) == os.path.realpath(store / "own.dcm")
    for path in (store / "linked" / "a.dcm", store / "file-link.dcm"):
        with pytest.raises(store_root.UnreadableFile, match="outside the store's project and location"):
            store_root.read_store_file(str(path), area)
    inside = location / "datasets/d/dicomStores/t"
    inside.mkdir()
    (inside / "b.dcm").write_bytes(b"same location")
    os.symlink(inside, store / "near")
    assert store_root.read_store_file(str(store / "near" / "b.dcm"), area) == b"same location"
    assert store_root.check_regular(str(store / "near" / "b.dcm"), area) == os.path.realpath(inside / "b.dcm")
    os.mkfifo(store / "pipe.dcm")
    with pytest.raises(store_root.UnreadableFile, match="not a regular file"):
        store_root.check_regular(str(store / "pipe.dcm"), area)

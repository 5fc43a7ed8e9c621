"""Real paths decide identity (issue 18 items 1, 2, 7, 9): symlinked datasets and stores, files and odd names,
launch checks before anything is written. Each launch error is exit 2 with the store root left byte-identical."""

from __future__ import annotations

import os

import pytest

from tests.conftest import DATASET, DEST, SOURCE, run_cli, summary_from_stdout
from tests.faults.conftest import tree

pytestmark = pytest.mark.pipeline


def deid(root, source=SOURCE, dest=DEST, *extra):
    return run_cli("dicom-stores", "deidentify", source, "--destination-store", dest, "--store-root", str(root),
                   "--quiet", *extra)


def assert_launch_error(proc, root, before, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert tree(root) == before, "a launch error wrote something"
    for word in words:
        assert word in proc.stderr


def test_destination_through_a_symlinked_dataset_is_the_source(root):
    # datasets/d2 -> datasets/ds: ".../d2/dicomStores/src" spells the source store itself
    (root / "projects/p1/locations/us/datasets/d2").symlink_to(root / DATASET)
    before = tree(root)
    proc = deid(root, dest="projects/p1/locations/us/datasets/d2/dicomStores/src")
    assert_launch_error(proc, root, before, "inside the source")


def test_destination_store_symlinked_into_the_source(root):
    (root / DATASET / "dicomStores/alias").symlink_to(root / SOURCE / "in")  # a store inside the source
    before = tree(root)
    assert_launch_error(deid(root, dest=f"{DATASET}/dicomStores/alias"), root, before, "inside the source")
    (root / DATASET / "dicomStores/whole").symlink_to(root / SOURCE)  # the source itself
    before = tree(root)
    assert_launch_error(deid(root, dest=f"{DATASET}/dicomStores/whole"), root, before, "inside the source")


def test_source_that_contains_the_destination(root):
    # the source store is a symlink to the dataset folder, which holds the destination store
    (root / DATASET / "dicomStores/dst").mkdir()
    (root / DATASET / "dicomStores/up").symlink_to(root / DATASET)
    before = tree(root)
    assert_launch_error(deid(root, source=f"{DATASET}/dicomStores/up"), root, before, "inside the source")


def test_source_store_symlinked_into_another_project_and_location(root):
    other = root / "projects/q/locations/eu/datasets/ds/dicomStores"
    other.mkdir(parents=True)
    os.replace(root / SOURCE, other / "src")
    (root / SOURCE).symlink_to(other / "src")
    before = tree(root)
    assert_launch_error(deid(root), root, before, "outside its project and location")


def test_a_file_symlinked_into_another_project_is_an_error_record(root):
    other = root / "projects/q/locations/eu/datasets/ds/dicomStores/s"
    other.mkdir(parents=True)
    os.replace(root / SOURCE / "in/0.dcm", other / "0.dcm")
    (root / SOURCE / "in/0.dcm").symlink_to(other / "0.dcm")
    proc = deid(root)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert summary_from_stdout(proc.stdout)["metadata"]["counter"] == {"success": "3", "failure": "1"}
    records = _records(root / DEST)
    assert [r["resource_name"] for r in records] == ["in/0.dcm"]
    assert "outside the store's project and location" in records[0]["error"]["message"]
    assert len([p for p in (root / DEST).rglob("*.dcm") if ".deidflow" not in p.parts]) == 3


def test_source_store_that_is_a_file(root):
    (root / DATASET / "dicomStores/flat").write_bytes(b"not a folder")
    before = tree(root)
    assert_launch_error(deid(root, source=f"{DATASET}/dicomStores/flat"), root, before, "is a file")


def test_destination_store_that_is_a_file(root):
    (root / DEST).write_bytes(b"not a folder")
    before = tree(root)
    assert_launch_error(deid(root), root, before, "is a file")


def test_a_300_character_store_name_is_a_launch_error(root):
    before = tree(root)
    assert_launch_error(deid(root, dest=f"{DATASET}/dicomStores/{'s' * 300}"), root, before, "longer than")


def test_an_unknown_runner_is_a_launch_error_before_the_destination_exists(root):
    before = tree(root)
    proc = deid(root, SOURCE, DEST, "--runner", "DaskRunner")
    assert_launch_error(proc, root, before, "DaskRunner")
    assert not (root / DEST).exists()


def _records(store):
    import json

    out = []
    for path in sorted(store.glob(".deidflow/runs/*/errors*.ndjson")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return sorted(out, key=lambda r: r["resource_name"])

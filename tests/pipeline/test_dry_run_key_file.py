"""A dry run writes nothing at any level, not even the key file --create-key-file would create (the dataset level
created it: its launch did not know it was a dry run)."""

from __future__ import annotations

import pytest

from tests.conftest import DATASET, run_cli, write_store
from transforms.dicom.sample import sample_store_files

pytestmark = pytest.mark.pipeline


@pytest.mark.parametrize("level", ["datasets", "dicom-stores"])
def test_dry_run_with_create_key_file_writes_no_key(tmp_path, level):
    root = tmp_path / "stores"
    write_store(root, f"{DATASET}/dicomStores/src", dict(sample_store_files(patients=1, studies=1, series=1,
                                                                            instances=1)))
    key = tmp_path / "keys" / "new.key"
    if level == "datasets":
        target = [DATASET, "--destination-dataset", "projects/p1/locations/us/datasets/out"]
    else:
        target = [f"{DATASET}/dicomStores/src", "--destination-store", f"{DATASET}/dicomStores/dst"]
    proc = run_cli(level, "deidentify", *target, "--store-root", str(root), "--key-file", str(key),
                   "--create-key-file", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert '"dryRun": true' in proc.stdout
    assert not key.exists()

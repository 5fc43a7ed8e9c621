"""Fixtures for the fault and hostile-input tests (issue 18): a small DICOM source store under a store root."""

from __future__ import annotations

import pytest

from tests.conftest import SOURCE, write_store
from tests.storage.conftest import gcs, gcs_emulator, orthanc_factory  # noqa: F401 - the storage tests' services
from transforms.dicom.sample import sample_store_files


@pytest.fixture
def root(tmp_path):
    """A store root holding SOURCE with 4 synthetic instances (2 patients, 1 study, 1 series, 2 instances) in
    arbitrary file names, and the destination dataset (the source's)."""
    files = {f"in/{i}.dcm": data for i, (_, data) in
             enumerate(sample_store_files(patients=2, studies=1, series=1, instances=2))}
    write_store(tmp_path / "stores", SOURCE, files)
    return tmp_path / "stores"


def tree(folder) -> dict:
    """Every file and symlink below a folder (run records too), by relative path -> bytes or link target."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            out[str(path.relative_to(folder))] = "-> " + str(path.readlink())
        elif path.is_file():
            out[str(path.relative_to(folder))] = path.read_bytes()
    return out

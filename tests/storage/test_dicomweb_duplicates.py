"""Duplicate SOP instances are resolved the same way for a DICOMweb destination as for a store folder: one
instance stored (the first source by location), every other source of the same SOPInstanceUID one ALREADY_EXISTS
error record. Before, a DICOMweb destination skipped the resolution and counted both as stored."""

from __future__ import annotations

import base64
import io
import json

import pydicom
import pytest

from tests.conftest import DEST, SOURCE, summary_from_stdout, write_store
from tests.storage.conftest import run_deidflow
from tests.storage.test_dicomweb import KEY, TOTAL, retrieve_all, sample_files

pytestmark = [pytest.mark.pipeline, pytest.mark.service]


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "run.key"
    path.write_text(base64.b64encode(KEY).decode() + "\n")
    return path


def files_with_duplicates() -> dict[str, bytes]:
    """The sample store plus two more files holding the SOPInstanceUID of its first instance: an exact copy, and
    a copy with another InstanceNumber (kept by the profile, so its de-identified bytes differ)."""
    files = sample_files()
    first = sorted(files)[0]
    ds = pydicom.dcmread(io.BytesIO(files[first]))
    ds.InstanceNumber = 999
    changed = io.BytesIO()
    ds.save_as(changed, enforce_file_format=True)
    return {**files, "zz/copy.dcm": files[first], "zz/changed.dcm": changed.getvalue()}


def run_errors(run_dir) -> list[dict]:
    return sorted((json.loads(line) for path in run_dir.glob("errors*.ndjson")
                   for line in path.read_text().splitlines() if line.strip()), key=lambda r: r["resource_name"])


def test_duplicates_to_dicomweb_are_resolved_as_for_a_store_folder(orthanc_factory, tmp_path, key_file):
    root = tmp_path / "stores"
    files = files_with_duplicates()
    write_store(root, SOURCE, files)

    folder = run_deidflow("dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root",
                          str(root), "--key-file", str(key_file))
    assert folder.returncode == 3, folder.stdout + folder.stderr
    folder_summary = summary_from_stdout(folder.stdout)
    folder_errors = run_errors(root / DEST / ".deidflow" / "runs" / folder_summary["name"].rsplit("/", 1)[-1])
    written = {p.stem: p.read_bytes() for p in (root / DEST).rglob("*.dcm") if ".deidflow" not in p.parts}

    destination = orthanc_factory()
    web = run_deidflow("dicom-stores", "deidentify", SOURCE, "--destination-dicomweb", destination.url,
                       "--store-root", str(root), "--key-file", str(key_file), "--dicomweb-batch-size", "3")
    assert web.returncode == 3, web.stdout + web.stderr
    web_summary = summary_from_stdout(web.stdout)
    web_errors = run_errors(root / ".deidflow" / "runs" / web_summary["name"].rsplit("/", 1)[-1])

    # one stored per SOPInstanceUID, the two other sources of the duplicated one are error records
    assert folder_summary["metadata"]["counter"] == {"success": str(TOTAL), "failure": "2"}
    assert web_summary["metadata"]["counter"] == folder_summary["metadata"]["counter"]
    assert [(e["resource_name"].rsplit("/", 2)[-2:], e["error"]["code"]) for e in web_errors] == [
        (["zz", "changed.dcm"], "ALREADY_EXISTS"), (["zz", "copy.dcm"], "ALREADY_EXISTS")]
    assert web_errors == folder_errors
    # the same winner (the first source by location, not the changed copy) in both destinations
    assert len(written) == TOTAL
    assert retrieve_all(destination) == written


def test_a_retried_stow_of_an_instance_already_stored_succeeds(orthanc_factory, tmp_path):
    from pipelines.stores.dicom import DicomWebStore, StagedInstance, stage, uids_from_header
    from pipelines.stores.dicomweb import DicomWebEndpoint

    server = orthanc_factory()
    store = DicomWebStore(DicomWebEndpoint(server.url))
    first, second = sorted(sample_files().items())[:2]
    staged = []
    for name, data in (first, second):
        study, series, sop = uids_from_header(io.BytesIO(data))
        staged.append(StagedInstance(name, f"{study}/{series}/{sop}.dcm", sop, stage(str(tmp_path), name, data)))
    assert store.write(staged[:1]) == {}
    assert store.write(staged[:1]) == {}  # the bundle retried: its staged file is gone, the server holds it
    assert list(store.write(staged[1:])) == []
    again = staged[1]._replace(store_path=staged[1].store_path.replace(".dcm", "9.dcm"), sop_uid=staged[1].sop_uid + "9")
    assert list(store.write([again])) == [again.sop_uid]  # neither staged nor on the server: a failure

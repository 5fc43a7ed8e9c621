"""Each de-identify command takes its own options: another command's option, or one neither deidflow nor Beam
knows, is a usage error (exit 2, nothing written) instead of being handed to Beam and silently ignored."""

from __future__ import annotations

import pytest

from pipelines.commands import UsageError
from pipelines.options import check_beam_args
from tests.conftest import DATASET, SOURCE, run_cli, write_store

pytestmark = pytest.mark.pipeline


@pytest.mark.parametrize("kind,args,message", [
    ("fhirStores", ["--dicom-filter-file", "f.txt"], "--dicom-filter-file is not an option of 'fhir-stores"),
    ("fhirStores", ["--source-dicomweb=http://pacs/dicom-web"], "--source-dicomweb is not an option"),
    ("dicomStores", ["--reference-date", "2024-01-01"], "--reference-date is not an option of 'dicom-stores"),
    ("dicomStores", ["--patient_join=keyed"], "--patient_join is not an option"),
    ("dicomStores", ["--destination-dataset", "x"], "--destination-dataset is not an option"),
    ("datasets", ["--incremental"], "--incremental is not an option of 'datasets deidentify'"),
    ("datasets", ["--validate-r4"], "--validate-r4 is not an option"),
    ("datasets", ["--destination-store", "x"], "--destination-store is not an option"),
    ("fhirStores", ["--frobnicate", "1"], "unrecognized arguments: --frobnicate 1"),
])
def test_foreign_and_unknown_options_are_refused(kind, args, message):
    with pytest.raises(UsageError, match=message):
        check_beam_args(kind, args)


@pytest.mark.parametrize("kind", ["dicomStores", "fhirStores", "datasets"])
def test_beam_options_pass_through(kind):
    check_beam_args(kind, ["--runner", "DirectRunner", "--direct_num_workers", "2", "--direct_running_mode",
                           "multi_processing", "--project=p", "--temp_location=gs://b/tmp", "--job_endpoint",
                           "localhost:8099", "--environment_type=LOOPBACK", "--setup_file", "./setup.py"])


def test_a_foreign_option_on_the_command_line_is_exit_2_and_writes_nothing(tmp_path):
    root = tmp_path / "stores"
    write_store(root, f"{DATASET}/fhirStores/src", {"Patient.ndjson": b'{"resourceType": "Patient", "id": "1"}\n'})
    before = sorted(p for p in root.rglob("*"))
    proc = run_cli("fhir-stores", "deidentify", f"{DATASET}/fhirStores/src", "--destination-store",
                   f"{DATASET}/fhirStores/dst", "--store-root", str(root), "--dicom-filter-file", "f.txt")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--dicom-filter-file is not an option of 'fhir-stores deidentify'" in proc.stderr
    assert sorted(p for p in root.rglob("*")) == before
    proc = run_cli("dicom-stores", "deidentify", SOURCE, "--destination-store", f"{DATASET}/dicomStores/dst",
                   "--store-root", str(root), "--dry-run", "--direct_num_workers=2")
    assert "not an option" not in proc.stderr and "unrecognized" not in proc.stderr

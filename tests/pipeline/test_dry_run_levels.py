"""--dry-run at the FHIR store and dataset levels: the plan is printed, nothing is written."""

from __future__ import annotations

import json

from tests.conftest import run_cli

DATASET = "projects/p1/locations/us/datasets/ds"


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _sample(root):
    assert run_cli("sample", "fhir-store", f"{DATASET}/fhirStores/f", "--patients", "2", "--store-root", str(root)).returncode == 0
    assert run_cli("sample", "dicom-store", f"{DATASET}/dicomStores/c", "--patients", "1", "--store-root", str(root)).returncode == 0


def test_fhir_and_dataset_dry_runs_count_and_write_nothing(tmp_path):
    root = tmp_path / "stores"
    _sample(root)
    before = _tree(root)
    proc = run_cli("fhir-stores", "deidentify", f"{DATASET}/fhirStores/f", "--destination-store",
                   f"{DATASET}/fhirStores/out", "--store-root", str(root), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["dryRun"] is True and plan["stores"][0]["sourceResources"] > 0
    assert plan["stores"][0]["destinationStore"] == "would be created"
    proc = run_cli("datasets", "deidentify", DATASET, "--destination-dataset", "projects/p1/locations/us/datasets/new",
                   "--store-root", str(root), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert {s["source"].rsplit("/", 1)[-1] for s in plan["stores"]} == {"f", "c"}
    assert plan["stores"][0]["sourceInstances" if "dicomStores" in plan["stores"][0]["source"] else "sourceResources"] > 0
    assert _tree(root) == before, "a dry run wrote something"

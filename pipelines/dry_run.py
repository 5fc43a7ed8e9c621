"""--dry-run: after every launch check has passed, say what a run would read, create and write; write nothing."""

from __future__ import annotations

import json
from typing import Optional

from pipelines.stores import store_root


def count_store_elements(path: str, kind: str = "dicomStores") -> int:
    """Source elements of a store folder: DICOM instances (files), FHIR resources as the de-identify read gives
    them (NDJSON lines, gzipped too, Bundle entries; and each error record the read gives instead of one)."""
    if kind == "fhirStores":
        from pipelines.stores import fhir as stores_fhir

        return stores_fhir.count_resources(path)
    return sum(1 for _ in store_root.list_files(path))  # store data only: run records and temporary files left out


def store_plan(source: str, source_path: str, destination: str, destination_path: str, create: bool,
               elements: int, kind: str = "dicomStores") -> dict:
    what = "instances" if kind == "dicomStores" else "resources"
    return {
        "source": source,
        "sourcePath": source_path,
        f"source{what.title()}": elements,
        "destination": destination,
        "destinationPath": destination_path,
        "destinationStore": "would be created" if create else "exists; would be written into",
        "wouldWrite": f"{elements} de-identified {what} under {destination_path}",
    }


def report_dry_run(kind: str, stores: list[dict], run_dir: str, details: Optional[dict] = None) -> int:
    """Print the plan of a dry run (JSON, like a summary); returns exit code 0."""
    plan = {
        "dryRun": True,
        "kind": kind,
        "stores": stores,
        "runRecords": f"summary.json, report.html and errors*.ndjson under {run_dir}",
        **(details or {}),
        "written": "nothing: this was a dry run",
    }
    print(json.dumps(plan, indent=2))
    return 0

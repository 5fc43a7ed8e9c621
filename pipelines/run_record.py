"""Run records: the run summary (shaped like the API's operation metadata) written beside the error records."""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Optional

from apache_beam.metrics.metric import MetricsFilter

from pipelines.stores import store_root
from transforms.beam import NAMESPACE

API_METHODS = {
    "dicomStores": "google.cloud.healthcare.v1.deidentify.DeidentifyService.DeidentifyDicomStore",
    "fhirStores": "google.cloud.healthcare.v1.deidentify.DeidentifyService.DeidentifyFhirStore",
    "datasets": "google.cloud.healthcare.v1.dataset.DatasetService.DeidentifyDataset",
}
SUMMARY_TYPES = {
    "dicomStores": "type.googleapis.com/google.cloud.healthcare.v1.deidentify.DeidentifyDicomStoreSummary",
    "fhirStores": "type.googleapis.com/google.cloud.healthcare.v1.deidentify.DeidentifyFhirStoreSummary",
    "datasets": "type.googleapis.com/google.cloud.healthcare.v1.deidentify.DeidentifySummary",
}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def counters(result) -> dict[str, int]:
    """Committed counter values of the deidflow namespace (attempted where a runner does not commit)."""
    values: dict[str, int] = {}
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    for counter in query["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        values[counter.key.metric.name] = values.get(counter.key.metric.name, 0) + int(value or 0)
    return values


def config_digest(config_text: Optional[str]) -> str:
    return hashlib.sha256((config_text or "").encode("utf-8")).hexdigest()[:16]


def build_summary(kind: str, run_id: str, create_time: str, end_time: str, success: int, failure: int,
                  errors_glob: str, details: dict) -> dict:
    """An Operation-like record: metadata with apiMethodName, times and counter; our details beside it."""
    return {
        "name": f"deidflow/runs/{run_id}",
        "done": True,
        "metadata": {
            "@type": "type.googleapis.com/google.cloud.healthcare.v1.OperationMetadata",
            "apiMethodName": API_METHODS[kind],
            "createTime": create_time,
            "endTime": end_time,
            "counter": {"success": str(success), "failure": str(failure)},
            "logsUrl": errors_glob,
        },
        "response": {"@type": SUMMARY_TYPES[kind]},
        "deidflow": details,
    }


def write_summary(run_dir: str, summary: dict) -> str:
    path = store_root.join(run_dir, "summary.json")
    store_root.write_json(path, summary)
    return path


def count_error_records(run_dir: str) -> int:
    total = 0
    for path in store_root.list_files(run_dir, skip_meta=False):
        name = path.rsplit("/", 1)[-1]
        if name.startswith("errors") and name.endswith(".ndjson"):
            total += sum(1 for line in store_root.read_bytes(path).splitlines() if line.strip())
    return total


def dumps(summary: dict) -> str:
    return json.dumps(summary, indent=2, sort_keys=False)

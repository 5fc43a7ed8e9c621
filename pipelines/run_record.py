"""Run records: the run summary (shaped like the API's operation metadata) written beside the error records."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from typing import Optional

from pipelines.stores import store_root

_HC = "google.cloud.healthcare.v1"
# Operation kind -> (the API method the run stands for, the @type of its response): one table for every
# operation deidflow records (de-identify at each level, import and export).
OPERATIONS = {
    "dicomStores": (f"{_HC}.deidentify.DeidentifyService.DeidentifyDicomStore",
                    f"type.googleapis.com/{_HC}.deidentify.DeidentifyDicomStoreSummary"),
    "fhirStores": (f"{_HC}.deidentify.DeidentifyService.DeidentifyFhirStore",
                   f"type.googleapis.com/{_HC}.deidentify.DeidentifyFhirStoreSummary"),
    "datasets": (f"{_HC}.dataset.DatasetService.DeidentifyDataset",
                 f"type.googleapis.com/{_HC}.deidentify.DeidentifySummary"),
    "importDicom": (f"{_HC}.dicom.DicomService.ImportDicomData",
                    f"type.googleapis.com/{_HC}.dicom.ImportDicomDataResponse"),
    "importFhir": (f"{_HC}.fhir.FhirStoreService.ImportResources",
                   f"type.googleapis.com/{_HC}.fhir.ImportResourcesResponse"),
    "exportDicom": (f"{_HC}.dicom.DicomService.ExportDicomData",
                    f"type.googleapis.com/{_HC}.dicom.ExportDicomDataResponse"),
    "exportFhir": (f"{_HC}.fhir.FhirStoreService.ExportResources",
                   f"type.googleapis.com/{_HC}.fhir.ExportResourcesResponse"),
}
API_METHODS = {kind: method for kind, (method, _) in OPERATIONS.items()}
SUMMARY_TYPES = {kind: response for kind, (_, response) in OPERATIONS.items()}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def counters(result) -> dict[str, int]:
    """Committed counter values of the deidflow namespace (attempted where a runner does not commit)."""
    from apache_beam.metrics.metric import MetricsFilter

    from transforms.beam import NAMESPACE

    values: dict[str, int] = {}
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    for counter in query["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        values[counter.key.metric.name] = values.get(counter.key.metric.name, 0) + int(value or 0)
    return values


def counters_from_outputs(run_dir: str, labels, outputs) -> dict[str, int]:
    """Counters rebuilt from what a run wrote, for runners whose results have no metrics: ``failure/<label>``
    from the error records in ``run_dir`` (``errors*.ndjson`` for a one-store run; ``errors-<kind>-<store>*`` per
    store of a dataset run), ``success/<label>`` from the destination folder's data (DICOM: files; FHIR: NDJSON
    lines). ``outputs``: (label, kind, destination folder or None) per store."""
    labels = list(labels)
    lines: dict[str, int] = {}
    if store_root.exists(run_dir):
        for path in store_root.list_files(run_dir, skip_meta=False):
            name = path.replace("\\", "/").rsplit("/", 1)[-1]
            if name.startswith("errors") and name.endswith(".ndjson"):
                lines[name] = sum(1 for line in store_root.read_bytes(path).splitlines() if line.strip())
    values: dict[str, int] = {}
    for label in labels:
        if len(labels) == 1:
            failed = sum(lines.values())
        else:  # the whole name: store ``src``'s prefix is also the start of store ``src-a``'s files
            name_re = store_error_file(label)
            failed = sum(n for name, n in lines.items() if name_re.fullmatch(name))
        values[f"failure/{label}"] = failed
    for label, kind, destination in outputs:
        if not isinstance(destination, str) or not store_root.exists(destination):
            continue
        files = list(store_root.list_files(destination))
        if kind == "fhirStores":
            values[f"success/{label}"] = sum(
                sum(1 for line in store_root.read_bytes(p).splitlines() if line.strip()) for p in files)
        else:
            values[f"success/{label}"] = len(files)
    return values


def store_error_file(label: str) -> "re.Pattern[str]":
    """The names of a dataset run's error files of one store (label ``<kind>/<store id>``): exactly
    ``errors-<kind>-<store id>-<16 hex digits>.ndjson`` (``error_file_name``), so no other store's match."""
    return re.compile(re.escape("errors-" + label.replace("/", "-") + "-") + r"[0-9a-f]{16}\.ndjson")


# The tail every run folder has: <store or dataset>/.deidflow/runs/<run id>, or <store root>/.deidflow/runs/<run id>
# (DICOMweb destinations); the part before it is the store root, a local path records never show.
_RUN_FOLDER = re.compile(
    r"(?:^|/)((?:projects/[^/]+/locations/[^/]+/datasets/[^/]+(?:/(?:dicomStores|fhirStores)/[^/]+)?/)?"
    + re.escape(store_root.META_DIR) + r"/runs/[^/]+)/*$")


def shown_run_dir(run_dir: str) -> str:
    """A run folder as records and reports name it: relative to the store root
    (``projects/P/locations/L/datasets/D/dicomStores/S/.deidflow/runs/<id>``; ``.deidflow/runs/<id>`` for a run
    recorded at the root), never an absolute local path. A gs:// URI is kept whole: it names a bucket, not a
    machine's folders."""
    if store_root.is_remote(run_dir):
        return run_dir.rstrip("/")
    match = _RUN_FOLDER.search(run_dir.replace("\\", "/"))
    return match.group(1) if match else run_dir.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def shown_outside_path(path: str) -> str:
    """A file or folder outside the store root (an import source, an export destination) as records name it: a
    URI whole (credentials removed), a local path not at all (``(local path)``): any part of it may be PHI."""
    from transforms.beam import redact_credentials

    return redact_credentials(path) if store_root.is_remote(path) else "(local path)"


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


def summarize(kind: str, counters: dict, run_id: str, create_time: str, run_dir: str, labels, details: dict) -> dict:
    """The summary of a finished run of operation ``kind`` (OPERATIONS) from its counters, read per label (one
    label per store branch: ``success/<label>``, ``failure/<label>``, ``skipped/<label>``) and summed."""
    per_label = {
        label: {"success": counters.get(f"success/{label}", 0), "failure": counters.get(f"failure/{label}", 0)}
        for label in labels
    }
    success = sum(c["success"] for c in per_label.values())
    failure = sum(c["failure"] for c in per_label.values())
    details = dict(details)
    if len(labels) > 1:
        details["stores"] = {label: {k: str(v) for k, v in c.items()} for label, c in per_label.items()}
    skipped = {label: counters[f"skipped/{label}"] for label in labels if f"skipped/{label}" in counters}
    if skipped or details.get("incremental"):  # incremental runs: elements whose destination was already there
        details["skipped"] = str(sum(skipped.values()))
        if len(labels) > 1:
            for label, count in skipped.items():
                details["stores"][label]["skipped"] = str(count)
    collapsed = sum(counters.get(f"collapsed/{label}", 0) for label in labels)
    if collapsed:  # FHIR: copies of a resource (same type and id) stored once, counted as successes
        details["collapsedCopies"] = str(collapsed)
    unresolved = sum(counters.get(f"unresolved/{label}", 0) for label in labels)
    if unresolved:  # FHIR: urn:uuid: / conditional references naming no resource of the store
        details["unresolvedReferences"] = str(unresolved)
    shown = shown_run_dir(run_dir)  # below the store root: records carry no absolute path (issue 18)
    details["runDir"] = shown
    from transforms.beam import redact_credentials

    details = {key: redact_credentials(value) for key, value in details.items()}  # a DICOMweb URL's user:password
    return build_summary(kind, run_id, create_time, now(), success, failure, shown + "/errors*.ndjson", details)


def failures(summary: dict) -> int:
    return int(summary["metadata"]["counter"]["failure"])


def write_summary(run_dir: str, summary: dict) -> str:
    path = store_root.join(run_dir, "summary.json")
    store_root.write_json(path, summary)
    return path


def dumps(summary: dict) -> str:
    return json.dumps(summary, indent=2, sort_keys=False)

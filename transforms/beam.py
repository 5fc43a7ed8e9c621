"""What every Beam graph shares: error records and their sink, metric tallies, worker process hooks.

The DICOM steps live in pipelines/dicom/, the FHIR steps in pipelines/fhir/; both tag failures as ERRORS
records (``error_record``) that ``WriteErrorRecords`` writes to the run's folder.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import re
import sys

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.errors import DeidentifyError

NAMESPACE = "deidflow"
OK = "ok"
ERRORS = "errors"
_log = logging.getLogger(__name__)

_fast_exit_registered = False


def _is_local_subprocess_worker() -> bool:
    """True in a DirectRunner ``multi_processing`` worker process (sdk_worker_main started by the runner)."""
    if not sys.argv or not sys.argv[0].endswith("sdk_worker_main.py"):
        return False
    try:
        options = json.loads(os.environ.get("PIPELINE_OPTIONS") or "{}")
    except ValueError:
        return False
    return options.get("beam:option:direct_running_mode:v1") == "multi_processing"


def exit_local_worker_without_teardown() -> None:
    """Let a local DirectRunner worker process end as soon as its harness returns.

    The runner stops its worker processes one after another and waits for each to exit; a Beam worker's
    interpreter teardown (gRPC, numpy, thousands of module objects) takes about half a second, so every run
    paid ~0.5 s per worker after its last bundle. By then each bundle's results are reported and every file
    our DoFns wrote is closed, so the process flushes its standard streams and leaves. The exit status is kept:
    1 when an uncaught exception ended the harness. A no-op anywhere else
    (in-process runners, Dataflow, Flink, Spark workers).

    Run when this module is imported, which a worker does when it unpickles any deidflow DoFn: by then Beam and
    gRPC have registered their exit handlers, and atexit runs the last registered first.
    """
    global _fast_exit_registered
    if _fast_exit_registered or not _is_local_subprocess_worker():
        return
    _fast_exit_registered = True
    import atexit

    def leave() -> None:
        status = 1 if getattr(sys, "last_value", None) is not None else 0
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed stream has nothing to flush
                pass
        logging.shutdown()
        os._exit(status)

    atexit.register(leave)  # atexit runs last-registered first: this one runs before the slow teardown


exit_local_worker_without_teardown()

_heap_frozen = False


def freeze_startup_heap() -> None:
    """Hide what a worker process holds before its first element from the garbage collector, once a process.

    A worker carries a million or so long-lived objects (Beam, gRPC, pydicom's dictionary, our policy), and every
    full collection walks them all; de-identifying allocates enough containers to run one every few thousand
    resources, and merging a FHIR side input of patients (a hundred thousand small tuples) ran several: 0.19 s
    of a 4,500-patient merge was the collector, 0.01 s the merge. ``gc.freeze`` moves today's objects to a
    generation no collection visits; nothing of them is lost (they live as long as the process anyway), and the
    collector still finds the cycles made afterwards. Called from the DoFns' ``setup``.
    """
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    gc.collect()  # garbage that exists now is collected, not frozen
    gc.freeze()


# The collector's young-generation threshold for text-heavy workers (CPython's default: 700) and its older ones.
YOUNG_COLLECTION_THRESHOLD, OLDER_COLLECTION_THRESHOLDS = 50_000, (20, 100)


def collect_less_often() -> None:
    """Run the cyclic collector after 50,000 net container allocations instead of 700 (once a process).

    Free-text detection allocates and frees millions of small lists and tuples a store, nearly all freed by
    reference counting; at the default threshold the collector ran every few hundred of them, over objects that
    were about to be freed anyway, and each of those collections promoted survivors that later full collections
    walked. Measured on the 5,000-patient sample store (2 workers, interleaved, 3 rounds each): whole command
    median 15.0 -> 12.8 s wall, 24.1 -> 21.3 s CPU, peak RSS of the largest process within 5 MB. Cycles are still
    collected, only in larger batches. Called from the FHIR DoFns' ``setup``.
    """
    if gc.get_threshold()[0] != YOUNG_COLLECTION_THRESHOLD:
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *OLDER_COLLECTION_THRESHOLDS)


class Tally:
    """Counter increments summed in a dict and flushed to Beam metrics once a bundle (a Metrics call per element
    costs about as much as a JSON parse). Use: ``self._tally = Tally()`` in ``setup``, ``add(name)`` per
    element, ``flush()`` in ``finish_bundle``. Names whose increments cancel out are not reported."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def flush(self) -> None:
        for name, n in self.counts.items():
            if n:
                Metrics.counter(NAMESPACE, name).inc(n)
        self.counts.clear()


def success_counter(label: str) -> str:
    return f"success/{label}"


def failure_counter(label: str) -> str:
    return f"failure/{label}"


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/@\s]*@")


def redact_credentials(text):
    """Text without URL credentials: ``http://user:password@host`` -> ``http://***@host``; non-text unchanged."""
    return _USERINFO.sub(r"\1***@", text) if isinstance(text, str) else text


def error_record(resource_name: str, code: str, message: str) -> dict:
    """One dead letter, shaped like the API's DeidentifyLogEntry: names the resource, never its values (nor
    credentials of a URL naming it)."""
    return {"resource_name": redact_credentials(resource_name),
            "error": {"code": code, "message": redact_credentials(message)}}


def error_from_exception(resource_name: str, err: BaseException) -> dict:
    if isinstance(err, DeidentifyError):
        return error_record(resource_name, err.code, err.message)
    # An unexpected failure: its message may quote data, so only its class is kept.
    _log.warning("unexpected %s while processing an element", type(err).__name__)
    return error_record(resource_name, "INTERNAL", f"unexpected error ({type(err).__name__})")


def error_file_name(prefix: str, text: str) -> str:
    """``<prefix>-<digest of the records>.ndjson``: a bundle retried with the same records writes the same file
    again (replacing it) instead of a second copy beside it."""
    return f"{prefix}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}.ndjson"


class _WriteBundleShard(beam.DoFn):
    """Collect a bundle's lines and write them, sorted, as one file named by its contents when the bundle ends."""

    def __init__(self, prefix: str):
        self._prefix = prefix

    def start_bundle(self) -> None:
        self._lines: list[str] = []

    def process(self, line: str) -> None:
        self._lines.append(line)

    def finish_bundle(self) -> None:
        if not self._lines:
            return
        from apache_beam.io.filesystems import FileSystems

        text = "\n".join(sorted(self._lines)) + "\n"
        with FileSystems.create(error_file_name(self._prefix, text), mime_type="application/x-ndjson") as out:
            out.write(text.encode("utf-8"))
        self._lines = []


class WriteErrorRecords(beam.PTransform):
    """Error records as NDJSON files ``errors-<digest>.ndjson`` in the run's folder, one per bundle with errors,
    named by their contents (``error_file_name``) so a retried bundle does not write its records twice.

    One step instead of a sharded text sink: a run without failures writes no file and adds no stages.
    """

    def __init__(self, run_dir: str, prefix: str = "errors"):
        super().__init__()
        self._prefix = run_dir.rstrip("/") + "/" + prefix

    def expand(self, errors):
        return (
            errors
            | "To JSON" >> beam.Map(lambda record: json.dumps(record, sort_keys=True, ensure_ascii=True))
            | "Write" >> beam.ParDo(_WriteBundleShard(self._prefix))
        )

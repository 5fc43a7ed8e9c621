"""The Beam shell over the pure cores: DoFns with dead-letter outputs, composite PTransforms, metrics."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import uuid
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.paths import path_under
from transforms.dicom.policy import DicomPolicy, tag_name
from transforms.errors import DeidentifyError

NAMESPACE = "deidflow"
OK = "ok"
ERRORS = "errors"
_log = logging.getLogger(__name__)

Reader = Callable[[str], bytes]
Writer = Callable[[str, bytes], None]

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


def error_record(resource_name: str, code: str, message: str) -> dict:
    """One dead letter, shaped like the API's DeidentifyLogEntry: names the resource, never its values."""
    return {"resource_name": resource_name, "error": {"code": code, "message": message}}


def error_from_exception(resource_name: str, err: BaseException) -> dict:
    if isinstance(err, DeidentifyError):
        return error_record(resource_name, err.code, err.message)
    # An unexpected failure: its message may quote data, so only its class is kept.
    _log.warning("unexpected %s while processing an element", type(err).__name__)
    return error_record(resource_name, "INTERNAL", f"unexpected error ({type(err).__name__})")


class WrittenInstance(NamedTuple):
    source: str
    destination: str
    digest: str


@dataclass(frozen=True)
class DicomDestination:
    """Where de-identified instances go: a folder in store layout, written through ``write``."""

    root: str
    write: Writer
    delete: Callable[[str], None]

    def path_of(self, relative: str) -> str:
        return path_under(self.root, relative)  # INVALID_ARGUMENT when the resolved path leaves the store


class DeidentifyDicomFiles(beam.DoFn):
    """Read one source file, de-identify it, write it to the destination; failures become error records.

    Read, de-identify and write happen in one step so that instance bytes never cross a shuffle.
    Main output: (new SOPInstanceUID, WrittenInstance) for the duplicate check.
    """

    def __init__(self, policy: DicomPolicy, keys: Keys, read: Reader, destination: DicomDestination,
                 label: str = "dicom"):
        self._policy = policy
        self._keys = keys
        self._read = read
        self._destination = destination
        self._label = label

    def setup(self) -> None:
        freeze_startup_heap()
        self._ok = Metrics.counter(NAMESPACE, success_counter(self._label))
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))
        self._boxes = Metrics.counter(NAMESPACE, f"pixel_regions_redacted/{self._label}")
        self._ts_changed = Metrics.counter(NAMESPACE, f"transfer_syntax_changed/{self._label}")
        self._tally = Tally()  # per-tag actions and modalities
        self._detector = None
        if self._policy.image is not None:  # the OCR model loads once per worker, not per element
            from transforms.image import load_detector

            self._detector = load_detector()

    def deidentify_and_write(self, path: str) -> tuple[str, WrittenInstance]:
        """Raises DeidentifyError (or an unexpected error) when the instance cannot be done."""
        try:
            data = self._read(path)
        except Exception as err:
            raise DeidentifyError("UNAVAILABLE", f"the source file cannot be read ({type(err).__name__})") from None
        result = deidentify_instance(data, self._policy, self._keys, self._detector)
        if result.boxes_painted:
            self._boxes.inc(result.boxes_painted)
        if result.transfer_syntax_changed:
            self._ts_changed.inc()
        for tag, action, count in result.actions:
            self._tally.add(f"action/{self._label}/{tag_name(tag)}/{action}", count)
        self._tally.add(f"modality/{self._label}/{result.modality or 'unknown'}")
        destination = self._destination.path_of(result.store_path)
        try:
            self._destination.write(destination, result.data)
        except Exception as err:
            raise DeidentifyError("UNAVAILABLE", f"the destination cannot be written ({type(err).__name__})") from None
        # the digest only tells duplicates with different bytes apart: a CRC and the length are enough, and cheap
        digest = f"{zlib.crc32(result.data):08x}-{len(result.data)}"
        return result.sop_uid, WrittenInstance(path, destination, digest)

    def finish_bundle(self) -> None:
        self._tally.flush()

    def process(self, path: str) -> Iterable:
        try:
            written = self.deidentify_and_write(path)
        except Exception as err:  # noqa: BLE001 - every failure is a dead letter, never a failed job
            self._failed.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(path, err))
            return
        self._ok.inc()
        yield written


class ResolveDuplicateInstances(beam.DoFn):
    """Several source files with one SOPInstanceUID: keep the first by source path, record the others.

    Each duplicate was written by the step before; this step runs after all writes, deletes losers written
    elsewhere and, when their contents differed, writes the winner again so the destination is deterministic.
    """

    def __init__(self, policy: DicomPolicy, keys: Keys, read: Reader, destination: DicomDestination,
                 label: str = "dicom"):
        self._files = DeidentifyDicomFiles(policy, keys, read, destination, label)
        self._destination = destination
        self._label = label

    def setup(self) -> None:
        self._files.setup()
        self._ok = Metrics.counter(NAMESPACE, success_counter(self._label))
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

    def process(self, element) -> Iterable[dict]:
        _, written = element
        written = sorted(written)
        if len(written) < 2:
            return
        winner, losers = written[0], written[1:]
        for loser in losers:
            if loser.destination != winner.destination:
                self._destination.delete(loser.destination)
            self._ok.dec()
            self._failed.inc()
            yield error_record(loser.source, "ALREADY_EXISTS",
                               "duplicate SOPInstanceUID (0008,0018): another source file holds the same instance")
        if any(w.destination == winner.destination and w.digest != winner.digest for w in losers):
            try:
                self._files.deidentify_and_write(winner.source)
            except Exception as err:  # noqa: BLE001
                self._destination.delete(winner.destination)
                self._ok.dec()
                self._failed.inc()
                yield error_from_exception(winner.source, err)


class DeidentifyDicomResult(NamedTuple):
    written: beam.PCollection
    errors: beam.PCollection


class DeidentifyDicomStore(beam.PTransform):
    """Source file paths -> de-identified instances in the destination store, plus error records."""

    def __init__(self, policy: DicomPolicy, keys: Keys, read: Reader, destination: DicomDestination,
                 label: str = "dicom"):
        super().__init__()
        self._args = (policy, keys, read, destination, label)

    def expand(self, paths):
        results = (
            paths
            | "Spread files" >> beam.Reshuffle()
            | "De-identify and write" >> beam.ParDo(DeidentifyDicomFiles(*self._args)).with_outputs(ERRORS, main=OK)
        )
        duplicates = (
            results[OK]
            | "By SOPInstanceUID" >> beam.GroupByKey()
            | "Resolve duplicates" >> beam.ParDo(ResolveDuplicateInstances(*self._args))
        )
        errors = (results[ERRORS], duplicates) | "All errors" >> beam.Flatten()
        return DeidentifyDicomResult(results[OK], errors)


class _WriteBundleShard(beam.DoFn):
    """Collect a bundle's lines and write them as one ``<prefix>-<random>.ndjson`` file when the bundle ends."""

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

        path = f"{self._prefix}-{uuid.uuid4().hex[:16]}.ndjson"
        with FileSystems.create(path, mime_type="application/x-ndjson") as out:
            out.write(("\n".join(sorted(self._lines)) + "\n").encode("utf-8"))
        self._lines = []


class WriteErrorRecords(beam.PTransform):
    """Error records as NDJSON files ``errors-<random>.ndjson`` in the run's folder, one per bundle with errors.

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

"""Progress of a running pipeline: a live line on a terminal, periodic log lines otherwise, nothing with --quiet.

The DirectRunner runs a pipeline inside ``pipeline.run()``, in worker processes when multi-processing, and Beam
metrics are readable only at the end; so progress crosses processes through small files. ``CountProgress``
(attached by a pipeline builder to its written and error outputs) keeps one file per DoFn instance in
``<run dir>/progress/`` with its running counts, rewritten at most twice a second; ``ProgressDisplay`` polls
and sums them. Without those files (a builder that attaches none) it counts the destination's data files
written since the run started. The progress folder is removed when the run ends. On Dataflow (gs:// roots) no
files are written: the same counts are the job's Beam counters.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from typing import Optional, TextIO

import apache_beam as beam

from pipelines.stores import store_root

PROGRESS_DIR = "progress"
FLUSH_SECONDS = float(os.environ.get("DEIDFLOW_PROGRESS_FLUSH_SECONDS", "0.5"))
ETA_AFTER_SECONDS = 2.0  # an ETA is shown once elements have been counted for this long


def progress_dir(run_dir: str) -> Optional[str]:
    """Where the progress files of a run go; None for remote run folders (no files written there)."""
    return None if "://" in run_dir else os.path.join(run_dir, PROGRESS_DIR)


class _Count(beam.DoFn):
    """Counts elements, or with ``weighted`` adds them up (each element an int: how many it stands for)."""

    def __init__(self, folder: str, field: str, weighted: bool = False):
        self._folder, self._field, self._weighted = folder, field, weighted

    def setup(self) -> None:
        self._path = os.path.join(self._folder, f"{self._field}-{uuid.uuid4().hex}.json")
        self._count, self._flushed, self._last = 0, 0, 0.0

    def _flush(self) -> None:
        if self._count == self._flushed:
            return
        try:
            os.makedirs(self._folder, exist_ok=True)
            tmp = self._path + ".tmp"
            with open(tmp, "w", encoding="ascii") as out:
                json.dump({self._field: self._count}, out)
            os.replace(tmp, self._path)
            self._flushed = self._count
        except OSError:
            pass  # progress is best effort; the run's records do not depend on it
        self._last = time.monotonic()

    def process(self, element):
        self._count += element if self._weighted else 1
        if time.monotonic() - self._last >= FLUSH_SECONDS:
            self._flush()
        return ()

    def finish_bundle(self) -> None:
        self._flush()

    def teardown(self) -> None:
        self._flush()


class CountProgress(beam.PTransform):
    """Count the elements of a PCollection into the run's progress files (``field``: done or failed); with
    ``weighted``, add them up (a PCollection of counts)."""

    def __init__(self, folder: Optional[str], field: str = "done", weighted: bool = False):
        super().__init__()
        self._folder, self._field, self._weighted = folder, field, weighted

    def expand(self, pcoll):
        if self._folder is None:
            return pcoll.pipeline | f"No progress {self._field}" >> beam.Create([])
        return pcoll | beam.ParDo(_Count(self._folder, self._field, self._weighted))


def attach_progress(result, run_dir: str, label: str = "") -> None:
    """Attach progress counting to a de-identify branch result: ``.errors`` failed; done, the elements of
    ``.written``, or where the result has ``done_counts`` (PCollections of counts: a FHIR store writes a shard
    file for many resources) their sum."""
    folder = progress_dir(run_dir)
    if folder is None:
        return
    done_counts = getattr(result, "done_counts", None)
    if done_counts is None:
        result.written | f"Progress done {label}".strip() >> CountProgress(folder, "done")
    for i, counts in enumerate(done_counts or ()):
        counts | f"Progress done {label} {i}".strip() >> CountProgress(folder, "done", weighted=True)
    result.errors | f"Progress failed {label}".strip() >> CountProgress(folder, "failed")


def read_counts(folder: Optional[str]) -> dict[str, int]:
    counts = {"done": 0, "failed": 0}
    if folder is None or not os.path.isdir(folder):
        return counts
    for name in os.listdir(folder):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="ascii") as handle:
                for key, value in json.load(handle).items():
                    counts[key] = counts.get(key, 0) + int(value)
        except (OSError, ValueError):
            continue
    return counts


def count_new_files(folder: Optional[str], since: float) -> int:
    """Data files below a local folder modified since ``since`` (run records left out)."""
    if folder is None or not os.path.isdir(folder):
        return 0
    total = 0
    for base, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".deidflow"]
        for name in files:
            if store_root.is_temp_leftover(name):
                continue
            try:
                if os.stat(os.path.join(base, name)).st_mtime >= since:
                    total += 1
            except OSError:
                continue
    return total


def format_line(what: str, done: int, failed: int, total: Optional[int], seconds: float,
                eta_rate: Optional[float] = None) -> str:
    """E.g. ``de-identify: 120/500 (24%) 35.2/s ETA 0:00:11, 2 failed``: the rate since the start; the ETA from
    ``eta_rate`` (elements a second) when given, 0 for none yet, else from that rate."""
    processed = done + failed
    rate = processed / seconds if seconds > 0 else 0.0
    if eta_rate is None:
        eta_rate = rate
    if total:
        line = f"{what}: {processed:,}/{total:,} ({min(100, 100 * processed // max(total, 1))}%) {rate:,.1f}/s"
        if eta_rate > 0 and processed < total:
            eta = int((total - processed) / eta_rate)
            line += f" ETA {eta // 3600}:{eta % 3600 // 60:02d}:{eta % 60:02d}"
    else:
        line = f"{what}: {processed:,} {rate:,.1f}/s"
    return line + f", {failed:,} failed"


class ProgressDisplay:
    """Poll a run's progress in a thread and show it; ``with ProgressDisplay(...):`` around ``pipeline.run()``."""

    def __init__(self, run_dir: str, total: Optional[int] = None, destination: Optional[str] = None,
                 what: str = "de-identify", quiet: bool = False, stream: Optional[TextIO] = None,
                 interval: Optional[float] = None):
        self._folder = progress_dir(run_dir)
        self._destination = destination if destination and "://" not in destination else None
        self._total, self._what, self._quiet = total, what, quiet
        self._stream = stream or sys.stderr
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        default = float(os.environ.get("DEIDFLOW_PROGRESS_SECONDS", "0.5" if self._tty else "30"))
        self._interval = interval if interval is not None else default
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._start = time.time()
        self._first_counted: Optional[tuple[float, int]] = None  # (when, how many) the first count was seen
        self._last_line = ""

    def counts(self) -> tuple[int, int]:
        counts = read_counts(self._folder)
        done, failed = counts.get("done", 0), counts.get("failed", 0)
        if not done and not failed and self._destination:
            done = count_new_files(self._destination, self._start - 1)
        return done, failed

    def line(self) -> str:
        done, failed = self.counts()
        now = time.time()
        return format_line(self._what, done, failed, self._total, now - self._start,
                           eta_rate=self._recent_rate(done + failed, now))

    def _recent_rate(self, processed: int, now: float) -> float:
        """Elements a second since the first were counted; 0 (no ETA) until ETA_AFTER_SECONDS of them. The rate
        since launch would count the start-up and the stages before the first output (reading, parsing) as slow
        progress: a 45,000-resource store showed an ETA of 16 hours when 10 seconds were left."""
        if processed <= 0:
            return 0.0
        if self._first_counted is None:
            self._first_counted = (now, processed)
            return 0.0
        since, at_first = self._first_counted
        if now - since < ETA_AFTER_SECONDS or processed <= at_first:
            return 0.0
        return (processed - at_first) / (now - since)

    def _known(self) -> bool:
        """Whether anything can be shown: a total, a destination to count, or progress files of the run."""
        return bool(self._total or self._destination or (self._folder and os.path.isdir(self._folder)))

    def _show(self, final: bool = False) -> None:
        if not self._known():
            return  # a command that attaches no progress counting and gives no total: show nothing
        line = self.line()
        if self._tty:
            pad = " " * max(0, len(self._last_line) - len(line))
            self._stream.write("\r" + line + pad + ("\n" if final else ""))
        elif line != self._last_line or final:
            self._stream.write(line + "\n")
        self._stream.flush()
        self._last_line = line

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._show()

    def __enter__(self) -> "ProgressDisplay":
        self._start = time.time()
        if not self._quiet:
            self._thread = threading.Thread(target=self._loop, name="deidflow-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            if exc[0] is None:
                self._show(final=True)
        self.cleanup()

    def cleanup(self) -> None:
        if self._folder and os.path.isdir(self._folder):
            for name in os.listdir(self._folder):
                try:
                    os.unlink(os.path.join(self._folder, name))
                except OSError:
                    pass
            try:
                os.rmdir(self._folder)
            except OSError:
                pass

"""FHIR store read: files (large NDJSON files as ranges of whole lines) -> batches of RawResource, error records.

The resources are the FHIR store reader's (``pipelines.stores.fhir``): NDJSON lines, gzipped NDJSON lines,
Bundle entries. Uncompressed NDJSON batches are LineBatches, which also know the bytes they span, so the
de-identify step can read them again (``read_batch_lines``) instead of having the runner carry their lines.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.fileio import EmptyMatchTreatment
from apache_beam.metrics import Metrics

from pipelines.stores import fhir as stores_fhir
from pipelines.stores import store_root
from pipelines.stores.fhir import (
    BUNDLE_SUFFIXES,
    MAX_RESOURCE_BYTES,
    RawResource,
    ReadError,
    SourceFile,
    bundle_items,
)
from pipelines.stores.lines import Range, ndjson_lines, open_source, plan_ranges
from transforms.beam import ERRORS, NAMESPACE, error_record, failure_counter

# Beam carries resources in batches, not one element a resource: a Beam element costs the runner and the workers
# tens of microseconds (DoFn calls, encoding, the runner's shuffle), as much as de-identifying a small resource.
BATCH_LINES = 200  # resources a batch (read -> parse -> de-identify) ...
BATCH_BYTES = 1 << 20  # ... or this many bytes of them, whichever comes first: memory stays bounded
# An uncompressed NDJSON file is read in ranges of whole lines, about 1/RANGE_PIECES of it each but at least
# MIN_RANGE_BYTES and at most RANGE_BYTES, so a store's work spreads evenly over the workers whatever its files'
# sizes (runners hand out the ranges by count, and the de-identify step's input follows the read's).
RANGE_PIECES = 16
MIN_RANGE_BYTES = 256 << 10
RANGE_BYTES = 64 << 20


class LineBatch(NamedTuple):
    """A batch read from an uncompressed NDJSON file, with where its lines lie: bytes ``start`` to ``end`` of
    ``path`` (whole lines), the first numbered ``first_line``; ``crc``: CRC-32 of its resources' bytes in order."""

    path: str
    start: int
    end: int
    first_line: int
    crc: int
    raws: list  # of RawResource


class BatchRef(NamedTuple):
    """A LineBatch as the parse step hands it to the de-identify step (side-input join): where its lines are and
    what to do with each, not the lines. The de-identify step reads the range again; the runner then carries a
    few hundred bytes a batch instead of every resource (the read is a page-cache or GCS range read).
    ``lines``: numbers of the lines to de-identify (the others failed, were filtered, or are in ``done``);
    ``done``: ``(number, join key, new id, output line)`` of the Patients the parse step de-identified."""

    path: str
    relative: str
    start: int
    end: int
    first_line: int
    crc: int
    lines: tuple
    done: tuple


class SourceChanged(Exception):
    """A batch's bytes differ when read again (the file was changed during the run)."""


def read_batch_lines(ref: BatchRef) -> list[tuple[int, bytes]]:
    """The (number, bytes) of a BatchRef's resources, read again; SourceChanged when they are not what was parsed."""
    length = ref.end - ref.start
    data = read_range(ref.path, ref.start, length)
    lines = []
    crc = 0
    for number, line, _ in ndjson_lines(io.BytesIO(data), length + 1, ref.first_line):
        crc = zlib.crc32(line, crc)
        lines.append((number, line))
    if crc != ref.crc or len(data) != length:
        raise SourceChanged()
    return lines


def read_range(path: str, start: int, length: int, raw: bool = False) -> bytes:
    """Up to ``length`` bytes of a file from byte ``start`` (fewer only at its end); ``raw``: as stored, not
    decompressed by its extension."""
    with (store_root.open_bytes if raw else store_root.open_read)(path) as handle:
        handle.seek(start)
        data = handle.read(length)
        while len(data) < length:  # a short read is not the end of a file
            more = handle.read(length - len(data))
            if not more:
                break
            data += more
    return data


def range_size(size: int, pieces: int, smallest: int, largest: int) -> int:
    """The range size a file of ``size`` bytes is split into (about ``pieces`` ranges, within the bounds)."""
    return min(largest, max(smallest, size // pieces))


class SplitFiles(beam.DoFn):
    """A source file -> itself, or ranges of whole lines when it is an uncompressed NDJSON file of more than
    one and a half ranges (``range_size``), so one large file is read and parsed by several workers. Splitting
    reads the file once, counting newlines, so every range knows the number of its first line (error records
    name lines)."""

    def __init__(self, pieces: int | None = None, smallest: int | None = None, largest: int | None = None):
        self._pieces = pieces or RANGE_PIECES
        self._smallest = smallest or MIN_RANGE_BYTES
        self._largest = largest or RANGE_BYTES

    def process(self, source: SourceFile) -> Iterator[SourceFile]:
        if source.size is None or not stores_fhir.is_plain_ndjson(source.relative):
            yield source
            return
        size = range_size(source.size, self._pieces, self._smallest, self._largest)
        if source.size <= size * 3 // 2:
            yield source
            return
        try:
            with store_root.open_read(source.path) as handle:
                ranges = plan_ranges(handle, size)
        except Exception:  # noqa: BLE001 - read whole: the read step reports what fails
            yield source
            return
        for start, end, first in ranges:
            yield source._replace(start=start, end=end, first_line=first)


class ReadFhirFiles(beam.DoFn):
    """One source file (or a range of one) -> batches (lists) of RawResource, one per NDJSON line or Bundle
    entry, at most ``batch_lines`` resources or about ``batch_bytes`` a batch; unreadable input -> error records.
    """

    def __init__(self, label: str = "fhir", max_resource_bytes: int = MAX_RESOURCE_BYTES,
                 batch_lines: int | None = None, batch_bytes: int | None = None):
        self._label = label
        self._limit = max_resource_bytes
        self._batch_lines = batch_lines or BATCH_LINES
        self._batch_bytes = batch_bytes or BATCH_BYTES

    def setup(self) -> None:
        from pipelines.fhir.memory import fix_mmap_threshold

        fix_mmap_threshold()  # the first step a worker runs: set before the stage data arrives
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

    def _error(self, error: ReadError):
        self._failed.inc()
        return beam.pvalue.TaggedOutput(ERRORS, error_record(*error))

    def process(self, source: SourceFile) -> Iterable:
        lowered = source.relative.lower()
        if stores_fhir.is_ndjson(lowered):
            rereadable = stores_fhir.is_plain_ndjson(lowered)  # the de-identify step can read a batch again by range
            for item in self._located_batches(source):
                yield item if rereadable or item.__class__ is not LineBatch else item.raws
            return
        if not lowered.endswith(BUNDLE_SUFFIXES):
            yield self._error(stores_fhir.not_a_store_file(source.relative))
            return
        batch: list[RawResource] = []
        size = 0
        try:
            for item in self._bundle(source):
                if item.__class__ is ReadError:
                    yield self._error(item)
                    continue
                batch.append(item)
                size += len(item.data)
                if len(batch) >= self._batch_lines or size >= self._batch_bytes:
                    yield batch
                    batch, size = [], 0
        except Exception as err:  # noqa: BLE001 - an unreadable file is a dead letter, never a failed job
            if batch:
                yield batch  # what was read before the failure, as when each entry was an element
            yield self._error(stores_fhir.unreadable(source.relative, err))
            return
        if batch:
            yield batch

    def _located_batches(self, source: SourceFile) -> Iterator:
        """An NDJSON file (or a range of one) -> LineBatches, each knowing the bytes its lines span, and error
        records. An oversize line ends a batch (it is an error record, never inside a range read again)."""
        batch_start = last_end = source.start
        first = source.first_line
        raws: list[RawResource] = []
        size = crc = 0
        try:
            with open_source(source.path, source.relative) as handle:
                if source.start:
                    handle.seek(source.start)
                length = None if source.end is None else source.end - source.start
                for number, data, end in ndjson_lines(Range(handle, length), self._limit, source.first_line):
                    end += source.start
                    if data is None:
                        if raws:
                            yield LineBatch(source.path, batch_start, last_end, first, crc, raws)
                        yield self._error(stores_fhir.oversize(f"{source.relative}:{number}", self._limit))
                        batch_start = last_end = end
                        first = number + 1
                        raws, size, crc = [], 0, 0
                        continue
                    raws.append(RawResource(source.relative, number, data, source.mtime))
                    crc = zlib.crc32(data, crc)
                    size += len(data)
                    last_end = end
                    if len(raws) >= self._batch_lines or size >= self._batch_bytes:
                        yield LineBatch(source.path, batch_start, last_end, first, crc, raws)
                        batch_start, first = end, number + 1
                        raws, size, crc = [], 0, 0
        except Exception as err:  # noqa: BLE001 - an unreadable file is a dead letter, never a failed job
            if raws:
                yield LineBatch(source.path, batch_start, last_end, first, crc, raws)
            yield self._error(stores_fhir.unreadable(source.relative, err))
            return
        if raws:
            yield LineBatch(source.path, batch_start, last_end, first, crc, raws)

    def _bundle(self, source: SourceFile) -> Iterator[RawResource | ReadError]:
        with open_source(source.path, source.relative) as handle:
            data = handle.read()  # at most the file size cap, else TooLarge: an error record for the file
        return bundle_items(source.relative, data, source.mtime, self._limit)


class ReadFhirStore(beam.PTransform):
    """Every file below a store folder (run records left out) -> batches of RawResource, plus error records.

    Files are spread over the workers, large NDJSON files split into line ranges and those spread again.
    """

    def __init__(self, source: str, label: str = "fhir", max_resource_bytes: int = MAX_RESOURCE_BYTES):
        super().__init__()
        self._source = source
        self._label = label
        self._limit = max_resource_bytes

    def expand(self, pbegin):
        source = self._source.rstrip("/")
        return (
            pbegin
            | "Match" >> fileio.MatchFiles(source + "/**", empty_match_treatment=EmptyMatchTreatment.ALLOW)
            | "Skip run records" >> beam.Filter(lambda m: store_root.is_store_data(m.path, source))
            | "Files" >> beam.Map(stores_fhir.source_file, source)
            | "Spread files" >> beam.Reshuffle()
            | "Split large files" >> beam.ParDo(SplitFiles())
            | "Spread ranges" >> beam.Reshuffle()
            | "Read lines" >> beam.ParDo(ReadFhirFiles(self._label, self._limit)).with_outputs(ERRORS, main="raw")
        )



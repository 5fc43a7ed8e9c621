"""The FHIR store pipeline: read NDJSON and Bundle files, join each resource to its Patient, de-identify, write NDJSON.

Shape (one branch per store; ``add_fhir_store_branch``, default ``join="side"``)::

    MatchFiles(source/**) -> Reshuffle -> SplitFiles -> Reshuffle  files, large NDJSON files as line ranges
      -> ReadFhirFiles           batches of RawResource (one per NDJSON line / Bundle entry, <= BATCH_LINES);
                                 from uncompressed NDJSON a LineBatch, which also knows the bytes it spans
      -> ParseResources          errors | batches keyed by patient (a LineBatch: a BatchRef, its location and
                                 what to do with each line, not the lines) | batches of Patient join info | sizes
      -> Reshuffle               the batches spread evenly over the workers
      -> DeidentifyWithSideInput (Patient join info, shard counts, [kept ids] as side inputs)
                                 errors | ((type, shard), packed lines of a bundle) | ((type, shard), b"") markers
      -> GroupByKey -> WriteShards                              <Type>-<tag>-SSSSS-of-NNNNN.ndjson, sorted by id
      -> DeleteStaleShards                                      an earlier run's shards of this source, not rewritten

Beam carries batches, not resources: a Beam element costs tens of microseconds of DoFn calls, encoding and the
runner's shuffle, as much as de-identifying a small resource. The read emits batches of a few hundred lines, the
parse and de-identify steps work a batch at a time, and the de-identify step gathers its output lines per
output shard over a bundle (up to FLUSH_BYTES), so the shard shuffle carries a few values a shard a worker.
Large NDJSON files are read in ranges of whole lines (``plan_ranges``: one pass counting newlines gives each
range the number of its first line), so the work spreads over the workers whatever the files' sizes. The
de-identify step reads an uncompressed NDJSON batch again from its file (``read_batch_lines``) rather than
have the runner carry its lines from the parse step: on the DirectRunner every byte between stages passes
through the runner process's gRPC, which cost about a quarter of the workers' time. A batch whose bytes no
longer match their CRC-32 (the file changed during the run) gives error records, never output.

The join: a resource's key is its patient compartment owner (``patient_reference``), a Patient's key its own
``Patient/<id>``; each Patient's date-shift key (its MRN, ``patient_shift_key``) and contextual phrases reach
its resources through a side input: the parse step's batches of Patient join info, pickled, merged by each
de-identify worker into one dict (``first_patients``: the first Patient by source location when an id
repeats). Because that side input depends on the whole read, every runner materialises the parsed resources
before the de-identify step. How it then spreads them is the runner's: the DirectRunner hands each worker
whole chunks of the parse step's output as they arrived (10 MB each), 70/30 in a measured run, so the batches
are reshuffled first (a GroupByKey's keys are dealt out one by one). ``join="keyed"`` does the join with a
GroupByKey instead (no per-worker Patient table, one more shuffle of every resource; same output).

Output is deterministic: shard counts come from the input's sizes per type, a resource's shard from a hash of
its new id, and lines are sorted by new id within a shard, so runs and worker counts agree byte for byte.
Shard names carry a tag derived from the source path, so de-identifying two sources into one store does not
overwrite the other's shards, and a rerun replaces its own (stale shards of the same tag are deleted).
``incremental=True`` re-emits this source's existing destination lines into the same shard shuffle and skips
source resources whose destination ``Type/<new id>`` is among them (``add_incremental_inputs``).

Every input is accounted for: a resource is written, filtered (``filtered/<label>``), skipped by an incremental
run (``skipped/<label>``), or an error record (``{resource_name, error}``) named ``<file>:<line>`` or
``<file>#entry[<i>]`` — never by id or value.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import pickle
import re
import zlib
from collections.abc import Iterable, Iterator
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

import apache_beam as beam
import orjson
from apache_beam.io import fileio
from apache_beam.io.fileio import EmptyMatchTreatment
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from pipelines.stores import store_root
from transforms.beam import (
    ERRORS,
    NAMESPACE,
    WriteErrorRecords,
    error_from_exception,
    error_record,
    Tally,
    failure_counter,
    freeze_startup_heap,
    success_counter,
)
from transforms.crypto import Keys
from transforms.errors import DeidentifyError
from transforms.fhir import (
    deidentify_patient,
    deidentify_resource,
    new_id,
    patient_context,
    patient_reference,
    patient_shift_key,
    resource_id_rewritten,
)
from transforms.fhir.ids import reference_key
from transforms.fhir.policy import FhirPolicy

_log = logging.getLogger(__name__)

# The Healthcare API caps a FHIR resource at 10 MiB; larger lines are error records, never read into a resource.
MAX_RESOURCE_BYTES = 10 * 1024 * 1024
TARGET_SHARD_BYTES = 64 * 1024 * 1024  # output shard size the shard count aims at
MAX_SHARD_RESOURCES = 200_000  # and at most this many resources a shard (a shard is sorted in memory)
READ_CHUNK = 1 << 20
# Beam carries resources in batches, not one element a resource: a Beam element costs the runner and the workers
# tens of microseconds (DoFn calls, encoding, the runner's shuffle), as much as de-identifying a small resource.
BATCH_LINES = 200  # resources a batch (read -> parse -> de-identify) ...
BATCH_BYTES = 1 << 20  # ... or this many bytes of them, whichever comes first: memory stays bounded
FLUSH_BYTES = 8 << 20  # the de-identify step gathers output lines per shard up to this many bytes a worker
# An uncompressed NDJSON file is read in ranges of whole lines, about 1/RANGE_PIECES of it each but at least
# MIN_RANGE_BYTES and at most RANGE_BYTES, so a store's work spreads evenly over the workers whatever its files'
# sizes (runners hand out the ranges by count, and the de-identify step's input follows the read's).
RANGE_PIECES = 16
MIN_RANGE_BYTES = 256 << 10
RANGE_BYTES = 64 << 20
NDJSON_SUFFIXES = (".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz")
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, dropped from a file's first line
BUNDLE_SUFFIXES = (".json",)
EXPLODED_BUNDLE_TYPES = frozenset({"transaction", "batch", "collection", "searchset", "transaction-response",
                                   "batch-response"})
SHARD_NAME = re.compile(r"(?P<type>[A-Z][A-Za-z]+)-(?P<tag>[0-9a-f]{8})-(?P<shard>\d{5})-of-(?P<count>\d{5})\.ndjson\Z")

RESOURCE, PATIENT, DEIDENTIFIED = 0, 1, 2
PATIENTS, SIZES = "patients", "sizes"


# --- JSON with decimals kept as written -------------------------------------------------------------------


class JsonDecimal(Decimal):
    """A JSON number with a fraction or exponent, kept with its original text (``1.50`` stays ``1.50``)."""

    __slots__ = ("text",)

    def __new__(cls, text: str):
        self = super().__new__(cls, text)
        self.text = text
        return self


def _reject_constant(name: str):
    raise ValueError("not a JSON number")  # NaN, Infinity: not JSON, not FHIR


def loads(data: bytes | str) -> Any:
    """Parse one JSON document; decimals keep their text (FHIR decimals are exact)."""
    return json.loads(data, parse_float=JsonDecimal, parse_constant=_reject_constant)


def _fragment(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(getattr(value, "text", None) or str(value))
    raise TypeError(type(value).__name__)


_MARK = re.compile(r'"\\u0000([-+.0-9eE]+)\\u0000"')


def _mark(value: Any) -> str:
    if isinstance(value, Decimal):
        return "\x00" + (getattr(value, "text", None) or str(value)) + "\x00"
    raise TypeError(type(value).__name__)


def dumps(resource: Any) -> bytes:
    """Compact UTF-8 JSON, keys in their order, decimals as written (orjson; json for >64-bit integers)."""
    try:
        return orjson.dumps(resource, default=_fragment)
    except orjson.JSONEncodeError:
        text = json.dumps(resource, ensure_ascii=False, separators=(",", ":"), default=_mark)
        return _MARK.sub(lambda m: m.group(1), text).encode("utf-8")


# --- reading ----------------------------------------------------------------------------------------------


class SourceFile(NamedTuple):
    """A source file, or a range of whole lines of one (``start`` to ``end`` bytes, ``first_line`` its number)."""

    path: str
    relative: str  # below the store folder: names error records
    mtime: float | None
    size: int | None = None
    start: int = 0
    end: int | None = None  # None: to the end of the file
    first_line: int = 1


class RawResource(NamedTuple):
    file: str  # relative path
    index: int  # line number (NDJSON) or entry index (Bundle)
    data: bytes
    mtime: float | None
    entry: bool = False  # a Bundle entry

    @property
    def name(self) -> str:
        return f"{self.file}#entry[{self.index}]" if self.entry else f"{self.file}:{self.index}"


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
    with _open(ref.path) as handle:
        handle.seek(ref.start)
        data = handle.read(length)
        while len(data) < length:  # a short read is not the end of a file
            more = handle.read(length - len(data))
            if not more:
                break
            data += more
    lines = []
    crc = 0
    for number, line, _ in split_lines_at(io.BytesIO(data), length + 1, ref.first_line):
        if number == 1 and line.startswith(BOM):
            line = line[3:]
        crc = zlib.crc32(line, crc)
        lines.append((number, line))
    if crc != ref.crc or len(data) != length:
        raise SourceChanged()
    return lines


def _is_source_file(path: str, source: str) -> bool:
    parts = store_root.relative(path, source).replace("\\", "/").split("/")
    return bool(parts[-1]) and store_root.META_DIR not in parts[:-1] and not parts[-1].startswith(".tmp-")


def split_lines(handle, limit: int, first: int = 1) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) of each non-blank line; bytes None for a line over ``limit`` (never held whole).

    ``first``: the number of the handle's first line (a range of a file starts inside it).
    """
    for number, data, _ in split_lines_at(handle, limit, first):
        yield number, data


def split_lines_at(handle, limit: int, first: int = 1) -> Iterator[tuple[int, bytes | None, int]]:
    """``split_lines`` with where each line ends: (number, bytes or None, offset just past its newline)."""
    number = first - 1
    pending = bytearray()
    oversize = False
    offset = 0  # of the chunk from the handle's start
    while True:
        chunk = handle.read(READ_CHUNK)
        if not chunk:
            break
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                if not oversize:
                    pending += chunk[start:]
                    if len(pending) > limit:
                        oversize, pending = True, bytearray()
                break
            number += 1
            if oversize:
                yield number, None, offset + end + 1
            else:
                pending += chunk[start:end]
                if len(pending) > limit:
                    yield number, None, offset + end + 1
                elif pending.strip():
                    yield number, bytes(pending), offset + end + 1
            pending, oversize = bytearray(), False
            start = end + 1
        offset += len(chunk)
    if oversize or pending.strip():
        number += 1
        yield number, None if oversize or len(pending) > limit else bytes(pending), offset


_open = store_root.open_read


class _Range:
    """Reads at most ``length`` bytes of a handle (from where it stands)."""

    def __init__(self, handle, length: int | None):
        self._handle = handle
        self._left = length

    def read(self, size: int) -> bytes:
        if self._left is None:
            return self._handle.read(size)
        if self._left <= 0:
            return b""
        data = self._handle.read(min(size, self._left))
        self._left -= len(data)
        return data


def plan_ranges(handle, range_bytes: int) -> list[tuple[int, int | None, int]]:
    """Split a file into ranges of whole lines: ``(start, end or None for the rest, number of the first line)``.

    A range ends just after the first newline at or beyond ``range_bytes`` from its start, so no line is cut
    and a line longer than a range stays in one. One pass that only counts newlines (no line is held).
    """
    ranges: list[tuple[int, int | None, int]] = []
    start, first = 0, 1
    offset = 0  # of the chunk in the file
    lines = 0  # newlines before the chunk
    while True:
        chunk = handle.read(READ_CHUNK)
        if not chunk:
            break
        at = 0
        while True:
            cut = chunk.find(b"\n", max(at, start + range_bytes - 1 - offset))
            if cut < 0:
                lines += chunk.count(b"\n", at)
                break
            lines += chunk.count(b"\n", at, cut + 1)
            at = cut + 1
            ranges.append((start, offset + at, first))
            start, first = offset + at, lines + 1
        offset += len(chunk)
    if offset > start or not ranges:
        ranges.append((start, None, first))
    return ranges


def bundle_resources(bundle: dict) -> list[tuple[int, dict | None]]:
    """A transaction/collection Bundle's entries as store resources: (entry index, resource or None if malformed).

    References between entries (``urn:uuid:`` or absolute fullUrls) become ``Type/id`` as a FHIR server does when
    it stores a transaction; an entry without an id takes the one its ``urn:uuid:`` fullUrl names. Entries with
    no resource (a DELETE request) are not resources and are left out.
    """
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        return [(0, None)]
    targets: dict[str, str] = {}
    out: list[tuple[int, dict | None]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            out.append((i, None))
            continue
        resource = entry.get("resource")
        if resource is None:
            continue
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            out.append((i, None))
            continue
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and full_url:
            rid = resource.get("id")
            if not isinstance(rid, str) or not rid:
                if full_url.startswith("urn:uuid:"):
                    rid = full_url[9:]
                else:
                    key = reference_key(full_url)
                    rid = key.partition("/")[2] if key and "/" in key else None
                if rid:
                    resource = {**resource, "id": rid}
            if isinstance(resource.get("id"), str):
                targets[full_url] = f"{resource['resourceType']}/{resource['id']}"
        out.append((i, resource))
    if targets:
        out = [(i, _relink(r, targets) if r is not None else None) for i, r in out]
    return out


def _relink(value: Any, targets: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "reference" and isinstance(v, str) and v in targets:
                out[k] = targets[v]
            else:
                out[k] = _relink(v, targets)
        return out
    if isinstance(value, list):
        return [_relink(v, targets) for v in value]
    return value


def _splittable(source: SourceFile) -> bool:
    return source.relative.lower().endswith((".ndjson", ".jsonl"))  # compressed files are read whole


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
        if source.size is None or not _splittable(source):
            yield source
            return
        size = range_size(source.size, self._pieces, self._smallest, self._largest)
        if source.size <= size * 3 // 2:
            yield source
            return
        try:
            with _open(source.path) as handle:
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
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

    def _error(self, name: str, code: str, message: str):
        self._failed.inc()
        return beam.pvalue.TaggedOutput(ERRORS, error_record(name, code, message))

    def process(self, source: SourceFile) -> Iterable:
        lowered = source.relative.lower()
        if lowered.endswith(NDJSON_SUFFIXES):
            rereadable = _splittable(source)  # uncompressed: the de-identify step can read a batch again by range
            for item in self._located_batches(source):
                yield item if rereadable or item.__class__ is not LineBatch else item.raws
            return
        if not lowered.endswith(BUNDLE_SUFFIXES):
            yield self._error(source.relative, "INVALID_ARGUMENT",
                              "not a FHIR store file: expected NDJSON (.ndjson) or a Bundle (.json)")
            return
        batch: list[RawResource] = []
        size = 0
        try:
            for item in self._bundle(source):
                if not isinstance(item, RawResource):
                    yield item
                    continue
                batch.append(item)
                size += len(item.data)
                if len(batch) >= self._batch_lines or size >= self._batch_bytes:
                    yield batch
                    batch, size = [], 0
        except Exception as err:  # noqa: BLE001 - an unreadable file is a dead letter, never a failed job
            if batch:
                yield batch  # what was read before the failure, as when each entry was an element
            yield self._error(source.relative, "UNAVAILABLE", f"the source file cannot be read ({type(err).__name__})")
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
            with _open(source.path) as handle:
                if source.start:
                    handle.seek(source.start)
                length = None if source.end is None else source.end - source.start
                for number, data, end in split_lines_at(_Range(handle, length), self._limit, source.first_line):
                    end += source.start
                    if data is None:
                        if raws:
                            yield LineBatch(source.path, batch_start, last_end, first, crc, raws)
                        yield self._error(f"{source.relative}:{number}", "INVALID_ARGUMENT",
                                          f"resource larger than the {self._limit}-byte limit")
                        batch_start = last_end = end
                        first = number + 1
                        raws, size, crc = [], 0, 0
                        continue
                    if number == 1 and data.startswith(BOM):
                        data = data[3:]
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
            yield self._error(source.relative, "UNAVAILABLE", f"the source file cannot be read ({type(err).__name__})")
            return
        if raws:
            yield LineBatch(source.path, batch_start, last_end, first, crc, raws)

    def _bundle(self, source: SourceFile) -> Iterator:
        with _open(source.path) as handle:
            data = handle.read()
        try:
            document = loads(data[3:] if data.startswith(BOM) else data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            yield self._error(source.relative, "INVALID_ARGUMENT", "not valid JSON")
            return
        if not isinstance(document, dict):
            yield self._error(source.relative, "INVALID_ARGUMENT", "not a JSON object")
            return
        if document.get("resourceType") != "Bundle" or document.get("type") not in EXPLODED_BUNDLE_TYPES:
            yield RawResource(source.relative, 0, data, source.mtime, entry=False)  # one resource (a document Bundle)
            return
        for index, resource in bundle_resources(document):
            name = f"{source.relative}#entry[{index}]"
            if resource is None:
                yield self._error(name, "INVALID_ARGUMENT", "entry.resource: not a resource with a resourceType")
                continue
            try:
                encoded = dumps(resource)
            except Exception:  # noqa: BLE001
                yield self._error(name, "INVALID_ARGUMENT", "entry.resource: cannot be serialised as JSON")
                continue
            if len(encoded) > self._limit:
                yield self._error(name, "INVALID_ARGUMENT", f"resource larger than the {self._limit}-byte limit")
                continue
            yield RawResource(source.relative, index, encoded, source.mtime, entry=True)


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

        def to_source(metadata) -> SourceFile:
            return SourceFile(metadata.path, store_root.relative(metadata.path, source),
                              getattr(metadata, "last_updated_in_seconds", None),
                              getattr(metadata, "size_in_bytes", None))

        return (
            pbegin
            | "Match" >> fileio.MatchFiles(source + "/**", empty_match_treatment=EmptyMatchTreatment.ALLOW)
            | "Skip run records" >> beam.Filter(lambda m: _is_source_file(m.path, source))
            | "Files" >> beam.Map(to_source)
            | "Spread files" >> beam.Reshuffle()
            | "Split large files" >> beam.ParDo(SplitFiles())
            | "Spread ranges" >> beam.Reshuffle()
            | "Read lines" >> beam.ParDo(ReadFhirFiles(self._label, self._limit)).with_outputs(ERRORS, main="raw")
        )


# --- parse, key by patient --------------------------------------------------------------------------------


_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")
_KNOWN_TYPES: dict[str, bool] = {}


def _resource_model_exists(rtype: str) -> bool:
    known = _KNOWN_TYPES.get(rtype)
    if known is None:
        from transforms.fhir import schema

        known = _KNOWN_TYPES[rtype] = bool(_TYPE_NAME.fullmatch(rtype)) and schema.resource_model(rtype) is not None
    return known


def parse_resource(raw: RawResource | bytes, exact: bool = True) -> dict:
    """Parse one raw resource; DeidentifyError (no values in the message) when it is not a FHIR R4 resource.

    ``exact=False``: decimals may come back as floats (orjson), for steps that only route a resource.
    """
    data = raw if isinstance(raw, bytes) else raw.data
    try:
        if exact:  # json with decimals kept: faster here than orjson plus a scan for numbers it would change
            resource = loads(data)
        else:
            try:
                resource = orjson.loads(data)
            except orjson.JSONDecodeError:
                resource = loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DeidentifyError("INVALID_ARGUMENT", "not valid JSON") from None
    if not isinstance(resource, dict):
        raise DeidentifyError("INVALID_ARGUMENT", "not a JSON object")
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise DeidentifyError("INVALID_ARGUMENT", "resourceType: missing")
    if len(rtype) > 64 or not _resource_model_exists(rtype):
        raise DeidentifyError("INVALID_ARGUMENT", "resourceType: not a FHIR R4 resource type")
    return resource


def join_key(resource: dict, raw: RawResource) -> str:
    """The group a resource is de-identified in: its patient (``Patient/<id>``), else a key of its own."""
    owner = patient_reference(resource)
    return owner if owner else "\x00" + raw.name


class ParseResources(beam.DoFn):
    """A batch of RawResource -> a batch of (join key, resource) for the join, a batch of (Patient/<id>, join
    info) for its Patients, sizes per type.

    Main output: a list of (key, (RESOURCE, file, index, entry, data)). PATIENTS: a list of (Patient/<id>,
    (PATIENT, file, index, shift key, context phrases)) — every Patient, filtered or not, so its resources still
    shift with it. SIZES: (resourceType, (count, bytes)) once a type a bundle. ERRORS: error records, one a
    resource.
    """

    def __init__(self, policy: FhirPolicy, keys: Keys, label: str = "fhir", resource_filter=None,
                 deidentify_patients: bool = False, by_reference: bool = False):
        self._policy = policy
        self._keys = keys
        self._label = label
        self._filter = resource_filter
        self._deidentify_patients = deidentify_patients and resource_filter is None
        self._by_reference = by_reference

    def setup(self) -> None:
        freeze_startup_heap()
        self._tally = Tally()
        self._failed_name = failure_counter(self._label)
        self._filtered_name = f"filtered/{self._label}"

    def start_bundle(self) -> None:
        self._sizes: dict[str, list[int]] = {}

    def finish_bundle(self) -> Iterator:
        self._tally.flush()
        for rtype, (count, size) in sorted(self._sizes.items()):  # one (type, (count, bytes)) a bundle
            yield beam.pvalue.TaggedOutput(SIZES, WindowedValue((rtype, (count, size)), MIN_TIMESTAMP,
                                                                (GlobalWindow(),)))
        self._sizes = {}

    def process(self, batch: list[RawResource] | LineBatch) -> Iterable:
        located = batch if batch.__class__ is LineBatch else None
        resources: list[tuple] = []
        patients: list[tuple] = []
        sizes = self._sizes
        for raw in located.raws if located is not None else batch:
            try:
                resource = parse_resource(raw.data, exact=False)  # routing only: the de-identify step parses exactly
                rtype = resource["resourceType"]
                done = None
                if rtype == "Patient":
                    exact = parse_resource(raw.data)
                    done = self.deidentify_patient(exact, raw) if self._deidentify_patients else None
                    info = done[0] if done is not None else self.patient_info(exact)
                    if info is not None:
                        patients.append((info[0], (PATIENT, raw.file, raw.index) + info[1:]))
                keep = self._filter is None or self._filter.keeps(resource, raw.mtime)
            except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
                self._tally.add(self._failed_name)
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(raw.name, err))
                continue
            if not keep:
                self._tally.add(self._filtered_name)
                continue
            tally = sizes.get(rtype)
            if tally is None:
                tally = sizes[rtype] = [0, 0]
            tally[0] += 1
            tally[1] += len(raw.data)
            value = (RESOURCE, raw.file, raw.index, raw.entry, raw.data)
            if done is not None:  # a Patient already de-identified: its new id and line ride along
                value = (DEIDENTIFIED,) + value[1:] + done[1]
            resources.append((join_key(resource, raw), value))
        if patients:
            yield beam.pvalue.TaggedOutput(PATIENTS, patients)
        if located is not None and self._by_reference:
            if resources:
                yield batch_ref(located, resources)
        elif resources:
            yield resources

    def deidentify_patient(self, patient: dict, raw: RawResource) -> tuple[tuple, tuple[str, bytes]] | None:
        """A Patient's join info and its output (new id, line), from one walk (``deidentify_patient``): the
        de-identify step then only places the line, unless another Patient of the same id comes first. None
        when it fails: the de-identify step then de-identifies it again and records the error."""
        key = patient_reference(patient)
        if key is None:
            return None
        try:
            out, context = deidentify_patient(patient, self._policy, self._keys)
            rid, out = with_id(out, raw.data, self._keys)
            if out["resourceType"] != "Patient":
                return None
            done = rid, dumps(out)
        except Exception:  # noqa: BLE001 - reported where the resource is de-identified
            return None
        return (key, patient_shift_key(patient), context), done

    def patient_info(self, patient: dict) -> tuple[str, str, tuple[str, ...]] | None:
        key = patient_reference(patient)
        if key is None:
            return None
        return key, patient_shift_key(patient), patient_context(patient, self._policy, self._keys)


# --- de-identify ------------------------------------------------------------------------------------------


def batch_ref(batch: LineBatch, resources: list[tuple]) -> BatchRef:
    """The BatchRef of a parsed LineBatch: its location, the lines to de-identify and the Patients done."""
    lines = tuple(value[2] for _, value in resources if value[0] == RESOURCE)
    done = tuple((value[2], key, value[5], value[6]) for key, value in resources if value[0] == DEIDENTIFIED)
    relative = batch.raws[0].file
    return BatchRef(batch.path, relative, batch.start, batch.end, batch.first_line, batch.crc, lines, done)


def shard_count(count: int, size: int) -> int:
    return max(1, math.ceil(size / TARGET_SHARD_BYTES), math.ceil(count / MAX_SHARD_RESOURCES))


def shard_of(resource_id: str, shards: int) -> int:
    if shards <= 1:
        return 0
    digest = hashlib.blake2b(resource_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


# What the shard shuffle carries: one bytes value for many lines of one shard, ``[[new id, file, index, kind],
# ...]`` as JSON, a newline, then the output lines joined by newlines (compact JSON has no raw newline). A few
# bytes values a shard cost the runner far less to encode, group and decode than a tuple a resource. Kinds: a
# source NDJSON line, a Bundle entry, or a line kept from the destination by an incremental run (it counts
# neither as success nor as failure).
LINE, ENTRY, EXISTING = 0, 1, 2
Row = tuple  # (new id, file, index, kind, line)


def pack_lines(rows: list[Row]) -> bytes:
    """Rows ``(new id, file, index, kind, line)`` of one shard as one bytes value (at least one row)."""
    return orjson.dumps([row[:4] for row in rows]) + b"\n" + b"\n".join(row[4] for row in rows)


def unpack_lines(value: bytes) -> list[Row]:
    head, _, body = value.partition(b"\n")
    heads = orjson.loads(head)
    return [(rid, file, index, kind, line) for (rid, file, index, kind), line in zip(heads, body.split(b"\n"),
                                                                                      strict=True)]


def pack_line(rid: str, file: str, index: int, kind: int, line: bytes) -> bytes:
    return pack_lines([(rid, file, index, kind, line)])


def unpack_line(value: bytes) -> Row:
    (row,) = unpack_lines(value)
    return row


class ShardBuffer:
    """Output lines gathered per (type, shard) within a bundle, handed on as packed values: ``add`` returns
    what to emit once the buffer holds ``limit`` bytes, ``drain`` the rest (sorted by key, so the order in
    which a worker emits does not depend on dict order)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._rows: dict[tuple[str, int], list[Row]] = {}
        self._bytes = 0

    def add(self, key: tuple[str, int], row: Row) -> list[tuple[tuple[str, int], bytes]]:
        rows = self._rows.get(key)
        if rows is None:
            rows = self._rows[key] = []
        rows.append(row)
        self._bytes += len(row[4]) + 64
        return self.drain() if self._bytes >= self._limit else []

    def drain(self) -> list[tuple[tuple[str, int], bytes]]:
        out = [(key, pack_lines(self._rows[key])) for key in sorted(self._rows)]
        self._rows.clear()
        self._bytes = 0
        return out


def with_id(out: dict, data: bytes, keys: Keys) -> tuple[str, dict]:
    """A de-identified resource's new id, and the resource with it: one without an id gets ``content_id``."""
    rid = out.get("id")
    if not isinstance(rid, str) or not rid:
        rid = content_id(keys, data)
        out = {"resourceType": out["resourceType"], "id": rid, **{k: v for k, v in out.items() if k != "resourceType"}}
    return rid, out


def content_id(keys: Keys, data: bytes) -> str:
    """The id of a resource stored without one: derived from its content, so identical copies collide."""
    return new_id(keys, "content\x00" + hashlib.sha256(data).hexdigest())


def predicted_id(resource: dict, data: bytes, policy: FhirPolicy, keys: Keys) -> str:
    """The id de-identification gives this resource (for --incremental), without de-identifying it."""
    rid = resource.get("id")
    if isinstance(rid, str) and rid and resource_id_rewritten(policy, resource["resourceType"]):
        return new_id(keys, rid)
    return content_id(keys, data)


class DeidentifyFhirResources(beam.DoFn):
    """Join groups -> de-identified resource lines keyed by (resourceType, shard); failures -> error records.

    Input: (key, iterable of RESOURCE and PATIENT values) from the GroupByKey of the keyed join. The Patient
    sorting first by source location supplies the date-shift key and context; without one (a reference to a
    Patient not in the store) the core falls back to the reference itself. Main output:
    ((resourceType, shard), ``pack_lines([(new id, file, index, kind, line), ...])``): the lines of one shard
    gathered over a bundle (``ShardBuffer``), so the shard shuffle carries a few values a shard a worker.

    ``incremental``: a resource whose predicted destination id is in the ``existing`` side input (a dict of
    ``Type/id`` already in the destination) is skipped (``skipped/<label>``), not de-identified.
    """

    def __init__(self, policy: FhirPolicy, keys: Keys, label: str = "fhir", validate: bool = False,
                 incremental: bool = False, flush_bytes: int | None = None):
        self._policy = policy
        self._keys = keys
        self._label = label
        self._validate = validate
        self._incremental = incremental
        self._flush_bytes = flush_bytes or FLUSH_BYTES

    def setup(self) -> None:
        freeze_startup_heap()
        self._tally = Tally()
        self._ok_name = success_counter(self._label)
        self._failed_name = failure_counter(self._label)
        self._skipped_name = f"skipped/{self._label}"

    def start_bundle(self) -> None:
        self._buffer = ShardBuffer(self._flush_bytes)
        self._marked = False

    def shard_markers(self, shard_counts: dict) -> list:
        """Once a bundle, an empty value for every shard of every type: each shard of a type is written, even
        one no resource lands in, so a type's files are always a complete ``-of-N`` set. Emitted here rather
        than flattened in from the shard counts: a Flatten of two stages' outputs is a stage of its own, which
        would carry every output line through the runner once more."""
        if self._marked:
            return []
        self._marked = True
        return [((rtype, shard), b"") for rtype, shards in sorted(shard_counts.items()) for shard in range(shards)]

    def finish_bundle(self) -> Iterator:
        self._tally.flush()
        for key, value in self._buffer.drain():
            yield WindowedValue((key, value), MIN_TIMESTAMP, (GlobalWindow(),))

    def process(self, element, shard_counts: dict, existing=None) -> Iterable:
        yield from self.shard_markers(shard_counts)
        _, values = element
        patient = None
        for value in values:
            if value[0] == PATIENT and (patient is None or value[1:3] < patient[1:3]):
                patient = value
        shift_key, context = (patient[3], patient[4]) if patient is not None else (None, ())
        for value in values:
            if value[0] == RESOURCE:
                yield from self.deidentify(value, shift_key, context, shard_counts, existing)
            elif value[0] == DEIDENTIFIED:
                yield from self.deidentified(value, patient, shard_counts, existing)

    def deidentify(self, value: tuple, shift_key: str | None, context: tuple, shard_counts: dict,
                   existing=None, resource: dict | None = None) -> Iterator:
        _, file, index, entry, data = value
        try:
            if resource is None:
                resource = parse_resource(data)
            if self.already_written(data, existing, resource):
                return
            out = deidentify_resource(resource, self._policy, self._keys, patient=shift_key, context=context)
            rid, out = with_id(out, data, self._keys)
            if self._validate:
                from transforms.fhir.validate import check_r4

                check_r4(out)
            line = dumps(out)
        except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
            self._tally.add(self._failed_name)
            yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(RawResource(file, index, b"", None,
                                                                                    entry).name, err))
            return
        self._tally.add(self._ok_name)
        yield from self.place(out["resourceType"], rid, file, index, entry, line, shard_counts)

    def place(self, rtype: str, rid: str, file: str, index: int, entry: bool, line: bytes,
              shard_counts: dict) -> list:
        return self._buffer.add((rtype, shard_of(rid, shard_counts.get(rtype, 1))),
                                (rid, file, index, ENTRY if entry else LINE, line))

    def deidentified(self, value: tuple, patient: tuple | None, shard_counts: dict, existing=None) -> Iterator:
        """A Patient the parse step de-identified (``DEIDENTIFIED``): its line placed as it is when its join
        info is its own (the first Patient of its id), else de-identified again with the first one's."""
        _, file, index, entry, data, rid, line = value
        if patient is None or patient[1:3] != (file, index) or self._validate:
            shift_key, context = (patient[3], patient[4]) if patient is not None else (None, ())
            yield from self.deidentify((RESOURCE, file, index, entry, data), shift_key, context, shard_counts,
                                       existing)
            return
        if self.already_written(data, existing):
            return
        self._tally.add(self._ok_name)
        yield from self.place("Patient", rid, file, index, entry, line, shard_counts)

    def already_written(self, data: bytes, existing, resource: dict | None = None) -> bool:
        """Incremental runs: whether the resource's destination id is already in the destination (counted as
        skipped). ``existing``: None on a full run."""
        if existing is None:
            return False
        resource = parse_resource(data) if resource is None else resource
        if f"{resource['resourceType']}/{predicted_id(resource, data, self._policy, self._keys)}" not in existing:
            return False
        self._tally.add(self._skipped_name)
        return True


class DeidentifyWithSideInput(DeidentifyFhirResources):
    """The side-input join: batches of (key, RESOURCE value), each key looked up in a dict of Patient join info.

    The side input is an AsList of the parse step's Patient batches, each pickled into one bytes value, which
    each worker merges once (``first_patients``). A global combine into one dict ran on one worker while the
    other waited, and Beam's worker cache measures the deep size of every value it keeps: a dict of every
    Patient's phrases cost more to measure than to use, a list of bytes values costs nothing."""

    _blobs: tuple = ()
    _patients: dict = {}

    def patients(self, blobs) -> dict:
        blobs = tuple(blobs)
        if blobs != self._blobs:  # the same values in every bundle of a run: merged once a worker
            self._patients = first_patients(pickle.loads(blob) for blob in blobs)
            self._blobs = blobs
        return self._patients

    def process(self, batch, shard_counts: dict, patient_batches, existing=None) -> Iterable:
        yield from self.shard_markers(shard_counts)
        patients = self.patients(patient_batches)
        if batch.__class__ is BatchRef:
            yield from self.reread(batch, patients, shard_counts, existing)
            return
        for key, value in batch:
            yield from self.join(key, value, patients, shard_counts, existing)

    def join(self, key: str | None, value: tuple, patients: dict, shard_counts: dict, existing,
             resource: dict | None = None) -> Iterator:
        patient = patients.get(key)
        if value[0] == DEIDENTIFIED:
            yield from self.deidentified(value, patient, shard_counts, existing)
            return
        shift_key, context = (patient[3], patient[4]) if patient is not None else (None, ())
        yield from self.deidentify(value, shift_key, context, shard_counts, existing, resource)

    def reread(self, ref: BatchRef, patients: dict, shard_counts: dict, existing) -> Iterator:
        """A BatchRef's lines read again, each joined and de-identified as if it had come inline. Lines that do
        not read back as they were parsed are error records (nothing is de-identified from a changed file)."""
        try:
            lines = read_batch_lines(ref)
        except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
            if isinstance(err, SourceChanged):
                code, message = "ABORTED", "the source file changed while the run was reading it"
            else:
                code, message = "UNAVAILABLE", f"the source file cannot be read again ({type(err).__name__})"
            for number in sorted(ref.lines + tuple(done[0] for done in ref.done)):
                self._tally.add(self._failed_name)
                yield beam.pvalue.TaggedOutput(ERRORS, error_record(f"{ref.relative}:{number}", code, message))
            return
        wanted = set(ref.lines)
        done = {number: rest for number, *rest in ref.done}
        for number, data in lines:
            if number in wanted:
                try:
                    resource = parse_resource(data)
                    key = patient_reference(resource)
                except Exception:  # noqa: BLE001 - deidentify() parses it again and records the error
                    resource = key = None
                yield from self.join(key, (RESOURCE, ref.relative, number, False, data), patients, shard_counts,
                                     existing, resource)
            elif number in done:
                key, rid, out = done[number]
                yield from self.join(key, (DEIDENTIFIED, ref.relative, number, False, data, rid, out), patients,
                                     shard_counts, existing)


def pack_patients(batch: list) -> bytes:
    """A batch of Patients' (Patient/<id>, join info) as one value for the side input."""
    return pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)


def first_patients(batches: Iterable[list]) -> dict:
    """Batches of (Patient/<id>, join info) -> one dict, the first Patient by source location when an id repeats
    (join info starts with the source file and index, so the result does not depend on the batches' order)."""
    patients: dict = {}
    for batch in batches:
        for key, info in batch:
            known = patients.get(key)
            if known is None or info < known:
                patients[key] = info
    return patients


# --- incremental runs -------------------------------------------------------------------------------------


def list_own_shards(destination: str, tag: str) -> list[str]:
    """The destination's shard files written from this source (same tag), sorted."""
    if not store_root.exists(destination):
        return []
    out = []
    for path in store_root.list_files(destination):
        match = SHARD_NAME.fullmatch(store_root.relative(path, destination.rstrip("/")))
        if match and match["tag"] == tag:
            out.append(path)
    return sorted(out)


class ReadExistingLines(beam.DoFn):
    """A destination shard of this source -> ``(type, id, shard file, line number, line)`` per resource line.

    The lines are our own output (one compact resource a line), so only ``resourceType`` and ``id`` are read;
    a line without them (edited by hand) is left out, and its resource is de-identified again.
    """

    def __init__(self, destination: str):
        self._destination = destination

    def process(self, path: str) -> Iterable[tuple[str, str, str, int, bytes]]:
        relative = store_root.relative(path, self._destination.rstrip("/"))
        with _open(path) as handle:
            for number, line in split_lines(handle, MAX_RESOURCE_BYTES * 2):
                if line is None:
                    continue
                try:
                    head = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(head, dict) and isinstance(head.get("resourceType"), str) and isinstance(
                        head.get("id"), str):
                    yield head["resourceType"], head["id"], relative, number, line.rstrip(b"\r")


def _reshard_existing(item: tuple, shard_counts: dict) -> tuple:
    rtype, rid, relative, number, line = item
    return (rtype, shard_of(rid, shard_counts.get(rtype, 1))), pack_lines([(rid, "", number, EXISTING, line)])


# --- write ------------------------------------------------------------------------------------------------


def source_tag(source: str) -> str:
    """8 hex digits naming the source in shard names: reruns of a source replace their shards, others stay."""
    return hashlib.sha256(source.rstrip("/").encode("utf-8")).hexdigest()[:8]


def shard_name(rtype: str, tag: str, shard: int, shards: int) -> str:
    return f"{rtype}-{tag}-{shard:05d}-of-{shards:05d}.ndjson"


class WriteShards(beam.DoFn):
    """((type, shard), packed batches of lines) -> one NDJSON file, lines sorted by new id; duplicate ids keep the
    first (a line kept from the destination sorts before any source resource).

    Main output: the path written. ERRORS: ALREADY_EXISTS for each duplicate, UNAVAILABLE when the file cannot
    be written (its resources then count as failed).
    """

    def __init__(self, destination: str, tag: str, label: str = "fhir"):
        self._destination = destination
        self._tag = tag
        self._label = label

    def setup(self) -> None:
        freeze_startup_heap()
        self._tally = Tally()
        self._ok_name = success_counter(self._label)
        self._failed_name = failure_counter(self._label)

    def finish_bundle(self) -> None:
        self._tally.flush()

    def process(self, element, shard_counts: dict) -> Iterable:
        (rtype, shard), values = element
        rows = sorted_rows([row for value in values if value for row in unpack_lines(value)])
        shards = shard_counts.get(rtype, 1)
        kept: list[Row] = []
        last = None
        for row in rows:
            if row[0] == last:
                if row[3] == EXISTING:
                    continue  # the destination itself held the id twice: keep one line
                self._tally.add(self._ok_name, -1)
                self._tally.add(self._failed_name)
                yield beam.pvalue.TaggedOutput(ERRORS, error_record(
                    _row_name(row), "ALREADY_EXISTS",
                    f"duplicate {rtype} id: another source resource has the same id"))
                continue
            last = row[0]
            kept.append(row)
        if kept or shards > 1:  # else nothing of this type was de-identified: no file (a stale one is deleted)
            yield from self._write(rtype, shard, shards, kept)

    def _write(self, rtype: str, shard: int, shards: int, kept: list[Row]) -> Iterator:
        path = store_root.join(self._destination, shard_name(rtype, self._tag, shard, shards))
        try:
            store_root.write_bytes(path, b"".join(row[4] + b"\n" for row in kept))
        except Exception as err:  # noqa: BLE001
            for row in kept:
                if row[3] == EXISTING:
                    continue
                self._tally.add(self._ok_name, -1)
                self._tally.add(self._failed_name)
                yield beam.pvalue.TaggedOutput(ERRORS, error_record(
                    _row_name(row), "UNAVAILABLE", f"the destination cannot be written ({type(err).__name__})"))
        else:
            yield path


def _row_name(row: Row) -> str:
    """The error-record name of a source row (``file:line`` or ``file#entry[i]``)."""
    return RawResource(row[1], row[2], b"", None, row[3] == ENTRY).name


def sorted_rows(rows: list[Row]) -> list[Row]:
    """Rows in shard order: by new id; rows of one id (duplicates, rare) with a line kept from the destination
    first, then by source location, so the line kept for an id does not depend on arrival order."""
    rows.sort(key=itemgetter(0))
    i, n = 0, len(rows)
    while i < n:
        j = i + 1
        rid = rows[i][0]
        while j < n and rows[j][0] == rid:
            j += 1
        if j - i > 1:
            rows[i:j] = sorted(rows[i:j], key=lambda v: (v[3] != EXISTING, v[1], v[2]))
        i = j
    return rows


class DeleteStaleShards(beam.DoFn):
    """After every write: delete this source's shards (same tag) that this run did not write."""

    def __init__(self, destination: str, tag: str):
        self._destination = destination
        self._tag = tag

    def process(self, written: list) -> Iterable[str]:
        keep = set(written)
        for path in list_own_shards(self._destination, self._tag):
            if path not in keep:
                store_root.delete(path)
                yield path


class FhirStoreResult(NamedTuple):
    written: beam.PCollection  # paths of the shards written
    errors: beam.PCollection  # error records


def _sum_pairs(pairs: Iterable[tuple[int, int]]) -> tuple[int, int]:
    count = size = 0
    for c, s in pairs:
        count += c
        size += s
    return count, size


def add_fhir_store_branch(pipeline, source: str, destination: str, run_dir: str, policy: FhirPolicy, keys: Keys,
                          label: str = "fhir", error_prefix: str = "errors", resource_filter=None,
                          validate: bool = False, max_resource_bytes: int = MAX_RESOURCE_BYTES,
                          join: str = "side", incremental: bool = False) -> FhirStoreResult:
    """Add one FHIR store's read -> join -> de-identify -> write branch (and its error records) to a pipeline.

    ``resource_filter``: an object with ``keeps(resource, file_mtime) -> bool`` (pipelines.filters.FhirFilter).
    ``validate``: check every output resource against the R4 models (slow: ~3,500 resources/s a core).
    ``join``: "side" (the default: Patient join info as a side input of pickled batches, so resources are not
    grouped by patient, and batches of uncompressed NDJSON reach the de-identify step as BatchRefs; each worker
    holds every Patient's shift key and context phrases, some 100-300 bytes a patient), "keyed" (GroupByKey by
    patient: no per-worker patient table, every resource shuffled) or "none" (no Patient join: date shifts then
    key on the reference, not the MRN: for measuring the join's cost only). "side" and "keyed" give the same
    output.
    ``incremental``: keep what the destination holds from this source and de-identify only source resources
    whose destination resource (``Type/<new id>``, a function of the source id and key) is not there yet;
    see ``add_incremental_inputs``.
    """
    p = f"{label}: " if label != "fhir" else ""
    tag = source_tag(source)
    read = pipeline | f"{p}Read FHIR store" >> ReadFhirStore(source, label, max_resource_bytes)
    parsed = read["raw"] | f"{p}Parse" >> beam.ParDo(
        ParseResources(policy, keys, label, resource_filter, deidentify_patients=not validate,
                       by_reference=join in ("side", "none"))).with_outputs(ERRORS, PATIENTS, SIZES, main="resources")
    shard_counts = (
        parsed[SIZES]
        | f"{p}Size per type" >> beam.CombinePerKey(_sum_pairs)
        | f"{p}Shards per type" >> beam.MapTuple(lambda rtype, cs: (rtype, shard_count(*cs)))
    )
    counts_view = beam.pvalue.AsDict(shard_counts)
    existing_lines = existing_view = None
    if incremental:
        existing_lines, existing_view = add_incremental_inputs(pipeline, destination, tag, p)
    extra = (existing_view,) if existing_view is not None else ()
    if join == "keyed":
        grouped = (
            (parsed["resources"], parsed[PATIENTS])
            | f"{p}Resources and patients" >> beam.Flatten()
            | f"{p}One a resource" >> beam.FlatMap(lambda batch: batch)
            | f"{p}Join patients" >> beam.GroupByKey()
        )
        deid = grouped | f"{p}De-identify" >> beam.ParDo(
            DeidentifyFhirResources(policy, keys, label, validate, incremental), counts_view,
            *extra).with_outputs(ERRORS, main="ok")
    elif join in ("side", "none"):
        patients = (
            parsed[PATIENTS]
            if join == "side"
            else parsed[PATIENTS] | f"{p}No patients" >> beam.Filter(lambda _: False)
        ) | f"{p}Patients as values" >> beam.Map(pack_patients)
        deid = parsed["resources"] | f"{p}Spread batches" >> beam.Reshuffle() | f"{p}De-identify" >> beam.ParDo(
            DeidentifyWithSideInput(policy, keys, label, validate, incremental), counts_view,
            beam.pvalue.AsList(patients), *extra).with_outputs(ERRORS, main="ok")
    else:
        raise ValueError(f"join: {join!r}")
    lines = deid["ok"]
    if existing_lines is not None:
        kept = existing_lines | f"{p}Shard kept lines" >> beam.Map(_reshard_existing, counts_view)
        lines = (lines, kept) | f"{p}Lines and kept lines" >> beam.Flatten()
    written = (
        lines
        | f"{p}By shard" >> beam.GroupByKey()
        | f"{p}Write shards" >> beam.ParDo(WriteShards(destination, tag, label), counts_view).with_outputs(
            ERRORS, main="paths")
    )
    _ = (
        written["paths"]
        | f"{p}All written" >> beam.combiners.ToList()
        | f"{p}Delete stale shards" >> beam.ParDo(DeleteStaleShards(destination, tag))
    )
    errors = (
        (read[ERRORS], parsed[ERRORS], deid[ERRORS], written[ERRORS]) | f"{p}All errors" >> beam.Flatten()
    )
    errors | f"{p}Write errors" >> WriteErrorRecords(run_dir, error_prefix)
    return FhirStoreResult(written["paths"], errors)


def add_incremental_inputs(pipeline, destination: str, tag: str, p: str = ""):
    """What an incremental run keeps: (lines of this source's shards in the destination, AsDict of their
    ``Type/id``).

    Each run rewrites its source's whole shard set (shard counts follow the source's size) and deletes the
    shards it did not write, so an incremental run re-emits the lines it keeps into the same shard shuffle as
    the resources it de-identifies: every line lands in the shard a full run would put it in, sorted among
    the new ones, and the destination equals a full run's (with the same key, config and --reference-date).
    Kept lines are read before anything is written (they feed the shuffle the writes wait for). What an
    incremental run does not do: re-process a source resource that changed under the same id, or drop a
    destination resource whose source is gone — a full run does both.
    """
    shard_paths = (
        pipeline
        | f"{p}Destination" >> beam.Create([destination])
        | f"{p}List own shards" >> beam.FlatMap(list_own_shards, tag)
        | f"{p}Spread shards" >> beam.Reshuffle()
    )
    lines = shard_paths | f"{p}Read kept lines" >> beam.ParDo(ReadExistingLines(destination))
    ids = lines | f"{p}Kept ids" >> beam.Map(lambda item: (f"{item[0]}/{item[1]}", None))
    return lines, beam.pvalue.AsDict(ids)

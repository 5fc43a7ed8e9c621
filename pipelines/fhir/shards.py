"""FHIR shards: output lines packed per (type, shard), written by each worker as sorted runs, merged per shard into
one sorted NDJSON file a shard.

The layout (shard names, a resource's shard, shard counts) is the FHIR store's (``pipelines.stores.fhir``).
"""

from __future__ import annotations

import heapq
import itertools
import os
import posixpath
import re
import uuid
from collections.abc import Iterable, Iterator
from operator import itemgetter

import apache_beam as beam
import orjson

from pipelines.stores import store_root
from pipelines.stores.fhir import RawResource, list_own_shards, shard_name, source_tag
from transforms.beam import ERRORS, Tally, error_record, failure_counter, freeze_startup_heap, success_counter

# A shard's output rows travel from the de-identify step to its run writer (fused: in process) as a list of rows
# ``(new id, file, index, kind, line)``; ``pack_lines`` is their one-bytes-value form (``[[id, file, index,
# kind], ...]`` as JSON, a newline, the lines joined by newlines: compact JSON has no raw newline) for a value that
# crosses the runner (an incremental run's kept lines). Kinds: a source NDJSON line, a Bundle entry, or a line
# kept from the destination by an incremental run (it counts neither as success nor as failure).
LINE, ENTRY, EXISTING = 0, 1, 2
RUN_READ_BYTES = 64 << 10  # a shard's merge reads each of its runs this much at a time (memory: runs x this)
Row = tuple  # (new id, file, index, kind, line)


FHIR_STORE_NAME = re.compile(r"(?:\A|/)(projects/[^/]+/locations/[^/]+/datasets/[^/]+/fhirStores/[^/]+)/*\Z")


def shard_tag(source: str) -> str:
    """The tag in a source's shard names, from its resource name (``projects/.../fhirStores/S``, the path below
    the store root), so every spelling of the store root (a symlink, a relative path, a trailing slash) names
    the same shard set; a source that is not a named store (a plain export folder) is tagged by its path."""
    match = FHIR_STORE_NAME.search(source)
    return source_tag(match.group(1) if match else source)


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
    """Output rows gathered per (type, shard) within a bundle: ``add`` returns what to hand on once the buffer
    holds ``limit`` bytes, ``drain`` the rest — ``[((type, shard), [row, ...]), ...]`` sorted by key, so the order
    in which a worker emits does not depend on dict order. The rows are handed on as they are (a list a shard):
    the run writer fuses with the de-identify step, so packing them into one bytes value and unpacking it again
    only copied every line twice (a worker's peak memory held the buffer three times)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._rows: dict[tuple[str, int], list[Row]] = {}
        self._bytes = 0

    def add(self, key: tuple[str, int], row: Row) -> list[tuple[tuple[str, int], list[Row]]]:
        rows = self._rows.get(key)
        if rows is None:
            rows = self._rows[key] = []
        rows.append(row)
        self._bytes += len(row[4]) + 64
        return self.drain() if self._bytes >= self._limit else []

    def drain(self) -> list[tuple[tuple[str, int], list[Row]]]:
        out = sorted(self._rows.items())
        self._rows = {}
        self._bytes = 0
        return out


def source_rows(element: tuple) -> int:
    """How many source resources a de-identify output ``((type, shard), rows)`` carries, for progress: a shard
    marker (``b""``) and lines kept from the destination (``EXISTING``) count none."""
    value = element[1]
    return sum(1 for row in value if row[3] != EXISTING) if value.__class__ is list else 0


def row_order(row: Row) -> tuple:
    """A row's place in its shard: by new id; rows of one id (duplicates, rare) with a line kept from the
    destination first, then by source location (then by line, so even exact ties do not depend on arrival)."""
    return row[0], row[3] != EXISTING, row[1], row[2], row[4]


def write_run(path: str, rows: list[Row]) -> None:
    """One sorted run of a shard's rows: per row its head ``[id, file, index, kind]`` as JSON on one line and
    its output line on the next (compact JSON has no raw newline)."""
    rows.sort(key=row_order)
    store_root.write_chunks(path, _batched(orjson.dumps(row[:4]) + b"\n" + row[4] + b"\n" for row in rows))


def read_run(path: str) -> Iterator[Row]:
    """The rows of a run, in its order, read a chunk at a time."""
    with store_root.open_bytes(path) as handle:
        rest = b""
        head = None
        while True:
            chunk = handle.read(RUN_READ_BYTES)
            if not chunk:
                break
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if head is None:
                    head = line
                else:
                    rid, file, index, kind = orjson.loads(head)
                    yield rid, file, index, kind, line
                    head = None
        if rest or head is not None:
            raise ValueError(f"truncated run file {path}")


class WriteRuns(beam.DoFn):
    """((type, shard), rows) -> ((type, shard), path of a sorted temporary run holding them), written where the
    rows were made (this step fuses with the de-identify step, so output lines never pass through the runner).
    Rows: a list of rows (``ShardBuffer``) or ``pack_lines`` bytes. A marker ``b""`` passes on as ``((type,
    shard), "")``. Run files are named afresh on every attempt: a retried bundle's runs from a failed attempt are
    never named downstream, and the clean-up step deletes them with the rest."""

    def __init__(self, folder: str):
        self._folder = folder

    def process(self, element) -> Iterable:
        (rtype, shard), value = element
        if not value:
            yield (rtype, shard), ""
            return
        path = store_root.join(self._folder, f"{rtype}-{shard:05d}-{uuid.uuid4().hex}.run")
        write_run(path, unpack_lines(value) if value.__class__ is bytes else value)
        yield (rtype, shard), path


def merged_rows(paths: Iterable[str]) -> Iterator[Row]:
    """The rows of a shard's runs in shard order (``row_order``): a k-way merge holding one row a run."""
    runs = sorted({path for path in paths if path})
    return heapq.merge(*(read_run(path) for path in runs), key=row_order)


def resolve_duplicates(rows: Iterable[Row]) -> Iterator[tuple[Row, bool]]:
    """Rows in shard order -> (row, duplicate?): of the rows of one id the first is kept, a later one is a
    duplicate (a line kept from the destination sorts before any source resource)."""
    last = None
    for row in rows:
        if row[0] == last:
            yield row, True
        else:
            last = row[0]
            yield row, False


class MergeShards(beam.DoFn):
    """((type, shard), run paths) -> one NDJSON file, lines sorted by new id; duplicate ids keep the first (a
    line kept from the destination sorts before any source resource). The runs are merged as they are read and
    the file written as it is merged, so memory holds one row a run, whatever the shard's size. Rerunning it
    on the same runs writes the same bytes (runs are deleted only once every shard is written). One resource per
    type and id, as a FHIR store holds them: a later source copy of an id, identical or not, is a success that is
    not written (the API's import counts such copies as successes), counted as ``collapsed/<label>``.

    Main output: the path written. ERRORS: UNAVAILABLE when the file cannot be written (its resources then count
    as failed).
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
        self._collapsed_name = f"collapsed/{self._label}"

    def finish_bundle(self) -> None:
        self._tally.flush()

    def process(self, element, shard_counts: dict) -> Iterable:
        (rtype, shard), paths = element
        paths = list(paths)
        shards = shard_counts.get(rtype, 1)
        rows = resolve_duplicates(merged_rows(paths))
        first = next(rows, None)
        if first is None and shards <= 1:
            return  # nothing of this type was de-identified: no file (a stale one is deleted)
        collapsed = [0]

        def kept_lines() -> Iterator[bytes]:
            for row, duplicate in itertools.chain((first,) if first is not None else (), rows):
                if not duplicate:
                    yield row[4] + b"\n"
                elif row[3] != EXISTING:  # a source copy of an id already kept (the destination's own: no count)
                    collapsed[0] += 1

        path = store_root.join(self._destination, shard_name(rtype, self._tag, shard, shards))
        try:
            store_root.write_chunks(path, _batched(kept_lines()))
        except Exception as err:  # noqa: BLE001
            for row in merged_rows(paths):  # again from the start: every source row, copies included, failed
                if row[3] == EXISTING:
                    continue
                self._tally.add(self._ok_name, -1)
                self._tally.add(self._failed_name)
                yield beam.pvalue.TaggedOutput(ERRORS, error_record(
                    _row_name(row), "UNAVAILABLE", f"the destination cannot be written ({type(err).__name__})"))
        else:
            if collapsed[0]:
                self._tally.add(self._collapsed_name, collapsed[0])
            yield path


def _batched(lines: Iterable[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """Lines joined into chunks of about ``size`` bytes (one write call a chunk, not a line)."""
    chunk: list[bytes] = []
    n = 0
    for line in lines:
        chunk.append(line)
        n += len(line)
        if n >= size:
            yield b"".join(chunk)
            chunk, n = [], 0
    if chunk:
        yield b"".join(chunk)


class WriteFhirShards(beam.PTransform):
    """Output lines (one or more PCollections of ((type, shard), packed lines)) -> the destination's shard
    files of this source; then its stale shards and the temporary runs deleted.

    Each worker writes what it de-identified as sorted runs under ``<destination>/.deidflow/tmp/<tag>-<id>/``;
    only the runs' paths are grouped by shard, and each shard's runs are merged into its file. The output is
    the one a GroupByKey of every line by shard would give (the bytes of ``sorted_rows`` with duplicates
    resolved), without every line passing through one shuffle.
    Outputs: ``paths`` (the shard files written) and ERRORS.
    """

    def __init__(self, destination: str, tag: str, label: str, shard_counts, p: str = "",
                 token: str | None = None, legacy_tags: tuple[str, ...] = ()):
        super().__init__()
        self._destination = destination
        self._tag = tag
        self._legacy = tuple(t for t in legacy_tags if t != tag)
        self._label = label
        self._counts = shard_counts
        self._p = p
        self._folder = run_folder(destination, tag, token or uuid.uuid4().hex)

    def expand(self, lines):
        p = self._p
        inputs = lines if isinstance(lines, tuple) else (lines,)
        runs = [pc | f"{p}Write runs{i or ''}" >> beam.ParDo(WriteRuns(self._folder)) for i, pc in enumerate(inputs)]
        if len(runs) > 1:
            runs = [tuple(runs) | f"{p}All runs" >> beam.Flatten()]
        written = (
            runs[0]
            | f"{p}Runs by shard" >> beam.GroupByKey()
            | f"{p}Write shards" >> beam.ParDo(MergeShards(self._destination, self._tag, self._label),
                                               self._counts).with_outputs(ERRORS, main="paths")
        )
        done = written["paths"] | f"{p}All written" >> beam.combiners.ToList()
        _ = done | f"{p}Delete stale shards" >> beam.ParDo(DeleteStaleShards(self._destination, self._tag,
                                                                              self._legacy))
        _ = done | f"{p}Delete runs" >> beam.ParDo(DeleteRuns(self._folder))
        return written


def run_folder(destination: str, tag: str, token: str) -> str:
    """Where one write's temporary runs live (a store reader skips ``.deidflow``)."""
    return store_root.join(destination, store_root.META_DIR, "tmp", f"{tag}-{token}")


class DeleteRuns(beam.DoFn):
    """After every shard is written: delete this write's temporary runs (those of failed attempts too), and those
    an earlier, crashed run of the same source left behind."""

    def __init__(self, folder: str):
        self._folder = folder

    def process(self, _written: list) -> Iterable[str]:
        delete_runs(self._folder)
        return ()


def delete_runs(folder: str) -> None:
    """Delete a write's run folder and every other run folder of the same source tag (``<tag>-<token>``)."""
    parent = posixpath.dirname(folder) if store_root.is_remote(folder) else os.path.dirname(folder)
    tag = folder.rstrip("/").rsplit("/", 1)[-1].split("-", 1)[0]
    folders = set()
    if store_root.exists(parent):
        for path in store_root.list_files(parent, skip_meta=False):
            first = store_root.relative(path, parent).split("/", 1)[0]
            if first.startswith(f"{tag}-"):
                store_root.delete(path)
                folders.add(store_root.join(parent, first))
    for each in sorted(folders | {folder}):
        store_root.remove_empty_folder(each)
    store_root.remove_empty_folder(parent)


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
    """After every write: delete this source's shards (same tag) that this run did not write, and every shard of
    its ``legacy`` tags (what earlier versions named this source's shards: its path's hash)."""

    def __init__(self, destination: str, tag: str, legacy: tuple[str, ...] = ()):
        self._destination = destination
        self._tag = tag
        self._legacy = legacy

    def process(self, written: list) -> Iterable[str]:
        keep = set(written)
        for tag in (self._tag, *getattr(self, "_legacy", ())):
            for path in list_own_shards(self._destination, tag):
                if path not in keep:
                    store_root.delete(path)
                    yield path

"""FHIR shards: output lines packed per (type, shard) for the shuffle, written as one sorted NDJSON file a shard.

The layout (shard names, a resource's shard, shard counts) is the FHIR store's (``pipelines.stores.fhir``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import itemgetter

import apache_beam as beam
import orjson

from pipelines.stores import store_root
from pipelines.stores.fhir import RawResource, list_own_shards, shard_name
from transforms.beam import ERRORS, Tally, error_record, failure_counter, freeze_startup_heap, success_counter

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


class WriteShards(beam.DoFn):
    """((type, shard), packed batches of lines) -> one NDJSON file, lines sorted by new id; duplicate ids keep the
    first (a line kept from the destination sorts before any source resource), the others are counted as
    ``collapsed/<label>`` (successes, like the API's import of copies), never errors.

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
        (rtype, shard), values = element
        rows = sorted_rows([row for value in values if value for row in unpack_lines(value)])
        shards = shard_counts.get(rtype, 1)
        kept: list[Row] = []
        last = None
        for row in rows:
            if row[0] == last:
                # One resource per type and id, as a FHIR store holds them (the API's import counts such copies as
                # successes): a copy, identical or not, is a success that is not written; the first by source
                # location (sorted_rows) stays. Counted as collapsed/<label> for the summary, never a failure.
                if row[3] != EXISTING:
                    self._tally.add(self._collapsed_name)
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


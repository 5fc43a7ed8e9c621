"""Spill files of the FHIR join. The keyed join's: what the join by patient found for each batch's lines,
written to temporary files by the worker that found it, so only the files' locations pass through the runner's
GroupByKey by batch.

The join by patient gives, per (batch, Patient), the Patient's date-shift key and context phrases and the
numbers of the batch's lines that are its resources. Carried as Beam values, that is about one value a
resource, each with a copy of its Patient's phrases: the local runner holds them all (decoded) in its own
process, then encoded again for the workers, so its memory and the workers' input followed the store. Here each
worker gathers them per batch key (``JoinSpill``, up to ``limit`` bytes), writes them as one spill file sorted by
batch key (one pickled segment a batch), and hands on ``(batch key, SpillRef)`` a segment: a few values a batch
and a file, whatever the store's size. The step that reads a batch again reads its segments (``read_segment``).

The parse step spills too, so that only locations cross the runner: ``SegmentSpill`` writes the side join's
Patient join info and the output lines of the Patients it de-identified, a segment a value; with
``JoinSpill.add_entry`` the keyed join's records (line references, resources, Patient join info) go to a segment
per bucket of patients (``parse.bucket_of``), read back by ``join.JoinBuckets``.

Spill files live in the write's run folder (``shards.run_folder``) and are named afresh on every attempt, so a
retried bundle's files are never named downstream; the write's clean-up deletes the folder with everything in
it, once every shard is written.
"""

from __future__ import annotations

import pickle
import uuid
from typing import NamedTuple

from pipelines.fhir.read import read_range
from pipelines.stores import store_root

SPILL_BYTES = 4 << 20  # a worker gathers joined lines up to about this many bytes before writing a spill file


class SpillRef(NamedTuple):
    """One batch's segment of a spill file: ``length`` bytes from ``offset`` of ``path``."""

    path: str
    offset: int
    length: int


class JoinSpill:
    """A bundle's joined lines gathered per batch key: ``add`` returns the ``(batch key, SpillRef)`` values to hand
    on once about ``limit`` bytes are held (a spill file written), ``drain`` those of the rest."""

    def __init__(self, folder: str, limit: int | None = None) -> None:
        self._folder = folder
        self._limit = limit or SPILL_BYTES
        self._entries: dict[str, list] = {}
        self._bytes = 0

    def add(self, key: str, shift_key: str | None, context: tuple, numbers: list) -> list[tuple[str, SpillRef]]:
        return self.add_entry(key, (shift_key, tuple(context), tuple(numbers)),
                              64 + 8 * len(numbers) + sum(len(phrase) for phrase in context))

    def add_entry(self, key, entry, size: int) -> list[tuple[str, SpillRef]]:
        """Any picklable entry under ``key`` (a batch key; the parse step's join bucket), counted as ``size``
        bytes; what ``add`` returns."""
        entries = self._entries.get(key)
        if entries is None:
            entries = self._entries[key] = []
        entries.append(entry)
        self._bytes += size
        return self.drain() if self._bytes >= self._limit else []

    def drain(self) -> list[tuple[str, SpillRef]]:
        if not self._entries:
            return []
        path = store_root.join(self._folder, f"joined-{uuid.uuid4().hex}.spill")
        entries, self._entries, self._bytes = self._entries, {}, 0
        refs: list[tuple[str, SpillRef]] = []

        def segments():  # pickled a batch at a time as the file is written
            offset = 0
            for key in sorted(entries):
                chunk = pickle.dumps(entries.pop(key), protocol=pickle.HIGHEST_PROTOCOL)
                refs.append((key, SpillRef(path, offset, len(chunk))))
                offset += len(chunk)
                yield chunk

        store_root.write_chunks(path, segments())
        return refs


class SegmentSpill:
    """Values pickled as segments of spill files, for a value whose location is all that needs to cross the runner
    (the side join's Patient join info and the Patients' output lines the parse step made): ``add`` returns the
    SpillRef the value will be read from, ``flush`` writes what was added (also done by ``add`` once about
    ``limit`` bytes are held). Call ``flush`` before the bundle ends: a ref handed on names a file written by
    then. Each file is named afresh, so a failed attempt's files are never named by a committed output."""

    def __init__(self, folder: str, limit: int | None = None) -> None:
        self._folder = folder
        self._limit = limit or SPILL_BYTES
        self._chunks: list[bytes] = []
        self._bytes = 0
        self._path = ""

    def add(self, value) -> SpillRef:
        if not self._chunks:
            self._path = store_root.join(self._folder, f"parsed-{uuid.uuid4().hex}.spill")
        chunk = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        ref = SpillRef(self._path, self._bytes, len(chunk))
        self._chunks.append(chunk)
        self._bytes += len(chunk)
        if self._bytes >= self._limit:
            self.flush()
        return ref

    def flush(self) -> None:
        if self._chunks:
            chunks, self._chunks, self._bytes = self._chunks, [], 0
            store_root.write_chunks(self._path, chunks)


def read_segment(ref: SpillRef):
    """The value of one segment of a spill file (a keyed-join batch's ``(shift key, context, line numbers)``
    entries, or a ``SegmentSpill`` value)."""
    data = read_range(ref.path, ref.offset, ref.length, raw=True)
    if len(data) != ref.length:
        raise OSError("a spill file of the FHIR join is shorter than written")
    return pickle.loads(data)

"""Bounded, line-at-a-time reading of store files: ``open_source`` (decompressing ``.gz``, capped at the file size
limit), ``split_lines`` / ``ndjson_lines`` (numbered lines, an oversize line never held whole) and ``plan_ranges``
(a large file cut into ranges of whole lines). The FHIR store reader (``pipelines.stores.fhir``) and the
de-identify pipeline's read step (``pipelines.fhir.read``) read every NDJSON byte through it."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

from pipelines.stores import store_root
from transforms.fhir.codec import BOM

READ_CHUNK = 1 << 20


class TooLarge(Exception):
    """A store file whose content (decompressed, for ``.gz``) passes the size cap: PHI-free, names the cap only."""

    def __init__(self, limit: int):
        super().__init__(f"larger than the {limit}-byte limit once decompressed (DEIDFLOW_MAX_FILE_BYTES)")


class Bounded:
    """A binary handle that gives at most ``limit`` bytes in all and raises TooLarge past them: a 1 MB gzip that
    expands to 1 GB is read (and decompressed) a chunk at a time and stopped at the cap, never held whole."""

    def __init__(self, handle, limit: int, *closing):
        self._handle = handle
        self._limit = limit
        self._read = 0
        self._closing = (handle, *closing)

    def read(self, size: int = -1) -> bytes:
        left = self._limit + 1 - self._read
        data = self._handle.read(left if size is None or size < 0 else min(size, left))
        self._read += len(data)
        if self._read > self._limit:
            raise TooLarge(self._limit)
        return data

    def seek(self, offset: int) -> None:  # plain files only: a range read counts from its start
        self._handle.seek(offset)

    def close(self) -> None:
        for handle in self._closing:
            handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_source(path: str, relative: str | None = None, limit: int | None = None) -> Bounded:
    """A store file's content as a binary handle, decompressed when its name ends in ``.gz``, bounded at
    ``limit`` bytes of content (default ``store_root.max_file_bytes()``, the cap on files read from a store,
    2 GiB unless DEIDFLOW_MAX_FILE_BYTES says otherwise): past it, reads raise TooLarge, which the readers record
    as a RESOURCE_EXHAUSTED error record for the file. Decompression is Python's ``gzip`` (``max_length`` per
    read: memory stays at about the size asked for), not Beam's, which inflates a whole compressed buffer at
    once."""
    limit = store_root.max_file_bytes() if limit is None else limit
    if (relative or path).lower().endswith(".gz"):
        raw = store_root.open_bytes(path)
        return Bounded(gzip.GzipFile(fileobj=raw, mode="rb"), limit, raw)
    return Bounded(store_root.open_read(path), limit)


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


def ndjson_lines(handle, limit: int, first: int = 1) -> Iterator[tuple[int, bytes | None, int]]:
    """An NDJSON file's resources: ``split_lines_at`` with the byte-order mark dropped from the file's first line."""
    for number, data, end in split_lines_at(handle, limit, first):
        if number == 1 and data is not None and data.startswith(BOM):
            data = data[3:]
        yield number, data, end


class Range:
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

"""A FHIR store (a local folder or a gs:// prefix): the one reader, the one layout, list / read / write / exists.

Reading: a store file is NDJSON (``.ndjson``, ``.jsonl``, gzipped ``.gz`` of either; one resource a line) or JSON
(``.json``: one resource, or a transaction/batch/collection/searchset Bundle whose entries are the resources, with
``urn:uuid:`` references linked as a FHIR server stores them). ``read_resources`` gives every resource of a file
as a ``RawResource`` (its bytes, named ``<file>:<line>`` or ``<file>#entry[<i>]``) or a ``ReadError``; the
de-identify pipeline (``pipelines.fhir.read``), import and export, verify's collector and the dry-run and progress
counts all read through it, so every format gives the same resources everywhere.

Layout: resources live in shard sets ``<Type>-<tag>-SSSSS-of-NNNNN.ndjson``, one compact resource a line, a
resource in shard ``shard_of(id, N)``, lines sorted by id. The tag names who wrote the set: a de-identification
source (``source_tag``), or ``IMPORT_TAG`` for imports. A store may also hold files of any other name (a plain
export folder used as a source, or ``<Type>.ndjson`` from deidflow before 0.2); they are read like the rest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import orjson

from pipelines.stores import store_root
from pipelines.stores.lines import Bounded, TooLarge, ndjson_lines, open_source, split_lines
from transforms.fhir.codec import BOM, EXPLODED_BUNDLE_TYPES, bundle_resources, dumps, loads

# The Healthcare API caps a FHIR resource at 10 MiB; larger lines are error records, never read into a resource.
MAX_RESOURCE_BYTES = 10 * 1024 * 1024
TARGET_SHARD_BYTES = 64 * 1024 * 1024  # output shard size the shard count aims at
MAX_SHARD_RESOURCES = 200_000  # and at most this many resources a shard (a shard is sorted in memory)
NDJSON_SUFFIXES = (".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz")
BUNDLE_SUFFIXES = (".json",)
SHARD_NAME = re.compile(r"(?P<type>[A-Z][A-Za-z]+)-(?P<tag>[0-9a-f]{8})-(?P<shard>\d{5})-of-(?P<count>\d{5})\.ndjson\Z")


# --- what the reader gives --------------------------------------------------------------------------------


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
    # A Bundle entry's ``urn:uuid:`` fullUrl when it is not ``urn:uuid:<its id>``: references from other files of
    # the store name the resource so, and the store-wide reference index must know it (``offered_keys`` offers
    # only ``urn:uuid:<id>``).
    alias: str | None = None

    @property
    def name(self) -> str:
        return f"{self.file}#entry[{self.index}]" if self.entry else f"{self.file}:{self.index}"


class ReadError(NamedTuple):
    """What the reader gives instead of a resource: an error record's name, code and PHI-free message."""

    name: str
    code: str
    message: str


def oversize(name: str, limit: int) -> ReadError:
    return ReadError(name, "INVALID_ARGUMENT", f"resource larger than the {limit}-byte limit")


def unreadable(name: str, err: BaseException) -> ReadError:
    if isinstance(err, TooLarge):
        return ReadError(name, "RESOURCE_EXHAUSTED", f"the source file is {err}; the rest of it is not read")
    return ReadError(name, "UNAVAILABLE", f"the source file cannot be read ({type(err).__name__})")


def not_a_store_file(name: str) -> ReadError:
    return ReadError(name, "INVALID_ARGUMENT", "not a FHIR store file: expected NDJSON (.ndjson) or a Bundle (.json)")


# --- listing ------------------------------------------------------------------------------------------------


def is_ndjson(relative: str) -> bool:
    return relative.lower().endswith(NDJSON_SUFFIXES)


def is_plain_ndjson(relative: str) -> bool:
    """Uncompressed NDJSON: the only files read again by byte range (a gzip stream cannot be)."""
    return relative.lower().endswith((".ndjson", ".jsonl"))


def source_file(metadata, store: str) -> SourceFile:
    """A SourceFile from Beam's match metadata of a file below ``store``."""
    return SourceFile(metadata.path, store_root.relative(metadata.path, store.rstrip("/")),
                      getattr(metadata, "last_updated_in_seconds", None), getattr(metadata, "size_in_bytes", None))


def list_sources(store: str) -> list[SourceFile]:
    """Every data file of a store (run records, metadata and temporary files left out), sorted."""
    store = store.rstrip("/")
    return [SourceFile(path, store_root.relative(path, store), None)
            for path in store_root.list_files(store) if store_root.is_store_data(path, store)]


exists = store_root.exists


# --- the reader ---------------------------------------------------------------------------------------------


def bundle_items(relative: str, data: bytes, mtime: float | None,
                 limit: int = MAX_RESOURCE_BYTES) -> Iterator[RawResource | ReadError]:
    """A JSON file's resources: a transaction/batch/collection/searchset Bundle's entries (each encoded as one
    compact line, decimals as written), else the whole file as one resource (a document Bundle, a resource)."""
    try:
        document = loads(data[3:] if data.startswith(BOM) else data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        yield ReadError(relative, "INVALID_ARGUMENT", "not valid JSON")
        return
    if not isinstance(document, dict):
        yield ReadError(relative, "INVALID_ARGUMENT", "not a JSON object")
        return
    if document.get("resourceType") != "Bundle" or document.get("type") not in EXPLODED_BUNDLE_TYPES:
        if len(data) > limit:  # one resource (a document Bundle): bounded like a line
            yield oversize(relative, limit)
            return
        yield RawResource(relative, 0, data, mtime, entry=False)
        return
    entries = document.get("entry")
    for index, resource in bundle_resources(document):
        name = f"{relative}#entry[{index}]"
        if resource is None:
            yield ReadError(name, "INVALID_ARGUMENT", "entry.resource: not a resource with a resourceType")
            continue
        try:
            encoded = dumps(resource)
        except Exception:  # noqa: BLE001
            yield ReadError(name, "INVALID_ARGUMENT", "entry.resource: cannot be serialised as JSON")
            continue
        if len(encoded) > limit:
            yield oversize(name, limit)
            continue
        yield RawResource(relative, index, encoded, mtime, True, entry_alias(entries[index], resource))


def entry_alias(entry: dict, resource: dict) -> str | None:
    """An entry's ``urn:uuid:`` fullUrl when it differs from ``urn:uuid:<resource id>`` (else None)."""
    full_url = entry.get("fullUrl")
    rid = resource.get("id")
    if isinstance(full_url, str) and full_url.startswith("urn:uuid:") and len(full_url) > 9 and isinstance(rid, str) \
            and full_url != "urn:uuid:" + rid:
        return full_url
    return None


def resources_of(relative: str, opener: Callable[[], object], mtime: float | None = None,
                 limit: int = MAX_RESOURCE_BYTES) -> Iterator[RawResource | ReadError]:
    """Every resource of one store file, in file order; ``opener()`` gives a decompressed binary handle."""
    try:
        if is_ndjson(relative):
            with opener() as handle:
                for number, data, _ in ndjson_lines(handle, limit):
                    if data is None:
                        yield oversize(f"{relative}:{number}", limit)
                    else:
                        yield RawResource(relative, number, data, mtime)
        elif relative.lower().endswith(BUNDLE_SUFFIXES):
            with opener() as handle:
                data = handle.read()
            yield from bundle_items(relative, data, mtime, limit)
        else:
            yield not_a_store_file(relative)
    except Exception as err:  # noqa: BLE001 - an unreadable file is an error record, never a failed job
        yield unreadable(relative, err)


def read_resources(source: SourceFile, limit: int = MAX_RESOURCE_BYTES) -> Iterator[RawResource | ReadError]:
    """The one reader: every resource of a store file (NDJSON, gzipped NDJSON, Bundle or resource JSON)."""
    return resources_of(source.relative, lambda: open_source(source.path, source.relative), source.mtime, limit)


def resources_of_bytes(relative: str, data: bytes, limit: int = MAX_RESOURCE_BYTES) -> Iterator[RawResource | ReadError]:
    """``read_resources`` of a file already in memory (``.gz`` names are decompressed, bounded as ``open_source``)."""
    if relative.lower().endswith(".gz"):
        return resources_of(relative, lambda: Bounded(gzip.GzipFile(fileobj=io.BytesIO(data)),
                                                      store_root.max_file_bytes()), None, limit)
    return resources_of(relative, lambda: io.BytesIO(data), None, limit)


def store_resources(store: str) -> Iterator[RawResource | ReadError]:
    """Every resource of every data file of a store (outside Beam: counts, describe)."""
    for source in list_sources(store):
        yield from read_resources(source)


def head(data: bytes) -> dict:
    """A resource's JSON object, parsed fast (decimals may turn to floats: only for its type and id)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        value = loads(data)  # > 64-bit integers; raises ValueError when it is not JSON
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def ndjson_line(raw: RawResource) -> bytes:
    """A resource as a store line, its bytes kept (decimals, key order, escapes): an NDJSON line or a Bundle
    entry as read, without surrounding whitespace; a pretty-printed resource file made compact."""
    data = raw.data.strip()
    if data.startswith(BOM):
        data = data[3:].strip()
    if b"\n" in data or b"\r" in data:
        return dumps(loads(data))
    return data


def count_resources(store: str) -> int:
    """Source elements of a FHIR store as de-identification counts them: each resource, and each error record
    the read gives instead of one (an unreadable file, an oversize line, a malformed Bundle entry)."""
    return sum(1 for _ in store_resources(store))


def resource_counts(store: str) -> dict[str, int]:
    """Resources per type of a store; lines that are not a resource count as ``(unparseable)``."""
    counts: dict[str, int] = {}
    for item in store_resources(store):
        if isinstance(item, ReadError):
            continue
        try:
            rtype = str(head(item.data).get("resourceType"))
        except ValueError:
            rtype = "(unparseable)"
        counts[rtype] = counts.get(rtype, 0) + 1
    return counts


# --- the layout -----------------------------------------------------------------------------------------------


IMPORT_TAG = hashlib.sha256(b"import").hexdigest()[:8]  # the shard sets ``import`` writes


def source_tag(source: str) -> str:
    """8 hex digits naming the source in shard names: reruns of a source replace their shards, others stay."""
    return hashlib.sha256(source.rstrip("/").encode("utf-8")).hexdigest()[:8]


def shard_name(rtype: str, tag: str, shard: int, shards: int) -> str:
    return f"{rtype}-{tag}-{shard:05d}-of-{shards:05d}.ndjson"


def shard_count(count: int, size: int) -> int:
    return max(1, math.ceil(size / TARGET_SHARD_BYTES), math.ceil(count / MAX_SHARD_RESOURCES))


def shard_of(resource_id: str, shards: int) -> int:
    if shards <= 1:
        return 0
    digest = hashlib.blake2b(resource_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def list_own_shards(destination: str, tag: str) -> list[str]:
    """The store's shard files of one tag, sorted."""
    return [path for path, match in _shards(destination) if match["tag"] == tag]


def _shards(store: str) -> list[tuple[str, re.Match]]:
    if not store_root.exists(store):
        return []
    out = []
    for path in store_root.list_files(store):
        match = SHARD_NAME.fullmatch(store_root.relative(path, store.rstrip("/")))
        if match:
            out.append((path, match))
    return sorted(out, key=lambda item: item[0])


def write_file(path: str, lines: Iterable[bytes]) -> None:
    """A store file of whole lines (written whole: a reader never sees half)."""
    store_root.write_bytes(path, b"".join(line + b"\n" for line in lines))


def read_lines(path: str) -> list[bytes]:
    """A store file's non-blank lines (oversize lines too: a store's own file is rewritten, never cut)."""
    with store_root.open_read(path) as handle:
        return [line.rstrip(b"\r") for _, line in split_lines(handle, 1 << 62)]


def line_id(line: bytes) -> str | None:
    try:
        rid = head(line).get("id")
    except ValueError:
        return None
    return rid if isinstance(rid, str) else None


def import_type(store: str, rtype: str, lines: dict[str, bytes]) -> list[str]:
    """Merge imported resources of one type into a store, replacing every resource of the same type and id.

    ``lines``: id -> store line. A resource of the same id in any file of the type (another shard set, or a
    ``<Type>.ndjson`` of the old layout) is removed from that file (the rest of it is kept byte for byte); the
    import shard set is rewritten with its earlier resources plus these. Returns the files written.
    """
    written = []
    own: dict[str, bytes] = {}
    stale_own = []
    legacy = store_root.join(store, f"{rtype}.ndjson")
    files = [(path, match["tag"]) for path, match in _shards(store) if match["type"] == rtype]
    if store_root.exists(legacy):
        files.append((legacy, None))
    for path, tag in files:
        kept = []
        dropped = False
        for line in read_lines(path):
            rid = line_id(line)
            if tag == IMPORT_TAG:
                if rid is not None:  # our own lines always have one
                    own.setdefault(rid, line)
            elif rid is not None and rid in lines:
                dropped = True
            else:
                kept.append(line)
        if tag == IMPORT_TAG:
            stale_own.append(path)
        elif dropped:
            write_file(path, kept)
            written.append(path)
    own.update(lines)
    shards = shard_count(len(own), sum(len(line) for line in own.values()))
    by_shard: list[list[str]] = [[] for _ in range(shards)]
    for rid in own:
        by_shard[shard_of(rid, shards)].append(rid)
    for shard, ids in enumerate(by_shard):
        path = store_root.join(store, shard_name(rtype, IMPORT_TAG, shard, shards))
        write_file(path, [own[rid] for rid in sorted(ids)])
        written.append(path)
    for path in stale_own:
        if path not in written:
            store_root.delete(path)
    return written

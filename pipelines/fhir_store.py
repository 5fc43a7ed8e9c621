"""The FHIR store pipeline: read NDJSON and Bundle files, join each resource to its Patient, de-identify, write NDJSON.

Shape (one branch per store; ``add_fhir_store_branch``, default ``join="side"``)::

    MatchFiles(source/**) -> Reshuffle -> ReadFhirFiles         one element per NDJSON line / Bundle entry
      -> ParseResources          errors | resources keyed by patient | Patient join info | sizes per type
      -> DeidentifyWithSideInput (Patient join info, shard counts, [kept ids] as side inputs)
                                                                errors | ((type, shard), packed line)
      -> GroupByKey -> WriteShards                              <Type>-<tag>-SSSSS-of-NNNNN.ndjson, sorted by id
      -> DeleteStaleShards                                      an earlier run's shards of this source, not rewritten

The join: a resource's key is its patient compartment owner (``patient_reference``), a Patient's key its own
``Patient/<id>``; each Patient's date-shift key (its MRN, ``patient_shift_key``) and contextual phrases reach
its resources through an AsDict side input (the first Patient by source location when an id repeats). Because
that side input depends on the whole read, every runner materialises the parsed resources before the
de-identify step and spreads them over its workers from there: every resource is shuffled once (by output
shard), as bytes. ``join="keyed"`` does the join with a GroupByKey instead (no per-worker Patient table, one
more shuffle of every resource; same output).

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
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
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
    failure_counter,
    success_counter,
)
from transforms.crypto import Keys
from transforms.errors import DeidentifyError
from transforms.fhir import (
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
NDJSON_SUFFIXES = (".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz")
BUNDLE_SUFFIXES = (".json",)
EXPLODED_BUNDLE_TYPES = frozenset({"transaction", "batch", "collection", "searchset", "transaction-response",
                                   "batch-response"})
SHARD_NAME = re.compile(r"(?P<type>[A-Z][A-Za-z]+)-(?P<tag>[0-9a-f]{8})-(?P<shard>\d{5})-of-(?P<count>\d{5})\.ndjson\Z")

RESOURCE, PATIENT = 0, 1
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


# A number token with a fraction or exponent, or of 19+ digits: orjson would read it as a float. The pattern
# also fires on such text inside strings ("ratio:1.5"), which only sends that line the slower way.
_NEEDS_EXACT = re.compile(rb"[:\[,]\s*-?(?:\d+[.eE]|\d{19})")


def fast_loads(data: bytes) -> Any:
    """``loads(data)``, through orjson (about 4x faster) when no number in it needs its written text kept.

    orjson reads decimals and integers beyond 64 bits as floats, and refuses what json takes (lone
    surrogates, UTF-16): those lines go through ``loads``, so the result is always ``loads``'s.
    """
    if _NEEDS_EXACT.search(data) is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return loads(data)


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
    path: str
    relative: str  # below the store folder: names error records
    mtime: float | None


class RawResource(NamedTuple):
    file: str  # relative path
    index: int  # line number (NDJSON) or entry index (Bundle)
    data: bytes
    mtime: float | None
    entry: bool = False  # a Bundle entry

    @property
    def name(self) -> str:
        return f"{self.file}#entry[{self.index}]" if self.entry else f"{self.file}:{self.index}"


def _is_source_file(path: str, source: str) -> bool:
    parts = store_root.relative(path, source).replace("\\", "/").split("/")
    return bool(parts[-1]) and store_root.META_DIR not in parts[:-1] and not parts[-1].startswith(".tmp-")


def split_lines(handle, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) of each non-blank line; bytes None for a line over ``limit`` (never held whole)."""
    number = 0
    pending = bytearray()
    oversize = False
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
                yield number, None
            else:
                pending += chunk[start:end]
                if len(pending) > limit:
                    yield number, None
                elif pending.strip():
                    yield number, bytes(pending)
            pending, oversize = bytearray(), False
            start = end + 1
    if oversize or pending.strip():
        number += 1
        yield number, None if oversize or len(pending) > limit else bytes(pending)


def _open(path: str):
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.open(path, compression_type=CompressionTypes.AUTO)


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


class ReadFhirFiles(beam.DoFn):
    """One source file -> one RawResource per NDJSON line or Bundle entry; unreadable input -> error records."""

    def __init__(self, label: str = "fhir", max_resource_bytes: int = MAX_RESOURCE_BYTES):
        self._label = label
        self._limit = max_resource_bytes

    def setup(self) -> None:
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

    def _error(self, name: str, code: str, message: str):
        self._failed.inc()
        return beam.pvalue.TaggedOutput(ERRORS, error_record(name, code, message))

    def process(self, source: SourceFile) -> Iterable:
        lowered = source.relative.lower()
        try:
            if lowered.endswith(NDJSON_SUFFIXES):
                yield from self._ndjson(source)
            elif lowered.endswith(BUNDLE_SUFFIXES):
                yield from self._bundle(source)
            else:
                yield self._error(source.relative, "INVALID_ARGUMENT",
                                  "not a FHIR store file: expected NDJSON (.ndjson) or a Bundle (.json)")
        except Exception as err:  # noqa: BLE001 - an unreadable file is a dead letter, never a failed job
            yield self._error(source.relative, "UNAVAILABLE", f"the source file cannot be read ({type(err).__name__})")

    def _ndjson(self, source: SourceFile) -> Iterator:
        with _open(source.path) as handle:
            for number, data in split_lines(handle, self._limit):
                if data is None:
                    yield self._error(f"{source.relative}:{number}", "INVALID_ARGUMENT",
                                      f"resource larger than the {self._limit}-byte limit")
                else:
                    if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                        data = data[3:]
                    yield RawResource(source.relative, number, data, source.mtime)

    def _bundle(self, source: SourceFile) -> Iterator:
        with _open(source.path) as handle:
            data = handle.read()
        try:
            document = loads(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
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
    """Every file below a store folder (run records left out) -> RawResource elements, plus error records."""

    def __init__(self, source: str, label: str = "fhir", max_resource_bytes: int = MAX_RESOURCE_BYTES):
        super().__init__()
        self._source = source
        self._label = label
        self._limit = max_resource_bytes

    def expand(self, pbegin):
        source = self._source.rstrip("/")

        def to_source(metadata) -> SourceFile:
            return SourceFile(metadata.path, store_root.relative(metadata.path, source),
                              getattr(metadata, "last_updated_in_seconds", None))

        return (
            pbegin
            | "Match" >> fileio.MatchFiles(source + "/**", empty_match_treatment=EmptyMatchTreatment.ALLOW)
            | "Skip run records" >> beam.Filter(lambda m: _is_source_file(m.path, source))
            | "Files" >> beam.Map(to_source)
            | "Spread files" >> beam.Reshuffle()
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
        if exact:
            resource = fast_loads(data)
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


class _Tally:
    """Counter increments summed in a dict and flushed to Beam metrics once a bundle (a Metrics call per element
    costs about as much as a JSON parse). Use: ``self._tally = _Tally(label)`` in ``setup``, ``add(name)`` per
    element, ``flush()`` in ``finish_bundle``."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def flush(self) -> None:
        for name, n in self.counts.items():
            if n:
                Metrics.counter(NAMESPACE, name).inc(n)
        self.counts.clear()


class ParseResources(beam.DoFn):
    """RawResource -> (join key, resource) for the join, (Patient/<id>, join info) for Patients, sizes per type.

    Main output: (key, (RESOURCE, file, index, entry, data)). PATIENTS: (Patient/<id>, (PATIENT, file, index,
    shift key, context phrases)) — every Patient, filtered or not, so its resources still shift with it.
    SIZES: (resourceType, (count, bytes)) once a type a bundle. ERRORS: error records.
    """

    def __init__(self, policy: FhirPolicy, keys: Keys, label: str = "fhir", resource_filter=None):
        self._policy = policy
        self._keys = keys
        self._label = label
        self._filter = resource_filter

    def setup(self) -> None:
        self._tally = _Tally()
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

    def process(self, raw: RawResource) -> Iterable:
        try:
            resource = parse_resource(raw.data, exact=False)  # routing only: the de-identify step parses exactly
            if resource["resourceType"] == "Patient":
                info = self.patient_info(parse_resource(raw.data))
                if info is not None:
                    yield beam.pvalue.TaggedOutput(PATIENTS, (info[0], (PATIENT, raw.file, raw.index) + info[1:]))
            keep = self._filter is None or self._filter.keeps(resource, raw.mtime)
        except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
            self._tally.add(self._failed_name)
            yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(raw.name, err))
            return
        if not keep:
            self._tally.add(self._filtered_name)
            return
        tally = self._sizes.get(resource["resourceType"])
        if tally is None:
            tally = self._sizes[resource["resourceType"]] = [0, 0]
        tally[0] += 1
        tally[1] += len(raw.data)
        yield join_key(resource, raw), (RESOURCE, raw.file, raw.index, raw.entry, raw.data)

    def patient_info(self, patient: dict) -> tuple[str, str, tuple[str, ...]] | None:
        key = patient_reference(patient)
        if key is None:
            return None
        return key, patient_shift_key(patient), patient_context(patient, self._policy, self._keys)


# --- de-identify ------------------------------------------------------------------------------------------


def shard_count(count: int, size: int) -> int:
    return max(1, math.ceil(size / TARGET_SHARD_BYTES), math.ceil(count / MAX_SHARD_RESOURCES))


def shard_of(resource_id: str, shards: int) -> int:
    if shards <= 1:
        return 0
    digest = hashlib.blake2b(resource_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


# What the shard shuffle carries: one bytes value a resource, ``[new id, file, index, kind]`` as JSON, a
# newline, the output line (compact JSON has no raw newline). One bytes value costs the runner a fraction of
# a five-field tuple to encode, group and decode. Kinds: a source NDJSON line, a Bundle entry, or a line kept
# from the destination by an incremental run (it counts neither as success nor as failure).
LINE, ENTRY, EXISTING = 0, 1, 2


def pack_line(rid: str, file: str, index: int, kind: int, line: bytes) -> bytes:
    return orjson.dumps([rid, file, index, kind]) + b"\n" + line


def unpack_line(value: bytes) -> tuple[str, str, int, int, bytes]:
    head, _, line = value.partition(b"\n")
    rid, file, index, kind = orjson.loads(head)
    return rid, file, index, kind, line


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
    ((resourceType, shard), ``pack_line(new id, file, index, kind, line)``).

    ``incremental``: a resource whose predicted destination id is in the ``existing`` side input (a dict of
    ``Type/id`` already in the destination) is skipped (``skipped/<label>``), not de-identified.
    """

    def __init__(self, policy: FhirPolicy, keys: Keys, label: str = "fhir", validate: bool = False,
                 incremental: bool = False):
        self._policy = policy
        self._keys = keys
        self._label = label
        self._validate = validate
        self._incremental = incremental

    def setup(self) -> None:
        self._tally = _Tally()
        self._ok_name = success_counter(self._label)
        self._failed_name = failure_counter(self._label)
        self._skipped_name = f"skipped/{self._label}"

    def finish_bundle(self) -> None:
        self._tally.flush()

    def process(self, element, shard_counts: dict, existing=None) -> Iterable:
        _, values = element
        patient = None
        for value in values:
            if value[0] == PATIENT and (patient is None or value[1:3] < patient[1:3]):
                patient = value
        shift_key, context = (patient[3], patient[4]) if patient is not None else (None, ())
        for value in values:
            if value[0] == RESOURCE:
                yield from self.deidentify(value, shift_key, context, shard_counts, existing)

    def deidentify(self, value: tuple, shift_key: str | None, context: tuple, shard_counts: dict,
                   existing=None) -> Iterator:
        _, file, index, entry, data = value
        try:
            resource = parse_resource(data)
            if existing is not None and f"{resource['resourceType']}/{predicted_id(resource, data, self._policy, self._keys)}" in existing:
                self._tally.add(self._skipped_name)
                return
            out = deidentify_resource(resource, self._policy, self._keys, patient=shift_key, context=context)
            rid = out.get("id")
            if not isinstance(rid, str) or not rid:
                rid = content_id(self._keys, data)
                out = {"resourceType": out["resourceType"], "id": rid, **{k: v for k, v in out.items()
                                                                          if k != "resourceType"}}
            if self._validate:
                from transforms.fhir.validate import check_r4

                check_r4(out)
            line = dumps(out)
        except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
            self._tally.add(self._failed_name)
            yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(RawResource(file, index, b"", None,
                                                                                    entry).name, err))
            return
        rtype = out["resourceType"]
        self._tally.add(self._ok_name)
        yield (rtype, shard_of(rid, shard_counts.get(rtype, 1))), pack_line(rid, file, index, ENTRY if entry else LINE,
                                                                            line)


class DeidentifyWithSideInput(DeidentifyFhirResources):
    """The side-input join: (key, RESOURCE value) looked up in an AsDict of Patient join info."""

    def process(self, element, shard_counts: dict, patients: dict, existing=None) -> Iterable:
        key, value = element
        patient = patients.get(key)
        shift_key, context = (patient[3], patient[4]) if patient is not None else (None, ())
        yield from self.deidentify(value, shift_key, context, shard_counts, existing)


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
    return (rtype, shard_of(rid, shard_counts.get(rtype, 1))), pack_line(rid, "", number, EXISTING, line)


# --- write ------------------------------------------------------------------------------------------------


def source_tag(source: str) -> str:
    """8 hex digits naming the source in shard names: reruns of a source replace their shards, others stay."""
    return hashlib.sha256(source.rstrip("/").encode("utf-8")).hexdigest()[:8]


def shard_name(rtype: str, tag: str, shard: int, shards: int) -> str:
    return f"{rtype}-{tag}-{shard:05d}-of-{shards:05d}.ndjson"


class WriteShards(beam.DoFn):
    """((type, shard), packed lines) -> one NDJSON file, lines sorted by new id; duplicate ids keep the first
    (a line kept from the destination sorts before any source resource).

    Main output: the path written. ERRORS: ALREADY_EXISTS for each duplicate, UNAVAILABLE when the file cannot
    be written (its resources then count as failed).
    """

    def __init__(self, destination: str, tag: str, label: str = "fhir"):
        self._destination = destination
        self._tag = tag
        self._label = label

    def setup(self) -> None:
        self._tally = _Tally()
        self._ok_name = success_counter(self._label)
        self._failed_name = failure_counter(self._label)

    def finish_bundle(self) -> None:
        self._tally.flush()

    def process(self, element, shard_counts: dict) -> Iterable:
        (rtype, shard), values = element
        rows = sorted((unpack_line(v) for v in values if v), key=lambda v: (v[0], v[3] != EXISTING, v[1], v[2]))
        shards = shard_counts.get(rtype, 1)
        kept: list[bytes] = []
        names: list[str | None] = []
        last = None
        for rid, file, index, kind, line in rows:
            name = None if kind == EXISTING else RawResource(file, index, b"", None, kind == ENTRY).name
            if rid == last:
                if name is None:
                    continue  # the destination itself held the id twice: keep one line
                self._tally.add(self._ok_name, -1)
                self._tally.add(self._failed_name)
                yield beam.pvalue.TaggedOutput(ERRORS, error_record(
                    name, "ALREADY_EXISTS", f"duplicate {rtype} id: another source resource has the same id"))
                continue
            last = rid
            kept.append(line)
            names.append(name)
        if kept or shards > 1:  # else nothing of this type was de-identified: no file (a stale one is deleted)
            yield from self._write(rtype, shard, shards, kept, names)

    def _write(self, rtype: str, shard: int, shards: int, kept: list[bytes], names: list) -> Iterator:
        path = store_root.join(self._destination, shard_name(rtype, self._tag, shard, shards))
        try:
            store_root.write_bytes(path, b"".join(line + b"\n" for line in kept))
        except Exception as err:  # noqa: BLE001
            for name in names:
                if name is None:
                    continue
                self._tally.add(self._ok_name, -1)
                self._tally.add(self._failed_name)
                yield beam.pvalue.TaggedOutput(ERRORS, error_record(
                    name, "UNAVAILABLE", f"the destination cannot be written ({type(err).__name__})"))
        else:
            yield path


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


def _all_shards(item: tuple[str, int]) -> Iterator:
    rtype, shards = item
    for shard in range(shards):
        yield (rtype, shard), b""


def add_fhir_store_branch(pipeline, source: str, destination: str, run_dir: str, policy: FhirPolicy, keys: Keys,
                          label: str = "fhir", error_prefix: str = "errors", resource_filter=None,
                          validate: bool = False, max_resource_bytes: int = MAX_RESOURCE_BYTES,
                          join: str = "side", incremental: bool = False) -> FhirStoreResult:
    """Add one FHIR store's read -> join -> de-identify -> write branch (and its error records) to a pipeline.

    ``resource_filter``: an object with ``keeps(resource, file_mtime) -> bool`` (pipelines.filters.FhirFilter).
    ``validate``: check every output resource against the R4 models (slow: ~3,500 resources/s a core).
    ``join``: "side" (the default: Patient join info as an AsDict side input, so resources are not shuffled
    before de-identification; each worker holds every Patient's shift key and context phrases, some 100-300
    bytes a patient), "keyed" (GroupByKey by patient: no per-worker patient table, one more shuffle of every
    resource) or "none" (no Patient join: date shifts then key on the reference, not the MRN: for measuring
    the join's cost only). All give the same output.
    ``incremental``: keep what the destination holds from this source and de-identify only source resources
    whose destination resource (``Type/<new id>``, a function of the source id and key) is not there yet;
    see ``add_incremental_inputs``.
    """
    p = f"{label}: " if label != "fhir" else ""
    tag = source_tag(source)
    read = pipeline | f"{p}Read FHIR store" >> ReadFhirStore(source, label, max_resource_bytes)
    parsed = read["raw"] | f"{p}Parse" >> beam.ParDo(
        ParseResources(policy, keys, label, resource_filter)).with_outputs(ERRORS, PATIENTS, SIZES, main="resources")
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
            | f"{p}Join patients" >> beam.GroupByKey()
        )
        deid = grouped | f"{p}De-identify" >> beam.ParDo(
            DeidentifyFhirResources(policy, keys, label, validate, incremental), counts_view,
            *extra).with_outputs(ERRORS, main="ok")
    elif join in ("side", "none"):
        patients = (
            parsed[PATIENTS]
            | f"{p}First patient" >> beam.CombinePerKey(min)
            if join == "side"
            else parsed[PATIENTS] | f"{p}No patients" >> beam.Filter(lambda _: False)
        )
        # No Reshuffle: the side input depends on the whole read, so every runner materialises the resources
        # before this step and spreads them over its workers from there.
        deid = parsed["resources"] | f"{p}De-identify" >> beam.ParDo(
            DeidentifyWithSideInput(policy, keys, label, validate, incremental), counts_view,
            beam.pvalue.AsDict(patients), *extra).with_outputs(ERRORS, main="ok")
    else:
        raise ValueError(f"join: {join!r}")
    to_write = [deid["ok"], shard_counts | f"{p}Every shard" >> beam.FlatMap(_all_shards)]
    if existing_lines is not None:
        to_write.append(existing_lines | f"{p}Shard kept lines" >> beam.Map(_reshard_existing, counts_view))
    written = (
        tuple(to_write)
        | f"{p}Lines and shards" >> beam.Flatten()
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

"""The FHIR store pipeline: read NDJSON and Bundle files, join each resource to its Patient, de-identify, write NDJSON.

Shape (one branch per store; ``add_fhir_store_branch``)::

    MatchFiles(source/**) -> Reshuffle -> ReadFhirFiles         one element per NDJSON line / Bundle entry
      -> ParseResources          errors | resources keyed by patient | Patient join info | sizes per type
      -> Flatten(resources, patients) -> GroupByKey             the keyed join: a patient's resources meet it
      -> DeidentifyPatientGroups (shard counts as side input)   errors | ((type, shard), resource line)
      -> GroupByKey -> WriteShards                              <Type>-<tag>-SSSSS-of-NNNNN.ndjson, sorted by id
      -> DeleteStaleShards                                      an earlier run's shards of this source, not rewritten

The join is keyed: a resource's key is its patient compartment owner (``patient_reference``), a Patient's key
its own ``Patient/<id>``, so the GroupByKey that spreads the work over workers (the Reshuffle of the design)
also brings each Patient's date-shift key (its MRN, ``patient_shift_key``) and contextual phrases to its
resources. A resource without a patient gets a key of its own. ``join="side"`` builds the same from an AsDict
side input instead (measured in bench/fhir_throughput.py).

Output is deterministic: shard counts come from the input's sizes per type, a resource's shard from a hash of
its new id, and lines are sorted by new id within a shard, so runs and worker counts agree byte for byte.
Shard names carry a tag derived from the source path, so de-identifying two sources into one store does not
overwrite the other's shards, and a rerun replaces its own (stale shards of the same tag are deleted).

Every input is accounted for: a resource is written, filtered (``filtered/<label>``), or an error record
(``{resource_name, error}``) named ``<file>:<line>`` or ``<file>#entry[<i>]`` — never by id or value.
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
from transforms.fhir import deidentify_resource, new_id, patient_context, patient_reference, patient_shift_key
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


def _resource_model_exists(rtype: str) -> bool:
    from transforms.fhir import schema

    return schema.resource_model(rtype) is not None


def parse_resource(raw: RawResource) -> dict:
    """Parse one raw resource; DeidentifyError (no values in the message) when it is not a FHIR R4 resource."""
    try:
        resource = loads(raw.data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DeidentifyError("INVALID_ARGUMENT", "not valid JSON") from None
    if not isinstance(resource, dict):
        raise DeidentifyError("INVALID_ARGUMENT", "not a JSON object")
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise DeidentifyError("INVALID_ARGUMENT", "resourceType: missing")
    if not re.fullmatch(r"[A-Z][A-Za-z]{1,63}", rtype) or not _resource_model_exists(rtype):
        raise DeidentifyError("INVALID_ARGUMENT", "resourceType: not a FHIR R4 resource type")
    return resource


def join_key(resource: dict, raw: RawResource) -> str:
    """The group a resource is de-identified in: its patient (``Patient/<id>``), else a key of its own."""
    owner = patient_reference(resource)
    return owner if owner else "\x00" + raw.name


class ParseResources(beam.DoFn):
    """RawResource -> (join key, resource) for the join, (Patient/<id>, join info) for Patients, sizes per type.

    Main output: (key, (RESOURCE, file, index, entry, data)). PATIENTS: (Patient/<id>, (PATIENT, file, index,
    shift key, context phrases)) — every Patient, filtered or not, so its resources still shift with it.
    SIZES: (resourceType, (1, bytes)). ERRORS: error records.
    """

    def __init__(self, policy: FhirPolicy, keys: Keys, label: str = "fhir", resource_filter=None):
        self._policy = policy
        self._keys = keys
        self._label = label
        self._filter = resource_filter

    def setup(self) -> None:
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))
        self._filtered = Metrics.counter(NAMESPACE, f"filtered/{self._label}")

    def process(self, raw: RawResource) -> Iterable:
        try:
            resource = parse_resource(raw)
            if resource["resourceType"] == "Patient":
                info = self.patient_info(resource)
                if info is not None:
                    yield beam.pvalue.TaggedOutput(PATIENTS, (info[0], (PATIENT, raw.file, raw.index) + info[1:]))
            keep = self._filter is None or self._filter.keeps(resource, raw.mtime)
        except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
            self._failed.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(raw.name, err))
            return
        if not keep:
            self._filtered.inc()
            return
        yield beam.pvalue.TaggedOutput(SIZES, (resource["resourceType"], (1, len(raw.data))))
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


class DeidentifyFhirResources(beam.DoFn):
    """Join groups -> de-identified resource lines keyed by (resourceType, shard); failures -> error records.

    Input: (key, iterable of RESOURCE and PATIENT values) from the GroupByKey of the keyed join. The Patient
    sorting first by source location supplies the date-shift key and context; without one (a reference to a
    Patient not in the store) the core falls back to the reference itself. Main output:
    ((resourceType, shard), (new id, file, index, line bytes)).
    """

    def __init__(self, policy: FhirPolicy, keys: Keys, label: str = "fhir", validate: bool = False):
        self._policy = policy
        self._keys = keys
        self._label = label
        self._validate = validate

    def setup(self) -> None:
        self._ok = Metrics.counter(NAMESPACE, success_counter(self._label))
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

    def process(self, element, shard_counts: dict) -> Iterable:
        _, values = element
        patient = None
        for value in values:
            if value[0] == PATIENT and (patient is None or value[1:3] < patient[1:3]):
                patient = value
        shift_key, context = (patient[3], patient[4]) if patient is not None else (None, ())
        for value in values:
            if value[0] == RESOURCE:
                yield from self.deidentify(value, shift_key, context, shard_counts)

    def deidentify(self, value: tuple, shift_key: str | None, context: tuple, shard_counts: dict) -> Iterator:
        _, file, index, entry, data = value
        try:
            resource = parse_resource(RawResource(file, index, data, None, entry))
            out = deidentify_resource(resource, self._policy, self._keys, patient=shift_key, context=context)
            rid = out.get("id")
            if not isinstance(rid, str) or not rid:
                # A stored resource has an id: one derived from the content, so identical copies collide.
                rid = new_id(self._keys, "content\x00" + hashlib.sha256(data).hexdigest())
                out = {"resourceType": out["resourceType"], "id": rid, **{k: v for k, v in out.items()
                                                                          if k != "resourceType"}}
            if self._validate:
                from transforms.fhir.validate import check_r4

                check_r4(out)
            line = dumps(out)
        except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
            self._failed.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(RawResource(file, index, b"", None,
                                                                                    entry).name, err))
            return
        rtype = out["resourceType"]
        self._ok.inc()
        yield (rtype, shard_of(rid, shard_counts.get(rtype, 1))), (rid, file, index, entry, line)


class DeidentifyWithSideInput(DeidentifyFhirResources):
    """The side-input join: (key, RESOURCE value) looked up in an AsDict of Patient join info."""

    def process(self, element, shard_counts: dict, patients: dict) -> Iterable:
        key, value = element
        patient = patients.get(key)
        shift_key, context = (patient[3], patient[4]) if patient is not None else (None, ())
        yield from self.deidentify(value, shift_key, context, shard_counts)


# --- write ------------------------------------------------------------------------------------------------


def source_tag(source: str) -> str:
    """8 hex digits naming the source in shard names: reruns of a source replace their shards, others stay."""
    return hashlib.sha256(source.rstrip("/").encode("utf-8")).hexdigest()[:8]


def shard_name(rtype: str, tag: str, shard: int, shards: int) -> str:
    return f"{rtype}-{tag}-{shard:05d}-of-{shards:05d}.ndjson"


class WriteShards(beam.DoFn):
    """((type, shard), lines) -> one NDJSON file, lines sorted by new id; duplicate ids keep the first source.

    Main output: the path written. ERRORS: ALREADY_EXISTS for each duplicate, UNAVAILABLE when the file cannot
    be written (its resources then count as failed).
    """

    def __init__(self, destination: str, tag: str, label: str = "fhir"):
        self._destination = destination
        self._tag = tag
        self._label = label

    def setup(self) -> None:
        self._ok = Metrics.counter(NAMESPACE, success_counter(self._label))
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

    def process(self, element, shard_counts: dict) -> Iterable:
        (rtype, shard), values = element
        rows = sorted((v for v in values if v is not None), key=lambda v: (v[0], v[1], v[2]))
        shards = shard_counts.get(rtype, 1)
        kept: list[bytes] = []
        names: list[str] = []
        last = None
        for rid, file, index, entry, line in rows:
            name = RawResource(file, index, b"", None, entry).name
            if rid == last:
                self._ok.dec()
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, error_record(
                    name, "ALREADY_EXISTS", f"duplicate {rtype} id: another source resource has the same id"))
                continue
            last = rid
            kept.append(line)
            names.append(name)
        if kept or shards > 1:  # else nothing of this type was de-identified: no file (a stale one is deleted)
            yield from self._write(rtype, shard, shards, kept, names)

    def _write(self, rtype: str, shard: int, shards: int, kept: list[bytes], names: list[str]) -> Iterator:
        path = store_root.join(self._destination, shard_name(rtype, self._tag, shard, shards))
        try:
            store_root.write_bytes(path, b"".join(line + b"\n" for line in kept))
        except Exception as err:  # noqa: BLE001
            for name in names:
                self._ok.dec()
                self._failed.inc()
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
        for path in store_root.list_files(self._destination):
            relative = store_root.relative(path, self._destination.rstrip("/"))
            match = SHARD_NAME.fullmatch(relative)
            if match and match["tag"] == self._tag and path not in keep:
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
        yield (rtype, shard), None


def add_fhir_store_branch(pipeline, source: str, destination: str, run_dir: str, policy: FhirPolicy, keys: Keys,
                          label: str = "fhir", error_prefix: str = "errors", resource_filter=None,
                          validate: bool = False, max_resource_bytes: int = MAX_RESOURCE_BYTES,
                          join: str = "keyed") -> FhirStoreResult:
    """Add one FHIR store's read -> join -> de-identify -> write branch (and its error records) to a pipeline.

    ``resource_filter``: an object with ``keeps(resource, file_mtime) -> bool`` (pipelines.filters.FhirFilter).
    ``validate``: check every output resource against the R4 models (slow: ~3,500 resources/s a core).
    ``join``: "keyed" (GroupByKey by patient, the default) or "side" (AsDict side input); "none" skips the
    Patient join (date shifts then key on the reference, not the MRN: for measuring the join's cost only).
    """
    p = f"{label}: " if label != "fhir" else ""
    read = pipeline | f"{p}Read FHIR store" >> ReadFhirStore(source, label, max_resource_bytes)
    parsed = read["raw"] | f"{p}Parse" >> beam.ParDo(
        ParseResources(policy, keys, label, resource_filter)).with_outputs(ERRORS, PATIENTS, SIZES, main="resources")
    shard_counts = (
        parsed[SIZES]
        | f"{p}Size per type" >> beam.CombinePerKey(_sum_pairs)
        | f"{p}Shards per type" >> beam.MapTuple(lambda rtype, cs: (rtype, shard_count(*cs)))
    )
    counts_view = beam.pvalue.AsDict(shard_counts)
    if join == "keyed":
        grouped = (
            (parsed["resources"], parsed[PATIENTS])
            | f"{p}Resources and patients" >> beam.Flatten()
            | f"{p}Join patients" >> beam.GroupByKey()
        )
        deid = grouped | f"{p}De-identify" >> beam.ParDo(
            DeidentifyFhirResources(policy, keys, label, validate), counts_view).with_outputs(ERRORS, main="ok")
    elif join in ("side", "none"):
        patients = (
            parsed[PATIENTS]
            | f"{p}First patient" >> beam.CombinePerKey(min)
            if join == "side"
            else parsed[PATIENTS] | f"{p}No patients" >> beam.Filter(lambda _: False)
        )
        deid = (
            parsed["resources"]
            | f"{p}Spread resources" >> beam.Reshuffle()
            | f"{p}De-identify" >> beam.ParDo(DeidentifyWithSideInput(policy, keys, label, validate), counts_view,
                                              beam.pvalue.AsDict(patients)).with_outputs(ERRORS, main="ok")
        )
    else:
        raise ValueError(f"join: {join!r}")
    tag = source_tag(source)
    written = (
        (deid["ok"], shard_counts | f"{p}Every shard" >> beam.FlatMap(_all_shards))
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

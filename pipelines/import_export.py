"""Store import and export as composite PTransforms: ImportDicom, ImportFhir, ExportDicom, ExportFhir.

Each takes a root of Beam and gives an ``ImportExportResult``: the names written (layout paths, resource types)
and error records (``{resource_name, error}``); the command writes the error records and the summary. Counters:
``success/<label>`` and ``failure/<label>``.

- ``ImportDicom``: any tree of DICOM Part-10 files -> each validated and written unchanged at its layout path
  ``<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm`` (several files with one SOPInstanceUID: the first by source
  path wins, the others are ALREADY_EXISTS).
- ``ImportFhir``: NDJSON (gzipped too) and JSON (a resource or a Bundle) files, read by the FHIR store reader ->
  each resource checked (id, type; R4 stores: the R4 models) and merged into the store's layout by type and id,
  replacing a resource with the same id wherever it is, as the API's import does (``stores.fhir.import_type``).
  Lines keep their bytes (decimals as written); Bundle entries are written compact.
- ``ExportDicom``: the store's files copied to a folder at the same relative paths.
- ``ExportFhir``: every resource of the store (any layout) to ``<destination>/<Type>.ndjson``, sorted by id,
  bytes kept.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.fileio import EmptyMatchTreatment
from apache_beam.metrics import Metrics

from pipelines.stores import fhir as stores_fhir
from pipelines.stores import store_root
from transforms.beam import ERRORS, NAMESPACE, OK, error_from_exception, error_record, failure_counter, success_counter
from transforms.errors import DeidentifyError
from transforms.fhir.codec import loads

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_FHIR_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")


class ImportExportResult(NamedTuple):
    written: beam.PCollection  # layout paths (DICOM) or resource types (FHIR) written
    errors: beam.PCollection  # error records


def pattern_base(pattern: str) -> str:
    """The folder a source pattern starts from (``dir/**`` -> ``dir``; a file -> its folder)."""
    cut = min((pattern.index(ch) for ch in "*?[" if ch in pattern), default=None)
    if cut is None:
        return pattern.rsplit("/", 1)[0] if "/" in pattern else ""
    return pattern[:cut].rsplit("/", 1)[0]


class MatchDataFiles(beam.PTransform):
    """Paths matching a pattern, run records, metadata and temporary files left out, spread over the workers."""

    def __init__(self, pattern: str):
        super().__init__()
        self._pattern = pattern

    def expand(self, pbegin):
        base = pattern_base(self._pattern)
        return (
            pbegin
            | "Match" >> fileio.MatchFiles(self._pattern, empty_match_treatment=EmptyMatchTreatment.ALLOW)
            | "Paths" >> beam.Map(lambda metadata: metadata.path)
            | "Skip records" >> beam.Filter(store_root.is_store_data, base)
            | "Spread" >> beam.Reshuffle()
        )


class _Counted(beam.DoFn):
    """A DoFn that counts success/<label> and failure/<label>; ``target``: the store or folder it writes."""

    def __init__(self, label: str, target: str = ""):
        self._label = label
        self._target = target

    def setup(self) -> None:
        self._ok = Metrics.counter(NAMESPACE, success_counter(self._label))
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

    def error(self, record: dict, count: int = 1):
        self._failed.inc(count)
        return beam.pvalue.TaggedOutput(ERRORS, record)

    def copy(self, source: str, target: str) -> Iterable[Any]:
        """Copy one file: its error record when that fails, else nothing (each counted)."""
        try:
            store_root.write_bytes(target, store_root.read_bytes(source))
        except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
            yield self.error(error_from_exception(source, err))
            return
        self._ok.inc()

    def duplicates(self, names: Iterable[str], message: str) -> Iterable[Any]:
        """ALREADY_EXISTS error records for the copies that lost to the first."""
        for name in names:
            yield self.error(error_record(name, "ALREADY_EXISTS", message))


class _StoreTransform(beam.PTransform):
    """From a source (imports: a pattern of files; exports: a store) to a target (imports: a store; exports: a
    folder); ``label`` names the counters (default: import or export)."""

    LABEL = ""

    def __init__(self, source: str, target: str, label: str | None = None):
        super().__init__()
        self._source, self._target, self._label = source, target, label or self.LABEL

    def stages(self, pbegin, pattern: str, first: tuple[str, beam.DoFn], *grouped: tuple[str, str, beam.DoFn]):
        """Files matching ``pattern`` -> the first DoFn, then for each further one a GroupByKey and that DoFn;
        the result: the last DoFn's main output and every DoFn's error records."""
        out = pbegin | "Files" >> MatchDataFiles(pattern) | first[0] >> beam.ParDo(first[1]).with_outputs(
            ERRORS, main=OK)
        errors = [out[ERRORS]]
        for group, name, dofn in grouped:
            out = out[OK] | group >> beam.GroupByKey() | name >> beam.ParDo(dofn).with_outputs(ERRORS, main=OK)
            errors.append(out[ERRORS])
        all_errors = tuple(errors) | "All errors" >> beam.Flatten()
        named = all_errors | "Relative names" >> beam.Map(relative_record, pattern_base(pattern))
        return ImportExportResult(out[OK], named)


def relative_record(record: dict, base: str) -> dict:
    """An error record naming its file relative to the source folder, never by an absolute local path (issue 18);
    URIs (gs://, a DICOMweb URL) are kept whole."""
    name = str(record.get("resource_name", ""))
    if base and not store_root.is_remote(name) and name.startswith(base.rstrip("/") + "/"):
        return {**record, "resource_name": name[len(base.rstrip("/")) + 1:]}
    return record


# --- DICOM ---------------------------------------------------------------------------------------------------


def dicom_import_key(path: str, data: bytes) -> tuple[str, str]:
    """(SOPInstanceUID, layout path) of a DICOM Part-10 file; DeidentifyError when it is not one we can store."""
    import pydicom

    from pipelines.stores.dicom import UID_KEYWORDS, instance_path, is_uid

    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, specific_tags=list(UID_KEYWORDS))
    except Exception as err:  # noqa: BLE001 - the class only: messages may quote data
        raise DeidentifyError("INVALID_ARGUMENT", f"not a DICOM Part-10 file ({type(err).__name__})") from None
    uids = []
    for keyword in UID_KEYWORDS:
        value = str(ds.get(keyword, "") or "").strip().rstrip("\x00")
        if not value:
            raise DeidentifyError("INVALID_ARGUMENT", f"{keyword} is missing")
        if not is_uid(value):
            raise DeidentifyError("INVALID_ARGUMENT", f"{keyword} is not a valid UID")
        uids.append(value)
    return uids[2], instance_path(*uids)


class KeyInstance(_Counted):
    """A source path -> (SOPInstanceUID, (path, layout path)); files that are not storable -> error records."""

    def process(self, path: str) -> Iterable[Any]:
        try:
            sop, relative = dicom_import_key(path, store_root.read_bytes(path))
        except Exception as err:  # noqa: BLE001 - a bad file is an error record, never a failed job
            yield self.error(error_from_exception(path, err))
            return
        yield sop, (path, relative)


class WriteInstance(_Counted):
    """(SOPInstanceUID, files holding it) -> the first by source path written at its layout path."""

    def process(self, element) -> Iterable[Any]:
        _, found = element
        (winner, relative), *losers = sorted(found)
        yield from self.duplicates((loser for loser, _ in losers),
                                   "duplicate SOPInstanceUID (0008,0018): another source file holds it")
        failed = list(self.copy(winner, store_root.join(self._target, *relative.split("/"))))
        yield from failed or [relative]


class ImportDicom(_StoreTransform):
    """Source files (a pattern) -> validated instances at their layout path in ``store``."""

    LABEL = "import"

    def expand(self, pbegin):
        return self.stages(pbegin, self._source, ("Validate", KeyInstance(self._label)),
                           ("By SOPInstanceUID", "Write", WriteInstance(self._label, self._target)))


class CopyFile(_Counted):
    """A store file -> the same relative path below ``destination``."""

    def __init__(self, store: str, destination: str, label: str):
        super().__init__(label, destination)
        self._store = store

    def process(self, path: str) -> Iterable[Any]:
        relative = store_root.relative(path, self._store).replace("\\", "/")
        failed = list(self.copy(path, store_root.join(self._target, *relative.split("/"))))
        yield from failed or [relative]


class ExportDicom(_StoreTransform):
    """Every instance of the store copied to ``destination`` at the same relative path."""

    LABEL = "export"

    def expand(self, pbegin):
        return self.stages(pbegin, self._source.rstrip("/") + "/**",
                           ("Copy", CopyFile(self._source, self._target, self._label)))


# --- FHIR ----------------------------------------------------------------------------------------------------


def check_fhir_resource(resource: object, validate_r4: bool) -> tuple[str, str]:
    """(resourceType, id) of an importable resource; DeidentifyError (no values) otherwise."""
    if not isinstance(resource, dict):
        raise DeidentifyError("INVALID_ARGUMENT", "not a JSON object")
    rtype, rid = resource.get("resourceType"), resource.get("id")
    if not isinstance(rtype, str) or not _FHIR_TYPE.fullmatch(rtype):
        raise DeidentifyError("INVALID_ARGUMENT", "resourceType is missing or not a resource type")
    if not isinstance(rid, str) or not _FHIR_ID.fullmatch(rid):
        from transforms.fhir import schema  # a type R4 does not know is data: not shown (issue 18)

        shown = rtype if schema.resource_model(rtype) else "resource"
        raise DeidentifyError("INVALID_ARGUMENT", f"{shown}.id is missing or not a FHIR id")
    if validate_r4:
        from transforms.fhir.validate import check_r4

        check_r4(resource)
    return rtype, rid


class _ReadFhirFile(_Counted):
    """A FHIR file, read by the FHIR store reader and named by its full path -> ``resource(raw)`` for each
    resource; what the reader gives instead of one -> error records."""

    def process(self, path: str) -> Iterable[Any]:
        for item in stores_fhir.read_resources(stores_fhir.SourceFile(path, path, None)):
            if isinstance(item, stores_fhir.ReadError):
                yield self.error(error_record(*item))
            else:
                yield from self.resource(item)

    def resource(self, item: stores_fhir.RawResource) -> Iterable[Any]:
        raise NotImplementedError


class ParseImportFile(_ReadFhirFile):
    """A source file -> ((type, id), ((file, index), name, line)) for each importable resource; error records."""

    def __init__(self, validate_r4: bool, label: str):
        super().__init__(label)
        self._validate = validate_r4

    def resource(self, item: stores_fhir.RawResource) -> Iterable[Any]:
        try:
            try:
                resource = loads(item.data)
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise DeidentifyError("INVALID_ARGUMENT", "not valid JSON") from None
            rtype, rid = check_fhir_resource(resource, self._validate)
            line = stores_fhir.ndjson_line(item)
        except Exception as err:  # noqa: BLE001
            yield self.error(error_from_exception(item.name, err))
            return
        yield (rtype, rid), ((item.file, item.index), item.name, line)


class FirstWins(_Counted):
    """((type, id), copies) -> (type, (id, line)) of the first copy by source location; the others ALREADY_EXISTS."""

    def process(self, element) -> Iterable[Any]:
        (rtype, rid), found = element
        (_, _, line), *losers = sorted(found, key=lambda item: item[0])
        yield from self.duplicates((name for _, name, _ in losers),
                                   f"duplicate {rtype} id: an earlier source line holds the same id")
        yield rtype, (rid, line)


class MergeType(_Counted):
    """(type, [(id, line)]) -> merged into the store (``stores.fhir.import_type``); yields the type."""

    def process(self, element) -> Iterable[Any]:
        rtype, items = element
        lines = dict(items)
        try:
            stores_fhir.import_type(self._target, rtype, lines)
        except Exception as err:  # noqa: BLE001
            yield self.error(error_from_exception(store_root.join(self._target, rtype), err), len(lines))
            return
        self._ok.inc(len(lines))
        yield rtype


class ImportFhir(_StoreTransform):
    """Source NDJSON/JSON files (a pattern) -> checked resources merged into ``store`` by type and id."""

    LABEL = "import"

    def __init__(self, pattern: str, store: str, validate_r4: bool = True, label: str | None = None):
        super().__init__(pattern, store, label)
        self._validate = validate_r4

    def expand(self, pbegin):
        return self.stages(pbegin, self._source, ("Parse", ParseImportFile(self._validate, self._label)),
                           ("By type and id", "First wins", FirstWins(self._label)),
                           ("By type", "Merge into store", MergeType(self._label, self._target)))


class ReadStoreFile(_ReadFhirFile):
    """A store file -> (type, (id, line)) for each resource, bytes kept; what is not a resource -> error records."""

    def resource(self, item: stores_fhir.RawResource) -> Iterable[Any]:
        try:
            resource = stores_fhir.head(item.data)
        except ValueError:
            yield self.error(error_record(item.name, "INVALID_ARGUMENT", "not valid JSON"))
            return
        if not isinstance(resource.get("resourceType"), str):
            yield self.error(error_record(item.name, "INVALID_ARGUMENT", "not a FHIR resource"))
            return
        yield resource["resourceType"], (str(resource.get("id")), stores_fhir.ndjson_line(item))


class WriteType(_Counted):
    """(type, [(id, line)]) -> ``<destination>/<Type>.ndjson``, sorted by id."""

    def process(self, element) -> Iterable[Any]:
        rtype, items = element
        items = sorted(items)
        try:
            stores_fhir.write_file(store_root.join(self._target, f"{rtype}.ndjson"), [line for _, line in items])
        except Exception as err:  # noqa: BLE001
            yield self.error(error_from_exception(rtype, err), len(items))
            return
        self._ok.inc(len(items))
        yield rtype


class ExportFhir(_StoreTransform):
    """Every resource of the store to ``<destination>/<Type>.ndjson``, sorted by id."""

    LABEL = "export"

    def expand(self, pbegin):
        return self.stages(pbegin, self._source.rstrip("/") + "/**", ("Read", ReadStoreFile(self._label)),
                           ("By type", "Write types", WriteType(self._label, self._target)))

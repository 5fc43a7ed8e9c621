"""The verify pipeline: collect identifiers from source stores, search destination stores and run records for them.

```
source files -> Reshuffle -> collect identifiers -> Distinct ----------------------.  (side input)
destination files -> Reshuffle -> scan (instance / NDJSON file / run record) <------'
  -> findings (category, source field, store, resource, location; never a value) -> findings-*.ndjson
```
One branch pair per store pair; adding a store kind is one collector and one scanner in ``KINDS``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.fileio import EmptyMatchTreatment
from apache_beam.metrics import Metrics

from pipelines.stores import fhir as stores_fhir
from pipelines.stores import store_root
from transforms.beam import NAMESPACE
from transforms.crypto import Keys
from transforms.verify.identifiers import Unreadable, dicom_source_identifiers, fhir_identifiers
from transforms.verify.matcher import IdentifierMatcher
from transforms.verify.scan import scan_dicom_instance, scan_fhir_line, scan_record


def scanned_counter(label: str) -> str:
    return f"verify/scanned/{label}"


def findings_counter(label: str) -> str:
    return f"verify/findings/{label}"


def unreadable_counter(label: str) -> str:
    return f"verify/unreadable/{label}"


def _fhir_source_identifiers(path: str, data: bytes, keys: Optional[Keys]):
    """Every resource of a source file as the de-identify read gives it (NDJSON, gzip, Bundle entries)."""
    for item in stores_fhir.resources_of_bytes(path, data):
        resource = None
        if isinstance(item, stores_fhir.RawResource):  # anything else is the reader's error for an unreadable part
            try:
                resource = json.loads(item.data)
            except ValueError:
                pass
        if not isinstance(resource, dict):
            yield Unreadable("line")  # counted: a part verify could not read is never taken as clean
            continue
        yield from fhir_identifiers(resource, keys)


def _fhir_scan_file(data: bytes, matcher: IdentifierMatcher, resource: str):
    for number, line in enumerate(data.splitlines(), 1):
        yield from scan_fhir_line(line, matcher, f"{resource} line {number}")


def _fhir_elements(data: bytes) -> int:
    return sum(1 for line in data.splitlines() if line.strip())


@dataclass(frozen=True)
class StoreKind:
    """How one kind of store is verified: collect from a source file, scan a destination file."""

    collect: Callable[[str, bytes, Optional[Keys]], Iterable]  # (path, its bytes, keys)
    scan: Callable[[bytes, IdentifierMatcher, str], Iterable]
    elements: Callable[[bytes], int]  # elements (instances, resources) in one file


KINDS = {
    "dicomStores": StoreKind(lambda path, data, keys: dicom_source_identifiers(data, keys), scan_dicom_instance,
                             lambda data: 1),
    "fhirStores": StoreKind(_fhir_source_identifiers, _fhir_scan_file, _fhir_elements),
}


@dataclass(frozen=True)
class VerifyPair:
    """One source store and the destination store made from it."""

    kind: str  # dicomStores | fhirStores
    source: str  # resource names
    destination: str
    source_path: str  # folders
    destination_path: str
    label: str


def _is_record_file(path: str, root: str, exclude: str) -> bool:
    parts = store_root.relative(path, root).replace("\\", "/").split("/")
    if exclude and path.startswith(exclude.rstrip("/") + "/"):
        return False
    return store_root.META_DIR in parts[:-1] and not store_root.is_temp_leftover(path) and "/progress/" not in path


class MatchStoreFiles(beam.PTransform):
    """Paths below a folder: data files, or (``records=True``) the run records under ``.deidflow``."""

    def __init__(self, folder: str, records: bool = False, exclude: str = ""):
        super().__init__()
        self._folder, self._records, self._exclude = folder, records, exclude

    def expand(self, pbegin):
        folder, exclude = self._folder, self._exclude
        if self._records:
            keep = lambda p: _is_record_file(p, folder, exclude)  # noqa: E731
        else:
            keep = lambda p: store_root.is_store_data(p, folder)  # noqa: E731
        return (
            pbegin
            | "Match" >> fileio.MatchFiles(folder.rstrip("/") + "/**", empty_match_treatment=EmptyMatchTreatment.ALLOW)
            | "Paths" >> beam.Map(lambda metadata: metadata.path)
            | "Keep" >> beam.Filter(keep)
        )


class CollectIdentifiers(beam.DoFn):
    """Source file -> its identifiers (plain tuples; they stay in the pipeline, never in an output)."""

    def __init__(self, kind: str, keys: Optional[Keys], read: Callable[[str], bytes], label: str = ""):
        self._kind, self._keys, self._read, self._label = kind, keys, read, label

    def setup(self) -> None:
        self._unreadable = Metrics.counter(NAMESPACE, unreadable_counter(self._label))

    def process(self, path: str):
        try:
            data = self._read(path)
        except Exception:  # noqa: BLE001 - an unreadable source file: counted, never taken as clean
            self._unreadable.inc()
            return
        for identifier in KINDS[self._kind].collect(path, data, self._keys):
            if isinstance(identifier, Unreadable):
                self._unreadable.inc()
                continue
            yield tuple(identifier)


class CountIdentifiers(beam.DoFn):
    """Pass identifiers through, counting them (the report shows how many values were searched for)."""

    def setup(self) -> None:
        self._count = Metrics.counter(NAMESPACE, "verify/identifiers")

    def process(self, identifier):
        self._count.inc()
        yield identifier


class ScanFiles(beam.DoFn):
    """Destination file -> findings; the matcher is built once per worker from the identifier side input."""

    def __init__(self, kind: str, store: str, root: str, read: Callable[[str], bytes], label: str):
        self._kind, self._store, self._root, self._read, self._label = kind, store, root, read, label
        self._matcher: Optional[IdentifierMatcher] = None
        self._built_from: Optional[int] = None

    def setup(self) -> None:
        self._scanned = Metrics.counter(NAMESPACE, scanned_counter(self._label))
        self._found = Metrics.counter(NAMESPACE, findings_counter(self._label))

    def _matcher_for(self, identifiers) -> IdentifierMatcher:
        if self._matcher is None or self._built_from != id(identifiers):
            self._matcher = IdentifierMatcher(identifiers)
            self._built_from = id(identifiers)
        return self._matcher

    def process(self, path: str, identifiers):
        matcher = self._matcher_for(identifiers)
        resource = store_root.relative(path, self._root).replace("\\", "/")
        try:
            data = self._read(path)
        except Exception as err:  # noqa: BLE001
            yield {"store": self._store, "resource": resource, "category": "UNREADABLE",
                   "origin": "", "location": f"the file cannot be read ({type(err).__name__})"}
            return
        if self._kind == "records":
            findings = scan_record(data, matcher, resource)
            self._scanned.inc()
        else:
            findings = KINDS[self._kind].scan(data, matcher, resource)
            self._scanned.inc(KINDS[self._kind].elements(data))
        for finding in findings:
            self._found.inc()
            record = finding.to_json()
            if self._kind != "dicomStores":
                record["resource"] = f"{resource}: {finding.resource}" if finding.resource != resource else resource
            record["store"] = self._store
            yield record


def add_verify_branches(pipeline, pairs: list[VerifyPair], run_dir: str, keys: Optional[Keys],
                        read: Callable[[str], bytes] = store_root.read_bytes):
    """Add collection, scanning and the findings sink for every store pair; returns the findings."""
    collected = []
    for pair in pairs:
        collected.append(
            pipeline
            | f"Source files {pair.label}" >> MatchStoreFiles(pair.source_path)
            | f"Spread sources {pair.label}" >> beam.Reshuffle()
            | f"Collect identifiers {pair.label}" >> beam.ParDo(CollectIdentifiers(pair.kind, keys, read, pair.label))
        )
    identifiers = (
        collected | "All identifiers" >> beam.Flatten()
        | "Distinct identifiers" >> beam.Distinct()
        | "Count identifiers" >> beam.ParDo(CountIdentifiers())
    )
    side = beam.pvalue.AsList(identifiers)
    findings = []
    for pair in pairs:
        for kind, records in ((pair.kind, False), ("records", True)):
            name = f"{pair.label} {'run records' if records else 'data'}"
            findings.append(
                pipeline
                | f"Destination {name}" >> MatchStoreFiles(pair.destination_path, records, exclude=run_dir)
                | f"Spread {name}" >> beam.Reshuffle()
                | f"Scan {name}" >> beam.ParDo(
                    ScanFiles(kind, pair.destination, pair.destination_path, read,
                              pair.label if not records else f"{pair.label}-records"), side)
            )
    merged = findings | "All findings" >> beam.Flatten()
    (merged
     | "Findings to JSON" >> beam.Map(lambda record: json.dumps(record, sort_keys=True))
     | "Write findings" >> beam.io.WriteToText(run_dir.rstrip("/") + "/findings", file_name_suffix=".ndjson"))
    return merged


def read_findings(run_dir: str) -> list[dict]:
    out = []
    for path in store_root.list_files(run_dir, skip_meta=False):
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        if name.startswith("findings") and name.endswith(".ndjson"):
            out += [json.loads(line) for line in store_root.read_bytes(path).splitlines() if line.strip()]
    return sorted(out, key=lambda f: (f["store"], f["resource"], f["location"], f["category"]))

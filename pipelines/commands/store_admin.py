"""Store management mirroring `gcloud healthcare`: datasets create|describe|list|delete and, for dicom-stores and
fhir-stores, create|list|describe|import|export.

A dataset is a folder under the store root with ``.deidflow/dataset.json``; a store is a folder with
``.deidflow/store.json`` (type, FHIR version, createTime). ``import`` and ``export`` are Beam pipelines (they run on
Dataflow unchanged) that leave a run record like a de-identification run: ``summary.json`` and ``errors*.ndjson``
under ``<store>/.deidflow/runs/<run-id>/``.

Layouts: a DICOM store holds ``<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm``; ``import`` reads any tree of DICOM
Part-10 files, validates each header and writes it unchanged at its layout path (several files with one
SOPInstanceUID: the first by source path wins, the others are ALREADY_EXISTS errors). A FHIR store holds one
``<ResourceType>.ndjson`` per type, sorted by id; ``import`` reads ``*.ndjson`` (one resource a line) and ``*.json``
(one resource or a Bundle, whose entries' resources are imported), validates each resource (R4 stores: against the
R4 models) and merges it into the store by type and id, replacing a resource with the same id, as the API's import
does. ``export`` writes a DICOM store as a plain folder in the same layout and a FHIR store as one
``<ResourceType>.ndjson`` per type.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from pipelines.commands import EXIT_OK, EXIT_PARTIAL, UsageError, beam_options
from transforms.errors import LaunchError

FHIR_VERSIONS = ("DSTU2", "STU3", "R4", "R5")
IMPORT_METHODS = {
    "dicomStores": (
        "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData",
        "type.googleapis.com/google.cloud.healthcare.v1.dicom.ImportDicomDataResponse",
    ),
    "fhirStores": (
        "google.cloud.healthcare.v1.fhir.FhirStoreService.ImportResources",
        "type.googleapis.com/google.cloud.healthcare.v1.fhir.ImportResourcesResponse",
    ),
}
EXPORT_METHODS = {
    "dicomStores": (
        "google.cloud.healthcare.v1.dicom.DicomService.ExportDicomData",
        "type.googleapis.com/google.cloud.healthcare.v1.dicom.ExportDicomDataResponse",
    ),
    "fhirStores": (
        "google.cloud.healthcare.v1.fhir.FhirStoreService.ExportResources",
        "type.googleapis.com/google.cloud.healthcare.v1.fhir.ExportResourcesResponse",
    ),
}
GROUP_KINDS = {"dicom-stores": "dicomStores", "fhir-stores": "fhirStores"}
_SAFE_UID = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_FHIR_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")


def _root_arg(parser) -> None:
    parser.add_argument(
        "--store-root",
        "--store_root",
        dest="store_root",
        default="./stores",
        help="Where stores live: a local folder or gs://bucket/prefix. Default: ./stores.",
    )


def register(groups) -> None:
    ds = groups["datasets"]
    p = ds.add_parser("create", help="Create an empty dataset.")
    p.add_argument("dataset", metavar="DATASET", help="projects/P/locations/L/datasets/D")
    _root_arg(p)
    p.set_defaults(handler=run_dataset_create)
    p = ds.add_parser("describe", help="Print a dataset's metadata and its stores with their counts.")
    p.add_argument("dataset", metavar="DATASET", help="projects/P/locations/L/datasets/D")
    _root_arg(p)
    p.set_defaults(handler=run_dataset_describe)
    p = ds.add_parser("list", help="List the datasets under the store root (of one project/location if given).")
    p.add_argument("parent", metavar="PARENT", nargs="?", default=None, help="projects/P/locations/L (optional)")
    _root_arg(p)
    p.set_defaults(handler=run_dataset_list)
    p = ds.add_parser("delete", help="Delete a dataset and every store in it.")
    p.add_argument("dataset", metavar="DATASET", help="projects/P/locations/L/datasets/D")
    p.add_argument("--quiet", "-q", action="store_true", help="Do not ask for confirmation.")
    _root_arg(p)
    p.set_defaults(handler=run_dataset_delete)

    for group, kind in GROUP_KINDS.items():
        sub = groups[group]
        what = "DICOM" if kind == "dicomStores" else "FHIR"
        p = sub.add_parser("create", help=f"Create an empty {what} store in an existing dataset.")
        p.add_argument("store", metavar="STORE", help=f"projects/P/locations/L/datasets/D/{kind}/S")
        if kind == "fhirStores":
            p.add_argument("--version", choices=FHIR_VERSIONS, default="R4", help="FHIR version (default R4).")
        _root_arg(p)
        p.set_defaults(handler=run_store_create, store_kind=kind)
        p = sub.add_parser("list", help=f"List the {what} stores of a dataset.")
        p.add_argument("--dataset", required=True, help="projects/P/locations/L/datasets/D")
        _root_arg(p)
        p.set_defaults(handler=run_store_list, store_kind=kind)
        p = sub.add_parser("describe", help=f"Print a {what} store's metadata with its counts.")
        p.add_argument("store", metavar="STORE", help=f"projects/P/locations/L/datasets/D/{kind}/S")
        _root_arg(p)
        p.set_defaults(handler=run_store_describe, store_kind=kind)
        p = sub.add_parser(
            "import",
            help=f"Import a folder or gs:// prefix of {what} files into an existing store (a Beam pipeline).",
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("store", metavar="STORE", help=f"projects/P/locations/L/datasets/D/{kind}/S")
        p.add_argument(
            "--gcs-uri",
            "--gcs_uri",
            "--source",
            dest="source",
            required=True,
            help="A local folder or gs:// prefix (every file below it), or a glob such as gs://b/dir/**.dcm",
        )
        _root_arg(p)
        p.set_defaults(handler=run_store_import, store_kind=kind)
        p = sub.add_parser("export", help=f"Export a {what} store to a plain local folder or gs:// prefix.")
        p.add_argument("store", metavar="STORE", help=f"projects/P/locations/L/datasets/D/{kind}/S")
        p.add_argument(
            "--gcs-uri-prefix",
            "--gcs_uri_prefix",
            "--gcs-uri",
            "--destination",
            dest="destination",
            required=True,
            help="A local folder or gs://bucket/prefix to write to.",
        )
        _root_arg(p)
        p.set_defaults(handler=run_store_export, store_kind=kind)


# --- shared --------------------------------------------------------------------------------------------


def _no_beam_args(beam_args: Sequence[str]) -> None:
    if beam_args:
        raise UsageError(f"unrecognized arguments: {' '.join(beam_args)}")


def _root(args) -> str:
    from pipelines.stores import store_root

    return store_root.normalize_root(args.store_root)


def _existing_dataset(root: str, text: str, argument: str):
    from pipelines import dataset
    from pipelines.launch import ResourceName

    name = ResourceName.parse(text, None, argument)
    if not dataset.dataset_exists(root, name):
        raise LaunchError(f"{argument}: dataset '{name.dataset_name}' does not exist under store root '{root}'")
    return name


def _existing_store(root: str, text: str, kind: str, argument: str = "STORE"):
    from pipelines.launch import STORE_KINDS, ResourceName, resource_path
    from pipelines.stores import store_root

    name = ResourceName.parse(text, kind, argument)
    path = resource_path(root, name)
    if not store_root.exists(path):
        raise LaunchError(f"{argument}: {STORE_KINDS[kind]} '{name}' does not exist under store root '{root}'")
    return name, path


def _print(obj) -> None:
    print(json.dumps(obj, indent=2, sort_keys=False))


def store_counts(path: str, kind: str) -> dict:
    """Instance, series and study counts of a DICOM store; resources per type of a FHIR store."""
    from pipelines.filters import uids_from_layout_path
    from pipelines.stores import store_root

    files = list(store_root.list_files(path))
    if kind == "dicomStores":
        studies, series = set(), set()
        for f in files:
            uids = uids_from_layout_path(store_root.relative(f, path))
            if uids:
                studies.add(uids[0])
                series.add(uids[:2])
        return {"instanceCount": str(len(files)), "seriesCount": str(len(series)), "studyCount": str(len(studies))}
    per_type: dict[str, int] = {}
    for f in files:
        if not f.endswith(".ndjson"):
            continue
        for line in store_root.read_bytes(f).splitlines():
            if line.strip():
                try:
                    rtype = str(json.loads(line).get("resourceType"))
                except (ValueError, AttributeError):
                    rtype = "(unparseable)"
                per_type[rtype] = per_type.get(rtype, 0) + 1
    return {
        "resourceCount": str(sum(per_type.values())),
        "resourceCounts": {k: str(v) for k, v in sorted(per_type.items())},
    }


def describe_store(root: str, name) -> dict:
    from pipelines import dataset
    from pipelines.launch import resource_path

    path = resource_path(root, name)
    out = {"name": name.name}
    out.update(dataset.store_meta(path))
    out.update(store_counts(path, name.kind))
    return out


# --- datasets ------------------------------------------------------------------------------------------


def run_dataset_create(args, beam_args: Sequence[str]) -> int:
    from pipelines import dataset
    from pipelines.launch import ResourceName

    _no_beam_args(beam_args)
    root = _root(args)
    name = ResourceName.parse(args.dataset, None, "DATASET")
    if dataset.dataset_exists(root, name):
        raise LaunchError(f"DATASET: ALREADY_EXISTS: dataset '{name.dataset_name}' already exists")
    dataset.create_dataset(root, name)
    print(f"Created dataset [{name.dataset}].")
    return EXIT_OK


def run_dataset_describe(args, beam_args: Sequence[str]) -> int:
    from pipelines import dataset
    from pipelines.stores import store_root

    _no_beam_args(beam_args)
    root = _root(args)
    name = _existing_dataset(root, args.dataset, "DATASET")
    meta_path = store_root.join(dataset.dataset_path(root, name), store_root.META_DIR, dataset.DATASET_META)
    out = {"name": name.dataset_name}
    if store_root.exists(meta_path):
        out["createTime"] = store_root.read_json(meta_path).get("createTime")
    out["stores"] = [describe_store(root, entry.name) for entry in dataset.list_stores(root, name)]
    _print(out)
    return EXIT_OK


def run_dataset_list(args, beam_args: Sequence[str]) -> int:
    from pipelines import dataset

    _no_beam_args(beam_args)
    root = _root(args)
    parent = (args.parent or "").strip("/")
    if parent and not re.fullmatch(r"projects/[A-Za-z0-9_.\-]+/locations/[A-Za-z0-9_.\-]+", parent):
        raise LaunchError("PARENT: expected projects/PROJECT/locations/LOCATION")
    names = []
    projects = [parent.split("/")[1]] if parent else dataset._child_folders(os.path.join(root, "projects"))
    for project in projects:
        base = os.path.join(root, "projects", project, "locations")
        locations = [parent.split("/")[3]] if parent else dataset._child_folders(base)
        for location in locations:
            for ds in dataset._child_folders(os.path.join(base, location, "datasets")):
                names.append(f"projects/{project}/locations/{location}/datasets/{ds}")
    for name in names:
        print(name)
    return EXIT_OK


def run_dataset_delete(args, beam_args: Sequence[str]) -> int:
    from pipelines import dataset
    from pipelines.stores import store_root

    _no_beam_args(beam_args)
    root = _root(args)
    name = _existing_dataset(root, args.dataset, "DATASET")
    if not args.quiet:
        if not sys.stdin.isatty():
            raise UsageError("deleting a dataset deletes every store in it; pass --quiet to confirm")
        answer = input(f"Delete dataset [{name.dataset_name}] and every store in it? (y/N) ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Aborted.")
            return EXIT_OK
    path = dataset.dataset_path(root, name)
    if store_root.is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        files = list(store_root.list_files(path, skip_meta=False))
        if files:
            FileSystems.delete(files)
    else:
        shutil.rmtree(path)
    print(f"Deleted dataset [{name.dataset}].")
    return EXIT_OK


# --- stores --------------------------------------------------------------------------------------------


def run_store_create(args, beam_args: Sequence[str]) -> int:
    from pipelines import launch
    from pipelines.stores import store_root

    _no_beam_args(beam_args)
    root = _root(args)
    kind = args.store_kind
    name = launch.ResourceName.parse(args.store, kind, "STORE")
    _existing_dataset(root, name.dataset_name, "STORE")
    path = launch.resource_path(root, name)
    if store_root.exists(path):
        raise LaunchError(f"STORE: ALREADY_EXISTS: {launch.STORE_KINDS[kind]} '{name}' already exists")
    launch.create_store(path, kind, {"version": args.version} if kind == "fhirStores" else None)
    print(f"Created {launch.STORE_KINDS[kind]} [{name.store}].")
    return EXIT_OK


def run_store_list(args, beam_args: Sequence[str]) -> int:
    from pipelines import dataset

    _no_beam_args(beam_args)
    root = _root(args)
    name = _existing_dataset(root, args.dataset, "--dataset")
    for entry in dataset.list_stores(root, name):
        if entry.kind == args.store_kind:
            print(entry.name.name)
    return EXIT_OK


def run_store_describe(args, beam_args: Sequence[str]) -> int:
    _no_beam_args(beam_args)
    root = _root(args)
    name, _ = _existing_store(root, args.store, args.store_kind)
    _print(describe_store(root, name))
    return EXIT_OK


def _run_operation(
    pipeline, methods: tuple[str, str], label: str, run_id: str, run_dir: str, create_time: str, details: dict
) -> int:
    """Run, then write and print an Operation-like summary, as run_and_record does for de-identification."""
    from pipelines import run_record
    from pipelines.stores import store_root

    result = pipeline.run()
    result.wait_until_finish()
    values = run_record.counters(result)
    success, failure = values.get(f"success/{label}", 0), values.get(f"failure/{label}", 0)
    summary = run_record.build_summary(
        "dicomStores",
        run_id,
        create_time,
        run_record.now(),
        success,
        failure,
        store_root.join(run_dir, "errors*.ndjson"),
        dict(details, runDir=run_dir),
    )
    summary["metadata"]["apiMethodName"], summary["response"]["@type"] = methods
    run_record.write_summary(run_dir, summary)
    _print(summary)
    return EXIT_PARTIAL if failure else EXIT_OK


def _source_pattern(source: str) -> str:
    from pipelines.stores import store_root

    if any(ch in source for ch in "*?["):
        return source
    if not store_root.is_remote(source):
        source = os.path.abspath(os.path.expanduser(source))
        if os.path.isfile(source):
            return source
    return source.rstrip("/") + "/**"


def run_store_import(args, beam_args: Sequence[str]) -> int:
    from pipelines import launch, run_record
    from pipelines.stores import store_root

    root = _root(args)
    kind = args.store_kind
    name, path = _existing_store(root, args.store, kind)
    pattern = _source_pattern(args.source)
    if not store_root.is_remote(args.source) and not os.path.exists(args.source):
        raise LaunchError(f"--gcs-uri: '{args.source}' does not exist")
    source_root = pattern[:-3] if pattern.endswith("/**") else os.path.dirname(pattern)
    if path.rstrip("/") == source_root.rstrip("/"):
        raise LaunchError("--gcs-uri: must differ from the store itself")
    from pipelines import dataset

    version = launch.fhir_version_of(dataset.store_meta(path)) or "R4"
    if kind == "fhirStores" and version == "R5":
        raise LaunchError("STORE: R5 FHIR stores are not supported")
    run_id = launch.new_run_id()
    run_dir = store_root.join(path, store_root.META_DIR, "runs", run_id)
    create_time = run_record.now()
    import apache_beam as beam

    pipeline = beam.Pipeline(options=beam_options(beam_args))
    if kind == "dicomStores":
        add_dicom_import(pipeline, pattern, path, run_dir, "import")
    else:
        add_fhir_import(pipeline, pattern, path, run_dir, "import", validate_r4=(version == "R4"))
    return _run_operation(
        pipeline,
        IMPORT_METHODS[kind],
        "import",
        run_id,
        run_dir,
        create_time,
        {"store": name.name, "source": args.source},
    )


def run_store_export(args, beam_args: Sequence[str]) -> int:
    from pipelines import launch, run_record
    from pipelines.stores import store_root

    root = _root(args)
    kind = args.store_kind
    name, path = _existing_store(root, args.store, kind)
    destination = args.destination
    if not store_root.is_remote(destination):
        destination = os.path.abspath(os.path.expanduser(destination))
        if destination == path or destination.startswith(path.rstrip("/") + os.sep):
            raise LaunchError("--gcs-uri-prefix: must be outside the store")
    run_id = launch.new_run_id()
    run_dir = store_root.join(path, store_root.META_DIR, "runs", run_id)
    create_time = run_record.now()
    import apache_beam as beam

    pipeline = beam.Pipeline(options=beam_options(beam_args))
    if kind == "dicomStores":
        add_dicom_export(pipeline, path, destination, run_dir, "export")
    else:
        add_fhir_export(pipeline, path, destination, run_dir, "export")
    return _run_operation(
        pipeline,
        EXPORT_METHODS[kind],
        "export",
        run_id,
        run_dir,
        create_time,
        {"store": name.name, "destination": args.destination},
    )


# --- import and export pipelines (Beam is imported when one is built, so the other commands start fast) ---------


def _counters(label: str):
    from apache_beam.metrics import Metrics

    from transforms.beam import NAMESPACE, failure_counter, success_counter

    return Metrics.counter(NAMESPACE, success_counter(label)), Metrics.counter(NAMESPACE, failure_counter(label))


def _match(pipeline, pattern: str, label: str):
    import apache_beam as beam
    from apache_beam.io import fileio
    from apache_beam.io.fileio import EmptyMatchTreatment

    from pipelines.stores import store_root

    marker = "/" + store_root.META_DIR + "/"
    return (
        pipeline
        | f"Match {label}" >> fileio.MatchFiles(pattern, empty_match_treatment=EmptyMatchTreatment.ALLOW)
        | f"Paths {label}" >> beam.Map(lambda metadata: metadata.path)
        | f"Skip records {label}"
        >> beam.Filter(lambda p: marker not in p.replace(os.sep, "/") and not os.path.basename(p).startswith(".tmp-"))
        | f"Spread {label}" >> beam.Reshuffle()
    )


def dicom_import_key(path: str, data: bytes) -> tuple[str, str]:
    """(SOPInstanceUID, layout path) of a DICOM Part-10 file; DeidentifyError when it is not one we can store."""
    import io

    import pydicom

    from transforms.errors import DeidentifyError

    try:
        ds = pydicom.dcmread(
            io.BytesIO(data),
            stop_before_pixels=True,
            specific_tags=["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"],
        )
    except Exception as err:  # noqa: BLE001 - the class only: messages may quote data
        raise DeidentifyError("INVALID_ARGUMENT", f"not a DICOM Part-10 file ({type(err).__name__})") from None
    uids = []
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        value = str(ds.get(keyword, "") or "").strip().rstrip("\x00")
        if not value:
            raise DeidentifyError("INVALID_ARGUMENT", f"{keyword} is missing")
        if len(value) > 64 or not _SAFE_UID.fullmatch(value):
            raise DeidentifyError("INVALID_ARGUMENT", f"{keyword} is not a valid UID")
        uids.append(value)
    return uids[2], f"{uids[0]}/{uids[1]}/{uids[2]}.dcm"


def add_dicom_import(pipeline, pattern: str, store: str, run_dir: str, label: str):
    """Source files -> validated instances at their layout path in the store; errors to the run folder."""
    import apache_beam as beam

    from pipelines.stores import store_root
    from transforms.beam import ERRORS, OK, WriteErrorRecords, error_from_exception, error_record

    class KeyInstance(beam.DoFn):
        def setup(self):
            self._ok, self._failed = _counters(label)

        def process(self, path) -> Iterable[Any]:
            try:
                sop, relative = dicom_import_key(path, store_root.read_bytes(path))
            except Exception as err:  # noqa: BLE001 - a bad file is an error record, never a failed job
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(path, err))
                return
            yield sop, (path, relative)

    class WriteInstance(beam.DoFn):
        def setup(self):
            self._ok, self._failed = _counters(label)

        def process(self, element) -> Iterable[Any]:
            _, found = element
            (winner, relative), *losers = sorted(found)
            for loser, _ in losers:
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(
                    ERRORS,
                    error_record(
                        loser, "ALREADY_EXISTS", "duplicate SOPInstanceUID (0008,0018): another source file holds it"
                    ),
                )
            try:
                store_root.write_bytes(store_root.join(store, *relative.split("/")), store_root.read_bytes(winner))
            except Exception as err:  # noqa: BLE001
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(winner, err))
                return
            self._ok.inc()
            yield relative

    keyed = _match(pipeline, pattern, label) | "Validate" >> beam.ParDo(KeyInstance()).with_outputs(ERRORS, main=OK)
    written = (
        keyed[OK]
        | "By SOPInstanceUID" >> beam.GroupByKey()
        | "Write" >> beam.ParDo(WriteInstance()).with_outputs(ERRORS, main=OK)
    )
    errors = (keyed[ERRORS], written[ERRORS]) | "All errors" >> beam.Flatten()
    errors | "Write errors" >> WriteErrorRecords(run_dir)
    return written


def fhir_resources_of_file(path: str, data: bytes) -> Iterable[tuple[str, object]]:
    """(location, resource dict or DeidentifyError) for every resource of an NDJSON or JSON (Bundle) file."""
    from transforms.errors import DeidentifyError

    def one(location: str, text: bytes):
        try:
            obj = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            return location, DeidentifyError("INVALID_ARGUMENT", "not valid JSON")
        return location, obj

    if path.endswith(".ndjson") or path.endswith(".jsonl"):
        for number, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                yield one(f"{path}:{number}", line)
        return
    location, obj = one(path, data)
    if isinstance(obj, dict) and obj.get("resourceType") == "Bundle" and isinstance(obj.get("entry"), list):
        for i, entry in enumerate(obj["entry"]):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if resource is None:
                yield (f"{path}#entry[{i}]", DeidentifyError("INVALID_ARGUMENT", "Bundle entry without a resource"))
            else:
                yield f"{path}#entry[{i}]", resource
        return
    yield location, obj


def check_fhir_resource(resource: object, validate_r4: bool) -> tuple[str, str]:
    """(resourceType, id) of an importable resource; DeidentifyError (no values) otherwise."""
    from transforms.errors import DeidentifyError

    if not isinstance(resource, dict):
        raise DeidentifyError("INVALID_ARGUMENT", "not a JSON object")
    rtype, rid = resource.get("resourceType"), resource.get("id")
    if not isinstance(rtype, str) or not _FHIR_TYPE.fullmatch(rtype):
        raise DeidentifyError("INVALID_ARGUMENT", "resourceType is missing or not a resource type")
    if not isinstance(rid, str) or not _FHIR_ID.fullmatch(rid):
        raise DeidentifyError("INVALID_ARGUMENT", f"{rtype}.id is missing or not a FHIR id")
    if validate_r4:
        from transforms.fhir.validate import check_r4

        check_r4(resource)
    return rtype, rid


def add_fhir_import(pipeline, pattern: str, store: str, run_dir: str, label: str, validate_r4: bool = True):
    """Source NDJSON/JSON files -> validated resources merged into ``<store>/<Type>.ndjson``; errors recorded."""
    import apache_beam as beam

    from pipelines.stores import store_root
    from transforms.beam import ERRORS, OK, WriteErrorRecords, error_from_exception, error_record
    from transforms.errors import DeidentifyError

    class ParseFile(beam.DoFn):
        def setup(self):
            self._ok, self._failed = _counters(label)

        def process(self, path) -> Iterable[Any]:
            try:
                data = store_root.read_bytes(path)
            except Exception as err:  # noqa: BLE001
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(path, err))
                return
            for location, resource in fhir_resources_of_file(path, data):
                try:
                    if isinstance(resource, DeidentifyError):
                        raise resource
                    rtype, rid = check_fhir_resource(resource, validate_r4)
                except Exception as err:  # noqa: BLE001
                    self._failed.inc()
                    yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(location, err))
                    continue
                line = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
                yield (rtype, rid), (location, line)

    class FirstWins(beam.DoFn):
        def setup(self):
            self._ok, self._failed = _counters(label)

        def process(self, element) -> Iterable[Any]:
            (rtype, rid), found = element
            (_, line), *losers = sorted(found, key=lambda item: _location_order(item[0]))
            for location, _ in losers:
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(
                    ERRORS,
                    error_record(
                        location, "ALREADY_EXISTS", f"duplicate {rtype} id: an earlier source line holds the same id"
                    ),
                )
            yield rtype, (rid, line)

    class MergeType(beam.DoFn):
        def setup(self):
            self._ok, self._failed = _counters(label)

        def process(self, element) -> Iterable[Any]:
            rtype, items = element
            target = store_root.join(store, f"{rtype}.ndjson")
            merged = {}
            if store_root.exists(target):
                for line in store_root.read_bytes(target).decode("utf-8").splitlines():
                    if line.strip():
                        merged[str(json.loads(line).get("id"))] = line
            items = list(items)
            for rid, line in items:
                merged[rid] = line
            try:
                body = "".join(merged[rid] + "\n" for rid in sorted(merged))
                store_root.write_bytes(target, body.encode("utf-8"))
            except Exception as err:  # noqa: BLE001
                for _ in items:
                    self._failed.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(target, err))
                return
            self._ok.inc(len(items))

    parsed = _match(pipeline, pattern, label) | "Parse" >> beam.ParDo(ParseFile()).with_outputs(ERRORS, main=OK)
    firsts = (
        parsed[OK]
        | "By type and id" >> beam.GroupByKey()
        | "First wins" >> beam.ParDo(FirstWins()).with_outputs(ERRORS, main=OK)
    )
    merged = (
        firsts[OK]
        | "By type" >> beam.GroupByKey()
        | "Merge into store" >> beam.ParDo(MergeType()).with_outputs(ERRORS, main=OK)
    )
    errors = (parsed[ERRORS], firsts[ERRORS], merged[ERRORS]) | "All errors" >> beam.Flatten()
    errors | "Write errors" >> WriteErrorRecords(run_dir)
    return merged


def _location_order(location: str) -> tuple:
    """Source order of ``path``, ``path:line`` and ``path#entry[i]`` locations (line numbers compared as numbers)."""
    match = re.fullmatch(r"(.*?)(?::(\d+)|#entry\[(\d+)\])?", location)
    path, line, entry = match.groups()
    return path, int(line or entry or 0)


def add_dicom_export(pipeline, store: str, destination: str, run_dir: str, label: str):
    """Every instance of the store copied to ``destination`` at the same relative path."""
    import apache_beam as beam

    from pipelines.stores import store_root
    from transforms.beam import ERRORS, OK, WriteErrorRecords, error_from_exception

    class Copy(beam.DoFn):
        def setup(self):
            self._ok, self._failed = _counters(label)

        def process(self, path) -> Iterable[Any]:
            relative = store_root.relative(path, store).replace(os.sep, "/")
            try:
                store_root.write_bytes(store_root.join(destination, *relative.split("/")), store_root.read_bytes(path))
            except Exception as err:  # noqa: BLE001
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(path, err))
                return
            self._ok.inc()

    copied = _match(pipeline, store.rstrip("/") + "/**", label) | "Copy" >> beam.ParDo(Copy()).with_outputs(
        ERRORS, main=OK
    )
    copied[ERRORS] | "Write errors" >> WriteErrorRecords(run_dir)
    return copied


def add_fhir_export(pipeline, store: str, destination: str, run_dir: str, label: str):
    """Every resource of the store written to ``<destination>/<Type>.ndjson``, sorted by id."""
    import apache_beam as beam

    from pipelines.stores import store_root
    from transforms.beam import ERRORS, OK, WriteErrorRecords, error_from_exception
    from transforms.errors import DeidentifyError

    class Read(beam.DoFn):
        def setup(self):
            self._ok, self._failed = _counters(label)

        def process(self, path) -> Iterable[Any]:
            if not path.endswith(".ndjson"):
                return
            for location, resource in fhir_resources_of_file(path, store_root.read_bytes(path)):
                if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                    err = (
                        resource
                        if isinstance(resource, DeidentifyError)
                        else DeidentifyError("INVALID_ARGUMENT", "not a FHIR resource")
                    )
                    self._failed.inc()
                    yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(location, err))
                    continue
                line = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
                yield resource["resourceType"], (str(resource.get("id")), line)

    class WriteType(beam.DoFn):
        def setup(self):
            self._ok, self._failed = _counters(label)

        def process(self, element) -> Iterable[Any]:
            rtype, items = element
            items = sorted(items)
            try:
                body = "".join(line + "\n" for _, line in items)
                store_root.write_bytes(store_root.join(destination, f"{rtype}.ndjson"), body.encode("utf-8"))
            except Exception as err:  # noqa: BLE001
                self._failed.inc(len(items))
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(rtype, err))
                return
            self._ok.inc(len(items))

    read = _match(pipeline, store.rstrip("/") + "/**", label) | "Read" >> beam.ParDo(Read()).with_outputs(
        ERRORS, main=OK
    )
    written = (
        read[OK]
        | "By type" >> beam.GroupByKey()
        | "Write types" >> beam.ParDo(WriteType()).with_outputs(ERRORS, main=OK)
    )
    (read[ERRORS], written[ERRORS]) | "All errors" >> beam.Flatten() | "Write errors" >> WriteErrorRecords(run_dir)
    return written

"""Store management mirroring `gcloud healthcare`: datasets create|describe|list|delete and, for dicom-stores and
fhir-stores, create|list|describe|import|export.

A dataset is a folder under the store root with ``.deidflow/dataset.json``; a store is a folder with
``.deidflow/store.json`` (type, FHIR version, createTime). ``import`` and ``export`` are Beam pipelines (they run on
Dataflow unchanged) that leave a run record like a de-identification run: ``summary.json`` and ``errors*.ndjson``
under ``<store>/.deidflow/runs/<run-id>/``.

Layouts: a DICOM store holds ``<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm``; a FHIR store holds shard sets
``<Type>-<tag>-SSSSS-of-NNNNN.ndjson`` (``pipelines.stores.fhir``), the layout de-identification writes, so an
import replaces a resource with the same id wherever it is. The import and export pipelines themselves are
``pipelines.import_export`` (ImportDicom, ImportFhir, ExportDicom, ExportFhir); this module is the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Sequence

from pipelines.commands import EXIT_OK, EXIT_PARTIAL, UsageError, beam_options
from transforms.errors import LaunchError

# Store kind -> the run_record.OPERATIONS kind of its import and export runs.
IMPORT_OPERATIONS = {"dicomStores": "importDicom", "fhirStores": "importFhir"}
EXPORT_OPERATIONS = {"dicomStores": "exportDicom", "fhirStores": "exportFhir"}
GROUP_KINDS = {"dicom-stores": "dicomStores", "fhir-stores": "fhirStores"}


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
            from pipelines.fhir.versions import CREATE_CHOICES, DEFAULT_VERSION

            p.add_argument("--version", choices=CREATE_CHOICES, default=DEFAULT_VERSION,
                           help=f"FHIR version (default {DEFAULT_VERSION}).")
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
    from pipelines.stores import store_root
    from pipelines.stores.dicom import uids_from_path

    if kind == "dicomStores":
        files = list(store_root.list_files(path))
        studies, series = set(), set()
        for f in files:
            uids = uids_from_path(store_root.relative(f, path))
            if uids:
                studies.add(uids[0])
                series.add(uids[:2])
        return {"instanceCount": str(len(files)), "seriesCount": str(len(series)), "studyCount": str(len(studies))}
    from pipelines.stores import fhir as stores_fhir

    per_type = stores_fhir.resource_counts(path)
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
    pipeline, operation: str, label: str, run_id: str, run_dir: str, create_time: str, details: dict
) -> int:
    """Run, then write and print an Operation-like summary (run_record.summarize), as de-identification does."""
    from pipelines import run_record

    result = pipeline.run()
    result.wait_until_finish()
    summary = run_record.summarize(operation, run_record.counters(result), run_id, create_time, run_dir, [label],
                                   details)
    run_record.write_summary(run_dir, summary)
    _print(summary)
    return EXIT_PARTIAL if run_record.failures(summary) else EXIT_OK


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

    from pipelines.fhir.versions import fhir_version

    version = fhir_version(launch.fhir_version_of(dataset.store_meta(path)))
    if kind == "fhirStores" and version.import_ == "rejected":
        raise LaunchError("STORE: R5 FHIR stores are not supported")
    run_id = launch.new_run_id()
    run_dir = store_root.join(path, store_root.META_DIR, "runs", run_id)
    create_time = run_record.now()
    import apache_beam as beam

    from pipelines.import_export import ImportDicom, ImportFhir
    from transforms.beam import WriteErrorRecords

    pipeline = beam.Pipeline(options=beam_options(beam_args))
    if kind == "dicomStores":
        result = pipeline | "Import" >> ImportDicom(pattern, path, "import")
    else:
        result = pipeline | "Import" >> ImportFhir(pattern, path, version.import_ == "validate", "import")
    result.errors | "Write errors" >> WriteErrorRecords(run_dir)
    return _run_operation(
        pipeline,
        IMPORT_OPERATIONS[kind],
        "import",
        run_id,
        run_dir,
        create_time,
        {"store": name.name, "source": run_record.shown_outside_path(args.source)},  # no absolute path
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

    from pipelines.import_export import ExportDicom, ExportFhir
    from transforms.beam import WriteErrorRecords

    pipeline = beam.Pipeline(options=beam_options(beam_args))
    export = ExportDicom if kind == "dicomStores" else ExportFhir
    result = pipeline | "Export" >> export(path, destination, "export")
    result.errors | "Write errors" >> WriteErrorRecords(run_dir)
    return _run_operation(
        pipeline,
        EXPORT_OPERATIONS[kind],
        "export",
        run_id,
        run_dir,
        create_time,
        {"store": name.name, "destination": run_record.shown_outside_path(args.destination)},
    )

"""The deidflow command: parses arguments, runs launch checks, builds and runs a pipeline, prints the summary.

Exit codes: 0 every element de-identified; 3 the run completed but some elements failed (they are in the error
records); 2 bad config or launch, nothing written; 1 unexpected crash.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Optional, Sequence

EXIT_OK, EXIT_CRASH, EXIT_BAD_LAUNCH, EXIT_PARTIAL = 0, 1, 2, 3

DEMO_DATASET = "projects/demo/locations/local/datasets/sample"
DEMO_SOURCE = f"{DEMO_DATASET}/dicomStores/source"
DEMO_DESTINATION = f"{DEMO_DATASET}/dicomStores/deidentified"

_EPILOG = """\
Resource names are the Cloud Healthcare API's: projects/P/locations/L/datasets/D[/dicomStores/S|/fhirStores/S].
They live under --store-root (default ./stores), a local folder or gs://bucket/prefix.
Any other option is passed to Apache Beam (--runner, --direct_num_workers, --direct_running_mode, --project,
--temp_location, ...). Exit codes: 0 all de-identified, 3 completed with failed elements (see the run's
errors*.ndjson), 2 bad config or launch (nothing written), 1 unexpected crash.
"""


def _store_deidentify_parser(sub, kind: str, noun: str) -> None:
    from pipelines.options import add_deidentify_arguments

    parser = sub.add_parser(
        "deidentify",
        help=f"De-identify a {noun} into another store of the same project and location.",
        description=f"De-identify every element of a {noun} into a destination store, as the Cloud Healthcare API's "
        f"{kind}.deidentify does.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source_store", metavar="SOURCE_STORE",
                        help=f"The source {noun}: projects/P/locations/L/datasets/D/{kind}/S")
    add_deidentify_arguments(parser)
    parser.set_defaults(handler=_run_store_deidentify, kind=kind)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deidflow",
        description="De-identification of DICOM and FHIR data as Apache Beam pipelines, configured like the Cloud "
        "Healthcare API's deidentify operations.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="Log Beam's progress (no data values are logged).")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    groups.required = True

    dicom = groups.add_parser("dicom-stores", help="DICOM store operations.")
    dicom_sub = dicom.add_subparsers(dest="command", metavar="COMMAND")
    dicom_sub.required = True
    _store_deidentify_parser(dicom_sub, "dicomStores", "DICOM store")

    sample = groups.add_parser("sample", help="Generate sample stores full of synthetic PHI.")
    sample_sub = sample.add_subparsers(dest="command", metavar="KIND")
    sample_sub.required = True
    sample_dicom = sample_sub.add_parser("dicom-store", help="Write a synthetic DICOM store (store-export layout).")
    sample_dicom.add_argument("store", metavar="STORE", help="projects/P/locations/L/datasets/D/dicomStores/S")
    sample_dicom.add_argument("--store-root", "--store_root", dest="store_root", default="./stores")
    sample_dicom.add_argument("--patients", type=int, default=3)
    sample_dicom.add_argument("--studies", type=int, default=1)
    sample_dicom.add_argument("--series", type=int, default=2)
    sample_dicom.add_argument("--instances", type=int, default=3, help="Instances per series.")
    sample_dicom.add_argument("--rows", type=int, default=64)
    sample_dicom.add_argument("--columns", type=int, default=64)
    sample_dicom.add_argument("--seed", type=int, default=0)
    sample_dicom.set_defaults(handler=_run_sample_dicom)

    demo = groups.add_parser(
        "demo",
        help="Generate a sample DICOM store and de-identify it with the DirectRunner (the README's first command).",
    )
    demo.add_argument("--store-root", "--store_root", dest="store_root", default="./stores")
    demo.set_defaults(handler=_run_demo)
    return parser


# --- handlers ---------------------------------------------------------------------------------------------


def _run_sample_dicom(args, beam_args: Sequence[str]) -> int:
    from pipelines.launch import ResourceName, create_store, resource_path
    from pipelines.stores import store_root
    from transforms.dicom.sample import sample_store_files

    if beam_args:
        raise _usage(f"unrecognized arguments: {' '.join(beam_args)}")
    name = ResourceName.parse(args.store, "dicomStores", "STORE")
    root = store_root.normalize_root(args.store_root)
    path = resource_path(root, name)
    dataset_path = resource_path(root, ResourceName(name.project, name.location, name.dataset))
    store_root.mkdirs(dataset_path)
    if not store_root.exists(path):
        create_store(path, "dicomStores")
    count = 0
    for relative, data in sample_store_files(args.patients, args.studies, args.series, args.instances,
                                             args.rows, args.columns, args.seed):
        store_root.write_bytes(store_root.join(path, *relative.split("/")), data)
        count += 1
    print(f"wrote {count} synthetic instances to {name} ({path})")
    return EXIT_OK


def _run_demo(args, beam_args: Sequence[str]) -> int:
    sample_args = argparse.Namespace(store=DEMO_SOURCE, store_root=args.store_root, patients=3, studies=1, series=2,
                                     instances=3, rows=64, columns=64, seed=0)
    _run_sample_dicom(sample_args, [])
    deid_args = argparse.Namespace(kind="dicomStores", source_store=DEMO_SOURCE, destination_store=DEMO_DESTINATION,
                                   destination_dataset=None, config_file=None, store_root=args.store_root,
                                   key_file=None, verbose=getattr(args, "verbose", False))
    return _run_store_deidentify(deid_args, list(beam_args))


def _beam_options(beam_args: Sequence[str]):
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    options = PipelineOptions(list(beam_args))
    options.view_as(StandardOptions)
    return options


def _run_store_deidentify(args, beam_args: Sequence[str]) -> int:
    import apache_beam as beam

    from pipelines import launch as launch_rules
    from pipelines import run_record
    from pipelines.dicom_store import add_dicom_store_branch
    from transforms.dicom.policy import compile_dicom_policy

    if args.destination_dataset:
        raise _usage("--destination-dataset is for 'datasets deidentify'; store-level runs take --destination-store")
    if not args.destination_store:
        raise _usage("--destination-store is required")
    options = _beam_options(beam_args)
    config = launch_rules.load_config(args.config_file)
    policy = compile_dicom_policy(config)
    plan = launch_rules.plan_store_deidentify(args.kind, args.source_store, args.destination_store, args.store_root,
                                              config, args.key_file)
    create_time = run_record.now()
    pipeline = beam.Pipeline(options=options)
    add_dicom_store_branch(pipeline, plan.source_path, plan.destination_path, plan.run_dir, policy, plan.keys)
    result = pipeline.run()
    result.wait_until_finish()
    values = run_record.counters(result)
    success = values.get("success/dicom", 0)
    failure = values.get("failure/dicom", 0)
    summary = run_record.build_summary(
        args.kind, plan.run_id, create_time, run_record.now(), success, failure,
        store_root_join(plan.run_dir, "errors*.ndjson"),
        {
            "source": plan.source.name,
            "destination": plan.destination.name,
            "destinationCreated": plan.created_destination,
            "storeRoot": plan.source_path[: -len(plan.source.name)].rstrip("/\\") or "/",
            "runDir": plan.run_dir,
            "keyFingerprint": plan.keys.fingerprint,
            "configDigest": run_record.config_digest(_config_text(args.config_file)),
            "profile": policy.profile,
        },
    )
    run_record.write_summary(plan.run_dir, summary)
    print(run_record.dumps(summary))
    return EXIT_PARTIAL if failure else EXIT_OK


def store_root_join(base: str, name: str) -> str:
    from pipelines.stores import store_root

    return store_root.join(base, name)


def _config_text(config_file: Optional[str]) -> str:
    if not config_file:
        return ""
    from pipelines.stores import store_root

    return store_root.read_bytes(config_file).decode("utf-8", "replace")


class _UsageError(Exception):
    pass


def _usage(message: str) -> _UsageError:
    return _UsageError(message)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from transforms.errors import ConfigError, LaunchError

    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        for noisy in ("apache_beam", "root"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        return args.handler(args, beam_args)
    except _UsageError as err:
        parser.print_usage(sys.stderr)
        print(f"deidflow: error: {err}", file=sys.stderr)
        return EXIT_BAD_LAUNCH
    except (ConfigError, LaunchError) as err:
        kind = "config" if isinstance(err, ConfigError) else "launch"
        print(f"deidflow: {kind} error: {err}", file=sys.stderr)
        print("nothing was written.", file=sys.stderr)
        return EXIT_BAD_LAUNCH
    except KeyboardInterrupt:
        print("deidflow: interrupted", file=sys.stderr)
        return EXIT_CRASH
    except Exception as err:  # noqa: BLE001 - the class is enough; messages may quote data
        logging.getLogger("deidflow").debug("crash", exc_info=True)
        print(f"deidflow: unexpected error ({type(err).__name__}); rerun with -v for details", file=sys.stderr)
        if os.environ.get("DEIDFLOW_DEBUG"):
            raise
        return EXIT_CRASH


if __name__ == "__main__":
    sys.exit(main())


"""`deidflow dicom-stores ...`: de-identify a DICOM store into another."""

from __future__ import annotations

import argparse
from typing import Sequence

from pipelines.commands import EPILOG, UsageError, beam_options, config_text, run_and_record


def register(groups) -> None:
    from pipelines.options import add_deidentify_arguments

    parser = groups["dicom-stores"].add_parser(
        "deidentify",
        help="De-identify a DICOM store into another store of the same project and location.",
        description="De-identify every instance of a DICOM store into a destination store, as the Cloud Healthcare "
        "API's dicomStores.deidentify does. Without --config-file: the PS3.15 Basic Profile, UIDs regenerated.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source_store", metavar="SOURCE_STORE", nargs="?", default=None,
                        help="The source DICOM store: projects/P/locations/L/datasets/D/dicomStores/S "
                        "(omit it with --source-dicomweb)")
    add_deidentify_arguments(parser)
    parser.set_defaults(handler=run_dicom_store_deidentify, kind="dicomStores")


def run_dicom_store_deidentify(args, beam_args: Sequence[str]) -> int:
    from pipelines import launch as launch_rules
    from pipelines import run_record
    from transforms.dicom.policy import compile_dicom_policy

    if getattr(args, "destination_dataset", None):
        raise UsageError("--destination-dataset is for 'datasets deidentify'; store-level runs take --destination-store")
    if getattr(args, "source_dicomweb", None) or getattr(args, "destination_dicomweb", None):
        return run_dicomweb_deidentify(args, beam_args)
    if not args.source_store:
        raise UsageError("SOURCE_STORE is required (or --source-dicomweb URL)")
    if not args.destination_store:
        raise UsageError("--destination-store is required")
    config = launch_rules.load_config(args.config_file)
    policy = compile_dicom_policy(config)
    from pipelines.filters import load_dicom_filter

    dicom_filter = load_dicom_filter(getattr(args, "dicom_filter_file", None))
    plan = launch_rules.plan_store_deidentify("dicomStores", args.source_store, args.destination_store,
                                              args.store_root, config, args.key_file,
                                              create_key_file=bool(getattr(args, "create_key_file", False)),
                                              dry_run=bool(getattr(args, "dry_run", False)))
    total = _source_total(args, plan)
    if getattr(args, "dry_run", False):  # issue 10: say what would happen, write nothing
        from pipelines.dry_run import report_dry_run, store_plan

        return report_dry_run("dicomStores", [store_plan(
            plan.source.name, plan.source_path, plan.destination.name, plan.destination_path,
            plan.created_destination, total)], plan.run_dir,
            {"keyFingerprint": plan.keys.fingerprint, "profile": policy.profile})
    import apache_beam as beam

    from pipelines.dicom_store import add_dicom_store_branch

    create_time = run_record.now()
    pipeline = beam.Pipeline(options=beam_options(beam_args))
    result = add_dicom_store_branch(pipeline, plan.source_path, plan.destination_path, plan.run_dir, policy,
                                    plan.keys, incremental=bool(getattr(args, "incremental", False)),
                                    dicom_filter=dicom_filter)
    from pipelines.progress import attach_progress

    attach_progress(result, plan.run_dir)
    return run_and_record(
        pipeline, kind="dicomStores", run_id=plan.run_id, run_dir=plan.run_dir, create_time=create_time,
        labels=["dicom"],
        details={
            "source": plan.source.name,
            "destination": plan.destination.name,
            "destinationCreated": plan.created_destination,
            "keyFingerprint": plan.keys.fingerprint,
            "configDigest": run_record.config_digest(config_text(args.config_file)),
            "profile": policy.profile,
            "incremental": bool(getattr(args, "incremental", False)),
        },
        total=total, quiet=bool(getattr(args, "quiet", False)), destination_path=plan.destination_path,
    )


def _source_total(args, plan):
    """Source instances, for the progress line's total and ETA and for --dry-run (None when quiet)."""
    if getattr(args, "quiet", False) and not getattr(args, "dry_run", False):
        return None
    from pipelines.dry_run import count_store_elements

    return count_store_elements(plan.source_path)


def run_dicomweb_deidentify(args, beam_args: Sequence[str]) -> int:
    """A store-level run with a DICOMweb server at either end (pipelines/stores/dicomweb.py)."""
    from pipelines import launch as launch_rules
    from pipelines import run_record
    from pipelines.filters import load_dicom_filter
    from pipelines.stores import dicomweb
    from transforms.dicom.policy import compile_dicom_policy

    if getattr(args, "incremental", False):
        raise UsageError("--incremental is not supported with --source-dicomweb / --destination-dicomweb")
    if args.source_dicomweb and args.source_store and not args.source_store.startswith("projects/"):
        # argparse gave a Beam option's value ("--direct_num_workers 2") to the optional SOURCE_STORE
        raise UsageError("with --source-dicomweb there is no SOURCE_STORE; give Beam options as --option=value")
    if args.dicomweb_batch_size < 1:
        raise UsageError("--dicomweb-batch-size must be at least 1")
    config = launch_rules.load_config(args.config_file)
    policy = compile_dicom_policy(config)
    dicom_filter = load_dicom_filter(getattr(args, "dicom_filter_file", None))
    plan = dicomweb.plan_dicomweb_deidentify(
        args.source_store, args.source_dicomweb, args.destination_store, args.destination_dicomweb,
        args.store_root, config, args.key_file, create_key_file=bool(getattr(args, "create_key_file", False)),
        batch_size=args.dicomweb_batch_size)
    import apache_beam as beam

    from pipelines.dicom_store import add_dicom_store_branch

    create_time = run_record.now()
    pipeline = beam.Pipeline(options=beam_options(beam_args))
    add_dicom_store_branch(pipeline, plan.source, plan.destination, plan.run_dir, policy, plan.keys,
                           dicom_filter=dicom_filter)
    return run_and_record(
        pipeline, kind="dicomStores", run_id=plan.run_id, run_dir=plan.run_dir, create_time=create_time,
        labels=["dicom"],
        details={
            "source": plan.source_name,
            "destination": plan.destination_name,
            "destinationCreated": plan.created_destination,
            "keyFingerprint": plan.keys.fingerprint,
            "configDigest": run_record.config_digest(config_text(args.config_file)),
            "profile": policy.profile,
        },
    )

"""`deidflow dicom-stores ...`: de-identify a DICOM store into another (store folders or DICOMweb servers)."""

from __future__ import annotations

import argparse
from typing import Sequence

from pipelines.commands import EPILOG, DeidentifyRun, StoreToRun, UsageError, deidentify, store_run_details


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
    add_deidentify_arguments(parser, "dicomStores")
    parser.set_defaults(handler=run_dicom_store_deidentify, kind="dicomStores")


def run_dicom_store_deidentify(args, beam_args: Sequence[str]) -> int:
    if getattr(args, "source_dicomweb", None):  # "--project p" after --source-dicomweb: p is --project's value
        from pipelines.options import reclaim_beam_value

        beam_args = reclaim_beam_value(args, beam_args)
    return deidentify(plan_dicom_store_run(args, beam_args), args, beam_args)


def plan_dicom_store_run(args, beam_args: Sequence[str]) -> DeidentifyRun:
    """Options -> config, policy, filter and the launch rules (pipelines/launch.py) -> the run to do."""
    from pipelines import launch, run_record
    from pipelines.filters import load_dicom_filter
    from pipelines.options import check_beam_args
    from transforms.dicom.policy import compile_dicom_policy

    check_beam_args("dicomStores", beam_args)
    source_url = getattr(args, "source_dicomweb", None)
    destination_url = getattr(args, "destination_dicomweb", None)
    dicomweb = bool(source_url or destination_url)
    batch_size = getattr(args, "dicomweb_batch_size", 20)
    incremental = bool(getattr(args, "incremental", False))
    if dicomweb:
        if incremental:
            raise UsageError("--incremental is not supported with --source-dicomweb / --destination-dicomweb")
        if source_url and args.source_store and not args.source_store.startswith("projects/"):
            # argparse gave a Beam option's value ("--direct_num_workers 2") to the optional SOURCE_STORE
            raise UsageError("with --source-dicomweb there is no SOURCE_STORE; give Beam options as --option=value")
        if batch_size < 1:
            raise UsageError("--dicomweb-batch-size must be at least 1")
    else:
        if not args.source_store:
            raise UsageError("SOURCE_STORE is required (or --source-dicomweb URL)")
        if not args.destination_store:
            raise UsageError("--destination-store is required")
    config = launch.load_config(args.config_file)
    policy = compile_dicom_policy(config)
    dicom_filter = load_dicom_filter(getattr(args, "dicom_filter_file", None))
    plan = launch.plan_store_deidentify(
        "dicomStores", args.source_store, args.destination_store, args.store_root, config, args.key_file,
        dry_run=bool(getattr(args, "dry_run", False)), create_key_file=bool(getattr(args, "create_key_file", False)),
        source_url=source_url, destination_url=destination_url, batch_size=batch_size,
        replace_destination=bool(getattr(args, "replace_destination", False)))

    def build(pipeline):
        from pipelines.dicom.branch import add_dicom_store_branch

        return [add_dicom_store_branch(pipeline, plan.source_path, plan.destination_path, plan.run_dir, policy,
                                       plan.keys, incremental=incremental, dicom_filter=dicom_filter)]

    details = {**store_run_details(plan, args.config_file), "profile": policy.profile,
               "profileEdition": policy.edition}
    if not dicomweb:
        details["incremental"] = incremental
    return DeidentifyRun(
        kind="dicomStores", run_id=plan.run_id, run_dir=plan.run_dir, create_time=run_record.now(),
        stores=[StoreToRun("dicomStores", plan.source, plan.source_path, plan.destination, plan.destination_path,
                           plan.created_destination)],
        build=build, labels=["dicom"], details=details,
        dry_run_details={"keyFingerprint": plan.keys.fingerprint, "profile": policy.profile,
                         "profileEdition": policy.edition},
        destination_path=plan.destination_path if isinstance(plan.destination_path, str) else None,
    )

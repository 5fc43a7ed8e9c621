"""`deidflow datasets deidentify`: every store of a dataset de-identified into a new dataset, in one pipeline."""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence

from pipelines.commands import EPILOG, DeidentifyRun, StoreToRun, UsageError, config_text, deidentify


def register(groups) -> None:
    from pipelines.options import add_deidentify_arguments

    parser = groups["datasets"].add_parser(
        "deidentify",
        help="De-identify every DICOM and FHIR store of a dataset into a new dataset (same project and location).",
        description="De-identify every store of a dataset into a new destination dataset, as the Cloud Healthcare "
        "API's datasets.deidentify does: the destination dataset must not exist; it gets one store per source "
        "store with the same ids; one pipeline, one key, so a patient has the same pseudonyms and date shift in "
        "every store. R5 FHIR stores are skipped. Store settings (FHIR version, ...) are copied; notification "
        "and stream settings are not. Config: JSON or protobuf text format, local or gs://.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "source_dataset", metavar="SOURCE_DATASET", help="The source dataset: projects/P/locations/L/datasets/D"
    )
    add_deidentify_arguments(parser, "datasets")
    parser.set_defaults(handler=run_dataset_deidentify, kind="datasets")


def _compile_policies(config, reference_date):
    def compile_policies(kinds: set) -> dict:
        policies = {}
        if "dicomStores" in kinds:
            from transforms.dicom.policy import compile_dicom_policy

            policies["dicomStores"] = compile_dicom_policy(config)
        if "fhirStores" in kinds:
            from transforms.fhir.policy import compile_fhir_policy

            policies["fhirStores"] = compile_fhir_policy(config, reference_date=reference_date)
        return policies

    return compile_policies


def run_dataset_deidentify(args, beam_args: Sequence[str]) -> int:
    return deidentify(plan_dataset_run(args, beam_args), args, beam_args)


def plan_dataset_run(args, beam_args: Sequence[str]) -> DeidentifyRun:
    """Options -> config, reference date, filters and the dataset launch rules -> the run to do."""
    from pipelines import dataset, filters, launch, run_record
    from pipelines.options import check_beam_args

    check_beam_args("datasets", beam_args)
    if not args.destination_dataset:
        raise UsageError("--destination-dataset is required")
    create_time = run_record.now()
    run_start = datetime.datetime.now(datetime.UTC)
    config = launch.load_config(args.config_file)
    from pipelines.commands.fhir_stores import parse_reference_date

    # One reference date for every FHIR store of the run, recorded so a rerun can be byte-identical.
    reference_date = parse_reference_date(getattr(args, "reference_date", None))
    dicom_filter = filters.load_dicom_filter(args.dicom_filter_file)
    fhir_filter = filters.fhir_filter_from_args(args, run_start)
    plan = dataset.plan_dataset_deidentify(
        args.source_dataset,
        args.destination_dataset,
        args.store_root,
        config,
        args.key_file,
        create_key_file=args.create_key_file,
        compile_policies=_compile_policies(config, reference_date),
        dry_run=bool(getattr(args, "dry_run", False)),
    )
    for name, reason in plan.skipped:
        print(f"notice: skipping {name}: {reason}", file=sys.stderr)
    if not plan.stores:
        print(f"notice: {plan.source.dataset_name} has no store to de-identify", file=sys.stderr)
    skipped = [{"name": name, "reason": reason} for name, reason in plan.skipped]

    def build(pipeline):
        dataset.add_dataset_branches(pipeline, plan, dicom_filter, fhir_filter,
                                     fhir_join=getattr(args, "patient_join", "side"))
        return []

    details = {
        "source": plan.source.dataset_name,
        "destination": plan.destination.dataset_name,
        "destinationStores": [s.destination.name for s in plan.stores],
        "skippedStores": skipped,
        "keyFingerprint": plan.keys.fingerprint,
        "configDigest": run_record.config_digest(config_text(args.config_file)),
        "referenceDate": reference_date.isoformat(),
    }
    if "dicomStores" in plan.policies:
        details["profile"] = plan.policies["dicomStores"].profile
        details["profileEdition"] = plan.policies["dicomStores"].edition
    if dicom_filter is not None:
        details["dicomFilterPaths"] = len(dicom_filter)
    return DeidentifyRun(
        kind="datasets", run_id=plan.run_id, run_dir=plan.run_dir, create_time=create_time,
        stores=[StoreToRun(s.kind, s.source.name, s.source_path, s.destination.name, s.destination_path, True)
                for s in plan.stores],
        build=build, labels=plan.labels, details=details,
        dry_run_details={"destinationDataset": f"{plan.destination.dataset_name} would be created",
                         "skippedStores": skipped, "keyFingerprint": plan.keys.fingerprint,
                         "referenceDate": reference_date.isoformat()},
        prepare=lambda: dataset.create_destination(args.store_root, plan),
        finish=lambda: dataset.mark_complete(args.store_root, plan),
        extra_run_dirs=[s.run_dir for s in plan.stores], destination_path=plan.destination_path,
    )

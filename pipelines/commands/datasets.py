"""`deidflow datasets deidentify`: every store of a dataset de-identified into a new dataset, in one pipeline."""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence

from pipelines.commands import EPILOG, UsageError, beam_options, config_text, run_and_record


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
    add_deidentify_arguments(parser)
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
    from pipelines import dataset, filters, launch, run_record

    if getattr(args, "destination_store", None):
        raise UsageError(
            "--destination-store is for store-level runs; 'datasets deidentify' takes --destination-dataset"
        )
    if not args.destination_dataset:
        raise UsageError("--destination-dataset is required")
    if getattr(args, "incremental", False):
        raise UsageError("--incremental: a dataset-level run always writes a new dataset; use it at store level")
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
    )
    for name, reason in plan.skipped:
        print(f"notice: skipping {name}: {reason}", file=sys.stderr)
    if not plan.stores:
        print(f"notice: {plan.source.dataset_name} has no store to de-identify", file=sys.stderr)
    from pipelines.dry_run import count_store_elements

    quiet = bool(getattr(args, "quiet", False))
    dry_run = bool(getattr(args, "dry_run", False))
    counts = {} if quiet and not dry_run else {s.label: count_store_elements(s.source_path, s.kind) for s in plan.stores}
    if dry_run:  # issue 10: say what would happen, write nothing
        from pipelines.dry_run import report_dry_run, store_plan

        return report_dry_run("datasets", [
            store_plan(s.source.name, s.source_path, s.destination.name, s.destination_path, True,
                       counts[s.label], s.kind) for s in plan.stores], plan.run_dir,
            {"destinationDataset": f"{plan.destination.dataset_name} would be created",
             "skippedStores": [{"name": name, "reason": reason} for name, reason in plan.skipped],
             "keyFingerprint": plan.keys.fingerprint, "referenceDate": reference_date.isoformat()})
    import apache_beam as beam

    pipeline = beam.Pipeline(options=beam_options(beam_args))
    labels = dataset.add_dataset_branches(pipeline, plan, dicom_filter, fhir_filter,
                                          fhir_join=getattr(args, "patient_join", "side"))
    dataset.create_destination(args.store_root, plan)
    details = {
        "source": plan.source.dataset_name,
        "destination": plan.destination.dataset_name,
        "destinationStores": [s.destination.name for s in plan.stores],
        "skippedStores": [{"name": name, "reason": reason} for name, reason in plan.skipped],
        "keyFingerprint": plan.keys.fingerprint,
        "configDigest": run_record.config_digest(config_text(args.config_file)),
        "referenceDate": reference_date.isoformat(),
    }
    if "dicomStores" in plan.policies:
        details["profile"] = plan.policies["dicomStores"].profile
    if dicom_filter is not None:
        details["dicomFilterPaths"] = len(dicom_filter)
    if not labels:
        # Nothing to run: still an empty destination dataset and a run record, as the API's operation would leave.
        pipeline = beam.Pipeline(options=beam_options(beam_args))
        _ = pipeline | "No stores" >> beam.Create([])
    return run_and_record(
        pipeline,
        kind="datasets",
        run_id=plan.run_id,
        run_dir=plan.run_dir,
        create_time=create_time,
        labels=labels,
        details=details,
        extra_run_dirs=[s.run_dir for s in plan.stores],
        total=sum(counts.values()) if counts else None,
        quiet=quiet,
        destination_path=plan.destination_path,
    )

"""`deidflow fhir-stores ...`: de-identify a FHIR store into another."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Sequence

from pipelines.commands import EPILOG, DeidentifyRun, StoreToRun, UsageError, deidentify, store_run_details


def register(groups) -> None:
    from pipelines.options import add_deidentify_arguments

    parser = groups["fhir-stores"].add_parser(
        "deidentify",
        help="De-identify a FHIR store into another store of the same project and location.",
        description="De-identify every resource of a FHIR store (NDJSON files, one or more per resource type, and "
        "transaction/collection Bundle JSON files) into a destination store, as the Cloud Healthcare API's "
        "fhirStores.deidentify does. Without --config-file: deidflow's HIPAA Safe Harbor default "
        "(transforms/fhir/default_config.json). Ids and references are rewritten consistently; each resource's "
        "dates shift with its Patient's (the same shift as the DICOM PatientID equal to its MRN). R5 stores are "
        "rejected.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source_store", metavar="SOURCE_STORE",
                        help="The source FHIR store: projects/P/locations/L/datasets/D/fhirStores/S")
    add_deidentify_arguments(parser, "fhirStores")
    parser.set_defaults(handler=run_fhir_store_deidentify, kind="fhirStores")


def parse_reference_date(text: str | None) -> datetime.date:
    if not text:
        return datetime.datetime.now(datetime.UTC).date()
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise UsageError("--reference-date: expected a date as YYYY-MM-DD") from None


def store_fhir_version(path: str) -> str | None:
    """The FHIR version a store declares in ``.deidflow/store.json``, if any."""
    from pipelines.dataset import store_meta
    from pipelines.launch import fhir_version_of

    return fhir_version_of(store_meta(path))


def check_fhir_versions(source: str, destination: str, root: str) -> None:
    """R5 stores are not supported (the API rejects them at store level); DSTU2/STU3 are not supported yet."""
    from pipelines import launch
    from pipelines.fhir.versions import deidentify_version_error
    from pipelines.stores import store_root
    from transforms.errors import LaunchError

    root = store_root.normalize_root(root)
    for argument, text in (("SOURCE_STORE", source), ("--destination-store", destination)):
        name = launch.ResourceName.parse(text, "fhirStores", argument)
        version = store_fhir_version(launch.resource_path(root, name))
        problem = deidentify_version_error(version)
        if problem:
            raise LaunchError(f"{argument}: FHIR store '{name}' {problem}")


def _resource_filter(args, run_start: datetime.datetime):
    if not any(getattr(args, name, None) for name in ("fhir_resources", "fhir_resources_file",
                                                         "skip_modified_resources")):
        return None
    from pipelines.filters import fhir_filter_from_args

    return fhir_filter_from_args(args, run_start)


def run_fhir_store_deidentify(args, beam_args: Sequence[str]) -> int:
    return deidentify(plan_fhir_store_run(args, beam_args), args, beam_args)


def plan_fhir_store_run(args, beam_args: Sequence[str]) -> DeidentifyRun:
    """Options -> config, versions, filter, policy and the launch rules -> the run to do."""
    from pipelines import launch as launch_rules
    from pipelines.options import check_beam_args
    from pipelines.stores import store_root

    check_beam_args("fhirStores", beam_args)
    if not args.destination_store:
        raise UsageError("--destination-store is required")
    run_start = datetime.datetime.now(datetime.UTC)
    create_time = run_start.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # as run_record.now()
    reference_date = parse_reference_date(getattr(args, "reference_date", None))
    config = launch_rules.load_config(args.config_file)
    check_fhir_versions(args.source_store, args.destination_store, args.store_root)
    resource_filter = _resource_filter(args, run_start)
    from transforms.fhir.policy import compile_fhir_policy

    policy = compile_fhir_policy(config, reference_date=reference_date)  # ConfigError before anything is written
    plan = launch_rules.plan_store_deidentify("fhirStores", args.source_store, args.destination_store,
                                              args.store_root, config, args.key_file,
                                              dry_run=bool(getattr(args, "dry_run", False)),
                                              create_key_file=bool(getattr(args, "create_key_file", False)),
                                              replace_destination=bool(getattr(args, "replace_destination", False)))
    incremental = bool(getattr(args, "incremental", False))
    join = getattr(args, "patient_join", "side")

    def build(pipeline):
        from pipelines.fhir.branch import add_fhir_store_branch

        return [add_fhir_store_branch(pipeline, plan.source_path, plan.destination_path, plan.run_dir, policy,
                                      plan.keys, resource_filter=resource_filter,
                                      validate=bool(getattr(args, "validate_r4", False)),
                                      incremental=incremental, join=join)]

    def record_version():
        if plan.created_destination:
            meta_path = store_root.join(plan.destination_path, store_root.META_DIR, store_root.STORE_META)
            meta = store_root.read_json(meta_path)
            meta[launch_rules.FHIR_VERSION_KEY] = "R4"
            store_root.write_json(meta_path, meta)

    details = {
        **store_run_details(plan, args.config_file),
        "fhirVersion": "R4",
        "referenceDate": reference_date.isoformat(),
        "defaultConfig": config is None,
        "incremental": incremental,
        "patientJoin": join,
    }
    return DeidentifyRun(
        kind="fhirStores", run_id=plan.run_id, run_dir=plan.run_dir, create_time=create_time,
        stores=[StoreToRun("fhirStores", plan.source, plan.source_path, plan.destination, plan.destination_path,
                           plan.created_destination)],
        build=build, labels=["fhir"], details=details,
        dry_run_details={"keyFingerprint": plan.keys.fingerprint, "referenceDate": reference_date.isoformat()},
        prepare=record_version, destination_path=plan.destination_path,
    )

"""DeidentifyOptions: deidflow's own pipeline parameters, defined once for the CLI and the Flex Template."""

from __future__ import annotations

DEFAULT_STORE_ROOT = "./stores"
IN_PROCESS_BELOW_MB = 2.0  # pipelines/runner_choice.py: the measurements behind it


# Every de-identify option, in the order --help and the Flex Template's metadata.json list them, with the group it
# belongs to; a command takes the groups COMMAND_GROUPS names, and refuses the others (check_beam_args).
_OPTIONS = [
    ("store", lambda parser: parser.add_argument(
        "--destination-store", "--destination_store", dest="destination_store", default=None,
        help="Store-level runs: the destination store, "
        "projects/P/locations/L/datasets/D/dicomStores/S (or .../fhirStores/S). Its dataset must exist; the "
        "store is created if missing and written into if present.",
    )),
    ("store", lambda parser: parser.add_argument(
        "--replace-destination", "--replace_destination", dest="replace_destination", action="store_true",
        default=False,
        help="Store-level runs: when the destination store is bound to another key (its .deidflow/key.json, "
        "written by its first run, records the key fingerprint) or holds data of an unrecorded one, delete that data "
        "first and bind it to this run's key instead of refusing to launch. Without it such a run is a launch "
        "error: two keys would leave two copies of every element. A DICOMweb destination: records the new key "
        "under the store root and deletes nothing on the server.",
    )),
    ("dataset", lambda parser: parser.add_argument(
        "--destination-dataset", "--destination_dataset", dest="destination_dataset", default=None,
        help="Dataset-level runs: the destination dataset, projects/P/locations/L/datasets/D. It must not exist.",
    )),
    ("common", lambda parser: parser.add_argument(
        "--config-file", "--config_file", dest="config_file", default=None,
        help="A Cloud Healthcare API DeidentifyConfig as JSON (local path or gs:// URI). Without it: the "
        "PS3.15 Basic Profile with UIDs regenerated for DICOM.",
    )),
    ("common", lambda parser: parser.add_argument(
        "--store-root", "--store_root", dest="store_root", default=DEFAULT_STORE_ROOT,
        help="Where stores live: a local folder or gs://bucket/prefix. A resource name is the path below it. "
        f"Default: {DEFAULT_STORE_ROOT}.",
    )),
    ("common", lambda parser: parser.add_argument(
        "--key-file", "--key_file", dest="key_file", default=None,
        help="A file holding the run key (base64, 128/192/256 bits). Same key, same pseudonyms across runs. "
        "Without it the config's cryptoKey is used, else a key is generated for this run only. "
        "The key is never logged or written to outputs.",
    )),
    ("fhir", lambda parser: parser.add_argument(
        "--reference-date", "--reference_date", dest="reference_date", default=None,
        help="FHIR runs: the day ages are counted at for Safe Harbor's 'ages over 89' rule (YYYY-MM-DD). "
        "Default: today (UTC) at launch; it is recorded in the run summary — pass it to rerun byte for byte.",
    )),
    ("fhir-store", lambda parser: parser.add_argument(
        "--validate-r4", "--validate_r4", dest="validate_r4", action="store_true", default=False,
        help="FHIR runs: validate every de-identified resource against the R4 models (fhir.resources R4B); an "
        "invalid one becomes an error record. Slow (about 3,500 resources/s a core).",
    )),
    ("fhir", lambda parser: parser.add_argument(
        "--patient-join", "--patient_join", dest="patient_join", choices=("side", "keyed"), default="side",
        help="FHIR runs: how each resource meets its Patient (date-shift key, context phrases). side (default): "
        "every worker holds a table of all Patients' join info, fastest; keyed: each patient's resources are "
        "grouped with its Patient (one more shuffle of every resource), for stores whose Patients do not fit in "
        "a worker's memory. The output is the same.",
    )),
    ("dicomweb", lambda parser: parser.add_argument(
        "--source-dicomweb", "--source_dicomweb", dest="source_dicomweb", default=None,
        help="DICOM runs: read the source from this DICOMweb base URL (QIDO-RS, WADO-RS) instead of SOURCE_STORE, "
        "e.g. http://pacs:8042/dicom-web or https://healthcare.googleapis.com/v1/projects/P/locations/L/datasets/D/"
        "dicomStores/S/dicomWeb (Application Default Credentials). --dicom-filter-file limits what is listed.",
    )),
    ("dicomweb", lambda parser: parser.add_argument(
        "--destination-dicomweb", "--destination_dicomweb", dest="destination_dicomweb", default=None,
        help="DICOM runs: store the de-identified instances with STOW-RS at this DICOMweb base URL instead of "
        "--destination-store. The run record then goes to <store root>/.deidflow/runs/<run id>/.",
    )),
    ("dicomweb", lambda parser: parser.add_argument(
        "--dicomweb-batch-size", "--dicomweb_batch_size", dest="dicomweb_batch_size", type=int, default=20,
        help="Instances per STOW-RS request (default 20). Failed requests are retried (connection errors, "
        "429, 5xx), then split so that one refused instance does not fail the others.",
    )),
    ("common", lambda parser: parser.add_argument(
        "--create-key-file", "--create_key_file", dest="create_key_file", action="store_true", default=False,
        help="With --key-file: if the key file does not exist, create it with a new random key (file mode 0600) "
        "and use it; an existing key file is used as is, never overwritten. For scheduled runs.",
    )),
    ("dicom", lambda parser: parser.add_argument(
        "--dicom-filter-file", "--dicom_filter_file", dest="dicom_filter_file", default=None,
        help="DICOM runs: only the instances listed in this file (local path or gs:// URI; the API's "
        "filterConfig.resourcePathsGcsUri). One path a line: /studies/S, /studies/S/series/R or "
        "/studies/S/series/R/instances/I. At dataset level it applies to every DICOM store.",
    )),
    ("fhir", lambda parser: parser.add_argument(
        "--fhir-resources", "--fhir_resources", dest="fhir_resources", default=None,
        help="FHIR runs: only these resources, comma-separated Type/id (the API's resourceFilter.resources).",
    )),
    ("fhir", lambda parser: parser.add_argument(
        "--fhir-resources-file", "--fhir_resources_file", dest="fhir_resources_file", default=None,
        help="FHIR runs: only the resources listed in this file (local or gs://), one Type/id a line.",
    )),
    ("fhir", lambda parser: parser.add_argument(
        "--skip-modified-resources", "--skip_modified_resources", dest="skip_modified_resources",
        action="store_true", default=False,
        help="FHIR runs: skip resources created or modified after the run started (meta.lastUpdated, else "
        "the file's modification time), as the API's skipModifiedResources.",
    )),
    ("incremental", lambda parser: parser.add_argument(
        "--incremental", dest="incremental", action="store_true", default=False,
        help="De-identify only source elements whose destination is not already there (destination names are "
        "keyed functions of the source UIDs, so use the same --key-file as the earlier runs). Skipped elements "
        "are counted in the run summary.",
    )),
    ("common", lambda parser: parser.add_argument(
        "--dry-run", "--dry_run", dest="dry_run", action="store_true", default=False,
        help="Validate the config and the launch rules, count the source elements, print what would be created "
        "and written where, and write nothing.",
    )),
    ("common", lambda parser: parser.add_argument(
        "--in-process-below", "--in_process_below", dest="in_process_below", type=float,
        default=IN_PROCESS_BELOW_MB, metavar="MB",
        help="Local runs given --direct_running_mode multi_processing: a source with less than this many MB of "
        "data (a local store root's files) runs in this process instead, without starting the workers (they cost "
        f"more than they save on it; pipelines/runner_choice.py). Default {IN_PROCESS_BELOW_MB:g}; 0 always starts "
        "the workers asked for.",
    )),
    ("common", lambda parser: parser.add_argument(
        "--quiet", dest="quiet", action="store_true", default=False,
        help="No progress display (a live line on a terminal, a log line every 30 s otherwise); the summary is "
        "still printed.",
    )),
]
COMMAND_GROUPS = {
    "dicomStores": {"common", "store", "dicom", "dicomweb", "incremental"},
    "fhirStores": {"common", "store", "fhir", "fhir-store", "incremental"},
    "datasets": {"common", "dataset", "dicom", "fhir"},
}
COMMAND_NAMES = {"dicomStores": "dicom-stores deidentify", "fhirStores": "fhir-stores deidentify",
                 "datasets": "datasets deidentify"}


def add_deidentify_arguments(parser, kind: str | None = None) -> None:
    """The one definition of deidflow's de-identify parameters: every group (DeidentifyOptions, Flex Template),
    or the groups of one command (``kind``: dicomStores, fhirStores, datasets)."""
    for group, add in _OPTIONS:
        if kind is None or group in COMMAND_GROUPS[kind]:
            add(parser)


def _option_strings(kind: str | None = None) -> set[str]:
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    add_deidentify_arguments(parser, kind)
    return {s for action in parser._actions for s in action.option_strings}


def _beam_parser():
    """An argument parser that knows every Beam pipeline option (deidflow's own left out)."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    parser = _BeamArgumentParser(allow_abbrev=False)
    seen = set()
    for cls in PipelineOptions.__subclasses__():
        if cls.__module__ != __name__ and cls not in seen:
            seen.add(cls)
            cls._add_argparse_args(parser)
    return parser


def check_beam_args(kind: str, beam_args) -> None:
    """The arguments a de-identify command did not take must all be Beam options: another command's option
    (``fhir-stores deidentify --dicom-filter-file``) or an unknown one is a usage error, never ignored."""
    from pipelines.commands import UsageError

    foreign = _option_strings() - _option_strings(kind)
    names = [arg.split("=", 1)[0] for arg in beam_args if arg.startswith("-")]
    for name in names:
        if name in foreign:
            raise UsageError(f"{name} is not an option of '{COMMAND_NAMES[kind]}'")
    _, unknown = _beam_parser().parse_known_args(list(beam_args))
    if unknown:
        raise UsageError(f"unrecognized arguments: {' '.join(unknown)} (neither a deidflow option of "
                         f"'{COMMAND_NAMES[kind]}' nor a Beam pipeline option)")


def beam_option_takes_value(option: str) -> bool:
    """Whether a Beam pipeline option (``--project``) takes a value, as Beam's parser defines it."""
    action = _beam_parser()._option_string_actions.get(option)
    return action is not None and action.nargs != 0


def reclaim_beam_value(args, beam_args, positional: str = "source_store") -> list:
    """argparse hands the first bare token after an unknown option to an empty optional positional: with
    ``--source-dicomweb URL --project p`` SOURCE_STORE became ``p`` and ``--project`` lost its value. Give the
    token back to the first Beam option left without a value, so ``--opt value`` works like ``--opt=value``."""
    value = getattr(args, positional, None)
    if not value or value.startswith("projects/"):
        return list(beam_args)
    beam_args = list(beam_args)
    for i, arg in enumerate(beam_args):
        bare = i + 1 == len(beam_args) or beam_args[i + 1].startswith("--")
        if arg.startswith("--") and "=" not in arg and bare and beam_option_takes_value(arg):
            setattr(args, positional, None)
            return [*beam_args[: i + 1], value, *beam_args[i + 1:]]
    return beam_args


def __getattr__(name: str):
    # DeidentifyOptions subclasses Beam's PipelineOptions; building it lazily keeps `deidflow --help` and launch
    # errors from paying for importing Beam.
    if name == "DeidentifyOptions":
        from apache_beam.options.pipeline_options import PipelineOptions

        class DeidentifyOptions(PipelineOptions):
            """Parameters of every de-identify command. Beam's own options (--runner, ...) pass through."""

            @classmethod
            def _add_argparse_args(cls, parser) -> None:
                add_deidentify_arguments(parser)

        globals()["DeidentifyOptions"] = DeidentifyOptions
        return DeidentifyOptions
    raise AttributeError(name)

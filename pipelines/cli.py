"""The deidflow command: parses arguments, runs launch checks, builds and runs a pipeline, prints the summary.

Exit codes: 0 every element de-identified; 3 the run completed but some elements failed (they are in the error
records); 2 bad config or launch, nothing written; 1 unexpected crash.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Optional, Sequence

from pipelines.commands import EPILOG, EXIT_BAD_LAUNCH, EXIT_CRASH, UsageError

# Command groups, in the order --help lists them, and the modules that add commands to them.
GROUPS = {
    "dicom-stores": "DICOM store operations (deidentify).",
    "fhir-stores": "FHIR store operations (deidentify).",
    "datasets": "Dataset operations (deidentify).",
    "sample": "Generate sample stores full of synthetic PHI.",
    "demo": "Generate a sample DICOM store and de-identify it with the DirectRunner (the README's first command).",
    "verify": "Search a de-identified store or dataset for its source's identifiers (exit 1 when any is found).",
    "runs": "Inspect the run records a destination keeps (counts, duration, config digest, key fingerprint).",
    "template": "Dataflow Flex Template support (metadata.json generated from the options).",
}
COMMAND_MODULES = [
    "pipelines.commands.verify",
    "pipelines.commands.dicom_stores",
    "pipelines.commands.sample",
    "pipelines.commands.fhir_stores", "pipelines.commands.sample_fhir",
    "pipelines.commands.datasets",
    "pipelines.commands.store_admin",
    "pipelines.commands.runs",
    "pipelines.commands.template",
]
LEAF_GROUPS = {"demo", "verify"}  # groups that are commands themselves


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deidflow",
        description="De-identification of DICOM and FHIR data as Apache Beam pipelines, configured like the Cloud "
        "Healthcare API's deidentify operations.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="Log Beam's progress (no data values are logged).")
    top = parser.add_subparsers(dest="group", metavar="COMMAND")
    top.required = True
    groups: dict = {}
    group_parsers: dict = {}
    for name, help_text in GROUPS.items():
        group_parser = top.add_parser(name, help=help_text, description=help_text)
        group_parsers[name] = group_parser
        if name in LEAF_GROUPS:
            groups[name] = group_parser
        else:
            sub = group_parser.add_subparsers(dest="command", metavar="COMMAND")
            sub.required = True
            groups[name] = sub
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(groups)
    for name, group_parser in group_parsers.items():  # hide groups no module has filled yet
        if name not in LEAF_GROUPS and not groups[name].choices:
            top._choices_actions = [a for a in top._choices_actions if a.dest != name]
            top.choices.pop(name)
    return parser


# Beam's I/O package imports its BigQuery, Pub/Sub and GCS modules (google-cloud-storage, apitools) whether or not
# a pipeline uses them: about a fifth of the CPU time of importing Beam. Absent modules are ImportErrors Beam's
# ``apache_beam.io`` and ``io.filesystems`` already expect (both guard these imports).
GCP_ONLY_MODULES = ("apache_beam.io.gcp.bigquery", "apache_beam.io.gcp.gcsio", "apache_beam.io.gcp.gcsfilesystem")
# Never used by deidflow (stores are local folders or gs://), imported by Beam when installed, guarded the same way:
# the S3 filesystem (boto3, ~0.3 s) and MongoDB I/O's bson/pymongo (~0.15 s). A command line is never inside
# IPython either, but Beam asks on every transform it applies, and the question imports IPython (~0.4 s).
NEVER_USED_MODULES = ("apache_beam.io.aws.s3filesystem", "bson", "IPython")


def hide_unused_gcp_modules(argv: Sequence[str]) -> bool:
    """On a command line naming no ``gs://`` path and no Dataflow, hide Beam's GCP I/O modules (before Beam is
    imported; a process that imported Beam already keeps them). Only for a command line's own process: the
    modules stay hidden for the life of the process. Its DirectRunner worker processes hide the same
    (local_worker.hidden_modules)."""
    if "apache_beam" in sys.modules or any("gs://" in arg or "dataflow" in arg.lower() for arg in argv):
        return False
    for module in GCP_ONLY_MODULES:
        sys.modules.setdefault(module, None)
    return True


def hide_never_used_modules() -> None:
    """Hide NEVER_USED_MODULES that are not imported yet (a command line's own process only)."""
    from pipelines.local_worker import hide

    hide(NEVER_USED_MODULES)


# The collector is off while a command launches. A launch allocates a few hundred thousand long-lived objects (Beam,
# pydicom's dictionary, the detectors, the policies, the graph) and almost no garbage (a few thousand unreachable
# objects by the time a dataset's pipeline runs), yet the collector's passes over them were about a tenth of a
# de-identify command's CPU time (0.2 s of 1.6 s for a DICOM store, 0.37 s of 2.8 s for a dataset). A de-identify
# command turns it back on when its pipeline runs (commands.run_and_record, after freezing the launch's objects);
# any other command as soon as it is parsed.
DEIDENTIFY_KINDS = ("dicomStores", "fhirStores", "datasets")


def main(argv: Optional[Sequence[str]] = None) -> int:
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    finally:
        if collecting:
            gc.enable()


def _main(argv: Optional[Sequence[str]]) -> int:
    import gc

    from transforms.errors import ConfigError, LaunchError

    hide_never_used_modules()
    if argv is None:  # the console script (a caller passing argv, e.g. a test, may need gs:// later)
        hide_unused_gcp_modules(sys.argv[1:])

    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    if getattr(args, "kind", None) not in DEIDENTIFY_KINDS:
        gc.enable()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        for noisy in ("apache_beam", "root"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    from pipelines import local_worker

    try:
        from pipelines.runner_choice import choose

        beam_args = choose(args, beam_args)  # before any worker starts: a small source runs in this process
        local_worker.start_for_command(args, beam_args)
        from pipelines.launch import require_runner_installed

        require_runner_installed(beam_args)
        return args.handler(args, beam_args)
    except UsageError as err:
        parser.print_usage(sys.stderr)
        print(f"deidflow: error: {err}", file=sys.stderr)
        return EXIT_BAD_LAUNCH
    except (ConfigError, LaunchError) as err:
        kind = "config" if isinstance(err, ConfigError) else "launch"
        from transforms.beam import redact_credentials

        print(f"deidflow: {kind} error: {redact_credentials(str(err))}", file=sys.stderr)
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
    finally:
        local_worker.stop_warm_workers()  # unclaimed: a launch error, or a runner that started fewer


if __name__ == "__main__":
    sys.exit(main())

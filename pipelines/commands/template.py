"""`deidflow template ...`: the Flex Template's metadata.json, generated from the one options definition, and the
launcher entry point that turns the template's ``--name=value`` parameters into a deidflow command."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.commands import EXIT_BAD_LAUNCH, EXIT_CRASH, EXIT_OK

TEMPLATE_NAME = "deidflow de-identify"
TEMPLATE_DESCRIPTION = (
    "De-identify a DICOM store, a FHIR store or a whole dataset kept under a gs:// store root, with a Cloud "
    "Healthcare API DeidentifyConfig, as datasets/dicomStores/fhirStores.deidentify do. Run records (summary and "
    "error records, no PHI) go to the destination's .deidflow/runs/<run-id>/."
)
METADATA_PATH = Path(__file__).resolve().parents[2] / "templates" / "metadata.json"

_ID = r"[A-Za-z0-9_.\-]+"
DATASET_REGEX = rf"^projects/{_ID}/locations/{_ID}/datasets/{_ID}$"
STORE_REGEX = rf"^projects/{_ID}/locations/{_ID}/datasets/{_ID}/(dicomStores|fhirStores)/{_ID}$"
SOURCE_REGEX = rf"^projects/{_ID}/locations/{_ID}/datasets/{_ID}(/(dicomStores|fhirStores)/{_ID})?$"
GCS_BUCKET = r"gs://[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9]"
GCS_FILE_REGEX = rf"^{GCS_BUCKET}/.+$"
GCS_FOLDER_REGEX = rf"^{GCS_BUCKET}(/.*)?$"
BOOLEAN_REGEX = r"^(true|false)$"
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}
_WORDS = {"dicom": "DICOM", "fhir": "FHIR", "id": "ID", "ids": "IDs", "uid": "UID", "uids": "UIDs", "gcs": "GCS"}
# On Dataflow the store root must be a gs:// prefix (./stores would be the launcher's own disk): required here.
TEMPLATE_REQUIRED = {"store_root"}
GROUP_OF_KIND = {"dicomStores": "dicom-stores", "fhirStores": "fhir-stores", None: "datasets"}


def add_template_arguments(parser) -> None:
    """Template-only parameters: the source, which the CLI takes as a positional argument."""
    parser.add_argument(
        "--source", dest="source", required=True,
        help="What to de-identify: a DICOM store, a FHIR store (projects/P/locations/L/datasets/D/dicomStores/S, "
        ".../fhirStores/S) or a whole dataset (projects/P/locations/L/datasets/D), under --store_root.",
    )


def template_parser() -> argparse.ArgumentParser:
    """Every parameter the Flex Template takes: the source, then the de-identify options (pipelines/options.py)."""
    from pipelines.options import add_deidentify_arguments

    parser = argparse.ArgumentParser(prog="deidflow-template", add_help=False, allow_abbrev=False)
    add_template_arguments(parser)
    add_deidentify_arguments(parser)
    return parser


def _label(dest: str) -> str:
    words = [_WORDS.get(word, word) for word in dest.split("_")]
    words[0] = words[0][0].upper() + words[0][1:]
    return " ".join(words)


def _is_flag(action: argparse.Action) -> bool:
    return isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))


def _kind_and_regexes(action: argparse.Action) -> tuple[str, list[str]]:
    """The parameter type and regexes, inferred from what the argument is (a flag, a choice, a number) or
    its name (resource names, files, folders), so options added later get sensible metadata unasked."""
    dest = action.dest
    if _is_flag(action):
        return "BOOLEAN", [BOOLEAN_REGEX]
    if action.choices:
        return "ENUM", ["^(" + "|".join(re.escape(str(c)) for c in action.choices) + ")$"]
    if action.type in (int, float):
        return "NUMBER", [r"^[0-9]+$" if action.type is int else r"^[0-9]+(\.[0-9]+)?$"]
    if dest == "source":
        return "TEXT", [SOURCE_REGEX]
    if dest.endswith("_store"):
        return "TEXT", [STORE_REGEX]
    if dest.endswith("_dataset"):
        return "TEXT", [DATASET_REGEX]
    if dest.endswith("_file"):
        return "GCS_READ_FILE", [GCS_FILE_REGEX]
    if dest.endswith("_root") or dest.endswith("_folder") or dest.endswith("_dir"):
        return "TEXT", [GCS_FOLDER_REGEX]
    return "TEXT", []


def parameter_metadata(action: argparse.Action) -> dict:
    """One ParameterMetadata entry for an argparse action. Its name is the snake_case dest, which must also be
    an option string (the Flex Template launcher passes ``--<name>=<value>``)."""
    if f"--{action.dest}" not in action.option_strings:
        raise ValueError(f"option {action.option_strings[0]} has no --{action.dest} spelling for the Flex Template")
    param_type, regexes = _kind_and_regexes(action)
    entry: dict = {
        "name": action.dest,
        "label": _label(action.dest),
        "helpText": " ".join((action.help or "").split()),
        "isOptional": not (action.required or action.dest in TEMPLATE_REQUIRED),
        "paramType": param_type,
    }
    if regexes:
        entry["regexes"] = regexes
    if param_type == "ENUM":
        entry["enumOptions"] = [{"value": str(c)} for c in action.choices]
    return entry


def template_metadata() -> dict:
    """The Flex Template's metadata.json, one parameter per template argument, in definition order."""
    parser = template_parser()
    parameters = [parameter_metadata(a) for a in parser._actions if a.option_strings and a.dest != "help"]
    return {
        "name": TEMPLATE_NAME,
        "description": TEMPLATE_DESCRIPTION,
        "streaming": False,
        "parameters": parameters,
    }


def metadata_text() -> str:
    return json.dumps(template_metadata(), indent=2, ensure_ascii=False) + "\n"


# --- the launcher entry point -------------------------------------------------------------------------------


def _normalize_flags(argv: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """The launcher passes every parameter as ``--name=value``: ``--flag=true`` becomes ``--flag``,
    ``--flag=false`` disappears, and an empty optional value (``--name=``) is left unset."""
    flags = {s for a in parser._actions if _is_flag(a) for s in a.option_strings}
    known = {s for a in parser._actions for s in a.option_strings}
    out = []
    for arg in argv:
        name, eq, value = arg.partition("=")
        if eq and name in flags:
            lowered = value.strip().lower()
            if lowered in _TRUE:
                out.append(name)
            elif lowered not in _FALSE:
                raise ValueError(f"{name}: expected true or false")
        elif eq and name in known and value == "":
            continue
        else:
            out.append(arg)
    return out


def cli_arguments(argv: Sequence[str]) -> list[str]:
    """Flex Template parameters (plus Beam's own options) -> the equivalent ``deidflow`` command line."""
    from pipelines.launch import ResourceName
    from transforms.errors import LaunchError

    parser = template_parser()
    normalized = _normalize_flags(argv, parser)
    args, _ = parser.parse_known_args(normalized)
    kind = None
    for candidate in ("dicomStores", "fhirStores", None):
        try:
            kind = ResourceName.parse(args.source, candidate, "--source").kind
            break
        except LaunchError:
            continue
    else:
        raise LaunchError("--source: not a valid resource name; expected projects/P/locations/L/datasets/D or "
                          "projects/P/locations/L/datasets/D/dicomStores/S (or .../fhirStores/S)")
    rest, skip = [], False
    for arg in normalized:
        if skip:
            skip = False
        elif arg == "--source":
            skip = True
        elif not arg.startswith("--source="):
            rest.append(arg)
    return [GROUP_OF_KIND[kind], "deidentify", args.source, *rest]


def launch_main(argv: Sequence[str] | None = None) -> int:
    """What the Flex Template image runs: translate the parameters, then run the deidflow command."""
    from pipelines import cli
    from transforms.errors import LaunchError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        command = cli_arguments(argv)
    except (LaunchError, ValueError) as err:
        print(f"deidflow template: {err}", file=sys.stderr)
        return EXIT_BAD_LAUNCH
    except SystemExit as err:  # argparse: a missing --source
        return EXIT_BAD_LAUNCH if err.code else EXIT_OK
    return cli.main(command)


# --- the `deidflow template` commands -----------------------------------------------------------------------


def register(groups) -> None:
    parser = groups["template"].add_parser(
        "metadata",
        help="Print the Flex Template's metadata.json, generated from the de-identify options.",
        description="Generate templates/metadata.json from the options definition (pipelines/options.py): one "
        "parameter per option, with label, help text, regexes for resource names and gs:// URIs.",
    )
    parser.add_argument("--output", default=None, help="Write to this file instead of standard output.")
    parser.add_argument("--check", action="store_true",
                        help=f"Exit 1 when the committed {METADATA_PATH.name} differs from the generated one.")
    parser.set_defaults(handler=run_metadata)


def run_metadata(args, beam_args: Sequence[str]) -> int:
    text = metadata_text()
    if args.check:
        target = Path(args.output) if args.output else METADATA_PATH
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run `deidflow template metadata --output {target}`", file=sys.stderr)
            return EXIT_CRASH
        return EXIT_OK
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK

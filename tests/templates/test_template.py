"""The Flex Template: metadata.json generated from the options, and the image's entry point run on a small store."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest

from pipelines.commands import template
from pipelines.launch import ResourceName
from pipelines.options import add_deidentify_arguments
from tests.conftest import DATASET, REPO, store_files
from tests.templates.helpers import cli, dicom_store, key_file
from transforms.errors import LaunchError

DOCKERFILE = REPO / "templates" / "Dockerfile"


def test_committed_metadata_equals_the_generated_one():
    committed = (REPO / "templates" / "metadata.json").read_text(encoding="utf-8")
    assert committed == template.metadata_text(), (
        "templates/metadata.json is out of date with pipelines/options.py: run "
        "`deidflow template metadata --output templates/metadata.json` and commit it"
    )
    assert cli("template", "metadata", "--check").returncode == 0


def test_check_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "metadata.json"
    stale.write_text("{}\n")
    assert cli("template", "metadata", "--check", "--output", str(stale)).returncode != 0
    assert cli("template", "metadata", "--output", str(stale)).returncode == 0
    assert stale.read_text() == template.metadata_text()


def test_one_parameter_per_option_with_label_help_and_type():
    parser = argparse.ArgumentParser()
    add_deidentify_arguments(parser)
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    params = template.template_metadata()["parameters"]
    assert [p["name"] for p in params] == ["source"] + [a.dest for a in options]
    for param, action in zip(params[1:], options, strict=True):
        assert param["label"] and param["helpText"] == " ".join(action.help.split())
        assert param["isOptional"] is (param["name"] != "store_root")
        if action.const is True and action.nargs == 0:  # store_true
            assert param["paramType"] == "BOOLEAN" and param["regexes"] == [template.BOOLEAN_REGEX]
    by_name = {p["name"]: p for p in params}
    assert by_name["source"]["isOptional"] is False
    assert by_name["incremental"]["paramType"] == "BOOLEAN"
    assert by_name["config_file"]["paramType"] == "GCS_READ_FILE"


def _matches(param: dict, value: str) -> bool:
    return all(re.search(regex, value) for regex in param.get("regexes", []))


@pytest.mark.parametrize("value", [
    f"{DATASET}", f"{DATASET}/dicomStores/s1", f"{DATASET}/fhirStores/s-2", "projects/a/locations/b/datasets/c/",
    "projects/a/locations/b/datasets/c/dicomStores/../x", "projects/a/locations/b", "gs://bucket/x",
    "projects/a b/locations/b/datasets/c", f"{DATASET}/hl7V2Stores/s",
])
def test_resource_name_regexes_agree_with_the_launch_rules(value):
    params = {p["name"]: p for p in template.template_metadata()["parameters"]}

    def parses(kind):
        try:
            ResourceName.parse(value, kind, "x")
            return ResourceName.parse(value, kind, "x").name == value
        except LaunchError:
            return False

    store_ok = parses("dicomStores") or parses("fhirStores")
    assert _matches(params["destination_store"], value) == store_ok
    assert _matches(params["destination_dataset"], value) == parses(None)
    assert _matches(params["source"], value) == (store_ok or parses(None))


def test_file_and_folder_parameters_take_gs_uris_only():
    params = {p["name"]: p for p in template.template_metadata()["parameters"]}
    assert _matches(params["config_file"], "gs://my-bucket/configs/deid.json")
    assert not _matches(params["config_file"], "/local/deid.json")
    assert not _matches(params["config_file"], "gs://my-bucket")
    assert _matches(params["store_root"], "gs://my-bucket/stores") and _matches(params["store_root"], "gs://b12")
    assert not _matches(params["store_root"], "./stores")


def test_launcher_parameters_become_the_cli_command():
    args = template.cli_arguments([
        f"--source={DATASET}/fhirStores/a", f"--destination_store={DATASET}/fhirStores/b", "--incremental=true",
        "--config_file=", "--store_root=gs://b/s", "--runner=DataflowRunner", "--project=p",
    ])
    assert args == ["fhir-stores", "deidentify", f"{DATASET}/fhirStores/a", f"--destination_store={DATASET}/fhirStores/b",
                    "--incremental", "--store_root=gs://b/s", "--runner=DataflowRunner", "--project=p"]
    assert template.cli_arguments(["--source", DATASET, "--incremental=false"])[:3] == ["datasets", "deidentify", DATASET]
    assert template.cli_arguments([f"--source={DATASET}/dicomStores/a"])[0] == "dicom-stores"
    with pytest.raises(ValueError):
        template.cli_arguments([f"--source={DATASET}/dicomStores/a", "--incremental=maybe"])
    with pytest.raises(LaunchError):
        template.cli_arguments(["--source=buckets/x"])
    assert template.launch_main(["--source=nothing"]) == 2
    assert template.launch_main(["--destination_store=x"]) == 2


def _dockerfile_entry_point() -> Path:
    """FLEX_TEMPLATE_PYTHON_PY_FILE, mapped from the image's path back to this repository via the COPY lines."""
    text = DOCKERFILE.read_text()
    py_file = re.search(r"^ENV FLEX_TEMPLATE_PYTHON_PY_FILE=(\S+)$", text, re.M).group(1)
    for source, target in re.findall(r"^COPY (?!--from)(\S+) (\S+)$", text, re.M):
        target = target.rstrip("/")
        if py_file.startswith(target + "/"):
            return REPO / source / py_file[len(target) + 1:]
    raise AssertionError(f"{py_file} is not copied into the image")


def test_dockerfile_is_on_the_python_launcher_base_for_our_python():
    text = DOCKERFILE.read_text()
    major, minor = sys.version_info[:2]
    assert re.search(rf"^FROM gcr\.io/dataflow-templates-base/python{major}{minor}-template-launcher-base", text, re.M)
    beam_pin = re.search(r'apache-beam\[gcp\]==([0-9.]+)', (REPO / "setup.py").read_text()).group(1)
    assert f"ARG BEAM_VERSION={beam_pin}" in text  # the workers' SDK harness matches the pinned Beam
    assert _dockerfile_entry_point() == REPO / "templates" / "main.py"


def test_entry_point_builds_and_runs_the_pipeline_on_a_small_store(tmp_path):
    import os
    import subprocess

    root = tmp_path / "stores"
    source = dicom_store(root, "src", patients=1)
    key = key_file(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, str(_dockerfile_entry_point()), f"--source={DATASET}/dicomStores/src",
         f"--destination_store={DATASET}/dicomStores/dst", f"--store_root={root}", f"--key_file={key}",
         "--incremental=false", "--config_file=", "--quiet=true", "--runner=DirectRunner"],
        env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = store_files(root / DATASET / "dicomStores" / "dst")
    assert len(out) == len(store_files(source)) == 2
    assert '"success": "2"' in proc.stdout

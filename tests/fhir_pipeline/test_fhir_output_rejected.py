"""Issue 17, item 9: ``operationMetadata.fhirOutput`` (Provenance resources) is not supported: rejected at launch
(exit 2, naming the field, nothing written), never ignored."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli, write_store
from tests.fhir.conftest import policy_of
from transforms.errors import ConfigError

DATASET = "projects/p1/locations/us/datasets/ds"
SOURCE = f"{DATASET}/fhirStores/src"
FHIR_OUTPUT = {"operationMetadata": {"fhirOutput": {"fhirStore": f"{DATASET}/fhirStores/provenance"}}}


def test_policy_compile_rejects_fhir_output():
    # broken code caught: compile_fhir_policy accepting the option and ignoring it
    with pytest.raises(ConfigError) as err:
        policy_of(FHIR_OUTPUT)
    assert err.value.path == "operationMetadata.fhirOutput"


@pytest.mark.pipeline
@pytest.mark.parametrize("command", ["fhir-stores", "datasets"])
def test_launch_exits_2_and_writes_nothing(tmp_path, command):
    # broken code caught: a run that completes (exit 0) without the Provenance resources the config asked for
    root = tmp_path / "stores"
    write_store(root, SOURCE, {"Patient.ndjson": b'{"resourceType":"Patient","id":"p1"}\n'})
    config = tmp_path / "deid.json"
    config.write_text(json.dumps(FHIR_OUTPUT))
    if command == "fhir-stores":
        args = (SOURCE, "--destination-store", f"{DATASET}/fhirStores/dst")
    else:
        args = (DATASET, "--destination-dataset", "projects/p1/locations/us/datasets/out")
    proc = run_cli(command, "deidentify", *args, "--store-root", str(root), "--config-file", str(config))
    assert proc.returncode == 2, proc.stderr
    assert "operationMetadata.fhirOutput" in proc.stderr + proc.stdout
    assert sorted(p.name for p in (root / DATASET / "fhirStores").iterdir()) == ["src"]
    assert sorted(p.name for p in (root / "projects/p1/locations/us/datasets").iterdir()) == ["ds"]

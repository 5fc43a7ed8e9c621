"""Issue 17, item 1: strings no UTF-8 writer can carry (lone surrogate escapes) and invalid escapes are error records
for their resource only; the run goes on (exit 3, summary, the other resources written)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import error_records, run_cli, store_files, summary_from_stdout, write_store
from transforms.errors import DeidentifyError
from transforms.fhir.codec import parse_resource

DATASET = "projects/p1/locations/us/datasets/ds"
SOURCE = f"{DATASET}/fhirStores/src"
DEST = f"{DATASET}/fhirStores/dst"

LONE_HIGH = rb'{"resourceType":"Patient","id":"p1","name":[{"family":"Sm\ud800ith"}]}'
LONE_LOW_KEY = rb'{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"\udc00":1}'
BAD_ESCAPE = rb'{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"a \q b"}}'
PAIR = rb'{"resourceType":"Patient","id":"p2","name":[{"family":"\ud83d\ude00 Jones"}]}'  # a valid pair (U+1F600)
ESCAPED_BACKSLASH = rb'{"resourceType":"Patient","id":"p3","name":[{"family":"\\ud800"}]}'  # text "\ud800"


@pytest.mark.parametrize("data", [LONE_HIGH, LONE_LOW_KEY, BAD_ESCAPE])
@pytest.mark.parametrize("exact", [True, False])
def test_unwritable_strings_are_invalid_argument(data, exact):
    # broken code caught: parse_resource returning a dict holding a lone surrogate (Beam's coder then crashes)
    with pytest.raises(DeidentifyError) as err:
        parse_resource(data, exact=exact)
    assert err.value.code == "INVALID_ARGUMENT"
    assert "ith" not in str(err.value)


def test_valid_surrogate_pairs_and_escaped_backslashes_still_parse():
    # broken code caught: a check that rejects every \\uD8xx escape, or the literal text "\ud800"
    assert parse_resource(PAIR)["name"][0]["family"] == "\U0001f600 Jones"
    assert parse_resource(ESCAPED_BACKSLASH)["name"][0]["family"] == "\\ud800"


@pytest.mark.pipeline
def test_a_run_with_bad_strings_goes_on(tmp_path):
    # broken code caught: the run crashing in the coder (exit 1, no summary) on one bad string
    root = tmp_path / "stores"
    good = (b'{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"x"},'
            b'"subject":{"reference":"Patient/p2"}}')
    bundle = (b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":'
              + LONE_HIGH.replace(b'"p1"', b'"p9"') + b'},{"resource":' + PAIR.replace(b'"p2"', b'"p8"') + b'}]}')
    write_store(root, SOURCE, {
        "Patient.ndjson": LONE_HIGH + b"\n" + PAIR + b"\n",
        "Observation.ndjson": LONE_LOW_KEY + b"\n" + BAD_ESCAPE + b"\n" + good + b"\n",
        "bundle.json": bundle,
    })
    proc = run_cli("fhir-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root))
    assert proc.returncode == 3, proc.stderr
    summary = summary_from_stdout(proc.stdout)
    assert summary["metadata"]["counter"] == {"success": "3", "failure": "4"}
    names = sorted(r["resource_name"] for r in error_records(root / DEST))
    assert names == ["Observation.ndjson:1", "Observation.ndjson:2", "Patient.ndjson:1", "bundle.json#entry[0]"]
    written = [json.loads(line) for data in store_files(root / DEST).values() for line in data.splitlines()]
    assert sorted(r["resourceType"] for r in written) == ["Observation", "Patient", "Patient"]

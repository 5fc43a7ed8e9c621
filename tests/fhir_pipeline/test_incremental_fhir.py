"""FHIR --incremental: kept destination lines plus only the new resources; the destination equals a full run's."""

from __future__ import annotations

import base64
import datetime
import json

import pytest

from pipelines.commands.sample_fhir import sample_files
from pipelines.fhir.incremental import predicted_id
from pipelines.fhir.parse import content_id
from pipelines.fhir.shards import EXISTING, LINE, pack_line, unpack_line
from transforms.fhir.codec import dumps, loads
from tests.conftest import DATASET, write_store
from tests.templates.helpers import cli, deidentify, files, key_file, ok_summary
from transforms.crypto import Keys
from transforms.fhir import compile_fhir_policy, deidentify_resource
from transforms.fhir.sample import sample_bundle, sample_store

pytestmark = pytest.mark.pipeline
KEYS = Keys(b"i" * 32)
COMMON = ("--reference-date", "2025-06-01")


@pytest.mark.parametrize("text,expected", [
    ('{"resourceType":"Observation","valueQuantity":{"value":1.50,"e":1E+5}}',
     '{"resourceType":"Observation","valueQuantity":{"value":1.50,"e":1E+5}}'),
    ('{"n":12345678901234567890123,"m":-9223372036854775809}', '{"n":12345678901234567890123,"m":-9223372036854775809}'),
    ('{"issued":"2015-09-10T07:30:00.000-05:00","v":[1, 2.50],"w" : -1.0e-3}',
     '{"issued":"2015-09-10T07:30:00.000-05:00","v":[1,2.50],"w":-1.0e-3}'),
    ('\ufeff{"bom":1}', '{"bom":1}'),
])  # fmt: skip
def test_loads_and_dumps_keep_numbers_as_written(text, expected):
    assert dumps(loads(text.encode("utf-8"))) == expected.encode("utf-8")


def test_loads_takes_lone_surrogates():
    assert loads('{"s":"\\ud800 lone"}'.encode())["s"] == "\ud800 lone"


def test_packed_shuffle_values_round_trip():
    line = dumps({"resourceType": "Patient", "id": "x", "note": "a\nb"})
    assert unpack_line(pack_line("x", "dir/Pa\ntient.ndjson", 7, LINE, line)) == (
        "x", "dir/Pa\ntient.ndjson", 7, LINE, line)
    assert unpack_line(pack_line("y", "", 3, EXISTING, b"{}"))[3] == EXISTING


def test_predicted_id_is_the_id_deidentify_writes():
    policy = compile_fhir_policy(None, reference_date=datetime.date(2025, 6, 1))
    for resource in sample_store(2, 5).resources:
        data = json.dumps(resource).encode()
        assert predicted_id(resource, data, policy, KEYS) == deidentify_resource(resource, policy, KEYS)["id"]
    no_id = {"resourceType": "Basic", "code": {"text": "x"}}
    data = json.dumps(no_id).encode()
    assert "id" not in deidentify_resource(no_id, policy, KEYS)
    assert predicted_id(no_id, data, policy, KEYS) == content_id(KEYS, data)  # what the pipeline gives it


def _lines(data: bytes) -> list[str]:
    return data.decode().splitlines()


def test_incremental_run_processes_only_new_resources_and_equals_a_full_run(tmp_path):
    root = tmp_path / "stores"
    key = key_file(tmp_path)
    first = sample_files(2, 3, "ndjson")
    bundle, _ = sample_bundle(1, 11)
    first["bundle.json"] = json.dumps(bundle).encode()
    first["Basic.ndjson"] = b'{"resourceType":"Basic","code":{"text":"no id"}}\n'  # an id derived from content
    write_store(root, f"{DATASET}/fhirStores/src", first)
    n_first = sum(len(_lines(d)) for n, d in first.items() if n.endswith(".ndjson")) + len(bundle["entry"])
    one = ok_summary(deidentify(root, "src", "dst", "--key-file", str(key), *COMMON, kind="fhirStores"))
    assert one["metadata"]["counter"] == {"success": str(n_first), "failure": "0"}
    before = files(root, "fhirStores", "dst")

    # Nightly arrivals: a new patient's resources, and a new Observation of a patient already de-identified.
    added = sample_files(1, 99, "ndjson")
    observation = json.loads(_lines(first["Observation.ndjson"])[0])
    observation["id"] = "late-observation"
    grown = dict(first)
    grown["Observation.ndjson"] = first["Observation.ndjson"] + json.dumps(observation).encode() + b"\n"
    grown.update({f"new/{name}": data for name, data in added.items()})
    write_store(root, f"{DATASET}/fhirStores/src", grown)
    n_new = 1 + sum(len(_lines(d)) for d in added.values())

    two = ok_summary(deidentify(root, "src", "dst", "--key-file", str(key), *COMMON, "--incremental",
                                "--direct_running_mode", "multi_processing", "--direct_num_workers", "2",
                                "--in-process-below", "0", kind="fhirStores"))
    assert two["metadata"]["counter"] == {"success": str(n_new), "failure": "0"}
    assert two["deidflow"]["skipped"] == str(n_first) and two["deidflow"]["incremental"] is True

    full = ok_summary(deidentify(root, "src", "full", "--key-file", str(key), *COMMON, kind="fhirStores"))
    assert full["metadata"]["counter"]["success"] == str(n_first + n_new)
    after = files(root, "fhirStores", "dst")
    assert after == files(root, "fhirStores", "full")  # same shard names, same bytes
    assert sum(len(_lines(d)) for d in after.values()) == n_first + n_new
    old_lines = {line for d in before.values() for line in _lines(d)}
    assert old_lines <= {line for d in after.values() for line in _lines(d)}  # every earlier line kept

    again = ok_summary(deidentify(root, "src", "dst", "--key-file", str(key), *COMMON, "--incremental",
                                  kind="fhirStores"))
    assert again["metadata"]["counter"]["success"] == "0" and again["deidflow"]["skipped"] == str(n_first + n_new)
    assert files(root, "fhirStores", "dst") == after

    listing = cli("runs", "list", f"{DATASET}/fhirStores/dst", "--store-root", str(root), "--json")
    assert listing.returncode == 0, listing.stderr
    runs = sorted(json.loads(listing.stdout), key=lambda r: r["createTime"])  # run ids order by second only
    assert [(r["success"], r["failure"], r["skipped"]) for r in runs] == [
        (n_first, 0, None), (n_new, 0, n_first), (0, 0, n_first + n_new)]
    assert [r["incremental"] for r in runs] == [False, True, True]
    assert {r["keyFingerprint"] for r in runs} == {Keys(base64.b64decode(key.read_text())).fingerprint}


"""The FHIR store DoFns and branch under TestPipeline: tagged outputs, the Patient join, oversize lines, shards."""

from __future__ import annotations

import datetime
import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.fhir.branch import add_fhir_store_branch
from pipelines.fhir.parse import PATIENTS, SIZES, ParseResources
from pipelines.stores.fhir import RawResource, source_tag
from transforms.beam import ERRORS
from tests import oracles
from transforms.crypto import Keys
from transforms.fhir import compile_fhir_policy

pytestmark = pytest.mark.pipeline
KEYS = Keys(b"f" * 32)
MRN = "MRN0042"
PATIENT = {
    "resourceType": "Patient", "id": "pat1", "name": [{"family": "Quackenbush", "given": ["Zebediah"]}],
    "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": MRN}], "birthDate": "1970-03-04",
}  # fmt: skip
OBSERVATION = {
    "resourceType": "Observation", "id": "obs1", "status": "final", "code": {"text": "Heart rate"},
    "subject": {"reference": "Patient/pat1"}, "effectiveDateTime": "2020-01-10",
    "note": [{"text": "Zebediah tolerated it"}],
}  # fmt: skip


@pytest.fixture(scope="module")
def policy():
    return compile_fhir_policy(None, reference_date=datetime.date(2025, 6, 1))


def _raw(file: str, index: int, obj) -> RawResource:
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return RawResource(file, index, data, None)


def test_parse_dofn_tags_resources_patients_sizes_and_errors(policy):
    raws = [
        _raw("Patient.ndjson", 1, PATIENT),
        _raw("Observation.ndjson", 1, OBSERVATION),
        _raw("Observation.ndjson", 2, {"resourceType": "Practitioner", "id": "pr"}),
        _raw("Observation.ndjson", 3, b'{"resourceType": "Observation", "id": "Zebediah'),
        _raw("Observation.ndjson", 4, [1, 2]),
        _raw("Observation.ndjson", 5, {"id": "x"}),
        _raw("Observation.ndjson", 6, {"resourceType": "NotAType", "id": "x"}),
    ]
    with TestPipeline() as p:  # batches of resources in, batches out (errors one a resource)
        out = p | beam.Create([raws[:2], raws[2:]]) | beam.ParDo(ParseResources(policy, KEYS)).with_outputs(
            ERRORS, PATIENTS, SIZES, main="resources")
        keys = out["resources"] | "Keys" >> beam.FlatMap(lambda batch: [(kv[0], kv[1][1], kv[1][2]) for kv in batch])
        assert_that(keys, equal_to([
            ("Patient/pat1", "Patient.ndjson", 1), ("Patient/pat1", "Observation.ndjson", 1),
            ("\x00Observation.ndjson:2", "Observation.ndjson", 2),
        ]), label="resources")  # fmt: skip
        patients = out[PATIENTS] | "Patient keys" >> beam.FlatMap(
            lambda batch: [(kv[0], kv[1][3], "Quackenbush" in kv[1][4]) for kv in batch])
        assert_that(patients, equal_to([("Patient/pat1", MRN, True)]), label="patients")
        sizes = out[SIZES] | "Types" >> beam.Map(lambda kv: kv[0])
        assert_that(sizes, equal_to(["Patient", "Observation", "Practitioner"]), label="sizes")
        errors = out[ERRORS] | "Errors" >> beam.Map(lambda r: (r["resource_name"], r["error"]["code"],
                                                                 r["error"]["message"]))
        assert_that(errors, equal_to([
            ("Observation.ndjson:3", "INVALID_ARGUMENT", "not valid JSON"),
            ("Observation.ndjson:4", "INVALID_ARGUMENT", "not a JSON object"),
            ("Observation.ndjson:5", "INVALID_ARGUMENT", "resourceType: missing"),
            ("Observation.ndjson:6", "INVALID_ARGUMENT", "resourceType: not a FHIR R4 resource type"),
        ]), label="errors")  # fmt: skip


def _store(tmp_path, files: dict[str, bytes]):
    src = tmp_path / "src"
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    return src


def _ndjson(*resources) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in resources)


def test_branch_joins_patients_writes_sorted_shards_and_dead_letters(tmp_path, policy):
    observations = [dict(OBSERVATION, id=f"obs{i}") for i in range(5)]
    src = _store(tmp_path, {
        "Patient.ndjson": _ndjson(PATIENT),
        "Observation-000.ndjson": _ndjson(*observations[:3]) + b"x" * 3000 + b"\n",
        "Observation-001.ndjson": _ndjson(*observations[3:], observations[0]),  # a duplicate id
        ".deidflow/runs/old/errors-00000-of-00001.ndjson": b'{"not": "a resource"}\n',
        "notes.txt": b"Zebediah's notes",
    })  # fmt: skip
    dest, run_dir = tmp_path / "dst", tmp_path / "dst" / ".deidflow" / "runs" / "r1"
    dest.mkdir()
    tag = source_tag(str(src))
    stale = dest / f"Observation-{tag}-00000-of-00002.ndjson"
    stale.write_bytes(b"from an earlier run\n")
    other = dest / "Observation-00000000-00000-of-00001.ndjson"
    other.write_bytes(b"another source's shard\n")
    with TestPipeline() as p:
        result = add_fhir_store_branch(p, str(src), str(dest), str(run_dir), policy, KEYS, max_resource_bytes=2048)
        names = result.errors | "Names" >> beam.Map(lambda r: (r["resource_name"], r["error"]["code"]))
        assert_that(names, equal_to([
            ("Observation-000.ndjson:4", "INVALID_ARGUMENT"),
            ("notes.txt", "INVALID_ARGUMENT"),  # the copy Observation-001.ndjson:3 is collapsed, not an error
        ]))  # fmt: skip
    assert not stale.exists() and other.exists()
    observation_file = dest / f"Observation-{tag}-00000-of-00001.ndjson"
    lines = [json.loads(line) for line in observation_file.read_text().splitlines()]
    ids = [r["id"] for r in lines]
    assert ids == sorted(oracles.keyed_fhir_id(KEYS, f"obs{i}") for i in range(5))
    shift = oracles.days(KEYS, MRN)  # the Patient's MRN, through the join — not "Patient/pat1"
    expected = (datetime.date(2020, 1, 10) + datetime.timedelta(days=shift)).isoformat()
    assert {r["effectiveDateTime"] for r in lines} == {expected}
    assert all("Zebediah" not in json.dumps(r) for r in lines)  # the Patient's name as context
    assert (dest / f"Patient-{tag}-00000-of-00001.ndjson").exists()
    written = sorted(p.name for p in dest.iterdir() if p.is_file())
    assert written == sorted([observation_file.name, f"Patient-{tag}-00000-of-00001.ndjson", other.name])
    records = [json.loads(line) for f in run_dir.glob("errors*.ndjson") for line in f.read_text().splitlines()]
    assert len(records) == 2 and "Zebediah" not in json.dumps(records)

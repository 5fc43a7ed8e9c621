"""The keyed Patient join (GroupByKey by patient, then by batch through spill files) writes what the side join
writes: stores with duplicate resources and Patients, Patients without resources, resources without a patient
or naming one not in the store; whatever the spill size; and leaves no spill file behind."""

from __future__ import annotations

import datetime
import json
import os

import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from pipelines.fhir import read as fhir_read
from pipelines.fhir import spill
from pipelines.fhir.branch import add_fhir_store_branch
from pipelines.fhir.shards import delete_runs, run_folder
from pipelines.stores import fhir as stores_fhir
from tests.fhir_pipeline.ndjson_by_type import write_by_type
from transforms.crypto import Keys
from transforms.fhir import compile_fhir_policy
from transforms.fhir.sample import sample_store

KEYS = Keys(b"k" * 32)


def _store(tmp_path):
    """A sample store by type, plus: an earlier copy of a Patient with another MRN (the first by location wins),
    duplicate Observations, a Patient with no resources, an Observation without a subject and one naming a
    Patient not in the store."""
    src = tmp_path / "src"
    by_type = write_by_type(src, sample_store(n_patients=5, seed=11).resources)
    first = json.loads(by_type["Patient"][0])
    earlier = dict(first, identifier=[{"system": "urn:mrn", "value": "MRN-EARLIER-0001"}])
    lonely = {"resourceType": "Patient", "id": "lonely", "birthDate": "1961-02-03",
              "name": [{"family": "Quill", "given": ["Ada"]}], "identifier": [{"system": "urn:mrn", "value": "L-77"}]}
    (src / "A-Patient.ndjson").write_bytes(json.dumps(earlier).encode() + b"\n" + json.dumps(lonely).encode() + b"\n")
    orphan = {"resourceType": "Observation", "id": "no-subject", "status": "final", "code": {"text": "x"},
              "effectiveDateTime": "2020-05-06"}
    ghost = {"resourceType": "Observation", "id": "ghost-obs", "status": "final", "code": {"text": "x"},
             "subject": {"reference": "Patient/ghost"}, "effectiveDateTime": "2020-05-07"}
    observations = by_type["Observation"]
    (src / "Observation-extra.ndjson").write_bytes(
        b"\n".join(observations[:3] + [json.dumps(orphan).encode(), json.dumps(ghost).encode()]) + b"\n")
    return src


def _run(tmp_path, name: str, src, join: str) -> tuple[dict, list, list]:
    """(output files by name, error records, files left in the destination's .deidflow/tmp)."""
    policy = compile_fhir_policy(None, reference_date=datetime.date(2025, 6, 1))
    dest = tmp_path / name
    run_dir = dest / ".deidflow" / "runs" / "r"
    dest.mkdir()
    with TestPipeline() as p:
        add_fhir_store_branch(p, str(src), str(dest), str(run_dir), policy, KEYS, join=join)
    files = {f.name: f.read_bytes() for f in dest.iterdir() if f.is_file()}
    records = sorted((r["resource_name"], r["error"]["code"]) for f in run_dir.glob("errors*.ndjson")
                     for r in map(json.loads, f.read_text().splitlines()))
    tmp = dest / ".deidflow" / "tmp"
    left = sorted(str(path.relative_to(tmp)) for path in tmp.rglob("*")) if tmp.exists() else []
    return files, records, left


@pytest.mark.pipeline
def test_keyed_join_writes_what_the_side_join_writes_whatever_the_spill_size(tmp_path, monkeypatch):
    src = _store(tmp_path)
    monkeypatch.setattr(stores_fhir, "TARGET_SHARD_BYTES", 6000)  # several shards a type
    monkeypatch.setattr(fhir_read, "BATCH_LINES", 4)  # many batches: a patient's lines in many of them
    side = _run(tmp_path, "side", src, "side")
    keyed = _run(tmp_path, "keyed", src, "keyed")
    monkeypatch.setattr(spill, "SPILL_BYTES", 300)  # a spill file every few patients, several a bundle
    small = _run(tmp_path, "keyed-small", src, "keyed")
    none = _run(tmp_path, "none", src, "none")
    assert keyed == side and small == side
    assert side[2] == []  # no run or spill file left
    # The comparison sees the Patients: without their join info (shift key, phrases) the output differs.
    assert {n: d for n, d in none[0].items() if n.startswith("Observation")} != {
        n: d for n, d in side[0].items() if n.startswith("Observation")}
    written = [json.loads(line) for n, d in side[0].items() if n.startswith("Patient-") for line in d.splitlines()]
    assert len(written) == 5 + 1  # the five sample Patients (an id written once) and the lonely one
    assert len([n for n in side[0] if n.startswith("Observation-")]) > 1


def test_a_spill_gives_back_each_batch_what_was_added_for_it(tmp_path):
    """Independent oracle: the entries added, per batch key, in the order added."""
    added: dict[str, list] = {}
    joined = spill.JoinSpill(str(tmp_path / "runs"), limit=200)
    refs = []
    for i in range(30):
        key = f"Observation.ndjson\x00{(i * 7) % 5 * 100}"
        context = (f"Name {i}", f"MRN-{i:04d}")
        numbers = [i, i + 100]
        refs += joined.add(key, f"shift-{i}", context, numbers)
        added.setdefault(key, []).append((f"shift-{i}", context, tuple(numbers)))
    refs += joined.drain()
    assert joined.drain() == []
    files = sorted(os.listdir(tmp_path / "runs"))
    assert len(files) > 2 and all(name.startswith("joined-") and name.endswith(".spill") for name in files)
    got: dict[str, list] = {}
    for key, ref in refs:
        got.setdefault(key, []).extend(spill.read_segment(ref))
    assert got == added
    per_file: dict[str, list] = {}
    for key, ref in refs:
        per_file.setdefault(ref.path, []).append((ref.offset, key))
    for segments in per_file.values():  # each file: one segment a batch, in batch key order, back to back
        assert [k for _, k in sorted(segments)] == sorted({k for _, k in segments})
        assert len({k for _, k in segments}) == len(segments)


def test_a_retried_bundle_s_spill_files_are_not_named_and_are_deleted_with_the_runs(tmp_path):
    folder = run_folder(str(tmp_path / "dest"), "tag", "token")
    failed = spill.JoinSpill(folder, limit=1)
    abandoned = failed.add("b\x000", "s", ("Alice Smith",), [1, 2])  # written, then the bundle fails
    assert len(abandoned) == 1 and os.path.exists(abandoned[0][1].path)
    retried = spill.JoinSpill(folder, limit=1)
    refs = retried.add("b\x000", "s", ("Alice Smith",), [1, 2]) + retried.drain()
    assert [ref.path for _, ref in refs] != [abandoned[0][1].path]
    assert spill.read_segment(refs[0][1]) == [("s", ("Alice Smith",), (1, 2))]
    delete_runs(folder)  # the write's clean-up, once every shard is written
    assert not os.path.exists(folder)


def test_a_truncated_spill_file_fails_loudly(tmp_path):
    joined = spill.JoinSpill(str(tmp_path), limit=1)
    (key, ref), = joined.add("b\x000", "s", ("Alice Smith",), [1])
    with open(ref.path, "r+b") as handle:
        handle.truncate(ref.length - 1)
    with pytest.raises(OSError):
        spill.read_segment(ref)

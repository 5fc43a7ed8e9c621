"""What the parse step writes to spill files instead of handing to the runner (issue 21: the launcher holds
every value between stages): the side join's done Patients and Patient join info, the keyed join's records by
bucket. Nothing lost or duplicated, the same bytes out, no spill file left behind."""

from __future__ import annotations

import datetime
import json
import os
import zlib
from collections import Counter

import apache_beam as beam
import pytest

from pipelines.commands import EXIT_CRASH
from pipelines.commands.sample_fhir import sample_files
from pipelines.fhir import join, parse, shards, spill
from pipelines.fhir import read as fhir_read
from pipelines.fhir.parse import PATIENTS, ParseResources
from pipelines.fhir.shards import delete_runs, run_folder
from pipelines.stores import fhir as stores_fhir
from tests.conftest import DATASET, write_store
from tests.fhir_pipeline.test_keyed_join import _run, _store
from tests.templates.helpers import deidentify
from transforms.crypto import Keys
from transforms.fhir import compile_fhir_policy
from transforms.fhir.sample import sample_store

KEYS = Keys(b"k" * 32)


@pytest.fixture
def policy():
    return compile_fhir_policy(None, reference_date=datetime.date(2025, 6, 1))


def _batches(tmp_path, name: str, lines: list[bytes], batch_lines: int) -> list:
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    read = fhir_read.ReadFhirFiles(batch_lines=batch_lines)
    read.setup()
    return [b for b in read.process(stores_fhir.SourceFile(str(path), name, None, path.stat().st_size))
            if isinstance(b, fhir_read.LineBatch)]


def _parse(dofn: ParseResources, batches: list) -> tuple[list, list, list]:
    """(main outputs, PATIENTS values, other tagged outputs) of one bundle, finish_bundle's included."""
    dofn.setup()
    dofn.start_bundle()
    out = [o for batch in batches for o in dofn.process(batch)]
    for o in dofn.finish_bundle():  # WindowedValues, tagged or not
        out.append(beam.pvalue.TaggedOutput(o.tag, o.value.value) if isinstance(o, beam.pvalue.TaggedOutput)
                   else o.value)
    main = [o for o in out if not isinstance(o, beam.pvalue.TaggedOutput)]
    patients = [o.value for o in out if isinstance(o, beam.pvalue.TaggedOutput) and o.tag == PATIENTS]
    return main, patients, [o for o in out if isinstance(o, beam.pvalue.TaggedOutput) and o.tag != PATIENTS]


def _patient_lines() -> list[bytes]:
    return [json.dumps(r).encode() for r in sample_store(n_patients=7, seed=3).resources
            if r["resourceType"] == "Patient"]


def test_spilled_done_patients_and_join_info_read_back_as_the_parse_step_would_have_carried_them(tmp_path, policy,
                                                                                                  monkeypatch):
    """Catches: a BatchRef's done Patients or a PATIENTS batch not written (no flush at the bundle's end, a segment
    at a wrong offset after a flush in the middle), or read back other than carried (batch_done, the side input's
    merge). Oracle: the same parse step without a spill folder (values carried inline)."""
    lines = _patient_lines()
    batches = _batches(tmp_path, "Patient.ndjson", lines, batch_lines=2)
    inline = _parse(ParseResources(policy, KEYS, deidentify_patients=True, by_reference=True), batches)
    monkeypatch.setattr(spill, "SPILL_BYTES", 3000)  # a file every batch or two, the last at the bundle's end
    folder = str(tmp_path / "runs")
    spilled = _parse(ParseResources(policy, KEYS, deidentify_patients=True, by_reference=True, spill_folder=folder,
                                    patients_by_location=True), batches)
    assert len(spilled[0]) == len(inline[0]) == len(batches)
    done = [d for ref in inline[0] for d in ref.done]
    assert len(done) == len(lines)  # every Patient de-identified by the parse step (what the spill must carry)
    for carried, located in zip(inline[0], spilled[0], strict=True):
        assert isinstance(located.done, spill.SpillRef)
        assert located._replace(done=()) == carried._replace(done=())
        assert parse.batch_done(located) == carried.done
    assert all(isinstance(ref, spill.SpillRef) for ref in spilled[1])
    assert [spill.read_segment(ref) for ref in spilled[1]] == inline[1]
    assert len({ref.path for ref in spilled[1]}) > 1
    # The de-identify step's merged table: the same from spilled batches as from pickled ones.
    side = join.DeidentifyWithSideInput(policy, KEYS)
    from_refs = {k: v for k, v in side.patients([join.pack_patients(ref) for ref in spilled[1]]).items()}
    side2 = join.DeidentifyWithSideInput(policy, KEYS)
    assert from_refs == side2.patients([join.pack_patients(batch) for batch in inline[1]])
    assert len(from_refs) == len(lines)


def test_the_keyed_join_s_buckets_hold_every_record_once_in_its_own_bucket(tmp_path, policy, monkeypatch):
    """Catches: a record lost or written twice when a spill file is written in the middle of a bundle or at its
    end, a segment holding another bucket's records, Patients' join info not among the records. Oracle: the input
    lines counted (one line reference a resource line, one join record a Patient) and the bucket computed here."""
    resources = sample_store(n_patients=6, seed=5).resources
    lines = [json.dumps(r).encode() for r in resources if r["resourceType"] != "Patient"]
    patients = [json.dumps(r).encode() for r in resources if r["resourceType"] == "Patient"]
    batches = (_batches(tmp_path, "Observation.ndjson", lines, batch_lines=3)
               + _batches(tmp_path, "Patient.ndjson", patients, batch_lines=2))
    monkeypatch.setattr(spill, "SPILL_BYTES", 400)
    monkeypatch.setattr(parse, "JOIN_BUCKETS", 5)
    main, separate, _ = _parse(ParseResources(policy, KEYS, keyed_refs=True, patients_inline=True, join_buckets=True,
                                              spill_folder=str(tmp_path / "runs")), batches)
    assert separate == []  # the Patients' join info is among the records, not a second output
    records = []
    for bucket, ref in main:
        segment = spill.read_segment(ref)
        assert {zlib.crc32(key.encode()) % 5 for key, _ in segment} == {bucket}
        records += segment
    assert len({ref.path for _, ref in main}) > 1
    refs = Counter(value for _, value in records if isinstance(value, bytes))
    assert sum(refs.values()) == len(lines) + len(patients) and max(refs.values()) == 1
    infos = [value for _, value in records if not isinstance(value, bytes) and value[0] == parse.PATIENT]
    assert len(infos) == len(patients)


@pytest.mark.pipeline
def test_keyed_buckets_of_many_patients_and_spilled_side_input_write_the_same_bytes(tmp_path, monkeypatch):
    """Catches: the keyed join grouping per segment rather than per bucket and key (a Patient's resources whose
    records are in another spill file than its join info would lose its shift key), a bucket's keys mixed, the
    side join's spilled Patients lost, spill files left behind. Oracles: the two joins' outputs against each
    other, the count of distinct Patient ids written into the store, the "none" join (no Patient info) differing."""
    src = _store(tmp_path)
    monkeypatch.setattr(fhir_read, "BATCH_LINES", 3)
    monkeypatch.setattr(parse, "JOIN_BUCKETS", 2)  # several patients a bucket
    monkeypatch.setattr(spill, "SPILL_BYTES", 300)  # several spill files a bundle, a bucket over several files
    side = _run(tmp_path, "side", src, "side")
    keyed = _run(tmp_path, "keyed", src, "keyed")
    none = _run(tmp_path, "none", src, "none")
    assert keyed == side
    assert side[2] == [] and keyed[2] == [] and none[2] == []  # no run or spill file left
    ids = {json.loads(line)["id"] for f in src.glob("*Patient*.ndjson") for line in f.read_bytes().splitlines()}
    written = [line for n, d in side[0].items() if n.startswith("Patient-") for line in d.splitlines()]
    assert len(written) == len(ids)
    assert {n: d for n, d in none[0].items() if n.startswith("Observation")} != {
        n: d for n, d in side[0].items() if n.startswith("Observation")}


def test_a_failed_attempt_s_segment_file_is_not_named_by_its_retry_and_is_deleted_with_the_runs(tmp_path):
    """Catches: a SegmentSpill reusing a file name across attempts (a retry overwriting or naming a failed
    attempt's file), the write's clean-up missing the parse step's files."""
    folder = run_folder(str(tmp_path / "dest"), "tag", "token")
    failed = spill.SegmentSpill(folder, limit=1)
    abandoned = failed.add(("Patient/a", "info"))  # written at once (limit), then the bundle fails
    assert os.path.exists(abandoned.path)
    retried = spill.SegmentSpill(folder)
    ref = retried.add(("Patient/a", "info"))
    assert not os.path.exists(ref.path)  # written only at flush (the bundle's end)
    retried.flush()
    assert ref.path != abandoned.path and spill.read_segment(ref) == ("Patient/a", "info")
    delete_runs(folder)
    assert not os.path.exists(folder)


@pytest.mark.parametrize("join_kind", ["side", "keyed"])
def test_a_crashed_run_leaves_no_spill_file_in_the_destination(tmp_path, monkeypatch, join_kind):
    # Catches a run that dies after the parse step spilled Patient join info (source names and phrases) and
    # leaves it under the destination's .deidflow/tmp until the next run of the source: the command deletes the
    # temporary folder when the run fails. The crash is injected in the last step, after every spill was written.
    root = tmp_path / "stores"
    write_store(root, f"{DATASET}/fhirStores/src", sample_files(6, 5, "ndjson"))
    spilled = []
    real_merge = shards.MergeShards.process

    def crash(self, element, shard_counts):
        tmp = root / DATASET / "fhirStores" / "out" / ".deidflow" / "tmp"
        spilled.extend(p.name for p in tmp.rglob("*") if p.is_file())
        raise RuntimeError("injected")
        yield from real_merge(self, element, shard_counts)

    monkeypatch.setattr(shards.MergeShards, "process", crash)
    out = deidentify(root, "src", "out", "--patient-join", join_kind, "--reference-date", "2025-06-01",
                     kind="fhirStores")
    assert out.returncode == EXIT_CRASH
    assert any(name.endswith(".spill") for name in spilled)  # the crash came after the join's spill files
    left = [p for p in (root / DATASET / "fhirStores" / "out" / ".deidflow").rglob("*")
            if p.is_file() and "tmp" in p.relative_to(root).parts]
    assert left == []


def test_fhir_workers_collect_cycles_less_often(policy):
    # Catches the FHIR DoFns' setup losing collect_less_often (bench: 12% more CPU with CPython's default 700).
    import gc

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        ParseResources(policy, KEYS).setup()
        assert gc.get_threshold() == (50_000, 20, 100)
        gc.set_threshold(700, 10, 10)
        join.DeidentifyWithSideInput(policy, KEYS).setup()
        assert gc.get_threshold() == (50_000, 20, 100)
    finally:
        gc.set_threshold(*before)

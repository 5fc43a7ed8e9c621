"""The FHIR write (sorted runs per worker, merged per shard) against the shuffle write it replaced: same bytes."""

from __future__ import annotations

import json
import os
import random
from itertools import groupby

import apache_beam as beam
import pytest

from pipelines.commands.sample_fhir import sample_files
from pipelines.fhir import branch
from pipelines.fhir.shards import (
    ENTRY,
    EXISTING,
    LINE,
    DeleteStaleShards,
    MergeShards,
    WriteRuns,
    delete_runs,
    pack_lines,
    read_run,
    run_folder,
    sorted_rows,
    unpack_lines,
)
from pipelines.stores.fhir import shard_name
from tests.conftest import DATASET, store_files, write_store
from tests.templates.helpers import deidentify, files, key_file
from transforms.beam import ERRORS

COMMON = ("--reference-date", "2025-06-01")


# --- the oracle: the write as it was (every line through one GroupByKey by shard), kept here as a reference ----

def _rows(value) -> list:
    """The rows of a value of the de-identify step's output: a list of rows, or their packed bytes."""
    return unpack_lines(value) if isinstance(value, bytes) else [tuple(row) for row in value]


def reference_shard(rtype: str, shard: int, shards: int, values: list) -> tuple[bytes | None, list[str]]:
    """(file bytes or None when no file is written, names of duplicate source rows) of one shard, computed as
    the old ``WriteShards`` did from the grouped values (rows, or rows packed as bytes)."""
    rows = sorted_rows([row for value in values if value for row in _rows(value)])
    kept, duplicates, last = [], [], None
    for row in rows:
        if row[0] == last:
            if row[3] != EXISTING:
                duplicates.append((row[1], row[2], row[3]))
            continue
        last = row[0]
        kept.append(row)
    if not kept and shards <= 1:
        return None, duplicates
    return b"".join(row[4] + b"\n" for row in kept), duplicates


class ReferenceWrite(beam.PTransform):
    """The old write: GroupByKey of every packed line by shard, one sorted file a shard, stale shards deleted."""

    def __init__(self, destination, tag, label, counts, p="", **_):
        super().__init__()
        self.args = destination, tag, counts, p

    def expand(self, lines):
        destination, tag, counts, p = self.args
        if isinstance(lines, tuple):
            lines = lines | f"{p}Ref flatten" >> beam.Flatten()

        def write(element, shard_counts):
            from pipelines.stores import store_root

            (rtype, shard), values = element
            shards = shard_counts.get(rtype, 1)
            data, _ = reference_shard(rtype, shard, shards, list(values))
            if data is not None:
                path = store_root.join(destination, shard_name(rtype, tag, shard, shards))
                store_root.write_bytes(path, data)
                yield path

        paths = lines | f"{p}Ref by shard" >> beam.GroupByKey() | f"{p}Ref write" >> beam.FlatMap(write, counts)
        _ = paths | f"{p}Ref all" >> beam.combiners.ToList() | f"{p}Ref stale" >> beam.ParDo(
            DeleteStaleShards(destination, tag))
        return {"paths": paths, ERRORS: paths | f"{p}Ref no errors" >> beam.Filter(lambda _: False)}


# --- the DoFns against the oracle, on random rows with duplicates, kept lines and empty shards ---------------

def _random_values(rng: random.Random, rtype: str, shard: int) -> list[bytes]:
    """Packed values of one shard as several workers' bundles would emit them: ids with duplicates (source rows
    and lines kept from the destination), markers, and bundles in any order."""
    rows = []
    for i in range(rng.randrange(0, 60)):
        rid = f"id{rng.randrange(0, 25):03d}"
        kind = rng.choice([LINE, LINE, LINE, ENTRY, EXISTING])
        file = "" if kind == EXISTING else rng.choice(["a.ndjson", "b/Obs.ndjson", "c.json"])
        rows.append((rid, file, i, kind, json.dumps({"resourceType": rtype, "id": rid, "n": i}).encode()))
    rng.shuffle(rows)
    values, start = [b""], 0
    while start < len(rows):
        end = start + rng.randrange(1, 15)
        values.append(pack_lines(rows[start:end]))
        values.append(b"")
        start = end
    rng.shuffle(values)
    return values


def _run_write(folder: str, destination: str, tag: str, values: list[bytes], key, counts: dict,
               retry: bool) -> tuple[list, list]:
    """WriteRuns over every value (on ``retry`` each bundle is written twice, the first attempt's output
    discarded as a runner does after a failure), then MergeShards over the paths (twice on ``retry``)."""
    runs = WriteRuns(folder)
    if retry:
        for value in values:
            list(runs.process((key, value)))  # a failed attempt: its runs are on disk but never named downstream
    paths = [path for value in values for _, path in runs.process((key, value))]
    merge = MergeShards(destination, tag)
    merge.setup()
    out = list(merge.process((key, paths), counts))
    if retry:
        out = list(merge.process((key, paths), counts))  # the merge retried: same runs, same file
    merge.finish_bundle()
    return [o for o in out if isinstance(o, str)], [o.value for o in out if not isinstance(o, str)]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("retry", [False, True])
def test_merged_runs_equal_the_shuffle_write(tmp_path, seed, retry):
    rng = random.Random(seed)
    destination = str(tmp_path / "dst")
    os.makedirs(destination)
    tag = "0badc0de"
    folder = run_folder(destination, tag, f"t{seed}")
    shards = rng.choice([1, 1, 3])
    for shard in range(shards):
        values = _random_values(rng, "Observation", shard)
        expected, duplicates = reference_shard("Observation", shard, shards, values)
        written, errors = _run_write(folder, destination, tag, values, ("Observation", shard),
                                     {"Observation": shards}, retry)
        path = os.path.join(destination, shard_name("Observation", tag, shard, shards))
        if expected is None:
            assert written == [] and not os.path.exists(path)
        else:
            assert written == [path]
            with open(path, "rb") as handle:
                assert handle.read() == expected
        # one resource per type and id (issue 17): source copies of a kept id collapse into it, never an error
        assert errors == []
    delete_runs(folder)
    assert not os.path.exists(os.path.join(destination, ".deidflow", "tmp"))  # no run, no empty folder left
    assert sorted(os.listdir(destination)) == [".deidflow"] + sorted(
        shard_name("Observation", tag, s, shards) for s in range(shards)
        if os.path.exists(os.path.join(destination, shard_name("Observation", tag, s, shards))))


def test_a_failed_write_reports_every_duplicate_and_every_kept_resource(tmp_path, monkeypatch):
    from pipelines.stores import store_root

    rng = random.Random(5)
    values = _random_values(rng, "Observation", 0)
    _, duplicates = reference_shard("Observation", 0, 1, values)
    rows = sorted_rows([row for value in values if value for row in unpack_lines(value)])
    kept = [(row[1], row[2], row[3]) for i, row in enumerate(rows)
            if row[3] != EXISTING and (i == 0 or rows[i - 1][0] != row[0])]
    folder = run_folder(str(tmp_path), "00000000", "x")
    runs = WriteRuns(folder)
    paths = [path for value in values for _, path in runs.process((("Observation", 0), value))]

    def cannot_write(path, chunks):  # e.g. the folder is read-only: nothing of the merge consumed
        raise OSError("read-only")

    monkeypatch.setattr(store_root, "write_chunks", cannot_write)
    merge = MergeShards(str(tmp_path), "00000000")
    merge.setup()
    out = list(merge.process((("Observation", 0), paths), {"Observation": 1}))
    assert all(not isinstance(o, str) for o in out)

    def name(file, index, kind):
        return f"{file}#entry[{index}]" if kind == ENTRY else f"{file}:{index}"

    assert sorted((o.value["resource_name"], o.value["error"]["code"]) for o in out) == sorted(
        [(name(*d), "UNAVAILABLE") for d in duplicates] + [(name(*k), "UNAVAILABLE") for k in kept])
    assert duplicates and kept


def test_runs_of_a_crashed_earlier_write_of_the_source_are_deleted_too(tmp_path):
    crashed = run_folder(str(tmp_path), "0badc0de", "crashed")
    other = run_folder(str(tmp_path), "feedbeef", "running")  # another source's write: left alone
    current = run_folder(str(tmp_path), "0badc0de", "now")
    for folder in (crashed, other, current):
        list(WriteRuns(folder).process((("Patient", 0), pack_lines([("a", "f", 1, LINE, b"{}")]))))
    delete_runs(current)
    assert not os.path.exists(crashed) and not os.path.exists(current) and len(os.listdir(other)) == 1


def test_a_shard_with_only_markers_is_an_empty_file_of_a_set_or_no_file(tmp_path):
    destination = str(tmp_path)
    merge = MergeShards(destination, "00000000")
    merge.setup()
    assert list(merge.process((("Patient", 0), [""]), {"Patient": 1})) == []
    (path,) = list(merge.process((("Patient", 2), ["", ""]), {"Patient": 3}))
    assert path.endswith("Patient-00000000-00002-of-00003.ndjson") and os.path.getsize(path) == 0


# --- the whole FHIR branch, new write against the reference write ---------------------------------------------

def _store_with_duplicates() -> dict[str, bytes]:
    store = sample_files(3, 5, "ndjson")
    observations = store["Observation.ndjson"].decode().splitlines()
    store["Observation.ndjson"] += (observations[0] + "\n").encode()  # the same id twice in one file
    store["more/Observation.ndjson"] = (observations[1] + "\n" + observations[2] + "\n").encode()  # and across
    return store


def _data_and_leftovers(root, store: str) -> tuple[dict, list]:
    folder = root / DATASET / "fhirStores" / store
    leftovers = [str(p) for p in folder.rglob("*") if "tmp" in p.relative_to(folder).parts
                 or p.name.endswith(".run") or p.name.startswith(".tmp-")]
    return store_files(folder), leftovers


@pytest.mark.pipeline
def test_branch_writes_the_bytes_of_the_shuffle_write(tmp_path, monkeypatch):
    """Duplicates, empty shards (every type cut into 4 shards), and an incremental run on top: the new write and
    the reference write leave byte-identical destinations, and the new one leaves no temporary runs."""
    root = tmp_path / "stores"
    key = key_file(tmp_path)
    source = _store_with_duplicates()
    write_store(root, f"{DATASET}/fhirStores/src", source)
    monkeypatch.setattr(branch, "shard_count", lambda count, size: 4)
    new_write = branch.WriteFhirShards

    def run(dest: str, write, *extra: str) -> None:
        monkeypatch.setattr(branch, "WriteFhirShards", write)
        out = deidentify(root, "src", dest, "--key-file", str(key), *COMMON, *extra, kind="fhirStores")
        assert out.returncode in (0, 3), out.stderr[-2000:]

    for join in ("side", "keyed"):
        run(f"new-{join}", new_write, "--patient-join", join)
        run(f"ref-{join}", ReferenceWrite, "--patient-join", join)
        new, leftovers = _data_and_leftovers(root, f"new-{join}")
        ref, _ = _data_and_leftovers(root, f"ref-{join}")
        assert new == ref and leftovers == []
        assert any(data == b"" for data in new.values())  # an empty shard of a 4-shard set was written
        assert len({name for name in new if name.startswith("Observation-")}) == 4

    # Incremental: new arrivals, the kept lines merged with them.
    grown = dict(source)
    grown.update({f"new/{name}": data for name, data in sample_files(1, 77, "ndjson").items()})
    write_store(root, f"{DATASET}/fhirStores/src", grown)
    run("new-side", new_write, "--incremental")
    run("ref-side", ReferenceWrite, "--incremental")
    new, leftovers = _data_and_leftovers(root, "new-side")
    ref, _ = _data_and_leftovers(root, "ref-side")
    assert new == ref and leftovers == []
    assert sum(data.count(b"\n") for data in new.values()) > sum(
        data.count(b"\n") for data in files(root, "fhirStores", "new-keyed").values())


def test_rows_sort_as_before_within_a_run():
    rows = [("b", "x", 1, LINE, b"1"), ("a", "y", 2, LINE, b"2"), ("a", "", 9, EXISTING, b"3"),
            ("a", "x", 3, ENTRY, b"4")]
    expected = [row[4] for row in sorted_rows(list(rows))]
    from pipelines.fhir.shards import row_order

    assert [row[4] for row in sorted(rows, key=row_order)] == expected
    assert [k for k, _ in groupby(sorted(rows, key=row_order), key=lambda r: r[0])] == ["a", "b"]


def test_a_run_of_rows_as_handed_on_equals_the_run_of_their_packed_bytes(tmp_path):
    """The de-identify step hands its rows on as a list (no pack/unpack copy); an incremental run's kept lines
    come packed: either form of the same rows gives the same run file."""
    rng = random.Random(11)
    rows = [row for value in _random_values(rng, "Observation", 0) if value for row in unpack_lines(value)]
    runs = WriteRuns(str(tmp_path / "runs"))
    ((_, listed),) = runs.process((("Observation", 0), list(rows)))
    ((_, packed),) = runs.process((("Observation", 0), pack_lines(rows)))
    with open(listed, "rb") as a, open(packed, "rb") as b:
        assert a.read() == b.read() and listed != packed
    assert [row[4] for row in read_run(listed)] == [row[4] for row in sorted_rows(list(rows))]

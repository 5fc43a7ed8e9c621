"""Batches and ranges: the FHIR branch carries resources in batches and reads large NDJSON files in line ranges;
whatever the batch, flush and range sizes, it writes the same bytes and the same error records."""

from __future__ import annotations

import datetime
import io
import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from pipelines.fhir import join
from pipelines.fhir.parse import ParseResources
from pipelines.fhir import read as fhir_read
from pipelines.fhir.branch import add_fhir_store_branch
from pipelines.fhir.shards import ENTRY, EXISTING, LINE, ShardBuffer, pack_lines, sorted_rows, unpack_lines
from pipelines.stores import fhir as stores_fhir
from pipelines.stores import lines as store_lines
from pipelines.stores.lines import plan_ranges, split_lines
from tests.fhir_pipeline.ndjson_by_type import write_by_type
from transforms.crypto import Keys
from transforms.fhir import compile_fhir_policy
from transforms.fhir.sample import sample_store

KEYS = Keys(b"b" * 32)


def _read_ranges(data: bytes, range_bytes: int, limit: int = 10**9) -> list:
    out = []
    for start, end, first in plan_ranges(io.BytesIO(data), range_bytes):
        handle = io.BytesIO(data)
        handle.seek(start)
        out += list(split_lines(store_lines.Range(handle, None if end is None else end - start), limit, first))
    return out


CASES = {
    "lines": b"".join(b'{"n":%d}\n' % i for i in range(40)),
    "no trailing newline": b"".join(b'{"n":%d}\n' % i for i in range(40)) + b'{"last":1}',
    "blank lines": b"\n\n" + b'{"a":1}\n\n\n' + b'{"b":2}\r\n' + b"   \n" + b'{"c":3}\n\n',
    "a line longer than a range": b'{"a":1}\n' + b'{"long":"' + b"x" * 300 + b'"}\n' + b'{"b":2}\n' * 5,
    "one line": b'{"only":1}',
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("range_bytes", [1, 2, 7, 30, 100, 10**6])
@pytest.mark.parametrize("chunk", [1, 5, 1 << 20])
def test_ranges_read_every_line_once_with_its_number(monkeypatch, name, range_bytes, chunk):
    monkeypatch.setattr(store_lines, "READ_CHUNK", chunk)
    data = CASES[name]
    ranges = plan_ranges(io.BytesIO(data), range_bytes)
    assert ranges[0][0] == 0 and ranges[-1][1] in (None, len(data))
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))  # contiguous, nothing skipped or read twice
    assert all(start == 0 or data[start - 1:start] == b"\n" for start, _, _ in ranges)  # no line is cut
    assert _read_ranges(data, range_bytes) == list(split_lines(io.BytesIO(data), 10**9))


def test_oversize_lines_are_marked_in_whichever_range_holds_them():
    data = b'{"a":1}\n' + b"y" * 50 + b"\n" + b'{"b":2}\n' + b"z" * 60
    assert _read_ranges(data, 3, limit=20) == [(1, b'{"a":1}'), (2, None), (3, b'{"b":2}'), (4, None)]


def test_packed_batches_round_trip():
    rows = [("id-b", "dir/Ob\nservation.ndjson", 7, LINE, b'{"resourceType":"Observation","id":"id-b"}'),
            ("id-a", "", 3, EXISTING, b"{}")]
    assert unpack_lines(pack_lines(rows)) == rows
    buffer = ShardBuffer(limit=200)
    assert buffer.add(("Observation", 1), rows[0]) == []
    flushed = buffer.add(("Observation", 0), rows[1]) + buffer.add(("Observation", 0), rows[1])
    assert [key for key, _ in flushed] == [("Observation", 0), ("Observation", 1)]  # sorted by shard
    assert flushed[0][1] == [rows[1]] * 2 and flushed[1][1] == [rows[0]] and buffer.drain() == []


def test_shard_rows_sort_by_id_and_duplicates_by_kept_line_then_source_location():
    rows = [("b", "f", 2, LINE, b"b2"), ("a", "f", 9, LINE, b"a9"), ("b", "", 5, EXISTING, b"kept"),
            ("b", "e", 1, ENTRY, b"e1"), ("c", "f", 1, LINE, b"c1"), ("b", "f", 1, LINE, b"b1")]
    expected = [b"a9", b"kept", b"e1", b"b1", b"b2", b"c1"]
    for shift in range(len(rows)):  # whatever order the shuffle delivers them in
        assert [row[4] for row in sorted_rows(rows[shift:] + rows[:shift])] == expected
        assert [row[4] for row in sorted_rows((rows[shift:] + rows[:shift])[::-1])] == expected


def _store(tmp_path):
    src = tmp_path / "src"
    by_type = write_by_type(src, sample_store(n_patients=6, seed=4).resources)
    observations = by_type["Observation"]
    bad = [b'{"resourceType": "Observation", "id": "broken', b"", b"x" * 5000, b'{"id": "no-type"}']
    # Errors spread over the file, an oversize line, blank lines, no trailing newline.
    mixed = observations[:3] + bad[:2] + observations[3:6] + bad[2:] + [b"\r"] + observations[6:9]
    (src / "Observation-mixed.ndjson").write_bytes(b"\n".join(mixed))
    (src / "Observation-dup.ndjson").write_bytes(b"\n".join(observations[:2]) + b"\n")
    return src


def _run(tmp_path, name: str, src) -> tuple[dict, list]:
    policy = compile_fhir_policy(None, reference_date=datetime.date(2025, 6, 1))
    dest = tmp_path / name
    run_dir = dest / ".deidflow" / "runs" / "r"
    dest.mkdir()
    with TestPipeline() as p:
        add_fhir_store_branch(p, str(src), str(dest), str(run_dir), policy, KEYS, max_resource_bytes=4096)
    files = {f.name: f.read_bytes() for f in dest.iterdir() if f.is_file()}
    records = sorted((r["resource_name"], r["error"]["code"]) for f in run_dir.glob("errors*.ndjson")
                     for r in map(json.loads, f.read_text().splitlines()))
    return files, records


def test_batches_ranges_and_flushes_do_not_change_the_output(tmp_path, monkeypatch):
    src = _store(tmp_path)
    monkeypatch.setattr(stores_fhir, "TARGET_SHARD_BYTES", 4000)  # several shards a type
    reference = _run(tmp_path, "reference", src)
    monkeypatch.setattr(fhir_read, "BATCH_LINES", 2)
    monkeypatch.setattr(fhir_read, "BATCH_BYTES", 3000)
    monkeypatch.setattr(join, "FLUSH_BYTES", 2000)
    monkeypatch.setattr(fhir_read, "MIN_RANGE_BYTES", 100)
    monkeypatch.setattr(fhir_read, "RANGE_BYTES", 1500)
    small = _run(tmp_path, "small", src)
    files, records = reference
    assert small == reference
    assert len([n for n in files if n.startswith("Observation-")]) > 1
    names = {name for name, _ in records}
    assert {"Observation-mixed.ndjson:4", "Observation-mixed.ndjson:9", "Observation-mixed.ndjson:10"} <= names
    assert ("Observation-mixed.ndjson:9", "INVALID_ARGUMENT") in records  # the oversize line, by number
    assert not any(code == "ALREADY_EXISTS" for _, code in records)  # copies collapse (issue 17), no errors
    written = [line for n, data in files.items() if n.startswith("Observation-") for line in data.splitlines()]
    ids = [json.loads(line)["id"] for line in written]
    observations = [r for r in sample_store(n_patients=6, seed=4).resources if r["resourceType"] == "Observation"]
    assert len(ids) == len(set(ids)) == len(observations)


def test_every_shard_of_a_type_is_written_even_when_no_resource_lands_in_it(tmp_path, monkeypatch):
    src = _store(tmp_path)
    monkeypatch.setattr(stores_fhir, "TARGET_SHARD_BYTES", 60)  # more shards than resources: many stay empty
    files, _ = _run(tmp_path, "sparse", src)
    shards: dict[str, set] = {}
    for name in files:
        match = stores_fhir.SHARD_NAME.fullmatch(name)
        assert match, name
        shards.setdefault(match["type"], set()).add((int(match["shard"]), int(match["count"])))
    assert shards and any(b"" == files[n] for n in files)  # some shards are empty files ...
    for rtype, found in shards.items():  # ... and every type's set is complete
        (count,) = {c for _, c in found}
        assert {s for s, _ in found} == set(range(count)), rtype


def _located(tmp_path, data: bytes, batch_lines: int, limit: int = 10**6) -> tuple[list, list]:
    path = tmp_path / "Observation.ndjson"
    path.write_bytes(data)
    source = stores_fhir.SourceFile(str(path), "Observation.ndjson", None, len(data))
    read = fhir_read.ReadFhirFiles(max_resource_bytes=limit, batch_lines=batch_lines)
    read.setup()
    out = list(read.process(source))
    batches = [b for b in out if isinstance(b, fhir_read.LineBatch)]
    return batches, [o for o in out if not isinstance(o, fhir_read.LineBatch)]


def _ref(batch) -> fhir_read.BatchRef:
    return fhir_read.BatchRef(batch.path, "Observation.ndjson", batch.start, batch.end, batch.first_line, batch.crc,
                               tuple(raw.index for raw in batch.raws), ())


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("batch_lines", [1, 2, 7, 1000])
def test_a_batch_read_again_by_its_location_gives_the_lines_that_were_parsed(tmp_path, name, batch_lines):
    data = b"\xef\xbb\xbf" + CASES[name] if name == "lines" else CASES[name]  # a byte-order mark on line 1
    batches, errors = _located(tmp_path, data, batch_lines, limit=200)
    read = [(raw.index, raw.data) for b in batches for raw in b.raws]
    assert read == [(n, d if n != 1 else d.removeprefix(b"\xef\xbb\xbf")) for n, d in split_lines(io.BytesIO(data), 200)
                    if d is not None]
    assert len(errors) == sum(d is None for _, d in split_lines(io.BytesIO(data), 200))  # oversize: error records
    for batch in batches:
        assert fhir_read.read_batch_lines(_ref(batch)) == [(raw.index, raw.data) for raw in batch.raws]


def test_a_source_changed_before_it_is_read_again_gives_error_records_not_output(tmp_path, policy_default):
    lines = [json.dumps({"resourceType": "Observation", "id": f"o{i}", "status": "final",
                         "code": {"text": "Heart rate"}}).encode() for i in range(3)]
    batches, _ = _located(tmp_path, b"\n".join(lines) + b"\n", batch_lines=10)
    parse = ParseResources(policy_default, KEYS, by_reference=True)
    parse.setup()
    parse.start_bundle()
    (ref,) = [o for o in parse.process(batches[0]) if isinstance(o, fhir_read.BatchRef)]
    assert ref.lines == (1, 2, 3) and ref.done == ()

    def run(dofn_ref):
        dofn = join.DeidentifyWithSideInput(policy_default, KEYS)
        dofn.setup()
        dofn.start_bundle()
        out = list(dofn.process(dofn_ref, {"Observation": 1}, []))
        out += [w.value for w in dofn.finish_bundle()]
        errors = [(o.value["resource_name"], o.value["error"]["code"]) for o in out
                  if isinstance(o, beam.pvalue.TaggedOutput)]
        lines = [o for o in out if not isinstance(o, beam.pvalue.TaggedOutput)]
        written = [row for _, value in lines if value for row in value]
        return errors, written

    errors, written = run(ref)
    assert errors == [] and [row[2] for row in written] == [1, 2, 3]
    path = tmp_path / "Observation.ndjson"
    path.write_bytes(path.read_bytes().replace(b'"o1"', b'"o9"'))  # same length, other bytes
    errors, written = run(ref)
    assert written == [] and errors == [(f"Observation.ndjson:{n}", "ABORTED") for n in (1, 2, 3)]
    path.unlink()
    errors, written = run(ref)
    assert written == [] and errors == [(f"Observation.ndjson:{n}", "UNAVAILABLE") for n in (1, 2, 3)]


@pytest.fixture
def policy_default():
    return compile_fhir_policy(None, reference_date=datetime.date(2025, 6, 1))


def test_gzipped_ndjson_gives_the_same_output_and_errors_as_the_plain_file(tmp_path):
    """Compressed NDJSON is read whole and its lines carried inline (a gzip stream cannot be read again by
    range): the same resources, lines and error records as the uncompressed copy."""
    import gzip
    import re

    plain = _store(tmp_path)
    zipped = tmp_path / "zipped"
    zipped.mkdir()
    for path in plain.iterdir():
        data = path.read_bytes()
        if path.name == "Observation-mixed.ndjson":
            data = b"\xef\xbb\xbf" + data  # a byte-order mark on the first line
            (plain / path.name).write_bytes(data)
        (zipped / (path.name + ".gz")).write_bytes(gzip.compress(data))
    plain_files, plain_records = _run(tmp_path, "from-plain", plain)
    zipped_files, zipped_records = _run(tmp_path, "from-zipped", zipped)

    def untagged(files):  # shard names carry a tag of the source's path
        return {re.sub(r"-[0-9a-f]{8}-", "-", name): data for name, data in files.items()}

    assert untagged(zipped_files) == untagged(plain_files) and len(plain_files) > 5
    assert zipped_records == [(name.replace(".ndjson", ".ndjson.gz"), code) for name, code in plain_records]
    assert ("Observation-mixed.ndjson.gz:9", "INVALID_ARGUMENT") in zipped_records  # the oversize line


class _NoObservations:
    def keeps(self, resource: dict, file_mtime=None) -> bool:
        return resource["resourceType"] != "Observation"


def test_offers_by_location_are_the_offers_the_parse_step_would_have_carried(tmp_path, policy_default):
    """A batch of NDJSON lines offers by its location: the lines read again offer what the parse step offered
    inline — filtered resources included, lines that do not parse or lack a resourceType offering nothing."""
    from pipelines.fhir.parse import OFFERS, KeepWanted

    lines = [json.dumps({"resourceType": "Patient", "id": "p1", "identifier": [{"system": "s", "value": "MRN1"}]}),
             "{not json", json.dumps({"id": "x"}),
             json.dumps({"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "HR"}})]
    batches, _ = _located(tmp_path, "\n".join(lines).encode() + b"\n", batch_lines=10)
    expected = [("urn:uuid:p1", "Patient/p1"), ("Patient?identifier=s|MRN1", "Patient/p1"),
                ("Patient?identifier=MRN1", "Patient/p1"), ("urn:uuid:o1", "Observation/o1")]
    wanted = [[key for key, _ in expected] + ["urn:uuid:elsewhere"]]
    found = {}
    for by_location in (False, True):
        parse = ParseResources(policy_default, KEYS, resource_filter=_NoObservations(), by_reference=True,
                               offers_by_location=by_location)
        parse.setup()
        parse.start_bundle()
        (offers,) = [o.value for o in parse.process(batches[0])
                     if isinstance(o, beam.pvalue.TaggedOutput) and o.tag == OFFERS]
        assert isinstance(offers, fhir_read.BatchRef) == by_location
        found[by_location] = [pair for out in KeepWanted().process(offers, wanted) for pair in out]
        assert list(KeepWanted().process(offers, [])) == []  # nothing wanted: not read again
    assert found[True] == found[False] == expected

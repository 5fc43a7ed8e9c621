"""Issue 18: a FHIR store read is bounded. A gzip stream is decompressed a chunk at a time and stopped at the file
size cap (DEIDFLOW_MAX_FILE_BYTES, 2 GiB by default), so a gzip bomb is one RESOURCE_EXHAUSTED error record and
never held in memory; a line or a one-resource JSON file over the resource limit is an INVALID_ARGUMENT record; the
rest of the store goes on."""

from __future__ import annotations

import datetime
import gzip
import json
import struct
import tracemalloc
import zlib

import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from pipelines.fhir import read as fhir_read
from pipelines.fhir.branch import add_fhir_store_branch
from pipelines.stores import fhir as stores_fhir
from pipelines.stores import lines as store_lines
from transforms.crypto import Keys
from transforms.fhir import compile_fhir_policy

MIB = 1 << 20
KEYS = Keys(b"r" * 32)
PATIENT = b'{"resourceType":"Patient","id":"p1","gender":"female"}'


def _bomb(path, decompressed_mib: int, head: bytes = b"") -> int:
    """A one-member gzip file of ``head`` then ``decompressed_mib`` MiB of spaces on one line, written without
    compressing (or holding) the spaces more than once: 16 MiB of them compressed after a full flush is a deflate
    segment that references nothing before it, so it is written again and again; then an empty final block and
    the trailer (CRC-32 and size of the whole content). Returns the compressed size."""
    chunk = b" " * (16 * MIB)
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    start = z.compress(head) + z.flush(zlib.Z_FULL_FLUSH)  # the gzip header and ``head``
    segment = z.compress(chunk) + z.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    with open(path, "wb") as out:
        out.write(start)
        for _ in range(decompressed_mib // 16):
            out.write(segment)
            crc = zlib.crc32(chunk, crc)
        size = len(head) + decompressed_mib // 16 * len(chunk)
        out.write(b"\x03\x00" + struct.pack("<II", crc, size & 0xFFFFFFFF))  # final empty fixed block, trailer
    return path.stat().st_size


def _read(path, relative: str) -> list:
    return list(stores_fhir.read_resources(stores_fhir.SourceFile(str(path), relative, None)))


def test_a_gzip_bomb_of_one_gib_on_one_line_is_read_in_chunks(tmp_path):
    # broken code caught: the gzip stream opened through Beam's CompressedFile, which inflates its whole 16 MiB
    # compressed buffer at once (here: 1 GiB in one bytes object), or a line held whole before its size is checked
    path = tmp_path / "bomb.ndjson.gz"
    assert _bomb(path, 1024, PATIENT + b"\n") < 2 * MIB
    tracemalloc.start()
    try:
        items = _read(path, "bomb.ndjson.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [type(i).__name__ for i in items] == ["RawResource", "ReadError"]
    assert items[0].data == PATIENT
    assert items[1] == ("bomb.ndjson.gz:2", "INVALID_ARGUMENT", "resource larger than the 10485760-byte limit")
    assert peak < 48 * MIB, peak


def test_decompressed_bytes_past_the_cap_are_one_error_record_for_the_file(tmp_path, monkeypatch):
    # broken code caught: a gzip stream read without a bound on its decompressed size (the cap applied to the
    # compressed file only); a bound that takes the whole store or the run down instead of one record
    monkeypatch.setenv("DEIDFLOW_MAX_FILE_BYTES", str(64 * MIB))
    path = tmp_path / "bomb.ndjson.gz"
    _bomb(path, 192, PATIENT + b"\n")
    items = _read(path, "bomb.ndjson.gz")
    assert items == [
        stores_fhir.RawResource("bomb.ndjson.gz", 1, PATIENT, None),
        stores_fhir.ReadError("bomb.ndjson.gz", "RESOURCE_EXHAUSTED",
                              "the source file is larger than the 67108864-byte limit once decompressed "
                              "(DEIDFLOW_MAX_FILE_BYTES); the rest of it is not read"),
    ]


def test_a_one_resource_json_file_over_the_resource_limit_is_an_error_record():
    # broken code caught: a .json file that is not an exploded Bundle passed on whole whatever its size
    big = json.dumps({"resourceType": "Patient", "id": "p", "text": {"div": "x" * 300}}).encode()
    assert list(stores_fhir.bundle_items("big.json", big, None, limit=200)) == [
        stores_fhir.ReadError("big.json", "INVALID_ARGUMENT", "resource larger than the 200-byte limit")]
    assert [type(i).__name__ for i in stores_fhir.bundle_items("big.json", big, None)] == ["RawResource"]


def test_a_bounded_handle_reads_what_it_is_asked_and_no_more():
    import io

    handle = store_lines.Bounded(io.BytesIO(b"abcdefgh"), 8)
    assert handle.read(3) == b"abc" and handle.read() == b"defgh" and handle.read(5) == b""
    with pytest.raises(store_lines.TooLarge):
        store_lines.Bounded(io.BytesIO(b"abcdefgh"), 7).read()


def test_the_store_goes_on_past_a_bomb_an_over_long_line_and_an_oversize_resource_file(tmp_path, monkeypatch):
    # broken code caught: a file over the cap failing the run, or taking the good files and lines with it
    monkeypatch.setenv("DEIDFLOW_MAX_FILE_BYTES", str(32 * MIB))
    src = tmp_path / "src"
    src.mkdir()
    (src / "Patient.ndjson").write_bytes(PATIENT + b"\n" + PATIENT.replace(b'"p1"', b'"p2"') + b"\n")
    _bomb(src / "bomb.ndjson.gz", 96, PATIENT.replace(b'"p1"', b'"p3"') + b"\n")
    long_line = json.dumps({"resourceType": "Patient", "id": "p4", "text": {"div": "y" * 5000}}).encode()
    (src / "long.ndjson.gz").write_bytes(gzip.compress(PATIENT.replace(b'"p1"', b'"p5"') + b"\n" + long_line + b"\n"))
    (src / "one.json").write_bytes(long_line)
    dest = tmp_path / "dst"
    dest.mkdir()
    run_dir = dest / ".deidflow" / "runs" / "r"
    policy = compile_fhir_policy(None, reference_date=datetime.date(2025, 6, 1))
    with TestPipeline() as p:
        add_fhir_store_branch(p, str(src), str(dest), str(run_dir), policy, KEYS, max_resource_bytes=4096)
    lines = [line for f in dest.glob("*.ndjson") for line in f.read_bytes().splitlines()]
    assert len(lines) == 4  # p1, p2, p3 (before the cap), p5 (before the long line)
    records = sorted((r["resource_name"], r["error"]["code"], r["error"]["message"])
                     for f in run_dir.glob("errors*.ndjson") for r in map(json.loads, f.read_text().splitlines()))
    assert records == [
        ("bomb.ndjson.gz", "RESOURCE_EXHAUSTED", "the source file is larger than the 33554432-byte limit once "
                                                 "decompressed (DEIDFLOW_MAX_FILE_BYTES); the rest of it is not read"),
        ("long.ndjson.gz:2", "INVALID_ARGUMENT", "resource larger than the 4096-byte limit"),
        ("one.json", "INVALID_ARGUMENT", "resource larger than the 4096-byte limit"),
    ]


def test_reading_a_range_of_a_plain_file_through_the_bounded_handle(tmp_path):
    # broken code caught: the bounded handle losing seek (ranges of a large NDJSON file start inside it)
    data = b"".join(b'{"resourceType":"Basic","id":"b%d"}\n' % i for i in range(10))
    path = tmp_path / "Basic.ndjson"
    path.write_bytes(data)
    start = data.index(b'{"resourceType":"Basic","id":"b5"}')
    source = stores_fhir.SourceFile(str(path), "Basic.ndjson", None, len(data), start, None, 6)
    read = fhir_read.ReadFhirFiles(batch_lines=100)
    read.setup()
    (batch,) = list(read.process(source))
    assert [raw.index for raw in batch.raws] == [6, 7, 8, 9, 10]

"""Error records are written in files named by their contents: a bundle that runs again (a retry) replaces its
file instead of writing the same records a second time beside it (they were named at random)."""

from __future__ import annotations

import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from transforms.beam import WriteErrorRecords, error_file_name, error_record

pytestmark = pytest.mark.pipeline
RECORDS = [error_record(f"/src/{n}.dcm", "INVALID_ARGUMENT", "not a DICOM file") for n in range(5)]


def _write(run_dir) -> None:
    with TestPipeline() as p:
        _ = p | beam.Create(RECORDS) | WriteErrorRecords(str(run_dir))


def test_writing_the_same_records_twice_leaves_them_once(tmp_path):
    _write(tmp_path)
    first = sorted(f.name for f in tmp_path.iterdir())
    _write(tmp_path)  # the same bundle again, as a retry would
    assert sorted(f.name for f in tmp_path.iterdir()) == first
    lines = [json.loads(line) for f in tmp_path.iterdir() for line in f.read_text().splitlines()]
    assert sorted(lines, key=lambda r: r["resource_name"]) == RECORDS


def test_file_names_follow_the_records():
    assert error_file_name("/run/errors", "a\n") == error_file_name("/run/errors", "a\n")
    assert error_file_name("/run/errors", "a\n") != error_file_name("/run/errors", "b\n")
    assert error_file_name("/run/errors", "a\n").startswith("/run/errors-")
    assert error_file_name("/run/errors", "a\n").endswith(".ndjson")

"""Import and export as composite PTransforms under TestPipeline: bytes round-trip, one layout with
de-identification (an import replaces the same id wherever it is), DICOM import/export, the FHIR version table."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to, is_empty

from pipelines.fhir.versions import CREATE_CHOICES, DEIDENTIFIED_VERSIONS, deidentify_version_error, fhir_version
from pipelines.import_export import ExportDicom, ExportFhir, ImportDicom, ImportFhir
from pipelines.stores import fhir as stores_fhir
from transforms.dicom.sample import sample_store_files

pytestmark = pytest.mark.pipeline

SOURCE_LINES = [  # as a store export might write them: spaces, key order, exact decimals, big integers, escapes
    b'{"resourceType": "Observation", "id": "o2", "status": "final", "code": {"text": "x"}, '
    b'"valueQuantity": {"value": 1.50, "unit": "mg"}}',
    b'{"id":"o1","resourceType":"Observation","status":"final","code":{"text":"caf\\u00e9"},'
    b'"valueQuantity":{"value":1E+5},"extension":[{"url":"u","valueInteger64":"12345678901234567890123"}]}',
    b'{"resourceType":"Patient","id":"p1","birthDate":"1970-01-01","multipleBirthInteger":12345678901234567890123}',
]


def _import(source: str, store: str, errors: list | None = None) -> None:
    with TestPipeline() as p:
        result = p | ImportFhir(source, store, validate_r4=False)
        names = result.errors | beam.Map(lambda r: (r["resource_name"].rsplit("/", 1)[-1], r["error"]["code"]))
        assert_that(names, equal_to(errors or []))


def _export(store: str, destination: str, types: list[str]) -> None:
    with TestPipeline() as p:
        result = p | ExportFhir(store, destination)
        assert_that(result.written, equal_to(types))
        assert_that(result.errors, is_empty(), label="no errors")


def test_import_then_export_round_trips_the_bytes(tmp_path):
    src, store, out = tmp_path / "src", tmp_path / "store", tmp_path / "out"
    src.mkdir()
    store.mkdir()
    (src / "mixed.ndjson").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(SOURCE_LINES) + b"\r\n{oops\n")
    _import(str(src) + "/**", str(store), [("mixed.ndjson:4", "INVALID_ARGUMENT")])
    _export(str(store), str(out), ["Observation", "Patient"])
    assert (out / "Observation.ndjson").read_bytes() == SOURCE_LINES[1] + b"\n" + SOURCE_LINES[0] + b"\n"
    assert (out / "Patient.ndjson").read_bytes() == SOURCE_LINES[2] + b"\n"


def test_an_import_replaces_the_same_id_in_every_layout_and_keeps_earlier_imports(tmp_path):
    store, src = tmp_path / "store", tmp_path / "src"
    store.mkdir()
    src.mkdir()
    tag = stores_fhir.source_tag("/some/source")
    deidentified = store / f"Patient-{tag}-00000-of-00001.ndjson"  # written by a de-identification run
    deidentified.write_bytes(b'{"resourceType":"Patient","id":"a","gender":"old"}\n'
                             b'{"resourceType":"Patient","id":"b", "gender":"kept as it was"}\n')
    legacy = store / "Patient.ndjson"  # the layout of an import before the store layout was one
    legacy.write_bytes(b'{"resourceType":"Patient","id":"c","gender":"old"}\n')
    (src / "one.ndjson").write_bytes(b'{"resourceType":"Patient","id":"a","gender":"new"}\n'
                                     b'{"resourceType":"Patient","id":"c","gender":"new"}\n')
    _import(str(src / "one.ndjson"), str(store))
    assert deidentified.read_bytes() == b'{"resourceType":"Patient","id":"b", "gender":"kept as it was"}\n'
    assert legacy.read_bytes() == b""
    (src / "two.ndjson").write_bytes(b'{"resourceType":"Patient","id":"d","gender":"new"}\n')
    _import(str(src / "two.ndjson"), str(store))
    assert stores_fhir.resource_counts(str(store)) == {"Patient": 4}
    own = stores_fhir.list_own_shards(str(store), stores_fhir.IMPORT_TAG)
    assert len(own) == 1
    lines = open(own[0], "rb").read().splitlines()
    assert [stores_fhir.line_id(line) for line in lines] == ["a", "c", "d"]
    assert all(b'"new"' in line for line in lines)


def test_dicom_import_and_export_under_test_pipeline(tmp_path):
    plain, store, out = tmp_path / "dump", tmp_path / "store", tmp_path / "out"
    files = dict(sample_store_files(patients=1, studies=1, series=1, instances=2, rows=8, columns=8))
    for n, data in enumerate(files.values()):
        (plain / f"day{n}").mkdir(parents=True)
        (plain / f"day{n}" / f"IMG{n}").write_bytes(data)
    (plain / "day0" / "IMG0-copy").write_bytes(next(iter(files.values())))
    (plain / "README.txt").write_text("not an image")
    with TestPipeline() as p:
        result = p | ImportDicom(str(plain) + "/**", str(store))
        assert_that(result.written, equal_to(sorted(files)))
        codes = result.errors | beam.Map(lambda r: (r["resource_name"].rsplit("/", 1)[-1], r["error"]["code"]))
        assert_that(codes, equal_to([("IMG0-copy", "ALREADY_EXISTS"), ("README.txt", "INVALID_ARGUMENT")]),
                    label="errors")
    with TestPipeline() as p:
        result = p | ExportDicom(str(store), str(out))
        assert_that(result.written, equal_to(sorted(files)))
    assert {str(f.relative_to(out)): f.read_bytes() for f in out.rglob("*") if f.is_file()} == files


def test_the_fhir_version_table():
    assert CREATE_CHOICES == ("DSTU2", "STU3", "R4", "R5")
    assert DEIDENTIFIED_VERSIONS == ("R4", "R4B")
    assert fhir_version(None).import_ == "validate" and fhir_version("r4b").import_ == "plain"
    assert fhir_version("R5").import_ == "rejected" and fhir_version("R5").in_dataset == "skip"
    assert fhir_version("STU3").in_dataset == "error" and fhir_version("R6").in_dataset == "error"
    assert deidentify_version_error("R4") is None and deidentify_version_error(None) is None
    assert deidentify_version_error("R5") == "is an R5 store; R5 stores are not supported"
    assert deidentify_version_error("STU3") == "declares FHIR version STU3; this build de-identifies R4 stores only"

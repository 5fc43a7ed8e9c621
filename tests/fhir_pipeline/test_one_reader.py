"""One FHIR store reader: NDJSON, gzipped NDJSON, a compact and a pretty-printed transaction Bundle give the same
resources to every reader (the de-identify read, import, verify's collector, the dry-run and describe counts)."""

from __future__ import annotations

import gzip
import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to, is_empty

from pipelines.fhir.read import LineBatch, ReadFhirStore
from pipelines.import_export import ImportFhir
from pipelines.stores import fhir as stores_fhir
from pipelines.verify import _fhir_source_identifiers
from transforms.beam import ERRORS
from transforms.fhir.codec import JsonDecimal, dumps, loads
from transforms.fhir.sample import sample_bundle, sample_store

pytestmark = pytest.mark.pipeline
FORMATS = ("ndjson", "gzip", "bundle", "pretty")
DECIMAL = "@@decimal@@"  # written as the JSON number 1.50 (pretty Bundle: replaced in the text)


def _resources() -> list[dict]:
    resources = sample_store(n_patients=2, seed=3).resources
    for resource in resources:
        if resource["resourceType"] == "Observation":
            resource["valueQuantity"] = {"value": DECIMAL, "unit": "mg"}
    return resources


def _exact(value):
    """The resources with the placeholder as the exact decimal 1.50."""
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return JsonDecimal("1.50") if value == DECIMAL else value


def _expected() -> list[bytes]:
    return sorted(dumps(_exact(r)) for r in _resources())


def _normal(data: bytes) -> bytes:
    return dumps(loads(data))


def _write(folder, fmt: str):
    folder.mkdir(parents=True)
    (folder / ".deidflow" / "runs" / "r0").mkdir(parents=True)
    (folder / ".deidflow" / "runs" / "r0" / "errors-00000-of-00001.ndjson").write_bytes(b'{"resource_name":"x"}\n')
    # a write_bytes leftover (mkstemp's name: ".tmp-" + 8 characters); ".tmp-half" would be data (issue 18)
    (folder / ".tmp-h4lf0000").write_bytes(b'{"resourceType":"Patient"')
    resources = _resources()
    if fmt in ("ndjson", "gzip"):
        by_type: dict[str, list[bytes]] = {}
        for resource in resources:
            by_type.setdefault(resource["resourceType"], []).append(dumps(_exact(resource)))
        for rtype, lines in by_type.items():
            body = b"\n".join(lines) + b"\n"
            if fmt == "gzip":
                (folder / f"{rtype}.ndjson.gz").write_bytes(gzip.compress(body, mtime=0))
            else:
                (folder / f"{rtype}.ndjson").write_bytes(body)
        return folder
    bundle, _ = sample_bundle(n_patients=2, seed=3)
    for entry, resource in zip(bundle["entry"], resources, strict=True):
        if "valueQuantity" in resource:
            entry["resource"]["valueQuantity"] = resource["valueQuantity"]
    if fmt == "bundle":
        text = json.dumps(bundle, separators=(",", ":"))
    else:
        text = json.dumps(bundle, indent=2)
    (folder / "bundle.json").write_text(text.replace(f'"{DECIMAL}"', "1.50"))
    return folder


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("formats")
    return {fmt: _write(root / fmt, fmt) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_store_reader_gives_the_same_resources_for_every_format(stores, fmt):
    items = list(stores_fhir.store_resources(str(stores[fmt])))
    assert not [i for i in items if isinstance(i, stores_fhir.ReadError)]
    assert sorted(_normal(i.data) for i in items) == _expected()
    assert b"1.50" in b"".join(i.data for i in items)  # decimals as written


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_deidentify_read_gives_the_store_readers_resources(stores, fmt):
    with TestPipeline() as p:
        read = p | ReadFhirStore(str(stores[fmt]))
        raws = read["raw"] | beam.FlatMap(lambda batch: batch.raws if isinstance(batch, LineBatch) else batch)
        assert_that(raws | beam.Map(lambda raw: _normal(raw.data)), equal_to(_expected()))
        assert_that(read[ERRORS], is_empty(), label="no errors")


def test_counts_describe_and_verify_collect_alike_for_every_format(stores):
    types: dict[str, int] = {}
    for resource in _resources():
        types[resource["resourceType"]] = types.get(resource["resourceType"], 0) + 1
    identifiers = {}
    for fmt, folder in stores.items():
        assert stores_fhir.count_resources(str(folder)) == len(_resources()), fmt  # the dry run and progress total
        assert stores_fhir.resource_counts(str(folder)) == types, fmt  # describe
        found = set()
        for source in stores_fhir.list_sources(str(folder)):
            found.update(_fhir_source_identifiers(source.path, open(source.path, "rb").read(), None))
        identifiers[fmt] = found
    assert identifiers["ndjson"], "verify collects identifiers"
    for fmt in FORMATS:
        assert identifiers[fmt] == identifiers["ndjson"], fmt


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_reads_every_format_alike_into_the_shard_layout(stores, tmp_path, fmt):
    store = tmp_path / "store"
    store.mkdir()
    with TestPipeline() as p:
        result = p | ImportFhir(str(stores[fmt]) + "/**", str(store), validate_r4=False)
        assert_that(result.errors, is_empty(), label="no errors")
    names = sorted(f.name for f in store.iterdir())
    assert names and all(stores_fhir.SHARD_NAME.fullmatch(n)["tag"] == stores_fhir.IMPORT_TAG for n in names)
    lines = [line for f in store.iterdir() for line in f.read_bytes().splitlines()]
    assert sorted(_normal(line) for line in lines) == _expected()
    if fmt in ("ndjson", "gzip"):  # lines keep their bytes
        assert sorted(lines) == _expected()

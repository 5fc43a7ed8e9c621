"""Pure helpers of the FHIR store pipeline: line splitting, decimal-preserving JSON, Bundle entries as resources."""

from __future__ import annotations

import io
import json

import pytest

from pipelines.stores import fhir as stores_fhir
from pipelines.stores import lines as store_lines
from pipelines.stores.fhir import shard_count, shard_of
from pipelines.stores.lines import split_lines
from transforms.fhir.codec import bundle_resources, dumps, loads


def _lines(data: bytes, limit: int = 100) -> list:
    return list(split_lines(io.BytesIO(data), limit))


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
def test_split_lines_numbers_lines_and_marks_oversize_ones(monkeypatch, chunk):
    monkeypatch.setattr(store_lines, "READ_CHUNK", chunk)
    data = b'{"a":1}\n\n   \n' + b"x" * 50 + b"\n" + b'{"b":2}\r\n' + b'{"c":3}'
    assert _lines(data, limit=20) == [(1, b'{"a":1}'), (4, None), (5, b'{"b":2}\r'), (6, b'{"c":3}')]


@pytest.mark.parametrize("chunk", [2, 1 << 20])
def test_split_lines_oversize_last_line_without_newline(monkeypatch, chunk):
    monkeypatch.setattr(store_lines, "READ_CHUNK", chunk)
    assert _lines(b'{"a":1}\n' + b"y" * 30, limit=10) == [(1, b'{"a":1}'), (2, None)]
    assert _lines(b"", limit=10) == []


def test_decimals_keep_their_text_and_big_integers_survive():
    text = '{"resourceType":"Observation","valueQuantity":{"value":1.50,"small":0.0000001,"e":1E+5},"n":12345678901234567890123}'
    assert dumps(loads(text)).decode() == text
    assert dumps(loads('{"v":1.50,"s":"é"}')) == '{"v":1.50,"s":"é"}'.encode()


@pytest.mark.parametrize("bad", ['{"v": NaN}', '{"v": Infinity}', '{"v": 1', "\xff", "[1,]"])
def test_loads_rejects_what_is_not_json(bad):
    with pytest.raises(ValueError):
        loads(bad.encode("latin-1"))


def test_bundle_entries_become_store_resources_with_type_id_references():
    bundle = {
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
             "resource": {"resourceType": "Patient"}},
            {"fullUrl": "http://example.org/fhir/Practitioner/p1", "resource": {"resourceType": "Practitioner", "id": "p1"}},
            {"fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
             "resource": {"resourceType": "Observation", "id": "o1",
                          "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"},
                          "performer": [{"reference": "http://example.org/fhir/Practitioner/p1"}],
                          "hasMember": [{"reference": "urn:uuid:99999999-9999-4999-8999-999999999999"}]}},
            {"request": {"method": "DELETE", "url": "Patient/gone"}},
            "not an entry",
            {"resource": {"id": "no-type"}},
        ],
    }  # fmt: skip
    out = bundle_resources(bundle)
    assert [i for i, _ in out] == [0, 1, 2, 4, 5]
    patient, practitioner, observation = (r for _, r in out[:3])
    assert patient == {"resourceType": "Patient", "id": "11111111-1111-4111-8111-111111111111"}
    assert practitioner["id"] == "p1"
    assert observation["subject"] == {"reference": "Patient/11111111-1111-4111-8111-111111111111"}
    assert observation["performer"] == [{"reference": "Practitioner/p1"}]
    assert observation["hasMember"] == [{"reference": "urn:uuid:99999999-9999-4999-8999-999999999999"}]  # unknown
    assert out[3][1] is None and out[4][1] is None
    assert bundle["entry"][0]["resource"] == {"resourceType": "Patient"}  # input untouched


def test_shards_are_sized_and_assigned_deterministically():
    assert shard_count(10, 1000) == 1
    assert shard_count(10, stores_fhir.TARGET_SHARD_BYTES * 3 + 1) == 4
    assert shard_count(stores_fhir.MAX_SHARD_RESOURCES + 1, 10) == 2
    ids = [f"id-{i}" for i in range(200)]
    first = [shard_of(i, 4) for i in ids]
    assert first == [shard_of(i, 4) for i in ids] and set(first) == {0, 1, 2, 3}
    assert {shard_of(i, 1) for i in ids} == {0}


def test_error_names_never_quote_ids():
    raw = stores_fhir.RawResource("Observation.ndjson", 7, b"{}", None)
    assert raw.name == "Observation.ndjson:7"
    assert stores_fhir.RawResource("b.json", 3, b"{}", None, entry=True).name == "b.json#entry[3]"
    assert json.loads(dumps({"a": [1, 2]})) == {"a": [1, 2]}

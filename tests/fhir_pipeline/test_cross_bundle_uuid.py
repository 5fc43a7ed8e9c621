"""Issue 17: a ``urn:uuid:`` reference from one file of a store to a Bundle entry of another file whose fullUrl is
not ``urn:uuid:<its id>`` is rewritten store-wide to the de-identified ``Type/<new id>`` of that resource."""

from __future__ import annotations

import datetime
import json

from apache_beam.testing.test_pipeline import TestPipeline

from pipelines.fhir.branch import add_fhir_store_branch
from pipelines.stores import fhir as stores_fhir
from transforms.crypto import Keys
from transforms.fhir import compile_fhir_policy
from transforms.fhir.ids import new_id

KEYS = Keys(b"u" * 32)
ORG_UUID = "urn:uuid:7f3c2a10-5b1e-4c9d-8a2f-0e6d4b3c2a11"  # the fullUrl: not the Organization's id
PAT_UUID = "urn:uuid:1a2b3c4d-0000-4000-8000-00000000beef"


def _store(src) -> None:
    org = {"resourceType": "Organization", "id": "org-a", "name": "General Hospital"}
    patient = {"resourceType": "Patient", "id": "pat-a", "gender": "female"}
    hospital = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": ORG_UUID, "resource": org, "request": {"method": "POST", "url": "Organization"}},
        {"fullUrl": PAT_UUID, "resource": patient, "request": {"method": "POST", "url": "Patient"}}]}
    role = {"resourceType": "PractitionerRole", "id": "role-1", "organization": {"reference": ORG_UUID}}
    other = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:2b2b2b2b-0000-4000-8000-000000000001", "resource": role,
         "request": {"method": "POST", "url": "PractitionerRole"}}]}
    consent = {"resourceType": "Consent", "id": "c-1", "status": "active", "scope": {"text": "x"},
               "category": [{"text": "x"}], "organization": [{"reference": ORG_UUID}]}
    (src / "hospital.json").write_text(json.dumps(hospital))
    (src / "roles.json").write_text(json.dumps(other))
    (src / "Consent.ndjson").write_text(json.dumps(consent) + "\n")


def test_bundle_items_keep_a_fullurl_that_is_not_the_id():
    # broken code caught: bundle_items dropping fullUrl, so the store-wide index knows only urn:uuid:<id>
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": ORG_UUID, "resource": {"resourceType": "Organization", "id": "org-a"}},
        {"fullUrl": "urn:uuid:same", "resource": {"resourceType": "Organization", "id": "same"}},
        {"fullUrl": "urn:uuid:no-id", "resource": {"resourceType": "Organization"}}]}
    items = list(stores_fhir.bundle_items("b.json", json.dumps(bundle).encode(), None))
    assert [(i.index, i.alias) for i in items] == [(0, ORG_UUID), (1, None), (2, None)]


def test_a_reference_to_another_bundles_fullurl_resolves_to_the_resource(tmp_path):
    # broken code caught: the reference hashed as urn:uuid:<hash of the fullUrl's uuid> (dangling) because only
    # urn:uuid:<id> names a resource in the store-wide index
    src = tmp_path / "src"
    src.mkdir()
    _store(src)
    dest = tmp_path / "dst"
    dest.mkdir()
    policy = compile_fhir_policy(None, reference_date=datetime.date(2025, 6, 1))
    with TestPipeline() as p:
        add_fhir_store_branch(p, str(src), str(dest), str(dest / ".deidflow" / "runs" / "r"), policy, KEYS)
    out = {r["resourceType"]: r for f in dest.glob("*.ndjson") for r in map(json.loads, f.read_text().splitlines())}
    org_id = new_id(KEYS, "org-a")
    assert out["Organization"]["id"] == org_id
    assert out["PractitionerRole"]["organization"] == {"reference": f"Organization/{org_id}"}
    assert out["Consent"]["organization"] == [{"reference": f"Organization/{org_id}"}]
    assert not list((dest / ".deidflow" / "runs" / "r").glob("errors*"))

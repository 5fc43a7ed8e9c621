"""Issue 17: a ``urn:uuid:`` reference from one file of a store to a Bundle entry of another file whose fullUrl is
not ``urn:uuid:<its id>`` is rewritten store-wide to the de-identified ``Type/<new id>`` of that resource."""

from __future__ import annotations

import datetime
import json

import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from pipelines.fhir.branch import add_fhir_store_branch
from pipelines.stores import fhir as stores_fhir
from transforms.crypto import Keys
from transforms.fhir import compile_fhir_policy
from transforms.fhir.ids import new_id

from tests import oracles

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


@pytest.mark.parametrize("join", ["side", "keyed"])
@pytest.mark.parametrize("full_url", [PAT_UUID, "urn:uuid:pat-b"])
def test_a_resource_naming_another_bundles_patient_by_urn_uuid_gets_that_patients_shift_and_names(
        tmp_path, join, full_url):
    # broken code caught: the Observation grouped under its unlinked urn:uuid: subject, not the Patient's key, so
    # it got no date shift of its own patient (the date kept or shifted by another key) and the patient's name in
    # its note was not a context phrase — for a fullUrl that differs from the id and for urn:uuid:<id> alike
    src = tmp_path / "src"
    src.mkdir()
    patient = {"resourceType": "Patient", "id": "pat-b", "gender": "female",
               "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN-5521"}],
               "name": [{"family": "Harkstall", "given": ["Quenby"]}]}
    (src / "patients.json").write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": full_url, "resource": patient, "request": {"method": "POST", "url": "Patient"}}]}))
    observation = {"resourceType": "Observation", "id": "obs-1", "status": "final", "code": {"text": "weight"},
                   "subject": {"reference": full_url}, "effectiveDateTime": "2020-03-15",
                   "note": [{"text": "Harkstall weighed after breakfast."}]}
    (src / "observations.json").write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:3c3c3c3c-0000-4000-8000-000000000001", "resource": observation,
         "request": {"method": "POST", "url": "Observation"}}]}))
    dest = tmp_path / "dst"
    dest.mkdir()
    policy = compile_fhir_policy(None, reference_date=datetime.date(2025, 6, 1))
    with TestPipeline() as p:
        add_fhir_store_branch(p, str(src), str(dest), str(dest / ".deidflow" / "runs" / "r"), policy, KEYS,
                              join=join)
    out = {r["resourceType"]: r for f in dest.glob("*.ndjson") for r in map(json.loads, f.read_text().splitlines())}
    obs = out["Observation"]
    assert obs["subject"] == {"reference": f"Patient/{oracles.keyed_fhir_id(KEYS, 'pat-b')}"}
    assert obs["effectiveDateTime"] == (datetime.date(2020, 3, 15)
                                        + datetime.timedelta(days=oracles.days(KEYS, "MRN-5521"))).isoformat()
    assert "Harkstall" not in json.dumps(obs)

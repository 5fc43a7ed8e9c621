"""The shipped Safe Harbor default on a generated multi-patient store: no PHI survives, R4-valid, references resolve."""

from __future__ import annotations

import base64
import json

import pytest

from tests import oracles
from tests.conftest import deidentify_fhir_resources
from tests.fhir.conftest import REFERENCE_DATE, policy_of
from transforms.errors import DeidentifyError
from transforms.fhir import (
    default_config_json,
    deidentify_patient,
    deidentify_resource,
    patient_context,
    patient_reference,
    patient_shift_key,
)
from transforms.fhir.dates import shift_date
from transforms.fhir.safe_harbor import aggregate_age, zip3
from transforms.fhir.sample import sample_bundle, sample_store
from transforms.fhir.validate import r4_errors


def all_text(resources) -> str:
    """Every output byte, with base64 attachment data decoded too."""
    parts = [json.dumps(resources)]

    def walk(v):
        if isinstance(v, dict):
            if isinstance(v.get("data"), str):
                parts.append(base64.b64decode(v["data"]).decode("utf-8", "replace"))
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(resources)
    return "\n".join(parts)


def references(value, found=None):
    found = [] if found is None else found
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                found.append(v)
            else:
                references(v, found)
    elif isinstance(value, list):
        for v in value:
            references(v, found)
    return found


@pytest.fixture(scope="module")
def store():
    return sample_store(n_patients=4, seed=7)


@pytest.fixture(scope="module")
def output(store, default_policy, keys):
    return deidentify_fhir_resources(store.resources, default_policy, keys)


def test_sample_input_is_valid_r4_and_holds_the_phi(store):
    assert all(r4_errors(r) == [] for r in store.resources)
    text = all_text(store.resources)
    assert all(p in text for p in store.phi)
    kinds = {r["resourceType"] for r in store.resources}
    assert kinds >= {"Patient", "Encounter", "Observation", "Condition", "DiagnosticReport", "DocumentReference",
                     "Practitioner", "Organization", "ImagingStudy", "MedicationRequest"}  # fmt: skip


def test_no_known_phi_survives(store, output):
    text = all_text(output)
    assert [p for p in store.phi if p in text] == []


def test_every_output_validates_as_r4(output):
    assert {o["resourceType"] + "/" + o["id"]: r4_errors(o) for o in output if r4_errors(o)} == {}


def test_every_reference_resolves(output):
    ids = {f"{o['resourceType']}/{o['id']}" for o in output}
    refs = references(output)
    assert refs and [r for r in refs if r not in ids] == []


def test_ids_are_fhir_ids_and_differ(store, output, keys):
    import re

    for before, after in zip(store.resources, output, strict=True):
        assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", after["id"]) and after["id"] != before["id"]
        assert after["id"] == oracles.keyed_fhir_id(keys, before["id"])  # the documented derivation, not a shape


def test_dates_shift_by_patient_like_dicom(store, output, keys):
    # the DICOM side shifts with keys.date_shift_days(PatientID); the MRN is what DICOM holds as PatientID
    for before, after in zip(store.resources, output, strict=True):
        if before["resourceType"] == "Encounter":
            pid = before["subject"]["reference"].split("/")[1]
            days = oracles.days(keys, store.mrns[pid])
            assert after["period"]["start"] == shift_date(before["period"]["start"], days)
        if before["resourceType"] == "Patient":
            assert after["birthDate"] == shift_date(before["birthDate"], oracles.days(keys, store.mrns[before["id"]]))


def test_imaging_study_uids_map_like_dicom(store, output, keys):
    for before, after in zip(store.resources, output, strict=True):
        if before["resourceType"] == "ImagingStudy":
            uid = store.study_uids[before["id"]]
            expected = {"system": "urn:dicom:uid", "value": "urn:oid:" + oracles.keyed_uid(keys, uid)}
            assert after["identifier"][0] == expected
            assert after["series"][0]["uid"] == oracles.keyed_uid(keys, uid + ".1")
            assert after["series"][0]["instance"][0]["uid"] == oracles.keyed_uid(keys, uid + ".1.1")


def test_safe_harbor_choices(output):
    patient = next(o for o in output if o["resourceType"] == "Patient")
    assert not {"name", "telecom", "photo", "extension"} & set(patient)
    assert set(patient["address"][0]) <= {"state", "postalCode", "country"}
    assert len(patient["address"][0]["postalCode"]) == 3
    assert all(len(i["value"]) == 44 for i in patient["identifier"])  # keyed SHA-256, base64
    doc = next(o for o in output if o["resourceType"] == "DocumentReference")
    attachment = doc["content"][0]["attachment"]
    assert "in good condition" in base64.b64decode(attachment["data"]).decode()  # cleaned, not dropped
    assert attachment["size"] == len(base64.b64decode(attachment["data"]))


def test_binary_attachments_removed(default_policy, keys):
    media = {
        "resourceType": "Media", "id": "m", "status": "completed",
        "content": {"contentType": "image/png", "data": base64.b64encode(b"\x89PNG....").decode(), "size": 8},
    }  # fmt: skip
    out = deidentify_resource(media, default_policy, keys)
    assert out["content"] == {"contentType": "image/png"} and r4_errors(out) == []


def test_zip3_and_restricted_areas():
    assert zip3("02139", "US") == "021" and zip3("02139-4307", None) == "021"
    assert zip3("03601", "USA") == "000" and zip3("89301", "") == "000"
    assert zip3("SW1A 1AA", "UK") is None and zip3("1234", "US") is None


def test_ages_over_89_aggregated(default_policy, keys):
    assert aggregate_age({"value": 89, "unit": "years"}) == {"value": 89, "unit": "years"}
    assert aggregate_age({"value": 1100, "code": "mo"})["value"] == 90
    condition = {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"},
                 "onsetAge": {"value": 93, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}}  # fmt: skip
    out = deidentify_resource(condition, default_policy, keys)
    assert out["onsetAge"]["value"] == 90 and out["onsetAge"]["comparator"] == ">="
    old = {"resourceType": "Patient", "id": "p", "birthDate": "1920-05-05"}
    assert deidentify_resource(old, default_policy, keys)["birthDate"] == "1935"  # reference date 2025-06-01


def test_bundle_with_urn_uuid_references(default_policy, keys):
    bundle, sample = sample_bundle(n_patients=2, seed=3)
    out = deidentify_resource(bundle, default_policy, keys)
    assert r4_errors(out) == []
    full_urls = {e["fullUrl"] for e in out["entry"]}
    refs = references(out)
    assert refs and [r for r in refs if r not in full_urls] == []
    for entry in out["entry"]:
        assert entry["fullUrl"] == "urn:uuid:" + entry["resource"]["id"]
        assert entry["request"]["url"] == f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
    assert [p for p in sample.phi if p in all_text(out)] == []
    # the bundle resolves each entry's patient itself: the same shift as the store form
    enc_in = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter")
    enc_out = next(e["resource"] for e in out["entry"] if e["resource"]["resourceType"] == "Encounter")
    pid = enc_in["subject"]["reference"].rpartition(":")[2]
    assert enc_out["period"]["start"] == shift_date(enc_in["period"]["start"], oracles.days(keys, sample.mrns[pid]))


def test_deterministic_and_keyed(store, default_policy, keys):
    from transforms.crypto import Keys

    again = deidentify_fhir_resources(store.resources, default_policy, keys)
    assert json.dumps(again) == json.dumps(deidentify_fhir_resources(store.resources, default_policy, keys))
    other = deidentify_fhir_resources(store.resources, default_policy, Keys(run_key=b"\x07" * 32))
    assert other[0]["id"] != again[0]["id"]


def test_references_in_every_form(keys):
    from transforms.fhir import rewrite_reference

    n = oracles.keyed_fhir_id(keys, "123")
    assert rewrite_reference(keys, "Patient/123") == f"Patient/{n}"
    assert (
        rewrite_reference(keys, "https://h.example/fhir/Patient/123/_history/2")
        == f"https://h.example/fhir/Patient/{n}/_history/2"
    )
    assert rewrite_reference(keys, "urn:uuid:123") == f"urn:uuid:{n}"
    assert rewrite_reference(keys, "#123") == f"#{n}"
    conditional = rewrite_reference(keys, "Patient?identifier=MRN123")
    assert conditional.startswith("Patient/") and "MRN123" not in conditional


def test_default_config_is_a_valid_copyable_config(keys):
    from transforms.config import parse_config
    from transforms.fhir import compile_fhir_policy

    parsed = parse_config(default_config_json())
    assert parsed.fhir_field_config.profile_type == "BASIC"
    # behaviour, not a field's presence: the copied config de-identifies as the default does, contextual
    # de-identification included (the Patient's own name leaves another resource's free text)
    copied = compile_fhir_policy(parsed, reference_date=REFERENCE_DATE)
    patient = {"resourceType": "Patient", "id": "p", "name": [{"family": "Xqzvbrook", "given": ["Yolanthe"]}],
               "identifier": [{"value": "MRN-99"}]}
    note = {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "note"},
            "subject": {"reference": "Patient/p"}, "valueString": "Seen Xqzvbrook today"}
    context = patient_context(patient, copied, keys)
    assert "Xqzvbrook" in context
    out = deidentify_resource(note, copied, keys, patient="MRN-99", context=context)
    assert "Xqzvbrook" not in json.dumps(out)
    default = policy_of(None)
    default_context = patient_context(patient, default, keys)
    assert out == deidentify_resource(note, default, keys, patient="MRN-99", context=default_context)


def test_patient_links():
    assert patient_reference({"resourceType": "Patient", "id": "a"}) == "Patient/a"
    assert (
        patient_reference({"resourceType": "Coverage", "beneficiary": {"reference": "http://x/fhir/Patient/b"}})
        == "Patient/b"
    )
    assert patient_reference({"resourceType": "Observation", "subject": {"reference": "Group/g"}}) is None
    assert patient_shift_key({"resourceType": "Patient", "id": "a", "identifier": [{"value": "X1"}]}) == "X1"
    assert patient_shift_key({"resourceType": "Patient", "id": "a"}) == "Patient/a"


@pytest.mark.parametrize("seed", [7, 8])
def test_deidentify_patient_is_deidentify_resource_with_its_own_join_info(default_policy, keys, seed):
    # The pipeline de-identifies a Patient in its parse step with this one walk, instead of joining it to
    # itself: the output and the context phrases must be what the join would give.
    patients = [r for r in sample_store(n_patients=5, seed=seed).resources if r["resourceType"] == "Patient"]
    patients.append(dict(patients[0], text={"status": "generated",
                                            "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}))
    for patient in patients:
        context = patient_context(patient, default_policy, keys)
        expected = deidentify_resource(patient, default_policy, keys, patient=patient_shift_key(patient),
                                       context=context)
        assert deidentify_patient(patient, default_policy, keys) == (expected, context)
    with pytest.raises(DeidentifyError):
        deidentify_patient({"resourceType": "Observation"}, default_policy, keys)

"""Issue 17, item 2: valid in, valid out. An element the resource definition requires (min >= 1) that an action
empties is kept as the data-absent-reason extension (code ``masked``), never dropped."""

from __future__ import annotations

from tests.fhir.conftest import field_config, policy_of
from transforms.fhir import deidentify_resource
from transforms.fhir.validate import r4_errors

MASKED = {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}]}

SYNTHEA_CLAIM = {  # Synthea writes display-only References
    "resourceType": "Claim", "id": "c1", "status": "active", "type": {"text": "institutional"}, "use": "claim",
    "patient": {"reference": "Patient/p1"}, "created": "2020-01-01", "provider": {"display": "Hospital Ward 7"},
    "priority": {"coding": [{"code": "normal"}]},
    "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Cigna Health"}}],
}
SYNTHEA_EOB = {
    "resourceType": "ExplanationOfBenefit", "id": "e1", "status": "active", "type": {"text": "x"}, "use": "claim",
    "patient": {"reference": "Patient/p1"}, "created": "2020-01-01", "insurer": {"display": "Cigna Health"},
    "provider": {"reference": "Practitioner/d1"}, "outcome": "complete",
    "insurance": [{"focal": True, "coverage": {"reference": "#cov"}}],
    "contained": [{"resourceType": "Coverage", "id": "cov", "status": "active",
                   "beneficiary": {"reference": "Patient/p1"}, "payor": [{"display": "Cigna Health"}]}],
}


def test_display_only_references_become_masked_not_missing(default_policy, keys):
    # broken code caught: the walk dropping the emptied 1..1 Claim.insurance.coverage and Claim.provider
    assert r4_errors(SYNTHEA_CLAIM) == []
    out = deidentify_resource(SYNTHEA_CLAIM, default_policy, keys)
    assert out["insurance"] == [{"sequence": 1, "focal": True, "coverage": MASKED}]
    assert out["provider"] == MASKED
    assert r4_errors(out) == []
    assert "Cigna" not in str(out) and "Ward" not in str(out)


def test_eob_insurer_and_contained_coverage_payor_stay_valid(default_policy, keys):
    # broken code caught: 1..* Coverage.payor emptied to [] and dropped inside a contained resource
    assert r4_errors(SYNTHEA_EOB) == []
    out = deidentify_resource(SYNTHEA_EOB, default_policy, keys)
    assert out["insurer"] == MASKED
    assert out["contained"][0]["payor"] == [MASKED]
    assert r4_errors(out) == []


def test_removed_required_primitive_keeps_its_extension_holder(keys):
    # broken code caught: a REMOVE of Observation.status leaving a resource without its 1..1 status
    policy = policy_of(field_config({"paths": ["Observation.status"], "removeField": {}}))
    obs = {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}}
    out = deidentify_resource(obs, policy, keys)
    assert "status" not in out and out["_status"] == MASKED
    assert r4_errors(out) == []


def test_removed_required_backbone_gets_masked_required_children(keys):
    # broken code caught: a masked backbone element without its own 1..1 children (sequence, focal, coverage)
    policy = policy_of(field_config({"paths": ["Claim.insurance"], "removeField": {}}))
    out = deidentify_resource(SYNTHEA_CLAIM, policy, keys)
    (insurance,) = out["insurance"]
    assert insurance["coverage"] == MASKED and insurance["_sequence"] == MASKED and insurance["_focal"] == MASKED
    assert r4_errors(out) == []


def test_optional_elements_are_still_dropped(default_policy, keys):
    # broken code caught: masking every emptied element (optional ones must simply go)
    obs = {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"},
           "performer": [{"display": "Dr Alice Example"}]}
    out = deidentify_resource(obs, default_policy, keys)
    assert "performer" not in out and "extension" not in str(out)


def test_required_choice_group_keeps_the_inputs_choice(default_policy, keys):
    # broken code caught: a display-only medicationReference (medication[x] 1..1) dropped, or every choice masked
    request = {"resourceType": "MedicationRequest", "id": "m", "status": "active", "intent": "order",
               "subject": {"reference": "Patient/p"}, "medicationReference": {"display": "Aspirin for Zebediah"}}
    out = deidentify_resource(request, default_policy, keys)
    assert out["medicationReference"] == MASKED and "medicationCodeableConcept" not in out
    assert r4_errors(out) == []

"""The FieldMetadata path grammar of spec §2.3: names, types, suffixes, choice types, HumanName, first match wins."""

from __future__ import annotations

import pytest

from tests.fhir.conftest import field_config, policy_of
from transforms.errors import ConfigError
from transforms.fhir import deidentify_resource

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"family": "Smith", "given": ["John", "Q"], "use": "official"}],
    "address": [{"line": ["1 Main St"], "city": "Boston", "state": "MA", "postalCode": "02139"}],
    "gender": "male",
    "birthDate": "1950-03-02",
    "deceasedDateTime": "2020-01-01T10:00:00Z",
}


def remove(*paths: str) -> dict:
    return {"paths": list(paths), "removeField": {}}


def keep(*paths: str) -> dict:
    return {"paths": list(paths), "keepField": {}}


def mask(*paths: str) -> dict:
    return {"paths": list(paths), "characterMaskField": {}}


def run(config: dict, resource: dict, keys) -> dict:
    return deidentify_resource(resource, policy_of(config), keys)


@pytest.mark.parametrize(
    "path",
    ["Patient.address.city", "Patient.Address.city", "Address.city", "Patient.address.String", "Address.String"],
)
def test_field_type_and_suffix_forms_reach_city(path, keys):
    out = run(field_config(mask(path)), PATIENT, keys)
    address = out["address"][0]
    assert address["city"] == "******"
    if path.endswith("String"):  # the type matches every string of the address
        assert address["line"] == ["*********"] and address["state"] == "**"
    else:
        assert address["line"] == ["1 Main St"] and address["state"] == "MA"


def test_unmatched_fields_pass_through(keys):
    out = run(field_config(remove("Address.city")), PATIENT, keys)
    assert out["name"] == PATIENT["name"]
    assert out["birthDate"] == PATIENT["birthDate"] and out["gender"] == "male"
    assert "city" not in out["address"][0]


def test_suffix_must_end_at_the_element(keys):
    # "Patient.address" does not match Organization addresses; a suffix cannot skip steps
    org = {"resourceType": "Organization", "id": "o", "address": [{"city": "Boston"}]}
    assert run(field_config(remove("Patient.address")), org, keys)["address"] == [{"city": "Boston"}]
    with pytest.raises(ConfigError):  # "Patient.city" skips the address step: it names nothing in R4
        policy_of(field_config(remove("Patient.city")))


def test_humanname_subtype_can_be_omitted(keys):
    out = run(field_config(mask("HumanName")), PATIENT, keys)
    assert out["name"][0]["family"] == "*****" and out["name"][0]["given"] == ["****", "*"]
    out = run(field_config(mask("HumanName.given")), PATIENT, keys)
    assert out["name"][0]["family"] == "Smith" and out["name"][0]["given"] == ["****", "*"]


def test_choice_type_two_components(keys):
    history = {
        "resourceType": "FamilyMemberHistory", "id": "f", "status": "completed",
        "patient": {"reference": "Patient/p1"}, "relationship": {"text": "father"},
        "deceasedAge": {"value": 70, "unit": "years"},
    }  # fmt: skip
    out = run(field_config(mask("Deceased.Age.unit")), history, keys)
    assert out["deceasedAge"] == {"value": 70, "unit": "*****"}
    out = run(field_config(mask("FamilyMemberHistory.deceasedAge.unit")), history, keys)
    assert out["deceasedAge"]["unit"] == "*****"
    out = run(field_config(remove("Deceased")), history, keys)
    assert "deceasedAge" not in out


def test_r4_default_config_choice_spelling(keys):
    condition = {
        "resourceType": "Condition",
        "id": "c",
        "subject": {"reference": "Patient/p"},
        "onsetString": "as a child",
    }
    out = run(field_config(mask("Condition.OnsetX.string")), condition, keys)
    assert out["onsetString"] == "**********"
    dated = dict(condition, onsetDateTime="2001-02-03")
    del dated["onsetString"]
    assert run(field_config(mask("Condition.OnsetX.string")), dated, keys)["onsetDateTime"] == "2001-02-03"


def test_first_match_wins(keys):
    out = run(field_config(keep("HumanName.family"), remove("Patient.name")), PATIENT, keys)
    assert out["name"] == [{"family": "Smith"}]
    out = run(field_config(remove("Patient.name"), keep("HumanName.family")), PATIENT, keys)
    assert "name" not in out


@pytest.mark.parametrize(
    "path, message",
    [
        ("Patient.foo", "not a field"),
        ("Patiant.name", "not a FHIR R4 type"),
        ("Patient..name", "malformed"),
        ("Observation.birthDate", "matches no element"),
        ("", "non-empty"),
    ],
)
def test_bad_paths_are_config_errors_naming_the_json_path(path, message):
    config = field_config(keep("Patient.name"), remove("Address.city"), mask("HumanName"), remove("Patient.id", path))
    with pytest.raises(ConfigError) as err:
        policy_of(config)
    assert err.value.path == "fhirFieldConfig.fieldMetadataList[3].paths[1]"
    assert message in str(err.value)


def test_v1_bad_path_is_named():
    with pytest.raises(ConfigError) as err:
        policy_of({"fhir": {"fieldMetadataList": [{"action": "TRANSFORM", "paths": ["Patient.nmae"]}]}})
    assert err.value.path == "fhir.fieldMetadataList[0].paths[0]"

"""Every v1beta1 action and profile, the per-type support checks, options, extensions, and v1 FhirConfig."""

from __future__ import annotations

import base64

import pytest

from tests import oracles
from tests.fhir.conftest import field_config, policy_of
from tests.fhir.test_paths import PATIENT, keep, mask, remove
from transforms.errors import ConfigError, DeidentifyError
from transforms.fhir import deidentify_resource
from transforms.fhir.dates import shift_date

KEY = base64.b64encode(b"\x01" * 32).decode()


def act(action: str, *paths: str) -> dict:
    return {"paths": list(paths), action: {}}


def run(config: dict, resource: dict, keys, **kw) -> dict:
    return deidentify_resource(resource, policy_of(config), keys, **kw)


def test_keep_and_remove(keys):
    out = run(field_config(keep("Patient.name"), remove("Patient.birthDate")), PATIENT, keys)
    assert out["name"] == PATIENT["name"] and "birthDate" not in out


def test_character_mask_uses_options_character(keys):
    config = field_config(mask("Address.city"), characterMaskConfig={"maskingCharacter": "#"})
    assert run(config, PATIENT, keys)["address"][0]["city"] == "######"


def test_crypto_hash_is_keyed_and_deterministic(keys):
    config = field_config(act("cryptoHashField", "Address.city"))
    a = run(config, PATIENT, keys)["address"][0]["city"]
    assert a == keys.crypto_hash("Boston") and a != "Boston"
    keyed = field_config(act("cryptoHashField", "Address.city"), cryptoHashConfig={"cryptoKey": KEY})
    assert run(keyed, PATIENT, keys)["address"][0]["city"] == keys.crypto_hash("Boston", key=b"\x01" * 32)


def test_date_shift_keeps_precision_and_zone(keys):
    days = oracles.days(keys, "pat-key")
    config = field_config(act("dateShiftField", "Date", "DateTime"))
    resource = {
        "resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/x"},
        "onsetDateTime": "2020-03", "recordedDate": "2020-03-04T10:11:12.5+02:00",
        "abatementDateTime": "2021",
    }  # fmt: skip
    out = run(config, resource, keys, patient="pat-key")
    assert out["onsetDateTime"] == shift_date("2020-03", days)
    assert len(out["onsetDateTime"]) == 7 and len(out["abatementDateTime"]) == 4
    assert out["recordedDate"].endswith("T10:11:12.5+02:00") and out["recordedDate"] != resource["recordedDate"]


def test_shift_date_values():
    assert shift_date("2020-01-31", 1) == "2020-02-01"
    assert shift_date("2020-12-15T23:59:59Z", 20) == "2021-01-04T23:59:59Z"
    assert shift_date("2020-03", -1) == "2020-02"
    assert shift_date("2020", -1) == "2019"
    with pytest.raises(DeidentifyError):
        shift_date("03/04/2020", 1, "Patient.birthDate")


def test_date_shift_key_option(keys):
    config = field_config(act("dateShiftField", "Patient.birthDate"), dateShiftConfig={"cryptoKey": KEY})
    out = run(config, PATIENT, keys, patient="k")
    assert out["birthDate"] == shift_date("1950-03-02", oracles.days(keys, "k", key=b"\x01" * 32))


def test_clean_text_field_uses_text_engine_and_context(keys):
    obs = {
        "resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "note"},
        "subject": {"reference": "Patient/p"}, "valueString": "Call 617-555-0134 or email jo@example.org",
    }  # fmt: skip
    out = run(field_config(act("cleanTextField", "Value.String")), obs, keys)
    assert "617-555-0134" not in out["valueString"] and "jo@example.org" not in out["valueString"]
    out = run(field_config(act("cleanTextField", "Value.String")), dict(obs, valueString="Seen by Zork"), keys,
              context=["Zork"])  # fmt: skip
    assert out["valueString"] == "Seen by [CTX]"


def test_contextual_deid_collects_values_of_transformed_fields(keys):
    resource = dict(
        PATIENT,
        text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Xq Smith lives in Boston</div>'},
    )
    config = field_config(
        remove("HumanName", "Address.city"), act("cleanTextField", "Narrative.div"), contextualDeid={}
    )
    out = run(config, resource, keys)
    assert "Smith" not in out["text"]["div"] and "Boston" not in out["text"]["div"]
    assert "[CTX]" in out["text"]["div"]
    without = run(field_config(remove("HumanName"), keep("Patient.birthDate"), act("cleanTextField", "Narrative.div")),
                  dict(resource, text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Xqzv</div>'}), keys)  # fmt: skip
    assert "Xqzv" in without["text"]["div"]  # no context option: nothing collected, nothing found


def test_xhtml_stays_well_formed(keys):
    import xml.etree.ElementTree as ET

    div = '<div xmlns="http://www.w3.org/1999/xhtml"><p title="John Smith">Dr <b>John Smith</b> &amp; co, call 617-555-0134</p><br/></div>'
    resource = {"resourceType": "Basic", "id": "b", "code": {"text": "x"}, "text": {"status": "generated", "div": div}}
    out = run(field_config(act("cleanTextField", "Xhtml")), resource, keys, context=["John Smith"])
    root = ET.fromstring(out["text"]["div"])
    assert root.tag == "{http://www.w3.org/1999/xhtml}div"
    assert "John" not in out["text"]["div"] and "617-555-0134" not in out["text"]["div"]
    assert out["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml"><p title="[CTX]">')
    assert "&amp; co" in out["text"]["div"] and out["text"]["div"].endswith("<br/></div>")
    broken = dict(resource, text={"status": "generated", "div": "<div>John <b>Smith</div>"})
    out = run(field_config(act("cleanTextField", "Xhtml")), broken, keys)
    assert "John" not in out["text"]["div"]
    ET.fromstring(out["text"]["div"])


@pytest.mark.parametrize(
    "action, path",
    [
        ("dateShiftField", "Patient.name"),
        ("dateShiftField", "Address.city"),
        ("characterMaskField", "Patient.birthDate"),
        ("cryptoHashField", "Patient.address"),
        ("cryptoHashField", "Boolean"),
        ("cleanTextField", "Patient.active"),
        ("characterMaskField", "Integer"),
    ],
)
def test_unsupported_action_type_pairs_are_config_errors(action, path):
    with pytest.raises(ConfigError) as err:
        policy_of(field_config(keep("Patient.id"), act(action, path)))
    assert err.value.path == "fhirFieldConfig.fieldMetadataList[1].paths[0]"


@pytest.mark.parametrize(
    "action, path",
    [
        ("characterMaskField", "HumanName"), ("cryptoHashField", "Code"), ("characterMaskField", "Xhtml"),
        ("dateShiftField", "DateTime"), ("dateShiftField", "Instant"), ("cleanTextField", "Date"),
        ("cleanTextField", "Markdown"), ("keepField", "Address"), ("removeField", "Extension"),
    ],
)  # fmt: skip
def test_supported_action_type_pairs_compile(action, path):
    policy_of(field_config(act(action, path)))


def test_keep_all_profile_changes_only_ids(keys):
    out = run(field_config(), PATIENT, keys)
    assert {k: v for k, v in out.items() if k != "id"} == {k: v for k, v in PATIENT.items() if k != "id"}
    assert out["id"] != "p1"


def test_basic_is_the_default_profile(keys):
    for config in ({"fhirFieldConfig": {}}, {"fhirFieldConfig": {"profileType": "BASIC"}}):
        out = run(config, PATIENT, keys)
        assert "name" not in out and out["address"][0] == {"state": "MA", "postalCode": "021"}
        assert out["birthDate"] != PATIENT["birthDate"]


def test_clean_all_profile(keys):
    resource = dict(PATIENT, maritalStatus={"text": "Married to Jane Doe, call 617-555-0134"})
    out = run({"fhirFieldConfig": {"profileType": "CLEAN_ALL"}}, resource, keys)
    assert "617-555-0134" not in str(out) and "Jane Doe" not in str(out)
    assert out["birthDate"] != PATIENT["birthDate"]  # dates under cleanTextField: DATE is date shifted


def test_extensions_dropped_by_default_and_kept_on_request(keys):
    resource = dict(
        PATIENT,
        extension=[{"url": "http://x/ext", "valueString": "Boston"}],
        _birthDate={"extension": [{"url": "http://x/t", "valueDateTime": "1950-03-02T08:00:00Z"}]},
        modifierExtension=[{"url": "http://x/m", "valueBoolean": True}],
    )
    out = run(field_config(remove("Address.city")), resource, keys)
    assert "extension" not in out and "_birthDate" not in out and "modifierExtension" not in out
    kept = run(field_config(act("dateShiftField", "DateTime"), keepExtensions={}), resource, keys, patient="k")
    assert kept["extension"] == resource["extension"]
    assert kept["_birthDate"]["extension"][0]["valueDateTime"] != "1950-03-02T08:00:00Z"  # rules apply inside
    v1 = run({"fhir": {"defaultKeepExtensions": True}}, resource, keys)
    assert v1["extension"] == resource["extension"]
    assert "extension" not in run({"fhir": {}}, resource, keys)


def test_v1_actions(keys):
    config = {
        "fhir": {"fieldMetadataList": [
            {"action": "DO_NOT_TRANSFORM", "paths": ["Patient.name.given"]},
            {"action": "TRANSFORM", "paths": ["Patient.name", "Patient.birthDate"]},
            {"action": "INSPECT_AND_TRANSFORM", "paths": ["Patient.address.line"]},
            {"paths": ["Patient.gender"]},
        ]},
        "text": {"additionalTransformations": [{"characterMaskConfig": {"maskingCharacter": "x"}}]},
    }  # fmt: skip
    resource = dict(PATIENT, address=[{"line": ["Call 617-555-0134"], "city": "Boston"}])
    out = run(config, resource, keys, patient="k")
    assert out["name"][0]["given"] == ["John", "Q"]  # first match wins
    assert out["name"][0]["family"] == "xxxxx"  # TRANSFORM: the default transformation (mask)
    assert "birthDate" not in out  # a mask cannot apply to a date: redacted
    assert "617-555-0134" not in out["address"][0]["line"][0] and out["address"][0]["city"] == "Boston"
    assert out["gender"] == "male"  # ACTION_UNSPECIFIED = DO_NOT_TRANSFORM


def test_v1_transform_with_default_text_profile(keys):
    config = {"fhir": {"fieldMetadataList": [{"action": "TRANSFORM", "paths": ["Patient.name", "Patient.birthDate"]}]}}
    out = run(config, PATIENT, keys, patient="k")
    assert "name" not in out  # BASIC text profile: [PERSON_NAME] replacement, which TRANSFORM turns into redaction
    assert out["birthDate"] == shift_date("1950-03-02", oracles.days(keys, "k"))


def test_unknown_fields_and_types_are_element_errors_without_values(keys):
    policy = policy_of(field_config())
    with pytest.raises(DeidentifyError) as err:
        deidentify_resource(dict(PATIENT, secretNote="John Smith"), policy, keys)
    assert err.value.code == "INVALID_ARGUMENT" and "Patient: an unknown element" in str(err.value)
    assert "secretNote" not in str(err.value)  # a key from the data is never spelled out (issue 18)
    assert "John" not in str(err.value)
    for bad in ({"id": "x"}, {"resourceType": "NotAType"}, {"resourceType": "Patient", "name": ["John Smith"]}):
        with pytest.raises(DeidentifyError) as err:
            deidentify_resource(bad, policy, keys)
        assert "John" not in str(err.value)
    with pytest.raises(DeidentifyError):
        deidentify_resource(
            dict(PATIENT, birthDate="2 March 1950"), policy_of(field_config(act("dateShiftField", "Date"))), keys
        )


def test_input_is_not_modified(keys, default_policy):
    import copy

    before = copy.deepcopy(PATIENT)
    deidentify_resource(PATIENT, default_policy, keys)
    assert PATIENT == before


def test_policy_pickles(default_policy, keys):
    import pickle

    clone = pickle.loads(pickle.dumps(default_policy))
    assert deidentify_resource(PATIENT, clone, keys) == deidentify_resource(PATIENT, default_policy, keys)

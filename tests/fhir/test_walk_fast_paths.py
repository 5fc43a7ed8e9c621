"""The walk's shortcuts (deidentify.py, dates.py, ids.py, codec.py) give what the element-by-element walk gives.

Each test warms a policy's plans first where a shortcut depends on what the plans have seen, then checks a
hand-written expected output: an object copied whole must still lose what a rule or the extension setting drops,
a removed primitive must still become a context phrase, a cached date must still depend on the patient's days.
"""

from __future__ import annotations

import json

import pytest

from tests import oracles
from tests.fhir.conftest import field_config, policy_of
from transforms.errors import DeidentifyError
from transforms.fhir import dates, deidentify_resource, ids, patient_context
from transforms.fhir.codec import JsonDecimal, loads
from transforms.fhir.dates import shift_date

LOINC = {"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}


def observation(*codings: dict, **more) -> dict:
    return {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"coding": list(codings)}, **more}


# --- objects copied whole: every key a plain copy --------------------------------------------------------------


def test_all_pass_object_is_a_copy_not_the_input(keys):
    policy = policy_of(field_config())  # KEEP_ALL: a Coding is all plain copies
    deidentify_resource(observation(dict(LOINC)), policy, keys)  # the plans learn that: the next one is copied whole
    resource = observation(dict(LOINC))
    out = deidentify_resource(resource, policy, keys)
    assert out["code"]["coding"] == [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]
    out["code"]["coding"][0]["display"] = "changed"
    assert resource["code"]["coding"][0]["display"] == "Heart rate"  # the output never aliases the input


def test_a_key_not_seen_before_still_gets_its_action(keys):
    # warm: the Coding plan has seen system and code only (both plain copies); then a Coding with a display that a
    # rule masks, and one with an extension (dropped: extensions are not kept by default)
    policy = policy_of(field_config({"paths": ["Coding.display"], "characterMaskField": {}}))
    deidentify_resource(observation({"system": "http://loinc.org", "code": "8867-4"}), policy, keys)
    for _ in range(2):  # the second time, the plan has seen display too
        out = deidentify_resource(observation(dict(LOINC)), policy, keys)
        assert out["code"]["coding"] == [{"system": "http://loinc.org", "code": "8867-4", "display": "**********"}]
    with_extension = {"system": "http://loinc.org", "code": "8867-4",
                      "extension": [{"url": "http://x", "valueString": "a"}]}
    out = deidentify_resource(observation(with_extension), policy, keys)
    assert out["code"]["coding"] == [{"system": "http://loinc.org", "code": "8867-4"}]


def test_an_unknown_key_in_a_warm_all_pass_object_is_an_error(keys):
    policy = policy_of(field_config())
    deidentify_resource(observation(dict(LOINC)), policy, keys)
    with pytest.raises(DeidentifyError, match=r"Observation\.code\.coding: an unknown element"):
        deidentify_resource(observation({**LOINC, "notAnElement": "x"}), policy, keys)


def test_an_empty_object_is_dropped_and_its_list_with_it(keys):
    policy = policy_of(field_config())
    deidentify_resource(observation(dict(LOINC)), policy, keys)
    out = deidentify_resource(observation({}, dict(LOINC), {}), policy, keys)
    assert out["code"] == {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]}
    out = deidentify_resource(observation(dict(LOINC), category=[{"coding": [{}]}, {"text": "vital-signs"}]), policy,
                              keys)
    assert out["category"] == [{"text": "vital-signs"}]  # 0..*: an emptied CodeableConcept goes
    out = deidentify_resource(observation({}), policy, keys)  # code is 1..1: emptied, it is marked absent
    assert out["code"] == {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                                          "valueCode": "masked"}]}


def test_a_copied_object_keeps_its_key_order_and_nulls(keys):
    policy = policy_of(field_config())
    coding = {"display": "Heart rate", "userSelected": None, "code": "8867-4"}
    out = deidentify_resource(observation(coding), policy, keys)
    assert json.dumps(out["code"]["coding"][0]) == '{"display": "Heart rate", "userSelected": null, "code": "8867-4"}'


# --- removed primitives (the walk's _DROP): context phrases and extensions ---------------------------------------


def test_removed_values_become_context_phrases_in_walk_order(keys):
    policy = policy_of(None)  # the shipped default: names and telecoms removed, contextual
    patient = {
        "resourceType": "Patient", "id": "p1",
        "name": [{"family": "Zyxwv", "given": ["Abcde", "Q", "Fghij"]}],
        "telecom": [{"system": "phone", "value": "555-0199"}, {"system": "email"}],
    }  # fmt: skip
    # "Q" is one character (never a phrase), "phone" is a code (not a phrase type): what is left, in order
    assert patient_context(patient, policy, keys) == ("Zyxwv", "Abcde", "Fghij", "555-0199")
    out = deidentify_resource(patient, policy, keys)
    assert out == {"resourceType": "Patient", "id": oracles.keyed_fhir_id(keys, "p1")}


def test_removed_non_strings_and_nulls_are_no_phrases(keys):
    policy = policy_of(None)
    for name in ({"family": None, "given": [None, "Klmno", 7, "R"]}, {"family": "Q", "text": 7, "given": ["Klmno"]}):
        patient = {"resourceType": "Patient", "id": "p1", "name": [name]}
        assert patient_context(patient, policy, keys) == ("Klmno",)


KEEP_EXTENSIONS = {"keepExtensions": {}}


@pytest.mark.parametrize("holder_first", [False, True])
def test_a_removed_primitive_takes_its_extensions_along(keys, holder_first):
    policy = policy_of(field_config({"paths": ["Patient.gender"], "removeField": {}}, **KEEP_EXTENSIONS))
    holder = {"extension": [{"url": "http://example.org/x", "valueCode": "y"}]}
    items = [("gender", "male"), ("_gender", holder)]
    patient = {"resourceType": "Patient", "id": "p1", **dict(items[::-1] if holder_first else items)}
    out = deidentify_resource(patient, policy, keys)
    assert out == {"resourceType": "Patient", "id": oracles.keyed_fhir_id(keys, "p1")}
    kept = {"resourceType": "Patient", "id": "p1", "_birthDate": holder, "birthDate": "1970-01-02"}
    out = deidentify_resource(kept, policy, keys)  # a primitive kept: its extensions stay
    assert out == {"resourceType": "Patient", "id": oracles.keyed_fhir_id(keys, "p1"), "_birthDate": holder,
                   "birthDate": "1970-01-02"}


def test_a_required_element_a_rule_removed_is_marked_absent(keys):
    policy = policy_of(field_config({"paths": ["Observation.status"], "removeField": {}}))
    out = deidentify_resource({"resourceType": "Observation", "id": "o1", "status": "final"}, policy, keys)
    assert out == {"resourceType": "Observation", "id": oracles.keyed_fhir_id(keys, "o1"), "_status": {
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}]}}


# --- remembered results ------------------------------------------------------------------------------------------


def test_shifted_dates_depend_on_the_days_not_only_the_value():
    for _ in range(2):  # the second round reads what the first remembered
        assert shift_date("2020-01-31", 1) == "2020-02-01"
        assert shift_date("2020-01-31", -31) == "2019-12-31"
        assert shift_date("2020-02", 30) == "2020-03"
        assert shift_date("2020-01-31T10:00:00+02:00", 1) == "2020-02-01T10:00:00+02:00"


def test_times_of_a_day_share_its_shift_and_keep_their_time():
    assert shift_date("2019-03-31", 2) == "2019-04-02"  # the day remembered alone, then as the start of times
    assert shift_date("2019-03-31T23:59:59.999+14:00", 2) == "2019-04-02T23:59:59.999+14:00"
    assert shift_date("2019-03-31T00:00:00Z", 2) == "2019-04-02T00:00:00Z"
    assert shift_date("2019-03-31T08:00:00Z", -31) == "2019-02-28T08:00:00Z"  # the same day, other days: its own
    assert shift_date("2019-03-31T09:30:00Z", -31) == "2019-02-28T09:30:00Z"  # ... remembered from the time before
    for not_a_time in ("2019-03-31X08:00", "2019-03-31 08:00"):  # a known day followed by anything but T
        with pytest.raises(DeidentifyError, match="not a FHIR date"):
            shift_date(not_a_time, 2, "Observation.issued")


def test_a_date_that_fails_fails_each_time_naming_each_place():
    for where in ("Observation.issued", "Condition.recordedDate"):
        with pytest.raises(DeidentifyError, match=rf"^INVALID_ARGUMENT: {where}: not a FHIR date"):
            shift_date("2020-13-45x", 3, where)


def test_remembered_dates_stay_bounded(monkeypatch):
    monkeypatch.setattr(dates, "SHIFT_CACHE_SIZE", 4)
    monkeypatch.setattr(dates, "_SHIFTED", {})
    for day in range(1, 11):
        assert shift_date(f"2021-03-{day:02d}", 2) == f"2021-03-{day + 2:02d}"
        assert len(dates._SHIFTED) <= 4


def test_same_date_two_patients_two_shifts(keys):
    policy = policy_of(None)
    condition = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/a"},
                 "recordedDate": "2015-09-10"}
    for patient in ("mrn-1", "mrn-2", "mrn-1"):
        out = deidentify_resource(condition, policy, keys, patient=patient)
        assert out["recordedDate"] == oracles.shifted("2015-09-10", keys.run_key, patient)


def test_reference_keys_remembered_as_computed():
    for _ in range(2):
        assert ids.reference_key("Patient/123") == "Patient/123"
        assert ids.reference_key("https://fhir.example/r4/Patient/abc/_history/2") == "Patient/abc"
        assert ids.reference_key("urn:uuid:0000") == "urn:uuid:0000"
        assert ids.reference_key("") is None


# --- the exact JSON parse with one decoder -------------------------------------------------------------------------


def test_loads_keeps_decimal_text_and_rejects_what_json_loads_rejects():
    doc = loads(b'{"a": 1.50, "b": [1e3, 12345678901234567890], "c": "\\u00e9"}')
    assert isinstance(doc["a"], JsonDecimal) and doc["a"].text == "1.50" and doc["b"][0].text == "1e3"
    assert doc["b"][1] == 12345678901234567890 and doc["c"] == "é"
    assert loads(b"\xef\xbb\xbf{\"a\": 2}") == {"a": 2}  # bytes: a UTF-8 BOM is dropped, as json.loads does
    assert loads('{"a": 3}'.encode("utf-16")) == {"a": 3}
    with pytest.raises(ValueError, match="BOM"):
        loads('\ufeff{"a": 1}')  # a str with a BOM is not JSON
    for bad in (b'{"a": NaN}', b'{"a": 1', b'{"a": 1} x'):
        with pytest.raises(ValueError):
            loads(bad)
    with pytest.raises(TypeError):
        loads(12)


# --- a processor's value without the _leaf call; references; cleaned text fitted back ---------------------------------


def test_a_shifted_value_is_still_a_context_phrase(keys):
    patient = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Zyxwv"}], "birthDate": "1980-05-06",
               "gender": "female"}
    assert patient_context(patient, policy_of(None), keys) == ("Zyxwv", "1980-05-06")


def test_references_needing_resolution_are_resolved_and_the_rest_rewritten(keys):
    policy = policy_of(None)
    encounter = {
        "resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
        "subject": {"reference": "Patient?identifier=http://mrn|123"},
        "participant": [{"individual": {"reference": "urn:uuid:9f0a"}},
                        {"individual": {"reference": "Practitioner/d1"}}],
        "serviceProvider": {"reference": "Organization?name=x"},
    }  # fmt: skip
    stats: dict = {}
    out = deidentify_resource(encounter, policy, keys, targets={"Patient?identifier=http://mrn|123": "Patient/abc"},
                              stats=stats)
    assert out["subject"] == {"reference": "Patient/" + oracles.keyed_fhir_id(keys, "abc")}
    assert out["participant"] == [{"individual": {"reference": "urn:uuid:" + oracles.keyed_fhir_id(keys, "9f0a")}},
                                  {"individual": {"reference": "Practitioner/" + oracles.keyed_fhir_id(keys, "d1")}}]
    # a conditional reference without a target: an opaque id of the whole reference, counted as unresolved
    assert out["serviceProvider"] == {"reference": "Organization/" + oracles.keyed_fhir_id(keys, "Organization?name=x")}
    assert stats == {"unresolved": 2}  # the urn:uuid: and the Organization search, not the resolved Patient


def test_a_cleaned_value_is_fitted_back_to_its_type_only_when_it_changed(keys):
    policy = policy_of(field_config({"paths": ["Identifier.system"], "cleanTextField": {}}, contextualDeid={}))
    patient = {"resourceType": "Patient", "id": "p1",
               "identifier": [{"system": "urn:a b Zyxwvut", "value": "1"}, {"system": "urn:c d", "value": "2"}]}
    out = deidentify_resource(patient, policy, keys, context=["Zyxwvut"])
    # a changed Uri has no whitespace left; an unchanged one is kept as written
    assert out["identifier"] == [{"system": "urn:a_b_[CTX]", "value": "1"}, {"system": "urn:c d", "value": "2"}]

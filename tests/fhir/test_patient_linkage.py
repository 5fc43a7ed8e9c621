"""Issue 17, item 4: every reference field that can name the patient (lists too) ties a resource to its patient's
date shift and context phrases, as the R4 patient compartment defines."""

from __future__ import annotations

import pytest

from tests.conftest import deidentify_fhir_resources
from transforms.fhir.ids import patient_reference

PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Quackenbush", "given": ["Zebediah"]}],
           "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN-778"}]}
ENCOUNTER = {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
             "subject": {"reference": "Patient/p1"}, "period": {"start": "2020-03-10"}}


@pytest.mark.parametrize("resource", [
    {"resourceType": "Account", "subject": [{"reference": "Device/d1"}, {"reference": "Patient/p1"}]},
    {"resourceType": "Consent", "patient": {"reference": "Patient/p1"}},
    {"resourceType": "Group", "member": [{"entity": {"reference": "Patient/p1"}}]},
    {"resourceType": "Schedule", "actor": [{"reference": "Patient/p1"}]},
    {"resourceType": "Appointment", "participant": [{"actor": {"reference": "Practitioner/x"}},
                                                    {"actor": {"reference": "Patient/p1"}}]},
    {"resourceType": "Provenance", "target": [{"reference": "Patient/p1/_history/2"}]},
    {"resourceType": "Observation", "subject": {"reference": "Group/g"}, "performer": [{"reference": "Patient/p1"}]},
])
def test_compartment_fields_name_the_owner(resource):
    # broken code caught: patient_reference skipping list-valued and nested compartment fields
    assert patient_reference(resource) == "Patient/p1"


def test_non_patient_lists_name_no_owner():
    # broken code caught: taking the first reference of a list whatever its type
    assert patient_reference({"resourceType": "Account", "subject": [{"reference": "Device/d1"}]}) is None


def test_account_with_a_list_subject_shifts_and_cleans_with_its_patient(default_policy, keys):
    # broken code caught: an Account (subject 0..*) shifted with its own key and cleaned without the patient's name
    account = {"resourceType": "Account", "id": "a1", "status": "active",
               "subject": [{"reference": "Patient/p1"}], "servicePeriod": {"start": "2020-03-10"},
               "description": "Account of Zebediah Quackenbush"}
    _, enc, acc = deidentify_fhir_resources([PATIENT, ENCOUNTER, account], default_policy, keys)
    assert acc["servicePeriod"]["start"] == enc["period"]["start"] != "2020-03-10"
    assert "Quackenbush" not in str(acc) and "Zebediah" not in str(acc)

"""Issue 17, item 8: ids and references inside narrative are rewritten like the elements; the default config
removes Account.name (the account holder's name) and cleans Group.name."""

from __future__ import annotations

from transforms.fhir import deidentify_resource, new_id

XHTML = "http://www.w3.org/1999/xhtml"


def test_narrative_references_are_rewritten_like_elements(default_policy, keys):
    # broken code caught: text.div keeping "Patient/<original id>" while subject.reference is pseudonymized
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"},
           "subject": {"reference": "Patient/orig-77"},
           "text": {"status": "generated", "div": f'<div xmlns="{XHTML}">For Patient/orig-77 in '
                                                  f'Encounter/enc-9 (urn:uuid:0e0c1f6a-1111-4a7b-8c3d-000000000001)'
                                                  f' at 5 mg/dL</div>'}}
    out = deidentify_resource(obs, default_policy, keys)
    div = out["text"]["div"]
    assert "orig-77" not in div and "enc-9" not in div and "000000000001" not in div
    assert out["subject"]["reference"] == f"Patient/{new_id(keys, 'orig-77')}"
    assert f"Patient/{new_id(keys, 'orig-77')}" in div and f"Encounter/{new_id(keys, 'enc-9')}" in div
    assert "mg/dL" in div  # not a resource type: left alone


def test_account_name_is_removed_and_group_name_cleaned(default_policy, keys):
    # broken code caught: a default config keeping Account.name (the patient's name) verbatim
    account = {"resourceType": "Account", "id": "a", "status": "active", "name": "Zebediah Quackenbush"}
    assert "name" not in deidentify_resource(account, default_policy, keys)
    group = {"resourceType": "Group", "id": "g", "type": "person", "actual": True, "name": "Zebediah Quackenbush"}
    out = deidentify_resource(group, default_policy, keys, context=("Zebediah", "Quackenbush"))
    assert "Zebediah" not in str(out) and "Quackenbush" not in str(out)


def test_r4_default_free_text_paths_are_cleaned(default_policy, keys):
    # broken code caught: a default config without the R4 default's free-text paths (Condition.OnsetX.string, ...)
    condition = {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"},
                 "onsetString": "when Zebediah Quackenbush fell", "code": {"text": "x"}}
    out = deidentify_resource(condition, default_policy, keys, context=("Zebediah", "Quackenbush"))
    assert out["onsetString"] == "when [CTX] fell"  # the phrases are merged into one match
    audit = {"resourceType": "AuditEvent", "id": "a", "type": {"code": "x"}, "recorded": "2020-01-01T00:00:00Z",
             "agent": [{"requestor": True, "altId": "u-12345"}], "source": {"observer": {"reference": "Device/1"}}}
    assert deidentify_resource(audit, default_policy, keys)["agent"][0]["altId"] != "u-12345"

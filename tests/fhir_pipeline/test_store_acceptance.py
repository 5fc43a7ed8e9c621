"""Issue 17, acceptance: a generated multi-bundle store as real exports look (Synthea-like: shared Organizations
in a bundle of their own, display-only references, conditional and cross-bundle urn:uuid references, list-valued
subjects, an Organization copied into two bundles, identifiers repeated in narrative and attachments) through
``fhir-stores deidentify`` with the default config: 0 invalid resources, 0 dangling references, 0 identifying
values in any string (attachments decoded, narrative included), copies collapsed, nothing failed."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import error_records, run_cli, store_files, summary_from_stdout, write_store
from transforms.fhir.validate import r4_errors

pytestmark = pytest.mark.pipeline
DATASET = "projects/p1/locations/us/datasets/ds"
SOURCE = f"{DATASET}/fhirStores/src"
DEST = f"{DATASET}/fhirStores/dst"
XHTML = "http://www.w3.org/1999/xhtml"
ORG = "0e0c1f6a-1111-4a7b-8c3d-000000000001"
P1, P2 = "5a5a5a5a-2222-4a7b-8c3d-000000000002", "5a5a5a5a-2222-4a7b-8c3d-000000000003"
SYNTHEA = "https://github.com/synthetichealth/synthea"
# What must not survive anywhere in the output.
IDENTIFYING = ["Zebediah", "Quackenbush", "Philomena", "Wigglesworth", "QX-88120-MRN", "QX-99231-MRN",
               "555-0199", "ZRQ-4471-ACC", "PLC-77120-SR"]


def _div(text: str) -> dict:
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{text}</div>'}


def _patient(pid: str, given: str, family: str, mrn: str, note: str = "") -> dict:
    return {"resourceType": "Patient", "id": pid, "text": _div(f"{given} {family}, MRN {mrn}{note}"),
            "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                  "code": "MR"}]}, "system": "urn:mrn", "value": mrn}],
            "name": [{"family": family, "given": [given]}], "telecom": [{"system": "phone", "value": "555-0199"}],
            "gender": "female", "birthDate": "1961-04-12"}


def _entry(resource: dict) -> dict:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"]}}


def _store() -> dict[str, bytes]:
    org = {"resourceType": "Organization", "id": ORG, "name": "General Hospital",
           "identifier": [{"system": SYNTHEA, "value": "org-1"}]}
    hospital = {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(org)]}
    p1 = _patient(P1, "Zebediah", "Quackenbush", "QX-88120-MRN", "; last study ZRQ-4471-ACC")
    enc = {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
           "subject": {"reference": f"urn:uuid:{P1}"}, "period": {"start": "2020-03-10T10:00:00Z"},
           "serviceProvider": {"reference": f"Organization?identifier={SYNTHEA}|org-1", "display": "General Hospital"}}
    claim = {"resourceType": "Claim", "id": "c1", "status": "active", "type": {"text": "institutional"},
             "use": "claim", "patient": {"reference": f"urn:uuid:{P1}"}, "created": "2020-03-10",
             "provider": {"display": "General Hospital"}, "priority": {"coding": [{"code": "normal"}]},
             "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Cigna Health"}}]}
    eob = {"resourceType": "ExplanationOfBenefit", "id": "eob1", "status": "active", "type": {"text": "x"},
           "use": "claim", "patient": {"reference": f"urn:uuid:{P1}"}, "created": "2020-03-10",
           "insurer": {"display": "Cigna Health"},
           "provider": {"reference": f"Organization?identifier={SYNTHEA}|org-1"},
           "outcome": "complete", "insurance": [{"focal": True, "coverage": {"reference": "#cov"}}],
           "contained": [{"resourceType": "Coverage", "id": "cov", "status": "active",
                          "beneficiary": {"reference": f"urn:uuid:{P1}"}, "payor": [{"display": "Cigna Health"}]}]}
    study = {"resourceType": "ImagingStudy", "id": "img1", "status": "available",
             "subject": {"reference": f"urn:uuid:{P1}"},
             "identifier": [{"type": {"coding": [{"code": "ACSN"}]}, "system": "urn:acc", "value": "ZRQ-4471-ACC"}]}
    order = {"resourceType": "ServiceRequest", "id": "sr1", "status": "active", "intent": "order",
             "subject": {"reference": f"urn:uuid:{P1}"}, "identifier": [{"system": "urn:placer",
                                                                         "value": "PLC-77120-SR"}]}
    report = {"resourceType": "DiagnosticReport", "id": "dr1", "status": "final", "code": {"text": "CT"},
              "subject": {"reference": f"urn:uuid:{P1}"},
              "text": _div("Study ZRQ-4471-ACC ordered as PLC-77120-SR for Zebediah Quackenbush")}
    note = "Accession ZRQ-4471-ACC, order PLC-77120-SR: Zebediah Quackenbush (QX-88120-MRN) tolerated the scan."
    doc = {"resourceType": "DocumentReference", "id": "doc1", "status": "current",
           "subject": {"reference": f"urn:uuid:{P1}"},
           "content": [{"attachment": {"contentType": "text/plain",
                                       "data": base64.b64encode(note.encode()).decode()}}]}
    account = {"resourceType": "Account", "id": "acc1", "status": "active", "name": "Zebediah Quackenbush",
               "subject": [{"reference": f"urn:uuid:{P1}"}], "servicePeriod": {"start": "2020-03-10"}}
    patient_bundle = {"resourceType": "Bundle", "type": "transaction",
                      "entry": [_entry(r) for r in (p1, enc, claim, eob, study, order, report, doc, account)]}
    p2 = _patient(P2, "Philomena", "Wigglesworth", "QX-99231-MRN")
    role = {"resourceType": "PractitionerRole", "id": "role1", "organization": {"reference": f"urn:uuid:{ORG}"}}
    second = {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(p2), _entry(role), _entry(org)]}
    consent = {"resourceType": "Consent", "id": "cons1", "status": "active", "scope": {"text": "x"},
               "category": [{"text": "x"}], "patient": {"reference": f"Patient/{P2}"}, "dateTime": "2021-01-02"}
    group = {"resourceType": "Group", "id": "g1", "type": "person", "actual": True,
             "member": [{"entity": {"reference": f"Patient/{P2}"}}]}
    return {
        "hospital.json": json.dumps(hospital).encode(),
        "patient-1.json": json.dumps(patient_bundle).encode(),
        "patient-2.json": json.dumps(second).encode(),
        "Misc.ndjson": b"\n".join(json.dumps(r).encode() for r in (consent, group)) + b"\n",
    }


def _strings(value, out: list[str]) -> list[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(k)
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    elif isinstance(value, str):
        out.append(value)
        try:
            out.append(base64.b64decode(value, validate=True).decode("utf-8", "replace"))
        except ValueError:
            pass
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("acceptance") / "stores"
    write_store(root, SOURCE, _store())
    proc = run_cli("fhir-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root),
                   "--reference-date", "2025-06-01")
    out = [json.loads(line) for data in store_files(root / DEST).values() for line in data.splitlines()]
    return proc, out, root


def test_nothing_fails_and_copies_collapse(run):
    # broken code caught: the Organization copy as ALREADY_EXISTS (item 6); a display-only reference as a failure
    proc, out, root = run
    assert proc.returncode == 0, proc.stderr
    summary = summary_from_stdout(proc.stdout)
    assert summary["metadata"]["counter"] == {"success": "15", "failure": "0"}
    assert summary["deidflow"]["collapsedCopies"] == "1"
    assert "unresolvedReferences" not in summary["deidflow"]
    assert error_records(root / DEST) == []
    assert sorted(r["resourceType"] for r in out) == sorted(
        ["Organization", "Patient", "Encounter", "Claim", "ExplanationOfBenefit", "ImagingStudy", "ServiceRequest",
         "DiagnosticReport", "DocumentReference", "Account", "Patient", "PractitionerRole", "Consent", "Group"])


def test_every_output_resource_is_valid_r4(run):
    # broken code caught: emptied 1..1 Claim.insurance.coverage / EOB.insurer / Coverage.payor dropped (item 2)
    _, out, _ = run
    assert {r["resourceType"]: r4_errors(r) for r in out if r4_errors(r)} == {}


def test_no_reference_dangles(run):
    # broken code caught: urn:uuid resolved per bundle only, conditional references hashed (item 5)
    _, out, _ = run
    stored = {f"{r['resourceType']}/{r['id']}" for r in out}
    references = [s for r in out for s in _refs(r)]
    assert len(references) == 14
    assert [ref for ref in references if not ref.startswith("#") and ref not in stored] == []


def _refs(value) -> list[str]:
    if isinstance(value, dict):
        return ([value["reference"]] if isinstance(value.get("reference"), str) else []) + [
            r for k, v in value.items() if k != "contained" for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def test_no_identifying_value_in_any_string(run):
    # broken code caught: identifiers of one resource (accession, placer number) kept in another's narrative or
    # attachment of the same patient (item 7), Account.name kept, list-subject Account not linked (item 4)
    _, out, _ = run
    strings = _strings(out, [])
    leaks = sorted({v for v in IDENTIFYING for s in strings if v.lower() in s.lower()})
    assert leaks == []


def test_list_subject_account_and_consent_shift_with_their_patients(run):
    # broken code caught: Account.subject (a list) not tied to its patient: shifted with its own key (item 4)
    _, out, _ = run
    by_type = {r["resourceType"]: r for r in out}
    assert by_type["Account"]["servicePeriod"]["start"] == by_type["Claim"]["created"] != "2020-03-10"

"""Synthetic, Synthea-like FHIR R4 data: seeded, deterministic, with the list of PHI strings it planted.

``sample_store`` makes the resources of a small multi-patient FHIR store (relative ``Type/id`` references),
``sample_bundle`` the same as one transaction Bundle (``urn:uuid:`` references). Every resource validates as
R4; the PHI list is what a de-identified copy must not contain anywhere (base64 attachments included).
"""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

XHTML = "http://www.w3.org/1999/xhtml"
GIVEN = ("James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "William", "Linda", "David", "Elizabeth")
FAMILY = ("Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez", "Anderson", "Taylor")
STREETS = ("Maple Avenue", "Oak Street", "Pine Road", "Cedar Lane", "Elm Court", "Birch Drive")
CITIES = (("Springfield", "MA", "01103"), ("Worcester", "MA", "01608"), ("Cambridge", "MA", "02139"))
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
MR_TYPE = {
    "coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR", "display": "Medical record number"}
    ]
}


@dataclass
class Sample:
    """Generated resources and the PHI strings planted in them."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    phi: list[str] = field(default_factory=list)
    mrns: dict[str, str] = field(default_factory=dict)  # Patient id -> MRN (the DICOM PatientID)
    study_uids: dict[str, str] = field(default_factory=dict)  # ImagingStudy id -> Study Instance UID


def _div(text: str) -> dict[str, str]:
    body = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {"status": "generated", "div": f'<div xmlns="{XHTML}"><p>{body}</p></div>'}


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _date(rng: random.Random, start_year: int, end_year: int) -> str:
    return f"{rng.randint(start_year, end_year):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def sample_store(n_patients: int = 3, seed: int = 0) -> Sample:
    """A small store: shared Organization and Practitioners, and per patient the clinical resources."""
    rng = random.Random(seed)
    out = Sample()
    org_id = _uuid(rng)
    out.resources.append({
        "resourceType": "Organization", "id": org_id, "name": "Riverside General Hospital", "active": True,
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1578596324"}],
        "telecom": [{"system": "phone", "value": "617-555-0100"}],
        "address": [{"line": ["100 Hospital Way"], "city": "Springfield", "state": "MA", "postalCode": "01103"}],
    })  # fmt: skip
    practitioners = []
    for _ in range(2):
        pid, given, family = _uuid(rng), rng.choice(GIVEN), rng.choice(FAMILY)
        npi = str(rng.randint(10**9, 10**10 - 1))
        practitioners.append((pid, f"Dr. {given} {family}"))
        out.resources.append({
            "resourceType": "Practitioner", "id": pid, "active": True,
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": npi}],
            "name": [{"family": family, "given": [given], "prefix": ["Dr."]}],
            "telecom": [{"system": "email", "value": f"{given}.{family}@riverside.example".lower()}],
        })  # fmt: skip
        out.phi += [npi, f"{given} {family}", f"{given}.{family}@riverside.example".lower()]
    for _ in range(n_patients):
        _patient(rng, out, org_id, practitioners)
    out.phi = list(dict.fromkeys(out.phi))
    return out


def _patient(rng: random.Random, out: Sample, org_id: str, practitioners: list[tuple[str, str]]) -> None:
    pid = _uuid(rng)
    given, middle, family = rng.choice(GIVEN), rng.choice(GIVEN), rng.choice(FAMILY) + rng.choice(("son", "ley", "ton"))
    mrn = f"MRN{rng.randint(10**6, 10**7 - 1)}"
    ssn = f"{rng.randint(100, 899)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    phone = f"{rng.randint(201, 989)}-555-{rng.randint(1000, 9999)}"
    email = f"{given}.{family}{rng.randint(1, 99)}@mail.example".lower()
    street = f"{rng.randint(10, 999)} {rng.choice(STREETS)}"
    city, state, zip_code = rng.choice(CITIES)
    birth = _date(rng, 1930, 2005)
    full = f"{given} {family}"
    out.mrns[pid] = mrn
    out.phi += [full, family, mrn, ssn, phone, email, street, zip_code, birth]
    patient_ref = {"reference": f"Patient/{pid}", "display": full}
    doc_ref, prac_name = rng.choice(practitioners)
    prac = {"reference": f"Practitioner/{doc_ref}", "display": prac_name}
    org = {"reference": f"Organization/{org_id}", "display": "Riverside General Hospital"}
    out.resources.append({
        "resourceType": "Patient", "id": pid,
        "text": _div(f"{full}, born {birth}, MRN {mrn}, phone {phone}"),
        "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "F"}],
        "identifier": [
            {"use": "usual", "type": MR_TYPE, "system": "http://hospital.example/mrn", "value": mrn},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": ssn},
        ],
        "name": [{"use": "official", "family": family, "given": [given, middle], "text": f"{given} {middle} {family}"}],
        "telecom": [{"system": "phone", "value": phone, "use": "home"}, {"system": "email", "value": email}],
        "gender": rng.choice(("male", "female")), "birthDate": birth,
        "address": [{"line": [street], "city": city, "state": state, "postalCode": zip_code, "country": "US"}],
        "photo": [{"contentType": "image/jpeg", "data": base64.b64encode(bytes(range(32))).decode()}],
        "maritalStatus": {"text": "Married"}, "managingOrganization": org,
        "generalPractitioner": [prac],
    })  # fmt: skip
    year = rng.randint(2015, 2023)
    start = f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T0{rng.randint(7, 9)}:30:00-05:00"
    enc_id, obs_id, obs2_id, cond_id, rep_id, doc_id, img_id, med_id = (_uuid(rng) for _ in range(8))
    study_uid = f"1.2.840.113619.2.{rng.randint(10**5, 10**6)}.{rng.randint(10**8, 10**9)}"
    out.study_uids[img_id] = study_uid
    out.phi.append(study_uid)
    enc = {"reference": f"Encounter/{enc_id}"}
    out.resources += [
        {
            "resourceType": "Encounter", "id": enc_id, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": patient_ref, "period": {"start": start, "end": start.replace(":30:", ":55:")},
            "participant": [{"individual": prac}], "serviceProvider": org,
        },
        {
            "resourceType": "Observation", "id": obs_id, "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}], "text": "Heart rate"},
            "subject": patient_ref, "encounter": enc, "effectiveDateTime": start,
            "issued": start[:19] + ".000-05:00", "valueQuantity": {"value": rng.randint(55, 99), "unit": "/min",
            "system": "http://unitsofmeasure.org", "code": "/min"},
            "note": [{"text": f"Measured by {prac_name}; {given} tolerated it well."}],
        },
        {
            "resourceType": "Observation", "id": obs2_id, "status": "final",
            "code": {"text": "Social history"}, "subject": patient_ref, "effectiveDateTime": start,
            "valueString": f"{full} lives at {street} with family; contact {phone}.",
        },
        {
            "resourceType": "Condition", "id": cond_id, "subject": patient_ref, "encounter": enc,
            "code": {"coding": [{"system": SNOMED, "code": "44054006", "display": "Diabetes"}]},
            "onsetDateTime": f"{year - 3}-05", "recordedDate": start[:10],
            "note": [{"text": f"{full} reports onset three years ago."}],
        },
        {
            "resourceType": "DiagnosticReport", "id": rep_id, "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "24323-8"}], "text": "Metabolic panel"},
            "subject": patient_ref, "encounter": enc, "effectiveDateTime": start, "issued": start[:19] + "-05:00",
            "performer": [prac], "result": [{"reference": f"Observation/{obs_id}"}],
            "text": _div(f"Report for {full} (MRN {mrn}, DOB {birth}). Reviewed by {prac_name}."),
            "conclusion": f"{full} has well controlled diabetes; call {phone} with questions.",
        },
        {
            "resourceType": "DocumentReference", "id": doc_id, "status": "current",
            "type": {"text": "Discharge summary"}, "subject": patient_ref, "date": start[:19] + "-05:00",
            "author": [prac], "description": f"Discharge summary for {full}",
            "content": [{"attachment": {
                "contentType": "text/plain; charset=utf-8", "title": f"Summary {full}",
                "data": base64.b64encode(
                    f"Patient: {full}\nMRN: {mrn}\nSSN: {ssn}\nDOB: {birth}\nAddress: {street}, {city}\n"
                    f"Phone: {phone}\nSeen by {prac_name}. Discharged home in good condition.\n".encode()
                ).decode(),
            }}],
            "context": {"encounter": [enc]},
        },
        {
            "resourceType": "ImagingStudy", "id": img_id, "status": "available", "subject": patient_ref,
            "encounter": enc, "started": start,
            "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study_uid}"}],
            "series": [{
                "uid": f"{study_uid}.1", "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM",
                "code": "CT"}, "instance": [{"uid": f"{study_uid}.1.1",
                "sopClass": {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2"}}],
            }],
        },
        {
            "resourceType": "MedicationRequest", "id": med_id, "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": "Metformin 500 mg"}, "subject": patient_ref, "encounter": enc,
            "authoredOn": start, "requester": prac,
            "dosageInstruction": [{"text": "Take one tablet twice daily", "patientInstruction": f"{given}, take with food"}],
        },
    ]  # fmt: skip


def sample_bundle(
    n_patients: int = 3, seed: int = 0, bundle_type: str = "transaction"
) -> tuple[dict[str, Any], Sample]:
    """The same data as one Bundle whose entries reference each other by ``urn:uuid:`` fullUrls."""
    sample = sample_store(n_patients, seed)
    entries = []
    for res in sample.resources:
        entry: dict[str, Any] = {"fullUrl": f"urn:uuid:{res['id']}", "resource": _to_urn(res)}
        if bundle_type == "transaction":
            entry["request"] = {"method": "PUT", "url": f"{res['resourceType']}/{res['id']}"}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries}, sample


def _to_urn(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "reference" and isinstance(v, str) and "/" in v:
                out[k] = "urn:uuid:" + v.rpartition("/")[2]
            else:
                out[k] = _to_urn(v)
        return out
    if isinstance(value, list):
        return [_to_urn(v) for v in value]
    return value

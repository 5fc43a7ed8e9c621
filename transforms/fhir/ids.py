"""Resource ids and references: keyed pseudonyms in the FHIR id alphabet, the patient compartment owner."""

from __future__ import annotations

import re
from typing import Any

from transforms.crypto import Keys

# Type/id[/_history/vid], optionally after a base URL.
_REFERENCE = re.compile(
    r"(?P<base>(?:[a-z][a-z0-9+.-]*://[^?#]*/)?)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?P<history>/_history/[A-Za-z0-9\-.]{1,64})?\Z"
)
_PLAIN_TYPE = re.compile(r"(?:[a-z][a-z0-9+.-]*://[^?#]*/)?[A-Z][A-Za-z]+/?\Z")
_CONDITIONAL = re.compile(r"(?P<base>(?:[a-z][a-z0-9+.-]*://[^?#]*/)?)(?P<type>[A-Z][A-Za-z]+)\?")

# Reference fields naming the patient compartment owner, in the order they are tried.
PATIENT_FIELDS = ("subject", "patient", "beneficiary", "individual")


ID_CACHE_SIZE = 8192  # pseudonyms (and rewritten references) remembered a process: references repeat within a batch
_IDS: dict[tuple[bytes, str], str] = {}
_REFERENCES: dict[tuple[bytes, str], str] = {}


def new_id(keys: Keys, original: str) -> str:
    """The pseudonym of a resource id: a keyed hash shaped as a version-4 UUID (36 chars of ``[0-9a-f-]``).

    The UUID shape keeps ``urn:uuid:`` references and ``Bundle.entry.fullUrl`` valid and fits the FHIR id
    alphabet, so a resource id and every form of reference to it map with this one function. Remembered by
    (run key, id), a bounded dict emptied when full: a function of its arguments, so what is remembered never
    changes a result, and memory stays flat whatever the store's size.
    """
    cache_key = (keys.run_key, original)
    rid = _IDS.get(cache_key)
    if rid is None:
        d = bytearray(keys.digest("fhir-id", original)[:16])
        d[6] = (d[6] & 0x0F) | 0x40
        d[8] = (d[8] & 0x3F) | 0x80
        h = d.hex()
        if len(_IDS) >= ID_CACHE_SIZE:
            _IDS.clear()
        rid = _IDS[cache_key] = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return rid


def rewrite_reference(keys: Keys, reference: str) -> str:
    """Rewrite a ``Reference.reference`` (or fullUrl, request url) so it points at the rewritten resource.

    Relative ``Type/id`` and absolute URLs keep their base and type; ``urn:uuid:`` and contained ``#id``
    references map their id; ``urn:oid:`` maps with the DICOM UID function. A form that names no id (a
    conditional reference ``Type?identifier=...``) becomes an opaque keyed id so no search value survives.
    Remembered as ``new_id`` is (a function of the run key and the reference).
    """
    cache_key = (keys.run_key, reference)
    out = _REFERENCES.get(cache_key)
    if out is None:
        if len(_REFERENCES) >= ID_CACHE_SIZE:
            _REFERENCES.clear()
        out = _REFERENCES[cache_key] = _rewrite_reference(keys, reference)
    return out


def _rewrite_reference(keys: Keys, reference: str) -> str:
    if reference.startswith("#"):
        return "#" + new_id(keys, reference[1:]) if len(reference) > 1 else reference
    if reference.startswith("urn:uuid:"):
        return "urn:uuid:" + new_id(keys, reference[9:])
    if reference.startswith("urn:oid:"):
        return "urn:oid:" + keys.uid(reference[8:])
    match = _REFERENCE.match(reference)
    if match:
        return f"{match['base']}{match['type']}/{new_id(keys, match['id'])}{match['history'] or ''}"
    if _PLAIN_TYPE.match(reference):
        return reference  # a type or search base without an id ("Patient"): nothing to hide
    conditional = _CONDITIONAL.match(reference)
    if conditional:
        return f"{conditional['base']}{conditional['type']}/{new_id(keys, reference)}"
    return new_id(keys, reference)


def needs_resolution(reference: str) -> bool:
    """A reference that names its target by something other than its id: ``urn:uuid:`` (a Bundle's fullUrl) or a
    conditional reference (``Type?identifier=system|value``)."""
    return reference.startswith("urn:uuid:") or ("?" in reference and _CONDITIONAL.match(reference) is not None)


def resolution_key(reference: str) -> str:
    """The key a reference needing resolution is looked up by: ``urn:uuid:<x>``, or ``Type?identifier=s|v``
    (base URL dropped, percent-escapes decoded)."""
    if reference.startswith("urn:uuid:"):
        return reference
    from urllib.parse import unquote

    match = _CONDITIONAL.match(reference)
    return unquote(reference[match.end("base"):]) if match else reference


def offered_keys(resource: dict[str, Any]) -> list[tuple[str, str]]:
    """The (resolution key, ``Type/id``) pairs naming a stored resource: ``urn:uuid:<id>`` (fullUrls name entries so;
    an entry without an id took its fullUrl's) and ``Type?identifier=system|value`` (and ``=value``) per identifier."""
    rtype = resource.get("resourceType")
    rid = resource.get("id")
    if not isinstance(rtype, str) or not isinstance(rid, str) or not rid:
        return []
    target = f"{rtype}/{rid}"
    out = [("urn:uuid:" + rid, target)]
    identifiers = resource.get("identifier")
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    if isinstance(identifiers, list):
        for ident in identifiers:
            if isinstance(ident, dict) and isinstance(ident.get("value"), str):
                value = ident["value"]
                system = ident.get("system")
                if isinstance(system, str):
                    out.append((f"{rtype}?identifier={system}|{value}", target))
                out.append((f"{rtype}?identifier={value}", target))
    return out


def wanted_keys(value: Any) -> list[str]:
    """The resolution keys of every reference needing resolution inside a resource."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("reference")
            if isinstance(ref, str) and needs_resolution(ref):
                out.append(resolution_key(ref))
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return out


_REFERENCE_KEYS: dict[str, str | None] = {}
_UNKNOWN = object()


def reference_key(reference: str) -> str | None:
    """A reference in a canonical form for joins: ``Type/id`` for relative and absolute forms, else as given.
    Remembered as ``new_id`` is (a patient's resources all name it: every one of them asks)."""
    key = _REFERENCE_KEYS.get(reference, _UNKNOWN)
    if key is _UNKNOWN:
        match = _REFERENCE.match(reference)
        key = f"{match['type']}/{match['id']}" if match else reference or None
        if len(_REFERENCE_KEYS) >= ID_CACHE_SIZE:
            _REFERENCE_KEYS.clear()
        _REFERENCE_KEYS[reference] = key
    return key


# Where each resource type names its patient, after the R4 patient CompartmentDefinition (4.0.1): the compartment
# parameters as element paths, lists included (Account.subject 0..*, Group.member.entity, Schedule.actor), tried in
# order; the first Patient reference found owns the resource. Types not listed use PATIENT_FIELDS.
COMPARTMENT_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    rtype: tuple(tuple(p.split(".")) for p in spec.split()) for rtype, spec in {
        "Account": "subject", "AdverseEvent": "subject", "AllergyIntolerance": "patient recorder asserter",
        "Appointment": "participant.actor", "AppointmentResponse": "actor", "AuditEvent": "agent.who entity.what",
        "Basic": "subject author", "BodyStructure": "patient", "CarePlan": "subject", "CareTeam":
        "subject participant.member", "ChargeItem": "subject enterer performer.actor", "Claim": "patient payee.party",
        "ClaimResponse": "patient", "ClinicalImpression": "subject", "Communication": "subject sender recipient",
        "CommunicationRequest": "subject sender recipient requester", "Composition": "subject author attester.party",
        "Condition": "subject asserter", "Consent": "patient", "Coverage": "beneficiary subscriber policyHolder payor",
        "CoverageEligibilityRequest": "patient", "CoverageEligibilityResponse": "patient", "DetectedIssue": "patient",
        "Device": "patient", "DeviceRequest": "subject performer", "DeviceUseStatement": "subject",
        "DiagnosticReport": "subject", "DocumentManifest": "subject author recipient", "DocumentReference":
        "subject author", "Encounter": "subject", "EnrollmentRequest": "candidate", "EpisodeOfCare": "patient",
        "ExplanationOfBenefit": "patient payee.party", "FamilyMemberHistory": "patient", "Flag": "subject",
        "Goal": "subject", "Group": "member.entity", "ImagingStudy": "subject", "Immunization": "patient",
        "ImmunizationEvaluation": "patient", "ImmunizationRecommendation": "patient", "Invoice": "subject recipient",
        "List": "subject source", "MeasureReport": "subject", "Media": "subject", "MedicationAdministration":
        "subject performer.actor", "MedicationDispense": "subject receiver", "MedicationRequest": "subject",
        "MedicationStatement": "subject", "MolecularSequence": "patient", "NutritionOrder": "patient",
        "Observation": "subject performer", "Person": "link.target", "Procedure": "subject performer.actor",
        "Provenance": "target agent.who", "QuestionnaireResponse": "subject author", "RelatedPerson": "patient",
        "RequestGroup": "subject", "ResearchSubject": "individual", "RiskAssessment": "subject", "Schedule": "actor",
        "ServiceRequest": "subject performer", "Specimen": "subject", "SupplyDelivery": "patient",
        "Task": "for owner requester", "VisionPrescription": "patient",
    }.items()
}
_DEFAULT_PATHS = tuple((name,) for name in PATIENT_FIELDS)


def _references_at(value: Any, steps: tuple[str, ...]) -> Any:
    """The ``reference`` strings at an element path (lists at any step)."""
    if isinstance(value, list):
        for item in value:
            yield from _references_at(item, steps)
        return
    if not isinstance(value, dict):
        return
    if not steps:
        target = value.get("reference")
        if isinstance(target, str):
            yield target
        return
    yield from _references_at(value.get(steps[0]), steps[1:])


def patient_reference(resource: dict[str, Any]) -> str | None:
    """The patient compartment owner of a resource as ``Patient/<id>`` (or a bundle's ``urn:uuid:``), or None.

    A Patient owns itself; other resources name their patient where the R4 patient compartment says
    (``COMPARTMENT_PATHS``: lists included), else in subject / patient / beneficiary / individual. A ``urn:uuid:``
    (a Bundle entry not yet linked) counts only in a single-valued top-level field, as it may name any type.
    """
    rtype = resource.get("resourceType")
    if rtype == "Patient":
        rid = resource.get("id")
        return f"Patient/{rid}" if isinstance(rid, str) and rid else None
    for steps in COMPARTMENT_PATHS.get(rtype, _DEFAULT_PATHS):
        value = resource.get(steps[0])
        if value is None:
            continue
        if len(steps) == 1 and isinstance(value, dict):  # the common case: subject / patient
            target = value.get("reference")
            if isinstance(target, str):
                if target.startswith("urn:uuid:"):
                    return target
                key = reference_key(target)
                if key and key.startswith("Patient/"):
                    return key
            continue
        for target in _references_at(value, steps[1:]):
            key = reference_key(target)
            if key and key.startswith("Patient/"):
                return key
    return None


def patient_shift_key(patient: dict[str, Any]) -> str:
    """The date-shift key of a Patient: the value DICOM would hold in PatientID.

    The medical record number (identifier typed ``MR``) if there is one, else the ``usual`` identifier, else
    the first identifier with a value, else ``Patient/<id>``. The DICOM side shifts with
    ``keys.date_shift_days(PatientID)``, so a Patient whose MRN equals the DICOM PatientID gets the same shift.
    """
    identifiers = [
        i for i in patient.get("identifier") or () if isinstance(i, dict) and isinstance(i.get("value"), str)
    ]
    for ident in identifiers:
        codings = ((ident.get("type") or {}).get("coding")) or ()
        if any(isinstance(c, dict) and c.get("code") == "MR" for c in codings):
            return ident["value"]
    for ident in identifiers:
        if ident.get("use") == "usual":
            return ident["value"]
    if identifiers:
        return identifiers[0]["value"]
    return f"Patient/{patient.get('id', '')}"

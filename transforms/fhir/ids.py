"""Resource ids and references: keyed pseudonyms in the FHIR id alphabet, the patient compartment owner."""

from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=65536)
def new_id(keys: Keys, original: str) -> str:
    """The pseudonym of a resource id: a keyed hash shaped as a version-4 UUID (36 chars of ``[0-9a-f-]``).

    The UUID shape keeps ``urn:uuid:`` references and ``Bundle.entry.fullUrl`` valid and fits the FHIR id
    alphabet, so a resource id and every form of reference to it map with this one function.
    """
    d = bytearray(keys.digest("fhir-id", original)[:16])
    d[6] = (d[6] & 0x0F) | 0x40
    d[8] = (d[8] & 0x3F) | 0x80
    h = d.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def rewrite_reference(keys: Keys, reference: str) -> str:
    """Rewrite a ``Reference.reference`` (or fullUrl, request url) so it points at the rewritten resource.

    Relative ``Type/id`` and absolute URLs keep their base and type; ``urn:uuid:`` and contained ``#id``
    references map their id; ``urn:oid:`` maps with the DICOM UID function. A form that names no id (a
    conditional reference ``Type?identifier=...``) becomes an opaque keyed id so no search value survives.
    """
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


def reference_key(reference: str) -> str | None:
    """A reference in a canonical form for joins: ``Type/id`` for relative and absolute forms, else as given."""
    match = _REFERENCE.match(reference)
    if match:
        return f"{match['type']}/{match['id']}"
    return reference or None


def patient_reference(resource: dict[str, Any]) -> str | None:
    """The patient compartment owner of a resource as ``Patient/<id>`` (or a bundle's ``urn:uuid:``), or None.

    A Patient owns itself; other resources name their patient in subject / patient / beneficiary / individual.
    """
    rtype = resource.get("resourceType")
    if rtype == "Patient":
        rid = resource.get("id")
        return f"Patient/{rid}" if isinstance(rid, str) and rid else None
    for name in PATIENT_FIELDS:
        ref = resource.get(name)
        if isinstance(ref, list):  # e.g. Group.member is not a compartment link; lists are not owners
            continue
        if isinstance(ref, dict):
            target = ref.get("reference")
            if not isinstance(target, str):
                continue
            if target.startswith("urn:uuid:"):
                return target
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

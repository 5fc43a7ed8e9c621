"""Pure FHIR de-identification: no Beam, no IO. Resources are dicts in, dicts out."""

from transforms.fhir.deidentify import (
    deidentify_patient,
    deidentify_resource,
    patient_context,
    resource_id_rewritten,
)
from transforms.fhir.ids import new_id, patient_reference, patient_shift_key, rewrite_reference
from transforms.fhir.policy import FhirPolicy, compile_fhir_policy, default_config, default_config_json

__all__ = [
    "FhirPolicy",
    "compile_fhir_policy",
    "default_config",
    "default_config_json",
    "deidentify_patient",
    "deidentify_resource",
    "new_id",
    "patient_context",
    "patient_reference",
    "patient_shift_key",
    "resource_id_rewritten",
    "rewrite_reference",
]

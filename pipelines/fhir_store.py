"""Compatibility name: the FHIR store branch now lives in ``pipelines.fhir`` (``pipelines.fhir.branch``)."""

from pipelines.fhir.branch import FhirStoreResult, add_fhir_store_branch

__all__ = ["FhirStoreResult", "add_fhir_store_branch"]

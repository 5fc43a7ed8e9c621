"""Verification of a de-identified copy against its source: identifiers collected, searched for, located (pure)."""

from transforms.verify.identifiers import Identifier, dicom_identifiers, fhir_identifiers
from transforms.verify.matcher import IdentifierMatcher, Match
from transforms.verify.scan import Finding, scan_dicom_instance, scan_fhir_line, scan_record

__all__ = [
    "Finding",
    "Identifier",
    "IdentifierMatcher",
    "Match",
    "dicom_identifiers",
    "fhir_identifiers",
    "scan_dicom_instance",
    "scan_fhir_line",
    "scan_record",
]

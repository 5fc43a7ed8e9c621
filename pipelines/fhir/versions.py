"""The FHIR versions a store can declare and what each command does with a store of each: the one table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FhirVersion:
    """What deidflow does with a store of one FHIR version."""

    creatable: bool  # a choice of ``fhir-stores create --version`` (the API's versions)
    deidentify: bool  # the pure core reads and writes it (store and dataset runs)
    in_dataset: str  # a dataset run: "deidentify", "skip" (with a notice) or "error"
    import_: str  # "validate" (against the R4 models), "plain" (JSON and ids only) or "rejected"


FHIR_VERSIONS = {
    "DSTU2": FhirVersion(creatable=True, deidentify=False, in_dataset="error", import_="plain"),
    "STU3": FhirVersion(creatable=True, deidentify=False, in_dataset="error", import_="plain"),
    "R4": FhirVersion(creatable=True, deidentify=True, in_dataset="deidentify", import_="validate"),
    "R4B": FhirVersion(creatable=False, deidentify=True, in_dataset="deidentify", import_="plain"),
    "R5": FhirVersion(creatable=True, deidentify=False, in_dataset="skip", import_="rejected"),
}
UNKNOWN_VERSION = FhirVersion(creatable=False, deidentify=False, in_dataset="error", import_="plain")
DEFAULT_VERSION = "R4"  # a store that declares none
CREATE_CHOICES = tuple(name for name, version in FHIR_VERSIONS.items() if version.creatable)
DEIDENTIFIED_VERSIONS = tuple(name for name, version in FHIR_VERSIONS.items() if version.deidentify)


def fhir_version(name: str | None) -> FhirVersion:
    """The row of a declared version (None: the default, R4)."""
    return FHIR_VERSIONS.get((name or DEFAULT_VERSION).upper(), UNKNOWN_VERSION)


def deidentify_version_error(name: str | None) -> str | None:
    """Why a store of this version cannot be de-identified (None when it can); no store name, callers add it."""
    if fhir_version(name).deidentify:
        return None
    if (name or "").upper() == "R5":
        return "is an R5 store; R5 stores are not supported"
    return f"declares FHIR version {name}; this build de-identifies R4 stores only"

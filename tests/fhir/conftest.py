"""Shared fixtures for the FHIR core tests: a run key, policies compiled from config JSON."""

from __future__ import annotations

import datetime

import pytest

from transforms.config import parse_config
from transforms.crypto import Keys
from transforms.fhir import compile_fhir_policy

REFERENCE_DATE = datetime.date(2025, 6, 1)


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(run_key=bytes(range(32)))


def policy_of(config: dict | None):
    """Compile a FHIR policy from a DeidentifyConfig given as JSON (None: the shipped default)."""
    return compile_fhir_policy(parse_config(config) if config is not None else None, reference_date=REFERENCE_DATE)


@pytest.fixture(scope="session")
def default_policy():
    return policy_of(None)


def field_config(*metadata: dict, profile: str = "KEEP_ALL", **options) -> dict:
    ffc: dict = {"profileType": profile, "fieldMetadataList": list(metadata)}
    if options:
        ffc["options"] = options
    return {"fhirFieldConfig": ffc}

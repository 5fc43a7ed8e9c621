"""R4 validation with the ``fhir.resources.R4B`` models: for tests and error triage, off the hot path (~3,500/s)."""

from __future__ import annotations

from typing import Any

from transforms.errors import DeidentifyError


def r4_errors(resource: dict[str, Any]) -> list[str]:
    """The R4 validation problems of a resource as ``location: kind`` strings (no values); [] when valid."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    try:
        model = get_fhir_model_class(rtype)
    except (KeyError, ValueError, TypeError, AttributeError):
        return ["resourceType: not a FHIR R4 resource type"]
    try:
        model.model_validate(resource)
    except ValidationError as err:
        return [".".join(str(p) for p in e["loc"]) + ": " + e["type"] for e in err.errors()]
    return []


def check_r4(resource: dict[str, Any]) -> None:
    """Raise DeidentifyError(INVALID_ARGUMENT) naming the failing locations (never values) when not valid R4."""
    problems = r4_errors(resource)
    if problems:
        raise DeidentifyError("INVALID_ARGUMENT", "not valid FHIR R4: " + "; ".join(problems[:5]))

"""R4 validation for tests and error triage, off the hot path (~3,500/s): the ``fhir.resources.R4B`` models for the
types R4 and R4B share, a structural check against the schema table (``r4_only``: read from the FHIR 4.0.1
definitions) for the R4 types R4B removed (MedicinalProduct, ...): every key an element of that type, lists where
the definition has lists, every min >= 1 element present (a value or a primitive's extensions), the data types
inside them by the R4B models. Element-level differences R4B made to shared types are R4B's here."""

from __future__ import annotations

from typing import Any

from transforms.errors import DeidentifyError


def r4_errors(resource: dict[str, Any]) -> list[str]:
    """The R4 validation problems of a resource as ``location: kind`` strings (no values); [] when valid."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    from transforms.fhir import schema

    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    path = schema.resource_model(rtype) if isinstance(rtype, str) else None
    if path is None:
        return ["resourceType: not a FHIR R4 resource type"]
    if not path.startswith("fhir.resources.R4B."):
        return _structural_errors(resource, path, rtype, top=True)
    model = get_fhir_model_class(rtype)
    try:
        model.model_validate(resource)
    except ValidationError as err:
        return [_shown_location(e["loc"]) + ": " + e["type"] for e in err.errors()]
    return []


def _shown_location(parts) -> str:
    """A location as problems name it: list indexes and names R4 knows (elements, types); any other key is data
    (an unknown key may be PHI) and is shown as ``<unknown element>``, never spelled out (issue 18)."""
    from transforms.fhir import schema

    names, types = schema.vocabulary()

    def shown(part) -> str:
        if isinstance(part, int) or part in names or part in types:
            return str(part)
        if isinstance(part, str) and part.startswith("_") and part[1:] in names:
            return part
        return "<unknown element>"

    return ".".join(shown(p) for p in parts)


def _structural_errors(value: Any, model: str, where: str, top: bool = False) -> list[str]:
    from pydantic import ValidationError

    from transforms.fhir import schema

    if not isinstance(value, dict):
        return [f"{where}: not an object"]
    if model.startswith("fhir.resources.R4B.") and not schema.is_resource_model(model):
        try:
            schema.model_class(model).model_validate(value)
        except ValidationError as err:
            return [f"{where}." + _shown_location(e["loc"]) + ": " + e["type"] for e in err.errors()]
        return []
    problems: list[str] = []
    for key, item in value.items():
        if top and key == "resourceType":
            continue
        f = schema.child(model, key[1:] if key.startswith("_") else key)
        if f is None or (key.startswith("_") and not f.primitive):
            problems.append(f"{where}.<unknown element>: extra_forbidden")  # the key is data: never shown
            continue
        if f.is_list != isinstance(item, list):
            problems.append(f"{where}.{key}: list_type" if f.is_list else f"{where}.{key}: not_a_list")
            continue
        if key.startswith("_") or f.primitive:
            continue
        for i, one in enumerate(item if f.is_list else [item]):
            at = f"{where}.{key}" + (f".{i}" if f.is_list else "")
            problems += r4_errors(one) if f.is_resource else _structural_errors(one, f.model, at)
    for key in schema.required(model):
        if value.get(key) in (None, [], {}) and not value.get("_" + key):
            problems.append(f"{where}.{key}: missing")
    return problems


def check_r4(resource: dict[str, Any]) -> None:
    """Raise DeidentifyError(INVALID_ARGUMENT) naming the failing locations (never values) when not valid R4."""
    problems = r4_errors(resource)
    if problems:
        raise DeidentifyError("INVALID_ARGUMENT", "not valid FHIR R4: " + "; ".join(problems[:5]))

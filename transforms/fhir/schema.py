"""FHIR R4 element types, read once from the ``fhir.resources.R4B`` models (no hand-typed table, no validation).

``child(model, key)`` answers, for a JSON key inside an element of a given model, which field it is (base name,
choice or not), its FHIR type name (``String``, ``Address``, backbone elements named after their field as the
Healthcare API's paths do: ``Contact``, ``UdiCarrier``) and the model of its content. Answers are cached per
(model, key), so the walk over a resource costs one dict lookup per element.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import typing
from dataclasses import dataclass
from typing import Any


def _r4b() -> Any:
    """The ``fhir.resources.R4B`` package, imported when first needed: the packaged table answers everything a
    run asks, and importing the pydantic models costs about 0.4 s of every launch and every worker."""
    from fhir.resources import R4B

    return R4B

# Marker class names (fhir_core / pydantic) -> FHIR primitive type names as the API's paths spell them.
_PRIMITIVE_MARKERS = {
    "String": "String",
    "Code": "Code",
    "Id": "Id",
    "Uri": "Uri",
    "Url": "Url",
    "Canonical": "Canonical",
    "Markdown": "Markdown",
    "Xhtml": "Xhtml",
    "Date": "Date",
    "DateTime": "DateTime",
    "Instant": "Instant",
    "Time": "Time",
    "Decimal": "Decimal",
    "Integer": "Integer",
    "Integer64": "Integer64",
    "PositiveInt": "PositiveInt",
    "UnsignedInt": "UnsignedInt",
    "Base64Binary": "Base64Binary",
    "Oid": "Oid",
    "Uuid": "Uuid",
    "UuidVersion": "Uuid",
}

PRIMITIVE_TYPES = frozenset(_PRIMITIVE_MARKERS.values()) | {"Boolean"}

# Type names the API uses for specific code fields (its FHIR protos give bound codes their own types).
ADMINISTRATIVE_GENDER = frozenset({"male", "female", "other", "unknown"})


@dataclass(frozen=True, slots=True)
class Field:
    """One JSON key of an element: what it is in FHIR R4."""

    key: str  # the JSON key: "onsetString", "address"
    name: str  # the field's base name: "onset", "address"
    choice: bool  # a choice-type field (``onset[x]``)
    type_name: str  # "String", "Address", "Contact" (backbone), "Resource"
    model: str | None  # dotted path of the content's model for complex types, else None
    primitive: bool
    is_list: bool
    aliases: tuple[str, ...] = ()  # extra type names this field answers to ("AdministrativeGenderCode")
    is_resource: bool = False  # a nested resource (contained, Bundle.entry.resource): paths restart there


def _unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...], bool]:
    """Strip Optional/List/Annotated: (base type, Annotated metadata, is_list)."""
    is_list = False
    meta: tuple[Any, ...] = ()
    tp = annotation
    for _ in range(8):
        origin = typing.get_origin(tp)
        if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0]
        elif origin in (list, list):
            is_list = True
            tp = typing.get_args(tp)[0]
        elif origin is typing.Annotated:
            args = typing.get_args(tp)
            tp, meta = args[0], args[1:]
        else:
            import types as _types

            if isinstance(tp, _types.UnionType):
                tp = [a for a in typing.get_args(tp) if a is not type(None)][0]
                continue
            break
    return tp, meta, is_list


def _primitive_name(tp: Any, meta: tuple[Any, ...]) -> str | None:
    for m in reversed(meta):
        name = _PRIMITIVE_MARKERS.get(type(m).__name__)
        if name:
            return name
    if tp is bool:
        return "Boolean"
    return None


@functools.cache
def model_class(path: str) -> Any:
    """The pydantic model class for a dotted path such as ``fhir.resources.R4B.address.Address``."""
    module, _, cls = path.rpartition(".")
    return getattr(importlib.import_module(module), cls)


# --- the packaged table ----------------------------------------------------------------------------------
# Building the R4B pydantic models costs seconds (every launch, every worker). What the de-identification needs
# from them — each model's fields and types, which models are resources — is read from the models once by
# ``python -m transforms.fhir.schema`` into ``r4b_schema.json`` (package data), and used while the installed
# fhir.resources is the version it was read from; otherwise everything is read from the models, as before.

TABLE_FILE = "r4b_schema.json"


def _installed_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("fhir.resources")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return ""


@functools.lru_cache(maxsize=1)
def table() -> dict | None:
    """The packaged schema table, or None when missing or read from another fhir.resources version."""
    import json
    from importlib import resources

    try:
        text = resources.files("transforms.fhir").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("fhirResourcesVersion") != _installed_version():
        return None
    return data


def build_table() -> dict:
    """The table, read from the models (slow: builds every R4B model)."""
    models = {}
    resources_by_type = {}
    for model in _models_from_package():
        cls = model_class(model)
        is_resource = _is_resource_class(cls)
        models[model] = {
            "resource": is_resource,
            "fields": [
                [f.key, f.name, f.choice, f.type_name, f.model, f.primitive, f.is_list, list(f.aliases), f.is_resource]
                for f in _fields_from_model(model).values()
            ],
            "required": list(_required_from_model(model)),
        }
        if is_resource and _resource_model_from_models(cls.__name__) == model:
            resources_by_type[cls.__name__] = model
    from transforms.fhir.r4_only import r4_only_models

    r4_models, r4_resources = r4_only_models(models, resources_by_type)  # R4 types R4B removed (fhirclient)
    if not r4_resources:
        raise RuntimeError("regenerating the table needs fhirclient==4.4.0 (the R4 4.0.1 models)")
    models.update(r4_models)
    resources_by_type.update(r4_resources)
    return {"fhirResourcesVersion": _installed_version(), "models": models, "resources": resources_by_type}


def is_resource_model(model: str) -> bool:
    data = table()
    if data is not None:
        return data["models"][model]["resource"]
    return _is_resource_class(model_class(model))


@functools.cache
def resource_model(resource_type: str) -> str | None:
    """The model path of a resource type, or None when R4 has no such resource."""
    if not resource_type or not resource_type[:1].isupper() or not resource_type.isalnum():
        return None
    data = table()
    if data is not None:
        return data["resources"].get(resource_type)
    return _resource_model_from_models(resource_type)


def _resource_model_from_models(resource_type: str) -> str | None:
    try:
        cls = _r4b().get_fhir_model_class(resource_type)
    except (KeyError, ValueError, ImportError, AttributeError):
        return None
    path = f"{cls.__module__}.{cls.__name__}"
    if not _is_resource_class(cls):
        return None
    return path


def _is_resource_class(cls: Any) -> bool:
    return any(base.__name__ == "Resource" and base.__module__.endswith(".resource") for base in cls.__mro__)


def _choice_suffix(key: str, base: str) -> str:
    return key[len(base) :]


@functools.cache
def fields(model: str) -> dict[str, Field]:
    """Every JSON key of a model (primitive extension keys ``_x`` excluded), resolved once."""
    data = table()
    if data is not None:
        return {
            row[0]: Field(row[0], row[1], row[2], row[3], row[4], row[5], row[6], tuple(row[7]), row[8])
            for row in data["models"][model]["fields"]
        }
    return _fields_from_model(model)


def _fields_from_model(model: str) -> dict[str, Field]:
    cls = model_class(model)
    out: dict[str, Field] = {}
    for key, info in cls.model_fields.items():
        if key.endswith("__ext") or key == "fhir_comments":
            continue
        key = info.alias or key
        extra = info.json_schema_extra or {}
        if not isinstance(extra, dict) or not extra.get("element_property", False):
            continue
        base = extra.get("one_of_many") or key
        choice = bool(extra.get("one_of_many"))
        tp, meta, is_list = _unwrap(info.annotation)
        prim = _primitive_name(tp, meta)
        aliases: tuple[str, ...] = ()
        if prim is not None:
            type_name, child_model = prim, None
            if prim == "Code":
                enum = extra.get("enum_values")
                if enum and set(enum) == ADMINISTRATIVE_GENDER:
                    aliases = ("AdministrativeGenderCode",)
                elif key == "language":
                    aliases = ("LanguageCode",)
        else:
            klass = getattr(tp, "_model_klass", None)
            if klass is None:
                continue  # not an element (should not happen in R4B models)
            child_model = klass
            cls_module, _, cls_name = klass.rpartition(".")
            if cls_name == "Resource" or _is_resource_class(model_class(klass)):
                type_name = "Resource"
            elif cls_module.rpartition(".")[2] == cls_name.lower():
                type_name = cls_name  # a named data type: Address, HumanName, Reference
            else:
                type_name = base[:1].upper() + base[1:]  # a backbone element: named after its field
        if choice:
            suffix = _choice_suffix(key, base)
            # the choice component's type name as the JSON key spells it (valueString -> String)
            type_name = suffix if prim is None or prim == "Uuid" else prim
            if prim is None and type_name == "Resource":
                pass
        out[key] = Field(
            key, base, choice, type_name, child_model, prim is not None, is_list, aliases, type_name == "Resource"
        )
    return out


@functools.cache
def required(model: str) -> tuple[str, ...]:
    """The JSON keys of a model's elements with minimum cardinality 1, e.g. a ClaimInsurance's ``sequence``,
    ``focal``, ``coverage``: what the walk must not leave out when the input had it. A required choice group
    (``MedicationRequest.medication[x]``) gives every key of the group: the input holds one of them."""
    data = table()
    if data is not None and "required" in data["models"].get(model, {}):
        return tuple(data["models"][model]["required"])
    return _required_from_model(model)


def _required_from_model(model: str) -> tuple[str, ...]:
    cls = model_class(model)
    keys = []
    for key, info in cls.model_fields.items():
        extra = info.json_schema_extra or {}
        if not isinstance(extra, dict) or not extra.get("element_property", False):
            continue
        if extra.get("one_of_many"):  # a required choice group: each of its keys (only the input's is checked)
            if extra.get("one_of_many_required"):
                keys.append(info.alias or key)
            continue
        if info.is_required() or extra.get("element_required"):
            keys.append(info.alias or key)
    return tuple(keys)


def child(model: str, key: str) -> Field | None:
    """The field behind ``key`` in an element of ``model``, or None when R4 has no such field."""
    return fields(model).get(key)


@functools.lru_cache(maxsize=1)
def all_models() -> tuple[str, ...]:
    """Every element model in R4B (resources, data types, backbone elements), as dotted paths."""
    data = table()
    if data is not None:
        return tuple(sorted(data["models"]))
    return _models_from_package()


def _models_from_package() -> tuple[str, ...]:
    found: list[str] = []
    r4b = _r4b()
    for info in pkgutil.iter_modules(r4b.__path__):
        if info.name.startswith("_") or info.name in ("fhirtypes", "fhirtypesvalidators", "fhirresourcemodel"):
            continue
        try:
            module = importlib.import_module(f"{r4b.__name__}.{info.name}")
        except ImportError:  # pragma: no cover - broken install
            continue
        for name, obj in vars(module).items():
            if isinstance(obj, type) and obj.__module__ == module.__name__ and hasattr(obj, "model_fields"):
                if name in ("FHIRAbstractModel",):
                    continue
                found.append(f"{module.__name__}.{name}")
    return tuple(sorted(found))


@functools.lru_cache(maxsize=1)
def vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    """(every field name and JSON key, every type name) known in R4B: used to reject misspelt config paths."""
    names: set[str] = set()
    types: set[str] = set(PRIMITIVE_TYPES) | {"AdministrativeGenderCode", "LanguageCode", "Resource"}
    for model in all_models():
        if is_resource_model(model):
            types.add(model.rpartition(".")[2])
        for f in fields(model).values():
            names.add(f.name)
            names.add(f.key)
            types.add(f.type_name)
            if f.choice:
                types.add(f.name[:1].upper() + f.name[1:])
                types.add(f.name[:1].upper() + f.name[1:] + "X")
                names.add(f.type_name[:1].lower() + f.type_name[1:])  # R4 default config: OnsetX.string
            types.update(f.aliases)
    return frozenset(names), frozenset(types)


if __name__ == "__main__":  # regenerate the packaged table after upgrading fhir.resources
    import importlib.util
    import json
    import os
    import sys

    if importlib.util.find_spec("fhirclient") is None:  # the R4-only rows (r4_only.py) would silently go missing
        sys.exit("the R4-only types need fhirclient==4.4.0: pip install -e '.[schema]' (setup.py SCHEMA_REQUIRES)")

    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), TABLE_FILE)
    with open(target + ".tmp", "w", encoding="utf-8") as out:
        json.dump(build_table(), out, separators=(",", ":"), sort_keys=True)
        out.write("\n")
    os.replace(target + ".tmp", target)
    print(f"wrote {target}")

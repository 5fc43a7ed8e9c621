"""The R4 (4.0.1) resource types that R4B removed (MedicinalProduct*, EffectEvidenceSynthesis, ...), as rows of the
schema table, read from the SMART on FHIR ``fhirclient`` models (generated from FHIR 4.0.1) when the table is
regenerated (``python -m transforms.fhir.schema``). Runtime never imports fhirclient: the rows are package data.

What a row knows: every element of the resource and of its backbone elements (JSON key, list or not, choice group,
min >= 1); data types are R4B's (unchanged between R4 and R4B for the types these resources use). fhirclient types
every string primitive as ``str``: such elements are typed ``String`` (the default config then treats a code like
text: cleaning keeps a code's value unless it looks identifying), dates as Date/DateTime/Instant/Time.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

R4_PREFIX = "r4."  # model paths of R4-only backbone elements and resources: r4.<module>.<Class>
_PRIMITIVES = {"str": "String", "int": "Integer", "float": "Decimal", "bool": "Boolean", "FHIRDate": "Date",
               "FHIRDateTime": "DateTime", "FHIRInstant": "Instant", "FHIRTime": "Time"}
_SPECIAL = {"FHIRReference": "fhir.resources.R4B.reference.Reference",
            "Resource": "fhir.resources.R4B.resource.Resource"}


def r4_only_models(r4b_models: dict, r4b_resources: dict) -> tuple[dict, dict]:
    """(models, resources by type) of the R4 resource types ``r4b_resources`` lacks; ({}, {}) without fhirclient."""
    try:
        import fhirclient.models as fc
    except ImportError:
        return {}, {}
    from fhirclient.models.backboneelement import BackboneElement
    from fhirclient.models.domainresource import DomainResource
    from fhirclient.models.element import Element

    models: dict[str, dict] = {}
    resources: dict[str, str] = {}

    def path_of(cls: Any) -> str:
        return f"{R4_PREFIX}{cls.__module__.rpartition('.')[2]}.{cls.__name__}"

    def r4b_path(cls: Any) -> str | None:
        name = cls.__name__
        if name in _SPECIAL:
            return _SPECIAL[name]
        guess = f"fhir.resources.R4B.{cls.__module__.rpartition('.')[2]}.{name}"
        return guess if guess in r4b_models else None

    def add(cls: Any, base: str) -> str:
        path = path_of(cls)
        if path in models:
            return path
        rows = [list(r) for r in r4b_models[base]["fields"]]
        own = {r[0] for r in rows}
        required: list[str] = list(r4b_models[base].get("required", []))
        models[path] = {"resource": base.endswith("DomainResource"), "fields": rows, "required": required}
        for name, jsname, tp, is_list, of_many, not_optional in cls().elementProperties():
            if jsname in own:
                continue
            prim = _PRIMITIVES.get(tp.__name__)
            if prim is not None:
                type_name, model = prim, None
            elif (known := r4b_path(tp)) is not None:
                model = known
                type_name = "Resource" if known.endswith(".resource.Resource") else tp.__name__
                if type_name == "FHIRReference":
                    type_name = "Reference"
            elif issubclass(tp, BackboneElement):
                model = add(tp, "fhir.resources.R4B.backboneelement.BackboneElement")
                type_name = (of_many or name)[:1].upper() + (of_many or name)[1:]
            elif issubclass(tp, Element):  # an R4 data type R4B dropped (SubstanceAmount) and its parts
                model = add(tp, "fhir.resources.R4B.element.Element")
                type_name = tp.__name__
            else:
                raise ValueError(f"R4 type of {path}.{jsname} not mapped: {tp.__name__}")
            if of_many:
                type_name = jsname[len(of_many):]
            rows.append([jsname, of_many or name, bool(of_many), type_name, model, prim is not None, bool(is_list),
                         [], type_name == "Resource"])
            if not_optional and not of_many:
                required.append(jsname)
        return path

    for info in pkgutil.iter_modules(fc.__path__):
        module = importlib.import_module(f"fhirclient.models.{info.name}")
        for obj in vars(module).values():
            if (isinstance(obj, type) and obj.__module__ == module.__name__ and issubclass(obj, DomainResource)
                    and obj is not DomainResource and getattr(obj, "resource_type", None) == obj.__name__
                    and obj.__name__ not in r4b_resources):
                resources[obj.__name__] = add(obj, "fhir.resources.R4B.domainresource.DomainResource")
    return models, resources

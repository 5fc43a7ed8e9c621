"""deidentify_resource(): one FHIR R4 resource (a dict) in, its de-identified copy out. No Beam, no IO.

The walk visits every element once. What to do with an element depends only on its path from its resource
(field names and types, never indexes or values), so each path is resolved once into a ``_Plan`` (its
effective rule, the concrete operation for its type) and cached in the policy: the walk then costs one dict
lookup per element, and an object whose keys are all plain copies (a Coding, a Quantity) is copied whole. A rule
matching an element covers everything inside it unless an earlier rule (lower index) matches a descendant — the
first matching FieldMetadata wins, per value.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from transforms.crypto import Keys
from transforms.errors import DeidentifyError
from transforms.fhir import ids, narrative, paths, schema
from transforms.fhir.policy import AGE, CLEAN, INSPECT, KEEP, REMOVE, SHIFT, TRANSFORM, FhirPolicy, Rule
from transforms.fhir.processors import BIRTHDATE, CONTEXT_TYPES, DATE_TYPES, MIN_PHRASE, PROCESSORS, Clean
from transforms.fhir.processors import REMOVED as _REMOVED
from transforms.fhir.processors import Deferred as _Deferred
from transforms.fhir.processors import note as _note
from transforms.fhir.textclean import coded_text


# Elements whose values are ids or references, rewritten with the one id function (ids.py).
_REFERENCE_FIELDS = {
    ("fhir.resources.R4B.reference.Reference", "reference"),
    ("fhir.resources.R4B.bundle.BundleEntry", "fullUrl"),
    ("fhir.resources.R4B.bundle.BundleEntryRequest", "url"),
    ("fhir.resources.R4B.bundle.BundleEntryResponse", "location"),
    ("fhir.resources.R4B.bundle.BundleLink", "url"),
}
# ImagingStudy UIDs: mapped with the DICOM pipeline's UID function so images and clinical data still link.
_DICOM_UID_FIELDS = {
    ("fhir.resources.R4B.imagingstudy.ImagingStudySeries", "uid"),
    ("fhir.resources.R4B.imagingstudy.ImagingStudySeriesInstance", "uid"),
}
_IMAGING_STUDY = "fhir.resources.R4B.imagingstudy.ImagingStudy"
_DICOM_UID_SYSTEM = "urn:dicom:uid"


# --- plans -----------------------------------------------------------------------------------------------


# What the walk does with a child element (``_Plan.kind``), resolved once a path: the walk then branches on one int.
# ``_DROP``: a primitive a rule removes (whatever its type or special role), each string value a context phrase
# when the policy is contextual — what ``_leaf`` would do, without a call a value.
_PASS, _PRIMITIVE, _COMPLEX, _HOLDER, _NESTED, _SKIP_KIND, _VERBATIM_KIND, _DROP = range(8)


class _Plan:
    """What to do at one element path."""

    __slots__ = ("model", "field", "steps", "rule", "op", "special", "children", "where", "type_name", "required",
                 "kind", "plain", "notes", "passing", "replace", "noting")

    def __init__(self, model, field, steps, rule, op, special, where, type_name):
        self.model: str | None = model
        self.field: schema.Field | None = field
        self.steps: tuple = steps
        self.rule: Rule | None = rule  # effective rule (inherited or own)
        self.op: str = op  # concrete operation for a primitive; AGE hook for an Age element
        self.special: str | None = special
        self.children: dict[str, Any] = {}
        # the keys of ``children`` whose values are copied as they are (``_PASS``, ``_VERBATIM``): an object with
        # only such keys is copied whole, without visiting its keys one by one (``_walk``)
        self.passing: set[str] = set()
        self.where: str = where  # the element path for error messages: "Patient.address.city"
        self.type_name: str = type_name
        self.required: tuple | None = None  # (key, Field) of the model's 1..x elements, resolved on first use
        self.notes: bool = False  # a value removed here becomes a context phrase (``processors.note``, resolved once)
        # what ``PROCESSORS[op].apply`` does, resolved once: whether the value becomes a context phrase first
        # (``noting``, set with ``notes``), then the processor's ``replace``
        processor = PROCESSORS.get(op)
        self.replace = processor.replace if processor is not None else None
        self.noting: bool = False
        if field is None:
            self.kind = _HOLDER  # a primitive's extension holder (_birthDate, _given: [null, {...}])
        elif field.is_resource:
            self.kind = _NESTED
        elif not field.primitive:
            self.kind = _COMPLEX
        elif op == KEEP and special is None:
            self.kind = _PASS  # the common case: a primitive nothing applies to
        elif op == REMOVE:
            self.kind = _DROP
        else:
            self.kind = _PRIMITIVE
        # an element with nothing to do after its children (no AGE hook, ImagingStudy identifier, narrative or
        # attachment rule): its required elements are checked only when one of its keys was dropped
        self.plain: bool = (op != AGE and special != "imaging_identifier"
                            and type_name not in ("Narrative", "Attachment"))


class _Marker:
    """A child plan that is not an element: drop the key (``_SKIP``) or copy its value (``_VERBATIM``)."""

    __slots__ = ("kind",)

    def __init__(self, kind: int) -> None:
        self.kind = kind


_EXTENSION_KEYS = frozenset({"extension", "modifierExtension"})
_SKIP = _Marker(_SKIP_KIND)  # a child plan marker: drop the key
_VERBATIM = _Marker(_VERBATIM_KIND)  # a child plan marker: copy the value (resourceType)


def _root_plan(policy: FhirPolicy, resource_type: str) -> _Plan:
    plans = policy._plans
    plan = plans.get(resource_type)
    if plan is None:
        model = schema.resource_model(resource_type)
        if model is None:
            raise DeidentifyError("INVALID_ARGUMENT", "resourceType: not a FHIR R4 resource type")
        steps = (paths.root_step(resource_type),)
        rule = paths.first_match(policy.rules, steps)
        plan = _Plan(model, None, steps, rule, KEEP, None, resource_type, resource_type)
        plans[resource_type] = plan
    return plan


def _earlier(a: Rule | None, b: Rule | None, policy: FhirPolicy) -> Rule | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if policy.rules.index(a) <= policy.rules.index(b) else b


def _leaf_op(rule: Rule | None, type_name: str, policy: FhirPolicy) -> str:
    """The operation a rule's action becomes for a primitive type (the action's processor fits it)."""
    if rule is None:
        return KEEP
    action = rule.action
    if action == TRANSFORM:
        action = policy.text.date if type_name in DATE_TYPES else policy.text.other
    elif action == INSPECT:
        action = CLEAN
    processor = PROCESSORS.get(action)
    return processor.fit(type_name, rule, policy) if processor is not None else KEEP


def _child_plan(policy: FhirPolicy, parent: _Plan, key: str) -> Any:
    if key in _EXTENSION_KEYS or key.startswith("_"):
        if not policy.keep_extensions:
            plan: Any = _SKIP
        elif key.startswith("_"):
            base = parent.children.get(key[1:]) or _child_plan(policy, parent, key[1:])
            if not isinstance(base, _Plan):
                return _SKIP
            plan = _Plan("fhir.resources.R4B.element.Element", None, base.steps, base.rule, KEEP, None,
                         base.where, "Element")  # fmt: skip
        else:
            plan = _make_plan(policy, parent, key)
    elif key == "resourceType" and parent.field is None:
        plan = _VERBATIM
    else:
        plan = _make_plan(policy, parent, key)
    parent.children[key] = plan
    if plan.kind == _PASS or plan.kind == _VERBATIM_KIND:
        parent.passing.add(key)
    return plan


def _make_plan(policy: FhirPolicy, parent: _Plan, key: str) -> _Plan:
    f = schema.child(parent.model, key) if parent.model else None
    if f is None:  # the key is data, not an element name: never shown, whatever it looks like (issue 18)
        raise DeidentifyError("INVALID_ARGUMENT", f"{parent.where}: an unknown element (not a FHIR R4 element of "
                              f"{parent.type_name}; its name is not shown)")
    where = f"{parent.where}.{key}"
    steps = parent.steps + (paths.field_step(f),)
    own = paths.first_match(policy.rules, steps)
    rule = _earlier(parent.rule, own, policy)
    special = None
    op = KEEP
    if (parent.model, key) in _REFERENCE_FIELDS:
        special = "reference"
    elif (parent.model, key) in _DICOM_UID_FIELDS:
        special = "dicom_uid"
    elif key == "id" and parent.field is None:
        special = "resource_id"
    elif parent.model == _IMAGING_STUDY and key == "identifier":
        special = "imaging_identifier"
    if f.primitive:
        op = _leaf_op(rule, f.type_name, policy)
        if op == SHIFT and policy.safe_harbor and key == "birthDate" and parent.where == "Patient":
            op = BIRTHDATE
    elif rule is not None and rule.action == AGE and own is rule and f.type_name == "Age":
        op = AGE
    plan = _Plan(f.model, f, steps, rule, op, special, where, f.type_name)
    plan.notes = policy.contextual and f.type_name in CONTEXT_TYPES
    plan.noting = plan.notes and getattr(PROCESSORS.get(op), "notes", False)
    return plan


# --- the walk --------------------------------------------------------------------------------------------


class _Ctx:
    """Per-resource state: the patient, context phrases and deferred text cleaning (a plain class with slots:
    one is made a resource, and its fields are read on every element)."""

    __slots__ = ("policy", "keys", "patient", "context", "pending", "removed_late", "bundle_patients",
                 "bundle_context", "targets", "stats", "_shift")

    def __init__(self, policy: FhirPolicy, keys: Keys, patient: str | None, context: list[str],
                 targets: Any = None, stats: dict | None = None) -> None:
        self.policy = policy
        self.keys = keys
        self.patient = patient
        self.context = context
        self.pending: list = []
        self.removed_late = False
        self.bundle_patients: dict[str, str] | None = None
        self.bundle_context: dict[str, tuple[str, ...]] | None = None
        self.targets = targets  # store-wide resolution of urn:uuid: and conditional references -> Type/id
        self.stats = stats  # counts for the caller: "unresolved" references
        self._shift: int | None = None

    def shift_days(self) -> int:
        if self._shift is None:
            self._shift = self.keys.date_shift_days(self.patient or "", key=self.policy.date_shift_key)
        return self._shift


def _leaf(value: Any, plan: _Plan, parent: dict, ctx: _Ctx) -> Any:
    special = plan.special
    op = plan.op
    if special is not None and op != REMOVE and isinstance(value, str):
        if special == "reference":
            if ((value.startswith("urn:uuid:") or "?" in value)  # what needs_resolution needs, without a call
                    and plan.field.key == "reference" and ids.needs_resolution(value)):
                target = ctx.targets.get(ids.resolution_key(value)) if ctx.targets else None
                if target is not None:
                    value = target
                elif ctx.stats is not None:
                    ctx.stats["unresolved"] = ctx.stats.get("unresolved", 0) + 1
            return ids.rewrite_reference(ctx.keys, value)
        if special == "resource_id":
            return ids.new_id(ctx.keys, value)
        if special == "dicom_uid":
            return ctx.keys.uid(value)
    if op == KEEP:
        return value
    if value is None:
        return _REMOVED
    if op == REMOVE:
        if plan.notes and isinstance(value, str) and len(value) >= MIN_PHRASE:  # processors.note, without the call
            ctx.context.append(value)
        return _REMOVED
    if not isinstance(value, str):
        if op in (CLEAN,) or isinstance(value, bool):
            return value  # numbers and booleans hold no text to inspect
        _note(ctx, str(value), plan.type_name)
        return _REMOVED  # a number cannot be masked, hashed or shifted into a valid number
    if plan.noting and len(value) >= MIN_PHRASE:  # PROCESSORS[op].apply, without its two calls (processors.note)
        ctx.context.append(value)
    return plan.replace(value, plan, parent, ctx)


def _walk(obj: Any, plan: _Plan, ctx: _Ctx) -> Any:
    if obj.__class__ is not dict and not isinstance(obj, dict):
        raise DeidentifyError("INVALID_ARGUMENT", f"{plan.where}: expected a JSON object")
    plain = plan.plain
    if plain and obj.keys() <= plan.passing:  # nothing to do below (a Coding, a Quantity): a copy of it
        return dict(obj) if obj else _REMOVED
    imaging_uid = None
    if not plain:
        if plan.op == AGE:
            obj = PROCESSORS[AGE].element(obj)
        if plan.special == "imaging_identifier" and obj.get("system") == _DICOM_UID_SYSTEM:
            value = obj.get("value")
            if isinstance(value, str) and value.startswith("urn:oid:"):
                imaging_uid = "urn:oid:" + ctx.keys.uid(value[8:])
    children = plan.children
    out: dict[str, Any] = {}
    shrunk: list[str] | None = None  # primitives that lost values: their extensions go too
    holders = False  # whether ``out`` holds a primitive's extensions (``_given``): only then can shrunk ones go
    for key, value in obj.items():
        try:
            child = children[key]
        except KeyError:
            child = _child_plan(ctx.policy, plan, key)
        kind = child.kind
        if kind == _PASS or kind == _VERBATIM_KIND:
            out[key] = value
        elif kind == _COMPLEX:
            if isinstance(value, list):  # a loop, not a comprehension: most lists hold one or two objects
                result = []
                for v in value:
                    r = _walk(v, child, ctx)
                    if r is not _REMOVED:
                        result.append(r)
                if result:
                    out[key] = result
            else:  # _walk never returns an empty object
                result = _walk(value, child, ctx)
                if result is not _REMOVED:
                    out[key] = result
        elif kind == _DROP:
            if isinstance(value, list):
                if child.notes:
                    for item in value:
                        if isinstance(item, str) and len(item) >= MIN_PHRASE:
                            ctx.context.append(item)
                if value:
                    shrunk = [key] if shrunk is None else shrunk + [key]
            else:
                if child.notes and isinstance(value, str) and len(value) >= MIN_PHRASE:
                    ctx.context.append(value)
                shrunk = [key] if shrunk is None else shrunk + [key]
        elif kind == _PRIMITIVE:
            if isinstance(value, list):
                result = []
                for item in value:
                    r = _leaf(item, child, obj, ctx)
                    if r is _REMOVED:
                        continue
                    if r.__class__ is _Deferred:
                        ctx.pending.append((result, len(result), r))
                    result.append(r)
                if len(result) != len(value):
                    shrunk = [key] if shrunk is None else shrunk + [key]
            else:
                special = child.special
                if value.__class__ is not str:
                    result = _leaf(value, child, obj, ctx)
                elif special is None:  # _leaf's common cases, without the call
                    if child.noting and len(value) >= MIN_PHRASE:
                        ctx.context.append(value)
                    result = child.replace(value, child, obj, ctx)
                elif special == "reference" and not (value.startswith("urn:uuid:") or "?" in value):
                    result = ids.rewrite_reference(ctx.keys, value)  # nothing to resolve first
                elif special == "resource_id":
                    result = ids.new_id(ctx.keys, value)
                elif special == "dicom_uid":
                    result = ctx.keys.uid(value)
                else:
                    result = _leaf(value, child, obj, ctx)
                if result is _REMOVED:
                    shrunk = [key] if shrunk is None else shrunk + [key]
                    continue
                if result.__class__ is _Deferred:
                    ctx.pending.append((out, key, result))
            if not result and isinstance(result, (list, dict)):  # an emptied element goes
                continue
            out[key] = result
        elif kind == _SKIP_KIND:
            continue
        else:
            if kind == _NESTED:
                result = _nested_resources(value, child, ctx)
            else:  # _HOLDER: a primitive's extension holder (_birthDate, _given: [null, {...}])
                holders = True
                if isinstance(value, list):
                    result = [None if v is None else _walk(v, child, ctx) for v in value]
                    result = [None if r is _REMOVED else r for r in result]
                    if all(r is None for r in result):
                        result = _REMOVED
                else:
                    result = _walk(value, child, ctx)
            if result is _REMOVED or (not result and isinstance(result, (list, dict))):  # an emptied element goes
                continue
            out[key] = result
    if shrunk is not None and holders:
        for key in shrunk:  # a primitive's extensions go with the values they were attached to
            out.pop("_" + key, None)
    if len(out) != len(obj):  # a key was dropped (or a shrunk list's extensions): keep 1..x elements present
        required = plan.required
        if required is None:
            required = plan.required = _required_fields(plan.model)
        if required:
            for key, f in required:
                if key not in out and ("_" + key) not in out and (key in obj or ("_" + key) in obj):
                    _mark_absent(out, key, f)  # an action emptied a 1..x element: keep the resource valid
    if not plain:
        if imaging_uid is not None:
            out["value"] = imaging_uid
        if plan.type_name == "Narrative" and "div" not in out:
            return _REMOVED  # a narrative without its div is invalid: drop the narrative
        if plan.type_name == "Attachment" and out.get("data") != obj.get("data"):
            out.pop("hash", None)
            out.pop("size", None)
            if "data" in out:
                ctx.pending.append((out, "\x00attachment", None))
    if not out:
        return _REMOVED
    return out


# An element an action emptied but the definition requires (min >= 1) is kept as FHIR says a value that is
# withheld is: the data-absent-reason extension with code "masked" (a Synthea Claim's display-only
# ``insurance.coverage`` whose display was removed, an ExplanationOfBenefit's ``insurer``).
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
_MASKED = ({"url": DATA_ABSENT_REASON, "valueCode": "masked"},)


def _required_fields(model: str | None) -> tuple:
    if not model:
        return ()
    found = []
    for key in schema.required(model):
        f = schema.child(model, key)
        if f is not None and not f.is_resource:
            found.append((key, f))
    return tuple(found)


def _absent_element(f: schema.Field, depth: int = 0) -> dict:
    """The smallest valid value of a complex element withheld: the masked extension, and the same for each of its
    own required elements (a backbone element such as ``ClaimInsurance`` has 1..1 children of its own)."""
    out: dict[str, Any] = {"extension": [dict(e) for e in _MASKED]}
    if f.model and depth < 4:
        groups: set[str] = set()
        for key, child in _required_fields(f.model):
            if child.choice:  # a required choice group: one of its keys
                if child.name in groups:
                    continue
                groups.add(child.name)
            _mark_absent(out, key, child, depth + 1)
    return out


def _mark_absent(out: dict, key: str, f: schema.Field, depth: int = 0) -> None:
    if f.primitive:  # a primitive with no value and the extension: ``"_status": {"extension": [...]}``
        holder = {"extension": [dict(e) for e in _MASKED]}
        if f.is_list:
            out[key] = [None]
            out["_" + key] = [holder]
        else:
            out["_" + key] = holder
        return
    value = _absent_element(f, depth)
    out[key] = [value] if f.is_list else value


def _nested_resources(value: Any, plan: _Plan, ctx: _Ctx) -> Any:
    if plan.rule is not None and _leaf_op(plan.rule, "Resource", ctx.policy) == REMOVE:
        return _REMOVED
    if isinstance(value, list):
        return [_resource(v, ctx, nested=True) for v in value]
    return _resource(value, ctx, nested=True)


def _resource(resource: Any, parent: _Ctx, nested: bool) -> dict:
    if not isinstance(resource, dict):
        raise DeidentifyError("INVALID_ARGUMENT", "resource: expected a JSON object")
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        raise DeidentifyError("INVALID_ARGUMENT", "resourceType: missing")
    patient = parent.patient
    context = list(parent.context) if parent.policy.contextual else []
    if parent.bundle_patients is not None:  # a Bundle entry: its own compartment owner
        owner = _owner_reference(resource)
        patient = parent.bundle_patients.get(owner) if owner else None
        patient = patient or _default_shift_key(resource)
        if parent.bundle_context is not None and owner in parent.bundle_context:
            context += parent.bundle_context[owner]
    ctx = _Ctx(parent.policy, parent.keys, patient, context, targets=parent.targets, stats=parent.stats)
    return _run(resource, rtype, ctx)


def _run(resource: dict, rtype: str, ctx: _Ctx) -> dict:
    if rtype == "Bundle":
        ctx.bundle_patients, ctx.bundle_context = _bundle_patients(resource, ctx)
    out = _walk(resource, ctx.policy._plans.get(rtype) or _root_plan(ctx.policy, rtype), ctx)
    if out is _REMOVED:
        out = {"resourceType": rtype}
    if ctx.pending:
        _finish(ctx)
    if ctx.removed_late:
        out = _prune(out) or {"resourceType": rtype}
    return out


def _finish(ctx: _Ctx) -> None:
    """Run the deferred text cleaning, now that the whole resource's context phrases are known."""
    if not ctx.pending:
        return
    cleaner = ctx.policy.cleaner
    context = ctx.context
    keys = ctx.keys
    patient = ctx.patient

    def clean(text: str) -> str:
        return cleaner.clean(text, keys, patient, context)

    attachments = False
    for container, key, item in ctx.pending:
        if item is None:  # an Attachment whose data changed: size and hash follow the new content
            attachments = True
            continue
        kind = item.kind
        if key == "text" and coded_text(item.value, container):
            result: Any = item.value  # CodeableConcept.text saying what its codings' displays say: clinical
        elif kind == "text":  # the common case: ``Clean.refit(clean(value))`` with the calls of an unchanged text saved
            result = cleaner.clean(item.value, keys, patient, context)
            if result != item.value:
                result = Clean.refit(result, item, ctx)
        elif kind == "xhtml":  # ids and references in a narrative are rewritten as the elements are
            result = narrative.transform_div(item.value, lambda text: clean(_rewrite_text_ids(text, keys)))
        elif kind == "base64":
            cleaned = clean(item.value)
            result = base64.b64encode(cleaned.encode("utf-8")).decode("ascii")
        else:
            result = Clean.refit(clean(item.value), item, ctx)
        if result is _REMOVED:
            ctx.removed_late = True
        container[key] = result
    for container, _key, item in ctx.pending if attachments else ():
        if item is None and isinstance(container.get("data"), str):
            raw = base64.b64decode(container["data"])
            container["size"] = len(raw)
            container["hash"] = base64.b64encode(hashlib.sha1(raw).digest()).decode("ascii")
    ctx.pending.clear()


_TEXT_REFERENCE = re.compile(r"(?<![A-Za-z0-9/])([A-Z][A-Za-z]{2,63})/([A-Za-z0-9\-.]{1,64})")
_TEXT_UUID = re.compile(r"urn:uuid:([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})")


def _rewrite_text_ids(text: str, keys: Keys) -> str:
    """``Type/id`` (an R4 resource type) and ``urn:uuid:`` references in narrative text -> their rewritten forms,
    so a narrative does not keep the original ids the elements no longer show."""
    if "/" not in text and "urn:uuid:" not in text:
        return text

    def reference(match: re.Match) -> str:
        if schema.resource_model(match.group(1)) is None:
            return match.group(0)
        return f"{match.group(1)}/{ids.new_id(keys, match.group(2))}"

    text = _TEXT_UUID.sub(lambda m: "urn:uuid:" + ids.new_id(keys, m.group(1)), text)
    return _TEXT_REFERENCE.sub(reference, text)


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _prune(v)
            if v is not _REMOVED and v != [] and v != {}:
                out[k] = v
        return out
    if isinstance(value, list):
        return [p for p in (_prune(v) for v in value) if p is not _REMOVED and p != {} and p != []]
    return value


# --- patients --------------------------------------------------------------------------------------------


def _owner_reference(resource: dict) -> str | None:
    return ids.patient_reference(resource)


def _default_shift_key(resource: dict) -> str:
    """The date-shift key of a resource whose patient is not resolved by the caller."""
    if resource.get("resourceType") == "Patient":
        return ids.patient_shift_key(resource)
    owner = ids.patient_reference(resource)
    if owner:
        return owner
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        return f"{resource.get('resourceType')}/{rid}"
    canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"), default=str)
    return "resource:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _bundle_patients(bundle: dict, ctx: _Ctx) -> tuple[dict[str, str], dict[str, tuple[str, ...]] | None]:
    """Patients of a Bundle by every name a reference may use (fullUrl, Type/id): shift keys and context."""
    shift: dict[str, str] = {}
    context: dict[str, tuple[str, ...]] | None = {} if ctx.policy.contextual else None
    for entry in bundle.get("entry") or ():
        if not isinstance(entry, dict):
            continue
        res = entry.get("resource")
        if not isinstance(res, dict) or res.get("resourceType") != "Patient":
            continue
        key = ids.patient_shift_key(res)
        names = [f"Patient/{res.get('id')}"]
        if isinstance(entry.get("fullUrl"), str):
            names.append(entry["fullUrl"])
            names.append(ids.reference_key(entry["fullUrl"]) or "")
        phrases = patient_context(res, ctx.policy, ctx.keys) if context is not None else ()
        for name in names:
            if name:
                shift[name] = key
                if context is not None:
                    context[name] = phrases
    return shift, context


# --- public API ------------------------------------------------------------------------------------------


def deidentify_resource(
    resource: dict[str, Any],
    policy: FhirPolicy,
    keys: Keys,
    *,
    patient: str | None = None,
    context: Sequence[str] = (),
    targets: Any = None,
    stats: dict | None = None,
) -> dict[str, Any]:
    """De-identify one FHIR R4 resource (a Bundle's entries included); the input is not modified.

    ``patient`` is the date-shift key of the resource's compartment owner (``patient_shift_key`` of its
    Patient, which the pipeline joins in by ``patient_reference``); without it a Patient uses its own key,
    another resource its patient reference, a resource with no patient its own ``Type/id``. ``context`` adds
    phrases (e.g. the patient's name, from ``patient_context``) that cleaned text replaces with ``[CTX]``.
    ``targets`` maps ``ids.resolution_key`` of a ``urn:uuid:`` or conditional (``Type?identifier=s|v``) reference to
    the ``Type/id`` it names elsewhere in the store (the pipeline builds it store-wide); such a reference not in it
    is counted in ``stats["unresolved"]`` (then hashed into an opaque id, as before).
    Raises DeidentifyError (INVALID_ARGUMENT) naming the element path, never a value, for input that is not R4.
    """
    if not isinstance(resource, dict):
        raise DeidentifyError("INVALID_ARGUMENT", "resource: expected a JSON object")
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise DeidentifyError("INVALID_ARGUMENT", "resourceType: missing")
    ctx = _Ctx(policy, keys, patient or _default_shift_key(resource), list(context), targets=targets, stats=stats)
    try:
        return _run(resource, rtype, ctx)
    except RecursionError:
        raise DeidentifyError("INVALID_ARGUMENT", f"{rtype}: nested too deeply") from None


def deidentify_patient(patient_resource: dict[str, Any], policy: FhirPolicy, keys: Keys
                       ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``deidentify_resource(patient)`` and ``patient_context(patient)`` in one walk: a Patient is its own
    compartment owner, so it shifts with its own key and its text is cleaned with its own phrases (which the
    walk collects before the deferred cleaning runs). Same results as the two calls, for half the work."""
    if not isinstance(patient_resource, dict) or patient_resource.get("resourceType") != "Patient":
        raise DeidentifyError("INVALID_ARGUMENT", "resource: expected a Patient")
    ctx = _Ctx(policy, keys, ids.patient_shift_key(patient_resource), [])
    try:
        out = _run(patient_resource, "Patient", ctx)
    except RecursionError:
        raise DeidentifyError("INVALID_ARGUMENT", "Patient: nested too deeply") from None
    return out, tuple(dict.fromkeys(ctx.context)) if policy.contextual else ()


def resource_id_rewritten(policy: FhirPolicy, resource_type: str) -> bool:
    """Whether a ``<resource_type>`` resource's string ``id`` becomes ``new_id(keys, id)`` under this policy (the
    alternative: a rule removes it). Lets a pipeline predict a destination id without de-identifying."""
    root = _root_plan(policy, resource_type)
    plan = root.children.get("id") or _child_plan(policy, root, "id")
    return isinstance(plan, _Plan) and plan.op != REMOVE


def patient_context(patient_resource: dict[str, Any], policy: FhirPolicy, keys: Keys) -> tuple[str, ...]:
    """The phrases of a Patient that contextual de-identification replaces with ``[CTX]`` in other resources.

    Empty unless the policy has ``contextualDeid``. The pipeline passes them as ``context`` to the
    patient's other resources, so a name in a report's narrative goes even when the report never names it.
    """
    if not policy.contextual:
        return ()
    ctx = _Ctx(policy, keys, _default_shift_key(patient_resource), [])
    _walk(patient_resource, _root_plan(policy, "Patient"), ctx)
    ctx.pending.clear()
    return tuple(dict.fromkeys(ctx.context))

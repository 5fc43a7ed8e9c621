"""The FieldMetadata path grammar (spec §2.3): parsing, checking against FHIR R4, and matching element paths.

A path is a period-separated list of components; each is a field name (lower case first letter) or a FHIR type
name (upper case). A path matches an element when its components match the last steps of the element's path
from its resource (partial / suffix matching), one component per step, where a step answers to its field name,
its JSON key and its type name. A choice-type value (``deceasedAge``) is one step that takes either one
component (``deceasedAge``, ``Age``, ``Deceased``, ``DeceasedX``) or two: the choice name then the type
(``Deceased.Age``, R4 default-config spelling ``OnsetX.string`` too). HumanName sub-types can be omitted
because a match on an element covers everything inside it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from transforms.errors import ConfigError
from transforms.fhir import schema

_COMPONENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


# --- element steps (runtime) -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One step of an element's path: the tokens a path component may use to name it."""

    tokens: frozenset[str]
    # choice-type fields only: the tokens of the two-component form
    name_tokens: frozenset[str] = frozenset()
    type_tokens: frozenset[str] = frozenset()

    @property
    def choice(self) -> bool:
        return bool(self.name_tokens)


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _upper_first(name: str) -> str:
    return name[:1].upper() + name[1:]


def choice_names(base: str) -> frozenset[str]:
    return frozenset({base, _upper_first(base), _upper_first(base) + "X"})


@functools.cache
def root_step(resource_type: str) -> Step:
    return Step(frozenset({resource_type}))


@functools.cache
def field_step(field: schema.Field) -> Step:
    if field.choice:
        names = choice_names(field.name)
        types = frozenset({field.type_name, _lower_first(field.type_name)})
        return Step(frozenset({field.key, field.type_name}) | names, names, types)
    return Step(frozenset({field.name, field.key, field.type_name, *field.aliases}))


def matches(components: tuple[str, ...], steps: tuple[Step, ...]) -> bool:
    """True when ``components`` match the last steps of ``steps`` (suffix matching)."""

    def rec(i: int, j: int) -> bool:
        if i == 0:
            return True
        if j == 0:
            return False
        step = steps[j - 1]
        comp = components[i - 1]
        if comp in step.tokens and rec(i - 1, j - 1):
            return True
        if step.name_tokens and i >= 2 and comp in step.type_tokens and components[i - 2] in step.name_tokens:
            return rec(i - 2, j - 1)
        return False

    return rec(len(components), len(steps))


# --- config paths (launch time) --------------------------------------------------------------------------


def parse_path(path: str, where: str) -> tuple[str, ...]:
    """Split a config path into components, rejecting malformed or unknown names (``where``: its JSON path)."""
    if not isinstance(path, str) or not path:
        raise ConfigError(where, "a FHIR path must be a non-empty string")
    components = tuple(path.split("."))
    names, types = schema.vocabulary()
    for comp in components:
        if not _COMPONENT.match(comp):
            raise ConfigError(where, f"malformed FHIR path component {comp!r}")
        if comp[0].isupper():
            if comp not in types:
                raise ConfigError(where, f"{comp!r} is not a FHIR R4 type or resource name")
        elif comp not in names:
            raise ConfigError(where, f"{comp!r} is not a field of any FHIR R4 element")
    return components


# A state of the launch-time resolver: ("m", model, type name) an element, ("p", type name) a primitive,
# ("c", model, base name) after a choice name that still waits for its type.
State = tuple


@functools.lru_cache(maxsize=1)
def _indexes() -> tuple[dict[str, set], dict[str, set]]:
    by_type: dict[str, set] = {}
    by_name: dict[str, set] = {}
    for model in schema.all_models():
        name = model.rpartition(".")[2]
        if schema.resource_model(name) == model:
            by_type.setdefault(name, set()).add(("m", model, name))
        for f in schema.fields(model).values():
            state = _field_state(f)
            for token in field_step(f).tokens:
                target = by_type if token[:1].isupper() else by_name
                target.setdefault(token, set()).add(state)
            if f.choice:
                for token in choice_names(f.name):
                    target = by_type if token[:1].isupper() else by_name
                    target.setdefault(token, set()).add(("c", model, f.name))
    return by_type, by_name


def _field_state(f: schema.Field) -> State:
    return ("p", f.type_name) if f.primitive else ("m", f.model, f.type_name)


def _next(state: State, comp: str) -> set:
    out: set = set()
    if state[0] == "m":
        for f in schema.fields(state[1]).values():
            step = field_step(f)
            if comp in step.tokens:
                out.add(_field_state(f) if comp not in step.name_tokens else ("c", state[1], f.name))
    elif state[0] == "c":
        for f in schema.fields(state[1]).values():
            if f.choice and f.name == state[2]:
                if comp in field_step(f).type_tokens:
                    out.add(_field_state(f))
                else:  # the choice consumed by its name alone: comp names a child of the chosen type
                    out |= _next(_field_state(f), comp)
    return out


def _choice_types(state: State) -> set[str]:
    return {f.type_name for f in schema.fields(state[1]).values() if f.choice and f.name == state[2]}


def terminal_types(components: tuple[str, ...], where: str) -> frozenset[str]:
    """The FHIR type names a path can end on; ConfigError when it matches no element of FHIR R4."""
    by_type, by_name = _indexes()
    first = components[0]
    states = set((by_type if first[:1].isupper() else by_name).get(first, ()))
    for comp in components[1:]:
        nxt: set = set()
        for state in states:
            nxt |= _next(state, comp)
        states = nxt
        if not states:
            break
    if not states:
        raise ConfigError(where, "matches no element of FHIR R4")
    types: set[str] = set()
    for state in states:
        if state[0] == "c":
            types |= _choice_types(state)
        else:
            types.add(state[-1])
    return frozenset(types)


def first_match(rules: Iterable, steps: tuple[Step, ...]) -> object | None:
    """The first rule (with a ``components`` attribute) whose path matches ``steps``."""
    for rule in rules:
        if matches(rule.components, steps):
            return rule
    return None

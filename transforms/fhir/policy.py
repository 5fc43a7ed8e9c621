"""FhirPolicy: a DeidentifyConfig's FHIR part compiled once at launch into an ordered list of path rules.

Precedence (spec §2.13): ``fieldMetadataList`` entries first, in order (the first match wins), then the
profile's rules (BASIC: our HIPAA Safe Harbor list, which ``default_config.json`` spells out, plus the
built-ins the config grammar cannot express). Options parameterise actions; extensions follow
``defaultKeepExtensions`` / ``options.keepExtensions``.
"""

from __future__ import annotations

import datetime
import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from transforms.config import DeidentifyConfig, FhirConfig, FhirFieldConfig, TextConfig, parse_config
from transforms.errors import ConfigError
from transforms.fhir import paths
from transforms.fhir.textclean import TextCleaner

# Actions of a rule.
KEEP = "keep"
REMOVE = "remove"
MASK = "mask"
HASH = "hash"
SHIFT = "shift"
CLEAN = "clean"
TRANSFORM = "transform"  # v1: the TextConfig transformation for the field, redaction when it does not fit
INSPECT = "inspect"  # v1 INSPECT_AND_TRANSFORM (= CLEAN)
# Built-ins of the BASIC profile that the config grammar cannot express (see README.md).
ZIP3 = "zip3"  # Address.postalCode: first three digits of a US ZIP, 000 for the restricted areas
AGE = "age"  # Age: over 89 years aggregated to ">= 90"
ATTACH = "attach"  # Attachment.data: text/* decoded, cleaned, re-encoded; anything else removed

FIELD_ACTIONS = {
    "keep_field": KEEP,
    "remove_field": REMOVE,
    "character_mask_field": MASK,
    "crypto_hash_field": HASH,
    "date_shift_field": SHIFT,
    "clean_text_field": CLEAN,
}
V1_ACTIONS = {
    "ACTION_UNSPECIFIED": KEEP,
    "DO_NOT_TRANSFORM": KEEP,
    "TRANSFORM": TRANSFORM,
    "INSPECT_AND_TRANSFORM": INSPECT,
}

_MASKABLE = frozenset(
    {"Code", "Decimal", "HumanName", "Id", "LanguageCode", "AdministrativeGenderCode", "Markdown", "Oid", "String"}
    | {"Uri", "Url", "Canonical", "Uuid", "Xhtml"}
)
# Types each v1beta1 action accepts (spec §2.9). dateShiftField also takes Instant: a deidflow extension, so a
# Safe Harbor config can shift every point in time (an instant is a dateTime with full precision).
SUPPORTED_TYPES = {
    KEEP: None,
    REMOVE: None,
    MASK: _MASKABLE,
    HASH: _MASKABLE,
    SHIFT: frozenset({"Date", "DateTime", "Instant"}),
    CLEAN: frozenset({"Date", "DateTime"}) | _MASKABLE,
}
CLEAN_ALL_TYPES = (
    "Code", "Date", "DateTime", "Decimal", "HumanName", "Id", "LanguageCode", "Markdown", "Oid", "String", "Uri",
    "Uuid", "Xhtml",
)  # fmt: skip


@dataclass(frozen=True)
class Rule:
    """One path of one FieldMetadata, or of a profile."""

    components: tuple[str, ...]
    action: str
    source: str  # where it came from: a JSON path of the config, or "profile BASIC"
    mask_char: str = "*"


@dataclass(frozen=True)
class TextMethods:
    """What the TextConfig does to a whole value (TRANSFORM) and to a whole date (cleanTextField on Date)."""

    date: str = SHIFT
    other: str = REMOVE
    mask_char: str = "*"
    date_shift_key: bytes | None = None
    crypto_hash_key: bytes | None = None


@dataclass
class FhirPolicy:
    """A compiled FHIR de-identification policy. Picklable; per-process caches are rebuilt lazily."""

    rules: tuple[Rule, ...]
    keep_extensions: bool = False
    contextual: bool = False
    safe_harbor: bool = False  # BASIC profile built-ins on (birth dates over 89, ZIP3, ages, attachments)
    text: TextMethods = field(default_factory=TextMethods)
    crypto_hash_key: bytes | None = None
    date_shift_key: bytes | None = None
    reference_date: datetime.date = field(default_factory=datetime.date.today)
    cleaner: TextCleaner = field(default_factory=lambda: TextCleaner(None))
    _plans: dict = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_plans"] = {}
        return state


# --- the BASIC profile and the default config --------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def default_config_json() -> dict[str, Any]:
    """The shipped default config (``default_config.json``), as JSON."""
    text = resources.files("transforms.fhir").joinpath("default_config.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def default_config() -> DeidentifyConfig:
    """The shipped HIPAA Safe Harbor default, parsed."""
    return parse_config(default_config_json())


_BUILTIN_RULES = (
    Rule(("Address", "postalCode"), ZIP3, "profile BASIC"),
    Rule(("Age",), AGE, "profile BASIC"),
    Rule(("Attachment", "data"), ATTACH, "profile BASIC"),
)


@functools.lru_cache(maxsize=1)
def basic_profile_rules() -> tuple[Rule, ...]:
    """BASIC: the Safe Harbor list of ``default_config.json`` followed by the built-ins."""
    listed = _field_config_rules(default_config().fhir_field_config, "profile BASIC", mask_char="*")
    return tuple(Rule(r.components, r.action, "profile BASIC") for r in listed) + _BUILTIN_RULES


def _clean_all_rules() -> tuple[Rule, ...]:
    return tuple(Rule((t,), CLEAN, "profile CLEAN_ALL") for t in CLEAN_ALL_TYPES)


# --- compilation -----------------------------------------------------------------------------------------


def _text_method(text: TextConfig | None, info_type: str | None) -> tuple[str, Any]:
    """The TextConfig's transformation for an infoType (None: the default one) as (action, transformation)."""
    if text is not None and info_type is not None and info_type in text.exclude_info_types:
        return KEEP, None
    transformations = (text.additional_transformations + text.transformations) if text is not None else ()
    chosen = None
    if info_type is not None:
        chosen = next((t for t in transformations if info_type in t.info_types), None)
    if chosen is None:
        chosen = next((t for t in transformations if not t.info_types), None)
    if chosen is None:
        if text is not None and text.profile_type == "EMPTY":
            return KEEP, None
        return (SHIFT if info_type == "DATE" else REMOVE), None  # BASIC: DATE shifted, else [INFO_TYPE]
    method = chosen.method
    return {
        "redact_config": REMOVE,
        "replace_with_info_type_config": REMOVE,  # "The TRANSFORM action is equivalent to redacting"
        "character_mask_config": MASK,
        "crypto_hash_config": HASH,
        "date_shift_config": SHIFT,
    }[method], chosen


def _text_methods(text: TextConfig | None) -> TextMethods:
    date, date_t = _text_method(text, "DATE")
    other, other_t = _text_method(text, None)
    mask_char = "*"
    for t in (other_t, date_t):
        if t is not None and t.character_mask_config is not None:
            mask_char = t.character_mask_config.character
    shift_key = hash_key = None
    for t in (text.additional_transformations + text.transformations) if text is not None else ():
        if t.date_shift_config is not None and t.date_shift_config.crypto_key and shift_key is None:
            shift_key = t.date_shift_config.crypto_key
        if t.crypto_hash_config is not None and t.crypto_hash_config.crypto_key and hash_key is None:
            hash_key = t.crypto_hash_config.crypto_key
    return TextMethods(date, other, mask_char, shift_key, hash_key)


def _check_support(action: str, components: tuple[str, ...], where: str) -> None:
    types = paths.terminal_types(components, where)
    allowed = SUPPORTED_TYPES.get(action)
    if allowed is None:
        return
    if not types & allowed:
        names = ", ".join(sorted(types))
        raise ConfigError(
            where, f"this action does not apply to FHIR type {names}; it supports {', '.join(sorted(allowed))}"
        )


def _field_config_rules(config: FhirFieldConfig, base: str, mask_char: str) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for i, meta in enumerate(config.field_metadata_list):
        mpath = f"{base}.fieldMetadataList[{i}]"
        if not meta.paths:
            raise ConfigError(f"{mpath}.paths", "at least one FHIR path is required")
        action = FIELD_ACTIONS[meta.action]
        for j, path in enumerate(meta.paths):
            where = f"{mpath}.paths[{j}]"
            components = paths.parse_path(path, where)
            _check_support(action, components, where)
            rules.append(Rule(components, action, where, mask_char))
    return tuple(rules)


def _v1_rules(config: FhirConfig) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for i, meta in enumerate(config.field_metadata_list):
        mpath = f"fhir.fieldMetadataList[{i}]"
        if not meta.paths:
            raise ConfigError(f"{mpath}.paths", "at least one FHIR path is required")
        for j, path in enumerate(meta.paths):
            where = f"{mpath}.paths[{j}]"
            components = paths.parse_path(path, where)
            paths.terminal_types(components, where)  # the path must name something in FHIR R4
            rules.append(Rule(components, V1_ACTIONS[meta.action], where))
    return tuple(rules)


def _dedupe(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    seen: set = set()
    out = []
    for rule in rules:
        key = (rule.components, rule.action, rule.mask_char)
        if key not in seen:
            seen.add(key)
            out.append(rule)
    return tuple(out)


def compile_fhir_policy(config: DeidentifyConfig | None, *, reference_date: datetime.date | None = None) -> FhirPolicy:
    """Compile the FHIR part of a config (None, or no fhir block: the shipped Safe Harbor default).

    Raises ConfigError naming the JSON path of a bad path or of an action that does not fit the path's type.
    ``reference_date`` is the day ages are counted at for Safe Harbor's "over 89" rule (default: today,
    resolved here once so every worker agrees; pass it explicitly for byte-identical re-runs).
    """
    default = default_config()
    if config is None:
        config = default
    metadata = config.operation_metadata
    if metadata is not None and metadata.fhir_output is not None:  # never silently ignored (DESIGN: launch rules)
        raise ConfigError("operationMetadata.fhirOutput", "not supported: deidflow writes no Provenance resources; "
                          "remove the field")
    if config.fhir is None and config.fhir_field_config is None:
        config = DeidentifyConfig(fhir_field_config=default.fhir_field_config, text=config.text or default.text)
    text_methods = _text_methods(config.text)
    common = dict(
        text=text_methods,
        reference_date=reference_date or datetime.date.today(),
        cleaner=TextCleaner(config.text, "text"),
    )
    if config.fhir is not None:
        return FhirPolicy(
            rules=_v1_rules(config.fhir),
            keep_extensions=config.fhir.default_keep_extensions,
            crypto_hash_key=text_methods.crypto_hash_key,
            date_shift_key=text_methods.date_shift_key,
            **common,
        )
    ffc = config.fhir_field_config
    options = ffc.options
    mask_char = "*"
    hash_key = text_methods.crypto_hash_key
    shift_key = text_methods.date_shift_key
    if options is not None:
        if options.character_mask_config is not None:
            mask_char = options.character_mask_config.character
        if options.crypto_hash_config is not None and options.crypto_hash_config.crypto_key:
            hash_key = options.crypto_hash_config.crypto_key
        if options.date_shift_config is not None and options.date_shift_config.crypto_key:
            shift_key = options.date_shift_config.crypto_key
    if len(mask_char) != 1:
        raise ConfigError("fhirFieldConfig.options.characterMaskConfig.maskingCharacter", "must be one character")
    rules = _field_config_rules(ffc, "fhirFieldConfig", mask_char)
    profile = ffc.profile_type
    safe_harbor = profile in ("PROFILE_TYPE_UNSPECIFIED", "BASIC")
    if safe_harbor:
        rules += tuple(Rule(r.components, r.action, r.source, mask_char) for r in basic_profile_rules())
    elif profile == "CLEAN_ALL":
        rules += _clean_all_rules()
    return FhirPolicy(
        rules=_dedupe(rules),
        keep_extensions=options is not None and options.keep_extensions is not None,
        contextual=options is not None and options.contextual_deid is not None,
        safe_harbor=safe_harbor,
        crypto_hash_key=hash_key,
        date_shift_key=shift_key,
        **common,
    )

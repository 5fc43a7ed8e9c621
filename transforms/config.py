"""DeidentifyConfig model: the Cloud Healthcare API's JSON (v1 and v1beta1) parsed into frozen dataclasses.

Every message of the API's config tree is a frozen dataclass here. ``parse_config`` accepts the JSON as the API
does — lowerCamelCase names (and the proto snake_case names, as protobuf's JSON parser does), enum strings,
base64 bytes — and rejects unknown fields, wrong types, bad enum values and union conflicts with the JSON path
of the offending field. Messages that are empty in the API (``RedactConfig``, ``KeepTag`` ...) are empty
dataclasses: what matters is whether they are present (not ``None``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import typing
from dataclasses import dataclass, field
from typing import Any, Optional

from transforms.errors import ConfigError

# --- enums (value sets exactly as the API spells them) ---------------------------------------------------

TAG_FILTER_PROFILES = (
    "TAG_FILTER_PROFILE_UNSPECIFIED",
    "MINIMAL_KEEP_LIST_PROFILE",
    "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
    "KEEP_ALL_PROFILE",
    "DEIDENTIFY_TAG_CONTENTS",
)
DICOM_TAG_PROFILE_TYPES = (
    "PROFILE_TYPE_UNSPECIFIED",
    "MINIMAL_KEEP_LIST_PROFILE",
    "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
    "KEEP_ALL_PROFILE",
    "DEIDENTIFY_TAG_CONTENTS",
)
PRIMARY_IDS_OPTIONS = ("PRIMARY_IDS_OPTION_UNSPECIFIED", "KEEP", "REGEN")
FIELD_ACTIONS = ("ACTION_UNSPECIFIED", "TRANSFORM", "INSPECT_AND_TRANSFORM", "DO_NOT_TRANSFORM")
TEXT_REDACTION_MODES = (
    "TEXT_REDACTION_MODE_UNSPECIFIED",
    "REDACT_ALL_TEXT",
    "REDACT_SENSITIVE_TEXT",
    "REDACT_NO_TEXT",
    "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS",
)
TEXT_PROFILE_TYPES = ("PROFILE_TYPE_UNSPECIFIED", "EMPTY", "BASIC")
FHIR_PROFILE_TYPES = ("PROFILE_TYPE_UNSPECIFIED", "KEEP_ALL", "BASIC", "CLEAN_ALL")

AES_KEY_LENGTHS = (16, 24, 32)


def _enum(values: tuple[str, ...], default: str) -> Any:
    return field(default=default, metadata={"enum": values})


def _bytes(default: Optional[bytes] = None) -> Any:
    return field(default=default, metadata={"bytes": True})


def _key(default: Optional[bytes] = None) -> Any:
    return field(default=default, metadata={"bytes": True, "aes_key": True})


# --- primitive transformations (§2.6) --------------------------------------------------------------------


@dataclass(frozen=True)
class KmsWrappedCryptoKey:
    crypto_key: str = ""
    wrapped_key: Optional[bytes] = _key()


@dataclass(frozen=True)
class RedactConfig:
    pass


@dataclass(frozen=True)
class ReplaceWithInfoTypeConfig:
    pass


@dataclass(frozen=True)
class CharacterMaskConfig:
    masking_character: str = ""

    @property
    def character(self) -> str:
        return self.masking_character or "*"


@dataclass(frozen=True)
class CryptoHashConfig:
    crypto_key: Optional[bytes] = _key()
    kms_wrapped: Optional[KmsWrappedCryptoKey] = None
    _ONEOFS = (("crypto_key", "kms_wrapped"),)


@dataclass(frozen=True)
class DateShiftConfig:
    crypto_key: Optional[bytes] = _key()
    kms_wrapped: Optional[KmsWrappedCryptoKey] = None
    _ONEOFS = (("crypto_key", "kms_wrapped"),)


TRANSFORMATION_FIELDS = (
    "redact_config",
    "character_mask_config",
    "date_shift_config",
    "crypto_hash_config",
    "replace_with_info_type_config",
)


@dataclass(frozen=True)
class InfoTypeTransformation:
    info_types: tuple[str, ...] = ()
    redact_config: Optional[RedactConfig] = None
    character_mask_config: Optional[CharacterMaskConfig] = None
    date_shift_config: Optional[DateShiftConfig] = None
    crypto_hash_config: Optional[CryptoHashConfig] = None
    replace_with_info_type_config: Optional[ReplaceWithInfoTypeConfig] = None
    _ONEOFS = (TRANSFORMATION_FIELDS,)
    _REQUIRED_ONEOFS = (TRANSFORMATION_FIELDS,)

    @property
    def method(self) -> str:
        """The name of the one transformation set (``redact_config``, ...)."""
        return next(name for name in TRANSFORMATION_FIELDS if getattr(self, name) is not None)


@dataclass(frozen=True)
class TextConfig:
    transformations: tuple[InfoTypeTransformation, ...] = ()
    additional_transformations: tuple[InfoTypeTransformation, ...] = ()
    exclude_info_types: tuple[str, ...] = ()
    profile_type: str = _enum(TEXT_PROFILE_TYPES, "PROFILE_TYPE_UNSPECIFIED")


# --- image (§2.4) ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomRegex:
    pattern: str = ""
    group_indexes: tuple[int, ...] = ()


@dataclass(frozen=True)
class ImageConfig:
    text_redaction_mode: str = _enum(TEXT_REDACTION_MODES, "TEXT_REDACTION_MODE_UNSPECIFIED")
    custom_regexes: tuple[CustomRegex, ...] = ()
    additional_info_types: tuple[str, ...] = ()
    exclude_info_types: tuple[str, ...] = ()

    @property
    def redacts(self) -> bool:
        """True when this config changes pixels at all."""
        if self.text_redaction_mode in ("REDACT_NO_TEXT",):
            return bool(self.custom_regexes)
        if self.text_redaction_mode == "TEXT_REDACTION_MODE_UNSPECIFIED":
            return bool(self.custom_regexes or self.additional_info_types)
        return True


# --- DICOM (§2.2, §2.8) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagFilterList:
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class DicomConfig:
    keep_list: Optional[TagFilterList] = None
    remove_list: Optional[TagFilterList] = None
    filter_profile: str = _enum(TAG_FILTER_PROFILES, "TAG_FILTER_PROFILE_UNSPECIFIED")
    skip_id_redaction: bool = False
    _ONEOFS = (("keep_list", "remove_list", "filter_profile"),)


@dataclass(frozen=True)
class CleanDescriptorsOption:
    pass


@dataclass(frozen=True)
class DicomOptions:
    clean_descriptors: Optional[CleanDescriptorsOption] = None
    clean_image: Optional[ImageConfig] = None
    primary_ids: str = _enum(PRIMARY_IDS_OPTIONS, "PRIMARY_IDS_OPTION_UNSPECIFIED")


@dataclass(frozen=True)
class KeepTag:
    pass


@dataclass(frozen=True)
class RemoveTag:
    pass


@dataclass(frozen=True)
class DeleteTag:
    pass


@dataclass(frozen=True)
class ResetTag:
    pass


@dataclass(frozen=True)
class RegenUidTag:
    pass


@dataclass(frozen=True)
class CleanTextTag:
    pass


@dataclass(frozen=True)
class RecurseTag:
    pass


DICOM_ACTION_FIELDS = (
    "keep_tag",
    "remove_tag",
    "delete_tag",
    "reset_tag",
    "regen_uid_tag",
    "clean_text_tag",
    "clean_image_tag",
    "recurse_tag",
)


@dataclass(frozen=True)
class DicomTagAction:
    queries: tuple[str, ...] = ()
    keep_tag: Optional[KeepTag] = None
    remove_tag: Optional[RemoveTag] = None
    delete_tag: Optional[DeleteTag] = None
    reset_tag: Optional[ResetTag] = None
    regen_uid_tag: Optional[RegenUidTag] = None
    clean_text_tag: Optional[CleanTextTag] = None
    clean_image_tag: Optional[ImageConfig] = None
    recurse_tag: Optional[RecurseTag] = None
    _ONEOFS = (DICOM_ACTION_FIELDS,)
    _REQUIRED_ONEOFS = (DICOM_ACTION_FIELDS,)

    @property
    def action(self) -> str:
        return next(name for name in DICOM_ACTION_FIELDS if getattr(self, name) is not None)


@dataclass(frozen=True)
class DicomTagConfig:
    profile_type: str = _enum(DICOM_TAG_PROFILE_TYPES, "PROFILE_TYPE_UNSPECIFIED")
    options: Optional[DicomOptions] = None
    actions: tuple[DicomTagAction, ...] = ()


# --- FHIR (§2.3, §2.9) -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldMetadata:
    action: str = _enum(FIELD_ACTIONS, "ACTION_UNSPECIFIED")
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class FhirConfig:
    field_metadata_list: tuple[FieldMetadata, ...] = ()
    default_keep_extensions: bool = False


@dataclass(frozen=True)
class KeepField:
    pass


@dataclass(frozen=True)
class RemoveField:
    pass


@dataclass(frozen=True)
class CharacterMaskField:
    pass


@dataclass(frozen=True)
class CryptoHashField:
    pass


@dataclass(frozen=True)
class DateShiftField:
    pass


@dataclass(frozen=True)
class CleanTextField:
    pass


FHIR_FIELD_ACTION_FIELDS = (
    "keep_field",
    "remove_field",
    "character_mask_field",
    "crypto_hash_field",
    "date_shift_field",
    "clean_text_field",
)


@dataclass(frozen=True)
class FhirFieldMetadata:
    paths: tuple[str, ...] = ()
    keep_field: Optional[KeepField] = None
    remove_field: Optional[RemoveField] = None
    character_mask_field: Optional[CharacterMaskField] = None
    crypto_hash_field: Optional[CryptoHashField] = None
    date_shift_field: Optional[DateShiftField] = None
    clean_text_field: Optional[CleanTextField] = None
    _ONEOFS = (FHIR_FIELD_ACTION_FIELDS,)
    _REQUIRED_ONEOFS = (FHIR_FIELD_ACTION_FIELDS,)

    @property
    def action(self) -> str:
        return next(name for name in FHIR_FIELD_ACTION_FIELDS if getattr(self, name) is not None)


@dataclass(frozen=True)
class ContextualDeidConfig:
    pass


@dataclass(frozen=True)
class KeepExtensionsConfig:
    pass


@dataclass(frozen=True)
class FhirOptions:
    character_mask_config: Optional[CharacterMaskConfig] = None
    crypto_hash_config: Optional[CryptoHashConfig] = None
    date_shift_config: Optional[DateShiftConfig] = None
    contextual_deid: Optional[ContextualDeidConfig] = None
    keep_extensions: Optional[KeepExtensionsConfig] = None


@dataclass(frozen=True)
class FhirFieldConfig:
    profile_type: str = _enum(FHIR_PROFILE_TYPES, "PROFILE_TYPE_UNSPECIFIED")
    options: Optional[FhirOptions] = None
    field_metadata_list: tuple[FhirFieldMetadata, ...] = ()


# --- the rest (§2.10, §2.11) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FhirOutput:
    fhir_store: str = ""


@dataclass(frozen=True)
class DeidentifyOperationMetadata:
    fhir_output: Optional[FhirOutput] = None


@dataclass(frozen=True)
class AnnotationConfig:
    annotation_store_name: str = ""
    store_quote: bool = False


@dataclass(frozen=True)
class DeidentifyConfig:
    dicom: Optional[DicomConfig] = None
    fhir: Optional[FhirConfig] = None
    image: Optional[ImageConfig] = None
    text: Optional[TextConfig] = None
    use_regional_data_processing: bool = False
    dicom_tag_config: Optional[DicomTagConfig] = None
    fhir_field_config: Optional[FhirFieldConfig] = None
    operation_metadata: Optional[DeidentifyOperationMetadata] = None
    annotation: Optional[AnnotationConfig] = None
    # Legacy and new forms of the same block together are ambiguous (spec §2.13): rejected.
    _ONEOFS = (("dicom", "dicom_tag_config"), ("fhir", "fhir_field_config"))


# --- parsing ---------------------------------------------------------------------------------------------


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _json_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _decode_bytes(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise ConfigError(path, "expected a base64 string")
    text = value.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        if re.fullmatch(r"[A-Za-z0-9+/]*=*", padded):
            return base64.b64decode(padded, validate=True)
        if re.fullmatch(r"[A-Za-z0-9_-]*=*", padded):
            return base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        pass
    raise ConfigError(path, "is not valid base64")


_HINTS_CACHE: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS_CACHE:
        _HINTS_CACHE[cls] = typing.get_type_hints(cls)
    return _HINTS_CACHE[cls]


def _parse_value(tp: Any, meta: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union:  # Optional[X]
        inner = [a for a in typing.get_args(tp) if a is not type(None)][0]
        return _parse_value(inner, meta, value, path)
    if meta.get("bytes"):
        data = _decode_bytes(value, path)
        if meta.get("aes_key") and len(data) not in AES_KEY_LENGTHS:
            raise ConfigError(path, f"must be a 128, 192 or 256 bit key; got {len(data) * 8} bits")
        return data
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(path, "expected a list")
        item_type = typing.get_args(tp)[0]
        return tuple(_parse_value(item_type, {}, item, f"{path}[{i}]") for i, item in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return parse_message(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, "expected true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(path, "expected an integer")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(path, "expected an integer") from None
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, "expected a string")
        allowed = meta.get("enum")
        if allowed and value not in allowed:
            raise ConfigError(path, f"unknown value; expected one of {', '.join(allowed)}")
        return value
    raise AssertionError(f"unsupported field type {tp!r}")  # pragma: no cover - schema bug


def parse_message(cls: type, obj: Any, path: str = "") -> Any:
    """Parse one JSON object into the dataclass ``cls``; errors name the JSON path."""
    if not isinstance(obj, dict):
        raise ConfigError(path or "config", "expected a JSON object")
    hints = _hints(cls)
    by_json_name = {}
    for f in dataclasses.fields(cls):
        by_json_name[camel(f.name)] = f
        by_json_name[f.name] = f
    values: dict[str, Any] = {}
    present: set[str] = set()
    for key, value in obj.items():
        f = by_json_name.get(key)
        fpath = _json_path(path, key)
        if f is None:
            raise ConfigError(fpath, f"unknown field for {cls.__name__}")
        if f.name in present:
            raise ConfigError(fpath, "given twice (camelCase and snake_case)")
        present.add(f.name)
        if value is None:  # JSON null means "not set", as in protobuf's JSON mapping
            continue
        values[f.name] = _parse_value(hints[f.name], f.metadata, value, fpath)
    for group in getattr(cls, "_ONEOFS", ()):
        chosen = [name for name in group if name in values]
        if len(chosen) > 1:
            names = " and ".join(_json_path(path, camel(n)) for n in chosen)
            raise ConfigError(_json_path(path, camel(chosen[1])), f"only one of {names} may be set")
    for group in getattr(cls, "_REQUIRED_ONEOFS", ()):
        if not any(name in values for name in group):
            raise ConfigError(path or cls.__name__, "one of " + ", ".join(camel(n) for n in group) + " is required")
    return cls(**values)


def parse_config(obj: Any) -> DeidentifyConfig:
    """Parse and check a DeidentifyConfig given as a decoded JSON object."""
    config = parse_message(DeidentifyConfig, obj, "")
    validate(config)
    return config


def load_config_text(text: str, source: str = "config") -> DeidentifyConfig:
    """Parse a config file's text (JSON)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(source, f"is not valid JSON (line {err.lineno}, column {err.colno})") from None
    except RecursionError:
        raise ConfigError(source, "is nested too deeply to be a DeidentifyConfig") from None
    return parse_config(obj)


# --- cross-field rules -----------------------------------------------------------------------------------

SENSITIVE_MODES = ("REDACT_SENSITIVE_TEXT", "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS")


def compile_custom_regex(regex: CustomRegex, path: str) -> "re.Pattern[str]":
    """A CustomRegex's pattern compiled, its capture groups checked; ConfigError names the field."""
    try:
        compiled = re.compile(regex.pattern)
    except re.error as err:
        raise ConfigError(f"{path}.pattern", f"is not a valid regular expression ({err.msg})") from None
    for j, group in enumerate(regex.group_indexes):
        if group < 0 or group > compiled.groups:
            raise ConfigError(f"{path}.groupIndexes[{j}]", f"no capturing group {group} in the pattern")
    return compiled


def validate_image_config(image: ImageConfig, path: str) -> None:
    mode = image.text_redaction_mode
    if image.additional_info_types and mode not in SENSITIVE_MODES + ("TEXT_REDACTION_MODE_UNSPECIFIED",):
        raise ConfigError(
            f"{path}.additionalInfoTypes",
            "can only be used when textRedactionMode is REDACT_SENSITIVE_TEXT, "
            "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS or TEXT_REDACTION_MODE_UNSPECIFIED",
        )
    if image.exclude_info_types and mode not in SENSITIVE_MODES:
        raise ConfigError(
            f"{path}.excludeInfoTypes",
            "can only be used when textRedactionMode is REDACT_SENSITIVE_TEXT or REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS",
        )
    for i, regex in enumerate(image.custom_regexes):
        compile_custom_regex(regex, f"{path}.customRegexes[{i}]")


def _kms_paths(obj: Any, path: str):
    """Yield the JSON paths of every kmsWrapped key in the config tree."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            fpath = _json_path(path, camel(f.name))
            if isinstance(value, KmsWrappedCryptoKey):
                yield fpath
            else:
                yield from _kms_paths(value, fpath)
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            yield from _kms_paths(item, f"{path}[{i}]")


def kms_wrapped_paths(config: DeidentifyConfig) -> list[str]:
    return list(_kms_paths(config, ""))


def validate(config: DeidentifyConfig) -> None:
    """Rules that span fields; raise ConfigError naming the field."""
    if config.image is not None:
        validate_image_config(config.image, "image")
    tag_config = config.dicom_tag_config
    if tag_config is not None:
        if tag_config.options is not None and tag_config.options.clean_image is not None:
            validate_image_config(tag_config.options.clean_image, "dicomTagConfig.options.cleanImage")
        for i, action in enumerate(tag_config.actions):
            apath = f"dicomTagConfig.actions[{i}]"
            if not action.queries:
                raise ConfigError(f"{apath}.queries", "at least one query (tag ID, keyword or VR) is required")
            if action.clean_image_tag is not None:
                validate_image_config(action.clean_image_tag, f"{apath}.cleanImageTag")
    for path in kms_wrapped_paths(config):
        kms = _get_path(config, path)
        if not kms.crypto_key:
            raise ConfigError(f"{path}.cryptoKey", "the KMS key name is required")
        if not kms.wrapped_key:
            raise ConfigError(f"{path}.wrappedKey", "the wrapped key is required")
    if config.use_regional_data_processing and (config.dicom is not None or config.fhir is not None):
        # v1 / legacy configs: LOCATION and ORGANIZATION_NAME are not compatible with regional processing.
        excluded = set(config.text.exclude_info_types) if config.text else set()
        missing = [t for t in ("LOCATION", "ORGANIZATION_NAME") if t not in excluded]
        if missing:
            raise ConfigError(
                "useRegionalDataProcessing",
                "requires text.excludeInfoTypes to contain " + " and ".join(missing),
            )
        if config.image is not None and config.image.redacts:
            image_excluded = set(config.image.exclude_info_types)
            if "LOCATION" not in image_excluded and config.image.text_redaction_mode in SENSITIVE_MODES:
                raise ConfigError("useRegionalDataProcessing", "requires image.excludeInfoTypes to contain LOCATION")


def _get_path(obj: Any, path: str) -> Any:
    for part in re.findall(r"[A-Za-z]+|\[\d+\]", path):
        if part.startswith("["):
            obj = obj[int(part[1:-1])]
        else:
            snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), part)
            obj = getattr(obj, snake)
    return obj


def crypto_keys(config: DeidentifyConfig) -> list[bytes]:
    """Every inline cryptoKey in the config, in document order (used to derive a stable run key)."""
    found: list[bytes] = []

    def walk(obj: Any) -> None:
        if dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                value = getattr(obj, f.name)
                if f.name == "crypto_key" and isinstance(value, bytes):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(obj, tuple):
            for item in obj:
                walk(item)

    walk(config)
    return found

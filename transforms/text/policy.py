"""TextConfig compiled once into a TextPolicy, and the transformations it applies to findings in free text."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from transforms.config import InfoTypeTransformation, TextConfig
from transforms.crypto import Keys
from transforms.errors import ConfigError, NotSupportedYet
from transforms.text.dates import shift_date_text
from transforms.text.detectors import INFO_TYPES, Finding, FindingMemo, detect

# Spec §3.1: the default DICOM infoTypes (used when a transformation names none, and by the BASIC profile).
DEFAULT_DICOM_INFO_TYPES: tuple[str, ...] = (
    "AGE",
    "CREDIT_CARD_NUMBER",
    "DATE",
    "EMAIL_ADDRESS",
    "IP_ADDRESS",
    "LOCATION",
    "MAC_ADDRESS",
    "PASSPORT",
    "PERSON_NAME",
    "PHONE_NUMBER",
    "SWIFT_CODE",
    "US_DRIVERS_LICENSE_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER",
    "US_VEHICLE_IDENTIFICATION_NUMBER",
    "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER",
)

# deidflow's default text infoTypes: the API's DICOM defaults plus every HIPAA Safe Harbor identifier that occurs
# in free text and has no type above (45 CFR 164.514(b)(2)): URLs and host names, medical record, health-plan,
# account, certificate/licence and device numbers, Medicare MBIs, biometric or photo references, and any other
# labelled unique number. Used when a TextConfig names no infoTypes; excludeInfoTypes opts out of any of them.
HIPAA_TEXT_INFO_TYPES: tuple[str, ...] = (
    "URL",
    "MEDICAL_RECORD_NUMBER",
    "HEALTH_PLAN_NUMBER",
    "FINANCIAL_ACCOUNT_NUMBER",
    "CERTIFICATE_NUMBER",
    "US_HEALTHCARE_NPI",
    "DEVICE_SERIAL_NUMBER",
    "BIOMETRIC_IDENTIFIER",
    "GENERIC_ID",
)
DEFAULT_TEXT_INFO_TYPES: tuple[str, ...] = DEFAULT_DICOM_INFO_TYPES + HIPAA_TEXT_INFO_TYPES

DATE_TYPES = frozenset({"DATE", "DATE_OF_BIRTH"})


@dataclass(frozen=True)
class Method:
    """One primitive transformation: ``kind`` is redact, mask, replace, hash or shift."""

    kind: str
    mask_char: str = "*"
    key: bytes | None = field(default=None, repr=False)


REPLACE = Method("replace")
SHIFT = Method("shift")
_KINDS = {
    "redact_config": "redact",
    "character_mask_config": "mask",
    "replace_with_info_type_config": "replace",
    "crypto_hash_config": "hash",
    "date_shift_config": "shift",
}


def _method(t: InfoTypeTransformation, path: str) -> Method:
    name = t.method
    cfg = getattr(t, name)
    camel = {"crypto_hash_config": "cryptoHashConfig", "date_shift_config": "dateShiftConfig"}.get(name)
    if camel and cfg.kms_wrapped is not None:
        raise NotSupportedYet(f"{path}.{camel}.kmsWrapped", "no KMS access; give cryptoKey or use the run key")
    if name == "character_mask_config":
        char = cfg.character
        if len(char) != 1:
            raise ConfigError(f"{path}.characterMaskConfig.maskingCharacter", "must be a single character")
        return Method("mask", mask_char=char)
    if camel:
        return Method(_KINDS[name], key=cfg.crypto_key)
    return Method(_KINDS[name])


def _check_info_type(name: str, path: str) -> None:
    if name not in INFO_TYPES or name == "CTX":
        raise ConfigError(path, f"unknown or unsupported infoType {name!r}")


@dataclass(frozen=True)
class TextPolicy:
    """What to find in free text and how to transform each infoType; compiled once at launch, picklable."""

    methods: dict[str, Method] = field(default_factory=dict)
    excluded: frozenset[str] = frozenset()

    @classmethod
    def from_config(
        cls,
        text: TextConfig | None,
        *,
        default_info_types: tuple[str, ...] = DEFAULT_TEXT_INFO_TYPES,
        config_path: str = "text",
    ) -> TextPolicy:
        """Resolve precedence: excludeInfoTypes > (additional)transformations > profileType (BASIC when unset)."""
        text = text or TextConfig()
        explicit: dict[str, Method] = {}
        default: Method | None = None
        lists = (
            ("transformations", text.transformations),
            ("additionalTransformations", text.additional_transformations),
        )
        for list_name, items in lists:
            for i, t in enumerate(items):
                path = f"{config_path}.{list_name}[{i}]"
                method = _method(t, path)
                for j, info_type in enumerate(t.info_types):
                    _check_info_type(info_type, f"{path}.infoTypes[{j}]")
                    explicit[info_type] = method  # a later transformation for the same infoType wins
                if not t.info_types:
                    default = method
        for j, info_type in enumerate(text.exclude_info_types):
            _check_info_type(info_type, f"{config_path}.excludeInfoTypes[{j}]")
        methods: dict[str, Method] = {}
        if default is not None:
            methods.update(dict.fromkeys(default_info_types, default))
        elif text.profile_type != "EMPTY":
            methods.update({t: SHIFT if t in DATE_TYPES else REPLACE for t in default_info_types})
        methods.update(explicit)
        excluded = frozenset(text.exclude_info_types)
        for info_type in excluded:
            methods.pop(info_type, None)
        return cls(methods=methods, excluded=excluded)

    @functools.cached_property
    def info_types(self) -> frozenset[str]:
        """The infoTypes this policy transforms (CTX is added whenever context values are given); one set per
        policy, so the detectors' caches keyed by it hash it once."""
        return frozenset(self.methods)

    def method_for(self, info_type: str) -> Method | None:
        if info_type == "CTX":
            return REPLACE
        return self.methods.get(info_type)


def find_sensitive(
    text: str, policy: TextPolicy, *, context: Sequence[str] = (), memo: FindingMemo | None = None
) -> list[Finding]:
    """Findings of the policy's infoTypes, plus CTX for context values, sorted and non-overlapping (``memo``:
    see ``detectors.FindingMemo``)."""
    if not text or (not policy.methods and not context):
        return []
    return detect(text, policy.info_types, context=context, exclude=policy.excluded, memo=memo)


def transform_value(value: str, info_type: str, method: Method, keys: Keys, patient: str) -> str:
    """The replacement for one finding."""
    if info_type == "CTX":
        return "[CTX]"
    kind = method.kind
    if kind == "redact":
        return ""
    if kind == "mask":
        return method.mask_char * len(value)
    if kind == "hash":
        return keys.crypto_hash(value, key=method.key)
    if kind == "shift" and info_type in DATE_TYPES:
        shifted = shift_date_text(value, keys.date_shift_days(patient, key=method.key))
        if shifted is not None and shifted != value:  # a month or year may not move: then it is not kept
            return shifted
    # replace, or a date shift of something that is not a date: name the infoType
    return f"[{info_type}]"


def clean_text(text: str, policy: TextPolicy, keys: Keys, *, patient: str = "", context: Sequence[str] = ()) -> str:
    """``text`` with every finding transformed as the policy says; text between findings is kept as is."""
    return apply_findings(text, find_sensitive(text, policy, context=context), policy, keys, patient)


def apply_findings(text: str, findings: Sequence[Finding], policy: TextPolicy, keys: Keys, patient: str = "") -> str:
    """``text`` with the given findings (``find_sensitive``'s) transformed as the policy says."""
    if not findings:
        return text
    out: list[str] = []
    pos = 0
    for f in findings:
        method = policy.method_for(f.info_type) or REPLACE
        out.append(text[pos : f.start])
        out.append(transform_value(text[f.start : f.end], f.info_type, method, keys, patient))
        pos = f.end
    out.append(text[pos:])
    return "".join(out)

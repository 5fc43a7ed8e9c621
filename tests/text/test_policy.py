"""TextPolicy precedence, each transformation, date-format keeping and DICOM VR validity."""

import pickle
import re

import pytest

from tests import oracles
from transforms.config import TextConfig, parse_config
from transforms.crypto import Keys
from transforms.errors import ConfigError
from transforms.text import (
    DEFAULT_DICOM_INFO_TYPES,
    DEFAULT_TEXT_INFO_TYPES,
    TextPolicy,
    clean_dicom_value,
    clean_text,
    find_sensitive,
)
from transforms.text.dates import shift_date_text

KEYS = Keys(run_key=bytes(range(32)))
OTHER_KEYS = Keys(run_key=bytes(range(1, 33)))
KEY16 = "AAECAwQFBgcICQoLDA0ODw=="  # base64 of 16 bytes


def policy(text_json=None, **kw):
    config = parse_config({"text": text_json}) if text_json is not None else None
    return TextPolicy.from_config(config.text if config else None, **kw)


def test_basic_profile_by_default_replaces_and_shifts_dates():
    out = clean_text("John Smith seen 01/31/2024, call 617-555-1234.", policy(), KEYS, patient="P1")
    days = oracles.days(KEYS, "P1")
    assert out == f"[PERSON_NAME] seen {shift_date_text('01/31/2024', days)}, call [PHONE_NUMBER]."
    assert "01/31/2024" not in out


def test_empty_profile_only_explicit_transformations():
    p = policy(
        {"profileType": "EMPTY", "additionalTransformations": [{"infoTypes": ["PHONE_NUMBER"], "redactConfig": {}}]}
    )
    assert clean_text("John Smith, call 617-555-1234.", p, KEYS) == "John Smith, call ."
    assert clean_text("John Smith", policy({"profileType": "EMPTY"}), KEYS) == "John Smith"


def test_redact_mask_replace_hash():
    text = "My name is Jane Smith."
    cases = {
        "redactConfig": "My name is .",
        "characterMaskConfig": "My name is **********.",
        "replaceWithInfoTypeConfig": "My name is [PERSON_NAME].",
    }
    for method, expected in cases.items():
        p = policy({"additionalTransformations": [{"infoTypes": ["PERSON_NAME"], method: {}}]})
        assert clean_text(text, p, KEYS) == expected
    p = policy(
        {
            "additionalTransformations": [
                {"infoTypes": ["PERSON_NAME"], "characterMaskConfig": {"maskingCharacter": "#"}}
            ]
        }
    )
    assert clean_text(text, p, KEYS) == "My name is ##########."
    p = policy({"additionalTransformations": [{"infoTypes": ["PERSON_NAME"], "cryptoHashConfig": {}}]})
    assert clean_text(text, p, KEYS) == f"My name is {KEYS.crypto_hash('Jane Smith')}."
    p = policy(
        {"additionalTransformations": [{"infoTypes": ["PERSON_NAME"], "cryptoHashConfig": {"cryptoKey": KEY16}}]}
    )
    hashed = clean_text(text, p, KEYS)
    assert hashed == f"My name is {KEYS.crypto_hash('Jane Smith', key=bytes(range(16)))}."
    assert re.fullmatch(r"My name is [A-Za-z0-9+/]{43}=\.", hashed)


def test_default_transformation_applies_to_default_types_and_explicit_wins():
    p = policy(
        {
            "additionalTransformations": [
                {"redactConfig": {}},
                {"infoTypes": ["PERSON_NAME"], "replaceWithInfoTypeConfig": {}},
            ]
        }
    )
    assert clean_text("Jane Smith, 617-555-1234", p, KEYS) == "[PERSON_NAME], "
    assert set(p.info_types) == set(DEFAULT_TEXT_INFO_TYPES) > set(DEFAULT_DICOM_INFO_TYPES)


def test_deprecated_transformations_apply_and_additional_wins_on_conflict():
    p = policy(
        {
            "transformations": [{"infoTypes": ["PERSON_NAME", "EMAIL_ADDRESS"], "redactConfig": {}}],
            "additionalTransformations": [{"infoTypes": ["PERSON_NAME"], "characterMaskConfig": {}}],
        }
    )
    assert clean_text("Jane Smith a@b.org", p, KEYS) == "********** "


def test_exclude_overrides_transformations_and_profile():
    p = policy(
        {
            "additionalTransformations": [{"infoTypes": ["PERSON_NAME"], "redactConfig": {}}],
            "excludeInfoTypes": ["PERSON_NAME", "DATE"],
        }
    )
    assert clean_text("Jane Smith 01/31/2024 617-555-1234", p, KEYS) == "Jane Smith 01/31/2024 [PHONE_NUMBER]"


def test_non_default_type_only_when_configured():
    text = "Seen at 10:45 today"  # TIME is not a HIPAA identifier: not in the default set
    assert clean_text(text, policy(), KEYS) == text
    p = policy({"additionalTransformations": [{"infoTypes": ["TIME"], "replaceWithInfoTypeConfig": {}}]})
    assert clean_text(text, p, KEYS) == "Seen at [TIME] today"


def test_hipaa_identifiers_are_in_the_default_set_and_exclude_opts_out():
    text = "MRN: A1234567"
    assert clean_text(text, policy(), KEYS) == "MRN: [MEDICAL_RECORD_NUMBER]"
    assert clean_text(text, policy({"excludeInfoTypes": ["MEDICAL_RECORD_NUMBER", "GENERIC_ID"]}), KEYS) == text


def test_ctx_always_replaced_whatever_the_method():
    p = policy({"profileType": "EMPTY"})
    out = clean_text("Seen: Pellington, code XK-99812", p, KEYS, context=["PELLINGTON^ZORVAK", "XK-99812"])
    assert out == "Seen: [CTX], code [CTX]"
    assert [f.info_type for f in find_sensitive("XK-99812", p, context=["XK-99812"])] == ["CTX"]


@pytest.mark.parametrize(
    "bad,path",
    [
        ({"additionalTransformations": [{"infoTypes": ["NOT_A_TYPE"], "redactConfig": {}}]}, "text.additionalTransformations[0].infoTypes[0]"),
        ({"excludeInfoTypes": ["PERSON", "NAME"]}, "text.excludeInfoTypes[0]"),
        ({"transformations": [{"infoTypes": ["CTX"], "redactConfig": {}}]}, "text.transformations[0].infoTypes[0]"),
        ({"additionalTransformations": [{"characterMaskConfig": {"maskingCharacter": "ab"}}]}, "text.additionalTransformations[0].characterMaskConfig.maskingCharacter"),
    ],
)  # fmt: skip
def test_config_errors_name_the_path(bad, path):
    with pytest.raises(ConfigError) as err:
        policy(bad)
    assert err.value.path == path


def test_kms_wrapped_is_not_supported_yet():
    kms = {"kmsWrapped": {"cryptoKey": "projects/p/locations/l/keyRings/r/cryptoKeys/k", "wrappedKey": KEY16}}
    with pytest.raises(ConfigError) as err:
        policy({"additionalTransformations": [{"infoTypes": ["DATE"], "dateShiftConfig": kms}]})
    assert str(err.value).startswith("not supported yet: text.additionalTransformations[0].dateShiftConfig.kmsWrapped")


def test_config_path_is_used():
    with pytest.raises(ConfigError) as err:
        TextPolicy.from_config(TextConfig(exclude_info_types=("NOPE",)), config_path="dicomTagConfig.text")
    assert err.value.path == "dicomTagConfig.text.excludeInfoTypes[0]"


@pytest.mark.parametrize(
    "original,pattern",
    [
        ("20240131", r"\d{8}"),
        ("2024-01-31", r"\d{4}-\d{2}-\d{2}"),
        ("01/31/2024", r"\d{2}/\d{2}/\d{4}"),
        ("1/5/2024", r"\d{1,2}/\d{1,2}/2024|\d{1,2}/\d{1,2}/2023"),
        ("31-Jan-2024", r"\d{2}-[A-Z][a-z]{2}-\d{4}"),
        ("31-JAN-2024", r"\d{2}-[A-Z]{3}-\d{4}"),
        ("January 31, 2024", r"[A-Z][a-z]+ \d{1,2}, \d{4}"),
        ("2024", r"\d{4}"),
        ("2024-01", r"\d{4}-\d{2}"),
        ("2024-01-31T10:20:30Z", r"\d{4}-\d{2}-\d{2}T10:20:30Z"),
        ("20240131103000.5+0100", r"\d{8}103000\.5\+0100"),
    ],
)
def test_date_shift_keeps_format_and_precision(original, pattern):
    shifted = shift_date_text(original, 40)
    assert shifted is not None and (shifted != original or len(original) == 4)  # a year moves only across New Year
    assert re.fullmatch(pattern, shifted)


def test_date_shift_values():
    assert shift_date_text("20240131", 1) == "20240201"
    assert shift_date_text("31-Jan-2024", -31) == "31-Dec-2023"
    assert shift_date_text("02/29/2024", 1) == "03/01/2024"
    assert shift_date_text("31/01/2024", 1) == "01/02/2024"  # day-first when month-first is impossible
    assert shift_date_text("not a date", 3) is None


def test_date_shift_uses_config_key_and_patient():
    cfg = {"additionalTransformations": [{"infoTypes": ["DATE"], "dateShiftConfig": {"cryptoKey": KEY16}}]}
    out = clean_text("on 20240131", policy(cfg), KEYS, patient="P1")
    days = oracles.days(KEYS, "P1", key=bytes(range(16)))
    assert out == "on " + shift_date_text("20240131", days)
    assert clean_text("on 20240131", policy(cfg), OTHER_KEYS, patient="P1") == out  # config key, not run key


def test_determinism_and_pickling():
    p = policy({"additionalTransformations": [{"cryptoHashConfig": {}}]})
    text = "Jane Smith, 01/31/2024, 42 Elm Street, jane@example.org"
    assert clean_text(text, p, KEYS, patient="X") == clean_text(text, pickle.loads(pickle.dumps(p)), KEYS, patient="X")
    assert clean_text(text, p, KEYS, patient="X") != clean_text(text, p, OTHER_KEYS, patient="X")


# --- DICOM values ----------------------------------------------------------------------------------------

P = policy()


def dv(value, vr, p=P, context=()):
    return clean_dicom_value(value, vr, p, KEYS, patient="P1", context=context)


def test_da_dt_shifted_or_emptied():
    days = oracles.days(KEYS, "P1")
    assert dv("20240131", "DA") == shift_date_text("20240131", days)
    assert re.fullmatch(r"\d{14}\.000000\+0100", dv("20240131103000.000000+0100", "DT"))
    assert re.fullmatch(r"\d{6}", dv("202401", "DT"))
    replace = policy({"additionalTransformations": [{"infoTypes": ["DATE"], "replaceWithInfoTypeConfig": {}}]})
    assert dv("20240131", "DA", replace) == ""
    assert dv("20240131\\20240201", "DA", replace) == "\\"
    assert dv("20240131", "DA", policy({"profileType": "EMPTY"})) == "20240131"
    assert dv("19500304", "DA", policy({"profileType": "EMPTY"}), context=["19500304"]) == ""


def test_as_emptied_when_age_is_transformed():
    assert dv("045Y", "AS") == ""
    assert dv("045Y", "AS", policy({"profileType": "EMPTY"})) == "045Y"


def test_pn_keeps_components_and_lengths():
    assert dv("SMITH^JOHN^A^DR^JR", "PN") == "[PERSON_NAME]^[PERSON_NAME]^[PERSON_NAME]^DR^JR"
    hashed = dv("SMITH^JOHN", "PN", policy({"additionalTransformations": [{"cryptoHashConfig": {}}]}))
    assert hashed.count("^") == 1 and "=" not in hashed and len(hashed) <= 64
    assert dv("SMITH^JOHN=YAMADA^TARO", "PN").count("=") == 1
    masked = dv(
        "SMITH^JOHN", "PN", policy({"additionalTransformations": [{"characterMaskConfig": {"maskingCharacter": "^"}}]})
    )
    assert masked.count("^") == 1


@pytest.mark.parametrize("vr,limit", [("SH", 16), ("LO", 64), ("AE", 16), ("ST", 1024)])
def test_text_vrs_respect_max_length(vr, limit):
    value = "Jane Smith " * 200
    out = dv(value, vr)
    assert len(out) <= limit and "Jane" not in out and "Smith" not in out


def test_multi_valued_and_single_valued_backslash():
    assert dv("Jane Smith\\CT CHEST", "LO") == "[PERSON_NAME]\\CT CHEST"
    assert dv("a\\b Jane Smith", "LT") == "a\\b [PERSON_NAME]"
    masked = dv(
        "Jane Smith", "LO", policy({"additionalTransformations": [{"characterMaskConfig": {"maskingCharacter": "\\"}}]})
    )
    assert "\\" not in masked


def test_other_vrs_untouched():
    assert dv("Jane Smith", "CS") == "Jane Smith"
    assert dv("1.2.3", "UI") == "1.2.3"


def test_context_in_descriptions():
    ctx = ["PELLINGTON^ZORVAK", "XK-99812", "19500304"]
    out = dv("CT for zorvak pellington XK-99812 born 03/04/1950", "LO", context=ctx)
    assert out == "CT for [CTX] [CTX] born [CTX]"

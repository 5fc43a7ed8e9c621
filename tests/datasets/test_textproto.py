"""Text-format configs: the same dict as JSON, the same output byte for byte, and errors that name lines, not values."""

from __future__ import annotations

import base64
import json

import pytest

from transforms.config import load_config_text
from transforms.config_textproto import load_config_any, textproto_to_dict
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.dicom.sample import sample_store_files
from transforms.errors import ConfigError

KEY = bytes(range(32))
# One config in both forms; the key as protobuf text escapes bytes (octal), in JSON as base64.
TEXTPROTO = r"""
# a comment, as in the API's published default configs
dicom_tag_config {
  profile_type: ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE
  actions { queries: "PatientName" remove_tag {} }
  actions { queries: ["StudyDescription", "SeriesDescription"] keep_tag {} }
  options { primary_ids: REGEN }
}
fhir {
  field_metadata_list { paths: "Patient.name" action: TRANSFORM }
  field_metadata_list { paths: ["Patient.birthDate", "Observation.effective"] action: INSPECT_AND_TRANSFORM }
  default_keep_extensions: false
}
text {
  transformations { info_types: "PERSON_NAME" replace_with_info_type_config {} }
  transformations { info_types: ["DATE"] date_shift_config { crypto_key: "KEYBYTES" } }
}
image { text_redaction_mode: REDACT_NO_TEXT custom_regexes { pattern: "MRN (\\d+)" group_indexes: [1] } }
""".replace("KEYBYTES", "".join(f"\\{b:03o}" for b in KEY))
JSON = {
    "dicomTagConfig": {
        "profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
        "actions": [
            {"queries": ["PatientName"], "removeTag": {}},
            {"queries": ["StudyDescription", "SeriesDescription"], "keepTag": {}},
        ],
        "options": {"primaryIds": "REGEN"},
    },
    "fhir": {
        "fieldMetadataList": [
            {"paths": ["Patient.name"], "action": "TRANSFORM"},
            {"paths": ["Patient.birthDate", "Observation.effective"], "action": "INSPECT_AND_TRANSFORM"},
        ],
        "defaultKeepExtensions": False,
    },
    "text": {
        "transformations": [
            {"infoTypes": ["PERSON_NAME"], "replaceWithInfoTypeConfig": {}},
            {"infoTypes": ["DATE"], "dateShiftConfig": {"cryptoKey": base64.b64encode(KEY).decode()}},
        ]
    },
    "image": {"textRedactionMode": "REDACT_NO_TEXT", "customRegexes": [{"pattern": r"MRN (\d+)", "groupIndexes": [1]}]},
}


def test_textproto_and_json_give_the_same_config():
    assert load_config_any(TEXTPROTO) == load_config_text(json.dumps(JSON))
    assert load_config_any(json.dumps(JSON)) == load_config_text(json.dumps(JSON))


def test_textproto_dict_uses_json_names_and_base64_bytes():
    obj = textproto_to_dict(TEXTPROTO)
    assert obj["text"]["transformations"][1]["dateShiftConfig"]["cryptoKey"] == base64.b64encode(KEY).decode()
    assert obj["fhir"]["fieldMetadataList"][1]["paths"] == ["Patient.birthDate", "Observation.effective"]
    assert obj["fhir"]["defaultKeepExtensions"] is False  # explicitly set defaults are kept


def test_textproto_and_json_give_byte_identical_dicom_output():
    keys = Keys(b"k" * 32)
    text = TEXTPROTO.split("\nimage {")[0]  # no burned-in text redaction on these synthetic images
    obj = {k: v for k, v in JSON.items() if k != "image"}
    from_text = compile_dicom_policy(load_config_any(text))
    from_json = compile_dicom_policy(load_config_text(json.dumps(obj)))
    for _, data in sample_store_files(patients=2, studies=1, series=1, instances=2):
        assert deidentify_instance(data, from_text, keys).data == deidentify_instance(data, from_json, keys).data


@pytest.mark.parametrize(
    "text, expected",
    [
        ("dicom {\n  no_such_field: 1\n}", "line 2, column 3: unknown field for DicomConfig"),
        ("dicom { filter_profile: NOT_A_PROFILE }", "unknown value for enum field 'filter_profile'"),
        ("dicom {", "line 1"),
        ("   \n", "is empty"),
    ],
)
def test_bad_textproto_names_line_and_field(text, expected):
    with pytest.raises(ConfigError) as err:
        load_config_any(text, "--config-file")
    assert expected in str(err.value)
    assert str(err.value).startswith("--config-file")


def test_textproto_errors_never_echo_values():
    secret = "s3cr3t-key-material"
    with pytest.raises(ConfigError) as err:
        load_config_any(f"text {{ transformations {{ crypto_hash_config {{ crypto_key: {secret} }} }} }}")
    assert secret not in str(err.value)


def test_textproto_union_conflicts_are_config_errors_with_json_paths():
    text = 'dicom { filter_profile: KEEP_ALL_PROFILE keep_list { tags: "PatientID" } }'
    with pytest.raises(ConfigError) as err:
        load_config_any(text)
    assert "dicom." in str(err.value)


def test_invalid_json_object_is_reported_as_json():
    with pytest.raises(ConfigError) as err:
        load_config_any('{"dicom": ')
    assert "JSON" in str(err.value)

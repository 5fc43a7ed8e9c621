"""The DeidentifyConfig model: every message parses, and every invalid config names its field."""

from __future__ import annotations

import base64

import pytest

from transforms.config import load_config_text, parse_config
from transforms.errors import ConfigError

KEY16 = base64.b64encode(b"a" * 16).decode()
KEY32 = base64.b64encode(b"b" * 32).decode()

FULL_V1BETA1 = {
    "dicomTagConfig": {
        "profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
        "options": {"cleanDescriptors": {}, "primaryIds": "REGEN",
                    "cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT", "additionalInfoTypes": ["AGE"],
                                   "excludeInfoTypes": ["DATE"], "customRegexes": [{"pattern": "ID-(\\d+)", "groupIndexes": [1]}]}},
        "actions": [{"queries": ["PatientName", "00100020", "PN"], "keepTag": {}},
                    {"queries": ["PixelData"], "cleanImageTag": {"textRedactionMode": "REDACT_ALL_TEXT"}}],
    },
    "fhirFieldConfig": {
        "profileType": "CLEAN_ALL",
        "options": {"characterMaskConfig": {"maskingCharacter": "#"}, "cryptoHashConfig": {"cryptoKey": KEY32},
                    "dateShiftConfig": {"cryptoKey": KEY16}, "contextualDeid": {}, "keepExtensions": {}},
        "fieldMetadataList": [{"paths": ["Patient.name"], "removeField": {}}, {"paths": ["Observation.note"], "cleanTextField": {}}],
    },
    "text": {
        "transformations": [{"infoTypes": ["PERSON_NAME"], "redactConfig": {}}],
        "additionalTransformations": [{"characterMaskConfig": {}}, {"infoTypes": ["DATE"], "dateShiftConfig": {"kmsWrapped": {"cryptoKey": "projects/p/locations/l/keyRings/r/cryptoKeys/k", "wrappedKey": KEY32}}}],
        "excludeInfoTypes": ["AGE"],
        "profileType": "BASIC",
    },
    "useRegionalDataProcessing": False,
    "operationMetadata": {"fhirOutput": {"fhirStore": "projects/p/locations/l/datasets/d/fhirStores/f"}},
    "annotation": {"annotationStoreName": "x", "storeQuote": True},
}

FULL_V1 = {
    "dicom": {"keepList": {"tags": ["PatientID"]}, "skipIdRedaction": True},
    "fhir": {"fieldMetadataList": [{"action": "TRANSFORM", "paths": ["Patient.Address.String"]}], "defaultKeepExtensions": True},
    "image": {"textRedactionMode": "REDACT_NO_TEXT"},
    "text": {"additionalTransformations": [{"infoTypes": ["EMAIL_ADDRESS"], "replaceWithInfoTypeConfig": {}},
                                           {"cryptoHashConfig": {"cryptoKey": KEY16}}]},
}


def test_full_v1beta1_and_v1_configs_parse():
    config = parse_config(FULL_V1BETA1)
    assert config.dicom_tag_config.actions[1].clean_image_tag.text_redaction_mode == "REDACT_ALL_TEXT"
    assert config.fhir_field_config.options.crypto_hash_config.crypto_key == b"b" * 32
    assert config.text.additional_transformations[0].method == "character_mask_config"
    assert config.text.additional_transformations[0].character_mask_config.character == "*"
    v1 = parse_config(FULL_V1)
    assert v1.dicom.keep_list.tags == ("PatientID",) and v1.dicom.skip_id_redaction
    assert v1.fhir.field_metadata_list[0].action == "TRANSFORM"


def test_snake_case_names_are_accepted_like_protobuf_json():
    config = parse_config({"dicom_tag_config": {"profile_type": "KEEP_ALL_PROFILE"}})
    assert config.dicom_tag_config.profile_type == "KEEP_ALL_PROFILE"


@pytest.mark.parametrize(
    "config,path",
    [
        ({"dicomTagConfg": {}}, "dicomTagConfg"),
        ({"dicom": {"filterProfile": "BASIC"}}, "dicom.filterProfile"),
        ({"dicom": {"skipIdRedaction": "yes"}}, "dicom.skipIdRedaction"),
        ({"dicom": {"keepList": {"tags": "PatientID"}}}, "dicom.keepList.tags"),
        ({"dicom": {"keepList": {"tags": [1]}}}, "dicom.keepList.tags[0]"),
        ({"dicom": {"keepList": {"tags": []}, "removeList": {"tags": []}}}, "dicom.removeList"),
        ({"dicom": {}, "dicomTagConfig": {}}, "dicomTagConfig"),
        ({"fhir": {}, "fhirFieldConfig": {}}, "fhirFieldConfig"),
        ({"text": {"transformations": [{"redactConfig": {}, "characterMaskConfig": {}}]}}, "text.transformations[0].characterMaskConfig"),
        ({"text": {"transformations": [{"infoTypes": ["X"]}]}}, "text.transformations[0]"),
        ({"text": {"transformations": [{"cryptoHashConfig": {"cryptoKey": base64.b64encode(b"x" * 10).decode()}}]}},
         "text.transformations[0].cryptoHashConfig.cryptoKey"),
        ({"text": {"transformations": [{"cryptoHashConfig": {"cryptoKey": "not base64!"}}]}},
         "text.transformations[0].cryptoHashConfig.cryptoKey"),
        ({"text": {"transformations": [{"dateShiftConfig": {"cryptoKey": KEY16, "kmsWrapped": {"cryptoKey": "k", "wrappedKey": KEY16}}}]}},
         "text.transformations[0].dateShiftConfig.kmsWrapped"),
        ({"dicomTagConfig": {"actions": [{"queries": ["PN"], "keepTag": {}, "deleteTag": {}}]}}, "dicomTagConfig.actions[0].deleteTag"),
        ({"dicomTagConfig": {"actions": [{"queries": ["PN"]}]}}, "dicomTagConfig.actions[0]"),
        ({"dicomTagConfig": {"actions": [{"deleteTag": {}}]}}, "dicomTagConfig.actions[0].queries"),
        ({"image": {"textRedactionMode": "REDACT_ALL_TEXT", "additionalInfoTypes": ["AGE"]}}, "image.additionalInfoTypes"),
        ({"image": {"textRedactionMode": "TEXT_REDACTION_MODE_UNSPECIFIED", "excludeInfoTypes": ["AGE"]}}, "image.excludeInfoTypes"),
        ({"image": {"customRegexes": [{"pattern": "(", "groupIndexes": []}]}}, "image.customRegexes[0].pattern"),
        ({"image": {"customRegexes": [{"pattern": "(a)", "groupIndexes": [2]}]}}, "image.customRegexes[0].groupIndexes[0]"),
        ({"useRegionalDataProcessing": True, "dicom": {}}, "useRegionalDataProcessing"),
        ({"fhirFieldConfig": {"fieldMetadataList": [{"paths": ["a"], "keepField": {}, "removeField": {}}]}},
         "fhirFieldConfig.fieldMetadataList[0].removeField"),
        ({"fhir": {"fieldMetadataList": [{"action": "HASH"}]}}, "fhir.fieldMetadataList[0].action"),
        ([], "config"),
    ],
)
def test_invalid_configs_name_the_field(config, path):
    with pytest.raises(ConfigError) as err:
        parse_config(config)
    assert str(err.value).startswith(path + ":"), str(err.value)


def test_regional_processing_passes_when_location_types_are_excluded():
    parse_config({"useRegionalDataProcessing": True, "dicom": {},
                  "text": {"excludeInfoTypes": ["LOCATION", "ORGANIZATION_NAME"]}})


def test_null_means_unset_and_invalid_json_is_reported():
    assert parse_config({"dicom": None}).dicom is None
    with pytest.raises(ConfigError) as err:
        load_config_text("{\"dicom\": ", "--config-file")
    assert str(err.value).startswith("--config-file: is not valid JSON")


def test_config_objects_are_frozen():
    config = parse_config(FULL_V1)
    with pytest.raises(Exception):
        config.dicom = None  # type: ignore[misc]

"""Config errors name fields and places, never the file's content: a key file passed as --config-file stays secret."""

import base64
import subprocess
import sys

import pytest

from transforms.config_textproto import load_config_any
from transforms.errors import ConfigError

# A 256-bit key as a key file holds it (base64 text). Built from fixed bytes so the test is reproducible.
KEY_TEXT = base64.b64encode(bytes(range(40, 72))).decode()


def _message(text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_config_any(text, "--config-file")
    return str(err.value)


@pytest.mark.parametrize("text", [KEY_TEXT, KEY_TEXT + "\n", KEY_TEXT.replace("/", "x"), "dicom { " + KEY_TEXT + " }",
                                  "dicom { filter_profile: " + KEY_TEXT[:20] + " }"])
def test_a_key_file_given_as_config_is_never_echoed(text):
    # Catches _describe_parse_error echoing the unknown field or enum token (the key up to its first '/').
    message = _message(text)
    for start in range(0, len(KEY_TEXT) - 6, 3):
        assert KEY_TEXT[start:start + 6] not in message
    assert "--config-file" in message


def test_a_misspelt_field_is_named_by_the_schema_not_the_file():
    # Catches a suggestion taken from the file rather than the schema (or none at all).
    message = _message("dicom { filter_profle: MINIMAL_KEEP_LIST_PROFILE }")
    assert "did you mean 'filter_profile'" in message and "filter_profle" not in message


@pytest.mark.parametrize("depth", [5_000, 200_000])
def test_a_deeply_nested_json_config_is_a_config_error(depth):
    # Catches load_config_text letting RecursionError escape (exit 1, "unexpected error", instead of exit 2).
    message = _message('{"dicom":' * depth + "{}" + "}" * depth)
    assert "--config-file" in message


def test_a_deeply_nested_json_config_through_the_cli_exits_2(tmp_path):
    # Catches the CLI treating RecursionError as a crash (exit 1) and any write before the config is checked.
    config = tmp_path / "deep.json"
    config.write_text('{"a":' * 200_000 + "1" + "}" * 200_000)
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "dicom-stores", "deidentify",
         "projects/p/locations/l/datasets/d/dicomStores/s", "--destination-store",
         "projects/p/locations/l/datasets/d/dicomStores/t", "--config-file", str(config),
         "--store-root", str(tmp_path / "stores")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "--config-file" in proc.stderr and not (tmp_path / "stores").exists()

"""A key file others may read gets a warning, and the key is never printed (issue 18 item 3)."""

from __future__ import annotations

import base64
import os

from pipelines.launch import resolve_keys

KEY = b"S" * 32


def _key_file(tmp_path, mode):
    path = tmp_path / "run.key"
    path.write_text(base64.b64encode(KEY).decode() + "\n")
    os.chmod(path, mode)
    return path


def test_a_world_readable_key_file_is_warned_about(tmp_path, capsys):
    keys = resolve_keys(None, str(_key_file(tmp_path, 0o644)), False)
    err = capsys.readouterr().err
    assert keys.fingerprint and "warning" in err and "chmod 600" in err
    assert base64.b64encode(KEY).decode()[:8] not in err


def test_a_private_key_file_is_not_warned_about(tmp_path, capsys):
    resolve_keys(None, str(_key_file(tmp_path, 0o600)), False)
    assert capsys.readouterr().err == ""

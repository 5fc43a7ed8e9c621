"""Idempotent reruns (issue 18 items 4, 10): the destination records the key it was written with; another key
into it is a launch error unless --replace-destination; the demo twice leaves one copy; temporary leftovers of a
killed run are ignored by reruns and by describe."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import DEST, SOURCE, run_cli, summary_from_stdout
from tests.faults.conftest import tree

pytestmark = pytest.mark.pipeline


def data_files(store):
    return sorted(str(p.relative_to(store)) for p in store.rglob("*")
                  if p.is_file() and p.relative_to(store).parts[0] != ".deidflow" and not p.name.startswith(".tmp-"))


def deid(root, *extra):
    return run_cli("dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root),
                   "--quiet", *extra)


def test_another_key_into_a_written_destination_is_refused_unless_replaced(root, key_file, tmp_path):
    first = deid(root, "--key-file", str(key_file))
    assert first.returncode == 0, first.stderr[-2000:]
    dest = root / DEST
    written = data_files(dest)
    assert len(written) == 4
    fingerprint = summary_from_stdout(first.stdout)["deidflow"]["keyFingerprint"]
    assert json.loads((dest / ".deidflow/store.json").read_text())["keyFingerprint"] == fingerprint

    # a killed run's leftovers: write_bytes temporary files beside the data
    leftover = dest / written[0].rsplit("/", 1)[0] / ".tmp-k2j4h5g6"
    leftover.write_bytes(b"half an instance")
    before = tree(root)
    generated = deid(root)  # no --key-file: a new key every run
    assert generated.returncode == 2 and "--replace-destination" in generated.stderr
    assert tree(root) == before
    other = tmp_path / "other.key"
    other.write_text(base64.b64encode(b"O" * 32).decode())
    assert deid(root, "--key-file", str(other)).returncode == 2
    assert tree(root) == before

    again = deid(root, "--key-file", str(key_file))  # the same key: the same files, no second copy
    assert again.returncode == 0, again.stderr[-2000:]
    assert data_files(dest) == written
    described = run_cli("dicom-stores", "describe", DEST, "--store-root", str(root))
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout[described.stdout.index("{"):])["instanceCount"] == "4"

    replaced = deid(root, "--key-file", str(other), "--replace-destination")
    assert replaced.returncode == 0, replaced.stderr[-2000:]
    now = data_files(dest)
    assert len(now) == 4 and not set(now) & set(written)  # only the new key's copy
    assert json.loads((dest / ".deidflow/store.json").read_text())["keyFingerprint"] == \
        summary_from_stdout(replaced.stdout)["deidflow"]["keyFingerprint"] != fingerprint


def test_the_demo_twice_leaves_one_copy(tmp_path):
    for _ in range(2):
        proc = run_cli("demo", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
    stores = tmp_path / "stores/projects/demo/locations/local/datasets/sample/dicomStores"
    source, = [p for p in stores.iterdir() if "deid" not in p.name]
    destination, = [p for p in stores.iterdir() if "deid" in p.name]
    assert len(data_files(source)) == 18 and len(data_files(destination)) == 18

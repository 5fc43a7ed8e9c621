"""Shared fixtures: keys, sample stores under a temporary store root, and a CLI runner."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from transforms.crypto import Keys

REPO = Path(__file__).resolve().parents[1]
DATASET = "projects/p1/locations/us/datasets/ds"
SOURCE = f"{DATASET}/dicomStores/src"
DEST = f"{DATASET}/dicomStores/dst"


@pytest.fixture
def keys() -> Keys:
    return Keys(b"0123456789abcdef0123456789abcdef")


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "run.key"
    path.write_text(base64.b64encode(b"K" * 32).decode() + "\n")
    return path


def write_store(root: Path, store: str, files: dict[str, bytes]) -> Path:
    folder = root / store
    for relative, data in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def summary_from_stdout(stdout: str) -> dict:
    start = stdout.index("{")
    return json.loads(stdout[start:])


def store_files(folder: Path) -> dict[str, bytes]:
    """Every data file of a store (run records and metadata left out), by relative path."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".deidflow" not in path.relative_to(folder).parts:
            out[str(path.relative_to(folder))] = path.read_bytes()
    return out


def error_records(store: Path) -> list[dict]:
    records = []
    for path in sorted(store.glob(".deidflow/runs/*/errors*.ndjson")):
        records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records


def deidentify_fhir_resources(resources: list[dict], policy, keys: Keys) -> list[dict]:
    """What the FHIR pipeline does, in one process: each resource joined to its Patient (shift key and context
    phrases) and de-identified."""
    from transforms.fhir import deidentify_resource, patient_context, patient_reference, patient_shift_key

    patients = {f"Patient/{r['id']}": r for r in resources if r["resourceType"] == "Patient"}
    out = []
    for resource in resources:
        owner = patients.get(patient_reference(resource))
        kwargs = {}
        if owner is not None:
            kwargs = {"patient": patient_shift_key(owner), "context": patient_context(owner, policy, keys)}
        out.append(deidentify_resource(resource, policy, keys, **kwargs))
    return out

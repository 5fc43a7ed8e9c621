"""Interrupted and concurrent runs (issue 18 items 4, 10): a killed dataset run leaves an incomplete marker and
is resumed by a rerun with the same key (not ALREADY_EXISTS); many concurrent and killed-and-rerun store runs
into one destination converge to exactly one copy."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import DATASET, DEST, REPO, SOURCE, run_cli, summary_from_stdout, write_store
from transforms.dicom.sample import sample_store_files

pytestmark = pytest.mark.pipeline
OUT = "projects/p1/locations/us/datasets/out"


def data_files(store):
    return sorted(str(p.relative_to(store)) for p in store.rglob("*.dcm")
                  if p.relative_to(store).parts[0] != ".deidflow")


def spawn(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_a_killed_dataset_run_is_marked_and_resumed_with_its_key(tmp_path, key_file):
    root = tmp_path / "stores"
    write_store(root, SOURCE, dict(sample_store_files(patients=2, studies=1, series=1, instances=2)))
    args = ("datasets", "deidentify", DATASET, "--destination-dataset", OUT, "--store-root", str(root),
            "--key-file", str(key_file), "--quiet")
    marker = root / OUT / ".deidflow" / "INCOMPLETE.json"
    proc = spawn(*args)
    deadline = time.monotonic() + 240
    while proc.poll() is None and not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 mid-run
        proc.wait(timeout=30)
        assert marker.exists()
    else:  # finished before it could be killed: nothing to resume, the marker is gone
        assert not marker.exists()
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text('{"runId": "x", "keyFingerprint": "%s"}' % summary_from_stdout(proc.stdout.read())
                          ["deidflow"]["keyFingerprint"])
    other = tmp_path / "other.key"
    other.write_text(base64.b64encode(b"O" * 32).decode() + "\n")
    refused = run_cli(*args[:-3], "--key-file", str(other), "--quiet")
    assert refused.returncode == 2 and "incomplete" in refused.stderr
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert summary_from_stdout(resumed.stdout)["metadata"]["counter"] == {"success": "4", "failure": "0"}
    assert not marker.exists()
    assert len(data_files(root / OUT / "dicomStores/src")) == 4
    assert run_cli(*args).returncode == 2  # a completed dataset: ALREADY_EXISTS, as the API


def test_concurrent_and_killed_runs_converge_to_one_copy(tmp_path, key_file):
    runs = int(os.environ.get("DEIDFLOW_SOAK_RUNS", "20"))
    root = tmp_path / "stores"
    write_store(root, SOURCE, dict(sample_store_files(patients=1, studies=1, series=1, instances=3)))
    args = ("dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root),
            "--key-file", str(key_file), "--quiet")
    first = run_cli(*args)  # creates the destination and records the key
    assert first.returncode == 0, first.stderr[-2000:]
    expected = data_files(root / DEST)
    assert len(expected) == 3
    procs = [spawn(*args) for _ in range(runs)]
    time.sleep(3)
    for proc in procs[::4]:  # kill -9 every fourth, wherever it is
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    for proc in procs:
        proc.wait(timeout=600)
    survivors = [p for p in procs if p.returncode not in (-signal.SIGKILL,)]
    assert all(p.returncode == 0 for p in survivors), [p.stderr.read()[-1000:] for p in survivors if p.returncode]
    rerun = run_cli(*args)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert data_files(root / DEST) == expected  # exactly one copy, the same names
    described = run_cli("dicom-stores", "describe", DEST, "--store-root", str(root))
    assert '"instanceCount": "3"' in described.stdout

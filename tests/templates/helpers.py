"""Shared helpers for the template / portability / incremental tests: sample stores and CLI runs."""

from __future__ import annotations

import base64
import contextlib
import io
import subprocess
from pathlib import Path

from tests.conftest import DATASET, run_cli, store_files, summary_from_stdout, write_store
from transforms.dicom.sample import sample_store_files

KEY = b"incremental-key-0123456789abcdef"  # 32 bytes


def key_file(folder: Path) -> Path:
    path = folder / "run.key"
    path.write_text(base64.b64encode(KEY).decode() + "\n")
    return path


def dicom_store(root: Path, store: str, patients: int = 2) -> Path:
    return write_store(root, f"{DATASET}/dicomStores/{store}",
                       dict(sample_store_files(patients=patients, studies=1, series=1, instances=2)))


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run the deidflow command in this process (no interpreter start, no Beam import per run)."""
    from pipelines import cli as deidflow

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = deidflow.main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def deidentify(root: Path, source: str, dest: str, *extra: str, kind: str = "dicomStores", subprocess_run=False):
    group = {"dicomStores": "dicom-stores", "fhirStores": "fhir-stores"}[kind]
    args = (group, "deidentify", f"{DATASET}/{kind}/{source}", "--destination-store", f"{DATASET}/{kind}/{dest}",
            "--store-root", str(root), "--quiet", *extra)
    return run_cli(*args, timeout=240) if subprocess_run else cli(*args)


def ok_summary(proc) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return summary_from_stdout(proc.stdout)


def files(root: Path, kind: str, store: str) -> dict[str, bytes]:
    return store_files(root / DATASET / kind / store)

"""`deidflow runs list|show`: run records read back with counts, duration, digest and fingerprint, never the key."""

from __future__ import annotations

import json

from pipelines.commands import runs
from tests.conftest import DATASET
from tests.templates.helpers import cli

STORE = f"{DATASET}/dicomStores/dst"


def _summary(run_id: str, start: str, end: str, success: int, failure: int, **details) -> dict:
    return {
        "name": f"deidflow/runs/{run_id}", "done": True,
        "metadata": {"apiMethodName": "google.cloud.healthcare.v1.deidentify.DeidentifyService.DeidentifyDicomStore",
                     "createTime": start, "endTime": end,
                     "counter": {"success": str(success), "failure": str(failure)}},
        "deidflow": {"configDigest": "c0ffee", "keyFingerprint": "f1f1f1", **details},
    }


def _store(tmp_path):
    root = tmp_path / "stores"
    run_dir = root / STORE / ".deidflow" / "runs"
    a = run_dir / "20260101T020000Z-aaaaaa"
    b = run_dir / "20260102T020000Z-bbbbbb"
    c = run_dir / "20260103T020000Z-cccccc"
    for folder in (a, b, c):
        folder.mkdir(parents=True)
    (a / "summary.json").write_text(json.dumps(_summary(a.name, "2026-01-01T02:00:00.000Z", "2026-01-01T02:03:05.500Z",
                                                        10, 0, incremental=False)))
    (b / "summary.json").write_text(json.dumps(_summary(b.name, "2026-01-02T02:00:00.000Z", "2026-01-02T02:00:09.250Z",
                                                        3, 2, incremental=True, skipped="10",
                                                        kmsKeyName="projects/x/cryptoKeys/secret")))
    (b / "errors-00000-of-00001.ndjson").write_text(
        '{"resource_name": "a.dcm", "error": {"code": "INVALID_ARGUMENT", "message": "m"}}\n'
        '{"resource_name": "b.dcm", "error": {"code": "DATA_LOSS", "message": "m"}}\n')
    return root


def test_list_shows_every_run_oldest_first_with_counts_and_duration(tmp_path):
    root = _store(tmp_path)
    proc = cli("runs", "list", STORE, "--store-root", str(root))
    assert proc.returncode == 0, proc.stderr
    header, first, second, third = proc.stdout.splitlines()
    assert header.split() == ["RUN", "STATUS", "KIND", "CREATED", "DURATION", "SUCCESS", "FAILURE", "SKIPPED",
                              "CONFIG", "KEY"]
    assert first.split() == ["20260101T020000Z-aaaaaa", "ok", "dicomStores", "2026-01-01T02:00:00.000Z", "3m06s",
                             "10", "0", "-", "c0ffee", "f1f1f1"]
    assert second.split()[:8] == ["20260102T020000Z-bbbbbb", "partial", "dicomStores", "2026-01-02T02:00:00.000Z",
                                  "9.2s", "3", "2", "10"]
    assert third.split()[:3] == ["20260103T020000Z-cccccc", "no", "summary"]  # still running, or crashed


def test_list_json_and_a_folder_destination(tmp_path):
    root = _store(tmp_path)
    proc = cli("runs", "list", str(root / STORE), "--json")
    rows = json.loads(proc.stdout)
    assert [(r["runId"][-6:], r["status"]) for r in rows] == [("aaaaaa", "ok"), ("bbbbbb", "partial"),
                                                              ("cccccc", "no summary")]
    partial = next(r for r in rows if r["status"] == "partial")
    assert (partial["success"], partial["failure"], partial["skipped"], partial["durationSeconds"]) == (3, 2, 10, 9.25)


def test_show_latest_and_by_prefix_with_error_codes_and_no_key_material(tmp_path):
    root = _store(tmp_path)
    latest = cli("runs", "show", STORE, "--store-root", str(root))
    assert "20260103T020000Z-cccccc" in latest.stdout and "no summary" in latest.stdout
    proc = cli("runs", "show", STORE, "20260102", "--store-root", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "DATA_LOSS 1, INVALID_ARGUMENT 1" in proc.stdout and "skipped      10" in proc.stdout
    shown = json.loads(cli("runs", "show", STORE, "20260102", "--store-root", str(root), "--json").stdout)
    assert shown["errors"] == {"DATA_LOSS": 1, "INVALID_ARGUMENT": 1}
    assert "kmsKeyName" not in shown["details"] and shown["details"]["keyFingerprint"] == "f1f1f1"
    assert "secret" not in proc.stdout + json.dumps(shown)


def test_unknown_run_and_empty_destination(tmp_path):
    root = _store(tmp_path)
    assert cli("runs", "show", STORE, "2027", "--store-root", str(root)).returncode == 2
    assert cli("runs", "show", STORE, "2026", "--store-root", str(root)).returncode == 2  # ambiguous prefix
    empty = cli("runs", "list", f"{DATASET}/dicomStores/none", "--store-root", str(root))
    assert empty.returncode == 0 and empty.stdout == "" and "no runs" in empty.stderr
    assert cli("runs", "list", "projects/x", "--store-root", str(root)).returncode == 2


def test_duration_formatting():
    assert runs._duration(None) == "-"
    assert runs._duration(5.04) == "5.0s"
    assert runs._duration(3725) == "1h02m05s"

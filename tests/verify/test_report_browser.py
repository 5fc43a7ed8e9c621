"""report.html in a real browser: headless Chromium renders it, a screenshot is saved, the text shows the counts."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess

import pytest

from pipelines import report

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (scripts/install-services.sh installs Debian's chromium)")
        pytest.skip("chromium is not installed; run scripts/install-services.sh")
    return path


def summary() -> dict:
    return {
        "name": "deidflow/runs/20260101T000000Z-abc123",
        "metadata": {"createTime": "2026-01-01T00:00:00.000Z", "endTime": "2026-01-01T00:00:20.000Z",
                     "counter": {"success": "1234", "failure": "7"}},
        "deidflow": {"source": "projects/p/locations/l/datasets/d/dicomStores/s",
                     "destination": "projects/p/locations/l/datasets/d/dicomStores/t",
                     "configDigest": "0f1e2d3c4b5a6978", "keyFingerprint": "a1b2c3d4e5f60718", "profile": "BASIC"},
    }


def errors() -> list[dict]:
    return [{"resource_name": f"study/series/{i}.dcm", "error": {"code": code, "message": "the file is empty"}}
            for i, code in enumerate(["INVALID_ARGUMENT"] * 5 + ["DATA_LOSS"] * 2)]


def test_report_renders_in_headless_chromium_and_shows_the_counts(tmp_path):
    browser = chromium()
    page = report.run_report(summary(), errors(), {"modality/dicom/CT": 1000, "modality/dicom/MR": 234,
                                                   "action/dicom/PatientName (0010,0010)/replaced": 1234})
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    profile = tmp_path / "profile"
    shot = tmp_path / "report.png"
    base = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1100,1600", path.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    dom = subprocess.run([*base, "--dump-dom", path.as_uri()], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    assert "1,234" in text and re.search(r"failed\s+7", text)
    assert "INVALID_ARGUMENT" in text and "DATA_LOSS" in text
    assert "CT" in text and "PatientName (0010,0010)" in text and "a1b2c3d4e5f60718" in text
    assert re.search(r"62\.\d elements/s", text)  # (1234 + 7) / 20 s


def test_report_is_self_contained():
    page = report.run_report(summary(), errors())
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "@import" not in page and "url(" not in page

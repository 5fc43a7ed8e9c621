"""Start-up: a command line naming no gs:// path does not import Beam's GCP I/O; one naming gs:// does."""

from __future__ import annotations

import os
import subprocess
import sys

from pipelines.cli import hide_unused_gcp_modules
from tests.conftest import REPO

PROBE = """
import sys
from pipelines.cli import hide_unused_gcp_modules
print(hide_unused_gcp_modules(sys.argv[1:]))
from apache_beam.io.filesystems import FileSystems
import apache_beam, apache_beam.io
print("google.cloud.storage" in sys.modules, FileSystems.exists(sys.executable))
try:
    FileSystems.get_filesystem("gs://bucket/x")
    print("gs")
except ValueError:
    print("no gs")
"""


def _probe(*argv: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split("\n")[:3]


def test_local_command_line_skips_gcp_io_and_still_reads_local_files():
    assert _probe("fhir-stores", "deidentify", "S", "--store-root", "/tmp/x") == ["True", "False True", "no gs"]


def test_gs_or_dataflow_command_line_keeps_gcp_io():
    assert _probe("fhir-stores", "deidentify", "S", "--store-root", "gs://b/p") == ["False", "True True", "gs"]
    assert hide_unused_gcp_modules(["--runner", "DataflowRunner"]) is False

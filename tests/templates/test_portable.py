"""Portability: the DICOM and FHIR store pipelines on Beam's PortableRunner (local job service, LOOPBACK workers)
give byte-identical output to the DirectRunner's.

The job service is started once for the module on a free loopback port; each pipeline runs in a subprocess so
a stuck job fails the test at its timeout instead of hanging the suite.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from pipelines.commands.sample_fhir import sample_files
from tests.conftest import DATASET, REPO, write_store
from tests.templates.helpers import deidentify, dicom_store, files, key_file, ok_summary

pytestmark = pytest.mark.pipeline
# Staging the submission environment (a `pip freeze`) costs seconds per job and serves no local run.
PORTABLE = ("--runner", "PortableRunner", "--environment_type", "LOOPBACK",
            "--experiments", "disable_logging_submission_environment")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def job_endpoint(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("job-service") / "job-service.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=str(REPO)),
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the local job service did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield f"localhost:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _run_both(root, source, kind, key, endpoint, *extra):
    """The DirectRunner and the PortableRunner runs, side by side in two processes."""
    portable = ("--job_endpoint", endpoint, *PORTABLE)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    group = {"dicomStores": "dicom-stores", "fhirStores": "fhir-stores"}[kind]
    procs = {}
    for dest, runner_args in (("direct", ()), ("portable", portable)):
        args = [sys.executable, "-m", "pipelines.cli", group, "deidentify", f"{DATASET}/{kind}/{source}",
                "--destination-store", f"{DATASET}/{kind}/{dest}", "--store-root", str(root), "--quiet",
                "--key-file", str(key), *extra, *runner_args]
        procs[dest] = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    for dest, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            for other in procs.values():
                other.kill()
            pytest.fail(f"the {dest} run did not finish in 240 s")
        results[dest] = ok_summary(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return results


def test_dicom_store_on_the_portable_runner_equals_the_direct_runner(tmp_path, job_endpoint):
    root = tmp_path / "stores"
    dicom_store(root, "src", patients=2)
    results = _run_both(root, "src", "dicomStores", key_file(tmp_path), job_endpoint)
    assert results["portable"]["metadata"]["counter"] == results["direct"]["metadata"]["counter"] == \
        {"success": "4", "failure": "0"}
    direct = files(root, "dicomStores", "direct")
    assert len(direct) == 4 and files(root, "dicomStores", "portable") == direct
    # an incremental rerun on the portable runner: every instance is already there, the counters say so
    again = ok_summary(deidentify(root, "src", "portable", "--key-file", str(key_file(tmp_path)), "--incremental",
                                  "--job_endpoint", job_endpoint, *PORTABLE, subprocess_run=True))
    assert again["metadata"]["counter"]["success"] == "0" and again["deidflow"]["skipped"] == "4"
    assert files(root, "dicomStores", "portable") == direct


def test_fhir_store_on_the_portable_runner_equals_the_direct_runner(tmp_path, job_endpoint):
    root = tmp_path / "stores"
    write_store(root, f"{DATASET}/fhirStores/src", sample_files(2, 0, "ndjson"))
    results = _run_both(root, "src", "fhirStores", key_file(tmp_path), job_endpoint)
    counter = results["direct"]["metadata"]["counter"]
    assert int(counter["success"]) > 10 and counter["failure"] == "0"
    assert results["portable"]["metadata"]["counter"] == counter
    direct = files(root, "fhirStores", "direct")
    assert direct and files(root, "fhirStores", "portable") == direct
    # an incremental rerun on the portable runner: every resource is already there, kept lines rewritten as they were
    again = ok_summary(deidentify(root, "src", "portable", "--key-file", str(key_file(tmp_path)), "--incremental",
                                  "--job_endpoint", job_endpoint, *PORTABLE, kind="fhirStores", subprocess_run=True))
    assert again["metadata"]["counter"]["success"] == "0" and again["deidflow"]["skipped"] == counter["success"]
    assert files(root, "fhirStores", "portable") == direct

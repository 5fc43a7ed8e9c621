"""Real storage services for the storage tests: a GCS emulator and Orthanc DICOMweb servers on free loopback ports.

Every service is started by its fixture and stopped (and waited for) after, so no process is left behind. The code
under test only sees ``STORAGE_EMULATOR_HOST`` (GCS) or a DICOMweb base URL (Orthanc).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Optional

import pytest

from tests.conftest import REPO

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


# --- GCS emulator -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def gcs_emulator():
    """``http://127.0.0.1:PORT`` of a gcp-storage-emulator (in memory) for the whole session."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1", "--port", str(port),
         "--in-memory", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "gcp-storage-emulator")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture
def gcs(gcs_emulator, monkeypatch):
    """A google-cloud-storage client on the emulator and a fresh bucket for this test."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="test", credentials=AnonymousCredentials())
    bucket = client.create_bucket(f"deidflow-{uuid.uuid4().hex[:12]}")
    return GcsBucket(client, bucket, gcs_emulator)


class GcsBucket:
    """A test bucket: upload a store, read objects back (reusable for FHIR stores: files are just bytes)."""

    def __init__(self, client, bucket, host: str):
        self.client, self.bucket, self.host = client, bucket, host

    @property
    def name(self) -> str:
        return self.bucket.name

    def uri(self, *parts: str) -> str:
        return "gs://" + "/".join([self.name, *[p.strip("/") for p in parts if p]])

    def upload(self, prefix: str, files: dict[str, bytes]) -> None:
        for relative, data in files.items():
            self.bucket.blob(f"{prefix.strip('/')}/{relative}").upload_from_string(data)

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        """Every object below a prefix, by name relative to it."""
        base = prefix.strip("/") + "/" if prefix else ""
        return {blob.name[len(base):]: blob.download_as_bytes()
                for blob in self.client.list_blobs(self.name, prefix=base)}

    def store_files(self, prefix: str) -> dict[str, bytes]:
        return {k: v for k, v in self.objects(prefix).items() if ".deidflow" not in k.split("/")[:-1]}

    def run_records(self, prefix: str) -> tuple[list[dict], list[dict]]:
        """(summaries, error records) of every run below a store prefix."""
        summaries, errors = [], []
        for name, data in self.objects(prefix).items():
            parts = name.split("/")
            if ".deidflow" not in parts or "runs" not in parts:
                continue
            if parts[-1] == "summary.json":
                summaries.append(json.loads(data))
            elif parts[-1].startswith("errors") and parts[-1].endswith(".ndjson"):
                errors += [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        return summaries, errors


# --- Orthanc ----------------------------------------------------------------------------------------------------


def dicomweb_plugin() -> str:
    for folder in DICOMWEB_PLUGIN_DIRS:
        path = Path(folder) / "libOrthancDicomWeb.so"
        if path.exists():
            return str(path)
    raise RuntimeError("the Orthanc DICOMweb plugin is not installed (scripts/install-services.sh installs it)")


class OrthancServer:
    """One Orthanc process with its own config and storage folder."""

    def __init__(self, folder: Path, lua: Optional[str] = None):
        self.folder = folder
        self.port = free_port()
        storage = folder / "storage"
        storage.mkdir(parents=True)
        config = {
            "Name": f"deidflow-test-{self.port}", "StorageDirectory": str(storage), "IndexDirectory": str(storage),
            "HttpPort": self.port, "HttpBindAddress": "127.0.0.1", "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False, "DicomServerEnabled": False, "HttpCompressionEnabled": False,
            "MaximumStorageCacheSize": 0,  # read every retrieval from the storage folder
            "Plugins": [dicomweb_plugin()],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
        }
        if lua:
            script = folder / "filter.lua"
            script.write_text(lua)
            config["LuaScripts"] = [str(script)]
        (folder / "orthanc.json").write_text(json.dumps(config))
        self.log = open(folder / "orthanc.log", "wb")
        self.process = subprocess.Popen([ORTHANC, str(folder / "orthanc.json")], cwd=folder,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, self.process, "Orthanc")
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        import requests

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/studies", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("Orthanc's DICOMweb plugin did not answer")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/dicom-web"

    def stop(self) -> None:
        stop(self.process)
        self.log.close()


@pytest.fixture
def orthanc_factory(tmp_path) -> Callable[..., OrthancServer]:
    """Start Orthanc servers (``orthanc_factory(lua=None)``); all are stopped after the test."""
    servers: list[OrthancServer] = []

    def start(lua: Optional[str] = None) -> OrthancServer:
        server = OrthancServer(tmp_path / f"orthanc-{len(servers)}", lua)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# --- the CLI with a storage environment -------------------------------------------------------------------------


def run_deidflow(*args: str, env: Optional[dict] = None, cwd: Optional[Path] = None,
                 timeout: int = 300) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)

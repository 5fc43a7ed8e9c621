"""DICOMweb sources and destinations against real Orthanc servers: counts, PHI scan, UID consistency, errors."""

from __future__ import annotations

import base64
import io
import json

import pydicom
import pytest

from tests.conftest import DATASET, DEST, SOURCE, summary_from_stdout, write_store
from tests.storage.conftest import free_port, run_deidflow
from transforms.dicom.sample import SamplePatient, sample_store_files

pytestmark = [pytest.mark.pipeline, pytest.mark.service]

KEY = b"K" * 32
PATIENTS, SERIES, INSTANCES = 2, 2, 2
TOTAL = PATIENTS * SERIES * INSTANCES


def sample_files() -> dict[str, bytes]:
    return dict(sample_store_files(patients=PATIENTS, studies=1, series=SERIES, instances=INSTANCES))


def phi_strings() -> set[str]:
    phi = set()
    for p in range(PATIENTS):
        patient = SamplePatient(p)
        phi |= set(patient.phi_strings())
        phi.add(patient.study_uid(0))
        phi |= {patient.series_uid(0, s) for s in range(SERIES)}
        phi |= {patient.sop_uid(0, s, i) for s in range(SERIES) for i in range(INSTANCES)}
    return phi


def stow(server, files: dict[str, bytes]) -> None:
    from pipelines.stores.dicomweb import DicomWebEndpoint, store_instances

    failures = store_instances(DicomWebEndpoint(server.url), [(name, data) for name, data in files.items()])
    assert failures == {}


def retrieve_all(server) -> dict[str, bytes]:
    """Every instance of a server, listed with QIDO-RS and retrieved with WADO-RS, by SOPInstanceUID."""
    from pipelines.stores.dicomweb import DicomWebEndpoint, list_instances, list_series, list_studies, retrieve_instance

    endpoint = DicomWebEndpoint(server.url)
    out = {}
    for study in list_studies(endpoint):
        for series in list_series(endpoint, study):
            for sop in list_instances(endpoint, study, series):
                out[sop] = retrieve_instance(endpoint, endpoint.instance_url(study, series, sop))
    return out


def check_deidentified(instances: dict[str, bytes]) -> dict[str, pydicom.Dataset]:
    phi = phi_strings()
    parsed = {}
    for sop, data in instances.items():
        for value in phi:
            assert value.encode() not in data
        ds = pydicom.dcmread(io.BytesIO(data))
        assert ds.SOPInstanceUID == sop
        parsed[sop] = ds
    # UID consistency: one new study per patient, the series of a study share it, every series is whole
    studies = {}
    for ds in parsed.values():
        studies.setdefault(ds.StudyInstanceUID, set()).add(ds.SeriesInstanceUID)
    assert len(studies) == PATIENTS
    assert all(len(series) == SERIES for series in studies.values())
    by_series = {}
    for ds in parsed.values():
        by_series.setdefault(ds.SeriesInstanceUID, []).append(ds)
    assert all(len(items) == INSTANCES for items in by_series.values())
    return parsed


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "run.key"
    path.write_text(base64.b64encode(KEY).decode() + "\n")
    return path


def local_reference(tmp_path, key_file) -> dict[str, bytes]:
    """The same source de-identified store root -> store root with the same key, by SOPInstanceUID."""
    root = tmp_path / "reference"
    write_store(root, SOURCE, sample_files())
    proc = run_deidflow("dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root),
                        "--key-file", str(key_file))
    assert proc.returncode == 0, proc.stderr
    return {p.stem: p.read_bytes() for p in (root / DEST).rglob("*.dcm") if ".deidflow" not in p.parts}


def test_dicomweb_to_dicomweb_then_rerun_is_idempotent(orthanc_factory, tmp_path, key_file):
    source, destination = orthanc_factory(), orthanc_factory()
    stow(source, sample_files())
    args = ("dicom-stores", "deidentify", "--source-dicomweb", source.url, "--destination-dicomweb", destination.url,
            "--store-root", str(tmp_path / "stores"), "--key-file", str(key_file), "--dicomweb-batch-size", "3")
    proc = run_deidflow(*args)
    assert proc.returncode == 0, proc.stderr
    summary = summary_from_stdout(proc.stdout)
    assert summary["metadata"]["counter"] == {"success": str(TOTAL), "failure": "0"}
    assert summary["deidflow"]["source"] == source.url
    assert summary["deidflow"]["destination"] == destination.url
    run_dir = tmp_path / "stores" / ".deidflow" / "runs" / summary["name"].rsplit("/", 1)[-1]
    assert json.loads((run_dir / "summary.json").read_text())["metadata"]["counter"]["success"] == str(TOTAL)

    stored = retrieve_all(destination)
    assert len(stored) == TOTAL
    check_deidentified(stored)
    # the same UIDs (and bytes) as a store-root run with the same key: pseudonyms do not depend on the transport
    assert stored == local_reference(tmp_path, key_file)

    again = run_deidflow(*args)
    assert again.returncode == 0, again.stderr
    assert summary_from_stdout(again.stdout)["metadata"]["counter"] == {"success": str(TOTAL), "failure": "0"}
    assert retrieve_all(destination) == stored
    assert len(retrieve_all(source)) == TOTAL  # the source is only read


def test_dicomweb_to_store_root_and_store_root_to_dicomweb(orthanc_factory, tmp_path, key_file):
    source = orthanc_factory()
    stow(source, sample_files())
    root = tmp_path / "stores"
    (root / DATASET).mkdir(parents=True)
    proc = run_deidflow("dicom-stores", "deidentify", "--source-dicomweb", source.url, "--destination-store", DEST,
                        "--store-root", str(root), "--key-file", str(key_file))
    assert proc.returncode == 0, proc.stderr
    assert summary_from_stdout(proc.stdout)["deidflow"]["destinationCreated"] is True
    written = {p.stem: p.read_bytes() for p in (root / DEST).rglob("*.dcm") if ".deidflow" not in p.parts}
    assert len(written) == TOTAL
    check_deidentified(written)
    assert list((root / DEST / ".deidflow" / "runs").glob("*/summary.json"))

    destination = orthanc_factory()
    write_store(root, SOURCE, sample_files())
    proc = run_deidflow("dicom-stores", "deidentify", SOURCE, "--destination-dicomweb", destination.url,
                        "--store-root", str(root), "--key-file", str(key_file))
    assert proc.returncode == 0, proc.stderr
    assert summary_from_stdout(proc.stdout)["deidflow"]["source"] == SOURCE
    # both directions give the same de-identified instances
    assert retrieve_all(destination) == written


def test_an_instance_the_source_refuses_is_one_error_record(orthanc_factory, tmp_path, key_file):
    lost = SamplePatient(1).sop_uid(0, 1, 0)
    # The source server refuses (HTTP 403) every retrieval of one instance; its listings still name it.
    lua = ("function IncomingHttpRequestFilter(method, uri, ip, username, headers)\n"
           f"  if method == 'GET' and string.find(uri, '/instances/{lost}', 1, true) then return false end\n"
           "  return true\nend\n")
    source, destination = orthanc_factory(lua=lua), orthanc_factory()
    stow(source, sample_files())
    proc = run_deidflow("dicom-stores", "deidentify", "--source-dicomweb", source.url, "--destination-dicomweb",
                        destination.url, "--store-root", str(tmp_path / "stores"), "--key-file", str(key_file))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    summary = summary_from_stdout(proc.stdout)
    assert summary["metadata"]["counter"] == {"success": str(TOTAL - 1), "failure": "1"}
    errors = run_errors(tmp_path / "stores")
    assert len(errors) == 1
    assert errors[0]["resource_name"].startswith(source.url) and errors[0]["resource_name"].endswith(lost)
    assert errors[0]["error"]["code"] == "UNAVAILABLE"  # the de-identify step's code for an unreadable source
    assert len(retrieve_all(destination)) == TOTAL - 1


# The destination refuses (HTTP 403) every STOW-RS request of more than one instance, and the first single-instance
# one: batches are split and retried one instance at a time, and exactly one instance cannot be stored.
REFUSING_DESTINATION = """
singles = 0
function IncomingHttpRequestFilter(method, uri, ip, username, headers)
  if method ~= 'POST' then return true end
  if tonumber(headers['content-length'] or '0') > 15000 then return false end
  singles = singles + 1
  return singles ~= 1
end
"""


def test_an_instance_the_destination_refuses_is_one_error_record(orthanc_factory, tmp_path, key_file):
    files = sample_files()
    assert all(7000 < len(data) < 12000 for data in files.values())  # the 15000-byte rule above needs this
    destination = orthanc_factory(lua=REFUSING_DESTINATION)
    root = tmp_path / "stores"
    write_store(root, SOURCE, files)
    proc = run_deidflow("dicom-stores", "deidentify", SOURCE, "--destination-dicomweb", destination.url,
                        "--store-root", str(root), "--key-file", str(key_file), "--dicomweb-batch-size", "4")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert summary_from_stdout(proc.stdout)["metadata"]["counter"] == {"success": str(TOTAL - 1), "failure": "1"}
    errors = run_errors(root)
    assert len(errors) == 1
    refused = errors[0]["resource_name"]
    assert refused in files  # store-relative (issue 18): no absolute path in records
    assert errors[0]["error"] == {"code": "PERMISSION_DENIED", "message": "STOW-RS store to the destination failed "
                                  "(HTTP 403)"}
    assert len(retrieve_all(destination)) == TOTAL - 1


def run_errors(root) -> list[dict]:
    return [json.loads(line) for path in (root / ".deidflow" / "runs").glob("*/errors*.ndjson")
            for line in path.read_text().splitlines() if line.strip()]


def test_server_down_at_launch_is_a_launch_error(tmp_path):
    down = f"http://127.0.0.1:{free_port()}/dicom-web"
    root = tmp_path / "stores"
    proc = run_deidflow("dicom-stores", "deidentify", "--source-dicomweb", down, "--destination-store", DEST,
                        "--store-root", str(root))
    assert proc.returncode == 2
    assert "--source-dicomweb" in proc.stderr and "does not answer" in proc.stderr
    write_store(root, SOURCE, sample_files())
    proc = run_deidflow("dicom-stores", "deidentify", SOURCE, "--destination-dicomweb", down, "--store-root", str(root))
    assert proc.returncode == 2
    assert "--destination-dicomweb" in proc.stderr
    assert not (root / ".deidflow").exists()

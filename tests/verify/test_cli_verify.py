"""`deidflow verify`, report.html, --dry-run and progress through the CLI (subprocesses, DirectRunner)."""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, run_cli, store_files, summary_from_stdout, write_store
from tests.verify import helpers
from transforms.dicom.sample import SamplePatient, sample_store_files

pytestmark = pytest.mark.pipeline

SRC_DS = "projects/p1/locations/us/datasets/src"
DST_DS = "projects/p1/locations/us/datasets/dst"


def _plant_in_first_patient(root, text: str) -> None:
    """Residue planted in the destination: an extension string on its first Patient."""
    patients_file = root / DST_DS / "fhirStores" / "ehr" / "Patient.ndjson"
    lines = patients_file.read_text().splitlines()
    first = json.loads(lines[0])
    first["extension"] = [{"url": "http://example.org/x", "valueString": text}]
    patients_file.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n")


@pytest.fixture
def dataset(tmp_path):
    """A source dataset (DICOM + FHIR store) and its de-identified copy made with the default configs."""
    root = tmp_path / "stores"
    key = helpers.keys()
    files = helpers.source_dicom_files()
    write_store(root, f"{SRC_DS}/dicomStores/img", files)
    write_store(root, f"{DST_DS}/dicomStores/img", helpers.deidentify_dicom(files, key))
    sample = helpers.fhir_source()
    helpers.write_fhir_store(root / SRC_DS / "fhirStores" / "ehr", sample.resources)
    helpers.write_fhir_store(root / DST_DS / "fhirStores" / "ehr", helpers.deidentify_fhir(sample.resources, key))
    key_file = tmp_path / "run.key"
    key_file.write_text(base64.b64encode(helpers.KEY).decode() + "\n")
    return root, key_file, files, sample


def verify(root, key_file, *extra, source=SRC_DS, dest=DST_DS):
    return run_cli("verify", source, dest, "--store-root", str(root), "--key-file", str(key_file), *extra)


def all_phi(files, sample) -> set[str]:
    phi = set(sample.phi)
    for p in range(3):
        patient = SamplePatient(p)
        phi |= set(patient.phi_strings()) | {patient.study_uid(0), patient.sop_uid(0, 0, 0)}
    return {v for v in phi if len(v) >= 4}


def test_clean_dataset_passes_and_writes_a_phi_free_report(dataset):
    root, key_file, files, sample = dataset
    proc = verify(root, key_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = summary_from_stdout(proc.stdout)
    assert summary["deidflow"]["result"] == "clean"
    assert summary["metadata"]["counter"]["findings"] == "0"
    assert int(summary["metadata"]["counter"]["scanned"]) == len(files) + len(sample.resources)
    assert int(summary["metadata"]["counter"]["identifiers"]) > 100
    run_dir = root / summary["deidflow"]["runDir"]  # below the store root
    page = open(os.path.join(run_dir, "report.html"), encoding="utf-8").read()
    assert "clean" in page and "<svg" not in page.split("<h2>Residue")[0][:0]  # a page, self-contained
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for value in all_phi(files, sample):
        assert value not in page and value not in proc.stdout


def test_planted_leaks_are_found_located_and_exit_1(dataset):
    root, key_file, files, sample = dataset
    dest = root / DST_DS / "dicomStores" / "img"
    instance = sorted(p for p in dest.rglob("*.dcm"))[0]
    patient = SamplePatient(0)
    instance.write_bytes(helpers.plant_private_name(instance.read_bytes(), f"{patient.family}^{patient.given}"))
    records = dest / ".deidflow" / "runs" / "old"
    records.mkdir(parents=True)
    (records / "errors-00000-of-00001.ndjson").write_text(
        json.dumps({"resource_name": "x", "error": {"code": "INTERNAL", "message": f"id {patient.patient_id}"}}) + "\n")
    fhir_patient = next(r for r in sample.resources if r["resourceType"] == "Patient")
    mrn = fhir_patient["identifier"][0]["value"]
    _plant_in_first_patient(root, f"legacy {mrn}")
    proc = verify(root, key_file)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = summary_from_stdout(proc.stdout[: proc.stdout.rindex("}") + 1])
    located = {(f["category"], f["location"]) for f in summary["deidflow"]["findings"]}
    assert ("PERSON_NAME", "(0011,1001)") in located
    assert ("ID", "line 1") in located
    assert any(cat == "ID" and loc.endswith("extension[0].valueString") for cat, loc in located)
    page = open(os.path.join(root, summary["deidflow"]["runDir"], "report.html"), encoding="utf-8").read()
    assert "(0011,1001)" in page and "residue found" in page
    for value in all_phi(files, sample):
        assert value not in page and value not in proc.stdout


def test_bad_launch_is_exit_2(dataset):
    root, key_file, _, _ = dataset
    proc = verify(root, key_file, dest="projects/p1/locations/us/datasets/missing")
    assert proc.returncode == 2 and "does not exist" in proc.stderr


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "stores"
    write_store(root, "projects/p1/locations/us/datasets/ds/dicomStores/src",
                dict(sample_store_files(patients=2, studies=1, series=1, instances=2)))
    return root


def test_dry_run_writes_nothing_and_every_run_writes_a_report(store):
    dest = store / "projects/p1/locations/us/datasets/ds/dicomStores/dst"
    key = store.parent / "run.key"  # one key: a later run (or dry run) into dst with another key is refused
    key.write_text(base64.b64encode(b"V" * 32).decode() + "\n")
    args = ("dicom-stores", "deidentify", "projects/p1/locations/us/datasets/ds/dicomStores/src",
            "--destination-store", "projects/p1/locations/us/datasets/ds/dicomStores/dst", "--store-root", str(store),
            "--key-file", str(key))
    proc = run_cli(*args, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["dryRun"] is True and plan["stores"][0]["sourceInstances"] == 4
    assert plan["stores"][0]["destinationStore"] == "would be created"
    assert not dest.exists()
    proc = run_cli(*args, "--quiet")
    assert proc.returncode == 0, proc.stderr
    summary = summary_from_stdout(proc.stdout)  # every run writes report.html beside its summary
    page = open(os.path.join(store, summary["deidflow"]["runDir"], "report.html"), encoding="utf-8").read()
    details = summary["deidflow"]
    assert ">4<" in page and details["configDigest"] in page and details["keyFingerprint"] in page
    assert "<svg" in page and "No element failed" in page
    before = {p: p.stat().st_mtime_ns for p in dest.rglob("*")}
    proc = run_cli(*args, "--dry-run")
    assert proc.returncode == 0 and json.loads(proc.stdout)["stores"][0]["destinationStore"].startswith("exists")
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*")} == before


def test_progress_line_advances_under_a_terminal(tmp_path):
    root = tmp_path / "stores"
    write_store(root, "projects/p1/locations/us/datasets/ds/dicomStores/src",
                dict(sample_store_files(patients=10, studies=1, series=2, instances=10, rows=16, columns=16)))
    env = dict(os.environ, PYTHONPATH=str(REPO), DEIDFLOW_PROGRESS_SECONDS="0.05",
               DEIDFLOW_PROGRESS_FLUSH_SECONDS="0.02")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "dicom-stores", "deidentify",
         "projects/p1/locations/us/datasets/ds/dicomStores/src", "--destination-store",
         "projects/p1/locations/us/datasets/ds/dicomStores/dst", "--store-root", str(root)],
        stdin=slave, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    output = b""
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0, output[-2000:]
    text = output.decode("utf-8", "replace")
    counts = [int(m) for m in re.findall(r"de-identify: (\d+)/200 ", text)]
    assert "\r" in text
    assert counts and counts[-1] == 200
    assert len(set(counts)) >= 2 and counts == sorted(counts), counts
    assert len(store_files(root / "projects/p1/locations/us/datasets/ds/dicomStores/dst")) == 200


def test_a_store_the_cli_de_identified_verifies_clean_with_its_run_records_and_unreadable_sources_exit_4(store):
    # the run's own summary.json, report.html (CSS: text-align) and error records are scanned: no false alarm
    src = "projects/p1/locations/us/datasets/ds/dicomStores/src"
    dst = "projects/p1/locations/us/datasets/ds/dicomStores/dst"
    (store / src / "notes.txt").write_text("TEXT: not an instance\n")  # refused by de-identify, unreadable to verify
    proc = run_cli("dicom-stores", "deidentify", src, "--destination-store", dst, "--store-root", str(store))
    assert proc.returncode == 3, proc.stderr
    assert list((store / dst / ".deidflow" / "runs").glob("*/report.html"))
    proc = run_cli("verify", src, dst, "--store-root", str(store))
    assert proc.returncode == 4, proc.stdout + proc.stderr  # no residue, but one source was not checked
    summary = summary_from_stdout(proc.stdout)
    assert summary["deidflow"]["result"] == "incomplete" and summary["metadata"]["counter"]["findings"] == "0"
    assert summary["metadata"]["counter"]["unreadableSources"] == "1"
    (store / src / "notes.txt").unlink()
    proc = run_cli("verify", src, dst, "--store-root", str(store))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary_from_stdout(proc.stdout)["deidflow"]["result"] == "clean"


def test_residue_is_caught_in_every_hiding_place(dataset):
    # nested sequence, private element, UN-swallowed, narrative, base64 attachment, run record: each one found
    root, key_file, files, sample = dataset
    dest = root / DST_DS / "dicomStores" / "img"
    instances = sorted(dest.rglob("*.dcm"))
    patient, other = SamplePatient(0), SamplePatient(1)
    instances[0].write_bytes(helpers.plant_nested_id(instances[0].read_bytes(), other.patient_id))
    name = f"{patient.family}^{patient.given}"
    instances[1].write_bytes(helpers.plant_private_name(instances[1].read_bytes(), name))
    third = SamplePatient(2).patient_id.encode()
    source = next(data for data in files.values() if third in data)  # a source instance, its patient swallowed
    instances[2].write_bytes(helpers.swallow_with_un(source))
    records = dest / ".deidflow" / "runs" / "old"
    records.mkdir(parents=True)
    (records / "summary.json").write_text(json.dumps({"note": f"operator {patient.family}, {patient.given}"}) + "\n")
    fhir_patient = next(r for r in sample.resources if r["resourceType"] == "Patient")
    family, phone = fhir_patient["name"][0]["family"], fhir_patient["telecom"][0]["value"]
    patients_file = root / DST_DS / "fhirStores" / "ehr" / "Patient.ndjson"
    lines = patients_file.read_text().splitlines()
    first = json.loads(lines[0])
    first["text"] = {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><b>{family}</b></div>'}
    first["photo"] = [{"contentType": "text/plain", "data": helpers.b64(f"call {phone}")}]
    patients_file.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n")
    proc = verify(root, key_file)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    run_dir = summary_from_stdout(proc.stdout[: proc.stdout.rindex("}") + 1])["deidflow"]["runDir"]
    from pipelines.verify import read_findings

    located = {(f["category"], f["location"]) for f in read_findings(str(root / run_dir))}
    nested = "ContentSequence (0040,A730)[0] > ConceptNameCodeSequence (0040,A043)[0] > CodeMeaning (0008,0104)"
    assert ("ID", nested) in located
    assert ("PERSON_NAME", "(0011,1001)") in located
    assert ("PERSON_NAME", "Modality (0008,0060) > PatientName (0010,0010)") in located
    assert ("DATE", "Modality (0008,0060) > PatientBirthDate (0010,0030)") in located
    assert ("PERSON_NAME", "line 1") in located
    assert ("PERSON_NAME", "text.div (narrative text)") in located
    assert ("PHONE", "photo[0].data (base64-decoded)") in located


def test_source_files_verify_cannot_read_are_counted_and_exit_4(dataset):
    # a truncated Bundle and a text file in the FHIR source, a text file in the DICOM source: nothing verify could
    # collect from them was searched for, so the answer is exit 4 with their count, never "clean"
    root, key_file, _, _ = dataset
    folder = root / SRC_DS / "fhirStores" / "ehr"
    (folder / "broken.json").write_text('{"resourceType": "Bundle", "type": "collection", "entry": [')
    (folder / "notes.txt").write_text("Patient list, see the paper chart\n")
    (root / SRC_DS / "dicomStores" / "img" / "README").write_text("scanner export of 2024-01-02\n")
    proc = verify(root, key_file)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    summary = summary_from_stdout(proc.stdout)
    assert summary["deidflow"]["result"] == "incomplete"
    assert summary["metadata"]["counter"]["unreadableSources"] == "3"
    assert [p["unreadableSources"] for p in summary["deidflow"]["pairs"]] == ["1", "2"]  # DICOM, FHIR
    assert "could not be read" in proc.stderr
    page = open(os.path.join(root, summary["deidflow"]["runDir"], "report.html"), encoding="utf-8").read()
    assert "incomplete: 3 sources unreadable" in page and ">clean<" not in page


def test_every_fhir_source_format_is_read(dataset):
    # Catches verify's collector reading FHIR sources a line at a time (a pretty-printed Bundle or gzipped NDJSON
    # gave 0 identifiers, so a family name planted in the destination was reported clean).
    import gzip

    from transforms.fhir.sample import sample_bundle

    root, key_file, _, _ = dataset
    bundle, extra = sample_bundle(1, seed=9)
    folder = root / SRC_DS / "fhirStores" / "ehr"
    (folder / "bundle.json").write_text(json.dumps(bundle, indent=2))
    (folder / "more.ndjson.gz").write_bytes(gzip.compress(helpers.ndjson(extra.resources)))
    proc = verify(root, key_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    family = next(r for r in extra.resources if r["resourceType"] == "Patient")["name"][0]["family"]
    _plant_in_first_patient(root, f"was {family}")
    proc = verify(root, key_file)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = summary_from_stdout(proc.stdout[: proc.stdout.rindex("}") + 1])
    assert any(f["category"] == "PERSON_NAME" and f["location"].endswith("extension[0].valueString")
               for f in summary["deidflow"]["findings"])

"""`deidflow datasets ...` and store management through the CLI only: one pipeline for a whole dataset, launch rules,
config forms, filters, key files, and an import -> de-identify -> export round trip."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pydicom
import pytest

from tests import oracles
from tests.conftest import error_records, run_cli, store_files, summary_from_stdout, write_store
from transforms.dicom.sample import SamplePatient, sample_instance, sample_store_files

pytestmark = pytest.mark.pipeline

SRC = "projects/p1/locations/us/datasets/src"
DST = "projects/p1/locations/us/datasets/dst"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _dataset_root(tmp_path: Path) -> Path:
    """A source dataset: two DICOM stores sharing the same patients and studies, and an R5 FHIR store."""
    root = tmp_path / "stores"
    write_store(root, f"{SRC}/dicomStores/ct", dict(sample_store_files(patients=2, studies=1, series=1, instances=2)))
    write_store(root, f"{SRC}/dicomStores/mr", dict(sample_store_files(patients=2, studies=1, series=2, instances=1)))
    r5 = write_store(root, f"{SRC}/fhirStores/r5", {"Patient.ndjson": b'{"resourceType":"Patient","id":"1"}\n'})
    (r5 / ".deidflow").mkdir()
    (r5 / ".deidflow" / "store.json").write_text(json.dumps({"type": "fhirStores", "version": "R5"}))
    return root


def _instances(store: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(io.BytesIO(data)) for data in store_files(store).values()]


def test_dataset_is_deidentified_in_one_run_with_one_key(tmp_path):
    root = _dataset_root(tmp_path)
    key_file = tmp_path / "keys" / "nightly.key"
    proc = run_cli(
        "datasets",
        "deidentify",
        SRC,
        "--destination-dataset",
        DST,
        "--store-root",
        str(root),
        "--key-file",
        str(key_file),
        "--create-key-file",
    )
    assert proc.returncode == 0, proc.stderr
    summary = summary_from_stdout(proc.stdout)
    assert summary["metadata"]["apiMethodName"].endswith("DeidentifyDataset")
    assert summary["metadata"]["counter"] == {"success": "8", "failure": "0"}
    assert summary["deidflow"]["stores"] == {
        "dicomStores/ct": {"success": "4", "failure": "0"},
        "dicomStores/mr": {"success": "4", "failure": "0"},
    }
    assert summary["deidflow"]["skippedStores"][0]["name"] == f"{SRC}/fhirStores/r5"
    assert "R5" in proc.stderr

    # The key file: created once, mode 0600, never printed.
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key_text = key_file.read_text().strip()
    assert key_text not in proc.stdout and key_text not in proc.stderr

    # One destination store per source store (R5 skipped), same ids; run records in the dataset and every store.
    dst = root / DST
    assert sorted(p.name for p in (dst / "dicomStores").iterdir()) == ["ct", "mr"]
    assert not (dst / "fhirStores").exists()
    run_id = summary["name"].rsplit("/", 1)[-1]
    for folder in (dst, dst / "dicomStores" / "ct", dst / "dicomStores" / "mr"):
        written = json.loads((folder / ".deidflow" / "runs" / run_id / "summary.json").read_text())
        assert written["metadata"]["counter"] == summary["metadata"]["counter"]
    assert json.loads((dst / "dicomStores" / "ct" / ".deidflow" / "store.json").read_text())["type"] == "dicomStores"
    assert error_records(dst / "dicomStores" / "ct") == []

    # The same patient is the same pseudonym in both stores: study UIDs, patient ids and date shifts agree.
    by_store = {name: _instances(dst / "dicomStores" / name) for name in ("ct", "mr")}
    assert len(by_store["ct"]) == len(by_store["mr"]) == 4
    studies = {
        name: {(ds.StudyInstanceUID, str(ds.get("PatientID", "")), str(ds.get("StudyDate", ""))) for ds in instances}
        for name, instances in by_store.items()
    }
    assert studies["ct"] == studies["mr"] and len(studies["ct"]) == 2
    originals = {SamplePatient(p).study_uid(0) for p in range(2)}
    assert not originals & {uid for uid, _, _ in studies["ct"]}
    for p in range(2):
        for data in store_files(dst / "dicomStores" / "ct").values():
            assert SamplePatient(p).name.encode() not in data

    # Rerunning into the same destination fails at launch and changes nothing.
    before = _snapshot(dst)
    again = run_cli(
        "datasets",
        "deidentify",
        SRC,
        "--destination-dataset",
        DST,
        "--store-root",
        str(root),
        "--key-file",
        str(key_file),
        "--create-key-file",
    )
    assert again.returncode == 2 and "ALREADY_EXISTS" in again.stderr
    assert _snapshot(dst) == before
    assert key_file.read_text().strip() == key_text  # never overwritten

    # Other projects and locations are refused before anything is written.
    for other in ("projects/p2/locations/us/datasets/x", "projects/p1/locations/eu/datasets/x"):
        proc = run_cli("datasets", "deidentify", SRC, "--destination-dataset", other, "--store-root", str(root))
        assert proc.returncode == 2
        assert not (root / other).exists()


def test_textproto_and_json_configs_give_byte_identical_datasets(tmp_path, key_file):
    root = tmp_path / "stores"
    write_store(root, f"{SRC}/dicomStores/a", dict(sample_store_files(patients=2, studies=1, series=1, instances=2)))
    as_json = tmp_path / "deid.json"
    as_json.write_text(
        json.dumps(
            {
                "dicom": {"filterProfile": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"},
                "text": {"transformations": [{"infoTypes": ["PERSON_NAME"], "replaceWithInfoTypeConfig": {}}]},
            }
        )
    )
    as_text = tmp_path / "deid.txt"
    as_text.write_text(
        "# the same config\ndicom { filter_profile: ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE }\n"
        'text { transformations { info_types: "PERSON_NAME" replace_with_info_type_config {} } }\n'
    )
    outputs = []
    for n, config in enumerate((as_json, as_text)):
        dest = f"projects/p1/locations/us/datasets/out{n}"
        proc = run_cli(
            "datasets",
            "deidentify",
            SRC,
            "--destination-dataset",
            dest,
            "--store-root",
            str(root),
            "--config-file",
            str(config),
            "--key-file",
            str(key_file),
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(store_files(root / dest / "dicomStores" / "a"))
    assert len(outputs[0]) == 4
    assert outputs[0] == outputs[1]


def test_dicom_filter_file_limits_the_run(tmp_path):
    root = tmp_path / "stores"
    store = f"{SRC}/dicomStores/a"
    write_store(root, store, dict(sample_store_files(patients=3, studies=1, series=2, instances=2)))
    (root / SRC / ".deidflow").mkdir(parents=True, exist_ok=True)
    p0, p1, p2 = (SamplePatient(p) for p in range(3))
    listing = tmp_path / "filter.txt"
    listing.write_text(
        f"/studies/{p0.study_uid(0)}\r\n"  # 4 instances
        f"/studies/{p1.study_uid(0)}/series/{p1.series_uid(0, 1)}\r\n"  # 2 instances
        f"/studies/{p2.study_uid(0)}/series/{p2.series_uid(0, 0)}/instances/{p2.sop_uid(0, 0, 1)}\r\n"
    )
    proc = run_cli(
        "dicom-stores",
        "deidentify",
        store,
        "--destination-store",
        f"{SRC}/dicomStores/out",
        "--store-root",
        str(root),
        "--dicom-filter-file",
        str(listing),
    )
    assert proc.returncode == 0, proc.stderr
    assert summary_from_stdout(proc.stdout)["metadata"]["counter"] == {"success": "7", "failure": "0"}
    assert len(store_files(root / SRC / "dicomStores" / "out")) == 7

    listing.write_text(f"/studies/{p0.study_uid(0)}\n/studies/{p1.study_uid(0)}/instances/1.2\n")
    proc = run_cli(
        "datasets",
        "deidentify",
        SRC,
        "--destination-dataset",
        DST,
        "--store-root",
        str(root),
        "--dicom-filter-file",
        str(listing),
    )
    assert proc.returncode == 2 and "line 2" in proc.stderr
    assert not (root / DST).exists()


def _four_store_dataset(root: Path):
    """Two DICOM and two FHIR stores of the same patients: DICOM PatientID = FHIR MRN, StudyInstanceUID = the
    ImagingStudy's identifier, series/instance UIDs as the ImagingStudy lists them."""
    from transforms.fhir.sample import sample_store

    fhir = sample_store(n_patients=2, seed=3)
    studies = [
        (r["subject"]["reference"].split("/")[1], fhir.study_uids[r["id"]])
        for r in fhir.resources
        if r["resourceType"] == "ImagingStudy"
    ]
    for store, series in (("ct", 1), ("mr", 2)):
        files = {}
        for n, (pid, uid) in enumerate(studies):
            ds = pydicom.dcmread(io.BytesIO(sample_instance(SamplePatient(n), 0, 0, 0)))
            ds.PatientID = fhir.mrns[pid]
            ds.StudyInstanceUID, ds.SeriesInstanceUID = uid, f"{uid}.{series}"
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{uid}.{series}.1"
            out = io.BytesIO()
            ds.save_as(out, enforce_file_format=True)
            files[f"{uid}/{uid}.{series}/{uid}.{series}.1.dcm"] = out.getvalue()
        write_store(root, f"{SRC}/dicomStores/{store}", files)
    everything = "".join(json.dumps(r) + "\n" for r in fhir.resources)
    some = "".join(json.dumps(r) + "\n" for r in fhir.resources if r["resourceType"] in ("Patient", "ImagingStudy"))
    write_store(root, f"{SRC}/fhirStores/ehr", {"resources.ndjson": everything.encode()})
    write_store(root, f"{SRC}/fhirStores/imaging", {"resources.ndjson": some.encode()})
    return fhir, studies


def test_four_stores_share_pseudonyms_and_date_shifts(tmp_path, key_file):
    import datetime
    import glob

    from transforms.crypto import Keys

    root = tmp_path / "stores"
    fhir, studies = _four_store_dataset(root)
    # DICOM dates are shifted only through text inspection: clean StudyDate so the DICOM shift can be compared
    config = tmp_path / "shift.json"
    config.write_text(json.dumps({"dicomTagConfig": {"actions": [{"queries": ["StudyDate"], "cleanTextTag": {}}]}}))
    proc = run_cli(
        "datasets",
        "deidentify",
        SRC,
        "--destination-dataset",
        DST,
        "--store-root",
        str(root),
        "--key-file",
        str(key_file),
        "--config-file",
        str(config),
    )
    assert proc.returncode == 0, proc.stderr
    summary = summary_from_stdout(proc.stdout)
    n_some = sum(r["resourceType"] in ("Patient", "ImagingStudy") for r in fhir.resources)
    assert summary["deidflow"]["stores"] == {
        "dicomStores/ct": {"success": "2", "failure": "0"},
        "dicomStores/mr": {"success": "2", "failure": "0"},
        "fhirStores/ehr": {"success": str(len(fhir.resources)), "failure": "0"},
        "fhirStores/imaging": {"success": str(n_some), "failure": "0"},
    }
    keys = Keys(b"K" * 32)
    dst = root / DST
    for store in ("ct", "mr"):  # the DICOM study UIDs are the ones the FHIR ImagingStudy identifiers map to
        assert sorted(ds.StudyInstanceUID for ds in _instances(dst / "dicomStores" / store)) == sorted(
            oracles.keyed_uid(keys, uid) for _, uid in studies
        )
        # and each DICOM study date moved by the same shift as its patient's FHIR dates (keyed on the MRN)
        for ds in _instances(dst / "dicomStores" / store):
            n, (pid, _) = next((n, s) for n, s in enumerate(studies)
                               if oracles.keyed_uid(keys, s[1]) == ds.StudyInstanceUID)
            original = datetime.datetime.strptime(SamplePatient(n).study_date(0), "%Y%m%d").date()
            shifted = original + datetime.timedelta(days=oracles.days(keys, fhir.mrns[pid]))
            assert ds.StudyDate == shifted.strftime("%Y%m%d")
    births = {r["id"]: r["birthDate"] for r in fhir.resources if r["resourceType"] == "Patient"}
    for store in ("ehr", "imaging"):
        lines = [
            json.loads(line)
            for f in sorted(glob.glob(str(dst / "fhirStores" / store / "*.ndjson")))
            for line in Path(f).read_text().splitlines()
        ]
        identifiers = sorted(r["identifier"][0]["value"] for r in lines if r["resourceType"] == "ImagingStudy")
        assert identifiers == sorted("urn:oid:" + oracles.keyed_uid(keys, uid) for _, uid in studies)
        # every patient's birth date moved by the shift keyed on the MRN, the DICOM PatientID
        expected = sorted(
            (
                datetime.date.fromisoformat(birth) + datetime.timedelta(days=oracles.days(keys, fhir.mrns[pid]))
            ).isoformat()
            for pid, birth in births.items()
        )
        assert sorted(r["birthDate"] for r in lines if r["resourceType"] == "Patient") == expected


def test_import_deidentify_export_round_trip_through_the_cli(tmp_path):
    root = str(tmp_path / "stores")
    plain = tmp_path / "scanner-dump"
    for n, (_, data) in enumerate(sample_store_files(patients=2, studies=1, series=1, instances=2)):
        (plain / f"day{n % 2}").mkdir(parents=True, exist_ok=True)
        (plain / f"day{n % 2}" / f"IMG{n:04d}").write_bytes(data)
    (plain / "README.txt").write_text("not an image")
    ds_in, store = "projects/p1/locations/us/datasets/in", "projects/p1/locations/us/datasets/in/dicomStores/s"

    def cli(*args):
        return run_cli(*args, "--store-root", root)

    assert cli("datasets", "create", ds_in).returncode == 0
    assert cli("datasets", "create", ds_in).returncode == 2
    assert cli("dicom-stores", "create", store).returncode == 0
    imported = cli("dicom-stores", "import", store, "--gcs-uri", str(plain))
    assert imported.returncode == 3, imported.stderr  # the README is an error record, the 4 instances are in
    assert summary_from_stdout(imported.stdout)["metadata"]["counter"] == {"success": "4", "failure": "1"}
    [record] = error_records(Path(root) / store)
    assert record["resource_name"].endswith("README.txt") and record["error"]["code"] == "INVALID_ARGUMENT"
    described = json.loads(cli("dicom-stores", "describe", store).stdout)
    assert (described["instanceCount"], described["studyCount"], described["type"]) == ("4", "2", "dicomStores")

    deid = cli("datasets", "deidentify", ds_in, "--destination-dataset", "projects/p1/locations/us/datasets/out")
    assert deid.returncode == 0, deid.stderr
    listed = cli("datasets", "list", "projects/p1/locations/us").stdout.split()
    assert listed == [ds_in, "projects/p1/locations/us/datasets/out"]

    export = tmp_path / "export"
    out_store = "projects/p1/locations/us/datasets/out/dicomStores/s"
    exported = cli("dicom-stores", "export", out_store, "--gcs-uri-prefix", str(export))
    assert exported.returncode == 0, exported.stderr
    files = {str(p.relative_to(export)): p.read_bytes() for p in export.rglob("*") if p.is_file()}
    assert files == store_files(Path(root) / out_store) and len(files) == 4
    for relative, data in files.items():
        ds = pydicom.dcmread(io.BytesIO(data))
        assert relative == f"{ds.StudyInstanceUID}/{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}.dcm"
        assert ds.StudyInstanceUID.startswith("2.25.")

    assert cli("datasets", "delete", ds_in, "--quiet").returncode == 0
    assert not (Path(root) / ds_in).exists()


def test_fhir_store_import_describe_export(tmp_path):
    from transforms.fhir.sample import sample_store

    root = str(tmp_path / "stores")
    resources = sample_store(n_patients=2).resources
    src = tmp_path / "ndjson"
    src.mkdir()
    (src / "all.ndjson").write_text(
        "".join(json.dumps(r) + "\n" for r in resources) + "{oops\n" + json.dumps(resources[0]) + "\n"
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "id": "bundled-1"}}],
    }
    (src / "bundle.json").write_text(json.dumps(bundle))
    ds, store = "projects/p1/locations/us/datasets/f", "projects/p1/locations/us/datasets/f/fhirStores/s"

    def cli(*args):
        return run_cli(*args, "--store-root", root)

    assert cli("datasets", "create", ds).returncode == 0
    assert cli("fhir-stores", "create", store, "--version", "R4").returncode == 0
    imported = cli("fhir-stores", "import", store, "--gcs-uri", str(src))
    assert imported.returncode == 3, imported.stderr
    counter = summary_from_stdout(imported.stdout)["metadata"]["counter"]
    assert counter == {"success": str(len(resources) + 1), "failure": "2"}  # bad JSON line + duplicate id
    codes = sorted(r["error"]["code"] for r in error_records(Path(root) / store))
    assert codes == ["ALREADY_EXISTS", "INVALID_ARGUMENT"]
    described = json.loads(cli("fhir-stores", "describe", store).stdout)
    assert described["version"] == "R4" and described["resourceCount"] == str(len(resources) + 1)
    exported = cli("fhir-stores", "export", store, "--gcs-uri-prefix", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    lines = [
        json.loads(line) for f in sorted((tmp_path / "out").glob("*.ndjson")) for line in f.read_text().splitlines()
    ]
    assert sorted((r["resourceType"], r["id"]) for r in lines) == sorted(
        [(r["resourceType"], r["id"]) for r in resources] + [("Patient", "bundled-1")]
    )

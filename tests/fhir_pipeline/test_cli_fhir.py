"""`deidflow fhir-stores deidentify` and `sample fhir-store` through a subprocess, on a generated multi-patient store.

One module-scoped pair of runs (1 worker; 2 worker processes) over NDJSON files and a transaction Bundle backs
most tests: exit code and summary, PHI scan (base64 attachments decoded), R4 validity, referential integrity,
date shifts equal to the DICOM pipeline's for the same MRN, determinism. Then bad input and the R5 rule.
"""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import pytest

from pipelines.commands.sample_fhir import sample_files
from tests import oracles
from tests.conftest import error_records, run_cli, store_files, summary_from_stdout, write_store
from transforms.crypto import Keys
from transforms.fhir.sample import sample_bundle, sample_store
from transforms.fhir.validate import r4_errors

pytestmark = pytest.mark.pipeline
DATASET = "projects/p1/locations/us/datasets/ds"
SOURCE = f"{DATASET}/fhirStores/src"
DEST = f"{DATASET}/fhirStores/dst"
PARALLEL = f"{DATASET}/fhirStores/par"
KEY = b"F" * 32
REFERENCE_DATE = "2025-06-01"
PATIENTS, SEED, BUNDLE_PATIENTS, BUNDLE_SEED = 4, 3, 2, 11
DECIMAL_LINE = (
    '{"resourceType":"Observation","id":"dec-1","status":"final","code":{"text":"Glucose"},'
    '"valueQuantity":{"value":1.50,"unit":"mmol/L"}}'
)


def deidentify(root: Path, source: str, dest: str, *extra: str):
    return run_cli("fhir-stores", "deidentify", source, "--destination-store", dest, "--store-root", str(root),
                   *extra)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("fhir") / "stores"
    sample = run_cli("sample", "fhir-store", SOURCE, "--store-root", str(root), "--patients", str(PATIENTS),
                     "--seed", str(SEED))
    assert sample.returncode == 0, sample.stderr
    bundle, _ = sample_bundle(BUNDLE_PATIENTS, BUNDLE_SEED)
    src = root / SOURCE
    (src / "bundle.json").write_text(json.dumps(bundle))
    (src / "Observation-extra.ndjson").write_text(DECIMAL_LINE + "\n")
    key_file = root.parent / "run.key"
    key_file.write_text(base64.b64encode(KEY).decode())
    common = ("--key-file", str(key_file), "--reference-date", REFERENCE_DATE)
    first = deidentify(root, SOURCE, DEST, *common)
    parallel = deidentify(root, SOURCE, PARALLEL, *common, "--direct_num_workers", "2",
                          "--direct_running_mode", "multi_processing", "--in-process-below", "0")
    return root, first, parallel


def _inputs() -> list[dict]:
    bundle, _ = sample_bundle(BUNDLE_PATIENTS, BUNDLE_SEED)
    return sample_store(PATIENTS, SEED).resources + [e["resource"] for e in bundle["entry"]]


def _outputs(root: Path, store: str) -> list[dict]:
    out = []
    for name, data in store_files(root / store).items():
        assert name.endswith(".ndjson")
        out += [json.loads(line) for line in data.decode().splitlines()]
    return out


def test_sample_store_has_ndjson_per_type():
    files = sample_files(2, 0, "ndjson")
    assert {"Patient.ndjson", "Observation.ndjson", "DocumentReference.ndjson", "ImagingStudy.ndjson"} <= set(files)
    assert sum(data.count(b"\n") for data in files.values()) == len(sample_store(2, 0).resources)


def test_run_succeeds_with_a_summary(runs):
    root, first, _ = runs
    assert first.returncode == 0, first.stderr
    summary = summary_from_stdout(first.stdout)
    total = len(_inputs()) + 1
    assert summary["metadata"]["counter"] == {"success": str(total), "failure": "0"}
    assert summary["metadata"]["apiMethodName"].endswith("DeidentifyFhirStore")
    assert summary["deidflow"]["referenceDate"] == REFERENCE_DATE
    assert summary["deidflow"]["destinationCreated"] is True
    meta = json.loads((root / DEST / ".deidflow" / "store.json").read_text())
    assert meta["version"] == "R4" and meta["type"] == "fhirStores"
    assert len(_outputs(root, DEST)) == total
    assert error_records(root / DEST) == []


def test_progress_counts_resources_not_shard_files(runs):
    # Catches progress that counts what the write step emits (one path a shard file: 10 paths for 61 resources, so
    # a finished run said "10/61 (16%)") instead of the resources each de-identify output carries.
    root, first, parallel = runs
    src = root / SOURCE
    lines = sum(len(p.read_bytes().splitlines()) for p in src.glob("*.ndjson"))
    entries = len(json.loads((src / "bundle.json").read_text())["entry"])
    total = lines + entries
    for run in (first, parallel):
        last = [line for line in run.stderr.splitlines() if line.startswith("de-identify:")][-1]
        assert last.startswith(f"de-identify: {total:,}/{total:,} (100%)"), last


def test_no_known_phi_in_any_output_byte(runs):
    root, first, _ = runs
    phi = set(sample_store(PATIENTS, SEED).phi) | set(sample_bundle(BUNDLE_PATIENTS, BUNDLE_SEED)[1].phi)
    assert len(phi) > 40
    blobs = list(store_files(root / DEST).values())
    blobs += [p.read_bytes() for p in (root / DEST / ".deidflow").rglob("*") if p.is_file()]
    blobs.append(first.stdout.encode() + first.stderr.encode())
    for resource in _outputs(root, DEST):
        for content in resource.get("content", ()):
            if "data" in content.get("attachment", {}):
                blobs.append(base64.b64decode(content["attachment"]["data"]))
    assert any(b"[" in blob for blob in blobs[-2:])  # the text attachments survived, cleaned
    for blob in blobs:
        text = blob.decode("utf-8")
        leaked = [value for value in phi if value in text]
        assert not leaked, f"{len(leaked)} PHI strings leaked"


def test_every_output_resource_is_valid_r4(runs):
    root, _, _ = runs
    for resource in _outputs(root, DEST):
        assert r4_errors(resource) == [], resource["resourceType"]


def test_every_reference_resolves_within_the_output(runs):
    root, _, _ = runs
    outputs = _outputs(root, DEST)
    present = {f"{r['resourceType']}/{r['id']}" for r in outputs}
    found = []

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("reference"), str):
                found.append(value["reference"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(outputs)
    assert len(found) > 50
    assert [ref for ref in found if ref not in present] == []


def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text[:10])


def test_dates_shift_with_the_patients_mrn_as_dicom_does(runs):
    root, _, _ = runs
    keys = Keys(KEY)
    inputs = _inputs()
    mrns = {}
    for sample in (sample_store(PATIENTS, SEED), sample_bundle(BUNDLE_PATIENTS, BUNDLE_SEED)[1]):
        mrns.update(sample.mrns)
    by_new_id = {(r["resourceType"], r["id"]): r for r in _outputs(root, DEST)}
    checked = 0
    for original in inputs:
        ref = (original.get("subject") or {}).get("reference", "")
        pid = ref.rpartition(":")[2].rpartition("/")[2]
        if original["resourceType"] not in ("Encounter", "Observation", "Condition") or pid not in mrns:
            continue
        out = by_new_id[(original["resourceType"], oracles.keyed_fhir_id(keys, original["id"]))]
        shift = datetime.timedelta(days=oracles.days(keys, mrns[pid]))  # DICOM: keys.date_shift_days(PatientID)
        if original["resourceType"] == "Encounter":
            assert _day(out["period"]["start"]) - _day(original["period"]["start"]) == shift
        elif original["resourceType"] == "Condition":
            assert _day(out["recordedDate"]) - _day(original["recordedDate"]) == shift
        else:
            assert _day(out["effectiveDateTime"]) - _day(original["effectiveDateTime"]) == shift
            assert out["effectiveDateTime"][10:] == original["effectiveDateTime"][10:]  # time and zone kept
        checked += 1
    assert checked == 4 * (PATIENTS + BUNDLE_PATIENTS)
    for original in inputs:  # ImagingStudy keeps its link to the DICOM study: the DICOM pipeline's UID function
        if original["resourceType"] == "ImagingStudy":
            out = by_new_id[("ImagingStudy", oracles.keyed_fhir_id(keys, original["id"]))]
            uid = original["identifier"][0]["value"][len("urn:oid:"):]
            assert out["identifier"][0]["value"] == "urn:oid:" + oracles.keyed_uid(keys, uid)


def test_decimals_keep_their_written_form(runs):
    root, _, _ = runs
    text = b"".join(store_files(root / DEST).values())
    assert b'"valueQuantity":{"value":1.50,"unit":"mmol/L"}' in text


def test_deterministic_across_runs_and_worker_counts(runs):
    root, first, parallel = runs
    assert parallel.returncode == 0, parallel.stderr
    reference = store_files(root / DEST)
    assert len(reference) == 10
    assert store_files(root / PARALLEL) == reference
    for data in reference.values():  # sorted by new id within each shard
        ids = [json.loads(line)["id"] for line in data.decode().splitlines()]
        assert ids == sorted(ids)


def test_keyed_patient_join_writes_the_same_store(runs):
    root, first, _ = runs
    key_file = root.parent / "run.key"
    keyed = deidentify(root, SOURCE, f"{DATASET}/fhirStores/keyed", "--key-file", str(key_file), "--reference-date",
                       REFERENCE_DATE, "--patient-join", "keyed", "--quiet")
    assert keyed.returncode == 0, keyed.stderr
    assert summary_from_stdout(keyed.stdout)["deidflow"]["patientJoin"] == "keyed"
    assert store_files(root / f"{DATASET}/fhirStores/keyed") == store_files(root / DEST)
    bad = deidentify(root, SOURCE, f"{DATASET}/fhirStores/never", "--patient-join", "hash")
    assert bad.returncode == 2 and "--patient-join" in bad.stderr
    assert not (root / f"{DATASET}/fhirStores/never").exists()


BAD_LINES = [
    b'{"resourceType": "Observation", "id": "Zebediah Quackenbush',  # 2: malformed
    b"[1, 2, 3]",  # 3: not an object
    b'{"id": "no-type", "status": "Zebediah Quackenbush"}',  # 4: no resourceType
    b'{"resourceType": "Frobnicator", "id": "x"}',  # 5: not an R4 type
    b'{"resourceType": "Observation", "id": "bad-field", "status": "final", "code": {"text": "x"}, '
    b'"zebediahQuackenbush": 1}',  # 6: fails de-identification
    b"",  # 7: blank: not a resource
    b'{"resourceType": "Observation", "id": "good-1", "status": "final", "code": {"text": "x"}}',  # 8: a duplicate
]


def test_bad_input_is_accounted_for_line_by_line(tmp_path):
    root = tmp_path / "stores"
    good = b'{"resourceType": "Observation", "id": "good-1", "status": "final", "code": {"text": "x"}}'
    write_store(root, SOURCE, {
        "Observation.ndjson": b"\n".join([good] + BAD_LINES) + b"\n",
        "Patient.ndjson": b'{"resourceType": "Patient", "id": "p1", "gender": "male"}\n',
        "broken.json": b'{"resourceType": "Bundle", "type": "transaction", "entry": [',
        "readme.txt": b"Zebediah Quackenbush",
    })  # fmt: skip
    proc = deidentify(root, SOURCE, DEST, "--reference-date", REFERENCE_DATE)
    assert proc.returncode == 3, proc.stderr
    summary = summary_from_stdout(proc.stdout)
    # line 8 copies line 1: one resource per type and id, the copy a success, collapsed (issue 17), not an error
    assert summary["metadata"]["counter"] == {"success": "3", "failure": "7"}
    assert summary["deidflow"]["collapsedCopies"] == "1"
    records = error_records(root / DEST)
    names = sorted(r["resource_name"] for r in records)
    assert names == sorted([f"Observation.ndjson:{n}" for n in (2, 3, 4, 5, 6)] + ["broken.json", "readme.txt"])
    codes = {r["resource_name"]: r["error"]["code"] for r in records}
    assert codes["Observation.ndjson:6"] == "INVALID_ARGUMENT" and "ALREADY_EXISTS" not in codes.values()
    written = _outputs(root, DEST)
    assert sorted(r["resourceType"] for r in written) == ["Observation", "Patient"]
    everything = json.dumps(records) + proc.stdout + proc.stderr + json.dumps(written)
    # the unknown field's name (line 6, a key, not a value) may be named in its error message; the values may
    # not, in any case (a capitalised name is never in a lower-cased string: compare lower with lower)
    lowered = everything.replace("zebediahQuackenbush", "").lower()
    assert "zebediah" not in lowered and "quackenbush" not in lowered


def test_r5_store_is_rejected_at_launch_and_nothing_is_written(tmp_path):
    root = tmp_path / "stores"
    write_store(root, SOURCE, {"Patient.ndjson": b'{"resourceType": "Patient", "id": "p1"}\n',
                               ".deidflow/store.json": b'{"type": "fhirStores", "fhirVersion": "R5"}'})
    proc = deidentify(root, SOURCE, DEST)
    assert proc.returncode == 2
    assert "R5" in proc.stderr and "not supported" in proc.stderr
    assert not (root / DEST).exists()

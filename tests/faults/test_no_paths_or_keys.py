"""Records carry no absolute paths and no unknown keys from data (issue 18 item 8): every file a run writes under
the store root (summaries, reports, error records, findings, store.json) names run folders below the store root,
and an unknown FHIR key planted in a source resource is named nowhere (records, reports, stdout, logs)."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import DATASET, DEST, SOURCE, REPO, run_cli, summary_from_stdout, write_store
from transforms.dicom.sample import sample_store_files
from transforms.fhir.sample import sample_store

pytestmark = pytest.mark.pipeline

EHR = f"{DATASET}/fhirStores/ehr"
EHR_DEID = f"{DATASET}/fhirStores/ehr-deid"
OUT = "projects/p1/locations/us/datasets/out"
IMPORTED = f"{DATASET}/dicomStores/imported"
PLANTED_KEY = "Doe_Jane_MRN555"  # a key of a FHIR resource, PHI-like: no element of R4


def _fhir_store(root) -> None:
    lines: dict[str, list[str]] = {}
    for resource in sample_store(2).resources:
        lines.setdefault(resource["resourceType"], []).append(json.dumps(resource))
    patient = json.loads(lines["Patient"][0])
    patient[PLANTED_KEY] = 1  # top level
    lines["Patient"][0] = json.dumps(patient)
    second = json.loads(lines["Patient"][1])
    second["name"][0][PLANTED_KEY + "_nested"] = "x"  # inside an element
    lines["Patient"][1] = json.dumps(second)
    write_store(root, EHR, {f"{rtype}.ndjson": ("\n".join(rows) + "\n").encode() for rtype, rows in lines.items()})
    (root / EHR / ".deidflow").mkdir()
    (root / EHR / ".deidflow" / "store.json").write_text(json.dumps({"type": "fhirStores", "version": "R4"}))


def _written(root) -> dict[str, bytes]:
    """Every file below the store root that deidflow wrote (the source stores' data left out)."""
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            if relative.startswith((SOURCE + "/", EHR + "/")) and "/.deidflow/" not in relative[len(EHR):]:
                continue
            with open(path, "rb") as handle:
                out[relative] = handle.read()
    return out


def test_run_records_hold_no_absolute_path_and_no_unknown_key(tmp_path, key_file):
    # Catches summary.json's runDir/logsUrl (and verify's runDir) holding the absolute run folder, and a FHIR error
    # message spelling out an unknown key of the data ("Patient.Doe_Jane_MRN555: not a FHIR R4 element").
    root = tmp_path / "stores"
    files = {f"in/{i}.dcm": data for i, (_, data) in
             enumerate(sample_store_files(patients=2, studies=1, series=1, instances=1))}
    files["in/not-dicom.dcm"] = b"not a DICOM file"  # one error record
    write_store(root, SOURCE, files)
    _fhir_store(root)
    incoming = tmp_path / "MRN1234567"  # an import source outside the store root, PHI in its path
    incoming.mkdir()
    (incoming / "Smith_John_19650312.dcm").write_bytes(b"not DICOM either")
    (incoming / "ok.dcm").write_bytes(files["in/0.dcm"])
    created = run_cli("dicom-stores", "create", IMPORTED, "--store-root", str(root))
    assert created.returncode == 0, created.stderr
    common = ("--store-root", str(root), "--key-file", str(key_file))
    runs = [
        run_cli("dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, "--quiet", *common),
        run_cli("fhir-stores", "deidentify", EHR, "--destination-store", EHR_DEID, "--quiet", *common),
        run_cli("datasets", "deidentify", DATASET, "--destination-dataset", OUT, "--quiet", *common),
        run_cli("verify", EHR, EHR_DEID, "--quiet", *common),
        run_cli("runs", "list", DEST, "--json", "--store-root", str(root)),
        run_cli("dicom-stores", "import", IMPORTED, "--gcs-uri", str(incoming), "--store-root", str(root)),
    ]
    assert [p.returncode for p in runs] == [3, 3, 3, 0, 0, 3], [p.stderr[-1500:] for p in runs]

    summary = summary_from_stdout(runs[0].stdout)
    run_dir = summary["deidflow"]["runDir"]
    assert run_dir.startswith(DEST + "/.deidflow/runs/") and (root / run_dir / "summary.json").is_file()
    assert summary["metadata"]["logsUrl"] == run_dir + "/errors*.ndjson"
    assert json.loads(runs[4].stdout)[0]["runDir"] == run_dir

    written = _written(root)
    kinds = {name.rsplit("/", 1)[-1].split("-")[0] for name in written if "/.deidflow/runs/" in name}
    assert {"summary.json", "report.html", "errors"} <= kinds  # every kind of record was written and is checked
    assert any(name.endswith(".deidflow/store.json") for name in written)
    errors = [json.loads(line) for name, data in written.items() if name.rsplit("/", 1)[-1].startswith("errors")
              for line in data.decode().splitlines() if line.strip()]
    assert sum("unknown element" in e["error"]["message"] for e in errors) >= 2  # the planted keys, counted
    for absolute in {str(tmp_path), os.path.realpath(tmp_path), str(REPO)}:
        assert [name for name, data in written.items() if absolute.encode() in data] == []
    for name, data in written.items():
        # the import source's folder is outside the store root: named nowhere (its files: source-relative)
        assert PLANTED_KEY.encode() not in data and b"MRN1234567" not in data, name
    for proc in runs:
        assert PLANTED_KEY not in proc.stdout + proc.stderr

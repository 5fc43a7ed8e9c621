"""Issue 17 on third-party R4 data (Microsoft's anonymizer test resources, MIT: see data/msft_anonymizer_r4/README):
through ``fhir-stores deidentify`` with the default config, every resource is written (none rejected as "not R4"),
valid wherever its input was, the Account holder's name gone from every string."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import error_records, run_cli, store_files, summary_from_stdout, write_store
from transforms.fhir.validate import r4_errors

pytestmark = pytest.mark.pipeline
DATA = Path(__file__).parent / "data" / "msft_anonymizer_r4"
DATASET = "projects/p1/locations/us/datasets/ds"
SOURCE = f"{DATASET}/fhirStores/src"
DEST = f"{DATASET}/fhirStores/dst"


def test_third_party_r4_resources_deidentify_valid_and_clean(tmp_path):
    # broken code caught: MedicinalProduct rejected as not R4 (item 3); Account.name kept (item 8); Account
    # (subject 0..*) not linked to Patient/example (item 4)
    inputs = {p.name: json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))}
    assert {n: r4_errors(r) for n, r in inputs.items()} == {n: [] for n in inputs}
    patient = {"resourceType": "Patient", "id": "example",
               "name": [{"family": "Chalmers", "given": ["Peter", "James"]}]}
    ndjson = b"".join(json.dumps(r).encode() + b"\n" for r in [patient, *inputs.values()])
    root = tmp_path / "stores"
    write_store(root, SOURCE, {"all.ndjson": ndjson})
    proc = run_cli("fhir-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root))
    assert proc.returncode == 0, proc.stderr
    assert summary_from_stdout(proc.stdout)["metadata"]["counter"] == {"success": "4", "failure": "0"}
    assert error_records(root / DEST) == []
    out = [json.loads(line) for data in store_files(root / DEST).values() for line in data.splitlines()]
    assert sorted(r["resourceType"] for r in out) == ["Account", "Claim", "MedicinalProduct", "Patient"]
    assert {r["resourceType"]: r4_errors(r) for r in out if r4_errors(r)} == {}
    text = json.dumps(out)
    assert "Chalmers" not in text and "Peter" not in text
    (product,) = [r for r in out if r["resourceType"] == "MedicinalProduct"]
    assert product["name"][0]["productName"] == "Equilidem 2.5 mg film-coated tablets"
    assert "DocumentReference/example" not in product["text"]["div"]  # narrative references rewritten (item 8)

"""Issue 17: in a dataset run the DICOM stores' identifiers are context for the FHIR patient they belong to. A note
quoting a DICOM AccessionNumber (or other patient id) that no FHIR resource holds is cleaned to ``[CTX]`` in that
patient's texts, linked as a hospital links them: DICOM PatientID = a FHIR Patient identifier value, or DICOM
AccessionNumber = an ImagingStudy identifier of the patient. Another patient's texts keep the value."""

from __future__ import annotations

import json

import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence

from pipelines.dataset_context import dicom_identifiers
from tests.conftest import run_cli, store_files, summary_from_stdout, write_store
from transforms.dicom.sample import SamplePatient, sample_instance

pytestmark = pytest.mark.pipeline

SRC = "projects/p1/locations/us/datasets/src"
DST = "projects/p1/locations/us/datasets/dst"


def _instance(patient: int, patient_id: str, accession: str, other_id: str) -> bytes:
    import pydicom

    ds = pydicom.dcmread(DicomBytesIO(sample_instance(SamplePatient(patient))))
    ds.PatientID = patient_id
    ds.AccessionNumber = accession
    other = Dataset()
    other.PatientID = other_id
    other.IssuerOfPatientID = "Old Hospital"
    ds.OtherPatientIDsSequence = Sequence([other])
    out = DicomBytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def _report(rid: str, patient: str, conclusion: str) -> dict:
    return {"resourceType": "DiagnosticReport", "id": rid, "status": "final", "code": {"text": "CT"},
            "subject": {"reference": f"Patient/{patient}"}, "conclusion": conclusion}


def _ndjson(*resources: dict) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in resources)


def test_dicom_header_identifiers():
    # broken code caught: OtherPatientIDsSequence or AccessionNumber left out; short values made phrases
    ds = Dataset()
    ds.PatientID = "QX-88120-MRN"
    ds.AccessionNumber = "XR4471Q"
    ds.OtherPatientIDs = ["OLD-1", "AB"]
    other = Dataset()
    other.PatientID = "OLDMRN-3318"
    ds.OtherPatientIDsSequence = Sequence([other])
    assert dicom_identifiers(ds) == ("PatientID\x00QX-88120-MRN",
                                     ("QX-88120-MRN", "OLD-1", "AB", "OLDMRN-3318", "XR4471Q"),
                                     ("QX-88120-MRN", "OLD-1", "OLDMRN-3318", "XR4471Q"))
    assert dicom_identifiers(Dataset()) is None


def test_dicom_identifiers_are_context_for_their_fhir_patients_texts(tmp_path):
    # broken code caught: a dataset run that takes context phrases from FHIR only (the DICOM AccessionNumber, in
    # no FHIR resource, kept in the patient's report); phrases given to every patient instead of the linked one
    root = tmp_path / "stores"
    # Patient 1: DICOM PatientID = its FHIR MRN. Patient 2: linked by the accession number of its ImagingStudy.
    write_store(root, f"{SRC}/dicomStores/img", {
        "a/1.dcm": _instance(0, "QX-88120-MRN", "XR4471Q", "OLDMRN-3318"),
        "b/1.dcm": _instance(1, "UNLINKED-77", "ACC-LINK-3", "ZJ5521W"),
    })
    p1 = {"resourceType": "Patient", "id": "p1", "identifier": [
        {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
         "value": "QX-88120-MRN"}]}
    p2 = {"resourceType": "Patient", "id": "p2"}
    study = {"resourceType": "ImagingStudy", "id": "is2", "status": "available",
             "subject": {"reference": "Patient/p2"}, "identifier": [{"value": "ACC-LINK-3"}]}
    write_store(root, f"{SRC}/fhirStores/ehr", {
        "Patient.ndjson": _ndjson(p1, p2),
        "ImagingStudy.ndjson": _ndjson(study),
        "DiagnosticReport.ndjson": _ndjson(
            _report("r1", "p1", "Compared with prior study XR4471Q; outside id OLDMRN-3318, no change."),
            _report("r2", "p2", "Also seen: XR4471Q. Old ids ZJ5521W and UNLINKED-77, order ACC-LINK-3.")),
    })
    proc = run_cli("datasets", "deidentify", SRC, "--destination-dataset", DST, "--store-root", str(root))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert summary_from_stdout(proc.stdout)["metadata"]["counter"] == {"success": "7", "failure": "0"}
    out = [json.loads(line) for data in store_files(root / DST / "fhirStores" / "ehr").values()
           for line in data.splitlines()]
    conclusions = sorted(r["conclusion"] for r in out if r["resourceType"] == "DiagnosticReport")
    assert conclusions == [
        "Also seen: XR4471Q. Old ids [CTX] and [CTX], order [CTX].",
        "Compared with prior study [CTX]; outside id [CTX], no change.",
    ]


@pytest.mark.parametrize("join", ["side", "keyed"])
def test_both_joins_add_the_linked_dicom_phrases(tmp_path, join):
    # broken code caught: the DICOM phrases joined in one join mode only (the keyed join flattens the Patient
    # join info with the resources; the side join packs it into the side input)
    import datetime

    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline

    from pipelines.dataset_context import LinkDicomContext
    from pipelines.fhir.branch import add_fhir_store_branch
    from transforms.crypto import Keys
    from transforms.fhir import compile_fhir_policy

    src = write_store(tmp_path, "src", {"all.ndjson": _ndjson(
        {"resourceType": "Patient", "id": "p1", "identifier": [{"value": "QX-88120-MRN"}]},
        _report("r1", "p1", "Prior XR4471Q."), _report("r2", "p9", "Prior XR4471Q."))})
    dest = tmp_path / f"dst-{join}"
    dest.mkdir()
    policy = compile_fhir_policy(None, reference_date=datetime.date(2025, 6, 1))
    with TestPipeline() as p:
        links = p | beam.Create([("QX-88120-MRN", ("QX-88120-MRN", "XR4471Q")), ("XR4471Q", ("XR4471Q",))])
        add_fhir_store_branch(p, str(src), str(dest), str(dest / ".deidflow" / "runs" / "r"), policy,
                              Keys(b"j" * 32), join=join, patient_context=LinkDicomContext(links))
    out = [json.loads(line) for data in store_files(dest).values() for line in data.splitlines()]
    assert sorted(r["conclusion"] for r in out if r["resourceType"] == "DiagnosticReport") == [
        "Prior XR4471Q.", "Prior [CTX]."]

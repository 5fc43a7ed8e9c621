"""Collection and scanning on generated data: default-config output is clean; planted leaks are found and located."""

from __future__ import annotations

import base64
import copy

from tests.verify import helpers
from transforms.dicom.sample import SamplePatient
from transforms.verify import IdentifierMatcher, dicom_identifiers, fhir_identifiers, scan_dicom_instance
from transforms.verify.scan import scan_fhir_resource, scan_record


def dicom_matcher(files, keys):
    ids = [i for data in files.values() for i in dicom_identifiers(data, keys)]
    return IdentifierMatcher(ids)


def scan_all(outputs, matcher):
    return [f for path, data in outputs.items() for f in scan_dicom_instance(data, matcher, path)]


def test_default_dicom_output_is_clean_and_the_source_is_not():
    keys = helpers.keys()
    files = helpers.source_dicom_files()
    matcher = dicom_matcher(files, keys)
    assert scan_all(helpers.deidentify_dicom(files, keys), matcher) == []
    categories = {f.category for f in scan_all(files, matcher)}
    assert categories >= {"PERSON_NAME", "ID", "DATE", "UID", "ADDRESS", "PHONE", "INSTITUTION", "PRIVATE_TEXT"}


def test_planted_dicom_leaks_are_found_and_located_without_values():
    keys = helpers.keys()
    files = helpers.source_dicom_files()
    matcher = dicom_matcher(files, keys)
    outputs = helpers.deidentify_dicom(files, keys)
    paths = sorted(outputs)
    patient = SamplePatient(0)
    # find an output instance of patient 0 (its study UID maps back to patient 0's scope)
    target = next(p for p in paths if p.startswith(keys.uid(patient.study_uid(0))))
    other = next(p for p in paths if not p.startswith(keys.uid(patient.study_uid(0))))
    outputs[target] = helpers.plant_private_name(outputs[target], f"{patient.family}^{patient.given}")
    outputs[other] = helpers.plant_nested_id(outputs[other], SamplePatient(1).patient_id)
    target_data = helpers.plant_comment(outputs[target], "Patient born 03/14/1961, seen today")
    findings = scan_dicom_instance(target_data, matcher, target)
    located = {(f.category, f.location) for f in findings}
    assert ("PERSON_NAME", "(0011,1001)") in located
    assert ("DATE", "ImageComments (0020,4000)") in located
    nested = scan_dicom_instance(outputs[other], matcher, other)
    path = "ContentSequence (0040,A730)[0] > ConceptNameCodeSequence (0040,A043)[0] > CodeMeaning (0008,0104)"
    assert ("ID", path) in {(f.category, f.location) for f in nested}
    assert {f.location for f in nested} == {path}  # (the same value was also in a private source element)
    for f in findings + nested:
        text = " ".join(f)
        for value in patient.phi_strings() + SamplePatient(1).phi_strings() + ["03/14/1961", helpers.BIRTH]:
            assert value not in text


def test_birth_date_of_another_patient_is_not_residue_when_the_patient_is_known():
    keys = helpers.keys()
    files = helpers.source_dicom_files()
    matcher = dicom_matcher(files, keys)
    outputs = helpers.deidentify_dicom(files, keys)
    patient = SamplePatient(0)
    other = next(p for p in outputs if not p.startswith(keys.uid(patient.study_uid(0))))
    planted = helpers.plant_comment(outputs[other], "date 03/14/1961")
    assert scan_dicom_instance(planted, matcher, other) == []
    unknown = IdentifierMatcher([i for d in files.values() for i in dicom_identifiers(d, None)])  # no key: global
    assert [f.category for f in scan_dicom_instance(planted, unknown, other)] == ["DATE"]


def test_default_fhir_output_is_clean_and_planted_fhir_leaks_are_found():
    keys = helpers.keys()
    sample = helpers.fhir_source()
    matcher = IdentifierMatcher([i for r in sample.resources for i in fhir_identifiers(r, keys)])
    out = helpers.deidentify_fhir(sample.resources, keys)
    assert [f for r in out for f in scan_fhir_resource(r, matcher)] == []
    patient = next(r for r in sample.resources if r["resourceType"] == "Patient")
    mrn = patient["identifier"][0]["value"]
    phone = patient["telecom"][0]["value"]
    family = patient["name"][0]["family"]
    leaked = copy.deepcopy(next(r for r in out if r["resourceType"] == "Patient"))
    leaked["extension"] = [{"url": "http://example.org/mrn", "valueString": f"old id {mrn}"}]
    leaked["text"] = {"status": "generated",
                      "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>Seen: <b>{family}</b></p></div>'}
    leaked["photo"] = [{"contentType": "text/plain", "data": base64.b64encode(f"call {phone}".encode()).decode()}]
    located = {(f.category, f.location) for f in scan_fhir_resource(leaked, matcher)}
    assert ("ID", "extension[0].valueString") in located
    assert ("PERSON_NAME", "text.div (narrative text)") in located
    assert ("PHONE", "photo[0].data (base64-decoded)") in located


def test_run_records_are_searched_but_not_for_dates():
    keys = helpers.keys()
    files = helpers.source_dicom_files()
    matcher = dicom_matcher(files, keys)
    patient = SamplePatient(1)
    record = f'{{"resource_name": "x", "note": "{patient.patient_id}"}}\n{{"t": "{patient.birth_date}"}}\n'.encode()
    findings = scan_record(record, matcher, ".deidflow/runs/r/errors.ndjson")
    assert {(f.category, f.location) for f in findings} == {("ID", "line 1"), ("PRIVATE_TEXT", "line 1")}

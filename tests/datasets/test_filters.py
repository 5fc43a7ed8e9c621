"""Filters: the DICOM resource-path list (each line form, bad lines), path vs header matching, the FHIR filter."""

from __future__ import annotations

import argparse
import datetime
import io

import pytest

from pipelines.filters import DicomFilter, FhirFilter, fhir_filter_from_args, parse_dicom_filter, parse_fhir_resources
from pipelines.stores.dicom import path_selected as dicom_path_selected
from pipelines.stores.dicom import uids_from_header
from pipelines.stores.dicom import uids_from_path as uids_from_layout_path
from transforms.dicom.sample import SamplePatient, sample_instance
from transforms.errors import LaunchError


def test_each_line_form_selects_what_it_names():
    f = parse_dicom_filter("/studies/1.1\r\n/studies/2.1/series/2.2\n\n/studies/3.1/series/3.2/instances/3.3\n")
    assert f == DicomFilter(frozenset({"1.1"}), frozenset({("2.1", "2.2")}), frozenset({("3.1", "3.2", "3.3")}))
    assert f.selects("1.1", "9", "9")  # a study line: every series and instance of it
    assert f.selects("2.1", "2.2", "9") and not f.selects("2.1", "2.9", "9")
    assert f.selects("3.1", "3.2", "3.3") and not f.selects("3.1", "3.2", "3.4")
    assert not f.selects("4.1", "4.2", "4.3")


@pytest.mark.parametrize(
    "line",
    [
        "studies/1.2",
        "/studies/",
        "/study/1.2",
        "/studies/1.2/instances/3",
        "/studies/1.2/series/",
        "/studies/1.2/series/3/instances/4/frames/1",
        "/studies/1 2",
        "1.2.3",
    ],
)
def test_a_bad_line_is_a_launch_error_naming_its_number(line):
    with pytest.raises(LaunchError) as err:
        parse_dicom_filter(f"/studies/1.1\n\n{line}\n/studies/2.2\n")
    assert "line 3" in str(err.value)
    assert "1.2" not in str(err.value) and "1 2" not in str(err.value)  # the line is not echoed


def test_an_empty_filter_is_a_launch_error():
    with pytest.raises(LaunchError):
        parse_dicom_filter("\n\n")


def test_layout_paths_are_matched_by_path_other_files_by_header(tmp_path):
    patient = SamplePatient(0)
    data = sample_instance(patient, 0, 0, 0)
    study, series, sop = patient.study_uid(0), patient.series_uid(0, 0), patient.sop_uid(0, 0, 0)
    assert uids_from_layout_path(f"{study}/{series}/{sop}.dcm") == (study, series, sop)
    assert uids_from_layout_path(f"x/{study}/{series}/{sop}.dcm") is None
    assert uids_from_layout_path("a/b/c.dcm") is None
    assert uids_from_header(io.BytesIO(data)) == (study, series, sop)
    plain = tmp_path / "scans" / "img0001"
    plain.parent.mkdir()
    plain.write_bytes(data)
    assert dicom_path_selected(str(plain), str(tmp_path), parse_dicom_filter(f"/studies/{study}"))
    assert not dicom_path_selected(str(plain), str(tmp_path), parse_dicom_filter("/studies/9.9"))
    # A layout path is trusted without reading the file (here the file does not even exist).
    ghost = tmp_path / "9.9" / "9.8" / "9.7.dcm"
    assert dicom_path_selected(str(ghost), str(tmp_path), parse_dicom_filter("/studies/9.9/series/9.8"))
    assert not dicom_path_selected(str(ghost), str(tmp_path), parse_dicom_filter("/studies/9.1"))
    # An unreadable file is passed on so that the de-identify step records its error.
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not dicom")
    assert dicom_path_selected(str(junk), str(tmp_path), parse_dicom_filter("/studies/9.9"))


START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def test_fhir_resource_list_filter():
    f = FhirFilter(parse_fhir_resources(["Patient/1", " Observation/a-b.c "], "--fhir-resources"))
    assert f.keeps({"resourceType": "Patient", "id": "1"})
    assert f.keeps({"resourceType": "Observation", "id": "a-b.c"})
    assert not f.keeps({"resourceType": "Patient", "id": "2"})
    assert not f.keeps({"resourceType": "Encounter", "id": "1"})


@pytest.mark.parametrize("bad", ["Patient", "patient/1", "Patient/", "Patient/1/_history/2", "Patient/a b"])
def test_bad_fhir_resource_names_are_launch_errors(bad):
    with pytest.raises(LaunchError) as err:
        parse_fhir_resources(["Patient/1", bad], "--fhir-resources")
    assert "entry 2" in str(err.value)


def test_skip_modified_resources_by_last_updated_then_file_time():
    f = FhirFilter(modified_after=START)
    before, after = "2025-12-31T23:59:59Z", "2026-01-01T00:00:01+00:00"
    assert f.keeps({"resourceType": "Patient", "id": "1", "meta": {"lastUpdated": before}})
    assert not f.keeps({"resourceType": "Patient", "id": "1", "meta": {"lastUpdated": after}})
    # meta.lastUpdated wins over the file's time
    assert f.keeps(
        {"resourceType": "Patient", "id": "1", "meta": {"lastUpdated": before}}, file_mtime=START.timestamp() + 60
    )
    assert not f.keeps({"resourceType": "Patient", "id": "1"}, file_mtime=START.timestamp() + 60)
    assert f.keeps({"resourceType": "Patient", "id": "1"}, file_mtime=START.timestamp() - 60)
    assert f.keeps({"resourceType": "Patient", "id": "1"})  # nothing to tell: kept, never lost


def test_fhir_filter_from_flags(tmp_path):
    listing = tmp_path / "resources.txt"
    listing.write_text("Patient/1\nEncounter/2\n")
    args = argparse.Namespace(fhir_resources=None, fhir_resources_file=str(listing), skip_modified_resources=True)
    f = fhir_filter_from_args(args, START)
    assert f.resources == {"Patient/1", "Encounter/2"} and f.modified_after == START
    none = argparse.Namespace(fhir_resources=None, fhir_resources_file=None, skip_modified_resources=False)
    assert fhir_filter_from_args(none, START) is None
    both = argparse.Namespace(
        fhir_resources="Patient/1", fhir_resources_file=str(listing), skip_modified_resources=False
    )
    with pytest.raises(LaunchError):
        fhir_filter_from_args(both, START)

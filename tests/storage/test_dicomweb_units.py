"""DICOMweb pieces without a server: multipart coding, endpoint URLs, the launch rules that come before any request."""

from __future__ import annotations

import pytest

from pipelines.launch import plan_store_deidentify
from pipelines.stores.dicomweb import DicomWebEndpoint, decode_multipart, encode_multipart, rpc_code
from transforms.errors import LaunchError

HC = "https://healthcare.googleapis.com/v1/projects/{p}/locations/{l}/datasets/d/dicomStores/{s}/dicomWeb"


def test_multipart_round_trip_keeps_bytes_exactly():
    parts = [b"DICM\r\n--not-a-boundary\r\n\r\n\x00\xff", b"", b"\r\n" * 3, bytes(range(256))]
    body = encode_multipart(parts, "b0undary")
    assert decode_multipart(body, 'multipart/related; type="application/dicom"; boundary="b0undary"') == parts
    assert decode_multipart(body, "multipart/related; boundary=b0undary") == parts
    with pytest.raises(ValueError):
        decode_multipart(body, "multipart/related")


def test_endpoints_and_healthcare_store_names():
    assert DicomWebEndpoint.parse("http://127.0.0.1:8042/dicom-web/", "--x").url == "http://127.0.0.1:8042/dicom-web"
    assert DicomWebEndpoint.parse("http://pacs/dicom-web", "--x").healthcare_store is None
    url = HC.format(p="p1", l="us", s="s1")
    assert DicomWebEndpoint.parse(url, "--x").healthcare_store == "projects/p1/locations/us/datasets/d/dicomStores/s1"
    for bad in ("ftp://pacs/dicom-web", "pacs:8042", "", "https://healthcare.googleapis.com/v1/projects/p1"):
        with pytest.raises(LaunchError, match="--x"):
            DicomWebEndpoint.parse(bad, "--x")


def test_http_status_to_rpc_code():
    assert [rpc_code(s) for s in (400, 403, 404, 409, 429, 500, 503, 418)] == [
        "INVALID_ARGUMENT", "PERMISSION_DENIED", "NOT_FOUND", "ALREADY_EXISTS", "RESOURCE_EXHAUSTED",
        "UNAVAILABLE", "UNAVAILABLE", "FAILED_PRECONDITION"]


@pytest.mark.parametrize("source_store,source_url,destination_store,destination_url,message", [
    (None, HC.format(p="p1", l="us", s="a"), None, HC.format(p="p2", l="us", s="b"), "project"),
    (None, HC.format(p="p1", l="us", s="a"), None, HC.format(p="p1", l="eu", s="b"), "location"),
    ("projects/p1/locations/us/datasets/d/dicomStores/a", None, None, HC.format(p="p9", l="us", s="b"), "project"),
    (None, HC.format(p="p1", l="us", s="a"), "projects/p1/locations/eu/datasets/d/dicomStores/b", None, "location"),
    (None, HC.format(p="p1", l="us", s="a"), None, HC.format(p="p1", l="us", s="a"), "differ"),
    (None, "http://pacs/dicom-web", None, "http://pacs/dicom-web/", "differ"),
    ("projects/p1/locations/us/datasets/d/dicomStores/a", "http://pacs/dicom-web", None, "http://x/dw", "not both"),
    (None, None, None, "http://x/dw", "required"),
])
def test_launch_rules_before_any_request(tmp_path, source_store, source_url, destination_store, destination_url,
                                         message):
    with pytest.raises(LaunchError, match=message):
        plan_store_deidentify("dicomStores", source_store, destination_store, str(tmp_path), None, None,
                              source_url=source_url, destination_url=destination_url)
    assert list(tmp_path.iterdir()) == []

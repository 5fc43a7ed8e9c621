"""Burned-in text redaction inside deidentify_instance: routing, pixels, transfer syntax, and the tag profile after."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from pydicom import uid as uids

from tests.image.synth import PATIENT_ID, make_case, to_bytes
from tests.image.test_redactor import GroundTruthDetector
from transforms.config import parse_config
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.errors import DeidentifyError

KEYS = Keys(b"i" * 32)
SENSITIVE = {"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT"}}}}


def _run(case, config):
    policy = compile_dicom_policy(parse_config(config))
    result = deidentify_instance(to_bytes(case.ds), policy, KEYS, GroundTruthDetector(case.texts))
    return result, pydicom.dcmread(io.BytesIO(result.data))


def test_sensitive_text_is_painted_and_the_tags_are_still_de_identified():
    case = make_case(rows=256, columns=256)
    result, out = _run(case, SENSITIVE)
    source = case.ds.pixel_array
    pixels = out.pixel_array
    assert result.boxes_painted == len(case.boxes("phi"))
    for box in case.boxes("phi"):
        assert (pixels[box.y0:box.y1, box.x0:box.x1] == source.min()).all(), "a PHI box is not painted"
    mask = np.ones(source.shape, bool)
    for box in case.boxes("phi"):
        mask[max(0, box.y0 - 3):box.y1 + 3, max(0, box.x0 - 3):box.x1 + 3] = False
    assert np.array_equal(pixels[mask], source[mask]), "pixels outside the boxes changed"
    assert out.BurnedInAnnotation == "NO"
    assert out.PatientID != PATIENT_ID and out.PatientName in (None, "")
    assert out.file_meta.TransferSyntaxUID == uids.ExplicitVRLittleEndian and not result.transfer_syntax_changed
    assert "113101" in [item.CodeValue for item in out.DeidentificationMethodCodeSequence]


def test_clean_image_tag_action_and_the_v1_image_block_route_the_same_way():
    case = make_case(rows=128, columns=128)
    for config in ({"dicomTagConfig": {"actions": [{"queries": ["PixelData"],
                                                    "cleanImageTag": {"textRedactionMode": "REDACT_ALL_TEXT"}}]}},
                   {"dicom": {"filterProfile": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"},
                    "image": {"textRedactionMode": "REDACT_ALL_TEXT"}}):
        result, _ = _run(case, config)
        assert result.boxes_painted == len([t for t in case.texts if t.text != "L"])


def test_lossy_sources_are_written_uncompressed_and_say_so():
    case = make_case(rows=128, columns=128, syntax=uids.JPEGBaseline8Bit)
    result, out = _run(case, SENSITIVE)
    assert result.transfer_syntax_changed
    assert out.file_meta.TransferSyntaxUID == uids.ExplicitVRLittleEndian
    assert out.pixel_array.shape == (128, 128)


def test_a_later_delete_action_beats_clean_image_and_no_ocr_runs():
    case = make_case(rows=64, columns=64)
    config = {"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}},
                                 "actions": [{"queries": ["PixelData"], "deleteTag": {}}]}}
    detector = GroundTruthDetector(case.texts)
    out = deidentify_instance(to_bytes(case.ds), compile_dicom_policy(parse_config(config)), KEYS, detector)
    assert detector.calls == 0 and "PixelData" not in pydicom.dcmread(io.BytesIO(out.data))


def test_undecodable_pixels_fail_only_that_instance():
    case = make_case(rows=64, columns=64, syntax=uids.JPEGBaseline8Bit)
    data = bytearray(to_bytes(case.ds))
    at = bytes(data).index(b"\xff\xd8")
    data[at + 20 : at + 400] = b"\x00" * 380
    with pytest.raises(DeidentifyError):
        deidentify_instance(bytes(data), compile_dicom_policy(parse_config(SENSITIVE)), KEYS,
                            GroundTruthDetector(case.texts))

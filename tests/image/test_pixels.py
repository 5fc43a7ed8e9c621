"""Pixel decode, paint and re-encode across photometrics, bit depths and transfer syntaxes (no OCR)."""

import numpy as np
import pydicom
import pytest
from pydicom import uid as u

from transforms.errors import DeidentifyError
from transforms.image import TextBox, decode, redact_pixels

from .synth import PATIENT_ID, PATIENT_NAME, make_case, roundtrip, to_bytes

# (photometric, bits, signed, frames, source syntax, expected output syntax)
MATRIX = [
    ("MONOCHROME2", 8, False, 1, u.ExplicitVRLittleEndian, u.ExplicitVRLittleEndian),
    ("MONOCHROME2", 16, False, 1, u.ImplicitVRLittleEndian, u.ImplicitVRLittleEndian),
    ("MONOCHROME2", 12, False, 2, u.DeflatedExplicitVRLittleEndian, u.DeflatedExplicitVRLittleEndian),
    ("MONOCHROME1", 16, True, 1, u.ExplicitVRLittleEndian, u.ExplicitVRLittleEndian),
    ("MONOCHROME2", 8, True, 1, u.ExplicitVRLittleEndian, u.ExplicitVRLittleEndian),
    ("YBR_FULL", 8, False, 1, u.ExplicitVRLittleEndian, u.ExplicitVRLittleEndian),
    ("MONOCHROME2", 16, True, 1, u.RLELossless, u.RLELossless),
    ("MONOCHROME1", 8, False, 3, u.RLELossless, u.RLELossless),
    ("RGB", 8, False, 2, u.RLELossless, u.RLELossless),
    ("MONOCHROME2", 8, False, 1, u.JPEGBaseline8Bit, u.ExplicitVRLittleEndian),
    ("YBR_FULL_422", 8, False, 2, u.JPEGBaseline8Bit, u.ExplicitVRLittleEndian),
    ("MONOCHROME2", 8, False, 1, u.JPEGExtended12Bit, u.ExplicitVRLittleEndian),
    ("MONOCHROME2", 16, False, 1, u.JPEGLSLossless, u.JPEGLSLossless),
    ("MONOCHROME1", 12, False, 1, u.JPEGLSLossless, u.JPEGLSLossless),
    ("RGB", 8, False, 1, u.JPEGLSLossless, u.JPEGLSLossless),
    ("MONOCHROME2", 8, False, 1, u.JPEGLSNearLossless, u.ExplicitVRLittleEndian),
    ("MONOCHROME2", 16, True, 2, u.JPEG2000Lossless, u.JPEG2000Lossless),
    ("RGB", 8, False, 1, u.JPEG2000Lossless, u.JPEG2000Lossless),
    ("MONOCHROME2", 12, False, 1, u.JPEG2000, u.ExplicitVRLittleEndian),
]


def _outside(shape, boxes):
    keep = np.ones(shape, dtype=bool)
    for b in boxes:
        keep[b.y0 : b.y1, b.x0 : b.x1] = False
    return keep


@pytest.mark.parametrize("photometric,bits,signed,frames,source,expected", MATRIX, ids=lambda v: str(v))
def test_paint_and_reencode(photometric, bits, signed, frames, source, expected):
    case = make_case(
        photometric=photometric, bits=bits, signed=signed, frames=frames, syntax=source, rows=128, columns=160
    )
    before = decode(case.ds)
    assert before.count == frames
    boxes = [TextBox(5, 5, 40, 20), TextBox(100, 90, 150, 120)]
    result = redact_pixels(case.ds, [boxes] * frames, pad=2)

    assert result.changed
    assert result.transfer_syntax == expected
    assert result.transfer_syntax_changed == (expected != source)
    out = roundtrip(result.dataset)
    assert out.file_meta.TransferSyntaxUID == expected
    assert out.SOPInstanceUID == case.ds.SOPInstanceUID  # pixel work never touches UIDs
    after = decode(out)
    assert after.array.shape == before.array.shape
    assert after.array.dtype == before.array.dtype
    keep = _outside(before.array.shape[1:3], result.boxes_per_frame[0])
    assert np.array_equal(after.array[:, keep], before.array[:, keep]), "pixels outside the boxes changed"
    dark = 0 if before.is_colour else (before.array.max() if after.photometric == "MONOCHROME1" else before.array.min())
    for f in range(frames):
        for b in result.boxes_per_frame[f]:
            assert (after.array[f, b.y0 : b.y1, b.x0 : b.x1] == dark).all()
    if frames > 1:
        assert int(out.NumberOfFrames) == frames


def test_boxes_are_padded_and_clipped():
    case = make_case(rows=64, columns=64)
    result = redact_pixels(case.ds, [[TextBox(0, 10, 5, 20), TextBox(60, 60, 64, 64)]], pad=3)
    assert result.boxes_per_frame[0] == (TextBox(0, 7, 8, 23), TextBox(57, 57, 64, 64))


def test_no_boxes_leaves_instance_untouched():
    case = make_case(rows=64, columns=64, syntax=u.JPEGBaseline8Bit)
    data = to_bytes(case.ds)
    result = redact_pixels(case.ds, [[]])
    assert not result.changed
    assert result.transfer_syntax == u.JPEGBaseline8Bit
    assert to_bytes(result.dataset) == data


def test_lossy_source_keeps_lossy_flag_when_written_uncompressed():
    case = make_case(rows=64, columns=64, syntax=u.JPEG2000)
    out = redact_pixels(case.ds, [[TextBox(1, 1, 9, 9)]]).dataset
    assert out.LossyImageCompression == "01"


def test_redaction_is_deterministic():
    a = make_case(rows=96, columns=96, syntax=u.RLELossless)
    b = make_case(rows=96, columns=96, syntax=u.RLELossless)
    boxes = [[TextBox(3, 3, 30, 12)]]
    assert to_bytes(redact_pixels(a.ds, boxes).dataset) == to_bytes(redact_pixels(b.ds, boxes).dataset)


def test_wrong_number_of_frame_box_lists_is_a_bug():
    case = make_case(rows=64, columns=64, frames=2)
    with pytest.raises(ValueError):
        redact_pixels(case.ds, [[TextBox(1, 1, 5, 5)]])


def _assert_no_phi(err: DeidentifyError) -> None:
    text = str(err)
    for value in (PATIENT_NAME, PATIENT_ID, "DOE", "JOHN"):
        assert value not in text


def test_corrupt_compressed_pixels_raise_deidentify_error_without_phi():
    case = make_case(rows=64, columns=64, syntax=u.JPEGBaseline8Bit)
    ds = case.ds
    ds.PixelData = pydicom.encaps.encapsulate([b"\xff\xd8" + b"DOE^JOHN garbage" * 4])
    with pytest.raises(DeidentifyError) as info:
        redact_pixels(ds, [[TextBox(1, 1, 5, 5)]])
    assert info.value.code == "INVALID_ARGUMENT"
    _assert_no_phi(info.value)


def test_truncated_native_pixels_raise_deidentify_error():
    case = make_case(rows=64, columns=64)
    case.ds.PixelData = case.ds.PixelData[:100]
    with pytest.raises(DeidentifyError) as info:
        decode(case.ds)
    assert info.value.code == "INVALID_ARGUMENT"
    _assert_no_phi(info.value)


def test_unknown_transfer_syntax_is_unimplemented():
    case = make_case(rows=64, columns=64)
    case.ds.file_meta.TransferSyntaxUID = "1.2.3.999"
    with pytest.raises(DeidentifyError) as info:
        decode(case.ds)
    assert info.value.code == "UNIMPLEMENTED"
    _assert_no_phi(info.value)


def test_missing_pixel_data_and_transfer_syntax():
    case = make_case(rows=64, columns=64)
    del case.ds.file_meta.TransferSyntaxUID
    with pytest.raises(DeidentifyError):
        decode(case.ds)
    del case.ds.PixelData
    with pytest.raises(DeidentifyError):
        decode(case.ds)

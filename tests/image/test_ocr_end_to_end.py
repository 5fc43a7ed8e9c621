"""Real OCR on a few generated images: PHI gone after REDACT_SENSITIVE_TEXT, labels still readable, nothing after ALL."""

import numpy as np
import pytest
from pydicom import uid as u

from transforms.config import ImageConfig
from transforms.image import ImageRedactor, decode, display_frame, load_detector
from transforms.image.sensitivity import fold

from .synth import make_case, roundtrip

PHI_FRAGMENTS = ("DOE", "JOHN", "4829163", "20230405", "MARY", "HOSPITAL")


@pytest.fixture(scope="module")
def detector():
    return load_detector()


def _read(ds, detector):
    frames = decode(ds)
    return frames, detector.find_text(display_frame(frames.array[0], frames.photometric))


def _redact(mode, case, detector):
    redactor = ImageRedactor.from_config(ImageConfig(text_redaction_mode=mode), config_path="image")
    return redactor.redact(case.ds, detector)


CASES = [
    {"photometric": "MONOCHROME2", "bits": 8},
    {"photometric": "MONOCHROME1", "bits": 16, "signed": True, "syntax": u.JPEG2000Lossless},
    {"photometric": "YBR_FULL_422", "syntax": u.JPEGBaseline8Bit},
]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: "-".join(str(v) for v in k.values()))
def test_sensitive_mode_removes_phi_and_keeps_labels(kwargs, detector):
    case = make_case(**kwargs)
    before_frames, before = _read(case.ds, detector)
    assert any("4829163" in fold(b.text) for b in before), "the generated PHI must be readable to begin with"
    labels_before = {fold(t.text) for t in case.texts if t.kind == "label"} & {fold(b.text) for b in before}
    assert len(labels_before) >= 2

    result = _redact("REDACT_SENSITIVE_TEXT", case, detector)
    out = roundtrip(result.dataset)
    after_frames, after = _read(out, detector)

    read_after = " ".join(fold(b.text) for b in after)
    for fragment in PHI_FRAGMENTS:
        assert fold(fragment) not in read_after
    kept = labels_before & {fold(b.text) for b in after}
    assert len(kept) >= 0.8 * len(labels_before)
    for phi in case.boxes("phi"):
        assert any(p.covers(phi) for p in result.boxes_per_frame[0]), "a PHI box is not fully covered"
    keep = np.ones(before_frames.array.shape[1:3], dtype=bool)
    for b in result.boxes_per_frame[0]:
        keep[b.y0 : b.y1, b.x0 : b.x1] = False
    assert np.array_equal(after_frames.array[:, keep], before_frames.array[:, keep])
    assert out.BurnedInAnnotation == "NO"


@pytest.mark.parametrize("kwargs", CASES[:2], ids=lambda k: "-".join(str(v) for v in k.values()))
def test_all_text_mode_leaves_nothing_readable(kwargs, detector):
    case = make_case(**kwargs)
    result = _redact("REDACT_ALL_TEXT", case, detector)
    _, after = _read(roundtrip(result.dataset), detector)
    assert after == []


def test_ocr_is_deterministic(detector):
    case = make_case(rows=256, columns=256)
    frames = decode(case.ds)
    image = display_frame(frames.array[0], frames.photometric)
    assert detector.find_text(image) == detector.find_text(image)
    assert load_detector() is detector  # one model per process

"""ImageRedactor modes, config validation, sensitivity rules and the multi-frame sampling rule (fake OCR)."""

import numpy as np
import pytest
from pydicom import uid as u

from transforms.config import CustomRegex, ImageConfig, parse_message
from transforms.errors import ConfigError
from transforms.image import ImageRedactor, TextBox, decode, display_frame, find_text_in_frames
from transforms.image.sensitivity import Context, fold, is_sensitive

from .synth import INSTITUTION, PATIENT_ID, PATIENT_NAME, STUDY_DATE, make_case, to_bytes


class GroundTruthDetector:
    """Returns the boxes the generator drew, for the frames it is shown; counts calls."""

    def __init__(self, texts):
        self.texts = texts
        self.calls = 0

    def find_text(self, image):
        self.calls += 1
        return [TextBox(t.box.x0, t.box.y0, t.box.x1, t.box.y1, t.text, 0.99) for t in self.texts if t.text != "L"]


def redactor(mode="REDACT_SENSITIVE_TEXT", **fields):
    return ImageRedactor.from_config(ImageConfig(text_redaction_mode=mode, **fields), config_path="image")


CONTEXT = Context.of([PATIENT_NAME, PATIENT_ID, STUDY_DATE, INSTITUTION])
SENSITIVE = redactor().policy


@pytest.mark.parametrize(
    "text",
    [
        "DOE JOHN",
        "DOE~JOHN",
        "D0E, J0HN",
        "ID:4829163",
        "4829163",
        "2023-04-05",
        "05/04/2023",
        "STMARYHOSPITAL",
        "St Mary Hospital",
        "Age: 45",
        "045Y",
        "john.doe@example.org",
        "555-123-4567",
        "123-45-6789",
        "12 Mar 2021",
    ],
)
def test_phi_text_is_sensitive(text):
    assert is_sensitive(text, 0.95, SENSITIVE, CONTEXT)


@pytest.mark.parametrize(
    "text", ["L", "R", "AP", "PA", "LAT", "10 cm", "10cm", "5 mm", "W:400 L:40", "HR 72", "x1.5", "TGC"]
)
def test_harmless_labels_are_not_sensitive(text):
    assert not is_sensitive(text, 0.95, SENSITIVE, CONTEXT)


def test_unreadable_text_is_redacted_but_short_noise_is_not():
    assert is_sensitive("qzxw", 0.2, SENSITIVE, Context())
    assert not is_sensitive("L", 0.2, SENSITIVE, Context())


def test_context_matching_tolerates_one_ocr_error_on_long_values():
    context = Context.of(["ABCDEF123"])
    assert context.found_in("ABCDEE123")
    assert not Context.of(["ABC"]).found_in("ABD")
    assert fold("D0E, J0HN") == fold("DOE JOHN")


def test_excluded_info_types_are_not_redacted():
    r = redactor(exclude_info_types=("DATE",))
    assert not is_sensitive("2023-04-05", 0.99, r.policy, Context())
    assert is_sensitive("DOE^JOHN", 0.99, r.policy, Context())


def test_custom_regex_with_capture_groups():
    r = redactor(custom_regexes=(CustomRegex(r"ACC(\d+)?-(X+)?", (1,)),))
    assert is_sensitive("ACC77-", 0.99, r.policy, Context())
    assert not is_sensitive("ACC-XX", 0.99, r.policy, Context())  # matched, but group 1 is empty


@pytest.mark.parametrize(
    "fields,path",
    [
        ({"textRedactionMode": "REDACT_ALL_TEXT", "additionalInfoTypes": ["AGE"]}, "image.additionalInfoTypes"),
        ({"textRedactionMode": "REDACT_NO_TEXT", "additionalInfoTypes": ["AGE"]}, "image.additionalInfoTypes"),
        ({"textRedactionMode": "REDACT_ALL_TEXT", "excludeInfoTypes": ["AGE"]}, "image.excludeInfoTypes"),
        ({"excludeInfoTypes": ["AGE"]}, "image.excludeInfoTypes"),
        ({"customRegexes": [{"pattern": "(a", "groupIndexes": [1]}]}, "image.customRegexes[0].pattern"),
        ({"customRegexes": [{"pattern": "(a)", "groupIndexes": [2]}]}, "image.customRegexes[0].groupIndexes[0]"),
    ],
)
def test_incompatible_config_names_the_field(fields, path):
    image = parse_message(ImageConfig, fields, "image")
    with pytest.raises(ConfigError) as info:
        ImageRedactor.from_config(image, config_path="image")
    assert info.value.path == path


def test_modes_resolve():
    assert not redactor("REDACT_NO_TEXT").redacts
    assert not redactor("TEXT_REDACTION_MODE_UNSPECIFIED").redacts
    assert not ImageRedactor.from_config(None, config_path="image").redacts
    only_age = redactor("TEXT_REDACTION_MODE_UNSPECIFIED", additional_info_types=("AGE",))
    assert only_age.redacts and only_age.policy.info_types == frozenset({"AGE"})
    clean = redactor("REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS")
    assert clean.policy.info_types > SENSITIVE.info_types
    assert redactor("REDACT_ALL_TEXT").mode == "REDACT_ALL_TEXT"
    regex_only = redactor("REDACT_NO_TEXT", custom_regexes=(CustomRegex("X(\\d+)", (1,)),))
    assert regex_only.redacts and regex_only.policy.info_types == frozenset()


def test_no_text_mode_changes_nothing_and_needs_no_detector():
    case = make_case(rows=96, columns=96)
    data = to_bytes(case.ds)
    result = redactor("REDACT_NO_TEXT").redact(case.ds, None)
    assert not result.changed and to_bytes(result.dataset) == data


def _painted_texts(result, case):
    painted = result.boxes_per_frame[0]
    return {t.text for t in case.texts if any(p.covers(t.box) for p in painted)}


def test_sensitive_mode_paints_phi_only_and_sets_burned_in_annotation():
    case = make_case(rows=512, columns=512)
    result = redactor().redact(case.ds, GroundTruthDetector(case.texts))
    assert _painted_texts(result, case) == {t.text for t in case.texts if t.kind == "phi"}
    assert result.dataset.BurnedInAnnotation == "NO"


def test_sensitive_mode_uses_given_context_values():
    case = make_case(rows=512, columns=512)
    result = redactor(exclude_info_types=("PERSON_NAME",)).redact(
        case.ds, GroundTruthDetector(case.texts), context_values=["SOMEONE^ELSE"]
    )
    assert "DOE JOHN" not in _painted_texts(result, case)  # only found through context, which was replaced


def test_all_text_mode_paints_every_region():
    case = make_case(rows=512, columns=512)
    result = redactor("REDACT_ALL_TEXT").redact(case.ds, GroundTruthDetector(case.texts))
    assert _painted_texts(result, case) == {t.text for t in case.texts if t.text != "L"}


def test_nothing_found_keeps_burned_in_annotation():
    case = make_case(rows=96, columns=96)
    result = redactor("REDACT_ALL_TEXT").redact(case.ds, GroundTruthDetector(()))
    assert not result.changed and result.dataset.BurnedInAnnotation == "YES"


def test_static_overlay_is_ocrd_on_the_sample_only():
    case = make_case(rows=256, columns=256, frames=10, syntax=u.RLELossless)
    detector = GroundTruthDetector(case.texts)
    result = redactor("REDACT_ALL_TEXT").redact(case.ds, detector)
    assert detector.calls == 3 and result.ocr_frames == 3
    assert all(len(boxes) == len(result.boxes_per_frame[0]) for boxes in result.boxes_per_frame)


def test_text_appearing_in_one_frame_gets_that_frame_ocrd():
    case = make_case(rows=256, columns=256, frames=10, moving_text_frame=3)
    frames = decode(case.ds)
    seen = []

    class Recorder:
        def find_text(self, image):
            seen.append(image.copy())
            return []

    _, count = find_text_in_frames(frames, Recorder())
    assert count == 4
    assert any(np.array_equal(image, display_frame(frames.array[3], frames.photometric)) for image in seen)


def test_full_scan_ocrs_every_frame():
    case = make_case(rows=64, columns=64, frames=6)
    detector = GroundTruthDetector(())
    _, count = find_text_in_frames(decode(case.ds), detector, full_scan=True)
    assert count == 6 == detector.calls


def test_text_engine_finds_names_without_context():
    assert is_sensitive("Anna Smith", 0.99, SENSITIVE, Context())
    assert not is_sensitive("Anna Smith", 0.99, redactor(exclude_info_types=("PERSON_NAME",)).policy, Context())


def test_unknown_info_type_names_the_field():
    with pytest.raises(ConfigError) as info:
        redactor(additional_info_types=("AGE", "NOT_A_TYPE"))
    assert info.value.path == "image.additionalInfoTypes[1]"

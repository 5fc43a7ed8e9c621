"""Pure image de-identification: burned-in text found by OCR and painted over. No Beam, no IO."""

from transforms.image.ocr import RapidOcrDetector, TextBox, TextDetector, load_detector
from transforms.image.pixels import Frames, RedactionResult, decode, decode_frames, display_frame, redact_pixels
from transforms.image.redactor import ImageRedactor, find_text_in_frames, sample_frames
from transforms.image.sensitivity import DEFAULT_DICOM_INFO_TYPES, context_values

__all__ = [
    "DEFAULT_DICOM_INFO_TYPES",
    "Frames",
    "ImageRedactor",
    "RapidOcrDetector",
    "RedactionResult",
    "TextBox",
    "TextDetector",
    "context_values",
    "decode",
    "decode_frames",
    "display_frame",
    "find_text_in_frames",
    "load_detector",
    "redact_pixels",
    "sample_frames",
]

"""Pure text de-identification: offline infoType detection and the TextConfig transformations. No Beam, no IO."""

from transforms.text.detectors import INFO_TYPES, Finding, detect
from transforms.text.dicom_values import DICOM_TEXT_VRS, clean_dicom_value
from transforms.text.policy import (
    DEFAULT_DICOM_INFO_TYPES,
    DEFAULT_TEXT_INFO_TYPES,
    TextPolicy,
    clean_text,
    find_sensitive,
)

__all__ = [
    "DEFAULT_DICOM_INFO_TYPES",
    "DEFAULT_TEXT_INFO_TYPES",
    "DICOM_TEXT_VRS",
    "INFO_TYPES",
    "Finding",
    "TextPolicy",
    "clean_dicom_value",
    "clean_text",
    "detect",
    "find_sensitive",
]

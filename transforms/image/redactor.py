"""ImageConfig modes over one DICOM instance: find text (sampling frames), decide what is sensitive, paint boxes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from pydicom.dataset import Dataset

from transforms.config import ImageConfig, compile_custom_regex
from transforms.errors import ConfigError
from transforms.image.ocr import TextBox, TextDetector
from transforms.image.pixels import DEFAULT_PAD, Frames, RedactionResult, decode, display_frame, redact_pixels
from transforms.image.sensitivity import (
    CLEAN_DESCRIPTORS_INFO_TYPE,
    CONTEXT_INFO_TYPE,
    DEFAULT_DICOM_INFO_TYPES,
    Context,
    CustomPattern,
    SensitivityPolicy,
    context_values,
    is_sensitive,
)
from transforms.text import INFO_TYPES as TEXT_INFO_TYPES

log = logging.getLogger(__name__)

ALL = "REDACT_ALL_TEXT"
SENSITIVE = "REDACT_SENSITIVE_TEXT"
CLEAN_DESCRIPTORS = "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS"
NONE = "REDACT_NO_TEXT"
UNSPECIFIED = "TEXT_REDACTION_MODE_UNSPECIFIED"

# Multi-frame rule (see find_text_in_frames): a frame is OCR'd only when it is in the sample or when it differs
# from the nearest OCR'd frame inside a text box or in a tile that is static across the sample.
KNOWN_INFO_TYPES = (frozenset(TEXT_INFO_TYPES) - {"CTX"}) | {CONTEXT_INFO_TYPE, CLEAN_DESCRIPTORS_INFO_TYPE}
TILE = 16
CHANGE_LEVEL = 8  # display-level difference (of 255) that counts as a change; above lossy-codec noise


@dataclass(frozen=True)
class ImageRedactor:
    """One resolved ImageConfig: the mode, the sensitivity policy, the padding. Built once at launch."""

    mode: str
    policy: SensitivityPolicy
    pad: int = DEFAULT_PAD
    full_scan: bool = False  # OCR every frame of a multi-frame image (no sampling)

    @classmethod
    def from_config(cls, image: ImageConfig | None, *, config_path: str, pad: int = DEFAULT_PAD) -> ImageRedactor:
        """Resolve an ImageConfig; raise ConfigError naming ``config_path``'s field when the mode does not allow it."""
        image = image or ImageConfig()
        mode = image.text_redaction_mode
        if image.additional_info_types and mode not in (SENSITIVE, CLEAN_DESCRIPTORS, UNSPECIFIED):
            raise ConfigError(
                f"{config_path}.additionalInfoTypes",
                f"can only be used when textRedactionMode is {SENSITIVE}, {CLEAN_DESCRIPTORS} or {UNSPECIFIED}",
            )
        if image.exclude_info_types and mode not in (SENSITIVE, CLEAN_DESCRIPTORS):
            raise ConfigError(
                f"{config_path}.excludeInfoTypes",
                f"can only be used when textRedactionMode is {SENSITIVE} or {CLEAN_DESCRIPTORS}",
            )
        for list_name, names in (
            ("additionalInfoTypes", image.additional_info_types),
            ("excludeInfoTypes", image.exclude_info_types),
        ):
            for j, name in enumerate(names):
                if name not in KNOWN_INFO_TYPES:
                    raise ConfigError(f"{config_path}.{list_name}[{j}]", f"unknown or unsupported infoType {name!r}")
        custom = []
        for i, regex in enumerate(image.custom_regexes):
            compiled = compile_custom_regex(regex, f"{config_path}.customRegexes[{i}]")
            custom.append(CustomPattern(compiled, tuple(regex.group_indexes)))
        types: set[str] = set()
        if mode in (SENSITIVE, CLEAN_DESCRIPTORS):
            types = set(DEFAULT_DICOM_INFO_TYPES) | {CONTEXT_INFO_TYPE}
            if mode == CLEAN_DESCRIPTORS:
                types.add(CLEAN_DESCRIPTORS_INFO_TYPE)
        types |= set(image.additional_info_types)
        types -= set(image.exclude_info_types)
        if mode in (NONE, UNSPECIFIED):
            # The API mirrors: UNSPECIFIED + additionalInfoTypes (or customRegexes) redacts only those (spec §2.4).
            mode = SENSITIVE if (types or custom) else NONE
        return cls(mode, SensitivityPolicy(frozenset(types), tuple(custom)), pad)

    @property
    def redacts(self) -> bool:
        """False when this redactor never changes pixels: the pipeline then skips decoding (fast path)."""
        return self.mode != NONE

    def redact(
        self,
        ds: Dataset,
        detector: TextDetector | None,
        *,
        context_values: Sequence[str] | None = None,
    ) -> RedactionResult:
        """Redact the top-level PixelData of ``ds`` in place (before its tags are de-identified).

        ``context_values`` are the instance's original tag values to treat as sensitive wherever they are read
        in the pixels; when None they are taken from ``ds`` itself. Raises DeidentifyError (no values in the
        message) when the pixels cannot be decoded.
        """
        if not self.redacts or "PixelData" not in ds:
            return RedactionResult(ds)
        if detector is None:
            raise ValueError("a TextDetector is required when the mode redacts text")
        frames = decode(ds)
        found, ocr_frames = find_text_in_frames(frames, detector, full_scan=self.full_scan)
        if self.mode == ALL:
            chosen = found
        else:
            values = context_values if context_values is not None else _own_context(ds, self.policy)
            context = Context.of(values) if self.policy.uses_context else Context()
            chosen = [
                tuple(b for b in boxes if is_sensitive(b.text, b.confidence, self.policy, context)) for boxes in found
            ]
        result = redact_pixels(ds, chosen, self.pad, frames=frames)
        if result.changed:
            ds.BurnedInAnnotation = "NO"  # text was looked for and what had to go was painted over
        stats = {"text_regions": sum(len(b) for b in found), "frames": frames.count}
        return replace(result, ocr_frames=ocr_frames, stats=stats)


def _own_context(ds: Dataset, policy: SensitivityPolicy) -> list[str]:
    return context_values(ds, clean_descriptors=CLEAN_DESCRIPTORS_INFO_TYPE in policy.info_types)


def sample_frames(count: int) -> list[int]:
    """The frames always OCR'd: first, middle and last."""
    return sorted({0, count // 2, count - 1}) if count > 0 else []


def find_text_in_frames(
    frames: Frames, detector: TextDetector, *, full_scan: bool = False
) -> tuple[list[tuple[TextBox, ...]], int]:
    """Text boxes for every frame, and how many frames were OCR'd.

    Rule for multi-frame images (the overlay is usually the same on every frame while the anatomy moves):
    OCR the first, middle and last frames. Tiles of 16×16 pixels that are the same on all three (within
    CHANGE_LEVEL of 255 as displayed) are the static part: overlay and background. Every other frame takes the
    boxes of an OCR'd frame (the nearest that qualifies) when, compared with it, nothing changed (a) inside any of its text boxes
    (padded by 2) or (b) in any static tile — new or changed text shows up there. A frame failing either test is
    OCR'd itself and becomes a reference. What this rule can miss: text that appears only in unsampled frames
    and only over moving content; ``full_scan`` OCRs every frame.
    """
    count = frames.count
    shown = [display_frame(frames.array[i], frames.photometric) for i in range(count)]
    if full_scan or count <= 3:
        return [tuple(detector.find_text(image)) for image in shown], count
    result: dict[int, tuple[TextBox, ...]] = {}
    sample = sample_frames(count)
    for index in sample:
        result[index] = tuple(detector.find_text(shown[index]))
    static = ~np.logical_or.reduce([_tiles(_changed(shown[i], shown[sample[0]])).any(axis=(2, 3)) for i in sample[1:]])
    ocr_done = list(sample)
    for index in range(count):
        if index in result:
            continue
        for reference in sorted(ocr_done, key=lambda r: (abs(r - index), r)):
            if _same_overlay(shown[index], shown[reference], result[reference], static):
                result[index] = result[reference]
                break
        else:
            result[index] = tuple(detector.find_text(shown[index]))
            ocr_done.append(index)
    return [result[i] for i in range(count)], len(ocr_done)


def _changed(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    diff = np.abs(image.astype(np.int16) - reference.astype(np.int16))
    if diff.ndim == 3:
        diff = diff.max(axis=2)
    return diff > CHANGE_LEVEL


def _same_overlay(image: np.ndarray, reference: np.ndarray, boxes: tuple[TextBox, ...], static: np.ndarray) -> bool:
    changed = _changed(image, reference)
    rows, columns = changed.shape
    for box in boxes:
        b = box.padded(2, rows, columns)
        if changed[b.y0 : b.y1, b.x0 : b.x1].any():
            return False
    return not (_tiles(changed).any(axis=(2, 3)) & static).any()


def _tiles(a: np.ndarray) -> np.ndarray:
    """(rows/16, columns/16, 16, 16) view; the edges are padded by repetition so no border pixel is left out."""
    rows, columns = a.shape[:2]
    extra_r, extra_c = -rows % TILE, -columns % TILE
    if extra_r or extra_c:
        a = np.pad(a, ((0, extra_r), (0, extra_c)), mode="edge")
    r, c = a.shape[0] // TILE, a.shape[1] // TILE
    return a.reshape(r, TILE, c, TILE).swapaxes(1, 2)

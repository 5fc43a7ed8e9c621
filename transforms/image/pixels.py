"""Pixel Data in and out: decode every frame, paint boxes, re-encode in the source transfer syntax where possible."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pydicom
from pydicom import uid as uids
from pydicom.dataset import Dataset

from transforms.errors import DeidentifyError
from transforms.image.ocr import TextBox

log = logging.getLogger(__name__)

DEFAULT_PAD = 3

# Uncompressed syntaxes: the painted array is written back in the same syntax.
NATIVE_SYNTAXES = frozenset(
    {uids.ImplicitVRLittleEndian, uids.ExplicitVRLittleEndian, uids.DeflatedExplicitVRLittleEndian}
)
# Lossless compressed syntaxes pydicom can encode (given its plugins): re-encoded in the same syntax.
REENCODED_SYNTAXES = frozenset({uids.RLELossless, uids.JPEGLSLossless, uids.JPEG2000Lossless})
# Everything else (JPEG baseline/extended/lossless, JPEG-LS near-lossless, JPEG 2000 lossy, big endian, ...)
# is written as Explicit VR Little Endian.
FALLBACK_SYNTAX = uids.ExplicitVRLittleEndian
LOSSY_SYNTAXES = frozenset(
    {uids.JPEGBaseline8Bit, uids.JPEGExtended12Bit, uids.JPEGLSNearLossless, uids.JPEG2000, uids.JPEG2000MC}
)


@dataclass(frozen=True)
class Frames:
    """Decoded pixels: always (frames, rows, columns, samples), in ``photometric`` (colour comes out as RGB)."""

    array: np.ndarray
    photometric: str
    bits_stored: int

    @property
    def count(self) -> int:
        return self.array.shape[0]

    @property
    def is_colour(self) -> bool:
        return self.array.shape[3] == 3


@dataclass(frozen=True)
class RedactionResult:
    """What a redaction did. ``dataset`` is the input dataset, changed in place when ``changed``."""

    dataset: Dataset
    boxes_per_frame: tuple[tuple[TextBox, ...], ...] = ()
    changed: bool = False
    source_transfer_syntax: str = ""
    transfer_syntax: str = ""
    ocr_frames: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def transfer_syntax_changed(self) -> bool:
        """True when the output could not keep the source transfer syntax (the pipeline counts these)."""
        return self.source_transfer_syntax != self.transfer_syntax

    @property
    def boxes_painted(self) -> int:
        return sum(len(boxes) for boxes in self.boxes_per_frame)


def transfer_syntax(ds: Dataset) -> uids.UID:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts is None:
        raise DeidentifyError("INVALID_ARGUMENT", "PixelData cannot be decoded: no TransferSyntaxUID in the file meta")
    return uids.UID(ts)


def decode(ds: Dataset) -> Frames:
    """Decode every frame of the top-level PixelData; raise DeidentifyError (no values) when that is not possible."""
    if "PixelData" not in ds:
        raise DeidentifyError("INVALID_ARGUMENT", "no PixelData to redact")
    ts = transfer_syntax(ds)
    try:
        decoder = pydicom.pixels.get_decoder(ts)
    except NotImplementedError:
        raise DeidentifyError("UNIMPLEMENTED", f"PixelData in transfer syntax {ts} cannot be decoded") from None
    if not decoder.is_available:
        raise DeidentifyError("UNIMPLEMENTED", f"no decoder installed for PixelData in transfer syntax {ts}")
    try:
        arr, meta = decoder.as_array(ds, as_rgb=True)
    except Exception as err:  # noqa: BLE001 - decoders raise anything; the message may hold no values
        raise DeidentifyError(
            "INVALID_ARGUMENT", f"PixelData in transfer syntax {ts} could not be decoded ({type(err).__name__})"
        ) from None
    frames = int(meta.get("number_of_frames", 1) or 1)
    samples = int(meta.get("samples_per_pixel", 1) or 1)
    rows, columns = int(meta["rows"]), int(meta["columns"])
    try:
        arr = arr.reshape(frames, rows, columns, samples)
    except ValueError:
        raise DeidentifyError(
            "INVALID_ARGUMENT", "decoded PixelData does not match Rows, Columns and NumberOfFrames"
        ) from None
    photometric = str(meta.get("photometric_interpretation") or ds.get("PhotometricInterpretation", ""))
    bits_stored = int(meta.get("bits_stored") or ds.get("BitsStored") or arr.dtype.itemsize * 8)
    return Frames(arr, photometric, bits_stored)


def decode_frames(ds: Dataset) -> np.ndarray:
    """Every frame of PixelData as (frames, rows, columns, samples); colour comes out as RGB."""
    return decode(ds).array


def display_frame(frame: np.ndarray, photometric: str) -> np.ndarray:
    """One frame (rows, columns, samples) as the uint8 picture a reader would see: what OCR looks at."""
    if frame.shape[2] == 3:
        if frame.dtype == np.uint8:
            return frame
        top = max(1, int(frame.max()))
        return (frame.astype(np.float32) * (255.0 / top)).astype(np.uint8)
    grey = frame[:, :, 0].astype(np.float32)
    low, high = float(grey.min()), float(grey.max())
    if high <= low:
        out = np.zeros(grey.shape, dtype=np.uint8)
    else:
        out = ((grey - low) * (255.0 / (high - low)) + 0.5).astype(np.uint8)
    if photometric == "MONOCHROME1":
        out = 255 - out
    return out


def fill_value(frames: Frames) -> Any:
    """What boxes are painted with: black as displayed (the minimum; the maximum for MONOCHROME1; 0 for colour)."""
    if frames.is_colour:
        return 0
    if frames.photometric == "MONOCHROME1":
        return frames.array.max()
    return frames.array.min()


def paint(
    frames: Frames, boxes_per_frame: Sequence[Sequence[TextBox]], pad: int = DEFAULT_PAD
) -> tuple[np.ndarray, tuple]:
    """A copy of the pixels with every box (grown by ``pad``) filled; and the painted boxes per frame."""
    if len(boxes_per_frame) != frames.count:
        raise ValueError(f"boxes given for {len(boxes_per_frame)} frames; the image has {frames.count}")
    out = frames.array.copy()
    value = fill_value(frames)
    rows, columns = out.shape[1:3]
    painted = []
    for index, boxes in enumerate(boxes_per_frame):
        grown = tuple(box.padded(pad, rows, columns) for box in boxes)
        for box in grown:
            out[index, box.y0 : box.y1, box.x0 : box.x1, :] = value
        painted.append(grown)
    return out, tuple(painted)


def encode(ds: Dataset, frames: Frames, array: np.ndarray) -> uids.UID:
    """Write ``array`` into ``ds.PixelData`` in the source syntax where pydicom can encode it, else Explicit VR LE."""
    source = transfer_syntax(ds)
    multi = "NumberOfFrames" in ds or array.shape[0] > 1
    shaped = array if multi else array[0]
    if not frames.is_colour:
        shaped = shaped[..., 0]
    if source in NATIVE_SYNTAXES:
        ds.set_pixel_data(shaped, frames.photometric, frames.bits_stored, generate_instance_uid=False)
        return source
    if source in REENCODED_SYNTAXES:
        try:
            photometric = frames.photometric
            if source == uids.JPEG2000Lossless and frames.is_colour:
                photometric = "RGB"  # encoded without a colour transform; decoders read it back as RGB
            ds.set_pixel_data(shaped, photometric, frames.bits_stored, generate_instance_uid=False)
            ds.compress(source, generate_instance_uid=False, **_encode_options(source, frames))
            return source
        except Exception as err:  # noqa: BLE001 - plugin missing or refused these pixels: fall back, say so
            log.info(
                "re-encoding in %s not possible (%s); writing Explicit VR Little Endian", source, type(err).__name__
            )
    was_lossy = source in LOSSY_SYNTAXES or ds.get("LossyImageCompression") == "01"
    ds.file_meta.TransferSyntaxUID = FALLBACK_SYNTAX  # before set_pixel_data: it refuses big endian sources
    ds.set_pixel_data(shaped, frames.photometric, frames.bits_stored, generate_instance_uid=False)
    if was_lossy:
        ds.LossyImageCompression = "01"  # the pixels went through lossy compression once; that stays true
    return FALLBACK_SYNTAX


def _encode_options(source: uids.UID, frames: Frames) -> dict[str, Any]:
    if source == uids.RLELossless:
        return {}
    if source == uids.JPEG2000Lossless:
        return {"use_mct": False} if frames.is_colour else {}
    return {}


def redact_pixels(
    ds: Dataset,
    boxes_per_frame: Sequence[Sequence[TextBox]],
    pad: int = DEFAULT_PAD,
    *,
    frames: Frames | None = None,
) -> RedactionResult:
    """Fill each box (grown by ``pad`` pixels) with black as displayed, frame by frame; re-encode.

    ``ds`` is changed in place only when there is at least one box. BurnedInAnnotation is left to the caller
    (ImageRedactor sets it), since only the caller knows whether text was looked for. ``frames`` saves a
    second decode when the caller already decoded ``ds``.
    """
    source = transfer_syntax(ds)
    frames = frames if frames is not None else decode(ds)
    if not any(boxes_per_frame):
        return RedactionResult(ds, tuple(() for _ in range(frames.count)), False, str(source), str(source))
    array, painted = paint(frames, boxes_per_frame, pad)
    written = encode(ds, frames, array)
    return RedactionResult(ds, painted, True, str(source), str(written))

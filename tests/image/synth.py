"""Generated DICOM images with burned-in PHI and harmless labels at known boxes, in many encodings."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom import uid as uids
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import convert_color_space

from transforms.image.ocr import TextBox

PATIENT_NAME = "DOE^JOHN"
PATIENT_ID = "4829163"
STUDY_DATE = "20230405"
INSTITUTION = "ST MARY HOSPITAL"

# (text, kind); kind "phi" must be gone after REDACT_SENSITIVE_TEXT, "label" should stay readable.
PHI_TEXTS = (("DOE JOHN", "phi"), (f"ID: {PATIENT_ID}", "phi"), ("2023-04-05", "phi"), (INSTITUTION, "phi"))
LABEL_TEXTS = (("L", "label"), ("AP", "label"), ("10 cm", "label"), ("LAT", "label"))


@dataclass(frozen=True)
class Burned:
    text: str
    kind: str
    box: TextBox


@dataclass(frozen=True)
class Case:
    """One generated instance: the dataset and where each burned-in text is (frame independent)."""

    ds: Dataset
    texts: tuple[Burned, ...]
    name: str

    def boxes(self, kind: str) -> list[TextBox]:
        return [t.box for t in self.texts if t.kind == kind]


def _layout(rows: int, columns: int, seed: int) -> list[tuple[str, str, tuple[int, int]]]:
    """Where each text goes: PHI in the corners and top/bottom bands, labels at the sides."""
    rng = np.random.default_rng(seed)
    jitter = lambda: int(rng.integers(0, max(1, columns // 40)))  # noqa: E731
    s = columns / 512
    spots = [
        (int(10 * s) + jitter(), int(10 * s)),
        (int(10 * s) + jitter(), int(40 * s)),
        (int(340 * s) + jitter(), int(10 * s)),
        (int(10 * s) + jitter(), rows - int(34 * s)),
        (int(12 * s), rows // 2),
        (columns - int(50 * s), rows // 2),
        (columns - int(120 * s) + jitter(), rows - int(40 * s)),
        (columns // 2 - int(20 * s), int(12 * s)),
    ]
    texts = PHI_TEXTS + LABEL_TEXTS
    return [(text, kind, spot) for (text, kind), spot in zip(texts, spots, strict=True)]


def render(rows: int = 512, columns: int = 512, seed: int = 0, font_px: int | None = None, shift: int = 0):
    """A float image in [0, 1] (dark noisy margins, a textured 'anatomy' disc) and the text mask with boxes.

    ``shift`` moves the texture inside the disc (cine motion); margins and noise stay.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
    r = np.hypot(y - rows / 2, x - columns / 2) / (min(rows, columns) / 2)
    body = np.clip(1.0 - r, 0, 1) ** 0.5 * 0.55
    texture = 0.08 * np.sin((x + shift) / 7.0 + seed) * np.cos(y / 11.0) * (r < 0.7)
    noise = rng.normal(0, 0.015, (rows, columns)).astype(np.float32)
    base = np.clip(0.04 + body + texture + noise, 0, 0.75)
    mask_img = Image.new("L", (columns, rows), 0)
    draw = ImageDraw.Draw(mask_img)
    font = ImageFont.load_default(size=font_px or max(14, int(18 * columns / 512)))
    burned = []
    for text, kind, (tx, ty) in _layout(rows, columns, seed):
        draw.text((tx, ty), text, fill=255, font=font)
        x0, y0, x1, y1 = draw.textbbox((tx, ty), text, font=font)
        burned.append(Burned(text, kind, TextBox(x0, y0, x1, y1, text, 1.0)))
    mask = np.asarray(mask_img, dtype=np.float32) / 255.0
    return base, mask, tuple(burned)


def _scale(image01: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    dtype = {(8, False): np.uint8, (16, False): np.uint16, (8, True): np.int8, (16, True): np.int16}[
        (8 if bits <= 8 else 16, signed)
    ]
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return np.round(low + image01 * (high - low)).astype(dtype)


def make_case(
    *,
    photometric: str = "MONOCHROME2",
    bits: int = 8,
    signed: bool = False,
    frames: int = 1,
    syntax: str = uids.ExplicitVRLittleEndian,
    rows: int = 512,
    columns: int = 512,
    seed: int = 0,
    moving_text_frame: int | None = None,
    text_level: float = 0.98,
    font_px: int | None = None,
) -> Case:
    """One instance. Multi-frame: the anatomy shifts frame to frame, the overlay stays (unless told otherwise)."""
    stack = []
    for f in range(frames):
        moved, mask, burned = render(rows, columns, seed, font_px=font_px, shift=3 * f)
        image = moved * (1 - mask) + mask * text_level
        if moving_text_frame is not None and f == moving_text_frame:
            extra = Image.new("L", (columns, rows), 0)
            ImageDraw.Draw(extra).text(
                (columns // 3, rows - 80), "SMITH ANNA", fill=255, font=ImageFont.load_default(size=18)
            )
            extra_mask = np.asarray(extra, dtype=np.float32) / 255.0
            image = np.maximum(image * (1 - extra_mask), extra_mask * 0.98)
        stack.append(image)
    grey = np.stack(stack)  # (frames, rows, columns) in [0, 1]
    if photometric == "MONOCHROME1":
        grey = 1.0 - grey
    ds = _dataset(rows, columns, frames)
    if photometric in ("RGB", "YBR_FULL", "YBR_FULL_422"):
        colour = np.stack([grey, grey * 0.9, np.clip(grey * 1.1, 0, 1)], axis=-1)
        pixels = _scale(colour, 8, False)
        bits, signed = 8, False
    else:
        pixels = _scale(grey, bits, signed)
    pixels_for_set = pixels if frames > 1 else pixels[0]
    stored_pi = "RGB" if photometric == "YBR_FULL_422" else photometric
    if photometric == "YBR_FULL":
        pixels_for_set = convert_color_space(pixels_for_set, "RGB", "YBR_FULL")
    ds.set_pixel_data(pixels_for_set, stored_pi, bits, generate_instance_uid=False)
    if frames == 1 and "NumberOfFrames" in ds:
        del ds.NumberOfFrames
    syntax = uids.UID(syntax)
    if syntax in (uids.JPEGBaseline8Bit, uids.JPEGExtended12Bit):
        _jpeg_encode(ds, pixels, photometric, syntax)
    elif syntax == uids.ImplicitVRLittleEndian or syntax == uids.DeflatedExplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = syntax
    elif syntax != uids.ExplicitVRLittleEndian:
        kwargs = {}
        if syntax == uids.JPEGLSNearLossless:
            kwargs["jls_error"] = 2
        if syntax == uids.JPEG2000:
            kwargs["j2k_cr"] = [10]
        if syntax == uids.JPEG2000Lossless and ds.SamplesPerPixel == 3:
            kwargs["use_mct"] = False
        ds.compress(syntax, generate_instance_uid=False, **kwargs)
    name = f"{photometric}-{bits}{'s' if signed else 'u'}-{frames}f-{syntax.name}"
    return Case(roundtrip(ds), burned, name)


def _dataset(rows: int, columns: int, frames: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uids.ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = uids.SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5.6"
    ds.SOPClassUID = uids.SecondaryCaptureImageStorage
    ds.SOPInstanceUID = "1.2.3.4.5.6"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesInstanceUID = "1.2.3.4.5"
    ds.Modality = "OT"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.StudyDate = STUDY_DATE
    ds.InstitutionName = INSTITUTION
    ds.BurnedInAnnotation = "YES"
    return ds


def _jpeg_encode(ds: Dataset, pixels: np.ndarray, photometric: str, syntax: str) -> None:
    fragments = []
    for frame in pixels:
        buffer = io.BytesIO()
        if frame.ndim == 3:
            Image.fromarray(frame, "RGB").save(buffer, "JPEG", quality=95, subsampling=1)  # 4:2:2
        else:
            Image.fromarray(frame, "L").save(buffer, "JPEG", quality=95)
        fragments.append(buffer.getvalue())
    ds.PixelData = encapsulate(fragments)
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = syntax
    if frame.ndim == 3:
        ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.LossyImageCompression = "01"


def roundtrip(ds: Dataset) -> Dataset:
    """Write and read back, as the pipeline would hand the instance over."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return pydicom.dcmread(io.BytesIO(buffer.getvalue()))


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()

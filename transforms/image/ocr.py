"""OCR behind a small interface: an 8-bit image in, text boxes out (RapidOCR, whose models ship in its wheel)."""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from transforms.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextBox:
    """An axis-aligned text region in pixel coordinates; x1 and y1 are exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int
    text: str = ""
    confidence: float = 0.0

    def padded(self, pad: int, rows: int, columns: int) -> TextBox:
        """The box grown by ``pad`` pixels on every side, clipped to a rows × columns image."""
        return TextBox(
            max(0, self.x0 - pad),
            max(0, self.y0 - pad),
            min(columns, self.x1 + pad),
            min(rows, self.y1 + pad),
            self.text,
            self.confidence,
        )

    def covers(self, other: TextBox) -> bool:
        return self.x0 <= other.x0 and self.y0 <= other.y0 and self.x1 >= other.x1 and self.y1 >= other.y1

    def overlap(self, other: TextBox) -> float:
        """Fraction of ``other``'s area that lies inside this box."""
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        area = max(1, (other.x1 - other.x0) * (other.y1 - other.y0))
        return max(0, w) * max(0, h) / area


class TextDetector(Protocol):
    """Finds text in one image: ``image`` is uint8, (rows, columns) grey or (rows, columns, 3) RGB."""

    def find_text(self, image: np.ndarray) -> list[TextBox]: ...


class RapidOcrDetector:
    """PP-OCRv4 detection + recognition through onnxruntime (the ``rapidocr-onnxruntime`` wheel ships the models).

    Every detected region is returned, however unsure the recogniser is (``text_score=0``): a region that
    cannot be read is still text to redact. Deterministic: onnxruntime on CPU gives the same boxes for the
    same pixels.
    """

    name = "rapidocr"

    def __init__(self, threads: int = 0, box_threshold: float = 0.5):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:  # pragma: no cover - install problem
            raise ConfigError(
                "image", "OCR engine 'rapidocr' is not installed (pip package rapidocr-onnxruntime)"
            ) from None
        self._box_threshold = box_threshold
        kwargs: dict[str, Any] = {"text_score": 0.0, "print_verbose": False}
        if threads > 0:
            kwargs["intra_op_num_threads"] = threads
        self._engine = RapidOCR(**kwargs)
        # rapidocr keeps per-call state on the engine objects; serialise calls within one process.
        self._lock = threading.Lock()

    def find_text(self, image: np.ndarray) -> list[TextBox]:
        image = _as_bgr_uint8(image)
        with self._lock:
            result, _ = self._engine(image, box_thresh=self._box_threshold)
        boxes = []
        rows, columns = image.shape[:2]
        for quad, text, score in result or ():
            xs = [p[0] for p in quad]
            ys = [p[1] for p in quad]
            box = TextBox(
                max(0, int(np.floor(min(xs)))),
                max(0, int(np.floor(min(ys)))),
                min(columns, int(np.ceil(max(xs))) + 1),
                min(rows, int(np.ceil(max(ys))) + 1),
                str(text),
                float(score),
            )
            if box.x1 > box.x0 and box.y1 > box.y0:
                boxes.append(box)
        boxes.sort(key=lambda b: (b.y0, b.x0, b.y1, b.x1))
        return boxes


def _as_bgr_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise ValueError("find_text expects a uint8 image")
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image[:, :, ::-1])  # RGB -> BGR, the order the models were trained on
    raise ValueError("find_text expects (rows, columns) or (rows, columns, 3)")


_DETECTORS = {"rapidocr": RapidOcrDetector}


@functools.cache
def load_detector(name: str = "rapidocr", threads: int = 0) -> TextDetector:
    """The named detector with its model loaded; one instance per process and name (call in DoFn.setup)."""
    try:
        factory = _DETECTORS[name]
    except KeyError:
        raise ConfigError("ocr", f"unknown OCR engine; expected one of {', '.join(sorted(_DETECTORS))}") from None
    log.info("loading OCR engine %s", name)
    return factory(threads=threads)

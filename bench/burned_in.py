"""Burned-in text benchmark: OCR engines compared, per-frame and per-instance cost, PHI-box recall on generated images.

Run from the repository root: ``python bench/burned_in.py`` (about two minutes on 2 cores). Prints figures only;
nothing is asserted here (the tests assert behaviour).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
from pydicom import uid as u

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.image.synth import make_case  # noqa: E402
from transforms.config import ImageConfig  # noqa: E402
from transforms.image import ImageRedactor, TextBox, decode, display_frame, load_detector  # noqa: E402


class TesseractDetector:
    """Debian tesseract-ocr through pytesseract, with the preprocessing it needs on dark noisy images:
    upscale ×2, invert to dark-on-light, binarise at the midpoint; words grouped by line."""

    name = "tesseract"

    def __init__(self):
        import pytesseract

        pytesseract.get_tesseract_version()  # raises when the binary is missing
        self._tess = pytesseract

    def find_text(self, image: np.ndarray) -> list[TextBox]:
        from PIL import Image

        grey = image if image.ndim == 2 else image.mean(axis=2).astype(np.uint8)
        big = np.asarray(Image.fromarray(grey).resize((grey.shape[1] * 2, grey.shape[0] * 2), Image.BICUBIC))
        threshold = (int(big.min()) + int(big.max())) // 2
        binary = np.where(big > threshold, 0, 255).astype(np.uint8)
        data = self._tess.image_to_data(Image.fromarray(binary), config="--psm 11", output_type=self._tess.Output.DICT)
        lines: dict[tuple, list[int]] = {}
        for i, word in enumerate(data["text"]):
            if word.strip():
                lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
        boxes = []
        for indexes in lines.values():
            x0 = min(data["left"][i] for i in indexes) // 2
            y0 = min(data["top"][i] for i in indexes) // 2
            x1 = max(data["left"][i] + data["width"][i] for i in indexes) // 2 + 1
            y1 = max(data["top"][i] + data["height"][i] for i in indexes) // 2 + 1
            text = " ".join(data["text"][i] for i in indexes)
            conf = min(float(data["conf"][i]) for i in indexes) / 100.0
            boxes.append(TextBox(x0, y0, x1, y1, text, max(conf, 0.0)))
        return boxes


def timed(fn, *args, repeat: int = 3, **kwargs):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return value, statistics.median(times)


def shown(case):
    frames = decode(case.ds)
    return display_frame(frames.array[0], frames.photometric)


def redactor(mode: str) -> ImageRedactor:
    return ImageRedactor.from_config(ImageConfig(text_redaction_mode=mode), config_path="image")


def recall(cases, detector) -> tuple[float, float, float, float]:
    """PHI-box recall and label survival after REDACT_SENSITIVE_TEXT; detection recall; seconds per image."""
    phi_total = phi_covered = labels_total = labels_kept = det_total = det_found = 0
    seconds = []
    for make in cases:
        case = make()
        start = time.perf_counter()
        result = redactor("REDACT_SENSITIVE_TEXT").redact(case.ds, detector)
        seconds.append(time.perf_counter() - start)
        painted = result.boxes_per_frame[0]
        found_raw = detector.find_text(shown(make()))
        for text in case.texts:
            covered = any(p.overlap(text.box) >= 0.999 for p in painted)
            seen = any(b.overlap(text.box) >= 0.5 for b in found_raw)
            if text.text != "L":  # a lone letter is below every detector's size floor
                det_total += 1
                det_found += seen
            if text.kind == "phi":
                phi_total += 1
                phi_covered += covered
            elif seen:
                labels_total += 1
                labels_kept += not any(p.overlap(text.box) > 0.2 for p in painted)
    return (
        phi_covered / phi_total,
        labels_kept / max(1, labels_total),
        det_found / max(1, det_total),
        statistics.median(seconds),
    )


def main() -> None:
    print("burned-in text benchmark (median of runs; 2-core machine shared with others)")
    start = time.perf_counter()
    rapid = load_detector()
    print(f"  rapidocr model load: {time.perf_counter() - start:.2f} s (once per worker, DoFn.setup)")

    # 1. Engines compared on the same generated images.
    same_set = [lambda s=s: make_case(seed=s) for s in range(4)]
    engines = [rapid]
    try:
        engines.append(TesseractDetector())
    except Exception as err:  # noqa: BLE001 - tesseract is optional here
        print(f"  tesseract: not available ({type(err).__name__}); comparison skipped")
    hard_set = [lambda s=s: make_case(seed=s, text_level=0.45, font_px=11) for s in range(4)]
    print("\n1. OCR engines on generated 512x512 MONOCHROME2 images (REDACT_SENSITIVE_TEXT), 4 images per set")
    print(
        f"   {'engine':10s} {'set':28s} {'PHI boxes covered':>18s} {'labels kept':>12s} {'text found':>11s} {'s/image':>8s}"
    )
    for label, images in (("bright 18px text", same_set), ("dim (45%) 11px text", hard_set)):
        for engine in engines:
            phi, labels, found, seconds = recall(images, engine)
            name = getattr(engine, "name", type(engine).__name__)
            print(f"   {name:10s} {label:28s} {phi:18.2f} {labels:12.2f} {found:11.2f} {seconds:8.2f}")

    # 2. Cost per frame and per instance.
    print("\n2. Cost (rapidocr)")
    for size in (512, 1024):
        case = make_case(rows=size, columns=size)
        image = shown(case)
        _, per_frame = timed(rapid.find_text, image)
        instances = iter([make_case(rows=size, columns=size) for _ in range(3)])
        _, per_instance = timed(lambda it=instances: redactor("REDACT_SENSITIVE_TEXT").redact(next(it).ds, rapid))
        print(
            f"   {size}x{size}: OCR per frame {per_frame:.2f} s; single-frame instance end to end {per_instance:.2f} s"
        )
    frames = 12
    cine = lambda: make_case(rows=512, columns=512, frames=frames)  # noqa: E731
    sampled = ImageRedactor("REDACT_ALL_TEXT", redactor("REDACT_ALL_TEXT").policy)
    full = ImageRedactor("REDACT_ALL_TEXT", sampled.policy, full_scan=True)
    first, second = cine(), cine()
    res_s, t_s = timed(lambda: sampled.redact(first.ds, rapid), repeat=1)
    res_f, t_f = timed(lambda: full.redact(second.ds, rapid), repeat=1)
    same = res_s.boxes_per_frame == res_f.boxes_per_frame
    print(
        f"   {frames}-frame 512x512 cine, static overlay: sampled rule OCRs {res_s.ocr_frames} frames in {t_s:.1f} s; "
        f"full scan {res_f.ocr_frames} frames in {t_f:.1f} s (x{t_f / t_s:.1f}); same boxes: {same}"
    )
    moving = make_case(rows=512, columns=512, frames=frames, moving_text_frame=4)
    res_m, t_m = timed(lambda: sampled.redact(moving.ds, rapid), repeat=1)
    painted4 = len(res_m.boxes_per_frame[4]) > len(res_m.boxes_per_frame[0])
    print(
        f"   same cine with text added on frame 4 only: OCR of {res_m.ocr_frames} frames in {t_m:.1f} s; "
        f"extra text painted on frame 4: {painted4}"
    )

    # 3. PHI-box recall over the generated set in every encoding.
    variants = [
        {},
        {"bits": 16},
        {"bits": 12, "syntax": u.ImplicitVRLittleEndian},
        {"photometric": "MONOCHROME1", "bits": 16, "signed": True},
        {"bits": 16, "signed": True, "syntax": u.RLELossless},
        {"photometric": "RGB", "syntax": u.RLELossless},
        {"photometric": "YBR_FULL"},
        {"syntax": u.JPEGBaseline8Bit},
        {"photometric": "YBR_FULL_422", "syntax": u.JPEGBaseline8Bit},
        {"syntax": u.JPEGExtended12Bit},
        {"bits": 16, "syntax": u.JPEGLSLossless},
        {"syntax": u.JPEGLSNearLossless},
        {"bits": 16, "syntax": u.JPEG2000Lossless},
        {"bits": 12, "syntax": u.JPEG2000},
        {"rows": 1024, "columns": 1024, "bits": 16},
    ]
    cases = [lambda v=v, i=i: make_case(seed=10 + i, **v) for i, v in enumerate(variants)]
    phi, labels, found, seconds = recall(cases, rapid)
    print(f"\n3. Generated set, {len(cases)} instances (every photometric / depth / syntax), REDACT_SENSITIVE_TEXT")
    print(
        f"   PHI-box recall {phi:.3f} (target >= 0.98); harmless labels kept {labels:.2f}; text regions found {found:.2f}"
    )
    print(f"   median seconds per instance {seconds:.2f}")


if __name__ == "__main__":
    main()

"""Verify throughput against the plain read loop, in the same run: instances/s and the ratio (target >= 0.5x).

Baseline: read each destination file and parse it with pydicom (what any tool reading the store does).
Verify: read each file and search it for the source's identifiers (scan_dicom_instance: raw bytes outside
PixelData in one Aho-Corasick pass, element walk only on a hit). Identifier collection from the source is timed
separately. Usage: python bench/verify_throughput.py [--instances N] [--rows R] [--leak-every K]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import pydicom

from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.dicom.sample import SamplePatient, sample_store_files
from transforms.verify import IdentifierMatcher, dicom_identifiers, scan_dicom_instance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=400)
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--leak-every", type=int, default=0, help="plant a name in every K-th instance (0: none)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    keys = Keys(b"B" * 32)
    per_series = 10
    patients = max(1, args.instances // per_series)
    source = [data for _, data in sample_store_files(patients, 1, 1, per_series, args.rows, args.rows)]
    policy = compile_dicom_policy(None)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, data in enumerate(source):
            out = deidentify_instance(data, policy, keys).data
            if args.leak_every and i % args.leak_every == 0:
                ds = pydicom.dcmread(io.BytesIO(out))
                ds.ImageComments = "seen by " + SamplePatient(i // per_series).name
                buf = io.BytesIO()
                ds.save_as(buf)
                out = buf.getvalue()
            path = Path(tmp) / f"{i:06d}.dcm"
            path.write_bytes(out)
            paths.append(path)

        t0 = time.perf_counter()
        identifiers = [ident for data in source for ident in dicom_identifiers(data, keys)]
        matcher = IdentifierMatcher(set(identifiers))
        collect = time.perf_counter() - t0

        def baseline() -> int:
            for path in paths:
                pydicom.dcmread(io.BytesIO(path.read_bytes()))
            return 0

        def verify() -> int:
            return sum(len(scan_dicom_instance(path.read_bytes(), matcher, path.name)) for path in paths)

        best = {}
        findings = 0
        for _ in range(args.repeat):
            for name, fn in (("read loop", baseline), ("verify", verify)):
                t = time.perf_counter()
                result = fn()
                best[name] = min(best.get(name, 1e9), time.perf_counter() - t)
                if name == "verify":
                    findings = result
    n = len(paths)
    size = sum(p for p in [len(source[0])]) / 1024
    print(f"{n} instances of {size:.0f} KiB ({args.rows}x{args.rows} int16), {matcher.size} search patterns")
    print(f"collect identifiers from source: {n / collect:,.0f} instances/s")
    for name in ("read loop", "verify"):
        print(f"{name:>10}: {n / best[name]:,.0f} instances/s")
    print(f"verify / read loop throughput: {best['read loop'] / best['verify']:.2f}x (target >= 0.5x); "
          f"findings: {findings}")


if __name__ == "__main__":
    main()

"""Incremental runs: cost of learning an instance's destination (path parse vs header-only read) against the
cost of de-identifying it, per instance, measured in the same run."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pipelines.dicom.incremental import predicted_store_path
from pipelines.stores.dicom import uids_from_header, uids_from_path
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.dicom.sample import sample_store_files


def _per_instance(fn, items, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, (time.perf_counter() - start) / len(items))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    policy, keys = compile_dicom_policy(None), Keys(b"b" * 32)
    files = dict(sample_store_files(patients=args.patients, studies=1, series=2, instances=5))
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for relative, data in files.items():
            path = Path(tmp) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            paths.append((relative, path))

        def by_path(item):
            return predicted_store_path(uids_from_path(item[0]), policy, keys)

        def by_header(item):
            with open(item[1], "rb") as handle:
                return predicted_store_path(uids_from_header(handle), policy, keys)

        def full(item):
            return deidentify_instance(item[1].read_bytes(), policy, keys).store_path

        assert all(by_path(i) == by_header(i) == full(i) for i in paths)
        size = sum(len(d) for d in files.values()) / len(files)
        t_path, t_header, t_full = (_per_instance(f, paths, args.repeat) for f in (by_path, by_header, full))
    print(f"{len(paths)} instances, {size / 1024:.0f} KiB each (local files)")
    print(f"export-layout path   {t_path * 1e6:8.1f} us/instance   {t_full / t_path:7.0f}x cheaper than de-identify")
    print(f"header-only read     {t_header * 1e6:8.1f} us/instance   {t_full / t_header:7.1f}x cheaper than de-identify")
    print(f"read + de-identify   {t_full * 1e6:8.1f} us/instance")


if __name__ == "__main__":
    main()

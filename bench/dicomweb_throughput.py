"""DICOMweb throughput: Orthanc -> Orthanc through deidflow vs a plain dicomweb-client retrieve+store loop, same run.

Usage: python bench/dicomweb_throughput.py [--n 300] [--size 256] [--workers 2] [--batch 20]

Starts three Orthanc servers (source, deidflow's destination, the baseline's destination) on free loopback
ports, STOWs N synthetic instances (size x size 16-bit CT) into the source, then times
  baseline: dicomweb-client, QIDO-RS studies -> series -> instances, retrieve_instance + store_instances one
            instance at a time, no de-identification (one process, one thread: what a script would do);
  deidflow: `deidflow dicom-stores deidentify --source-dicomweb ... --destination-dicomweb ...` on the
            DirectRunner with --workers processes, start-up included.
Prints both rates (instances/s) and the ratio deidflow / baseline (target >= 1.0 with 2 workers).
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from pipelines.stores.dicomweb import DicomWebEndpoint, store_instances  # noqa: E402
from tests.storage.conftest import OrthancServer  # noqa: E402
from transforms.dicom.sample import sample_store_files  # noqa: E402


def count_instances(url: str) -> int:
    import requests

    base = url.rsplit("/dicom-web", 1)[0]
    return int(requests.get(f"{base}/statistics", timeout=30).json()["CountInstances"])


def load_source(server: OrthancServer, n: int, size: int) -> None:
    per_series = 10
    patients = max(1, (n + 2 * per_series - 1) // (2 * per_series))
    files = list(sample_store_files(patients=patients, studies=1, series=2, instances=per_series, rows=size,
                                    columns=size))[:n]
    endpoint = DicomWebEndpoint(server.url)
    for start in range(0, len(files), 50):
        failures = store_instances(endpoint, files[start:start + 50])
        assert not failures, "the source server refused sample instances"
    assert count_instances(server.url) == n


def baseline(source_url: str, destination_url: str) -> int:
    from dicomweb_client.api import DICOMwebClient

    source, destination = DICOMwebClient(source_url), DICOMwebClient(destination_url)
    done = 0
    for study in source.search_for_studies():
        study_uid = study["0020000D"]["Value"][0]
        for series in source.search_for_series(study_uid):
            series_uid = series["0020000E"]["Value"][0]
            for instance in source.search_for_instances(study_uid, series_uid):
                sop_uid = instance["00080018"]["Value"][0]
                dataset = source.retrieve_instance(study_uid, series_uid, sop_uid)
                destination.store_instances([dataset])
                done += 1
    return done


def deidflow(source_url: str, destination_url: str, workers: int, batch: int, work: Path) -> None:
    key = work / "run.key"
    key.write_text(base64.b64encode(b"B" * 32).decode())
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "dicom-stores", "deidentify", "--source-dicomweb", source_url,
         "--destination-dicomweb", destination_url, "--store-root", str(work / "stores"), "--key-file", str(key),
         "--dicomweb-batch-size", str(batch), f"--direct_num_workers={workers}",
         "--direct_running_mode=" + ("multi_processing" if workers > 1 else "in_memory")],
        env=env, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"deidflow exited with {proc.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1500)  # enough instances that the ~5 s start-up of 2 worker processes is amortised
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicomweb-bench-") as tmp:
        work = Path(tmp)
        servers = []
        try:
            for name in ("source", "deidflow", "baseline"):
                (work / name).mkdir()
                servers.append(OrthancServer(work / name))
            source, deid_dest, base_dest = servers
            load_source(source, args.n, args.size)

            start = time.perf_counter()
            done = baseline(source.url, base_dest.url)
            base_s = time.perf_counter() - start
            assert done == args.n and count_instances(base_dest.url) == args.n

            start = time.perf_counter()
            deidflow(source.url, deid_dest.url, args.workers, args.batch, work)
            deid_s = time.perf_counter() - start
            assert count_instances(deid_dest.url) == args.n
        finally:
            for server in servers:
                server.stop()
    base_rate, deid_rate = args.n / base_s, args.n / deid_s
    mb = args.size * args.size * 2 / 1e6
    print(f"instances: {args.n} ({args.size}x{args.size}, {mb:.2f} MB pixel data each)")
    print(f"baseline (dicomweb-client retrieve+store, no de-identification): {base_s:7.2f} s  {base_rate:7.1f} inst/s")
    print(f"deidflow (DirectRunner, {args.workers} workers, STOW batch {args.batch}, start-up included): "
          f"{deid_s:7.2f} s  {deid_rate:7.1f} inst/s")
    print(f"ratio deidflow / baseline: {deid_rate / base_rate:.2f} (target >= 1.0)")


if __name__ == "__main__":
    main()

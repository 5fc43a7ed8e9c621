"""DICOM throughput: plain pydicom read+write vs deidentify_instance vs the whole deidflow command, in one run.

Generates CT-like instances (512x512 int16, ~50 header elements, synthetic PHI) and measures
  (a) baseline: pydicom.dcmread + save_as, file to file;
  (b) the pure core: read bytes + deidentify_instance + write bytes, file to file;
  (c) `deidflow dicom-stores deidentify` on the DirectRunner with 2 worker processes.
(a) and (b) are timed in-process at N instances; (a) and (c) are also timed as whole processes at N1 and N2 instances,
and the marginal rate 1000 / (t(N2) - t(N1)) * (N2 - N1) / 1000 removes start-up from the comparison. Peak RSS of (c)
(the whole process tree) is sampled at N1 and 4*N1.

Usage: python bench/dicom_throughput.py [--n 1000] [--n1 500] [--n2 2500] [--workdir DIR]

N2 - N1 must be large enough that the extra instances take clearly longer than start-up jitter (about a
second here): with 1,000 extra instances the marginal rate came out negative on a quiet machine, so the default
span is 2,000.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transforms.crypto import Keys  # noqa: E402
from transforms.dicom.deidentify import deidentify_instance  # noqa: E402
from transforms.dicom.policy import compile_dicom_policy  # noqa: E402
from transforms.dicom.sample import SamplePatient, sample_instance  # noqa: E402

DATASET = "projects/bench/locations/local/datasets/ds"

BASELINE_SCRIPT = """
import os, sys, pydicom
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for root, _, files in os.walk(src):
    for name in files:
        if root.endswith('.deidflow') or '.deidflow' in root:
            continue
        ds = pydicom.dcmread(os.path.join(root, name))
        ds.save_as(os.path.join(dst, name))
"""


TRIVIAL_PIPELINE = """
import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
opts = PipelineOptions(["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"])
with beam.Pipeline(options=opts) as p:
    p | beam.Create(list(range(10))) | beam.Reshuffle() | beam.Map(lambda x: x)
"""


def generate(pool: Path, count: int) -> list[Path]:
    pool.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        patient = SamplePatient(i // 100)
        path = pool / f"{i:06d}.dcm"
        if not path.exists():
            path.write_bytes(sample_instance(patient, 0, (i // 10) % 10, i % 10 + 10 * (i // 100), 512, 512))
        paths.append(path)
    return paths


def make_store(root: Path, name: str, files: list[Path]) -> str:
    store = f"{DATASET}/dicomStores/{name}"
    folder = root / store
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for path in files:
        os.link(path, folder / path.name)
    return store


def loop_baseline(files: list[Path], out: Path) -> float:
    import pydicom

    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for path in files:
        pydicom.dcmread(path).save_as(out / path.name)
    return time.perf_counter() - start


def loop_core(files: list[Path], out: Path) -> float:
    policy = compile_dicom_policy(None)
    keys = Keys(b"b" * 32)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for path in files:
        result = deidentify_instance(path.read_bytes(), policy, keys)
        (out / f"{result.sop_uid}.dcm").write_bytes(result.data)
    return time.perf_counter() - start


def _tree_rss_kb(pid: int) -> int:
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as handle:
                    stack.extend(int(c) for c in handle.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def timed_process(cmd: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, summed over the process tree) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, err = proc.communicate()
    sampler.join()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return elapsed, peak


def run_command(root: Path, store: str, dest: str) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "pipelines.cli", "dicom-stores", "deidentify", store, "--destination-store", dest,
           "--store-root", str(root), "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]
    return timed_process(cmd, REPO)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--n1", type=int, default=500)
    parser.add_argument("--n2", type=int, default=2500)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--repeat", type=int, default=3, help="whole-process timings: best of this many")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="deidflow-bench-"))
    pool = generate(work / "pool", max(args.n, args.n2, 4 * args.n1))
    print(f"generated {len(pool)} instances of {pool[0].stat().st_size // 1024} KiB in {work}")

    files = pool[: args.n]
    loop_baseline(files[:50], work / "warm-a")
    t_a = t_b = float("inf")
    for _ in range(2):  # interleaved, best of two: page cache and write-back treat both loops alike
        t_a = min(t_a, loop_baseline(files, work / "out-a"))
        t_b = min(t_b, loop_core(files, work / "out-b"))
    rate_a, rate_b = args.n / t_a, args.n / t_b
    print(f"(a) pydicom dcmread+save_as      N={args.n}: {rate_a:8.1f} instances/s")
    print(f"(b) deidentify_instance loop     N={args.n}: {rate_b:8.1f} instances/s   b/a = {rate_b / rate_a:.2f}")

    root = work / "stores"
    (root / DATASET).mkdir(parents=True, exist_ok=True)
    times_a, times_c, rss = {}, {}, {}
    for n in (args.n1, args.n2):
        store = make_store(root, f"src{n}", pool[:n])
        times_a[n] = times_c[n] = float("inf")
        for rep in range(args.repeat):  # whole processes are noisy: best of --repeat
            out = work / f"proc-a-{n}"
            shutil.rmtree(out, ignore_errors=True)
            elapsed, _ = timed_process([sys.executable, "-c", BASELINE_SCRIPT, str(root / store), str(out)], REPO)
            times_a[n] = min(times_a[n], elapsed)
            elapsed, peak = run_command(root, store, f"{DATASET}/dicomStores/dst{n}-{rep}")
            times_c[n] = min(times_c[n], elapsed)
            rss[n] = max(rss.get(n, 0), peak)
        print(f"    whole process N={n}: (a) {times_a[n]:.2f} s   (c) {times_c[n]:.2f} s   (c) peak RSS {rss[n] / 1024:.0f} MiB")
    span = args.n2 - args.n1
    if times_c[args.n2] <= times_c[args.n1] or times_a[args.n2] <= times_a[args.n1]:
        sys.exit("N2 was not slower than N1: the span is inside start-up noise; rerun with a larger --n2")
    marginal_a = span / (times_a[args.n2] - times_a[args.n1])
    marginal_c = span / (times_c[args.n2] - times_c[args.n1])
    startup_c = times_c[args.n1] - args.n1 / marginal_c
    print(f"(a) marginal rate: {marginal_a:8.1f} instances/s")
    print(f"(c) marginal rate: {marginal_c:8.1f} instances/s   marginal c/a = {marginal_c / marginal_a:.2f}")
    print(f"(c) start-up: {startup_c:.2f} s")
    trivial, _ = timed_process([sys.executable, "-c", TRIVIAL_PIPELINE], REPO)
    print(f"    for scale: a trivial 2-process DirectRunner pipeline (Create, Reshuffle, Map) takes {trivial:.2f} s "
          "as a whole process on this machine now")

    n4 = 4 * args.n1
    if n4 not in rss:
        store = make_store(root, f"src{n4}", pool[:n4])
        _, rss[n4] = run_command(root, store, f"{DATASET}/dicomStores/dst{n4}")
    print(f"(c) peak RSS: N={args.n1} {rss[args.n1] / 1024:.0f} MiB, 4N={n4} {rss[n4] / 1024:.0f} MiB, "
          f"ratio {rss[n4] / rss[args.n1]:.2f}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

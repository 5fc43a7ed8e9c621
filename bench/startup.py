"""Start-up of every de-identify command: wall and CPU time of whole commands on a 1-element store and a small one.

Usage: python bench/startup.py [--trees /old/tree,/new/tree] [--repeat 5] [--small 100] [--modes workers,default]
                               [--only dicom,fhir,datasets]

For each tree (``--trees``; default: this one), each command (``dicom-stores``, ``fhir-stores``, ``datasets``
deidentify), each store size (tiny: 1 DICOM instance / 1 FHIR patient; small: ``--small`` DICOM instances and
``--small // 2`` FHIR patients) and each mode (``workers``: ``--direct_num_workers 2 --direct_running_mode
multi_processing``, as the throughput benches pass them; ``default``: no Beam option at all), the command runs
``--repeat`` times, interleaved (tree, command, size, mode rotate inside each repeat) so a loaded machine hits
all alike. Each run is a subprocess with cwd and PYTHONPATH set to its tree; its wall time and its CPU time (user +
system of the process and every worker it waited for) are recorded; the table shows medians. Start-up is the
tiny store's wall time (its one element costs milliseconds). Target (issue 21): <= 2 s for every command.
Stores come from ``deidflow sample`` (this tree's), in a temporary folder removed at the end; the store commands
write into a dataset of their own (``<size>-stores``), so the datasets command always reads the same two stores.
"""

from __future__ import annotations

import argparse
import base64
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATASETS = "projects/b/locations/l/datasets"
WORKERS = ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]


def run(tree: str, args: list[str], cwd: str) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m pipelines.cli`` run with ``tree`` first on the path."""
    env = dict(os.environ, PYTHONPATH=tree)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: deidflow {' '.join(args[:2])} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def make_stores(root: str, small: int) -> None:
    """Datasets ``tiny`` and ``small``, each with one DICOM store ``dcm`` and one FHIR store ``fhir``."""
    sizes = {"tiny": (["--patients", "1", "--series", "1", "--instances", "1"], ["--patients", "1"]),
             "small": (["--patients", str(max(1, small // 10)), "--series", "2", "--instances", "5"],
                       ["--patients", str(max(1, small // 2))])}
    for size, (dicom, fhir) in sizes.items():
        for group, store, extra in (("dicom-store", "dicomStores/dcm", dicom), ("fhir-store", "fhirStores/fhir", fhir)):
            subprocess.run([sys.executable, "-m", "pipelines.cli", "sample", group, f"{DATASETS}/{size}/{store}",
                            "--store-root", root, *extra], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                           check=True, stdout=subprocess.DEVNULL)
        # the store commands' destinations: a dataset of their own, so the datasets command reads 2 stores only
        os.makedirs(os.path.join(root, *f"{DATASETS}/{size}-stores".split("/")), exist_ok=True)


def command(kind: str, size: str, root: str, key: str, run_no: int, tree_no: int, mode: str) -> list[str]:
    """The command line of one run; every run writes a new destination (datasets: it must not exist)."""
    tag = f"out{tree_no}x{run_no}{mode[0]}"
    out = f"{DATASETS}/{size}-stores"  # not the source dataset: the datasets command would de-identify them too
    common = ["--store-root", root, "--key-file", key, "--quiet"]
    beam = WORKERS if mode == "workers" else []
    if kind == "dicom":
        return ["dicom-stores", "deidentify", f"{DATASETS}/{size}/dicomStores/dcm", "--destination-store",
                f"{out}/dicomStores/{tag}", *common, *beam]
    if kind == "fhir":
        return ["fhir-stores", "deidentify", f"{DATASETS}/{size}/fhirStores/fhir", "--destination-store",
                f"{out}/fhirStores/{tag}", "--reference-date", "2025-01-01", *common, *beam]
    return ["datasets", "deidentify", f"{DATASETS}/{size}", "--destination-dataset", f"{DATASETS}/{size}-{tag}",
            "--reference-date", "2025-01-01", *common, *beam]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", default=ROOT, help="comma-separated source trees (old,new)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--small", type=int, default=100, help="DICOM instances of the small store")
    parser.add_argument("--modes", default="workers,default")
    parser.add_argument("--only", default="dicom,fhir,datasets")
    parser.add_argument("--sizes", default="tiny,small")
    args = parser.parse_args()
    trees = [os.path.abspath(t) for t in args.trees.split(",")]
    kinds, modes, sizes = args.only.split(","), args.modes.split(","), args.sizes.split(",")
    root = tempfile.mkdtemp(prefix="startup-bench-")
    try:
        key = os.path.join(root, "run.key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as out:
            out.write(base64.b64encode(b"\x07" * 32).decode())
        store_root = os.path.join(root, "stores")
        make_stores(store_root, args.small)
        times: dict[tuple, list[tuple[float, float]]] = {}
        for run_no in range(args.repeat):
            for kind in kinds:
                for size in sizes:
                    for mode in modes:
                        for tree_no, tree in enumerate(trees):
                            line = command(kind, size, store_root, key, run_no, tree_no, mode)
                            times.setdefault((kind, size, mode, tree_no), []).append(run(tree, line, tree))
            print(f"repeat {run_no + 1}/{args.repeat} done (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {os.cpu_count()} cores")
        print(f"{'command':9s} {'store':6s} {'mode':8s} " + " ".join(
            f"{'wall ' + str(i):>8s} {'cpu ' + str(i):>8s}" for i in range(len(trees))) + "   (median s; trees: "
            + ", ".join(f"{i}={t}" for i, t in enumerate(trees)) + ")")
        for kind in kinds:
            for size in sizes:
                for mode in modes:
                    cells = []
                    for tree_no in range(len(trees)):
                        runs = times[(kind, size, mode, tree_no)]
                        cells.append(f"{statistics.median(w for w, _ in runs):8.2f} "
                                     f"{statistics.median(c for _, c in runs):8.2f}")
                    print(f"{kind:9s} {size:6s} {mode:8s} " + " ".join(cells))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

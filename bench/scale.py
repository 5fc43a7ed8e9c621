"""Scale: wall time and peak RSS of the largest process for 1x and 4x stores, DICOM and FHIR, both Patient joins,
against the plain loops (pydicom read+write, json.loads+dumps) measured in the same run.

Usage: python bench/scale.py [--fhir-patients 5000] [--dicom-instances 5000] [--factor 4] [--workers 2]
                             [--trees /old/tree,/new/tree] [--only fhir|dicom] [--joins side,keyed]

Stores come from ``deidflow sample``. Every run is a subprocess; its process tree is polled (``/proc``, every
50 ms) and the peak is the largest VmHWM (the kernel's own high-water mark) of any process in the tree — the
launcher and each worker; each run also prints every process's peak. ``--trees`` runs each command with PYTHONPATH set to each tree in turn, interleaved
(old, new, old, new ...), so a loaded machine hits both alike. Prints one table row a run and, per tree, the
memory growth 4x/1x and the whole command's rate against the plain loop's.
Targets (issue 21): FHIR peak RSS at 4x <= 1.3x the 1x figure, both joins; FHIR >= 0.15x the plain json loop.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FHIR_SOURCE = "projects/p/locations/l/datasets/d/fhirStores/src{n}"
FHIR_DEST = "projects/p/locations/l/datasets/d/fhirStores/out"
DICOM_SOURCE = "projects/p/locations/l/datasets/d/dicomStores/src{n}"
DICOM_DEST = "projects/p/locations/l/datasets/d/dicomStores/out"

JSON_LOOP = r"""
import json, os, sys
n = 0
for root, _, files in os.walk(sys.argv[1]):
    for name in sorted(files):
        if name.endswith(".ndjson"):
            with open(os.path.join(root, name), "rb") as handle:
                lines = [json.dumps(json.loads(line), separators=(",", ":")) for line in handle if line.strip()]
            n += len(lines)
print(n)
"""

DICOM_LOOP = r"""
import io, os, sys
import pydicom
n = 0
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith(".dcm"):
            ds = pydicom.dcmread(os.path.join(root, name))
            ds.PatientName = "X"
            out = io.BytesIO()
            ds.save_as(out)
            n += 1
print(n)
"""


def _children(pid: int) -> list[int]:
    """Every descendant of a process (a scan of /proc: ``task/*/children`` is not in every kernel)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd: list[str], env: dict, cwd: str) -> tuple[float, int, int, int]:
    """(wall s, peak RSS of the largest process in MB, processes seen, peak RSS of the launching process in MB)
    of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peaks: dict[int, int] = {}
    import threading

    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))
    reader.start()
    while proc.poll() is None:
        for pid in [proc.pid, *_children(proc.pid)]:
            hwm = _hwm_kb(pid)
            if hwm:
                peaks[pid] = max(peaks.get(pid, 0), hwm)
        time.sleep(0.05)
    wall = time.perf_counter() - start
    reader.join()
    output = b"".join(chunks).decode(errors="replace")
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{cmd[:4]} exited {proc.returncode}:\n{output[-3000:]}")
    every = sorted((v // 1024 for v in peaks.values() if v >= 10 << 10), reverse=True)  # Python processes only
    print("    peak MB of every process:", every, flush=True)
    return wall, max(peaks.values(), default=0) // 1024, len(peaks), peaks.get(proc.pid, 0) // 1024


def env_for(tree: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = tree
    env.pop("PYTHONHASHSEED", None)
    return env


def deidflow(tree: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from pipelines.cli import main; sys.exit(main())"]


def make_stores(root: str, tree: str, fhir: list[int], dicom: list[int]) -> None:
    for n in fhir:
        subprocess.run([*deidflow(tree), "sample", "fhir-store", "--store-root", root, "--patients", str(n),
                        FHIR_SOURCE.format(n=n)], env=env_for(tree), check=True, stdout=subprocess.DEVNULL)
    for n in dicom:
        subprocess.run([*deidflow(tree), "sample", "dicom-store", "--store-root", root, "--patients", str(n),
                        "--studies", "1", "--series", "1", "--instances", "1", "--rows", "8", "--columns", "8",
                        DICOM_SOURCE.format(n=n)], env=env_for(tree), check=True, stdout=subprocess.DEVNULL)


def count_files(folder: str, suffix: str) -> int:
    n = 0
    for _, _, files in os.walk(folder):
        n += sum(1 for f in files if f.endswith(suffix))
    return n


def count_lines(folder: str) -> int:
    n = 0
    for dirpath, _, files in os.walk(folder):
        for f in files:
            if f.endswith(".ndjson"):
                with open(os.path.join(dirpath, f), "rb") as handle:
                    n += sum(1 for line in handle if line.strip())
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fhir-patients", type=int, default=5000, help="1x FHIR store (the issue: 5000)")
    ap.add_argument("--dicom-instances", type=int, default=5000, help="1x DICOM store (the issue: 5000)")
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--trees", default=ROOT, help="comma-separated source trees to compare (PYTHONPATH each)")
    ap.add_argument("--only", choices=("fhir", "dicom"))
    ap.add_argument("--joins", default="side,keyed")
    ap.add_argument("--keep", help="store root to reuse/keep (default: a temporary folder)")
    args = ap.parse_args()

    trees = [os.path.abspath(t) for t in args.trees.split(",")]
    root = args.keep or tempfile.mkdtemp(prefix="deidflow-scale-")
    fhir_sizes = [] if args.only == "dicom" else [args.fhir_patients, args.fhir_patients * args.factor]
    dicom_sizes = [] if args.only == "fhir" else [args.dicom_instances, args.dicom_instances * args.factor]
    missing_f = [n for n in fhir_sizes if not os.path.isdir(os.path.join(root, FHIR_SOURCE.format(n=n)))]
    missing_d = [n for n in dicom_sizes if not os.path.isdir(os.path.join(root, DICOM_SOURCE.format(n=n)))]
    make_stores(root, trees[-1], missing_f, missing_d)
    beam = ["--direct_num_workers", str(args.workers), "--direct_running_mode", "multi_processing"]
    key = os.path.join(root, "key.b64")
    if not os.path.exists(key):
        with open(key, "w") as handle:
            handle.write("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n")
    rows: list[tuple] = []  # (kind, size, what, tree, wall, mb, procs, items)

    def dest_clean(dest: str) -> None:
        shutil.rmtree(os.path.join(root, dest), ignore_errors=True)

    print(f"store root {root}; trees {trees}", flush=True)
    print(f"{'run':<34}{'tree':<22}{'items':>8}{'wall s':>9}{'peak MB':>9}{'launcher':>9}{'procs':>6}", flush=True)

    def report(kind, size, what, tree, wall, mb, procs, items, launcher=0):
        rows.append((kind, size, what, tree, wall, mb, procs, items))
        label = f"{kind} {size} {what}"
        print(f"{label:<34}{os.path.basename(tree) or tree:<22}{items:>8}{wall:>9.1f}{mb:>9}{launcher:>9}{procs:>6}",
              flush=True)

    for n in fhir_sizes:
        src = os.path.join(root, FHIR_SOURCE.format(n=n))
        items = count_lines(src)
        wall, mb, procs, _ = measure([sys.executable, "-c", JSON_LOOP, src], env_for(trees[-1]), root)
        report("fhir", n, "json loop", "baseline", wall, mb, procs, items)
        for join in args.joins.split(","):
            for tree in trees:
                dest_clean(FHIR_DEST)
                cmd = [*deidflow(tree), "fhir-stores", "deidentify", FHIR_SOURCE.format(n=n), "--destination-store",
                       FHIR_DEST, "--store-root", root, "--key-file", key, "--reference-date", "2026-01-01",
                       "--patient-join", join, "--quiet", *beam]
                wall, mb, procs, launcher = measure(cmd, env_for(tree), root)
                report("fhir", n, f"deidentify {join}", tree, wall, mb, procs, items, launcher)
    for n in dicom_sizes:
        src = os.path.join(root, DICOM_SOURCE.format(n=n))
        items = count_files(src, ".dcm")
        wall, mb, procs, _ = measure([sys.executable, "-c", DICOM_LOOP, src], env_for(trees[-1]), root)
        report("dicom", n, "pydicom loop", "baseline", wall, mb, procs, items)
        for tree in trees:
            dest_clean(DICOM_DEST)
            cmd = [*deidflow(tree), "dicom-stores", "deidentify", DICOM_SOURCE.format(n=n), "--destination-store",
                   DICOM_DEST, "--store-root", root, "--key-file", key, "--quiet", *beam]
            wall, mb, procs, launcher = measure(cmd, env_for(tree), root)
            report("dicom", n, "deidentify", tree, wall, mb, procs, items, launcher)

    print("\nsummary (per tree): peak RSS growth at the larger store, whole command vs plain loop")
    by = {(r[0], r[1], r[2], r[3]): r for r in rows}
    for kind, sizes, whats, loop in (("fhir", fhir_sizes, [f"deidentify {j}" for j in args.joins.split(",")],
                                      "json loop"), ("dicom", dicom_sizes, ["deidentify"], "pydicom loop")):
        if not sizes:
            continue
        small, large = sizes
        for what in whats:
            for tree in trees:
                a, b = by.get((kind, small, what, tree)), by.get((kind, large, what, tree))
                base = by.get((kind, large, loop, "baseline"))
                if not (a and b and base):
                    continue
                print(f"  {kind} {what:<18} {os.path.basename(tree):<14} peak {a[5]} -> {b[5]} MB "
                      f"({b[5] / max(a[5], 1):.2f}x); {large}: {b[4]:.1f} s vs loop {base[4]:.1f} s "
                      f"({base[4] / b[4]:.3f}x the loop's rate)")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

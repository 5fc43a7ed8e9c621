"""FHIR de-identification throughput: resources/s against json.loads+json.dumps measured in the same run.

Usage: python bench/fhir_throughput.py [--n 3000] [--profile] [--command] [--sizes 2000,32000] [--join] [--repeat 3]
Prints, separately for structured resources (Patient, Encounter, Observation, Condition, ImagingStudy,
MedicationRequest, ...) and narrative-heavy ones (DiagnosticReport, DocumentReference and Patient narrative,
notes, base64 text), the baseline rate, the de-identification rate under the shipped default config, and the
ratio. Target: structured >= 0.2x of the baseline. Each timed pass starts with empty text caches (a pass over
texts cleaned before would find every one remembered); the rate of a further pass with warm caches follows.

--command also times the whole ``deidflow fhir-stores deidentify`` (DirectRunner, 2 worker processes) on stores
of two sizes: the marginal rate (extra resources / extra seconds), the start-up (time at size 0 by the same
line) and the marginal rate's ratio to the baseline. Target: structured >= 0.15x. --join adds the cost of the
Patient join: the pipeline at the larger size, in process, with the side input of Patient batches (the
default), the keyed GroupByKey join, and none. On a shared machine pass --repeat 3: each size keeps its
fastest run.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime
import json
import os
import pickle
import pstats
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from transforms.crypto import Keys  # noqa: E402
from transforms.fhir import compile_fhir_policy, deidentify_resource  # noqa: E402
from transforms.fhir.sample import sample_store  # noqa: E402

NARRATIVE = {"DiagnosticReport", "DocumentReference"}


def lines(n: int) -> tuple[list[str], list[str]]:
    """NDJSON lines, Synthea-like, split into structured and narrative-heavy (Patients' narratives removed from
    the structured set, so it measures the structured path)."""
    structured: list[str] = []
    narrative: list[str] = []
    seed = 0
    while len(structured) < n or len(narrative) < n:
        for r in sample_store(n_patients=20, seed=seed).resources:
            if r["resourceType"] in NARRATIVE or "text" in r:
                narrative.append(json.dumps(r))
            if r["resourceType"] not in NARRATIVE:
                s = {k: v for k, v in r.items() if k not in ("text", "note", "valueString")}
                structured.append(json.dumps(s))
        seed += 1
    return structured[:n], narrative[:n]


def rate(fn, items: list[str], repeat: int = 3, reset=None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if reset is not None:
            reset()
        t = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - t)
    return len(items) / best


REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATASET = "projects/bench/locations/local/datasets/fhir"
WORKERS = ("--direct_num_workers", "2", "--direct_running_mode", "multi_processing")


def write_store(folder: str, items: list[str]) -> None:
    """Items as ``<Type>.ndjson`` files, as a FHIR store export lays them out."""
    by_type: dict[str, list[str]] = {}
    for item in items:
        by_type.setdefault(json.loads(item)["resourceType"], []).append(item)
    os.makedirs(folder, exist_ok=True)
    for rtype, group in by_type.items():
        with open(os.path.join(folder, f"{rtype}.ndjson"), "w", encoding="utf-8") as out:
            out.write("\n".join(group) + "\n")


def time_command(root: str, store: str, key_file: str) -> float:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    dest = f"{DATASET}/fhirStores/{store}-out"
    shutil.rmtree(os.path.join(root, dest), ignore_errors=True)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "fhir-stores", "deidentify", f"{DATASET}/fhirStores/{store}",
         "--destination-store", dest, "--store-root", root, "--key-file", key_file, "--reference-date",
         "2025-01-01", *WORKERS], env=env, capture_output=True, text=True)  # fmt: skip
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"deidflow exited {proc.returncode}: {proc.stderr[-2000:]}")
    return elapsed


def command_bench(sets: dict[str, list[str]], sizes: tuple[int, int], baselines: dict[str, float],
                  repeat: int = 1) -> None:
    root = tempfile.mkdtemp(prefix="fhir-bench-")
    key_file = os.path.join(root, "run.key")
    with open(key_file, "w") as out:
        out.write(base64.b64encode(b"\x05" * 32).decode())
    try:
        for name, items in sets.items():
            small, large = sizes if name == "structured" else (sizes[0] // 8, sizes[1] // 8)
            for n in (small, large):
                write_store(os.path.join(root, DATASET, "fhirStores", f"{name}-{n}"), items[:n])
            times = [float("inf"), float("inf")]
            for _ in range(repeat):  # sizes interleaved, best of each: the machine's speed drifts over minutes
                for i, n in enumerate((small, large)):
                    times[i] = min(times[i], time_command(root, f"{name}-{n}", key_file))
            marginal = (large - small) / max(times[1] - times[0], 1e-9)
            startup = times[0] - small / marginal
            print(f"{name:16s} command  n={small}: {times[0]:6.1f} s  n={large}: {times[1]:6.1f} s  marginal "
                  f"{marginal:7.0f}/s  start-up {startup:5.1f} s  ratio {marginal / baselines[name]:.3f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def join_bench(items: list[str], repeat: int = 1) -> None:
    """The Patient join's cost: the same pipeline, in process, with the keyed join, a side input, and none
    (the joins interleaved, the fastest of ``repeat`` runs of each)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.fhir.branch import add_fhir_store_branch

    keys = Keys(run_key=b"\x05" * 32)
    policy = compile_fhir_policy(None, reference_date=datetime.date(2025, 1, 1))
    root = tempfile.mkdtemp(prefix="fhir-join-")
    try:
        write_store(os.path.join(root, "src"), items)
        best = {join: float("inf") for join in ("side", "keyed", "none")}
        for _ in range(repeat):
            for join in best:
                dest = os.path.join(root, f"dst-{join}")
                shutil.rmtree(dest, ignore_errors=True)
                t = time.perf_counter()
                with beam.Pipeline(options=PipelineOptions(list(WORKERS))) as pipeline:
                    add_fhir_store_branch(pipeline, os.path.join(root, "src"), dest, os.path.join(dest, "run"),
                                          policy, keys, join=join)
                best[join] = min(best[join], time.perf_counter() - t)
        for join, seconds in best.items():
            print(f"join={join:5s} n={len(items)}: {seconds:6.1f} s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--profile", action="store_true", help="print where the narrative time goes")
    parser.add_argument("--command", action="store_true", help="also time the whole deidflow command")
    # a span of 30,000 resources takes the two-worker command ~2.5 s: long enough that the machine's noise
    # (a few tenths of a second a run) does not decide the marginal rate
    parser.add_argument("--sizes", default="2000,32000", help="structured store sizes for --command (narrative: /8)")
    parser.add_argument("--join", action="store_true", help="also time the pipeline with each join strategy")
    parser.add_argument("--repeat", type=int, default=3,
                        help="--command: run each size this many times and keep the fastest (a shared machine)")
    args = parser.parse_args()
    sizes = tuple(int(x) for x in args.sizes.split(","))
    keys = Keys(run_key=b"\x05" * 32)
    t = time.perf_counter()
    policy = compile_fhir_policy(None, reference_date=datetime.date(2025, 1, 1))
    print(f"compile default policy: {time.perf_counter() - t:.2f} s (once per launch)")
    structured, narrative = lines(max(args.n, *sizes) if args.command or args.join else args.n)

    def baseline(line: str) -> str:
        return json.dumps(json.loads(line))

    def deid(line: str) -> str:
        return json.dumps(deidentify_resource(json.loads(line), policy, keys))

    def cold() -> None:
        """Empty the text caches (a pickled copy of the cleaner starts empty, as in a new worker): a pass over
        texts already cleaned in an earlier pass would otherwise find each one remembered."""
        policy.cleaner = pickle.loads(pickle.dumps(policy.cleaner))

    for item in structured[:50] + narrative[:50]:  # warm the plan caches
        deid(item)
    baselines = {}
    for name, items in (("structured", structured[: args.n]), ("narrative-heavy", narrative[: args.n])):
        base = baselines[name] = rate(baseline, items)
        ours = rate(deid, items, repeat=2, reset=cold)
        warm = rate(deid, items, repeat=1)  # the same items again, every text's result remembered
        print(
            f"{name:16s} n={len(items):5d}  baseline {base:9.0f}/s  deidentify {ours:8.0f}/s  ratio {ours / base:.3f}x"
            f"  (caches warm from the pass before: {warm:8.0f}/s)"
        )
    if args.command:
        command_bench({"structured": structured, "narrative-heavy": narrative}, sizes, baselines, args.repeat)
    if args.join:
        join_bench(structured[: sizes[1]], args.repeat)
    if args.profile:
        cold()
        prof = cProfile.Profile()
        prof.enable()
        for item in narrative[:500]:
            deid(item)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(18)


if __name__ == "__main__":
    main()

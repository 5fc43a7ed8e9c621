"""FHIR de-identification throughput (pure core): resources/s against json.loads+json.dumps measured in the same run.

Usage: python bench/fhir_throughput.py [--n 3000] [--profile]
Prints, separately for structured resources (Patient, Encounter, Observation, Condition, ImagingStudy,
MedicationRequest, ...) and narrative-heavy ones (DiagnosticReport, DocumentReference and Patient narrative,
notes, base64 text), the baseline rate, the de-identification rate under the shipped default config, and the
ratio. Target: structured >= 0.2x of the baseline.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import json
import os
import pstats
import sys
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


def rate(fn, items: list[str], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - t)
    return len(items) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--profile", action="store_true", help="print where the narrative time goes")
    args = parser.parse_args()
    keys = Keys(run_key=b"\x05" * 32)
    t = time.perf_counter()
    policy = compile_fhir_policy(None, reference_date=datetime.date(2025, 1, 1))
    print(f"compile default policy: {time.perf_counter() - t:.2f} s (once per launch)")
    structured, narrative = lines(args.n)

    def baseline(line: str) -> str:
        return json.dumps(json.loads(line))

    def deid(line: str) -> str:
        return json.dumps(deidentify_resource(json.loads(line), policy, keys))

    for item in structured[:50] + narrative[:50]:  # warm the plan caches
        deid(item)
    for name, items in (("structured", structured), ("narrative-heavy", narrative)):
        base = rate(baseline, items)
        ours = rate(deid, items, repeat=2)
        print(
            f"{name:16s} n={len(items):5d}  baseline {base:9.0f}/s  deidentify {ours:8.0f}/s  ratio {ours / base:.3f}x"
        )
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for item in narrative[:500]:
            deid(item)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(18)


if __name__ == "__main__":
    main()

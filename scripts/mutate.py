#!/usr/bin/env python3
"""Mutation check: break the code on purpose, one targeted mutation at a time, and assert the fast unit tests fail.

Each mutation is (name, file, exact original snippet, replacement). For each one the repository's ``transforms``,
``pipelines`` and ``tests`` are copied to a temporary folder, the snippet is replaced there (never in the working
tree), and the fixed list of fast unit test modules below runs against the copy. A mutation the tests do not
catch "survives": the script prints it and exits 1. The unmutated copy must pass first (exit 2 otherwise), and a
snippet that is not found exactly once is an error (exit 2): code drift is detected, never silently skipped.

Updating a mutation after a refactor: find the line the mutation names in its file (or where the logic moved), copy
the new exact text into ``original`` (keep it to one stable expression of pure code), and make ``replacement`` break
the same behaviour. Run ``python3 scripts/mutate.py`` and check every mutation reports the test that caught it.

Usage: python3 scripts/mutate.py [--only NAME ...] [--jobs N]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COPIED = ("transforms", "pipelines", "tests", "pyproject.toml", "setup.py")

# Fast unit tests only (no pipelines, no subprocesses): seconds, not minutes.
TESTS = (
    "tests/test_pseudonyms.py",
    "tests/verify/test_matcher.py",
    "tests/verify/test_scan.py",
    "tests/dicom/test_deidentify.py",
    "tests/dicom/test_profile_rows.py",
    "tests/fhir/test_default_config.py",
)
DESELECT = ("tests/verify/test_scan.py::test_verify_is_clean_on_every_real_file_the_basic_profile_de_identifies",)


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    original: str
    replacement: str


MUTATIONS = (
    Mutation("uid: 120 bits instead of the first 128 of the HMAC", "transforms/crypto.py",
             'return UID_ROOT + str(int.from_bytes(digest[:16], "big"))',
             'return UID_ROOT + str(int.from_bytes(digest[:15], "big"))'),
    Mutation("date shift: a constant 7 days for every patient and key", "transforms/crypto.py",
             "return n - MAX_SHIFT_DAYS if n < MAX_SHIFT_DAYS else n - MAX_SHIFT_DAYS + 1",
             "return 7"),
    Mutation("date shift: 0 allowed (n - 100 over the whole range)", "transforms/crypto.py",
             "return n - MAX_SHIFT_DAYS if n < MAX_SHIFT_DAYS else n - MAX_SHIFT_DAYS + 1",
             "return n - MAX_SHIFT_DAYS"),
    Mutation("Basic Profile: PatientName kept instead of Z", "transforms/dicom/basic_profile.py",
             '_r("00100010", "Patient\'s Name", "Z"),',
             '_r("00100010", "Patient\'s Name", "K"),'),
    Mutation("refusal path: an instance without a required UID is written, not refused",
             "transforms/dicom/deidentify.py",
             "    if not value:\n        raise DeidentifyError(\"INVALID_ARGUMENT\", f\"{keyword} ({tag >> 16:04X},",
             "    if not value:\n        return \"1.2.3\"\n        raise DeidentifyError(\"INVALID_ARGUMENT\", f\"{keyword} ({tag >> 16:04X},"),
    Mutation("FHIR references: the id of Type/id kept", "transforms/fhir/ids.py",
             "return f\"{match['base']}{match['type']}/{new_id(keys, match['id'])}{match['history'] or ''}\"",
             "return f\"{match['base']}{match['type']}/{match['id']}{match['history'] or ''}\""),
    Mutation("FHIR ids: the digest of the id lower-cased", "transforms/fhir/ids.py",
             'd = bytearray(keys.digest("fhir-id", original)[:16])',
             'd = bytearray(keys.digest("fhir-id", original.lower())[:16])'),
    Mutation("verify matcher: case-sensitive", "transforms/verify/matcher.py",
             'return data.decode("latin-1").lower()',
             'return data.decode("latin-1")'),
    Mutation("verify matcher: no word boundaries", "transforms/verify/matcher.py",
             "    if kind == _FREE or index < 0 or index >= len(haystack):\n        return True",
             "    if True:\n        return True"),
    Mutation("verify matcher: dates matched across patients", "transforms/verify/matcher.py",
             "if id_scope and scope and id_scope != scope:",
             "if False:"),
    Mutation("verify collector: CS codes collected as identifiers", "transforms/verify/identifiers.py",
             '    if known == "CS":\n        return None\n',
             "    if False:\n        return None\n"),
    Mutation("verify collector: elements a UN carrier swallowed not decoded", "transforms/verify/identifiers.py",
             "        if isinstance(value, bytes) and hides_elements_in(tag, stated, value):",
             "        if False:"),
)


def copy_tree(target: Path) -> None:
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            shutil.copy2(source, target / name)


def apply(root: Path, mutation: Mutation) -> None:
    path = root / mutation.path
    text = path.read_text(encoding="utf-8")
    count = text.count(mutation.original)
    if count != 1:
        raise SystemExit(f"mutate: {mutation.name}: the original snippet occurs {count} times in {mutation.path} "
                         f"(expected exactly once); update MUTATIONS (see this script's docstring)")
    path.write_text(text.replace(mutation.original, mutation.replacement), encoding="utf-8")


def run_tests(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    args = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            "-o", "addopts=", "--no-header", "-rfE", *TESTS]
    for test in DESELECT:
        args += ["--deselect", test]
    try:
        return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:  # a mutation that hangs the tests is caught too
        return subprocess.CompletedProcess(args, 1, "FAILED (the tests timed out after 300 s)\n", "")


def first_failure(output: str) -> str:
    match = re.search(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", output, re.M)
    if match:
        name = match.group(1)
        return name if len(name) <= 120 else name[:117] + "..."  # parameter ids can hold whole test inputs
    match = re.search(r"^_+ (\S+) _+$", output, re.M)
    return match.group(1) if match else "(failure not parsed; see pytest output)"


def check(mutation: Mutation | None, base: Path) -> tuple[Mutation | None, bool, str, float]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="deidflow-mutant-", dir=base) as folder:
        root = Path(folder)
        copy_tree(root)
        if mutation is not None:
            apply(root, mutation)
        proc = run_tests(root)
    output = proc.stdout + proc.stderr
    passed = proc.returncode == 0
    return mutation, passed, output if passed or mutation is None else first_failure(output), \
        time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="run only the mutations whose name contains this")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    mutations = [m for m in MUTATIONS if not args.only or any(o in m.name for o in args.only)]
    for mutation in mutations:  # every snippet is checked before anything runs: drift fails fast
        text = (REPO / mutation.path).read_text(encoding="utf-8")
        if text.count(mutation.original) != 1:
            print(f"mutate: {mutation.name}: original snippet found {text.count(mutation.original)} times in "
                  f"{mutation.path} (expected exactly once); update MUTATIONS (see the docstring)", file=sys.stderr)
            return 2
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="deidflow-mutate-"))
    try:
        _, ok, output, seconds = check(None, base)
        if not ok:
            print(output[-4000:], file=sys.stderr)
            print("mutate: the unmutated code fails the fast tests; fix that first", file=sys.stderr)
            return 2
        print(f"mutate: unmutated code passes ({seconds:.0f} s); {len(mutations)} mutations, "
              f"{len(TESTS)} test modules")
        survivors = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for mutation, passed, caught_by, seconds in pool.map(lambda m: check(m, base), mutations):
                if passed:
                    survivors.append(mutation)
                    print(f"  SURVIVED  {mutation.name} ({mutation.path}, {seconds:.0f} s)")
                else:
                    print(f"  caught    {mutation.name} by {caught_by} ({seconds:.0f} s)")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"mutate: {len(mutations) - len(survivors)}/{len(mutations)} mutations caught in "
          f"{time.monotonic() - started:.0f} s")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())

"""DirectRunner ``multi_processing`` worker processes for LocalRunner: Beam's ``sdk_worker_main`` without the
modules its launcher hid, and started early — while the launcher still checks its launch — when it can.

``python -m pipelines.local_worker MODULE ...`` hides each MODULE (``sys.modules[MODULE] = None``: an ImportError
Beam's imports of optional I/O already expect) and runs ``apache_beam.runners.worker.sdk_worker_main``'s
``main`` with the module's path as ``sys.argv[0]``, as Beam's own command line does. Without GCS, BigQuery, S3 and MongoDB I/O (and IPython, which
Beam asks about) a worker's import of Beam costs about 1 s of CPU less.

``--warm PRELOAD`` first imports the worker's modules and the comma-separated PRELOAD modules (the ones the
run's DoFns will need), then waits for the run: one JSON object on standard input, the environment Beam gives
a worker it starts (control and logging addresses, pipeline options, worker id). End of input without it (the
launcher stopped before its pipeline ran, or exited) ends the process. ``start_warm_workers`` starts them at
launch; LocalRunner hands each worker Beam starts to one of them (``claim_warm_worker``) instead of a new process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

WORKER_MAIN = "apache_beam.runners.worker.sdk_worker_main"

_warm: list[subprocess.Popen] = []  # started, not yet claimed


def hide(modules) -> None:
    """Hide ``modules`` not imported yet. Beam's MongoDB I/O warns when it finds no bson: that logger is quieted
    (to errors) when bson is hidden, since the absence is deliberate."""
    for module in modules:
        sys.modules.setdefault(module, None)
    if sys.modules.get("bson", ()) is None:
        import logging

        logging.getLogger("apache_beam.io.mongodbio").setLevel(logging.ERROR)


def hidden_modules() -> list[str]:
    """The modules this process hid (pipelines.cli), for its worker processes to hide too."""
    from pipelines.cli import GCP_ONLY_MODULES, NEVER_USED_MODULES

    return [m for m in (*GCP_ONLY_MODULES, *NEVER_USED_MODULES) if m in sys.modules and sys.modules[m] is None]


def command_line(*extra: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.local_worker", *extra, *hidden_modules()]


# What the DoFns of each de-identify command's graph import, loaded by its warm workers while they wait.
PRELOAD = {
    "dicomStores": ["pipelines.dicom.branch"],
    "fhirStores": ["pipelines.fhir.branch"],
    "datasets": ["pipelines.dicom.branch", "pipelines.fhir.branch", "pipelines.dataset_context"],
}
DIRECT_RUNNER_NAMES = {"direct", "directrunner", "switchingdirectrunner", "pipelines.local_runner.localrunner"}


def local_worker_count(beam_args) -> int:
    """How many worker processes LocalRunner will start for these Beam arguments (0: it runs in this process,
    or another runner runs the pipeline). Read without Beam's option parser, as Beam's parser reads them."""
    import argparse

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--runner", default=None)
    parser.add_argument("--direct_num_workers", type=int, default=1)
    parser.add_argument("--direct_running_mode", default="in_memory")
    try:
        known, _ = parser.parse_known_args(list(beam_args))
    except (SystemExit, ValueError):  # a malformed value: Beam's own parser will say so
        return 0
    if known.runner is not None and known.runner.lower() not in DIRECT_RUNNER_NAMES:
        return 0
    if known.direct_running_mode != "multi_processing":
        return 0
    return known.direct_num_workers if known.direct_num_workers > 0 else os.cpu_count() or 1


def start_for_command(args, beam_args) -> None:
    """Start the warm workers of a de-identify command line that will run multi_processing workers, before its
    launch checks: they import Beam and the graph's modules while the launcher does the same."""
    kind = getattr(args, "kind", None)
    if kind in PRELOAD and not getattr(args, "dry_run", False) and not _warm:
        start_warm_workers(local_worker_count(beam_args), PRELOAD[kind])


def start_warm_workers(count: int, preload: list[str]) -> None:
    """Start ``count`` warm workers importing Beam's worker and ``preload`` (their pipes: this process's)."""
    for _ in range(count):
        _warm.append(subprocess.Popen(command_line("--warm", ",".join(preload) or "-"), stdin=subprocess.PIPE))


def claim_warm_worker(env: dict) -> subprocess.Popen | None:
    """Hand a started warm worker the environment of a Beam worker; None when none is left."""
    while _warm:
        process = _warm.pop(0)
        try:
            process.stdin.write(json.dumps(env).encode())
            process.stdin.close()
            return process
        except OSError:  # it ended (killed, out of memory): the next one, or a new process
            process.kill()
    return None


def warm_workers_left() -> int:
    return len(_warm)


def stop_warm_workers() -> None:
    """End the warm workers no run claimed (a launch error, a dry run, a runner that started fewer)."""
    while _warm:
        process = _warm.pop()
        process.kill()
        process.wait()
        process.stdin.close()


def _wait_for_run(preload: str) -> bool:
    import importlib

    for module in filter(None, preload.split(",")):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - a preload is a head start only; the run imports what it needs
            pass
    text = sys.stdin.buffer.read()
    if not text.strip():
        return False
    os.environ.clear()  # exactly the environment Beam gives the worker it starts
    os.environ.update(json.loads(text))
    if "transforms.beam" in sys.modules:  # preloaded before the environment told it this is a local worker
        sys.modules["transforms.beam"].exit_local_worker_without_teardown()
    return True


def main(argv: list[str]) -> None:
    import gc

    gc.disable()  # while Beam and the preload are imported (as the launcher does: pipelines.cli)
    preload = None
    if argv[:1] == ["--warm"]:
        preload, argv = argv[1], argv[2:]
    hide(argv)
    import importlib

    worker_main = importlib.import_module(WORKER_MAIN)
    sys.argv[:] = [worker_main.__file__]  # as ``python -m`` would have it (transforms.beam looks)
    if preload is not None and not _wait_for_run("" if preload == "-" else preload):
        return
    gc.freeze()  # the imports live as long as the worker: no collection walks them (as freeze_startup_heap)
    gc.enable()
    worker_main.main(sys.argv)


if __name__ == "__main__":
    main(sys.argv[1:])

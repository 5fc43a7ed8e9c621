"""Start-up (issue 21): a small source runs in the launcher's process even when Beam's options ask for
multi_processing workers (``--in-process-below`` MB, 0 turns it off), and the collector is off while a command
launches, on again for its run and after it."""

from __future__ import annotations

import argparse
import base64
import gc
import json

import pytest

from pipelines import cli, local_worker, runner_choice
from tests.conftest import DATASET, DEST, SOURCE, error_records, store_files, write_store
from transforms.dicom.sample import sample_store_files

WORKERS = ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]
IN_PROCESS = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def _args(root, *, kind="dicomStores", source=SOURCE, below=2.0, **extra) -> argparse.Namespace:
    where = {"source_dataset": source} if kind == "datasets" else {"source_store": source}
    return argparse.Namespace(**{"kind": kind, "store_root": str(root), "in_process_below": below, "quiet": True,
                                 "dry_run": False, **where, **extra})


@pytest.fixture
def small_store(tmp_path):
    """A DICOM store with 3,000 bytes of data and a large run record (which is no source data)."""
    root = tmp_path / "stores"
    store = write_store(root, SOURCE, {"a/1.dcm": b"x" * 1_000, "a/2.dcm": b"y" * 2_000})
    (store / ".deidflow" / "runs").mkdir(parents=True)
    (store / ".deidflow" / "runs" / "errors.ndjson").write_bytes(b"z" * 50_000)
    return root


@pytest.mark.parametrize("below_mb, in_process", [
    (0.003001, True),  # 3,000 bytes < 3,001
    (0.003, False),  # not less than 3,000
    (0.0029, False),
    (0.0, False),  # --in-process-below 0: the workers asked for
])
def test_a_source_smaller_than_the_limit_runs_in_process(small_store, below_mb, in_process):
    chosen = runner_choice.choose(_args(small_store, below=below_mb), WORKERS)
    assert chosen == ([*WORKERS, *IN_PROCESS] if in_process else WORKERS)
    assert local_worker.local_worker_count(chosen) == (0 if in_process else 2)


@pytest.mark.parametrize("beam_args", [
    [],  # in process already
    ["--direct_num_workers", "2"],  # in_memory threads: no process to save
    [*WORKERS, "--runner", "DataflowRunner"],  # not the local runner
])
def test_only_local_worker_processes_are_replaced(small_store, beam_args):
    assert runner_choice.choose(_args(small_store), beam_args) == beam_args


@pytest.mark.parametrize("extra", [
    {"source_dicomweb": "http://pacs/dicom-web"},  # a server: not measured
    {"dry_run": True},  # starts no worker anyway
])
def test_unmeasured_sources_and_dry_runs_keep_the_options(small_store, extra):
    assert runner_choice.choose(_args(small_store, **extra), WORKERS) == WORKERS


def test_a_remote_root_or_a_missing_or_bad_source_keeps_the_options(small_store):
    assert runner_choice.choose(_args("gs://bucket/stores"), WORKERS) == WORKERS
    assert runner_choice.choose(_args(small_store, source=f"{DATASET}/dicomStores/absent"), WORKERS) == WORKERS
    assert runner_choice.choose(_args(small_store, source="not/a/name"), WORKERS) == WORKERS
    assert runner_choice.choose(_args(small_store, kind="fhirStores"), WORKERS) == WORKERS  # a DICOM store's name


def test_a_dataset_counts_every_store(tmp_path):
    root = tmp_path / "stores"
    write_store(root, f"{DATASET}/dicomStores/a", {"1.dcm": b"x" * 2_000})
    write_store(root, f"{DATASET}/fhirStores/b", {"Patient.ndjson": b"y" * 2_000})
    assert runner_choice.choose(_args(root, kind="datasets", source=DATASET, below=0.0041), WORKERS)[-2:] == IN_PROCESS
    assert runner_choice.choose(_args(root, kind="datasets", source=DATASET, below=0.0039), WORKERS) == WORKERS


def test_many_files_are_no_small_source_whatever_their_size(tmp_path, monkeypatch):
    root = tmp_path / "stores"
    write_store(root, SOURCE, {f"{i}.dcm": b"" for i in range(6)})
    monkeypatch.setattr(runner_choice, "MAX_FILES", 5)
    assert runner_choice.choose(_args(root), WORKERS) == WORKERS
    monkeypatch.setattr(runner_choice, "MAX_FILES", 6)
    assert runner_choice.choose(_args(root), WORKERS)[-2:] == IN_PROCESS


@pytest.fixture
def started(monkeypatch):
    counts: list = []
    monkeypatch.setattr(local_worker, "start_warm_workers", lambda count, preload: count and counts.append(count))
    return counts


def _dicom_root(tmp_path):
    root = tmp_path / "stores"
    write_store(root, SOURCE, dict(sample_store_files(patients=1, studies=1, series=1, instances=2)))
    write_store(root, SOURCE, {"junk.dcm": b"not dicom"})
    return root


def test_the_command_runs_a_small_store_in_process_with_a_notice(tmp_path, key_file, started, capsys):
    root = _dicom_root(tmp_path)
    common = ["--store-root", str(root), "--key-file", str(key_file)]
    assert cli.main(["dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, *common]) == 3
    capsys.readouterr()
    auto = f"{DATASET}/dicomStores/auto"
    assert cli.main(["dicom-stores", "deidentify", SOURCE, "--destination-store", auto, *common, *WORKERS]) == 3
    assert started == []  # no worker process for this store
    err = capsys.readouterr().err
    assert "running in this process, not in 2 worker processes (--in-process-below 0 starts them)" in err
    assert store_files(root / auto) == store_files(root / DEST)
    assert len(store_files(root / DEST)) == 2 and len(error_records(root / auto)) == 1
    quiet = f"{DATASET}/dicomStores/quiet"
    assert cli.main(["dicom-stores", "deidentify", SOURCE, "--destination-store", quiet, *common, *WORKERS,
                     "--quiet"]) == 3
    assert "worker processes" not in capsys.readouterr().err
    assert started == []


def test_in_process_below_zero_starts_the_workers_asked_for(tmp_path, key_file, started, capsys):
    root = _dicom_root(tmp_path)
    # a launch error after the workers started: the command's choice is seen without running the workers
    other = "projects/other/locations/l/datasets/d/dicomStores/out"
    assert cli.main(["dicom-stores", "deidentify", SOURCE, "--destination-store", other, "--store-root", str(root),
                     "--key-file", str(key_file), *WORKERS, "--in-process-below", "0"]) == 2
    assert started == [2]


def _dataset(root) -> str:
    source = "projects/p1/locations/us/datasets/src"
    write_store(root, f"{source}/dicomStores/ct", dict(sample_store_files(patients=1, studies=1, series=1,
                                                                          instances=1)))
    write_store(root, f"{source}/dicomStores/ct", {"junk.dcm": b"not dicom"})
    patient = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Doe"}], "birthDate": "1950-02-03"}
    write_store(root, f"{source}/fhirStores/ehr", {"Patient.ndjson": (json.dumps(patient) + "\n").encode()})
    return source


@pytest.mark.pipeline
def test_a_small_dataset_in_process_writes_what_its_workers_write(tmp_path, started, capsys):
    root = tmp_path / "stores"
    source = _dataset(root)
    key = tmp_path / "run.key"
    key.write_text(base64.b64encode(b"\x07" * 32).decode())
    common = ["--store-root", str(root), "--key-file", str(key), "--reference-date", "2025-01-01", *WORKERS]
    dataset = "projects/p1/locations/us/datasets/"
    assert cli.main(["datasets", "deidentify", source, "--destination-dataset", f"{dataset}auto", *common]) == 3
    assert started == []
    assert cli.main(["datasets", "deidentify", source, "--destination-dataset", f"{dataset}workers", *common,
                     "--in-process-below", "0"]) == 3
    assert started == [2]  # asked for (the spy starts none: the runner starts its 2, as without warm workers)
    for store in ("dicomStores/ct", "fhirStores/ehr"):
        auto, workers = root / f"{dataset}auto/{store}", root / f"{dataset}workers/{store}"
        assert store_files(auto) and store_files(auto) == store_files(workers)
        assert [r["error"] for r in error_records(auto)] == [r["error"] for r in error_records(workers)]
    assert len(error_records(root / f"{dataset}auto/dicomStores/ct")) == 1


def test_the_collector_is_off_while_launching_and_on_for_the_run(tmp_path, key_file, monkeypatch, capsys):
    import apache_beam as beam

    from pipelines.commands import dicom_stores

    seen: dict = {}
    plan, run = dicom_stores.plan_dicom_store_run, beam.Pipeline.run

    def planning(*args, **kwargs):
        seen["launch"] = gc.isenabled()
        return plan(*args, **kwargs)

    def running(self, *args, **kwargs):
        seen["run"] = gc.isenabled()
        return run(self, *args, **kwargs)

    monkeypatch.setattr(dicom_stores, "plan_dicom_store_run", planning)
    monkeypatch.setattr(beam.Pipeline, "run", running)
    root = _dicom_root(tmp_path)
    assert gc.isenabled()
    assert cli.main(["dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root),
                     "--key-file", str(key_file), "--quiet"]) == 3
    assert seen == {"launch": False, "run": True}
    assert gc.isenabled()  # as the caller had it
    gc.disable()
    try:
        cli.main(["dicom-stores", "deidentify", SOURCE, "--destination-store", DEST, "--store-root", str(root),
                  "--key-file", str(key_file), "--quiet"])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_other_commands_run_with_the_collector_on(monkeypatch, capsys):
    from pipelines.commands import template

    seen = []
    text = template.metadata_text
    monkeypatch.setattr(template, "metadata_text", lambda: seen.append(gc.isenabled()) or text())
    assert cli.main(["template", "metadata"]) == 0
    assert seen == [True]


def test_folder_symlink_loops_are_measured_once(tmp_path):
    # Catches a walk that follows folder symlinks without remembering where it has been: two links back to the
    # store's own folder double the paths at every level (os.walk(followlinks=True) went on until ELOOP, 2**40).
    import os
    import threading

    root = tmp_path / "stores"
    store = write_store(root, SOURCE, {"a/1.dcm": b"x" * 1_000})
    os.symlink(store, store / "a" / "back")
    os.symlink(store, store / "a" / "again")
    answer = []
    worker = threading.Thread(target=lambda: answer.append(runner_choice.smaller_than([str(store)], 1_001)),
                              daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert answer == [True]  # 1,000 bytes, counted once; the links back are no data of their own

"""The deidflow sub-commands, one module per command group; shared pieces for running and recording a pipeline.

Each module has ``register(groups)``, where ``groups`` maps a command group name ("dicom-stores", "fhir-stores",
"datasets", "sample", ...) to its argparse sub-parsers; it adds its commands and sets ``handler(args, beam_args)``.
The de-identify commands only turn their options into a ``DeidentifyRun`` (launch rules, config, policy, filter,
plan); ``deidentify(run, args, beam_args)`` does the rest the same way for all: count -> dry run -> build ->
run -> record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

EXIT_OK, EXIT_CRASH, EXIT_BAD_LAUNCH, EXIT_PARTIAL = 0, 1, 2, 3

EPILOG = """\
Resource names are the Cloud Healthcare API's: projects/P/locations/L/datasets/D[/dicomStores/S|/fhirStores/S].
They live under --store-root (default ./stores), a local folder or gs://bucket/prefix.
Any other option is passed to Apache Beam (--runner, --direct_num_workers, --direct_running_mode, --project,
--temp_location, ...). Without them a run stays in one process (quickest for small stores); with
--direct_num_workers N --direct_running_mode multi_processing its N workers start while the launch is checked,
unless the source has less than --in-process-below MB of data (default 2): that runs in one process anyway.
Exit codes: 0 all de-identified, 3 completed with failed elements (see the run's
errors*.ndjson), 2 bad config or launch (nothing written), 1 unexpected crash.
"""


class UsageError(Exception):
    """Bad command-line usage: printed with the usage line, exit code 2."""


def beam_options(beam_args: Sequence[str]):
    """Beam's options from the arguments deidflow did not take; no runner, or DirectRunner, means LocalRunner."""
    from pipelines.local_runner import launch_options

    return launch_options(beam_args)


def config_text(config_file: Optional[str]) -> str:
    if not config_file:
        return ""
    from pipelines.stores import store_root

    return store_root.read_bytes(config_file).decode("utf-8", "replace")


def _staged_as_template(pipeline) -> bool:
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    return bool(pipeline.options.view_as(GoogleCloudOptions).template_location)


def run_and_record(pipeline, *, kind: str, run_id: str, run_dir: str, create_time: str, labels: Sequence[str],
                   details: dict, extra_run_dirs: Sequence[str] = (), total: Optional[int] = None,
                   quiet: bool = False, destination_path: Optional[str] = None,
                   outputs: Sequence[tuple] = ()) -> int:
    """Run a built pipeline, write the run summary (to ``run_dir`` and any extra run folders), print it.

    Counters are read per label (one label per store branch) and summed for the overall counter.
    Returns the exit code: 0 all succeeded, 3 some elements failed. While it runs, progress is shown (issue 10:
    ``total`` source elements, ``quiet``, ``destination_path`` to count written files); report.html is written
    beside each summary.json. On a runner whose result has no metrics, the counts come from the outputs
    (``outputs``: (label, kind, destination folder) per store; run_record.counters_from_outputs).
    """
    from pipelines import run_record
    from pipelines.progress import ProgressDisplay

    staged = _staged_as_template(pipeline)
    import gc

    # Whatever the launcher holds now (Beam, the policy, the built graph) lives until it exits: hidden from the
    # collector, an in-process run's full collections (and its workers' freeze_startup_heap) stop walking it.
    gc.freeze()
    collecting = gc.isenabled()
    gc.enable()  # off while the command launched (pipelines.cli): the run's own garbage is collected
    try:
        with ProgressDisplay(run_dir, total, destination_path, quiet=quiet or staged):
            result = pipeline.run()
            if not staged:
                result.wait_until_finish()
    finally:
        gc.unfreeze()  # a caller that runs on (tests, a notebook) collects the run's garbage as before
        if not collecting:
            gc.disable()
    if staged:  # a Flex Template launch: the service runs the staged job, nothing to wait for
        print(f"staged run {run_id} as a Dataflow job; its error records go to {run_dir} (no summary.json: "
              "the counts are in the Dataflow job's counters)")
        return EXIT_OK
    try:
        values = run_record.counters(result)
    except NotImplementedError:  # a runner without metrics (Beam's DaskRunner): count what was written
        values = run_record.counters_from_outputs(run_dir, labels, outputs)
    summary = run_record.summarize(kind, values, run_id, create_time, run_dir, labels, details)
    for folder in (run_dir, *extra_run_dirs):
        run_record.write_summary(folder, summary)
    write_run_reports(summary, run_dir, extra_run_dirs, values)
    print(run_record.dumps(summary))
    return EXIT_PARTIAL if run_record.failures(summary) else EXIT_OK


@dataclass(frozen=True)
class StoreToRun:
    """One source store of a run and where it goes (for counting and the dry-run plan)."""

    kind: str
    source: str
    source_path: object  # a folder, or a DicomWebEndpoint (not counted)
    destination: str
    destination_path: object
    create: bool


@dataclass(frozen=True)
class DeidentifyRun:
    """A de-identify command after its launch checks passed: everything ``deidentify`` needs."""

    kind: str  # dicomStores | fhirStores | datasets (run_record.OPERATIONS)
    run_id: str
    run_dir: str
    create_time: str
    stores: Sequence[StoreToRun]
    build: Callable  # build(pipeline) -> the branch results to show progress for
    labels: Sequence[str]  # one counter label per store branch
    details: dict  # the summary's "deidflow" details
    dry_run_details: dict
    prepare: Optional[Callable[[], None]] = None  # the writes before the run (a new dataset, store settings)
    extra_run_dirs: Sequence[str] = field(default_factory=tuple)
    destination_path: Optional[str] = None  # for the progress line's written-file count
    finish: Optional[Callable[[], None]] = None  # after the run is recorded (a dataset's incomplete marker removed)


def store_run_details(plan, config_file: Optional[str]) -> dict:
    """The summary details every store-level run records (plan: a launch.StoreLaunch)."""
    from pipelines import run_record

    return {
        "source": plan.source,
        "destination": plan.destination,
        "destinationCreated": plan.created_destination,
        "keyFingerprint": plan.keys.fingerprint,
        "configDigest": run_record.config_digest(config_text(config_file)),
    }


def deidentify(run: DeidentifyRun, args, beam_args: Sequence[str]) -> int:
    """count -> dry run (print the plan, write nothing) -> build -> prepare -> run -> record, for every level."""
    quiet, dry_run = bool(getattr(args, "quiet", False)), bool(getattr(args, "dry_run", False))
    counts = None
    if dry_run or not quiet:
        from pipelines.dry_run import count_store_elements

        counts = [count_store_elements(s.source_path, s.kind) if isinstance(s.source_path, str) else None
                  for s in run.stores]
    if dry_run:
        from pipelines.dry_run import report_dry_run, store_plan
        from transforms.beam import redact_credentials

        return report_dry_run(run.kind, [
            store_plan(redact_credentials(s.source), _shown(s.source_path), redact_credentials(s.destination),
                       _shown(s.destination_path), s.create,
                       "uncounted" if n is None else n, s.kind) for s, n in zip(run.stores, counts)],
            run.run_dir, run.dry_run_details)
    import apache_beam as beam

    from pipelines.progress import attach_progress

    pipeline = beam.Pipeline(options=beam_options(beam_args))
    results = list(run.build(pipeline))
    for result in results:
        attach_progress(result, run.run_dir)
    if not run.labels:  # nothing to run: still a run record, as the API's operation would leave
        _ = pipeline | "No stores" >> beam.Create([])
    if run.prepare is not None:
        run.prepare()
    total = None if counts is None or None in counts else sum(counts)
    try:
        code = run_and_record(pipeline, kind=run.kind, run_id=run.run_id, run_dir=run.run_dir,
                              create_time=run.create_time, labels=list(run.labels), details=run.details,
                              extra_run_dirs=run.extra_run_dirs, total=total, quiet=quiet,
                              destination_path=run.destination_path,
                              outputs=[(label, s.kind, s.destination_path)
                                       for label, s in zip(run.labels, run.stores)]
                              if len(run.labels) == len(run.stores) else [])
    except BaseException:  # a crashed or interrupted run: no temporary file of it stays in the destination
        for result in results:
            discard = getattr(result, "discard_temporary", None)
            if discard is not None:
                discard()
        raise
    if run.finish is not None:
        run.finish()
    return code


def _shown(where: object) -> str:
    """A store folder, or a DICOMweb endpoint's URL, as a plan shows it: without URL credentials."""
    from transforms.beam import redact_credentials

    return redact_credentials(str(getattr(where, "url", where)))


def write_run_reports(summary: dict, run_dir: str, extra_run_dirs: Sequence[str], counters: dict) -> None:
    """report.html beside each summary.json (issue 10); a report that cannot be written never fails the run."""
    import logging

    from pipelines import report

    try:
        page = report.run_report(summary, report.read_error_records(run_dir), counters)
        for folder in (run_dir, *extra_run_dirs):
            report.write_report(folder, page)
    except Exception as err:  # noqa: BLE001
        logging.getLogger("deidflow").warning("report.html not written (%s)", type(err).__name__)

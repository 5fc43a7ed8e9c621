"""The deidflow sub-commands, one module per command group; shared pieces for running and recording a pipeline.

Each module has ``register(groups)``, where ``groups`` maps a command group name ("dicom-stores", "fhir-stores",
"datasets", "sample", ...) to its argparse sub-parsers; it adds its commands and sets ``handler(args, beam_args)``.
"""

from __future__ import annotations

from typing import Optional, Sequence

EXIT_OK, EXIT_CRASH, EXIT_BAD_LAUNCH, EXIT_PARTIAL = 0, 1, 2, 3

EPILOG = """\
Resource names are the Cloud Healthcare API's: projects/P/locations/L/datasets/D[/dicomStores/S|/fhirStores/S].
They live under --store-root (default ./stores), a local folder or gs://bucket/prefix.
Any other option is passed to Apache Beam (--runner, --direct_num_workers, --direct_running_mode, --project,
--temp_location, ...). Exit codes: 0 all de-identified, 3 completed with failed elements (see the run's
errors*.ndjson), 2 bad config or launch (nothing written), 1 unexpected crash.
"""


class UsageError(Exception):
    """Bad command-line usage: printed with the usage line, exit code 2."""


def beam_options(beam_args: Sequence[str]):
    """Beam's options from the arguments deidflow did not take; no runner, or DirectRunner, means LocalRunner."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.local_runner import with_local_runner

    return PipelineOptions(with_local_runner(list(beam_args)))


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
                   quiet: bool = False, destination_path: Optional[str] = None) -> int:
    """Run a built pipeline, write the run summary (to ``run_dir`` and any extra run folders), print it.

    Counters are read per label (one label per store branch) and summed for the overall counter.
    Returns the exit code: 0 all succeeded, 3 some elements failed. While it runs, progress is shown (issue 10:
    ``total`` source elements, ``quiet``, ``destination_path`` to count written files); report.html is written
    beside each summary.json.
    """
    from pipelines import run_record
    from pipelines.stores import store_root

    from pipelines.progress import ProgressDisplay

    staged = _staged_as_template(pipeline)
    with ProgressDisplay(run_dir, total, destination_path, quiet=quiet or staged):
        result = pipeline.run()
        if not staged:
            result.wait_until_finish()
    if staged:  # a Flex Template launch: the service runs the staged job, nothing to wait for
        print(f"staged run {run_id} as a Dataflow job; its error records go to {run_dir} (no summary.json: "
              "the counts are in the Dataflow job's counters)")
        return EXIT_OK
    values = run_record.counters(result)
    per_label = {
        label: {"success": values.get(f"success/{label}", 0), "failure": values.get(f"failure/{label}", 0)}
        for label in labels
    }
    success = sum(c["success"] for c in per_label.values())
    failure = sum(c["failure"] for c in per_label.values())
    details = dict(details)
    if len(labels) > 1:
        details["stores"] = {label: {k: str(v) for k, v in c.items()} for label, c in per_label.items()}
    skipped = {label: values[f"skipped/{label}"] for label in labels if f"skipped/{label}" in values}
    if skipped or details.get("incremental"):  # incremental runs: elements whose destination was already there
        details["skipped"] = str(sum(skipped.values()))
        if len(labels) > 1:
            for label, count in skipped.items():
                details["stores"][label]["skipped"] = str(count)
    details["runDir"] = run_dir
    summary = run_record.build_summary(kind, run_id, create_time, run_record.now(), success, failure,
                                       store_root.join(run_dir, "errors*.ndjson"), details)
    for folder in (run_dir, *extra_run_dirs):
        run_record.write_summary(folder, summary)
    write_run_reports(summary, run_dir, extra_run_dirs, values)
    print(run_record.dumps(summary))
    return EXIT_PARTIAL if failure else EXIT_OK


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

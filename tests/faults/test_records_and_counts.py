"""Records, reports and counts (issue 18 items 8, 11, 12): URL credentials redacted everywhere, report modality
counts only from the standard's defined terms, counts from outputs when a runner has no metrics, Beam options
as ``--opt value`` after ``--source-dicomweb``."""

from __future__ import annotations

import json
import os

from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import report, run_record
from pipelines.commands import EXIT_PARTIAL, run_and_record
from transforms.beam import error_record

SECRET_URL = "http://user:s3cretPassw0rd@pacs.example:8042/dicom-web"


def test_url_credentials_never_reach_records_summaries_or_reports(tmp_path):
    record = error_record(f"{SECRET_URL}/studies/1.2/series/3.4/instances/5.6", "UNAVAILABLE",
                          f"cannot reach {SECRET_URL}")
    summary = run_record.summarize("dicomStores", {"success/dicom": 1, "failure/dicom": 1}, "r1", "t0",
                                   str(tmp_path), ["dicom"], {"source": SECRET_URL, "destination": SECRET_URL})
    page = report.run_report(summary, [record], {})
    for text in (json.dumps(record), run_record.dumps(summary), page):
        assert "s3cretPassw0rd" not in text and "user:" not in text
        assert "pacs.example:8042" in text  # the server is still named


def test_report_counts_only_defined_modality_terms():
    summary = run_record.summarize("dicomStores", {"success/dicom": 4}, "r1", "t0", "/x", ["dicom"], {})
    page = report.run_report(summary, [], {"modality/dicom/CT": 2, "modality/dicom/SMITH^JOHN": 1,
                                           "modality/dicom/MRN555": 1})
    assert "SMITH" not in page and "MRN555" not in page
    assert ">other<" in page and ">CT<" in page
    assert [report.modality_label(v) for v in ("MR", "mr ", None, "Doe_Jane")] == ["MR", "MR", "unknown", "other"]


def test_report_shows_no_absolute_path(tmp_path):
    summary = run_record.summarize("dicomStores", {"failure/dicom": 1}, "r1", "t0", str(tmp_path / "run"),
                                   ["dicom"], {})
    old_record = error_record(str(tmp_path / "MRN1234567" / "Smith_John_19650312.dcm"), "INVALID_ARGUMENT", "x")
    page = report.run_report(summary, [old_record], {})
    assert str(tmp_path) not in page


class _NoMetricsResult:
    def wait_until_finish(self):
        return "DONE"

    def metrics(self):
        raise NotImplementedError("no metrics on this runner")  # as Beam's DaskRunner


class _WrittenPipeline:
    """Stands for a pipeline that wrote 3 instances and 2 error records, on a runner without metrics."""

    def __init__(self, destination, run_dir):
        self.options = PipelineOptions([])
        self._destination, self._run_dir = destination, run_dir

    def run(self):
        for i in range(3):
            path = self._destination / "1.2" / "3.4" / f"5.{i}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"dicom")
        (self._destination / "1.2" / ".tmp-k2j4h5g6").write_bytes(b"a leftover, not an instance")
        self._run_dir.mkdir(parents=True)
        (self._run_dir / "errors-0123456789abcdef.ndjson").write_text(
            "\n".join(json.dumps(error_record(f"bad/{i}.dcm", "INVALID_ARGUMENT", "not DICOM")) for i in range(2)))
        return _NoMetricsResult()


def test_counts_come_from_outputs_when_the_runner_has_no_metrics(tmp_path, capsys):
    destination = tmp_path / "dst"
    run_dir = destination / ".deidflow" / "runs" / "r1"
    code = run_and_record(_WrittenPipeline(destination, run_dir), kind="dicomStores", run_id="r1",
                          run_dir=str(run_dir), create_time=run_record.now(), labels=["dicom"], details={},
                          quiet=True, destination_path=str(destination),
                          outputs=[("dicom", "dicomStores", str(destination))])
    assert code == EXIT_PARTIAL
    written = json.loads((run_dir / "summary.json").read_text())
    assert written["metadata"]["counter"] == {"success": "3", "failure": "2"}
    assert os.path.exists(run_dir / "report.html")
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["metadata"]["counter"] == {"success": "3", "failure": "2"}


def test_beam_option_value_after_source_dicomweb_is_not_taken_as_the_source():
    from pipelines.cli import build_parser
    from pipelines.options import reclaim_beam_value

    argv = ["dicom-stores", "deidentify", "--source-dicomweb", SECRET_URL, "--destination-store",
            "projects/p/locations/l/datasets/d/dicomStores/s", "--project", "p", "--direct_num_workers", "2"]
    args, beam_args = build_parser().parse_known_args(argv)
    beam_args = reclaim_beam_value(args, beam_args)
    assert args.source_store is None
    assert PipelineOptions(beam_args).get_all_options()["project"] == "p"
    assert PipelineOptions(beam_args).get_all_options()["direct_num_workers"] == 2

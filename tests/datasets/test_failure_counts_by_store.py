"""Issue 18: on a runner without metrics a dataset run's failures are counted per store from its error files;
the match is exact, so store ``src`` does not also count the files of store ``src-a``."""

from __future__ import annotations

import json

from pipelines import run_record
from transforms.beam import error_file_name, error_record


def _write_errors(run_dir, prefix: str, count: int) -> None:
    text = "\n".join(json.dumps(error_record(f"x/{i}.dcm", "INVALID_ARGUMENT", "not DICOM")) for i in range(count))
    (run_dir / error_file_name(prefix, text)).write_text(text + "\n")


def test_failures_match_stores_by_their_whole_file_name(tmp_path):
    # broken code caught: matching by the prefix "errors-dicomStores-src-" (store src took src-a's 2 failures)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    _write_errors(run_dir, "errors-dicomStores-src", 1)
    _write_errors(run_dir, "errors-dicomStores-src-a", 2)
    _write_errors(run_dir, "errors-fhirStores-src", 4)
    _write_errors(run_dir, "errors-fhirStores-src-0123456789abcdef", 8)  # a store id that looks like a digest
    labels = ["dicomStores/src", "dicomStores/src-a", "fhirStores/src", "fhirStores/src-0123456789abcdef"]
    values = run_record.counters_from_outputs(str(run_dir), labels, [])
    assert values == {"failure/dicomStores/src": 1, "failure/dicomStores/src-a": 2, "failure/fhirStores/src": 4,
                      "failure/fhirStores/src-0123456789abcdef": 8}

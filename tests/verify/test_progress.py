"""Progress display: the line's fields, progress files summed across writers, log lines when not a terminal."""

from __future__ import annotations

import io
import json
import time

from pipelines.progress import ProgressDisplay, format_line, read_counts


def test_line_shows_done_total_rate_eta_and_failures():
    assert format_line("de-identify", 50, 2, 200, 10.0) == "de-identify: 52/200 (26%) 5.2/s ETA 0:00:28, 2 failed"
    assert format_line("de-identify", 7, 0, None, 2.0) == "de-identify: 7 3.5/s, 0 failed"


def test_counts_from_several_workers_are_summed(tmp_path):
    folder = tmp_path / "run" / "progress"
    folder.mkdir(parents=True)
    (folder / "done-a.json").write_text(json.dumps({"done": 5}))
    (folder / "done-b.json").write_text(json.dumps({"done": 7}))
    (folder / "failed-c.json").write_text(json.dumps({"failed": 1}))
    (folder / "done-d.json.tmp").write_text("{")
    assert read_counts(str(folder)) == {"done": 12, "failed": 1}


def test_not_a_terminal_gives_log_lines_and_quiet_gives_nothing_and_the_folder_is_removed(tmp_path):
    folder = tmp_path / "run" / "progress"
    folder.mkdir(parents=True)
    (folder / "done-a.json").write_text(json.dumps({"done": 3}))
    out = io.StringIO()
    with ProgressDisplay(str(tmp_path / "run"), total=10, stream=out, interval=0.01):
        time.sleep(0.1)
    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith("de-identify: 3/10 (30%)") for line in lines) and "\r" not in out.getvalue()
    assert not folder.exists()
    folder.mkdir()
    quiet = io.StringIO()
    with ProgressDisplay(str(tmp_path / "run"), total=10, stream=quiet, interval=0.01, quiet=True):
        time.sleep(0.05)
    assert quiet.getvalue() == ""

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


def test_eta_comes_from_the_rate_since_counting_began_not_since_launch(tmp_path, monkeypatch):
    # Catches an ETA computed from the rate since launch: 100 s of start-up and parsing before the first output
    # would make 500 of 1,000 done at 104 s look like 4.8/s (ETA 0:01:44) when 100/s were being written.
    import pipelines.progress as progress

    folder = tmp_path / "run" / "progress"
    folder.mkdir(parents=True)
    clock = [1000.0]
    monkeypatch.setattr(progress.time, "time", lambda: clock[0])
    display = ProgressDisplay(str(tmp_path / "run"), total=1000, stream=io.StringIO())

    def line_at(seconds: float, done: int) -> str:
        (folder / "done-a.json").write_text(json.dumps({"done": done}))
        clock[0] = 1000.0 + seconds
        return display.line()

    assert line_at(100, 100) == "de-identify: 100/1,000 (10%) 1.0/s, 0 failed"  # the first count: no ETA yet
    assert "ETA" not in line_at(101, 200)  # counted for 1 s only
    assert line_at(104, 500) == "de-identify: 500/1,000 (50%) 4.8/s ETA 0:00:05, 0 failed"  # 400 in 4 s

"""`deidflow runs list|show DESTINATION`: the run records a destination keeps under .deidflow/runs/<run-id>/.

Shows counts, duration, config digest and key fingerprint, as the summaries hold them; never key material
(summaries only ever hold the fingerprint) and never data values (error records name resources, not values).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipelines.commands import EXIT_OK, UsageError
from pipelines.run_record import shown_run_dir

RUNS = "runs"
_KINDS = {"DeidentifyDicomStore": "dicomStores", "DeidentifyFhirStore": "fhirStores", "DeidentifyDataset": "datasets"}
_SECRET_WORDS = ("key",)  # any detail whose name says key, except the fingerprint, is never shown


@dataclass
class RunRecord:
    """One run folder: its id, its summary when the run wrote one, its error record files."""

    run_id: str
    folder: str
    summary: dict | None = None
    error_files: list[str] = field(default_factory=list)
    unreadable: bool = False

    @property
    def metadata(self) -> dict:
        return (self.summary or {}).get("metadata", {})

    @property
    def details(self) -> dict:
        return (self.summary or {}).get("deidflow", {})

    @property
    def kind(self) -> str:
        method = self.metadata.get("apiMethodName", "")
        return _KINDS.get(method.rsplit(".", 1)[-1], "?")

    @property
    def status(self) -> str:
        if self.unreadable:
            return "unreadable"
        if self.summary is None:
            return "no summary"  # still running, crashed, or launched as a Flex Template
        counter = self.metadata.get("counter", {})
        return "partial" if int(counter.get("failure", "0") or 0) else "ok"

    def count(self, name: str) -> int | None:
        value = self.metadata.get("counter", {}).get(name) if name in ("success", "failure") else self.details.get(name)
        return None if value is None else int(value)

    @property
    def duration_seconds(self) -> float | None:
        start, end = _time(self.metadata.get("createTime")), _time(self.metadata.get("endTime"))
        return None if start is None or end is None else (end - start).total_seconds()

    def row(self) -> dict:
        """The run's public facts (what `runs list --json` prints)."""
        return {
            "runId": self.run_id,
            "status": self.status,
            "kind": self.kind,
            "createTime": self.metadata.get("createTime"),
            "endTime": self.metadata.get("endTime"),
            "durationSeconds": self.duration_seconds,
            "success": self.count("success"),
            "failure": self.count("failure"),
            "skipped": self.count("skipped"),
            "incremental": self.details.get("incremental"),
            "source": self.details.get("source"),
            "destination": self.details.get("destination"),
            "configDigest": self.details.get("configDigest"),
            "keyFingerprint": self.details.get("keyFingerprint"),
            "runDir": shown_run_dir(self.folder),  # below the store root, as summary.json names it
        }


def _time(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def destination_folder(destination: str, root: str) -> str:
    """A resource name (a store or a dataset, under the store root), or a folder path / gs:// URI itself."""
    from pipelines.launch import ResourceName, resource_path
    from pipelines.stores import store_root
    from transforms.errors import LaunchError

    for kind in ("dicomStores", "fhirStores", None):
        try:
            name = ResourceName.parse(destination, kind, "DESTINATION")
        except LaunchError:
            continue
        return resource_path(store_root.normalize_root(root), name)
    if destination.startswith("projects/"):
        raise UsageError("DESTINATION: not a valid resource name; expected projects/P/locations/L/datasets/D[/"
                         "dicomStores/S|/fhirStores/S]")
    return store_root.normalize_root(destination)


def _run_files(runs_dir: str) -> dict[str, list[str]]:
    """Run id -> file names in its folder."""
    from pipelines.stores import store_root

    out: dict[str, list[str]] = {}
    if not store_root.is_remote(runs_dir):
        if not os.path.isdir(runs_dir):
            return out
        for run_id in os.listdir(runs_dir):
            folder = os.path.join(runs_dir, run_id)
            if os.path.isdir(folder):
                out[run_id] = sorted(os.listdir(folder))
        return out
    for path in store_root.list_files(runs_dir, skip_meta=False):
        parts = store_root.relative(path, runs_dir).split("/")
        if len(parts) == 2:
            out.setdefault(parts[0], []).append(parts[1])
    return out


def load_runs(folder: str) -> list[RunRecord]:
    """Every run recorded under a destination folder, oldest first (run ids start with their UTC start time)."""
    from pipelines.stores import store_root

    runs_dir = store_root.join(folder, store_root.META_DIR, RUNS)
    records = []
    for run_id, names in sorted(_run_files(runs_dir).items()):
        run_folder = store_root.join(runs_dir, run_id)
        record = RunRecord(run_id, run_folder, error_files=[
            store_root.join(run_folder, n) for n in names if n.startswith("errors") and n.endswith(".ndjson")
        ])
        if "summary.json" in names:
            try:
                record.summary = store_root.read_json(store_root.join(run_folder, "summary.json"))
            except Exception:  # noqa: BLE001 - a damaged record is listed as such, not fatal
                record.unreadable = True
        records.append(record)
    # start order: the summary's createTime where there is one (two runs can start in the same second), else
    # the start time the run id begins with
    records.sort(key=lambda r: ((r.summary or {}).get("metadata", {}).get("createTime") or _id_time(r.run_id), r.run_id))
    return records


def _id_time(run_id: str) -> str:
    """The UTC start time a run id begins with (YYYYmmddTHHMMSS[mmm]Z), spelled like createTime."""
    stamp = run_id.split("Z", 1)[0]
    if len(stamp) < 15 or stamp[8] != "T" or not (stamp[:8] + stamp[9:]).isdigit():
        return run_id
    millis = (stamp[15:18] + "000")[:3]
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}.{millis}Z"


def error_codes(record: RunRecord) -> dict[str, int]:
    """How many error records of each google.rpc code the run left."""
    from pipelines.stores import store_root

    codes: dict[str, int] = {}
    for path in record.error_files:
        for line in store_root.read_bytes(path).decode("utf-8", "replace").splitlines():
            if not line.strip():
                continue
            try:
                code = json.loads(line).get("error", {}).get("code", "UNKNOWN")
            except (ValueError, AttributeError):
                code = "UNREADABLE"
            codes[code] = codes.get(code, 0) + 1
    return dict(sorted(codes.items()))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _cell(value) -> str:
    return "-" if value is None else str(value)


COLUMNS = [("RUN", "runId"), ("STATUS", "status"), ("KIND", "kind"), ("CREATED", "createTime"),
           ("DURATION", None), ("SUCCESS", "success"), ("FAILURE", "failure"), ("SKIPPED", "skipped"),
           ("CONFIG", "configDigest"), ("KEY", "keyFingerprint")]


def format_table(records: Sequence[RunRecord]) -> str:
    rows = [[h for h, _ in COLUMNS]]
    for record in records:
        row = record.row()
        rows.append([_duration(row["durationSeconds"]) if key is None else _cell(row[key]) for _, key in COLUMNS])
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows) + "\n"


def _safe_details(details: dict) -> dict:
    return {k: v for k, v in details.items()
            if k == "keyFingerprint" or not any(w in k.lower() for w in _SECRET_WORDS)}


def format_show(record: RunRecord) -> str:
    row = record.row()
    lines = [f"run          {record.run_id}", f"status       {row['status']}", f"kind         {row['kind']}",
             f"source       {_cell(row['source'])}", f"destination  {_cell(row['destination'])}",
             f"created      {_cell(row['createTime'])}", f"ended        {_cell(row['endTime'])}",
             f"duration     {_duration(row['durationSeconds'])}",
             f"success      {_cell(row['success'])}", f"failure      {_cell(row['failure'])}"]
    if row["skipped"] is not None:
        lines.append(f"skipped      {row['skipped']}  (incremental: destination already there)")
    lines += [f"config       {_cell(row['configDigest'])}  (sha-256 prefix of the config file)",
              f"key          {_cell(row['keyFingerprint'])}  (fingerprint; the key itself is never recorded)"]
    stores = record.details.get("stores")
    if stores:
        for label, counts in stores.items():
            lines.append(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    codes = error_codes(record)
    lines.append("errors       " + (", ".join(f"{code} {n}" for code, n in codes.items()) or "none"))
    if record.error_files:
        lines.append(f"error files  {record.folder}/errors*.ndjson")
    lines.append(f"run folder   {record.folder}")
    return "\n".join(lines) + "\n"


def register(groups) -> None:
    for command, help_text in (("list", "List the runs recorded in a destination, oldest first."),
                               ("show", "Show one run recorded in a destination (default: the latest).")):
        parser = groups["runs"].add_parser(command, help=help_text, description=help_text)
        parser.add_argument("destination", metavar="DESTINATION",
                            help="The destination store or dataset (resource name, under --store-root), or its "
                            "folder (local path or gs:// URI).")
        if command == "show":
            parser.add_argument("run_id", metavar="RUN_ID", nargs="?", default=None,
                                help="The run id (a prefix is enough); default: the latest run.")
        parser.add_argument("--store-root", "--store_root", dest="store_root", default=None,
                            help="Where stores live (default ./stores).")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of text.")
        parser.set_defaults(handler=run_list if command == "list" else run_show)


def _records(args) -> list[RunRecord]:
    from pipelines.options import DEFAULT_STORE_ROOT

    return load_runs(destination_folder(args.destination, args.store_root or DEFAULT_STORE_ROOT))


def run_list(args, beam_args: Sequence[str]) -> int:
    if beam_args:
        raise UsageError(f"unrecognized arguments: {' '.join(beam_args)}")
    records = _records(args)
    if args.json:
        print(json.dumps([r.row() for r in records], indent=2))
    elif not records:
        print("no runs recorded", file=sys.stderr)
    else:
        sys.stdout.write(format_table(records))
    return EXIT_OK


def run_show(args, beam_args: Sequence[str]) -> int:
    if beam_args:
        raise UsageError(f"unrecognized arguments: {' '.join(beam_args)}")
    records = _records(args)
    if args.run_id:
        records = [r for r in records if r.run_id.startswith(args.run_id)]
        if len(records) != 1:
            raise UsageError(f"RUN_ID: {'no run' if not records else 'several runs'} match '{args.run_id}'")
    if not records:
        raise UsageError("no runs recorded in DESTINATION")
    record = records[-1]
    if args.json:
        row = record.row()
        row["errors"] = error_codes(record)
        row["details"] = _safe_details(record.details)
        print(json.dumps(row, indent=2))
    else:
        sys.stdout.write(format_show(record))
    return EXIT_OK

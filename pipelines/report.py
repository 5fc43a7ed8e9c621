"""report.html: a self-contained, PHI-free page for a run (de-identify or verify), charts as inline SVG.

The page is built only from the run summary (counters, config digest, key fingerprint), the error records
(codes, PHI-free messages, resource names) and, for verify, the findings (categories and locations). No value
of the data ever reaches it. No external asset: styles inline, charts inline SVG, no script.
"""

from __future__ import annotations

import datetime
import html
import json
from collections import Counter
from typing import Iterable, Optional, Sequence

from pipelines.stores import store_root
from transforms.beam import redact_credentials

# Modality (0008,0060) defined terms, PS3.3 C.7.3.1.1.1 (DICOM 2024b): the only values a report names; any other
# value (free text, possibly PHI) is counted as "other".
MODALITY_TERMS = frozenset("""
AR ASMT AU BDUS BI BMD CFM CT CTPROTOCOL DG DMS DOC DX ECG EEG EMG EOG EPS ES FID GM HC HD IO IOL IVOCT IVUS KER KO
LEN LS M3D MG MR NM OAM OCT OP OPM OPT OPTBSV OPTENF OPV OSS OT PA PLAN POS PR PT PX REG RESP RF RG RTDOSE RTIMAGE
RTINTENT RTPLAN RTRAD RTRECORD RTSEGANN RTSTRUCT RWV SEG SM SMR SR SRF STAIN TEXTUREMAP TG US VA XA XAPROTOCOL XC
""".split())


def modality_label(value: object) -> str:
    """A Modality value as a report may show it: a defined term, "unknown" when absent, else "other"."""
    text = str(value or "").strip().upper()
    if not text or text == "UNKNOWN":
        return "unknown"
    return text if text in MODALITY_TERMS else "other"


MAX_ROWS = 200  # longest table; the rest is counted, and is in the NDJSON records
_COLORS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#319795", "#4a5568")
_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:980px;color:#1a202c}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #e2e8f0}
table{border-collapse:collapse;margin:.5em 0;width:100%}td,th{border:1px solid #e2e8f0;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f7fafc}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2f855a;font-weight:600}.bad{color:#c53030;font-weight:600}.muted{color:#718096}
.tiles{display:flex;gap:1em;flex-wrap:wrap}.tile{border:1px solid #e2e8f0;border-radius:6px;padding:.6em 1em;min-width:9em}
.tile b{display:block;font-size:1.6em}code{font-size:.92em}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def bar_chart(items: Sequence[tuple[str, float]], title: str = "", width: int = 640) -> str:
    """Horizontal bars as inline SVG, one per (label, value)."""
    items = [(str(label), float(value)) for label, value in items][:40]
    if not items:
        return '<p class="muted">nothing to chart</p>'
    top = max(v for _, v in items) or 1.0
    row, label_w, pad = 22, 220, 70
    height = row * len(items) + 10
    bars_w = width - label_w - pad
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{esc(title)}"><title>{esc(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = max(1.0, bars_w * value / top) if value else 0.0
        shown = label if len(label) <= 34 else label[:31] + "..."
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">{esc(shown)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 7}" '
                     f'fill="{_COLORS[i % len(_COLORS)]}"/>'
                     f'<text x="{label_w + w + 5:.1f}" y="{y + 15}" font-size="12">{esc(_num(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _num(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    rows = list(rows)
    out = ["<table><tr>", *(f"<th>{esc(h)}</th>" for h in headers), "</tr>"]
    for row in rows[:MAX_ROWS]:
        out.append("<tr>" + "".join(f'<td class="n">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>")
    out.append("</table>")
    if len(rows) > MAX_ROWS:
        out.append(f'<p class="muted">{len(rows) - MAX_ROWS:,} more rows not shown (see the NDJSON records).</p>')
    return "".join(out)


def tiles(values: Sequence[tuple[str, object, str]]) -> str:
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><span class="muted">{esc(label)}</span><b class="{cls}">{esc(value)}</b></div>'
        for label, value, cls in values) + "</div>"


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{esc(title)}</h1>{body}"
            f'<p class="muted">Generated by deidflow. This page holds counts, codes and locations only; '
            f"no data value is written to it.</p></body></html>\n")


def _seconds(start: str, end: str) -> Optional[float]:
    try:
        a = datetime.datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = datetime.datetime.fromisoformat(end.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return max((b - a).total_seconds(), 0.0)


def _run_facts(summary: dict, elements: int) -> list[tuple[str, object]]:
    meta, details = summary.get("metadata", {}), summary.get("deidflow", {})
    seconds = _seconds(meta.get("createTime", ""), meta.get("endTime", ""))
    facts = [("run", summary.get("name", "")), ("started", meta.get("createTime", "")),
             ("ended", meta.get("endTime", ""))]
    if seconds is not None:
        facts.append(("duration", f"{seconds:.1f} s"))
        if seconds > 0:
            facts.append(("throughput", f"{elements / seconds:,.1f} elements/s"))
    for key in ("source", "destination", "profile", "profileEdition", "configDigest", "keyFingerprint"):  # no paths
        if key in details:
            facts.append((key, redact_credentials(details[key])))
    return facts


def run_report(summary: dict, errors: Sequence[dict] = (), extra_counters: Optional[dict] = None) -> str:
    """The page of a de-identify run, from its summary, its error records and optional extra counters.

    ``extra_counters``: counter name -> value of the deidflow namespace; ``modality/<label>/<M>`` and
    ``action/<label>/<tag>/<action>`` counters, where the pipeline reports them, become tables.
    """
    meta, details = summary.get("metadata", {}), summary.get("deidflow", {})
    counter = meta.get("counter", {})
    success, failure = int(counter.get("success", 0) or 0), int(counter.get("failure", 0) or 0)
    skipped = int(details.get("skipped", 0) or 0) if str(details.get("skipped", "0")).isdigit() else 0
    body = [tiles([("de-identified", f"{success:,}", "ok"), ("failed", f"{failure:,}", "bad" if failure else "ok")]
                  + ([("skipped", f"{skipped:,}", "muted")] if skipped else []))]
    body.append("<h2>Run</h2>" + table(["", ""], _run_facts(summary, success + failure)))
    stores = details.get("stores") or {}
    body.append("<h2>Counts per store</h2>")
    if stores:
        rows = [(label, int(c.get("success", 0)), int(c.get("failure", 0))) for label, c in sorted(stores.items())]
        body.append(bar_chart([(r[0], r[1]) for r in rows], "de-identified per store"))
        body.append(table(["store", "de-identified", "failed"], rows, numeric=(1, 2)))
    else:
        body.append(bar_chart([("de-identified", success), ("failed", failure)], "elements"))
        body.append(table(["store", "de-identified", "failed"],
                          [(details.get("destination", ""), success, failure)], numeric=(1, 2)))
    extra = extra_counters or {}
    kinds: Counter = Counter()
    for name, value in extra.items():
        if name.startswith("modality/"):
            kinds[modality_label(name.split("/")[-1])] += value
    types = Counter({name.split("/")[-1]: value for name, value in extra.items() if name.startswith("resourceType/")})
    for heading, counts in (("Counts per modality", kinds), ("Counts per resource type", types)):
        if counts:
            body.append(f"<h2>{heading}</h2>" + bar_chart(counts.most_common(), heading)
                        + table(["", "count"], counts.most_common(), numeric=(1,)))
    # action/<label>/<tag or field path>/<action>; the label itself may contain "/" (dataset runs)
    actions = [(name[len("action/"):].rsplit("/", 2)[1:], value) for name, value in extra.items()
               if name.startswith("action/")]
    if actions:
        rows = sorted(((where, act, value) for (where, act), value in actions), key=lambda r: (-r[2], r[0]))
        by_action = Counter()
        for _, act, value in rows:
            by_action[act] += value
        body.append("<h2>What was done</h2>" + bar_chart(by_action.most_common(), "actions")
                    + table(["tag or field path", "action", "elements"], rows, numeric=(2,)))
    body.append(_failures(errors))
    status = "completed with failures" if failure else "completed"
    return page(f"deidflow run report: {status}", "".join(body))


def _failures(errors: Sequence[dict]) -> str:
    if not errors:
        return '<h2>Failures</h2><p class="ok">No element failed.</p>'
    codes = Counter(e.get("error", {}).get("code", "UNKNOWN") for e in errors)
    rows = [(e.get("error", {}).get("code", ""), _shown_name(e.get("resource_name", "")),
             redact_credentials(e.get("error", {}).get("message", ""))) for e in errors]
    return ("<h2>Failures by error code</h2>" + bar_chart(codes.most_common(), "failures by code")
            + table(["code", "resource", "message"], sorted(rows)))


def _shown_name(name: object) -> str:
    """A resource name as the report shows it: credentials removed, and never an absolute local path (records
    written before names were store-relative keep only their last two parts)."""
    text = redact_credentials(str(name))
    if text.startswith("/") or (len(text) > 2 and text[1] == ":" and text[2] in "\\/"):
        return ".../" + "/".join(text.replace("\\", "/").rsplit("/", 2)[-2:])
    return text


def verify_report(summary: dict, findings: Sequence[dict]) -> str:
    """The page of a verify run: clean or not, residue per category and store, and every location."""
    meta, details = summary.get("metadata", {}), summary.get("deidflow", {})
    counter = meta.get("counter", {})
    scanned, found = int(counter.get("scanned", 0) or 0), len(findings)
    unreadable = int(counter.get("unreadableSources", 0) or 0)
    result = ("residue found" if found else
              f"incomplete: {unreadable:,} sources unreadable" if unreadable else "clean")  # never clean unchecked
    body = [tiles([("result", result, "ok" if result == "clean" else "bad"),
                   ("elements scanned", f"{scanned:,}", ""), ("findings", f"{found:,}", "bad" if found else "ok"),
                   ("identifiers searched", f"{int(counter.get('identifiers', 0) or 0):,}", "")])]
    body.append("<h2>Run</h2>" + table(["", ""], _run_facts(summary, scanned)))
    pairs = details.get("pairs") or []
    if pairs:
        body.append("<h2>Stores</h2>" + table(["source", "destination", "scanned"],
                                              [(p["source"], p["destination"], p.get("scanned", "")) for p in pairs]))
    if found:
        by_category = Counter(f["category"] for f in findings)
        by_store = Counter(f["store"] for f in findings)
        body.append("<h2>Residue per category</h2>" + bar_chart(by_category.most_common(), "findings per category"))
        body.append("<h2>Residue per store</h2>" + table(["store", "findings"], by_store.most_common(), numeric=(1,)))
        body.append("<h2>Locations</h2>" + table(
            ["category", "store", "resource", "location", "source field"],
            [(f["category"], f["store"], f["resource"], f["location"], f.get("origin", "")) for f in findings]))
    else:
        body.append('<h2>Residue</h2><p class="ok">No source identifier was found in the destination.</p>')
    body.append("<h2>Rules</h2><p>Identifiers are searched case-insensitively in every element (nested sequences "
                "and private tags), the bytes outside pixel data, every NDJSON string, base64 data decoded, "
                "narrative text with tags stripped, and the run records. Minimum lengths, word boundaries and "
                "per-patient date matching keep it free of false positives (transforms/verify/README.md).</p>")
    return page("deidflow verify report: " + result, "".join(body))


def read_error_records(run_dir: str, limit: int = 10_000) -> list[dict]:
    out: list[dict] = []
    for path in store_root.list_files(run_dir, skip_meta=False):
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        if name.startswith("errors") and name.endswith(".ndjson"):
            for line in store_root.read_bytes(path).splitlines():
                if line.strip() and len(out) < limit:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        continue
    return out


def write_report(run_dir: str, html_text: str) -> str:
    path = store_root.join(run_dir, "report.html")
    store_root.write_bytes(path, html_text.encode("utf-8"))
    return path

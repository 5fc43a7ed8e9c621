#!/usr/bin/env python3
"""Black-box scorer for deidflow free-text de-identification.

Runs the tool only through its command line (`python -m pipelines.cli`, so PYTHONPATH selects the
code under test) and scores what comes out. Nothing from the project is imported.

    python3 score.py [--set eval|dev|public_physionet] [--limit N] [--mode dicom|fhir]
                     [--config tagcontents|replace] [--json] [--keep DIR] [-- extra beam args]

Metrics (see README.md, "Scoring"):
  * alignment: input and output are tokenised ([^\\W_]+ runs, single punctuation/underscore characters,
    whitespace runs) and aligned with difflib.SequenceMatcher(autojunk=False) on the token lists.
    The *output window* of an input span [start, end) is the output text aligned to the input tokens
    that overlap the span (for a replaced/deleted block: the whole output block).
  * recall per kind: an identifier span counts as removed when
      (a) its value (casefolded, whitespace collapsed) does not occur in its output window, and
      (b) for PERSON_NAME, STREET_ADDRESS, CITY, ORGANIZATION, LOCATION_OTHER: no significant token of
          the value occurs as a whole word (casefold) in the window; a significant token is an
          alphabetic token of >= 2 letters not in COMMON_WORDS (English stop words, titles, name
          particles, generic place/organisation words like "hospital", "street", "county");
          for the identifier kinds (numbers, e-mail, URL, IP, ...): no token of >= 4 characters that
          contains a digit, or >= 4 letters and is not in COMMON_WORDS/GENERIC_WEB, occurs in the window;
          for DATE and AGE only (a) applies (a shifted date keeping its year counts as removed).
    "partial" = value gone but a significant token left.
  * utility: a clinical term survives when it occurs verbatim (case-sensitive) in its output window.
  * precision proxy: characters of non-whitespace input tokens inside replaced/deleted blocks are
    "changed"; strict precision = changed characters inside labelled identifier spans / all changed
    characters; lenient precision also counts changed characters of blocks that overlap a span (labels
    and titles replaced together with the value). Micro-averaged over the set, plus the share of
    snippets with any change outside blocks touching a span ("snippets with false positives").
"""
import argparse
import base64
import difflib
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ["PERSON_NAME", "DATE", "AGE", "PHONE_NUMBER", "FAX_NUMBER", "EMAIL_ADDRESS", "US_SOCIAL_SECURITY_NUMBER",
         "MEDICAL_RECORD_NUMBER", "ACCOUNT_NUMBER", "HEALTH_PLAN_NUMBER", "LICENSE_NUMBER", "VEHICLE_ID",
         "DEVICE_ID", "URL", "IP_ADDRESS", "STREET_ADDRESS", "CITY", "ZIP_CODE", "LOCATION_OTHER", "ORGANIZATION",
         "OTHER_ID"]
WORDY = {"PERSON_NAME", "STREET_ADDRESS", "CITY", "ORGANIZATION", "LOCATION_OTHER"}
VALUE_ONLY = {"DATE", "AGE"}
COMMON_WORDS = set("""
a an the and or of in on at to for from by with without as is are was were be been this that these those it its
he she his her him they them their we our you your i me my mine not no yes but if then than so very more most
up down out over under into onto off about after before between through during per via vs new old north south
east west upper lower left right center centre central general medical memorial regional community university
hospital hospitals clinic clinics health healthcare care center medical group practice associates partners
institute school schools college academy department dept services service system systems network inc llc ltd
co corp corporation company plc gmbh sa ag trust foundation society family st saint ste mt mount fort ft lake
street st rd road ave avenue blvd boulevard dr drive lane ln way ct court circle cir pl place terrace ter
highway hwy route rte suite apt apartment unit floor fl box po p o county city town village district parish
neighborhood neighbourhood park square sq pond airport the van der den de la le von del da dos das di du des
ter ten bin al el mac mc o d y e dr mr mrs ms miss mx md do rn np pa phd dds prof professor doctor sir madam
jr sr ii iii iv esq nurse tech rad pt pts patient patients son daughter mother father wife husband sister brother
january february march april may june july august september october november december jan feb mar apr jun jul
aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun
morning evening night today tomorrow yesterday week month year years yo yr yrs old age aged male female man woman
boy girl baby child infant one two three four five six seven eight nine ten hundred
rehabilitation rehab nursing home senior living psychiatric orthopedics cardiology radiology imaging oncology
pediatrics dialysis urgent endoscopy sleep lab physical therapy women womens children childrens kids public
insurance investments mutual fire post postal warehouse shop stop depot schools international
""".split())
GENERIC_WEB = set("http https www com org net edu gov html htm php aspx mail email gmail yahoo outlook hotmail "
                  "icloud aol proton comcast local localhost patient portal viewer study exports mychart pacs".split())
TOKEN_RE = re.compile(r"[^\W_]+|\s+|_|[^\w\s]")
WORD_RE = re.compile(r"[^\W_]+")


def tokens(text):
    return [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]


class Alignment:
    def __init__(self, a, b):
        self.a, self.b = a, b
        self.ta, self.tb = tokens(a), tokens(b)
        sa = [a[s:e] for s, e in self.ta]
        sb = [b[s:e] for s, e in self.tb]
        self.ops = difflib.SequenceMatcher(None, sa, sb, autojunk=False).get_opcodes()
        self.starts = [s for s, _ in self.ta]

    def window(self, start, end):
        """Output text aligned to input characters [start, end)."""
        i_lo = max(0, self._tok_at(start))
        i_hi = self._tok_at(end - 1) + 1
        js = []
        for tag, i1, i2, j1, j2 in self.ops:
            if i2 <= i_lo or i1 >= i_hi:
                if not (tag == "insert" and i_lo <= i1 <= i_hi):
                    continue
            if tag == "equal":
                lo, hi = max(i1, i_lo), min(i2, i_hi)
                js += [j1 + (lo - i1), j1 + (hi - i1)]
            else:
                js += [j1, j2]
        if not js:
            return ""
        j_lo, j_hi = min(js), max(js)
        if j_hi <= j_lo:
            return ""
        return self.b[self.tb[j_lo][0]:self.tb[j_hi - 1][1]]

    def _tok_at(self, pos):
        import bisect
        return bisect.bisect_right(self.starts, pos) - 1

    def changed_blocks(self):
        for tag, i1, i2, j1, j2 in self.ops:
            if tag in ("replace", "delete"):
                yield i1, i2


def norm(s):
    return re.sub(r"\s+", " ", s).casefold().strip()


def significant_tokens(kind, value):
    if kind in VALUE_ONLY:
        return []
    out = []
    for t in WORD_RE.findall(value):
        tl = t.casefold()
        if kind in WORDY:
            if len(t) >= 2 and t.isalpha() and tl not in COMMON_WORDS:
                out.append(tl)
        else:
            if len(t) >= 4 and (any(c.isdigit() for c in t) or (tl not in COMMON_WORDS and tl not in GENERIC_WEB)):
                out.append(tl)
    return out


def leaked(kind, value, window):
    w = norm(window)
    if norm(value) in w:
        return "full"
    words = {t.casefold() for t in WORD_RE.findall(window)}
    for t in significant_tokens(kind, value):
        if t in words:
            return "partial"
    return None


def score_record(rec, out_text):
    al = Alignment(rec["text"], out_text)
    res = {"ids": [], "terms": []}
    for s in rec["identifiers"]:
        win = al.window(s["start"], s["end"])
        res["ids"].append((s["kind"], leaked(s["kind"], s["value"], win), s["value"], win))
    for t in rec["clinical_terms"]:
        win = al.window(t["start"], t["end"])
        res["terms"].append((t["value"] in win, t["value"], win))
    # precision proxy
    inside = [False] * len(rec["text"])
    for s in rec["identifiers"]:
        for i in range(s["start"], s["end"]):
            inside[i] = True
    changed = strict = lenient = 0
    fp_outside = False
    for i1, i2 in al.changed_blocks():
        lo, hi = al.ta[i1][0], al.ta[i2 - 1][1]
        block_touches = any(inside[lo:hi])
        for ti in range(i1, i2):
            a0, a1 = al.ta[ti]
            if rec["text"][a0:a1].isspace():
                continue
            n = a1 - a0
            k = sum(inside[a0:a1])
            changed += n
            strict += k
            if block_touches:
                lenient += n
            else:
                fp_outside = True
    res["changed"], res["strict"], res["lenient"], res["fp"] = changed, strict, lenient, fp_outside
    return res


# ---------------------------------------------------------------- running the tool
def run_cli(args, env, cwd):
    cmd = [sys.executable, "-m", "pipelines.cli"] + args
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    return p


def chunks(text, limit=8000):
    """Split a text over the LT limit at line/space boundaries; returns pieces whose concatenation is text."""
    if len(text) <= limit:
        return [text]
    out, rest = [], text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        out.append(rest[:cut])
        rest = rest[cut:]
    out.append(rest)
    return out


CONFIGS = {
    "tagcontents": {"dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"}},
    "replace": {"dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"},
                "text": {"transformations": [{"replaceWithInfoTypeConfig": {}}]}},
}
PROJ = "projects/textset/locations/local/datasets/eval"


def uid_map(key, uid):
    d = hmac.new(key, uid.encode("ascii"), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(d[:16], "big"))


def run_dicom(recs, work, env, config_name, beam_args):
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    root = work / "stores"
    src = f"{PROJ}/dicomStores/src"
    dst = f"{PROJ}/dicomStores/dst"
    for args in (["datasets", "create", PROJ], ["dicom-stores", "create", src]):
        p = run_cli(args + ["--store-root", str(root)], env, work)
        if p.returncode != 0:
            sys.exit(f"{' '.join(args)} failed: {p.stderr[-2000:]}")
    store = root / src
    key = hashlib.sha256(b"deidflow-textset-v1").digest()  # fixed: runs are reproducible (date shifts, UIDs)
    (work / "run.key").write_text(base64.b64encode(key).decode())
    sop_of = {}
    study = generate_uid(entropy_srcs=["textset-study"])
    for n, rec in enumerate(recs):
        series = generate_uid(entropy_srcs=["textset-series", rec["id"]])
        for part, piece in enumerate(chunks(rec["text"])):
            sop = generate_uid(entropy_srcs=["textset-sop", rec["id"], str(part)])
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
            meta.MediaStorageSOPInstanceUID = sop
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            meta.ImplementationClassUID = "1.2.826.0.1.3680043.8.498.1"
            ds = Dataset()
            ds.file_meta = meta
            ds.SpecificCharacterSet = "ISO_IR 192"
            ds.SOPClassUID = meta.MediaStorageSOPClassUID
            ds.SOPInstanceUID = sop
            ds.StudyInstanceUID = study
            ds.SeriesInstanceUID = series
            ds.PatientName = "Qxzsynth^Vwtestcase"
            ds.PatientID = "QXZ%06d" % n
            ds.PatientBirthDate = ""
            ds.PatientSex = "O"
            ds.StudyDate = ""
            ds.StudyTime = ""
            ds.ReferringPhysicianName = ""
            ds.StudyID = ""
            ds.AccessionNumber = ""
            ds.Modality = "OT"
            ds.ConversionType = "WSD"
            ds.SeriesNumber = "1"
            ds.InstanceNumber = str(part + 1)
            ds.ImageComments = piece
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.Rows = 4
            ds.Columns = 4
            ds.BitsAllocated = 8
            ds.BitsStored = 8
            ds.HighBit = 7
            ds.PixelRepresentation = 0
            ds.PixelData = bytes(16)
            d = store / study / series
            d.mkdir(parents=True, exist_ok=True)
            ds.save_as(d / f"{sop}.dcm", enforce_file_format=True)
            sop_of[uid_map(key, sop)] = (n, part)
    cfg = work / "config.json"
    cfg.write_text(json.dumps(CONFIGS[config_name]))
    t0 = time.time()
    p = run_cli(["dicom-stores", "deidentify", src, "--destination-store", dst, "--config-file", str(cfg),
                 "--store-root", str(root), "--key-file", str(work / "run.key"), "--quiet"] + beam_args, env, work)
    elapsed = time.time() - t0
    if p.returncode not in (0, 3):
        sys.exit(f"deidentify failed ({p.returncode}): {p.stderr[-3000:]}")
    outs = defaultdict(dict)
    for f in (root / dst).rglob("*"):
        if not f.is_file() or ".deidflow" in f.parts:
            continue
        try:
            ds = pydicom.dcmread(f)
        except Exception:
            continue
        key_ = sop_of.get(str(ds.SOPInstanceUID))
        if key_ is None:
            sys.exit("cannot map output instance back to its snippet (UID scheme changed?): %s" % f)
        outs[key_[0]][key_[1]] = str(ds.get("ImageComments", "") or "")
    texts = []
    missing = 0
    for n, rec in enumerate(recs):
        parts = outs.get(n)
        npart = len(chunks(rec["text"]))
        if not parts or len(parts) != npart:
            missing += 1
            texts.append(None)
        else:
            texts.append("".join(parts[i] for i in range(npart)))
    return texts, missing, elapsed, p.returncode


def run_fhir(recs, work, env, config_name, beam_args):
    root = work / "stores"
    src = f"{PROJ}/fhirStores/src"
    dst = f"{PROJ}/fhirStores/dst"
    for args in (["datasets", "create", PROJ], ["fhir-stores", "create", src, "--version", "R4"]):
        p = run_cli(args + ["--store-root", str(root)], env, work)
        if p.returncode != 0:
            sys.exit(f"{' '.join(args)} failed: {p.stderr[-2000:]}")
    lines = [json.dumps({"resourceType": "Patient", "id": "qxzpat", "name": [{"family": "Qxzsynth", "given": ["Vwtestcase"]}],
                         "gender": "other"})]
    kinds = {}
    for n, rec in enumerate(recs):
        rid = f"t{n:05d}"
        if n % 2 == 0:
            res = {"resourceType": "Observation", "id": rid, "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}], "text": "Progress note"},
                   "subject": {"reference": "Patient/qxzpat"}, "note": [{"text": rec["text"]}],
                   "valueQuantity": {"value": n, "unit": "1"}}
        else:
            res = {"resourceType": "DiagnosticReport", "id": rid, "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "18748-4"}], "text": "Imaging report"},
                   "subject": {"reference": "Patient/qxzpat"}, "conclusion": rec["text"]}
        kinds[n] = res["resourceType"]
        lines.append(json.dumps(res, ensure_ascii=False))
    store = root / src
    store.mkdir(parents=True, exist_ok=True)
    (store / "resources.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["fhir-stores", "deidentify", src, "--destination-store", dst, "--store-root", str(root), "--quiet"]
    if config_name != "default":
        cfg = work / "config.json"
        cfg.write_text(json.dumps({"fhir": {}, "text": CONFIGS["replace"]["text"]} if config_name == "replace" else {}))
        args += ["--config-file", str(cfg)]
    t0 = time.time()
    p = run_cli(args + beam_args, env, work)
    elapsed = time.time() - t0
    if p.returncode not in (0, 3):
        sys.exit(f"deidentify failed ({p.returncode}): {p.stderr[-3000:]}")
    out = {}
    for f in (root / dst).rglob("*.ndjson"):
        if ".deidflow" in f.parts:
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("resourceType") == "Observation":
                out.setdefault(r["resourceType"], []).append(r)
            elif r.get("resourceType") == "DiagnosticReport":
                out.setdefault(r["resourceType"], []).append(r)
    # ids are pseudonymised: map back by order of the code text + position is not guaranteed; use the
    # meta-free approach: match each output to the input with the highest token overlap
    cand = [(r["resourceType"], (r.get("note") or [{}])[0].get("text", "") if r["resourceType"] == "Observation"
             else r.get("conclusion", "")) for rs in out.values() for r in rs]
    texts = [None] * len(recs)
    by_kind = defaultdict(list)
    for rt, t in cand:
        by_kind[rt].append(t)
    obs_by_n = {}
    for r in out.get("Observation", []):
        v = (r.get("valueQuantity") or {}).get("value")
        if isinstance(v, (int, float)) and int(v) not in obs_by_n:
            obs_by_n[int(v)] = (r.get("note") or [{}])[0].get("text", "")
    for n in range(len(recs)):
        if kinds[n] == "Observation" and n in obs_by_n:
            texts[n] = obs_by_n[n]
            if obs_by_n[n] in by_kind["Observation"]:
                by_kind["Observation"].remove(obs_by_n[n])
    for n, rec in enumerate(recs):
        if texts[n] is not None:
            continue
        pool = by_kind[kinds[n]]
        if not pool:
            continue
        a = set(WORD_RE.findall(rec["text"]))
        best = max(range(len(pool)), key=lambda i: len(a & set(WORD_RE.findall(pool[i]))) - 0.001 * abs(len(pool[i]) - len(rec["text"])))
        texts[n] = pool.pop(best)
    missing = sum(t is None for t in texts)
    return texts, missing, elapsed, p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="eval", help="eval | dev | public_physionet | path to a .jsonl file")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--mode", choices=["dicom", "fhir"], default="dicom")
    ap.add_argument("--config", choices=["tagcontents", "replace", "default"], default="tagcontents",
                    help="dicom: tagcontents (DEIDENTIFY_TAG_CONTENTS) or replace (+ text replaceWithInfoType); "
                         "fhir: default (no config file, the shipped Safe Harbor config) or replace")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--keep", help="keep the work folder here (stores, config, outputs)")
    ap.add_argument("--show-misses", type=int, default=0, help="print up to N missed identifiers / lost terms")
    ap.add_argument("beam_args", nargs="*", help="extra args for deidentify after --, e.g. -- --direct_num_workers 1")
    a = ap.parse_args()
    path = Path(a.set) if a.set.endswith(".jsonl") else HERE / f"{a.set}.jsonl"
    recs = [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    if a.limit:
        recs = recs[:a.limit]
    if a.mode == "fhir" and a.config == "tagcontents":
        a.config = "default"
    if a.mode == "dicom" and a.config == "default":
        ap.error("--config default is for --mode fhir; DICOM text inspection needs tagcontents or replace")
    env = dict(os.environ)
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="textset-"))
    if a.keep and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        runner = run_dicom if a.mode == "dicom" else run_fhir
        texts, missing, elapsed, rc = runner(recs, work, env, a.config, a.beam_args)
        if a.keep:
            with open(work / "outputs.jsonl", "w", encoding="utf-8") as fh:
                for rec, t in zip(recs, texts):
                    fh.write(json.dumps({"id": rec["id"], "input": rec["text"], "output": t}, ensure_ascii=False) + "\n")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)

    per = {k: {"n": 0, "removed": 0, "partial": 0} for k in KINDS}
    per_tk = defaultdict(lambda: {"n": 0, "removed": 0, "terms": 0, "kept": 0})
    terms_n = terms_kept = 0
    changed = strict = lenient = 0
    fp_snips = scored = 0
    misses, lost = [], []
    for rec, out in zip(recs, texts):
        if out is None:
            out = rec["text"]  # a missing output counts as nothing removed
        r = score_record(rec, out)
        scored += 1
        for kind, leak, value, win in r["ids"]:
            p = per.setdefault(kind, {"n": 0, "removed": 0, "partial": 0})
            p["n"] += 1
            per_tk[rec["text_kind"]]["n"] += 1
            if leak is None:
                p["removed"] += 1
                per_tk[rec["text_kind"]]["removed"] += 1
            else:
                if leak == "partial":
                    p["partial"] += 1
                misses.append((rec["id"], kind, value, win))
        for ok, value, win in r["terms"]:
            terms_n += 1
            per_tk[rec["text_kind"]]["terms"] += 1
            if ok:
                terms_kept += 1
                per_tk[rec["text_kind"]]["kept"] += 1
            else:
                lost.append((rec["id"], value, win))
        changed += r["changed"]
        strict += r["strict"]
        lenient += r["lenient"]
        fp_snips += r["fp"]
    tot_n = sum(p["n"] for p in per.values())
    tot_r = sum(p["removed"] for p in per.values())
    result = {
        "set": str(path.name), "mode": a.mode, "config": a.config, "snippets": len(recs), "missing_outputs": missing,
        "exit_code": rc, "seconds": round(elapsed, 1),
        "recall": {k: {"n": p["n"], "recall": round(p["removed"] / p["n"], 4) if p["n"] else None,
                       "partial": p["partial"]} for k, p in per.items() if p["n"]},
        "recall_overall": round(tot_r / tot_n, 4) if tot_n else None,
        "recall_macro": round(sum(p["removed"] / p["n"] for p in per.values() if p["n"]) /
                              max(1, sum(1 for p in per.values() if p["n"])), 4),
        "utility": round(terms_kept / terms_n, 4) if terms_n else None, "terms": terms_n,
        "precision_strict": round(strict / changed, 4) if changed else None,
        "precision_lenient": round(lenient / changed, 4) if changed else None,
        "changed_chars": changed,
        "snippets_with_false_positive_changes": fp_snips,
        "by_text_kind": {k: {"ids": v["n"], "recall": round(v["removed"] / v["n"], 4) if v["n"] else None,
                             "terms": v["terms"], "utility": round(v["kept"] / v["terms"], 4) if v["terms"] else None}
                         for k, v in sorted(per_tk.items())},
    }
    if a.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(f"set={result['set']} mode={a.mode} config={a.config} snippets={len(recs)} "
              f"missing_outputs={missing} exit={rc} time={elapsed:.0f}s")
        print(f"{'kind':28s} {'n':>5s} {'recall':>7s} {'partial':>7s}")
        for k, v in result["recall"].items():
            print(f"{k:28s} {v['n']:5d} {v['recall']:7.3f} {v['partial']:7d}")
        print(f"{'OVERALL (micro)':28s} {tot_n:5d} {result['recall_overall']:7.3f}")
        print(f"{'OVERALL (macro over kinds)':28s} {'':5s} {result['recall_macro']:7.3f}")
        print(f"utility (clinical terms kept verbatim): {terms_kept}/{terms_n} = {result['utility']}")
        print(f"precision proxy: strict {result['precision_strict']}  lenient {result['precision_lenient']}  "
              f"(changed chars {changed}; snippets with changes away from any identifier: {fp_snips}/{scored})")
        print("by text kind:")
        for k, v in result["by_text_kind"].items():
            print(f"  {k:20s} ids {v['ids']:5d} recall {v['recall']}  terms {v['terms']:4d} utility {v['utility']}")
    if a.show_misses:
        print("\nmissed identifiers:", file=sys.stderr)
        for m in misses[:a.show_misses]:
            print("  ", m, file=sys.stderr)
        print("lost clinical terms:", file=sys.stderr)
        for m in lost[:a.show_misses]:
            print("  ", m, file=sys.stderr)


if __name__ == "__main__":
    main()

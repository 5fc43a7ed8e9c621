"""Text detection benchmark: recall and precision per kind, utility and KB/s on the independent labelled set
(bench/text_eval/, written without reading transforms/text/), the linear-time bench on adversarial inputs, and
the older generated corpus (--faker).

Run:
  python bench/text_detection.py                       # dev and eval sets, then the linear-time bench
  python bench/text_detection.py --set public_physionet  # the PhysioNet deid nursing notes (no utility labels)
  python bench/text_detection.py --faker [--sentences 3000] [--seed 7]   # the older Faker corpus
  python bench/text_detection.py --dump before.json    # every finding on dev, eval, PhysioNet: diff a speed-up
The black-box figures (through the CLI, DICOM ImageComments) come from bench/text_eval/score.py; this bench
measures the detectors in process: an identifier is found when findings cover every character of it, a clinical
term survives when no finding touches it, and precision is per reported infoType (findings overlapping any
labelled identifier / all findings).

Older corpus:

Honesty rules for the corpus:
- Values come from Faker (seeded), not from the detector's lists or regexes: Faker's own phone, SSN, email,
  street-address and date formats; person names from Faker's en_US, es_MX, de_DE, it_IT, pl_PL and vi_VN
  locales (many are not in the 1990 census lists the detector uses).
- A quarter of the person names are invented from syllables (no list has them); they appear only in shapes
  that reveal a name to a reader (DICOM ``LAST^FIRST``, a title, a label such as "Referring physician:").
- Negative sentences carry clinical eponyms and capitalised words ("Parkinson disease", "Down syndrome",
  "Mass General" is labelled as a facility), so precision is measured on text built to trip a name detector.

Dependencies and why: phonenumbers (Google's libphonenumber port, validates international numbers), names
(US census name lists in a pip package). usaddress and python-dateutil were considered: usaddress parses a string
already known to be an address (it does not find one in free text, and its CRF costs far more than a regex);
dateutil's fuzzy parser finds dates in sentences but over-matches numbers and loses the written format, which
date shifting must keep. presidio-analyzer needs a spaCy model download at first use, so it is out.

It needs faker (in the test extras).
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from transforms.crypto import Keys  # noqa: E402
from transforms.text import TextPolicy, clean_text, detect  # noqa: E402

TARGETS = {
    "PERSON_NAME": 0.98,
    "DATE": 0.98,
    "PHONE_NUMBER": 0.98,
    "EMAIL_ADDRESS": 0.98,
    "US_SOCIAL_SECURITY_NUMBER": 0.98,
    "MEDICAL_RECORD_NUMBER": 0.98,
    "STREET_ADDRESS": 0.98,
}
FAMILY = {
    "PERSON_NAME": "PERSON_NAME",
    "DATE": "DATE",
    "DATE_OF_BIRTH": "DATE",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "FAX_NUMBER": "PHONE_NUMBER",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "US_SOCIAL_SECURITY_NUMBER": "US_SOCIAL_SECURITY_NUMBER",
    "MEDICAL_RECORD_NUMBER": "MEDICAL_RECORD_NUMBER",
    "STREET_ADDRESS": "LOCATION",
    "LOCATION": "LOCATION",
    "ORGANIZATION_NAME": "LOCATION",
    "US_STATE": "LOCATION",
    "AGE": "AGE",
}
EVALUATED = frozenset(FAMILY)

SYLLABLES = "ka zor vel quin dra mor tel bri sha lon vek tor yss ula ren gar fim op ath ix bel cor dun eth".split()
LOCALES = ["en_US", "en_US", "en_US", "es_MX", "de_DE", "it_IT", "pl_PL", "vi_VN"]
DATE_FORMATS = ["%Y%m%d", "%m/%d/%Y", "%Y-%m-%d", "%d-%b-%Y", "%B %d, %Y", "%b %d, %Y", "%d %b %Y", "%-m/%-d/%y"]

NAME_TEMPLATES_ANY = [
    "{N} tolerated the procedure well.",
    "Patient {N} was admitted for chest pain.",
    "Seen today with {N}, who reports improvement.",
    "Referring physician: {N}.",
    "Dictated by {N}, MD.",
    "CT CHEST performed for {N}",
    "Images reviewed by Dr. {N} and discussed with the family.",
    "Report signed by {N} on the same day.",
    "Spoke with {N} regarding the results.",
    "cc: {N}",
]
NAME_TEMPLATES_SHAPE = [
    "Referring physician: {N}.",
    "Dictated by {N}, MD.",
    "Patient name: {N}",
    "Images reviewed by Dr. {N}.",
    "Report signed by {N}.",
    "Technologist: {N}",
]
OTHER_TEMPLATES = {
    "DATE": ["Exam date {V}.", "Prior study from {V} shows no change.", "DOB: {V}", "Follow-up on {V} recommended."],
    "PHONE_NUMBER": [
        "Call {V} with questions.",
        "Phone: {V}",
        "Contact the reading room at {V}.",
        "Fax results to {V}.",
    ],
    "EMAIL_ADDRESS": ["Send the report to {V}.", "Email: {V}"],
    "US_SOCIAL_SECURITY_NUMBER": ["SSN {V} on file.", "Social security number: {V}"],
    "MEDICAL_RECORD_NUMBER": ["MRN: {V}", "Medical record number {V} verified.", "MR# {V}", "Patient ID: {V}"],
    "STREET_ADDRESS": ["Lives at {V}.", "Home address: {V}", "Mail films to {V}."],
    "ORGANIZATION_NAME": ["Transferred from {V} for further care.", "Outside films from {V} reviewed."],
}
NEGATIVES = [
    "History of Parkinson disease and Down syndrome.",
    "Findings consistent with Hodgkin lymphoma.",
    "Known Crohn's disease with terminal ileum thickening.",
    "Graves disease treated with radioactive iodine.",
    "No evidence of Wilson disease.",
    "White matter changes are unchanged. Will follow up in six months.",
    "Mark the lesion with a clip. Young patient with no risk factors.",
    "Impression: No acute intracranial abnormality.",
    "CT HEAD WO CONTRAST",
    "MRI BRAIN W AND WO CONTRAST",
    "XR CHEST PA AND LATERAL",
    "Comparison: None. Technique: Axial images through the abdomen and pelvis.",
    "Positive Murphy sign. Negative McBurney point tenderness.",
    "Bell palsy on the left. Babinski sign absent.",
    "Doppler ultrasound of the lower extremities shows no DVT.",
    "Small Baker cyst. Foley catheter in place.",
    "Glasgow Coma Scale 15. Apgar scores normal.",
    "Recommend Holter monitor and Cardiology follow-up.",
    "Series 3 image 45 shows a 5 mm nodule in the right upper lobe.",
    "Dose 100 mg twice daily for 10 days.",
]
FACILITIES = ["Mass General", "Massachusetts General Hospital", "Saint Mary's Medical Center", "Lakeside Imaging Center",
              "County General Hospital", "Riverside Regional Medical Center", "Mayo Clinic"]  # fmt: skip


def invented_name(rng: random.Random) -> tuple[str, str]:
    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    return word(), word()


def name_shape(rng: random.Random, first: str, last: str, invented: bool) -> str:
    shapes = ["{F} {L}", "{L}^{F}", "{LU}^{FU}", "{LU}, {FU}", "{L}, {F}", "{I}. {L}", "{F} {I}. {L}", "{FU} {LU}"]
    if invented:
        shapes = ["{L}^{F}", "{LU}^{FU}", "{F} {L}", "{LU}, {FU}", "{I}. {L}"]
    mid = rng.choice(string.ascii_uppercase)
    return rng.choice(shapes).format(F=first, L=last, FU=first.upper(), LU=last.upper(), I=mid if "{I}. {L}" else "")


def build_corpus(n_sentences: int, seed: int) -> tuple[list[str], list[list[tuple[int, int, str]]]]:
    from faker import Faker

    rng = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in set(LOCALES)}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed + i)
    us = fakers["en_US"]
    docs: list[str] = []
    labels: list[list[tuple[int, int, str]]] = []
    text, spans = "", []
    for k in range(n_sentences):
        kind = rng.choices(
            ["PERSON_NAME", "DATE", "PHONE_NUMBER", "EMAIL_ADDRESS", "US_SOCIAL_SECURITY_NUMBER",
             "MEDICAL_RECORD_NUMBER", "STREET_ADDRESS", "ORGANIZATION_NAME", "NEG"],
            weights=[30, 15, 10, 6, 6, 8, 10, 4, 20],
        )[0]  # fmt: skip
        if kind == "NEG":
            sentence, value_span = rng.choice(NEGATIVES), None
        else:
            if kind == "PERSON_NAME":
                invented = rng.random() < 0.25
                if invented:
                    first, last = invented_name(rng)
                    template = rng.choice(NAME_TEMPLATES_SHAPE)
                else:
                    fk = fakers[rng.choice(LOCALES)]
                    first, last = fk.first_name(), fk.last_name().split()[0]
                    template = rng.choice(NAME_TEMPLATES_ANY)
                value = name_shape(rng, first, last, invented)
                if "Dr. {N}" in template:
                    value = rng.choice([last, f"{first} {last}"])
            elif kind == "DATE":
                d = us.date_between(start_date="-80y", end_date="+1y")
                value = d.strftime(rng.choice(DATE_FORMATS))
                template = rng.choice(OTHER_TEMPLATES[kind])
            elif kind == "PHONE_NUMBER":
                value, template = us.phone_number(), rng.choice(OTHER_TEMPLATES[kind])
            elif kind == "EMAIL_ADDRESS":
                value, template = us.email(), rng.choice(OTHER_TEMPLATES[kind])
            elif kind == "US_SOCIAL_SECURITY_NUMBER":
                value, template = us.ssn(), rng.choice(OTHER_TEMPLATES[kind])
            elif kind == "MEDICAL_RECORD_NUMBER":
                value = rng.choice(["", "", "A", "MR", "H"]) + str(rng.randint(10**5, 10**10))
                template = rng.choice(OTHER_TEMPLATES[kind])
            elif kind == "STREET_ADDRESS":
                value = us.street_address()
                if rng.random() < 0.5:
                    value += f", {us.city()}, {us.state_abbr(include_territories=False)} {us.zipcode()}"
                template = rng.choice(OTHER_TEMPLATES[kind])
            else:
                value, template = rng.choice(FACILITIES), rng.choice(OTHER_TEMPLATES[kind])
            head, tail = template.split("{N}" if "{N}" in template else "{V}")
            sentence = head + value + tail
            value_span = (len(head), len(head) + len(value), kind)
        sep = "" if not text else rng.choice([" ", "\n", "  "])
        if value_span:
            base = len(text) + len(sep)
            spans.append((base + value_span[0], base + value_span[1], value_span[2]))
        text += sep + sentence
        if rng.random() < 0.2 or k == n_sentences - 1:
            docs.append(text)
            labels.append(spans)
            text, spans = "", []
    return docs, labels


def evaluate(docs: list[str], labels: list[list[tuple[int, int, str]]]) -> None:
    hit: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    tp_f: dict[str, int] = defaultdict(int)
    all_f: dict[str, int] = defaultdict(int)
    misses: dict[str, list[str]] = defaultdict(list)
    false_pos: list[str] = []
    for text, spans in zip(docs, labels, strict=True):
        findings = detect(text, EVALUATED)
        for s, e, kind in spans:
            fam = FAMILY.get(kind, kind)
            covered = [f for f in findings if f.start < e and f.end > s and FAMILY.get(f.info_type) == fam]
            ok = bool(covered) and min(f.start for f in covered) <= s and max(f.end for f in covered) >= e
            report_kind = kind if kind != "ORGANIZATION_NAME" else "ORGANIZATION_NAME"
            total[report_kind] += 1
            hit[report_kind] += ok
            if not ok and len(misses[report_kind]) < 5:
                misses[report_kind].append(text[max(0, s - 20) : e + 10].replace("\n", " "))
        for f in findings:
            fam = FAMILY.get(f.info_type)
            all_f[fam] += 1
            good = any(f.start < e and f.end > s and FAMILY.get(k, k) == fam for s, e, k in spans)
            tp_f[fam] += good
            if not good and len(false_pos) < 15:
                false_pos.append(f"{f.info_type}: {text[f.start : f.end]!r}")
    n_spans = sum(total.values())
    print(f"corpus: {len(docs)} documents, {sum(map(len, docs)) / 1024:.0f} KiB, {n_spans} labelled spans\n")
    print(f"{'infoType':32} {'spans':>6} {'recall':>7} {'target':>7}")
    for kind in sorted(total):
        target = TARGETS.get(kind)
        recall = hit[kind] / total[kind]
        flag = "" if target is None else ("ok" if recall >= target else "BELOW")
        print(f"{kind:32} {total[kind]:6d} {recall:7.3f} {target or '':>7} {flag}")
    print(f"\n{'family':32} {'found':>6} {'precision':>9}")
    for fam in sorted(all_f):
        print(f"{fam:32} {all_f[fam]:6d} {tp_f[fam] / all_f[fam]:9.3f}")
    overall = sum(tp_f.values()) / max(1, sum(all_f.values()))
    print(f"{'OVERALL':32} {sum(all_f.values()):6d} {overall:9.3f}  (target 0.90)")
    for kind, items in misses.items():
        print(f"\nmissed {kind} (first {len(items)}):", *items, sep="\n  ")
    print("\nfalse positives (first 15):", *false_pos, sep="\n  ")


def throughput(docs: list[str]) -> None:
    size_kb = sum(len(d.encode("utf-8")) for d in docs) / 1024
    policy = TextPolicy.from_config(None)
    keys = Keys(run_key=bytes(32))
    for label, fn in (
        ("detect, all infoTypes", lambda d: detect(d)),
        ("clean_text, BASIC profile", lambda d: clean_text(d, policy, keys, patient="P")),
        ("clean_text + 6 context values", lambda d: clean_text(d, policy, keys, patient="P",
                                                               context=("DOE^JANE^Q", "A12345678", "19500304"))),
    ):  # fmt: skip
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for d in docs:
                fn(d)
            best = min(best, time.perf_counter() - t0)
        print(f"{label:34} {size_kb / best:8.0f} KB/s  (one core, best of 3, {size_kb:.0f} KiB)")


EVAL_DIR = Path(__file__).resolve().parent / "text_eval"
TARGET_RECALL, TARGET_KIND_RECALL, TARGET_UTILITY, TARGET_KBPS = 0.97, 0.93, 0.97, 200


def load_set(name: str) -> list[dict]:
    path = EVAL_DIR / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _scorer():
    """The frozen set's own scorer module (bench/text_eval/score.py), for its leak and alignment rules."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("text_eval_score", EVAL_DIR / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate_set(name: str) -> dict:
    """Recall per kind, precision per reported infoType, utility and detector KB/s on one labelled set.

    Recall and utility use the set's own rules (score.py's score_record on the text cleaned in process with the
    BASIC profile, dates shifted, everything else replaced by its infoType), so they match the black-box figures
    without the CLI. Precision per infoType: findings overlapping a labelled identifier / all findings.
    """
    scorer = _scorer()
    records = load_set(name)
    policy = TextPolicy.from_config(None)  # the default set, BASIC profile
    keys = Keys(run_key=bytes(32))
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    precision: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    kept = terms = changed = strict = 0
    for rec in records:
        text = rec["text"]
        res = scorer.score_record(rec, clean_text(text, policy, keys, patient=rec["id"]))
        for kind, leak, _value, _window in res["ids"]:
            found[kind][0] += leak is None
            found[kind][1] += 1
        for ok, _value, _window in res["terms"]:
            kept += ok
            terms += 1
        changed += res["changed"]
        strict += res["strict"]
        spans = [(i["start"], i["end"]) for i in rec["identifiers"]]
        for f in detect(text, policy.info_types):
            precision[f.info_type][0] += any(f.start < e and f.end > s for s, e in spans)
            precision[f.info_type][1] += 1
    size_kb = sum(len(r["text"].encode("utf-8")) for r in records) / 1024
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for rec in records:
            detect(rec["text"], policy.info_types)
        best = min(best, time.process_time() - t0)
    hits = sum(v[0] for v in found.values())
    total = sum(v[1] for v in found.values())
    return {
        "set": name, "snippets": len(records), "kb": size_kb,
        "recall": {k: v[0] / v[1] for k, v in found.items()}, "n": {k: v[1] for k, v in found.items()},
        "overall_recall": hits / max(1, total),
        "precision": {k: v[0] / v[1] for k, v in precision.items()}, "found": {k: v[1] for k, v in precision.items()},
        "utility": kept / terms if terms else None, "kbps": size_kb / best,
        "strict_precision": strict / max(1, changed),
    }  # fmt: skip


def report_set(r: dict) -> bool:
    print(f"== {r['set']}: {r['snippets']} snippets, {r['kb']:.0f} KiB")
    print(f"{'kind':28} {'n':>5} {'recall':>7}")
    ok = r["overall_recall"] >= TARGET_RECALL
    for kind in sorted(r["recall"]):
        flag = "" if r["recall"][kind] >= TARGET_KIND_RECALL else "  BELOW 0.93"
        ok &= not flag
        print(f"{kind:28} {r['n'][kind]:5d} {r['recall'][kind]:7.3f}{flag}")
    print(f"{'OVERALL':28} {sum(r['n'].values()):5d} {r['overall_recall']:7.3f}  (target {TARGET_RECALL})")
    print(f"changed characters inside labelled identifiers (the set's strict precision): {r['strict_precision']:.3f}")
    print(f"\n{'reported infoType':34} {'found':>6} {'precision':>9}")
    for t in sorted(r["precision"]):
        print(f"{t:34} {r['found'][t]:6d} {r['precision'][t]:9.3f}")
    if r["utility"] is not None:
        ok &= r["utility"] >= TARGET_UTILITY
        print(f"\nutility (clinical terms untouched): {r['utility']:.4f}  (target {TARGET_UTILITY})")
    ok &= r["kbps"] >= TARGET_KBPS
    print(f"detectors: {r['kbps']:.0f} KB/s per core (CPU time, best of 3; target {TARGET_KBPS})\n")
    return ok


def linear_time_bench(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> bool:
    """Adversarial inputs at two sizes: the time must grow about linearly (10x input, at most ~15x time)."""
    cases = {
        "one token": lambda n: "a" * n,
        "mixed token": lambda n: ("Ab1.-_" * (n // 6 + 1))[:n],
        "repeated separators": lambda n: ", " * (n // 2),
        "slashes": lambda n: "a/" * (n // 2),
        "initials": lambda n: "A." * (n // 2),
        "caret run": lambda n: "^" * n,
        "caret names": lambda n: ("DOE^JANE^" * (n // 9 + 1))[:n],
        "digits and dashes": lambda n: "1-" * (n // 2),
    }
    ok = True
    print(f"== linear-time bench ({' / '.join(f'{s // 1000} KB' for s in sizes)})")
    for name, make in cases.items():
        times = []
        for size in sizes:
            text = make(size)
            t0 = time.process_time()
            detect(text)
            times.append(time.process_time() - t0)
        ratio = times[-1] / max(times[0], 1e-3)
        linear = ratio <= 15 * sizes[-1] / sizes[0] / 10
        ok &= linear
        shown = "  ".join(f"{t:6.2f} s" for t in times)
        print(f"{name:22} {shown}  x{ratio:5.1f}  {'linear' if linear else 'NOT LINEAR'}")
    print()
    return ok


def dump_findings(path: str, names: list[str]) -> None:
    """Write every finding on the named sets (default set and all infoTypes) as JSON, to diff a speed-up's output
    before and after: identical files, or only changes you can explain."""
    policy = TextPolicy.from_config(None)
    out = {}
    for name in names:
        out[name] = [
            [[f.start, f.end, f.info_type] for f in detect(rec["text"], types)]
            for rec in load_set(name)
            for types in (policy.info_types, None)
        ]
    Path(path).write_text(json.dumps(out), encoding="utf-8")


def faker_main(sentences: int, seed: int) -> None:
    docs, labels = build_corpus(sentences, seed)
    evaluate(docs, labels)
    print()
    throughput(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", help="dev, eval, public_physionet (default: dev and eval)")
    parser.add_argument("--no-linear", action="store_true", help="skip the linear-time bench")
    parser.add_argument("--faker", action="store_true", help="the older generated corpus instead")
    parser.add_argument("--sentences", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dump", metavar="PATH", help="only write the findings on the sets to PATH (JSON)")
    args = parser.parse_args()
    if args.dump:
        dump_findings(args.dump, args.set or ["dev", "eval", "public_physionet"])
        return
    if args.faker:
        faker_main(args.sentences, args.seed)
        return
    ok = True
    for name in args.set or ["dev", "eval"]:
        ok &= report_set(evaluate_set(name))
    if not args.no_linear:
        ok &= linear_time_bench()
    print("all targets met" if ok else "some targets not met")


if __name__ == "__main__":
    main()

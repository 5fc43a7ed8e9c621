#!/usr/bin/env python3
"""Convert the PhysioNet deid 1.1 gold-standard nursing notes (id.text + id-phi.phrase) to the textset JSONL format.

    python3 convert_physionet.py /path/to/id.text /path/to/id-phi.phrase > ../public_physionet.jsonl

Source used: GitHub fork pisces7lning/deid2021 (commit ec3f411), a copy of the PhysioNet
"De-identification Software Package" deid 1.1 (Neamatullah et al., 2008), whose README.txt states
"License: GNU GPL 2.0" (COPYING copied next to this script). The notes carry realistic surrogate PHI.
"""
import json
import re
import sys

CAT = {"HCPName": "PERSON_NAME", "PTName": "PERSON_NAME", "PTNameInitial": "PERSON_NAME",
       "RelativeProxyName": "PERSON_NAME", "Date": "DATE", "DateYear": "DATE", "Location": "LOCATION_OTHER",
       "Phone": "PHONE_NUMBER", "Age": "AGE", "Other": "OTHER_ID"}


def main(text_path, phrase_path):
    raw = open(text_path, encoding="latin-1").read()
    notes = {}
    for m in re.finditer(r"START_OF_RECORD=(\d+)\|\|\|\|(\d+)\|\|\|\|\n(.*?)\|\|\|\|END_OF_RECORD", raw, re.S):
        notes[(int(m.group(1)), int(m.group(2)))] = m.group(3)
    spans = {}
    bad = 0
    for line in open(phrase_path, encoding="latin-1"):
        p = line.rstrip("\n").split(" ", 5)
        if len(p) < 6:
            continue
        key, s, e, cat, phrase = (int(p[0]), int(p[1])), int(p[2]), int(p[3]), p[4], p[5]
        body = notes.get(key)
        if body is None or body[s:e] != phrase:
            bad += 1
            continue
        spans.setdefault(key, []).append({"start": s, "end": e, "kind": CAT[cat], "value": phrase,
                                          "source_category": cat})
    n_out = 0
    for key in sorted(notes):
        body = notes[key]
        ids = sorted(spans.get(key, []), key=lambda x: x["start"])
        # merge adjacent tokens of the same kind separated by one space (multi-word names/places)
        merged = []
        for sp in ids:
            if merged and merged[-1]["kind"] == sp["kind"] and body[merged[-1]["end"]:sp["start"]] == " ":
                merged[-1]["end"] = sp["end"]
                merged[-1]["value"] = body[merged[-1]["start"]:sp["end"]]
            else:
                merged.append(dict(sp))
        for sp in merged:
            assert body[sp["start"]:sp["end"]] == sp["value"]
        rec = {"id": f"physionet-{key[0]:03d}-{key[1]:03d}", "text_kind": "nursing_note", "origin": "physionet-deid-1.1",
               "text": body, "identifiers": merged, "clinical_terms": []}
        print(json.dumps(rec, ensure_ascii=False))
        n_out += 1
    print(f"{n_out} notes, {sum(len(v) for v in spans.values())} phrase spans, {bad} unmatched", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

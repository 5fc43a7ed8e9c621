"""`deidflow verify SOURCE DESTINATION`: search a de-identified copy for its source's identifiers.

Exit codes: 0 clean, 1 identifiers found (residue; see the findings and report.html), 2 bad launch,
4 no residue found but some source files or lines could not be read (their identifiers were not searched for).
"""

from __future__ import annotations

import os
import sys
from typing import Optional, Sequence

from pipelines.commands import EXIT_OK, UsageError, beam_options

EXIT_RESIDUE = 1
EXIT_UNREADABLE = 4
STORE_KINDS = ("dicomStores", "fhirStores")
PRINTED_FINDINGS = 50


def register(groups) -> None:
    parser = groups["verify"]
    parser.description = (
        "Collect the identifying values of a source (DICOM: every attribute the Basic Profile removes or "
        "replaces; FHIR: the Safe Harbor fields) and search the de-identified destination for them everywhere a "
        "value can hide, run records included. Reports residue per category with locations, never values. "
        "Exit 0 clean, 1 residue found, 2 bad launch, 4 no residue found but some sources could not be read "
        "(counted in the summary as unreadableSources; never reported clean)."
    )
    parser.add_argument("source", metavar="SOURCE",
                        help="A source store (.../dicomStores/S or .../fhirStores/S) or dataset (.../datasets/D).")
    parser.add_argument("destination", metavar="DESTINATION",
                        help="The de-identified store or dataset made from SOURCE (same kind).")
    parser.add_argument("--store-root", "--store_root", dest="store_root", default="./stores",
                        help="Where stores live: a local folder or gs://bucket/prefix (default ./stores).")
    parser.add_argument("--key-file", "--key_file", dest="key_file", default=None,
                        help="The run key the de-identification used. With it, dates are matched per patient "
                        "(destination study UIDs and patient references map back to their patient).")
    parser.add_argument("--config-file", "--config_file", dest="config_file", default=None,
                        help="The DeidentifyConfig the run used; only its cryptoKey is read (as --key-file).")
    parser.add_argument("--quiet", dest="quiet", action="store_true", default=False,
                        help="Print only the summary.")
    parser.set_defaults(handler=run_verify)


def _stores_in(dataset_path: str, kind: str) -> list[str]:
    from pipelines.stores import store_root

    folder = store_root.join(dataset_path, kind)
    if not store_root.is_remote(folder):
        if not os.path.isdir(folder):
            return []
        return sorted(n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n)))
    return sorted({store_root.relative(p, folder).split("/", 1)[0] for p in store_root.list_files(folder, False)})


def plan_pairs(source: str, destination: str, root: str):
    """Resolve SOURCE / DESTINATION into store pairs (a dataset pair: one per source store, same store id)."""
    from pipelines.launch import ResourceName, resource_path
    from pipelines.stores import store_root
    from pipelines.verify import VerifyPair
    from transforms.errors import LaunchError

    root = store_root.normalize_root(root)
    kind = next((k for k in STORE_KINDS if f"/{k}/" in source), None)
    src = ResourceName.parse(source, kind, "SOURCE")
    dst = ResourceName.parse(destination, kind, "DESTINATION")
    src_path, dst_path = resource_path(root, src), resource_path(root, dst)
    for name, path, arg in ((src, src_path, "SOURCE"), (dst, dst_path, "DESTINATION")):
        if not store_root.exists(path):
            raise LaunchError(f"{arg}: '{name}' does not exist under store root '{root}'")
    if kind is not None:
        pair = VerifyPair(kind, src.name, dst.name, src_path, dst_path, "dicom" if kind == "dicomStores" else "fhir")
        return [pair], store_root.join(dst_path, store_root.META_DIR)
    pairs = []
    for store_kind in STORE_KINDS:
        for store in _stores_in(src_path, store_kind):
            s, d = src.store_in(src, store_kind, store), src.store_in(dst, store_kind, store)
            d_path = resource_path(root, d)
            if not store_root.exists(d_path):
                raise LaunchError(f"DESTINATION: '{d}' (made from '{s}') does not exist")
            pairs.append(VerifyPair(store_kind, s.name, d.name, resource_path(root, s), d_path,
                                    f"{store_kind[:-6]}-{store}"))
    if not pairs:
        raise LaunchError(f"SOURCE: dataset '{src}' holds no DICOM or FHIR store")
    return pairs, store_root.join(dst_path, store_root.META_DIR)


def _keys(config_file: Optional[str], key_file: Optional[str]):
    from pipelines import launch
    from transforms.config import crypto_keys

    config = launch.load_config(config_file)
    if key_file or (config is not None and crypto_keys(config)):
        return launch.resolve_keys(config, key_file)
    return None


def run_verify(args, beam_args: Sequence[str]) -> int:
    import apache_beam as beam

    from pipelines import launch, report, run_record
    from pipelines import verify as verify_pipeline
    from pipelines.stores import store_root

    if not args.source or not args.destination:
        raise UsageError("SOURCE and DESTINATION are required")
    pairs, meta_dir = plan_pairs(args.source, args.destination, args.store_root)
    keys = _keys(args.config_file, args.key_file)
    run_id = launch.new_run_id()
    run_dir = store_root.join(meta_dir, "runs", run_id)
    create_time = run_record.now()
    pipeline = beam.Pipeline(options=beam_options(beam_args))
    verify_pipeline.add_verify_branches(pipeline, pairs, run_dir, keys)
    result = pipeline.run()
    result.wait_until_finish()
    counters = run_record.counters(result)
    findings = verify_pipeline.read_findings(run_dir)
    scanned = {p.label: counters.get(verify_pipeline.scanned_counter(p.label), 0) for p in pairs}
    unreadable = {p.label: counters.get(verify_pipeline.unreadable_counter(p.label), 0) for p in pairs}
    result_name = "residue" if findings else ("incomplete" if any(unreadable.values()) else "clean")
    summary = {
        "name": f"deidflow/verify/{run_id}",
        "done": True,
        "metadata": {
            "apiMethodName": "deidflow.verify",
            "createTime": create_time,
            "endTime": run_record.now(),
            "counter": {"scanned": str(sum(scanned.values())), "findings": str(len(findings)),
                        "identifiers": str(counters.get("verify/identifiers", 0)),
                        "unreadableSources": str(sum(unreadable.values()))},
        },
        "deidflow": {
            "result": result_name,
            "source": args.source,
            "destination": args.destination,
            "pairs": [{"source": p.source, "destination": p.destination, "scanned": str(scanned[p.label]),
                       "unreadableSources": str(unreadable[p.label])} for p in pairs],
            "findingsByCategory": dict(sorted(_count(findings, "category").items())),
            "findingsByStore": dict(sorted(_count(findings, "store").items())),
            "keyFingerprint": keys.fingerprint if keys is not None else "",
            "datesMatchedPerPatient": keys is not None,
            "runDir": run_record.shown_run_dir(run_dir),  # below the store root: no absolute path in records
            "findings": findings[:PRINTED_FINDINGS],
        },
    }
    run_record.write_summary(run_dir, summary)
    report.write_report(run_dir, report.verify_report(summary, findings))
    print(run_record.dumps(summary))
    if findings and len(findings) > PRINTED_FINDINGS:
        print(f"... {len(findings) - PRINTED_FINDINGS} more findings in {run_dir}")
    if findings:
        return EXIT_RESIDUE
    if any(unreadable.values()):
        print(f"{sum(unreadable.values())} source files or lines could not be read; their identifiers were not "
              "searched for (exit 4)", file=sys.stderr)
        return EXIT_UNREADABLE
    return EXIT_OK


def _count(findings: list[dict], key: str) -> dict:
    out: dict = {}
    for f in findings:
        out[f[key]] = out.get(f[key], 0) + 1
    return out


__all__ = ["register", "run_verify", "plan_pairs", "EXIT_RESIDUE", "EXIT_UNREADABLE"]

"""`deidflow sample fhir-store`: a synthetic multi-patient FHIR store (NDJSON per type, or one Bundle) full of PHI."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pipelines.commands import EXIT_OK, UsageError


def register(groups) -> None:
    parser = groups["sample"].add_parser(
        "fhir-store", help="Write a synthetic FHIR R4 store (NDJSON files, one per resource type).",
        description="Write a synthetic, Synthea-like FHIR R4 store under the store root: per patient a Patient, "
        "Encounter, Observations, Condition, DiagnosticReport (narrative, conclusion), DocumentReference (base64 "
        "text note), ImagingStudy and MedicationRequest, plus shared Practitioners and an Organization.",
    )
    parser.add_argument("store", metavar="STORE", help="projects/P/locations/L/datasets/D/fhirStores/S")
    parser.add_argument("--store-root", "--store_root", dest="store_root", default="./stores")
    parser.add_argument("--patients", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("ndjson", "bundle"), default="ndjson",
                        help="ndjson: <Type>.ndjson files (a FHIR store export); bundle: one transaction Bundle "
                        "file with urn:uuid: references.")
    parser.add_argument("--fhir-version", "--fhir_version", dest="fhir_version", default="R4",
                        help="The version recorded in the store's metadata (R5 stores are rejected by deidentify).")
    parser.set_defaults(handler=run_sample_fhir)


def sample_files(patients: int, seed: int, fmt: str) -> dict[str, bytes]:
    """The store's files by name: <Type>.ndjson per resource type, or bundle.json."""
    from transforms.fhir.sample import sample_bundle, sample_store

    if fmt == "bundle":
        bundle, _ = sample_bundle(patients, seed)
        return {"bundle.json": json.dumps(bundle, indent=1).encode("utf-8")}
    files: dict[str, list[str]] = {}
    for resource in sample_store(patients, seed).resources:
        files.setdefault(f"{resource['resourceType']}.ndjson", []).append(json.dumps(resource, ensure_ascii=False))
    return {name: ("\n".join(lines) + "\n").encode("utf-8") for name, lines in sorted(files.items())}


def run_sample_fhir(args, beam_args: Sequence[str]) -> int:
    from pipelines.launch import FHIR_VERSION_KEY, ResourceName, create_store, resource_path
    from pipelines.stores import store_root

    if beam_args:
        raise UsageError(f"unrecognized arguments: {' '.join(beam_args)}")
    if args.patients < 1:
        raise UsageError("--patients: at least 1")
    name = ResourceName.parse(args.store, "fhirStores", "STORE")
    root = store_root.normalize_root(args.store_root)
    path = resource_path(root, name)
    store_root.mkdirs(resource_path(root, ResourceName(name.project, name.location, name.dataset)))
    if not store_root.exists(path):
        create_store(path, "fhirStores", {FHIR_VERSION_KEY: args.fhir_version.upper()})
    files = sample_files(args.patients, args.seed, args.format)
    lines = 0
    for relative, data in files.items():
        store_root.write_bytes(store_root.join(path, relative), data)
        lines += data.count(b"\n") if relative.endswith(".ndjson") else 0
    what = f"{lines} resources in {len(files)} NDJSON files" if args.format == "ndjson" else "one transaction Bundle"
    print(f"wrote {what} for {args.patients} synthetic patients to {name} ({path})")
    return EXIT_OK

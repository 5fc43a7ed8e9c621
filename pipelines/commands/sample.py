"""`deidflow sample ...` and `deidflow demo`: synthetic stores full of PHI, and the README's first command."""

from __future__ import annotations

import argparse
from typing import Sequence

from pipelines.commands import EXIT_OK, UsageError

DEMO_DATASET = "projects/demo/locations/local/datasets/sample"
DEMO_SOURCE = f"{DEMO_DATASET}/dicomStores/source"
DEMO_DESTINATION = f"{DEMO_DATASET}/dicomStores/deidentified"


def register(groups) -> None:
    sample_dicom = groups["sample"].add_parser("dicom-store", help="Write a synthetic DICOM store (store-export layout).")
    sample_dicom.add_argument("store", metavar="STORE", help="projects/P/locations/L/datasets/D/dicomStores/S")
    sample_dicom.add_argument("--store-root", "--store_root", dest="store_root", default="./stores")
    sample_dicom.add_argument("--patients", type=int, default=3)
    sample_dicom.add_argument("--studies", type=int, default=1, help="Studies per patient.")
    sample_dicom.add_argument("--series", type=int, default=2, help="Series per study.")
    sample_dicom.add_argument("--instances", type=int, default=3, help="Instances per series.")
    sample_dicom.add_argument("--rows", type=int, default=64)
    sample_dicom.add_argument("--columns", type=int, default=64)
    sample_dicom.add_argument("--seed", type=int, default=0)
    sample_dicom.set_defaults(handler=run_sample_dicom)

    demo = groups["demo"]
    demo.add_argument("--store-root", "--store_root", dest="store_root", default="./stores")
    demo.set_defaults(handler=run_demo)


def run_sample_dicom(args, beam_args: Sequence[str]) -> int:
    from pipelines.launch import ResourceName, create_store, resource_path
    from pipelines.stores import store_root
    from transforms.dicom.sample import sample_store_files

    if beam_args:
        raise UsageError(f"unrecognized arguments: {' '.join(beam_args)}")
    name = ResourceName.parse(args.store, "dicomStores", "STORE")
    root = store_root.normalize_root(args.store_root)
    path = resource_path(root, name)
    store_root.mkdirs(resource_path(root, ResourceName(name.project, name.location, name.dataset)))
    if not store_root.exists(path):
        create_store(path, "dicomStores")
    count = 0
    for relative, data in sample_store_files(args.patients, args.studies, args.series, args.instances,
                                             args.rows, args.columns, args.seed):
        store_root.write_bytes(store_root.join(path, *relative.split("/")), data)
        count += 1
    print(f"wrote {count} synthetic instances to {name} ({path})")
    return EXIT_OK


def run_demo(args, beam_args: Sequence[str]) -> int:
    from pipelines.commands.dicom_stores import run_dicom_store_deidentify
    from pipelines.stores import store_root

    sample_args = argparse.Namespace(store=DEMO_SOURCE, store_root=args.store_root, patients=3, studies=1, series=2,
                                     instances=3, rows=64, columns=64, seed=0)
    run_sample_dicom(sample_args, [])
    # One key per store root, created on the first demo (mode 0600, never printed): a second demo writes the same
    # de-identified instances under the same names instead of a second copy under a new key.
    root = store_root.normalize_root(args.store_root)
    key_file = store_root.join(root, store_root.META_DIR, "demo.key")
    deid_args = argparse.Namespace(source_store=DEMO_SOURCE, destination_store=DEMO_DESTINATION,
                                   destination_dataset=None, config_file=None, store_root=args.store_root,
                                   key_file=key_file, create_key_file=True)
    print(f"de-identifying {DEMO_SOURCE} into {DEMO_DESTINATION} with the DirectRunner ...")
    return run_dicom_store_deidentify(deid_args, list(beam_args))

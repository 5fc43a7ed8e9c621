"""One DICOM store's branch of a pipeline: list -> (skip existing) -> de-identify -> resolve duplicates -> write,
and its error records. The same steps for every source and destination kind (folder, gs://, DICOMweb)."""

from __future__ import annotations

import apache_beam as beam

from pipelines.dicom.deidentify import DeidentifyDicomResult, DeidentifyDicomStore
from pipelines.stores import store_root
from pipelines.stores.dicom import FolderDicomStore, dicom_store
from transforms.beam import WriteErrorRecords
from transforms.crypto import Keys
from transforms.dicom.policy import DicomPolicy


def add_dicom_store_branch(pipeline, source, destination, run_dir: str, policy: DicomPolicy, keys: Keys,
                           label: str = "dicom", error_prefix: str = "errors", incremental: bool = False,
                           dicom_filter=None) -> DeidentifyDicomResult:
    """Add one store's branch to a pipeline. ``source`` and ``destination`` are store folders (local or gs://),
    DicomWebEndpoints or DicomStores (pipelines/stores/dicom.py). Returns the de-identify result, whose
    ``errors`` hold every error record of the branch (listing ones included)."""
    source, destination = dicom_store(source), dicom_store(destination)
    listing = pipeline | f"Read {label}" >> source.list(dicom_filter, label)
    locations = listing.instances
    if incremental:  # only instances whose destination is not there yet
        if not (isinstance(source, FolderDicomStore) and isinstance(destination, FolderDicomStore)):
            raise ValueError("incremental runs need store folders at both ends")
        from pipelines.dicom.incremental import SkipExistingDicomInstances

        locations = locations | f"Skip existing {label}" >> SkipExistingDicomInstances(
            source.root, destination.root, policy, keys, label)
    staging_dir = store_root.join(run_dir, "staging")  # the destination's file system, or the store root's
    result = locations | f"De-identify {label}" >> DeidentifyDicomStore(policy, keys, source, destination,
                                                                        staging_dir, label)
    errors = (listing.errors, result.errors) | f"All errors {label}" >> beam.Flatten()
    if isinstance(source, FolderDicomStore):  # records name files store-relative: no absolute path, no root
        errors = errors | f"Store-relative names {label}" >> beam.Map(store_relative_record, source.root)
    errors | f"Write errors {label}" >> WriteErrorRecords(run_dir, error_prefix)
    return DeidentifyDicomResult(result.written, errors)


def store_relative_record(record: dict, root: str) -> dict:
    """An error record whose resource name is a path below the source store folder, made store-relative."""
    name = record.get("resource_name")
    if isinstance(name, str) and store_root.is_within(name, root.rstrip("/\\")) and name != root:
        return {**record, "resource_name": store_root.relative(name, root).replace("\\", "/")}
    return record

"""The DICOM store pipeline: match source files, de-identify each instance, write the destination store."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.fileio import EmptyMatchTreatment

from pipelines.stores import store_root
from transforms.beam import DeidentifyDicomStore, DicomDestination, WriteErrorRecords
from transforms.crypto import Keys
from transforms.dicom.policy import DicomPolicy


def _is_source_instance(path: str, source: str) -> bool:
    relative = store_root.relative(path, source)
    parts = relative.replace("\\", "/").split("/")
    return bool(parts[-1]) and store_root.META_DIR not in parts[:-1] and not parts[-1].startswith(".tmp-")


class ReadDicomStorePaths(beam.PTransform):
    """Every file below a store folder (any tree, with or without .dcm), run records left out."""

    def __init__(self, source: str):
        super().__init__()
        self._source = source

    def expand(self, pbegin):
        source = self._source
        return (
            pbegin
            | "Match" >> fileio.MatchFiles(source.rstrip("/") + "/**", empty_match_treatment=EmptyMatchTreatment.ALLOW)
            | "Paths" >> beam.Map(lambda metadata: metadata.path)
            | "Skip run records" >> beam.Filter(_is_source_instance, source)
        )


def dicom_destination(root: str) -> DicomDestination:
    return DicomDestination(root, store_root.write_bytes, store_root.delete)


def add_dicom_store_branch(pipeline, source: str, destination: str, run_dir: str, policy: DicomPolicy, keys: Keys,
                           label: str = "dicom", error_prefix: str = "errors", incremental: bool = False,
                           dicom_filter=None):
    """Add one store's read -> de-identify -> write branch (and its error records) to a pipeline.

    ``source`` and ``destination`` are store folders, or either may be a DicomWebEndpoint (pipelines/stores/dicomweb).
    """
    from pipelines.stores.dicomweb import DicomWebEndpoint

    if isinstance(source, DicomWebEndpoint) or isinstance(destination, DicomWebEndpoint):
        return _add_dicomweb_branch(pipeline, source, destination, run_dir, policy, keys, label, error_prefix,
                                    dicom_filter)
    paths = pipeline | f"Read {label}" >> ReadDicomStorePaths(source)
    if dicom_filter is not None:  # filterConfig: only the listed studies/series/instances (pipelines/filters.py)
        from pipelines.filters import filter_dicom_paths

        paths = filter_dicom_paths(paths, source, dicom_filter, label)
    if incremental:  # only instances whose destination is not there yet (pipelines/incremental.py)
        from pipelines.incremental import SkipExistingDicomInstances

        paths = paths | f"Skip existing {label}" >> SkipExistingDicomInstances(source, destination, policy, keys, label)
    result = paths | f"De-identify {label}" >> DeidentifyDicomStore(
        policy, keys, store_root.read_bytes, dicom_destination(destination), label
    )
    result.errors | f"Write errors {label}" >> WriteErrorRecords(run_dir, error_prefix)
    return result


def _add_dicomweb_branch(pipeline, source, destination, run_dir, policy, keys, label, error_prefix, dicom_filter):
    """The same branch when an end is a DICOMweb server: QIDO-RS/WADO-RS source, STOW-RS destination."""
    from pipelines.stores import dicomweb

    errors = []
    if isinstance(source, dicomweb.DicomWebEndpoint):
        listing = dicomweb.read_dicomweb_instances(pipeline, source, dicom_filter, label)
        paths, read = listing.instances, dicomweb.DicomWebReader(source)
        errors.append(listing.errors)
    else:
        paths, read = pipeline | f"Read {label}" >> ReadDicomStorePaths(source), store_root.read_bytes
        if dicom_filter is not None:
            from pipelines.filters import filter_dicom_paths

            paths = filter_dicom_paths(paths, source, dicom_filter, label)
    if isinstance(destination, dicomweb.DicomWebEndpoint):
        errors.append(dicomweb.deidentify_to_dicomweb(paths, policy, keys, read, destination, label))
        result = None
    else:
        result = paths | f"De-identify {label}" >> DeidentifyDicomStore(
            policy, keys, read, dicom_destination(destination), label
        )
        errors.append(result.errors)
    all_errors = tuple(errors) | f"All errors {label}" >> beam.Flatten()
    all_errors | f"Write errors {label}" >> WriteErrorRecords(run_dir, error_prefix)
    return result

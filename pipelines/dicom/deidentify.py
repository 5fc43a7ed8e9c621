"""De-identify DICOM instances: read each source instance, run the pure core, resolve duplicate SOP instances.

Every destination gets the same steps: the de-identified bytes are staged (pipelines/stores/dicom.py: a file in
the run's folder, so that no instance's bytes cross a shuffle) and keyed by the new SOPInstanceUID with their
store path; duplicates are resolved (the first source by location wins; the others become ALREADY_EXISTS error
records and their staged files are removed), and only then does the destination's sink write
(pipelines/dicom/write.py). Shuffling the bytes themselves held every instance in the local runner's memory
(2.3 GiB for 500 instances of 0.5 MiB).
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipelines.dicom.write import WriteDicomInstances
from pipelines.report import modality_label
from pipelines.stores import store_root
from pipelines.stores.dicom import (DicomStore, FolderDicomStore, StagedInstance, dicom_store, discard, instance_path,
                                    stage)
from transforms.beam import (ERRORS, NAMESPACE, OK, Tally, error_from_exception, error_record, failure_counter,
                             freeze_startup_heap)
from transforms.crypto import Keys
from transforms.dicom import iod
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import DicomPolicy, tag_name
from transforms.errors import DeidentifyError

DUPLICATE_MESSAGE = "duplicate SOPInstanceUID (0008,0018): another source file holds the same instance"


class DeidentifyDicomInstances(beam.DoFn):
    """Source location -> (new SOPInstanceUID, StagedInstance); a failure becomes one error record (ERRORS)."""

    def __init__(self, policy: DicomPolicy, keys: Keys, source: DicomStore, staging_dir: str, label: str = "dicom"):
        self._policy, self._keys, self._source, self._label = policy, keys, source, label
        self._staging_dir = staging_dir
        self._iod_tables = iod.snapshot()  # read once here, not by every worker process (0.1 s and 22 MB each)

    def setup(self) -> None:
        iod.install(self._iod_tables)
        freeze_startup_heap()
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))
        self._boxes = Metrics.counter(NAMESPACE, f"pixel_regions_redacted/{self._label}")
        self._ts_changed = Metrics.counter(NAMESPACE, f"transfer_syntax_changed/{self._label}")
        self._tally = Tally()  # per-tag actions and modalities
        self._action_names: dict[tuple[int, str], str] = {}  # (tag, action) -> its counter name, built once
        self._detector = None
        if self._policy.image is not None:  # the OCR model loads once per worker, not per element
            from transforms.image import load_detector

            self._detector = load_detector()

    def deidentify(self, location: str) -> StagedInstance:
        """Raises DeidentifyError (or an unexpected error) when the instance cannot be done."""
        try:
            data = self._source.read(location)
        except DeidentifyError:
            raise
        except Exception as err:
            raise DeidentifyError("UNAVAILABLE", f"the source file cannot be read ({type(err).__name__})") from None
        result = deidentify_instance(data, self._policy, self._keys, self._detector)
        if result.boxes_painted:
            self._boxes.inc(result.boxes_painted)
        if result.transfer_syntax_changed:
            self._ts_changed.inc()
        names = self._action_names
        for tag, action, count in result.actions:
            name = names.get((tag, action))
            if name is None:
                name = names[(tag, action)] = f"action/{self._label}/{tag_name(tag)}/{action}"
            self._tally.add(name, count)
        self._tally.add(f"modality/{self._label}/{modality_label(result.modality)}")  # never a free-text value
        store_path = instance_path(result.study_uid, result.series_uid, result.sop_uid)  # valid UIDs or an error
        try:
            staged = stage(self._staging_dir, location, result.data)
        except Exception as err:
            raise DeidentifyError("UNAVAILABLE", f"the destination cannot be written ({type(err).__name__})") from None
        return StagedInstance(location, store_path, result.sop_uid, staged)

    def finish_bundle(self) -> None:
        self._tally.flush()

    def process(self, location: str) -> Iterable:
        try:
            instance = self.deidentify(location)
        except Exception as err:  # noqa: BLE001 - every failure is a dead letter, never a failed job
            self._failed.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(location, err))
            return
        yield instance.sop_uid, instance


class ResolveDuplicateInstances(beam.DoFn):
    """(SOPInstanceUID, [StagedInstance...]) -> the one to store (the first by source location); each other
    source of the same SOPInstanceUID becomes an ALREADY_EXISTS error record (ERRORS), its staged file removed."""

    def __init__(self, label: str = "dicom"):
        self._label = label

    def setup(self) -> None:
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

    def process(self, element) -> Iterable:
        _, instances = element
        winner, *losers = sorted(instances, key=lambda instance: instance.source)
        yield winner
        for loser in losers:
            discard(loser)
            self._failed.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, error_record(loser.source, "ALREADY_EXISTS", DUPLICATE_MESSAGE))


class DeidentifyDicomResult(NamedTuple):
    written: beam.PCollection  # store paths written
    errors: beam.PCollection  # error records


class DeidentifyDicomStore(beam.PTransform):
    """Source locations -> de-identified instances in the destination store, plus error records."""

    def __init__(self, policy: DicomPolicy, keys: Keys, source, destination, staging_dir: str | None = None,
                 label: str = "dicom"):
        super().__init__()
        self._policy, self._keys, self._label = policy, keys, label
        self._source, self._destination = dicom_store(source), dicom_store(destination)
        if staging_dir is None:  # a store folder can stage beside its data; a DICOMweb server needs a folder named
            if not isinstance(self._destination, FolderDicomStore):
                raise ValueError("a DICOMweb destination needs a staging folder")
            staging_dir = store_root.join(self._destination.root, store_root.META_DIR, "staging")
        self._staging_dir = staging_dir

    def expand(self, locations):
        done = (
            locations
            | "Spread instances" >> beam.Reshuffle()
            | "De-identify" >> beam.ParDo(DeidentifyDicomInstances(
                self._policy, self._keys, self._source, self._staging_dir, self._label)).with_outputs(ERRORS, main=OK)
        )
        unique = (
            done[OK]
            | "By SOPInstanceUID" >> beam.GroupByKey()
            | "Resolve duplicates" >> beam.ParDo(ResolveDuplicateInstances(self._label)).with_outputs(ERRORS, main=OK)
        )
        stored = unique[OK] | "Write" >> WriteDicomInstances(self._destination, self._staging_dir, self._label)
        errors = (done[ERRORS], unique[ERRORS], stored.errors) | "All errors" >> beam.Flatten()
        return DeidentifyDicomResult(stored.written, errors)

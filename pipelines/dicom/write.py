"""The DICOM destination sink: staged de-identified instances moved into a store folder (a rename each) or sent
to a DICOMweb server (STOW-RS, ``batch_size`` instances a request). Counts ``success/<label>``; an instance the
destination refuses becomes an error record. Writing is idempotent: a rerun writes the same bytes under the same
names."""

from __future__ import annotations

from typing import Iterable, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipelines.stores import store_root
from pipelines.stores.dicom import DicomStore, StagedInstance
from transforms.beam import ERRORS, NAMESPACE, OK, Tally, error_from_exception, failure_counter, success_counter


class _WriteBatch(beam.DoFn):
    """A batch of StagedInstances -> their store paths (OK) or error records (ERRORS)."""

    def __init__(self, destination: DicomStore, staging_dir: str, label: str):
        self._destination, self._staging_dir, self._label = destination, staging_dir, label

    def setup(self) -> None:
        self._ok, self._tally = success_counter(self._label), Tally()  # successes summed, flushed once a bundle
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

    def process(self, batch) -> Iterable:
        if isinstance(batch, StagedInstance):
            batch = [batch]
        failures = self._destination.write(batch)
        for instance in batch:
            err = failures.get(instance.sop_uid)
            if err is None:
                self._tally.add(self._ok)
                yield instance.store_path
            else:
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(
                    ERRORS, error_from_exception(instance.source, self._destination.write_error(err)))

    def finish_bundle(self) -> None:
        self._tally.flush()
        store_root.remove_empty_folder(self._staging_dir)  # the last bundle to finish finds it empty


class WrittenInstances(NamedTuple):
    written: beam.PCollection
    errors: beam.PCollection


class WriteDicomInstances(beam.PTransform):
    """StagedInstances (one per SOPInstanceUID) -> written to the destination store."""

    def __init__(self, destination: DicomStore, staging_dir: str, label: str = "dicom"):
        super().__init__()
        self._destination, self._staging_dir, self._label = destination, staging_dir, label

    def expand(self, instances):
        size = self._destination.batch_size
        if size > 1:
            instances = instances | "Batch" >> beam.BatchElements(min_batch_size=size, max_batch_size=size)
        out = instances | "Store" >> beam.ParDo(_WriteBatch(self._destination, self._staging_dir, self._label)).with_outputs(
            ERRORS, main=OK)
        return WrittenInstances(out[OK], out[ERRORS])

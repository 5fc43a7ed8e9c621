"""Incremental runs: keep only the source instances whose de-identified destination is not there yet.

A DICOM instance lands at ``<study>/<series>/<sop>.dcm`` in the destination store, each UID either kept or
replaced by ``Keys.uid(original)``; so with the same key the destination path is known before the instance is
de-identified. The source UIDs come from the source path when it has the export layout
(``<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``: no read at all), else from a header-only read
that stops at the first element past the three UIDs' groups. An instance whose destination cannot be predicted
(unreadable header, a config that rewrites the UIDs some other way) is always processed: an incremental run may
do more work than needed, never less.
"""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipelines.stores.dicom import FolderDicomStore, instance_path, read_uids
from transforms.beam import NAMESPACE
from transforms.crypto import Keys
from transforms.errors import DeidentifyError
from transforms.dicom.policy import SERIES_UID, SOP_UID, STUDY_UID, Act, DicomPolicy

UNPREDICTED = "unpredicted"
_UID_TAGS = (STUDY_UID, SERIES_UID, SOP_UID)


def skipped_counter(label: str) -> str:
    return f"skipped/{label}"


def predicted_store_path(uids: tuple[str, str, str], policy: DicomPolicy, keys: Keys) -> str | None:
    """The destination store path of an instance with these source UIDs, or None when the config makes it
    unpredictable (anything but keeping or regenerating the three UIDs)."""
    new = []
    for tag, uid in zip(_UID_TAGS, uids, strict=True):
        act = policy.action(tag, "UI")
        if act is Act.REGEN_UID:
            new.append(keys.uid(uid))
        elif act is Act.KEEP:
            new.append(uid)
        else:
            return None
    try:
        return instance_path(*new)
    except DeidentifyError:  # a kept UID that cannot name a path: the instance is processed (and refused there)
        return None


class PredictDicomDestination(beam.DoFn):
    """Source path -> (predicted destination store path, source path); unpredictable ones go to UNPREDICTED."""

    def __init__(self, source: str, policy: DicomPolicy, keys: Keys, label: str = "dicom"):
        self._source = source
        self._policy = policy
        self._keys = keys
        self._label = label

    def setup(self) -> None:
        self._header_reads = Metrics.counter(NAMESPACE, f"incremental_header_reads/{self._label}")

    def process(self, path: str) -> Iterable:
        uids, header_read = read_uids(path, self._source)
        if header_read:
            self._header_reads.inc()
        predicted = predicted_store_path(uids, self._policy, self._keys) if uids else None
        if predicted is None:
            yield beam.pvalue.TaggedOutput(UNPREDICTED, path)
        else:
            yield predicted, path


class _KeepMissing(beam.DoFn):
    def __init__(self, label: str):
        self._label = label

    def setup(self) -> None:
        self._skipped = Metrics.counter(NAMESPACE, skipped_counter(self._label))

    def process(self, element) -> Iterable[str]:
        _, grouped = element
        sources = sorted(grouped["source"])
        if list(grouped["destination"]):
            self._skipped.inc(len(sources))
            return
        yield from sources


class SkipExistingDicomInstances(beam.PTransform):
    """Source paths -> the source paths whose destination instance does not exist yet.

    The destination store is listed once and joined with the predicted destinations (one listing instead of
    one existence check per instance); skipped instances are counted as ``skipped/<label>``.
    """

    def __init__(self, source: str, destination: str, policy: DicomPolicy, keys: Keys, label: str = "dicom"):
        super().__init__()
        self._source = source
        self._destination = destination
        self._policy = policy
        self._keys = keys
        self._label = label

    def expand(self, paths):
        predicted = paths | "Predict destinations" >> beam.ParDo(
            PredictDicomDestination(self._source, self._policy, self._keys, self._label)
        ).with_outputs(UNPREDICTED, main="predicted")
        existing = (
            paths.pipeline
            | "List destination" >> FolderDicomStore(self._destination).list_store_paths()
            | "Key destination" >> beam.Map(lambda relative: (relative, None))
        )
        missing = (
            {"source": predicted["predicted"], "destination": existing}
            | "Join destination" >> beam.CoGroupByKey()
            | "Keep missing" >> beam.ParDo(_KeepMissing(self._label))
        )
        return (missing, predicted[UNPREDICTED]) | "To process" >> beam.Flatten()

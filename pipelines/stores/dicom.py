"""DICOM stores: one interface — list, read, write, exists — over a store folder (local or gs://) and a DICOMweb
server, and the store-export layout rules (``<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``).

A store is ``FolderDicomStore(root)`` or ``DicomWebStore(endpoint)`` (``dicom_store(x)`` makes one from a folder
path or a DicomWebEndpoint). Every DICOM pipeline step goes through them:

- ``list(dicom_filter, label)``: a PTransform from the pipeline's start to ``Listing(instances, errors)``: the
  locations of the source instances (file paths, or WADO-RS instance URLs) the filter selects, and error records
  of listings that failed (DICOMweb only). A folder lists every file below it (any tree, with or without
  ``.dcm``), run records and temporary files left out (``store_root.is_store_data``); a DICOMweb server is listed
  study -> series -> instance with QIDO-RS, a reshuffle between levels.
- ``read(location) -> bytes``; ``write(batch) -> {SOPInstanceUID: error}``: a batch of StagedInstances,
  ``batch_size`` at a time (a file each, or one STOW-RS request); ``exists()``.

De-identified instances wait in a staging folder (``stage``; the run's folder, on the destination's file system
for a store folder) while duplicate SOP instances are resolved; ``write`` then moves each into place (a rename)
or sends it with STOW-RS, and removes the staged file. Instance bytes never cross a shuffle.

A source instance's UIDs come from its path when that has the export layout (no read), else from its header
(``read_uids``): one rule for the filter, incremental runs and imports.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from typing import NamedTuple, Optional, Sequence, Union

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.fileio import EmptyMatchTreatment
from apache_beam.metrics import Metrics

from pipelines.stores import dicomweb, store_root
from transforms.beam import ERRORS, NAMESPACE, OK, error_from_exception, failure_counter
from transforms.dicom import paths as dicom_paths
from transforms.errors import DeidentifyError

UID_KEYWORDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
Uids = tuple[str, str, str]


# --- layout -----------------------------------------------------------------------------------------------


def instance_path(study: str, series: str, sop: str) -> str:
    """The store path of an instance: the export layout. The one place a destination path is built (the write
    step and incremental runs' predictions both call it). INVALID_ARGUMENT unless every UID is valid (PS3.5 9.1),
    so a path built from UIDs never holds ``..`` or a separator."""
    return dicom_paths.instance_path(study, series, sop)


def is_uid(text: str) -> bool:
    """A valid UID (PS3.5 9.1: digits and dots, no empty component, no leading zero, at most 64 characters)."""
    return dicom_paths.is_valid_uid(text)


def uids_from_path(relative: str) -> Optional[Uids]:
    """(study, series, sop) when a store-relative path has the export layout, else None."""
    parts = relative.replace("\\", "/").split("/")
    if len(parts) != 3 or not parts[2].endswith(".dcm"):
        return None
    uids = (parts[0], parts[1], parts[2][: -len(".dcm")])
    return uids if all(is_uid(uid) for uid in uids) else None


def uids_from_header(handle) -> Optional[Uids]:
    """(study, series, sop) from a Part-10 file's header (a binary file object, read up to the UIDs), else None."""
    import pydicom

    try:
        ds = pydicom.dcmread(handle, stop_before_pixels=True, specific_tags=list(UID_KEYWORDS))
        uids = tuple(str(ds[keyword].value).strip("\x00 ") for keyword in UID_KEYWORDS)
    except Exception:  # noqa: BLE001 - not readable here: the de-identify step reports it properly
        return None
    return uids if all(is_uid(uid) for uid in uids) else None  # type: ignore[return-value]


def read_uids(path: str, base: str) -> tuple[Optional[Uids], bool]:
    """A source file's (study, series, sop): from its path below ``base`` when it has the export layout, else
    from its header. Returns (uids or None when unreadable, whether the header was read)."""
    uids = uids_from_path(store_root.relative(path, base))
    if uids is not None:
        return uids, False
    try:
        store_root.check_regular(path, store_root.location_area(base))  # a FIFO never blocks the filter
        with store_root.open_bytes(path) as handle:
            return uids_from_header(handle), True
    except Exception:  # noqa: BLE001 - unreadable now: the de-identify step records the error
        return None, True


# --- stores -----------------------------------------------------------------------------------------------


class Listing(NamedTuple):
    """What ``list`` gives: instance locations, and error records of listings that failed."""

    instances: object  # PCollection[str]
    errors: object  # PCollection[dict]


class StagedInstance(NamedTuple):
    """One de-identified instance on its way to the destination, its bytes in a staging file."""

    source: str  # where it came from (a file path or an instance URL): error records name it
    store_path: str  # <study>/<series>/<sop>.dcm
    sop_uid: str
    staged: str  # the staging file holding its bytes


def stage(staging_dir: str, source: str, data: bytes) -> str:
    """Write de-identified bytes to the staging file of their source (named by a digest of the source location,
    so a retried element writes the same file again); returns its path. Written whole, then renamed into its name
    (``write_bytes``): even an attempt that outlives its retry (a worker presumed lost) never leaves the name
    holding half a file when the write step moves it into the store."""
    path = store_root.join(staging_dir, hashlib.sha256(source.encode("utf-8")).hexdigest()[:32] + ".dcm")
    store_root.write_bytes(path, data)
    return path


def discard(instance: StagedInstance) -> None:
    """Remove the staging file of an instance that is not to be written."""
    store_root.delete(instance.staged)


@dataclass(frozen=True)
class FolderDicomStore:
    """A DICOM store folder, local or gs://, in the export layout (any tree is accepted as a source)."""

    root: str
    batch_size: int = 1

    @property
    def name(self) -> str:
        return self.root

    def path_of(self, relative: str) -> str:
        """The path of a store-relative name; INVALID_ARGUMENT when it would resolve outside the store (a
        symlinked folder inside the store that points elsewhere)."""
        return dicom_paths.path_under(self.root, relative)

    def exists(self) -> bool:
        return store_root.exists(self.root)

    def read(self, path: str) -> bytes:
        """A source file's bytes: only a regular file within the size limit that resolves inside the store's
        project and location (store_root.check_regular); anything else is a DeidentifyError, never a hang."""
        try:
            return store_root.read_store_file(path, _location_area(self.root))
        except store_root.UnreadableFile as err:
            raise DeidentifyError("FAILED_PRECONDITION", f"the source file is {err}") from None

    def target_of(self, store_path: str) -> str:
        """``path_of`` for an instance's store path (``<study>/<series>/<sop>.dcm``), its folder resolved once a
        process rather than once a file (a realpath walks every folder of the path), and the real folder used.
        Only the folder can lead out of the store: a symlink at the file's own name is replaced by the move,
        never written through."""
        folder, _, name = store_path.rpartition("/")
        if not folder or name in ("", ".", "..") or "\\" in name:
            return self.path_of(store_path)  # not the export layout: the whole path checked
        return store_root.join(_folder_under(self.root, folder), name)

    def write(self, batch: Sequence[StagedInstance]) -> dict[str, Exception]:
        failures: dict[str, Exception] = {}
        for instance in batch:
            target = None
            try:
                target = self.target_of(instance.store_path)
                store_root.move(instance.staged, target)
            except Exception as err:  # noqa: BLE001 - recorded by the write step
                if target is not None and not store_root.exists(instance.staged) and store_root.exists(target):
                    continue  # a retried bundle: moved into place the first time
                failures[instance.sop_uid] = err
                discard(instance)
        return failures

    def write_error(self, err: Exception) -> DeidentifyError:
        if isinstance(err, DeidentifyError):
            return err
        return DeidentifyError("UNAVAILABLE", f"the destination cannot be written ({type(err).__name__})")

    def list(self, dicom_filter=None, label: str = "dicom"):
        return _ListFolder(self.root, dicom_filter, label)

    def list_store_paths(self):
        """PBegin -> the store-relative paths of the instances already here (for incremental runs)."""
        return _ListFolder(self.root, None, "", relative=True)


@dataclass(frozen=True)
class DicomWebStore:
    """A DICOMweb server: QIDO-RS listing, WADO-RS retrieval, STOW-RS storage (pipelines/stores/dicomweb.py)."""

    endpoint: dicomweb.DicomWebEndpoint

    @property
    def name(self) -> str:
        return self.endpoint.url

    @property
    def batch_size(self) -> int:
        return self.endpoint.batch_size

    def exists(self) -> bool:
        try:
            dicomweb.check_reachable(self.endpoint, self.endpoint.url)
        except Exception:  # noqa: BLE001 - the launch check says why; here only yes or no
            return False
        return True

    def read(self, instance_url: str) -> bytes:
        return dicomweb.retrieve_instance(self.endpoint, instance_url)

    def write(self, batch: Sequence[StagedInstance]) -> dict[str, Exception]:
        failures: dict[str, Exception] = {}
        ready = []
        for instance in batch:
            try:
                ready.append((instance.sop_uid, store_root.read_bytes(instance.staged)))
            except Exception as err:  # noqa: BLE001 - recorded by the write step
                if not (not store_root.exists(instance.staged) and self._holds(instance)):
                    failures[instance.sop_uid] = err  # else a retried bundle: stored the first time
        if ready:
            failures.update(dicomweb.store_instances(self.endpoint, ready))
        for instance in batch:
            discard(instance)
        return failures

    def _holds(self, instance: StagedInstance) -> bool:
        """Whether the server lists the instance (QIDO-RS of its series)."""
        study, series, sop = uids_from_path(instance.store_path) or ("", "", "")
        try:
            return bool(study) and sop in dicomweb.list_instances(self.endpoint, study, series)
        except Exception:  # noqa: BLE001 - cannot tell: the write step records the failure
            return False

    def write_error(self, err: Exception) -> DeidentifyError:
        return dicomweb.as_deidentify_error("STOW-RS store to the destination", err)

    def list(self, dicom_filter=None, label: str = "dicom"):
        return _ListDicomWeb(self.endpoint, dicom_filter, label)


@functools.lru_cache(maxsize=4096)
def _folder_under(root: str, folder: str) -> str:
    """A store-relative folder below ``root``, checked to stay below it after resolution: its real path (a local
    folder swapped for a symlink later is not followed). A failure is not cached: the folder is checked again."""
    joined = dicom_paths.path_under(root, folder)
    return joined if store_root.is_remote(joined) else os.path.realpath(joined)


@functools.lru_cache(maxsize=16)
def _location_area(root: str) -> Optional[str]:
    """store_root.location_area of a source store, resolved once a process rather than once a file (its
    realpath walks every folder of the root); a file must still resolve inside it."""
    return store_root.location_area(root)


DicomStore = Union[FolderDicomStore, DicomWebStore]


def dicom_store(where) -> DicomStore:
    """The store of a folder path (local or gs://) or a DicomWebEndpoint; a store is returned as it is."""
    if isinstance(where, (FolderDicomStore, DicomWebStore)):
        return where
    if isinstance(where, dicomweb.DicomWebEndpoint):
        return DicomWebStore(where)
    return FolderDicomStore(where)


# --- listing (Beam) ---------------------------------------------------------------------------------------


class _ListFolder(beam.PTransform):
    """Every store data file below a folder (optionally only those a DicomFilter selects, or store-relative)."""

    def __init__(self, root: str, dicom_filter, label: str, relative: bool = False):
        super().__init__()
        self._root, self._filter, self._label, self._relative = root, dicom_filter, label, relative

    def expand(self, pbegin):
        root, label = self._root, self._label
        if store_root.is_remote(root):
            found = (pbegin
                     | "Match" >> fileio.MatchFiles(root.rstrip("/") + "/**",
                                                    empty_match_treatment=EmptyMatchTreatment.ALLOW)
                     | "Paths" >> beam.Map(lambda metadata: metadata.path))
        else:  # every entry, symlinked folders followed: odd ones become error records when read
            found = pbegin | "Root" >> beam.Create([root]) | "Walk" >> beam.FlatMap(store_root.list_files)
        paths = found | "Skip run records" >> beam.Filter(store_root.is_store_data, root)
        if self._relative:
            return paths | "Relative" >> beam.Map(lambda p: store_root.relative(p, root).replace("\\", "/"))
        if self._filter is not None:
            paths = paths | f"Filter {label}" >> beam.ParDo(_SelectFiltered(root, self._filter, label))
        return Listing(paths, pbegin.pipeline | f"No listing errors {label}" >> beam.Create([]))


class _SelectFiltered(beam.DoFn):
    """Keep the source files a DicomFilter selects (by path, else header); count the others as ``filtered/``."""

    def __init__(self, root: str, dicom_filter, label: str):
        self._root, self._filter, self._label = root, dicom_filter, label

    def setup(self) -> None:
        self._skipped = Metrics.counter(NAMESPACE, f"filtered/{self._label}")

    def process(self, path: str):
        if path_selected(path, self._root, self._filter):
            yield path
        else:
            self._skipped.inc()


def path_selected(path: str, base: str, dicom_filter) -> bool:
    """Whether a source file goes on to de-identification under the filter. A file whose UIDs cannot be read
    does, so the de-identify step records its error rather than the filter dropping it silently."""
    uids, _ = read_uids(path, base)
    return uids is None or dicom_filter.selects(*uids)


class _ListDicomWeb(beam.PTransform):
    """Studies -> series -> instance URLs (QIDO-RS), a reshuffle between levels."""

    def __init__(self, endpoint, dicom_filter, label: str):
        super().__init__()
        self._args = (endpoint, dicom_filter, label)

    def expand(self, pbegin):
        endpoint, label = self._args[0], self._args[2]
        listed = (
            pbegin
            | f"Start {label}" >> beam.Create([endpoint.url])
            | f"QIDO studies {label}" >> beam.ParDo(_ListStudies(*self._args)).with_outputs(ERRORS, main=OK)
        )
        studies = listed[OK] | f"Spread studies {label}" >> beam.Reshuffle()
        series = studies | f"QIDO series {label}" >> beam.ParDo(_ListSeries(*self._args)).with_outputs(ERRORS, main=OK)
        spread = series[OK] | f"Spread series {label}" >> beam.Reshuffle()
        instances = spread | f"QIDO instances {label}" >> beam.ParDo(
            _ListInstances(*self._args)).with_outputs(ERRORS, main=OK)
        errors = (listed[ERRORS], series[ERRORS], instances[ERRORS]) | f"Listing errors {label}" >> beam.Flatten()
        return Listing(instances[OK], errors)


def _filter_studies(dicom_filter) -> Optional[set]:
    if dicom_filter is None:
        return None
    return (set(dicom_filter.studies) | {s for s, _ in dicom_filter.series}
            | {s for s, _, _ in dicom_filter.instances})


def _series_selected(dicom_filter, study: str, series: str) -> bool:
    if dicom_filter is None or study in dicom_filter.studies or (study, series) in dicom_filter.series:
        return True
    return any(s == study and r == series for s, r, _ in dicom_filter.instances)


class _QidoStep(beam.DoFn):
    """One level of the QIDO-RS fan-out; a listing that fails is one error record naming what it listed."""

    what = ""

    def __init__(self, endpoint, dicom_filter, label: str):
        self._endpoint, self._filter, self._label = endpoint, dicom_filter, label

    def setup(self) -> None:
        self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

    def process(self, element):
        try:
            found = self.search(element)
        except Exception as err:  # noqa: BLE001 - recorded; the run completes with a failure
            self._failed.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(
                self.where(element), dicomweb.as_deidentify_error(f"QIDO-RS {self.what} search", err)))
            return
        yield from found


class _ListStudies(_QidoStep):
    what = "study"

    def where(self, _) -> str:
        return self._endpoint.url

    def search(self, _):
        wanted = _filter_studies(self._filter)
        if wanted is not None:  # a filter names its studies: no need to list the whole server
            return sorted(wanted)
        return dicomweb.list_studies(self._endpoint)


class _ListSeries(_QidoStep):
    what = "series"

    def where(self, study) -> str:
        return f"{self._endpoint.url}/studies/{study}"

    def search(self, study):
        return [(study, one) for one in dicomweb.list_series(self._endpoint, study)
                if _series_selected(self._filter, study, one)]


class _ListInstances(_QidoStep):
    what = "instance"

    def where(self, element) -> str:
        return f"{self._endpoint.url}/studies/{element[0]}/series/{element[1]}"

    def search(self, element):
        study, series = element
        return [self._endpoint.instance_url(study, series, instance)
                for instance in dicomweb.list_instances(self._endpoint, study, series)
                if self._filter is None or self._filter.selects(study, series, instance)]

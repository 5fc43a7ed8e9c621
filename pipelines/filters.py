"""Input filters: the DICOM resource-path list (filterConfig) and the FHIR resource list / skipModifiedResources.

DICOM: a file (local or gs://) of ``/studies/S``, ``/studies/S/series/R`` and ``/studies/S/series/R/instances/I``
lines, separated by ``\\n`` or ``\\r\\n``, as the API's ``filterConfig.resourcePathsGcsUri``. Blank lines are
ignored; any other line that is not one of the three forms is a launch error naming its line number.
How an instance is matched is the DICOM store's rule (pipelines/stores/dicom.py): a file whose path below the
store is the store-export layout ``<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm`` by its path, without being
read; any other file by reading its header up to the pixel data; a file whose header cannot be read is passed
on, so the de-identify step records its error rather than the filter dropping it silently.

FHIR: ``FhirFilter`` is pure (dicts in, bool out) so the FHIR store pipeline calls ``FhirFilter.keeps`` on each
resource: the ``Type/id`` list of ``resourceFilter.resources.resources`` and ``skipModifiedResources`` (a
resource whose ``meta.lastUpdated`` — else whose file's modification time — is after the run's start is skipped).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from transforms.errors import LaunchError

UID = r"[0-9A-Za-z.\-_]{1,64}"
_LINE = re.compile(rf"/studies/({UID})(?:/series/({UID})(?:/instances/({UID}))?)?/?")
_FHIR_TYPE = r"[A-Z][A-Za-z]{1,63}"
_FHIR_ID = r"[A-Za-z0-9\-.]{1,64}"
_RESOURCE = re.compile(rf"({_FHIR_TYPE})/({_FHIR_ID})")


# --- DICOM ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DicomFilter:
    """The studies, series and instances a run is limited to."""

    studies: frozenset = frozenset()
    series: frozenset = frozenset()  # (study, series)
    instances: frozenset = frozenset()  # (study, series, instance)

    def selects(self, study: str, series: str, instance: str) -> bool:
        return study in self.studies or (study, series) in self.series or (study, series, instance) in self.instances

    def __len__(self) -> int:
        return len(self.studies) + len(self.series) + len(self.instances)


def parse_dicom_filter(text: str, source: str = "--dicom-filter-file") -> DicomFilter:
    """Parse a resource-path list; a bad line raises LaunchError naming the line number (never its content)."""
    studies, series, instances = set(), set(), set()
    for number, line in enumerate(text.lstrip("\ufeff").split("\n"), start=1):
        line = line.rstrip("\r").strip()
        if not line:
            continue
        match = _LINE.fullmatch(line)
        if not match:
            raise LaunchError(
                f"{source}: line {number} is not a resource path; expected /studies/STUDY_UID, "
                "/studies/STUDY_UID/series/SERIES_UID or /studies/STUDY_UID/series/SERIES_UID/instances/INSTANCE_UID"
            )
        study, serie, instance = match.groups()
        if instance:
            instances.add((study, serie, instance))
        elif serie:
            series.add((study, serie))
        else:
            studies.add(study)
    result = DicomFilter(frozenset(studies), frozenset(series), frozenset(instances))
    if not len(result):
        raise LaunchError(f"{source}: lists no resource paths")
    return result


def _read_text(path: str, argument: str) -> str:
    from pipelines.stores import store_root

    try:
        return store_root.read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise LaunchError(f"{argument}: is not UTF-8 text") from None
    except Exception as err:
        raise LaunchError(f"{argument}: cannot read '{path}' ({type(err).__name__})") from None


def load_dicom_filter(path: str | None) -> DicomFilter | None:
    """Read and parse ``--dicom-filter-file`` (local or gs://); None when not given."""
    if not path:
        return None
    return parse_dicom_filter(_read_text(path, "--dicom-filter-file"))


# How a source file is matched (its path, else its header) is the DICOM store's rule: pipelines/stores/dicom.py
# (read_uids, path_selected); the filter step is part of a store's listing.


# --- FHIR -------------------------------------------------------------------------------------------------


def parse_fhir_resources(items: Iterable[str], source: str) -> frozenset:
    """``Type/id`` strings, validated; a bad one raises LaunchError naming its position (1-based)."""
    found = set()
    for number, item in enumerate(items, start=1):
        item = item.strip()
        if not item:
            continue
        if not _RESOURCE.fullmatch(item):
            raise LaunchError(f"{source}: entry {number} is not a resource name; expected Type/id, e.g. Patient/1234")
        found.add(item)
    if not found:
        raise LaunchError(f"{source}: lists no resources")
    return frozenset(found)


def _instant(text: object) -> datetime.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return None  # FHIR instants carry a zone; without one the moment is unknown
    return value


@dataclass(frozen=True)
class FhirFilter:
    """resourceFilter and skipModifiedResources, applied per resource by the FHIR store pipeline."""

    resources: frozenset | None = None  # "Type/id"; None = every resource
    modified_after: datetime.datetime | None = None  # skipModifiedResources: the run's start (UTC)

    def keeps(self, resource: dict, file_mtime: float | None = None) -> bool:
        """Whether a resource is de-identified. ``file_mtime`` (epoch seconds) is used when meta.lastUpdated is absent."""
        if self.resources is not None:
            name = f"{resource.get('resourceType')}/{resource.get('id')}"
            if name not in self.resources:
                return False
        if self.modified_after is not None:
            meta = resource.get("meta")
            updated = _instant(meta.get("lastUpdated")) if isinstance(meta, dict) else None
            if updated is None and file_mtime is not None:
                updated = datetime.datetime.fromtimestamp(file_mtime, datetime.UTC)
            if updated is not None and updated > self.modified_after:
                return False
        return True


def fhir_filter_from_args(args, run_start: datetime.datetime) -> FhirFilter | None:
    """The FhirFilter of ``--fhir-resources``, ``--fhir-resources-file`` and ``--skip-modified-resources``."""
    resources = None
    inline = getattr(args, "fhir_resources", None)
    file = getattr(args, "fhir_resources_file", None)
    if inline and file:
        raise LaunchError("--fhir-resources: give either --fhir-resources or --fhir-resources-file, not both")
    if inline:
        resources = parse_fhir_resources(inline.split(","), "--fhir-resources")
    elif file:
        resources = parse_fhir_resources(
            _read_text(file, "--fhir-resources-file").splitlines(), "--fhir-resources-file"
        )
    skip = bool(getattr(args, "skip_modified_resources", False))
    if resources is None and not skip:
        return None
    return FhirFilter(resources, run_start if skip else None)

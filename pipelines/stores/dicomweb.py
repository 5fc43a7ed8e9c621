"""DICOMweb stores: QIDO-RS listing, WADO-RS retrieval and STOW-RS storage, as Beam sources and sinks.

A DICOMweb endpoint is a base URL (``http://pacs:8042/dicom-web``, or a Healthcare API store's
``https://healthcare.googleapis.com/v1/projects/P/locations/L/datasets/D/dicomStores/S/dicomWeb``). Requests go
through one ``requests`` session per process and endpoint, with urllib3's retry adapter: connection errors and
429/5xx answers are retried with exponential backoff, for every method (STOW-RS of the same bytes is idempotent).
Healthcare API endpoints authenticate with google-auth's Application Default Credentials.

Listing fans out: studies (one QIDO-RS request) -> series per study -> instances per series, each level a
separate step with a reshuffle between, so retrieval spreads across workers one element per instance. A study
or series that cannot be listed, an instance that cannot be retrieved or stored, becomes an error record; the run
goes on. Error messages name the step and the HTTP status, never an instance's values.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Union

from transforms.errors import DeidentifyError, LaunchError

_log = logging.getLogger(__name__)

HEALTHCARE_URL = re.compile(
    r"https://healthcare\.googleapis\.com/v1(?:beta1)?/"
    r"(projects/[^/]+/locations/[^/]+/datasets/[^/]+/dicomStores/[^/]+)/dicomWeb/?"
)
CLOUD_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
DICOM_JSON = "application/dicom+json"
MULTIPART_DICOM = 'multipart/related; type="application/dicom"'
RETRY_STATUSES = (429, 500, 502, 503, 504)
QIDO_PAGE = 1000  # QIDO-RS page size (limit/offset)
DUPLICATE_SOP = 0x0111  # STOW-RS FailureReason "Duplicate SOP Instance": the instance is already stored

# DICOM JSON tags used by listing and STOW-RS responses
STUDY_UID, SERIES_UID, SOP_UID = "0020000D", "0020000E", "00080018"
REFERENCED_SOP_UID, FAILURE_REASON, FAILED_SOP_SEQUENCE = "00081155", "00081197", "00081198"

_sessions: dict = {}
_sessions_lock = threading.Lock()


# --- endpoints and HTTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DicomWebEndpoint:
    """A DICOMweb service base URL, with the retry policy used for every request to it."""

    url: str
    retries: int = 5
    backoff: float = 0.5  # seconds; doubles on each retry
    timeout: float = 120.0
    batch_size: int = 20  # instances per STOW-RS request

    @classmethod
    def parse(cls, url: str, argument: str, **options) -> "DicomWebEndpoint":
        text = (url or "").strip()
        if not re.match(r"https?://[^/\s]+", text):
            raise LaunchError(f"{argument}: not a DICOMweb base URL; expected http(s)://HOST[:PORT]/PATH")
        if "healthcare.googleapis.com" in text and not HEALTHCARE_URL.fullmatch(text):
            raise LaunchError(
                f"{argument}: a Healthcare API DICOMweb URL must be https://healthcare.googleapis.com/v1/projects/P/"
                "locations/L/datasets/D/dicomStores/S/dicomWeb"
            )
        return cls(text.rstrip("/"), **options)

    @property
    def healthcare_store(self) -> Optional[str]:
        """The Healthcare API store name, for a Healthcare API endpoint; None for any other server."""
        match = HEALTHCARE_URL.fullmatch(self.url)
        return match.group(1) if match else None

    def session(self):
        """This process's session for the endpoint (connection pool and retry adapter), made on first use."""
        key = (self.url, self.retries, self.backoff)
        with _sessions_lock:
            session = _sessions.get(key)
            if session is None:
                session = _sessions[key] = _new_session(self)
        return session

    def instance_url(self, study: str, series: str, instance: str) -> str:
        return f"{self.url}/studies/{study}/series/{series}/instances/{instance}"

    def __str__(self) -> str:
        return self.url


def _new_session(endpoint: DicomWebEndpoint):
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    if endpoint.healthcare_store:
        import google.auth
        from google.auth.transport.requests import AuthorizedSession

        credentials, _ = google.auth.default(scopes=[CLOUD_SCOPE])
        session = AuthorizedSession(credentials)
    else:
        session = requests.Session()
    retry = Retry(
        total=endpoint.retries, connect=endpoint.retries, read=endpoint.retries, status=endpoint.retries,
        backoff_factor=endpoint.backoff, status_forcelist=RETRY_STATUSES, allowed_methods=None,
        raise_on_status=False, respect_retry_after_header=True,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class DicomWebHttpError(Exception):
    """An HTTP answer that is not a success; carries the status only (bodies may quote data)."""

    def __init__(self, what: str, status: int):
        super().__init__(f"{what}: HTTP {status}")
        self.what = what
        self.status = status


def rpc_code(status: int) -> str:
    """The google.rpc code name for an HTTP status, as the Healthcare API maps them."""
    return {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
            409: "ALREADY_EXISTS", 413: "INVALID_ARGUMENT", 415: "INVALID_ARGUMENT",
            429: "RESOURCE_EXHAUSTED"}.get(status, "UNAVAILABLE" if status >= 500 else "FAILED_PRECONDITION")


def _as_deidentify_error(what: str, err: Exception) -> DeidentifyError:
    if isinstance(err, DicomWebHttpError):
        return DeidentifyError(rpc_code(err.status), f"{what} failed (HTTP {err.status})")
    return DeidentifyError("UNAVAILABLE", f"{what} failed ({type(err).__name__})")


# --- QIDO-RS --------------------------------------------------------------------------------------------------


def _uid(item: dict, tag: str) -> Optional[str]:
    values = (item.get(tag) or {}).get("Value") or []
    return str(values[0]) if values else None


def qido(endpoint: DicomWebEndpoint, path: str, include: Sequence[str] = ()) -> Iterator[dict]:
    """Every match of a QIDO-RS search, page by page (limit/offset)."""
    session = endpoint.session()
    offset = 0
    while True:
        params = {"limit": str(QIDO_PAGE), "offset": str(offset)}
        if include:
            params["includefield"] = ",".join(include)
        response = session.get(f"{endpoint.url}/{path}", params=params, headers={"Accept": DICOM_JSON},
                               timeout=endpoint.timeout)
        if response.status_code == 204:
            return
        if response.status_code != 200:
            raise DicomWebHttpError(f"QIDO-RS {path.split('/')[-1]}", response.status_code)
        page = response.json() if response.content.strip() else []
        yield from page
        if len(page) < QIDO_PAGE:
            return
        offset += len(page)


def list_studies(endpoint: DicomWebEndpoint) -> list[str]:
    return sorted({uid for uid in (_uid(item, STUDY_UID) for item in qido(endpoint, "studies")) if uid})


def list_series(endpoint: DicomWebEndpoint, study: str) -> list[str]:
    items = qido(endpoint, f"studies/{study}/series")
    return sorted({uid for uid in (_uid(item, SERIES_UID) for item in items) if uid})


def list_instances(endpoint: DicomWebEndpoint, study: str, series: str) -> list[str]:
    items = qido(endpoint, f"studies/{study}/series/{series}/instances")
    return sorted({uid for uid in (_uid(item, SOP_UID) for item in items) if uid})


def check_reachable(endpoint: DicomWebEndpoint, argument: str) -> None:
    """Launch check: one QIDO-RS request, a few quick tries; an unreachable or refusing server is a LaunchError."""
    import requests

    probe = dataclasses.replace(endpoint, retries=1, backoff=0.2)
    try:
        response = probe.session().get(f"{endpoint.url}/studies", params={"limit": "1"},
                                          headers={"Accept": DICOM_JSON}, timeout=min(endpoint.timeout, 10.0))
    except requests.RequestException as err:
        raise LaunchError(f"{argument}: the DICOMweb server at {endpoint.url} does not answer "
                          f"({type(err).__name__})") from None
    except Exception as err:  # e.g. google-auth without Application Default Credentials
        raise LaunchError(f"{argument}: cannot connect to {endpoint.url} ({type(err).__name__})") from None
    if response.status_code not in (200, 204):
        raise LaunchError(f"{argument}: the DICOMweb server at {endpoint.url} answered a QIDO-RS search with "
                          f"HTTP {response.status_code}")


# --- WADO-RS --------------------------------------------------------------------------------------------------


def _boundary(content_type: str) -> bytes:
    match = re.search(r'boundary="?([^";]+)"?', content_type or "", re.IGNORECASE)
    if not match:
        raise ValueError("multipart answer without a boundary")
    return match.group(1).encode("ascii")


def decode_multipart(body: bytes, content_type: str) -> list[bytes]:
    """The bodies of a multipart/related message (RFC 2046), byte for byte."""
    delimiter = b"--" + _boundary(content_type)
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the close delimiter
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        parts.append(content)
    return parts


def encode_multipart(parts: Sequence[bytes], boundary: str) -> bytes:
    out = []
    for part in parts:
        out.append(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + part + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out)


def retrieve_instance(endpoint: DicomWebEndpoint, instance_url: str) -> bytes:
    """WADO-RS: one instance's Part-10 bytes, in the transfer syntax it is stored in."""
    response = endpoint.session().get(
        instance_url, headers={"Accept": f"{MULTIPART_DICOM}; transfer-syntax=*"}, timeout=endpoint.timeout
    )
    if response.status_code != 200:
        raise DicomWebHttpError("WADO-RS retrieve", response.status_code)
    content_type = response.headers.get("Content-Type", "")
    if content_type.lower().startswith("application/dicom"):
        return response.content
    parts = decode_multipart(response.content, content_type)
    if len(parts) != 1:
        raise ValueError(f"WADO-RS answer holds {len(parts)} instances, expected 1")
    return parts[0]


@dataclass(frozen=True)
class DicomWebReader:
    """A picklable ``read(instance_url) -> bytes`` for the de-identify step (WADO-RS)."""

    endpoint: DicomWebEndpoint

    def __call__(self, instance_url: str) -> bytes:
        return retrieve_instance(self.endpoint, instance_url)


# --- STOW-RS --------------------------------------------------------------------------------------------------


def _parse_stow_failures(response) -> dict[str, int]:
    """SOPInstanceUID -> FailureReason for every instance the server listed as failed."""
    if not response.content.strip():
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    failures = {}
    for item in ((body or {}).get(FAILED_SOP_SEQUENCE) or {}).get("Value") or []:
        uid = _uid(item, REFERENCED_SOP_UID)
        reason = (item.get(FAILURE_REASON) or {}).get("Value") or [0xC000]
        if uid:
            failures[uid] = int(reason[0])
    return failures


def store_instances(endpoint: DicomWebEndpoint, instances: Sequence[tuple[str, bytes]]) -> dict[str, Exception]:
    """STOW-RS one batch of (SOPInstanceUID, bytes); returns the failures by SOPInstanceUID (empty: all stored).

    An instance the server already holds (FailureReason 0x0111) counts as stored: a rerun stores the same
    bytes under the same UIDs. A whole-batch refusal of several instances is retried one instance at a time so
    that one bad instance does not fail the others.
    """
    import requests

    boundary = uuid.uuid4().hex
    body = encode_multipart([data for _, data in instances], boundary)
    content_type = f'{MULTIPART_DICOM}; boundary="{boundary}"'
    try:
        response = endpoint.session().post(f"{endpoint.url}/studies", data=body, timeout=endpoint.timeout,
                                           headers={"Content-Type": content_type, "Accept": DICOM_JSON})
    except requests.RequestException as err:
        failure: Exception = err
    else:
        failures = _parse_stow_failures(response)
        if response.status_code in (200, 202, 409) and (failures or response.status_code != 409):
            return {uid: DicomWebHttpError(f"STOW-RS store (FailureReason 0x{reason:04X})", response.status_code)
                    for uid, reason in failures.items()
                    if reason != DUPLICATE_SOP and uid in {u for u, _ in instances}}
        failure = DicomWebHttpError("STOW-RS store", response.status_code)
    if len(instances) > 1:
        out: dict[str, Exception] = {}
        for one in instances:
            out.update(store_instances(endpoint, [one]))
        return out
    return {instances[0][0]: failure}


# --- Beam transforms ------------------------------------------------------------------------------------------


def _beam():
    import apache_beam as beam

    return beam


DicomWebSource = Union[str, DicomWebEndpoint]


def _filter_studies(dicom_filter) -> Optional[set]:
    if dicom_filter is None:
        return None
    return (set(dicom_filter.studies) | {s for s, _ in dicom_filter.series}
            | {s for s, _, _ in dicom_filter.instances})


def _series_selected(dicom_filter, study: str, series: str) -> bool:
    if dicom_filter is None or study in dicom_filter.studies or (study, series) in dicom_filter.series:
        return True
    return any(s == study and r == series for s, r, _ in dicom_filter.instances)


def _make_listing_dofns():
    beam = _beam()
    from apache_beam.metrics import Metrics

    from transforms.beam import ERRORS, NAMESPACE, OK, error_from_exception, failure_counter

    class ListStudies(beam.DoFn):
        """The source's studies (QIDO-RS), or only the filter's."""

        def __init__(self, endpoint, dicom_filter, label):
            self._endpoint, self._filter, self._label = endpoint, dicom_filter, label

        def setup(self):
            self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

        def process(self, _):
            wanted = _filter_studies(self._filter)
            if wanted is not None:  # a filter names its studies: no need to list the whole server
                yield from sorted(wanted)
                return
            try:
                studies = list_studies(self._endpoint)
            except Exception as err:  # noqa: BLE001 - recorded; the run completes with a failure
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(
                    self._endpoint.url, _as_deidentify_error("QIDO-RS study search", err)))
                return
            yield from studies

    class ListSeries(beam.DoFn):
        def __init__(self, endpoint, dicom_filter, label):
            self._endpoint, self._filter, self._label = endpoint, dicom_filter, label

        def setup(self):
            self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

        def process(self, study):
            try:
                series = list_series(self._endpoint, study)
            except Exception as err:  # noqa: BLE001 - one study's listing failing is an error record
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(
                    f"{self._endpoint.url}/studies/{study}", _as_deidentify_error("QIDO-RS series search", err)))
                return
            for one in series:
                if _series_selected(self._filter, study, one):
                    yield study, one

    class ListInstances(beam.DoFn):
        def __init__(self, endpoint, dicom_filter, label):
            self._endpoint, self._filter, self._label = endpoint, dicom_filter, label

        def setup(self):
            self._failed = Metrics.counter(NAMESPACE, failure_counter(self._label))

        def process(self, element):
            study, series = element
            try:
                instances = list_instances(self._endpoint, study, series)
            except Exception as err:  # noqa: BLE001
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(
                    f"{self._endpoint.url}/studies/{study}/series/{series}",
                    _as_deidentify_error("QIDO-RS instance search", err)))
                return
            for instance in instances:
                if self._filter is None or self._filter.selects(study, series, instance):
                    yield self._endpoint.instance_url(study, series, instance)

    return ListStudies, ListSeries, ListInstances, ERRORS, OK


class _Listing:
    """The result of ReadDicomWebInstances: instance URLs, and error records of listings that failed."""

    def __init__(self, instances, errors):
        self.instances = instances
        self.errors = errors


def read_dicomweb_instances(pipeline, endpoint: DicomWebEndpoint, dicom_filter=None, label: str = "dicom"):
    """Studies -> series -> instance URLs, a reshuffle between levels; returns a _Listing."""
    beam = _beam()
    ListStudies, ListSeries, ListInstances, ERRORS, OK = _make_listing_dofns()
    listed = (
        pipeline
        | f"Start {label}" >> beam.Create([endpoint.url])
        | f"QIDO studies {label}" >> beam.ParDo(ListStudies(endpoint, dicom_filter, label)).with_outputs(ERRORS, main=OK)
    )
    studies = listed[OK] | f"Spread studies {label}" >> beam.Reshuffle()
    series = studies | f"QIDO series {label}" >> beam.ParDo(
        ListSeries(endpoint, dicom_filter, label)).with_outputs(ERRORS, main=OK)
    spread = series[OK] | f"Spread series {label}" >> beam.Reshuffle()
    instances = spread | f"QIDO instances {label}" >> beam.ParDo(
        ListInstances(endpoint, dicom_filter, label)).with_outputs(ERRORS, main=OK)
    errors = (listed[ERRORS], series[ERRORS], instances[ERRORS]) | f"Listing errors {label}" >> beam.Flatten()
    return _Listing(instances[OK], errors)


class _Captured(threading.local):
    item: Optional[tuple] = None


@dataclass(frozen=True)
class _CaptureWrite:
    """A ``write`` that keeps the de-identified bytes for the STOW-RS step instead of writing a file."""

    slot_id: str

    def __call__(self, path: str, data: bytes) -> None:
        _capture_slot(self.slot_id).item = (path, data)


_slots: dict = {}


def _capture_slot(slot_id: str) -> _Captured:
    with _sessions_lock:
        slot = _slots.get(slot_id)
        if slot is None:
            slot = _slots[slot_id] = _Captured()
    return slot


def _noop_delete(path: str) -> None:
    return None


def deidentify_to_dicomweb(paths, policy, keys, read, endpoint: DicomWebEndpoint, label: str = "dicom"):
    """Source paths/URLs -> de-identified instances STOWed to ``endpoint`` in batches; returns the error records.

    The de-identify step is the store pipeline's own (DeidentifyDicomFiles), its write captured; the batches go
    to the server right after, in the same fused stage, so instance bytes never cross a shuffle.
    """
    beam = _beam()
    from apache_beam.metrics import Metrics

    from transforms.beam import (ERRORS, NAMESPACE, OK, DeidentifyDicomFiles, DicomDestination,
                                 error_from_exception, failure_counter, success_counter)

    slot_id = f"{label}-{uuid.uuid4().hex}"
    destination = DicomDestination(endpoint.url, _CaptureWrite(slot_id), _noop_delete)

    class DeidentifyForStow(DeidentifyDicomFiles):
        """De-identify one instance; emit (source, SOPInstanceUID, bytes) for the STOW-RS batches."""

        def process(self, path):
            for out in super().process(path):
                if isinstance(out, beam.pvalue.TaggedOutput):
                    yield out
                    continue
                sop_uid, written = out
                _, data = _capture_slot(slot_id).item
                _capture_slot(slot_id).item = None
                yield written.source, sop_uid, data

    class StowBatches(beam.DoFn):
        """STOW-RS a batch; each instance the server refuses (after retries) becomes an error record."""

        def setup(self):
            self._ok = Metrics.counter(NAMESPACE, success_counter(label))
            self._failed = Metrics.counter(NAMESPACE, failure_counter(label))

        def process(self, batch):
            failures = store_instances(endpoint, [(sop, data) for _, sop, data in batch])
            for source, sop, _ in batch:
                err = failures.get(sop)
                if err is None:
                    continue
                self._ok.dec()  # counted as a success by the de-identify step
                self._failed.inc()
                yield error_from_exception(source, _as_deidentify_error("STOW-RS store to the destination", err))

    results = (
        paths
        | f"Spread {label}" >> beam.Reshuffle()
        | f"De-identify for STOW {label}" >> beam.ParDo(
            DeidentifyForStow(policy, keys, read, destination, label)).with_outputs(ERRORS, main=OK)
    )
    stored_errors = (
        results[OK]
        | f"Batch {label}" >> beam.BatchElements(min_batch_size=endpoint.batch_size,
                                                 max_batch_size=endpoint.batch_size)
        | f"STOW-RS {label}" >> beam.ParDo(StowBatches())
    )
    return (results[ERRORS], stored_errors) | f"De-identify errors {label}" >> beam.Flatten()


# --- launch ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DicomWebLaunch:
    """What a DICOM run with a DICOMweb end needs, after every launch rule has passed.

    ``source`` / ``destination`` are a store folder path or a DicomWebEndpoint; the ``*_name`` fields are what
    the summary names (a resource name or a URL).
    """

    source_name: str
    destination_name: str
    source: DicomWebSource
    destination: DicomWebSource
    run_id: str
    run_dir: str
    keys: object
    created_destination: bool


def _project_location(name: str) -> tuple[str, str]:
    parts = name.split("/")
    return parts[1], parts[3]


def plan_dicomweb_deidentify(source_store: Optional[str], source_url: Optional[str],
                             destination_store: Optional[str], destination_url: Optional[str], root: str,
                             config, key_file: Optional[str], create_key_file: bool = False,
                             dry_run: bool = False, batch_size: int = 20) -> DicomWebLaunch:
    """The store-level launch rules when either end is a DICOMweb URL.

    Same project and location: checked between the two ends that have a resource name (a store under the store
    root, or a Healthcare API DICOMweb URL). Both servers must answer a QIDO-RS search. Run records go to the
    destination store's ``.deidflow/runs/`` or, for a DICOMweb destination, to ``<store root>/.deidflow/runs/``.
    """
    from pipelines import launch
    from pipelines.stores import store_root

    root = store_root.normalize_root(root)
    if source_url and source_store:
        raise LaunchError("SOURCE_STORE: give either a source store or --source-dicomweb, not both")
    if destination_url and destination_store:
        raise LaunchError("--destination-store: give either a destination store or --destination-dicomweb, not both")
    if not source_url and not source_store:
        raise LaunchError("SOURCE_STORE: a source store or --source-dicomweb is required")
    if not destination_url and not destination_store:
        raise LaunchError("--destination-store: a destination store or --destination-dicomweb is required")

    src_endpoint = DicomWebEndpoint.parse(source_url, "--source-dicomweb") if source_url else None
    dst_endpoint = (DicomWebEndpoint.parse(destination_url, "--destination-dicomweb", batch_size=batch_size)
                    if destination_url else None)
    src_res = launch.ResourceName.parse(source_store, "dicomStores", "SOURCE_STORE") if source_store else None
    dst_res = (launch.ResourceName.parse(destination_store, "dicomStores", "--destination-store")
               if destination_store else None)
    src_name = src_res.name if src_res else src_endpoint.healthcare_store
    dst_name = dst_res.name if dst_res else dst_endpoint.healthcare_store
    argument = "--destination-dicomweb" if dst_endpoint else "--destination-store"
    if src_name and dst_name:
        (sp, sl), (dp, dl) = _project_location(src_name), _project_location(dst_name)
        if sp != dp:
            raise LaunchError(f"{argument}: the destination is in project '{dp}' but the source is in project "
                              f"'{sp}'; de-identifying across projects is not supported")
        if sl != dl:
            raise LaunchError(f"{argument}: the destination is in location '{dl}' but the source is in location "
                              f"'{sl}'; de-identifying across locations is not supported")
        if src_name == dst_name:
            raise LaunchError(f"{argument}: must differ from the source store")
    if src_endpoint and dst_endpoint and src_endpoint.url == dst_endpoint.url:
        raise LaunchError("--destination-dicomweb: must differ from the source")

    if src_res:
        source: DicomWebSource = launch.resource_path(root, src_res)
        if not store_root.exists(source):
            raise LaunchError(f"SOURCE_STORE: DICOM store '{src_res}' does not exist under store root '{root}'")
    else:
        check_reachable(src_endpoint, "--source-dicomweb")
        source = src_endpoint
    created = False
    if dst_res:
        if not store_root.exists(store_root.join(root, *dst_res.dataset_name.split("/"))):
            raise LaunchError(f"--destination-store: destination dataset '{dst_res.dataset_name}' does not exist")
        destination: DicomWebSource = launch.resource_path(root, dst_res)
    else:
        check_reachable(dst_endpoint, "--destination-dicomweb")
        destination = dst_endpoint
    keys = launch.resolve_keys(config, key_file, create_key_file, dry_run)
    if dst_res:
        created = not store_root.exists(destination)
        if created and not dry_run:
            launch.create_store(destination, "dicomStores")
    run_id = launch.new_run_id()
    runs_base = destination if dst_res else root
    run_dir = store_root.join(runs_base, store_root.META_DIR, "runs", run_id)
    return DicomWebLaunch(
        src_res.name if src_res else src_endpoint.url, dst_res.name if dst_res else dst_endpoint.url,
        source, destination, run_id, run_dir, keys, created,
    )


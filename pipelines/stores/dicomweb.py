"""DICOMweb HTTP: QIDO-RS listing, WADO-RS retrieval and STOW-RS storage (pipelines/stores/dicom.py wraps them
as a DICOM store).

A DICOMweb endpoint is a base URL (``http://pacs:8042/dicom-web``, or a Healthcare API store's
``https://healthcare.googleapis.com/v1/projects/P/locations/L/datasets/D/dicomStores/S/dicomWeb``). Requests go
through one ``requests`` session per process and endpoint, with urllib3's retry adapter: connection errors and
429/5xx answers are retried with exponential backoff, for every method (STOW-RS of the same bytes is idempotent).
Healthcare API endpoints authenticate with google-auth's Application Default Credentials.

Errors carry the step and the HTTP status, never an instance's values; the pipeline makes each failed listing,
retrieval or store one error record and goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

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


def redact_url(text: str) -> str:
    """A URL (or any text holding URLs) without its credentials: ``http://user:password@host`` ->
    ``http://***@host`` (transforms.beam.redact_credentials). Every URL deidflow shows goes through it."""
    from transforms.beam import redact_credentials

    return redact_credentials(text)


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


def as_deidentify_error(what: str, err: Exception) -> DeidentifyError:
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


# --- the key a DICOMweb destination was written with ------------------------------------------------------------

DESTINATIONS_DIR = "dicomweb-destinations"  # <store root>/.deidflow/<this>/<digest of the URL>.json


def destination_id(url: str) -> str:
    """A DICOMweb destination as its key record names it: the base URL without credentials, scheme and host in
    lower case, no trailing slash (``http://u:p@PACS:8042/dicom-web/`` and ``http://pacs:8042/dicom-web`` are one
    destination)."""
    text = redact_url(url.strip()).rstrip("/")
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*://)(?:\*\*\*@)?([^/]*)(.*)", text)
    return (match.group(1).lower() + match.group(2).lower() + match.group(3)) if match else text


def destination_record_path(root: str, url: str) -> str:
    import hashlib

    from pipelines.stores import store_root

    digest = hashlib.sha256(destination_id(url).encode("utf-8")).hexdigest()[:16]
    return store_root.join(root, store_root.META_DIR, DESTINATIONS_DIR, f"{digest}.json")


def claim_dicomweb_destination(root: str, endpoint: DicomWebEndpoint, keys, replace: bool, dry_run: bool) -> None:
    """Launch check for a DICOMweb destination, whose server records no key: the store root keeps one record per
    destination URL (``destination_record_path``: its id and the key fingerprint of the first run into it),
    created atomically (store_root.create_exclusive) before that run writes anything. A run with another key into
    a recorded destination is a LaunchError unless ``replace`` (--replace-destination), which records the new key
    but deletes nothing on the server. Runs through other store roots, and instances the server held before, are
    not seen (README: DICOMweb destinations). A dry run only reads."""
    import json

    from pipelines.stores import store_root

    path = destination_record_path(root, endpoint.url)
    record = {"destination": destination_id(endpoint.url), "keyFingerprint": keys.fingerprint}
    data = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
    recorded = _recorded_key(path)
    if recorded is not None and recorded != keys.fingerprint and not replace:
        raise _another_key(recorded, keys)
    if dry_run:
        return
    if recorded is not None and recorded != keys.fingerprint:  # replace: the new key from now on
        store_root.write_bytes(path, data)
    elif not store_root.create_exclusive(path, data):
        recorded = _recorded_key(path)
        if recorded != keys.fingerprint:
            raise _another_key(recorded, keys)


def _recorded_key(path: str) -> Optional[str]:
    from pipelines.stores import store_root

    try:
        return str(store_root.read_json(path).get("keyFingerprint") or "") or None if store_root.exists(path) else None
    except Exception:  # noqa: BLE001 - a damaged record: an unknown key
        return ""


def _another_key(recorded: Optional[str], keys) -> LaunchError:
    which = f"key {recorded}" if recorded else "an unrecorded key"
    return LaunchError(f"--destination-dicomweb: this store root records that the destination was written with "
                       f"{which}, not this run's key {keys.fingerprint} (a generated key, without --key-file, "
                       "differs every run); use the same --key-file, another destination, or --replace-destination "
                       "(records the new key; deletes nothing on the server, so clear it first)")


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

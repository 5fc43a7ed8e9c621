"""Launch-time rules: resource names, same project and location, destinations, config and key material.

Everything here runs before a pipeline is built. A failure raises LaunchError or ConfigError (exit code 2) and
writes nothing; the only write, creating a missing destination store, happens after every check has passed.
"""

from __future__ import annotations

import datetime
import os
import re
import secrets
from dataclasses import dataclass
from typing import Optional, Sequence

from pipelines.stores import store_root
from transforms.config import DeidentifyConfig
from transforms.crypto import Keys, decode_key_text, generate_key
from transforms.errors import ConfigError, LaunchError, NotSupportedYet

_ID = r"[A-Za-z0-9_.\-]+"
STORE_KINDS = {"dicomStores": "DICOM store", "fhirStores": "FHIR store"}


@dataclass(frozen=True)
class ResourceName:
    """A Healthcare API resource name: a dataset, or a store inside one."""

    project: str
    location: str
    dataset: str
    kind: Optional[str] = None  # dicomStores | fhirStores | None for a dataset
    store: Optional[str] = None

    @property
    def dataset_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/datasets/{self.dataset}"

    @property
    def name(self) -> str:
        if self.kind is None:
            return self.dataset_name
        return f"{self.dataset_name}/{self.kind}/{self.store}"

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, text: str, kind: Optional[str], argument: str) -> "ResourceName":
        """Parse exactly as the API's path patterns do; ``argument`` names the CLI argument in errors."""
        text = (text or "").strip().strip("/")
        pattern = rf"projects/({_ID})/locations/({_ID})/datasets/({_ID})"
        expected = "projects/PROJECT/locations/LOCATION/datasets/DATASET"
        if kind is not None:
            pattern += rf"/{kind}/({_ID})"
            expected += f"/{kind}/STORE"
        match = re.fullmatch(pattern, text)
        if not match or any(part in (".", "..") for part in match.groups()):
            raise LaunchError(f"{argument}: not a valid resource name; expected {expected}")
        return cls(*match.groups()) if kind is None else cls(*match.groups()[:3], kind, match.group(4))

    def store_in(self, dataset: "ResourceName", kind: str, store: str) -> "ResourceName":
        return ResourceName(dataset.project, dataset.location, dataset.dataset, kind, store)


def require_same_project_and_location(source: ResourceName, destination: ResourceName, argument: str) -> None:
    if source.project != destination.project:
        raise LaunchError(
            f"{argument}: the destination is in project '{destination.project}' but the source is in project "
            f"'{source.project}'; de-identifying across projects is not supported"
        )
    if source.location != destination.location:
        raise LaunchError(
            f"{argument}: the destination is in location '{destination.location}' but the source is in location "
            f"'{source.location}'; de-identifying across locations is not supported"
        )


def split_runner(beam_args: Sequence[str]) -> tuple[Optional[str], list[str]]:
    """The runner Beam's arguments name (``--runner X`` or ``--runner=X``, the last wins), and the others."""
    runner, rest = None, []
    args = iter(beam_args)
    for arg in args:
        if arg == "--runner":
            value = next(args, None)
            if value is None:
                rest.append(arg)  # no value: Beam's own parser says so
            else:
                runner = value
        elif arg.startswith("--runner="):
            runner = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return runner, rest


def require_runner_installed(beam_args: Sequence[str]) -> None:
    """A runner whose client libraries are not installed fails here, not half-way through building the job.

    DataflowRunner needs Beam's Google Cloud extras, which the base install leaves out (``deidflow[gcp]``).
    """
    runner, _ = split_runner(beam_args)
    if runner and "dataflow" in runner.lower():
        import importlib.util

        try:
            found = importlib.util.find_spec("google.cloud.dataflow") is not None
        except ImportError:
            found = False
        if not found:
            raise LaunchError(f"--runner {runner} needs Beam's Google Cloud libraries, which are not installed: "
                              "pip install 'deidflow[gcp]'")


def resource_path(root: str, resource: ResourceName) -> str:
    return store_root.join(root, *resource.name.split("/"))


def load_config(config_file: Optional[str]) -> Optional[DeidentifyConfig]:
    """Read and parse the config file (local path or gs:// URI); None when no file is given."""
    if not config_file:
        return None
    try:
        text = store_root.read_bytes(config_file).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("--config-file", "is not UTF-8 text") from None
    except Exception as err:
        raise LaunchError(f"--config-file: cannot read '{config_file}' ({type(err).__name__})") from None
    from transforms.config_textproto import load_config_any  # JSON, or protobuf text format

    return load_config_any(text, "--config-file")


def create_key_file_at(path: str) -> Keys:
    """Write a new random key to ``path`` (local: mode 0600, never replacing a file); the key is never printed."""
    from transforms.crypto import encode_key_text

    key = generate_key()
    data = encode_key_text(key).encode("ascii")
    if store_root.is_remote(path):
        if store_root.exists(path):
            raise LaunchError(f"--key-file: '{path}' already exists; refusing to overwrite it")
        store_root.write_bytes(path, data)
        return Keys(key)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise LaunchError(f"--key-file: '{path}' already exists; refusing to overwrite it") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)  # O_CREAT's mode is filtered by the umask
    return Keys(key)


def resolve_keys(config: Optional[DeidentifyConfig], key_file: Optional[str], create_key_file: bool = False,
                 dry_run: bool = False) -> Keys:
    """The run's key material, resolved once: a key file, else the config's first cryptoKey, else a new key.

    With ``create_key_file`` a missing key file is created with a new key (an existing one is used, never
    replaced); on a dry run the new key is not written.
    """
    from transforms.config import crypto_keys, kms_wrapped_paths

    if config is not None:
        wrapped = kms_wrapped_paths(config)
        if wrapped:
            raise NotSupportedYet(wrapped[0], "KMS-wrapped keys need Cloud KMS; give cryptoKey or --key-file")
    if create_key_file and not key_file:
        raise LaunchError("--create-key-file: needs --key-file to name the file to create")
    if key_file and create_key_file and not store_root.exists(key_file):
        return Keys(generate_key()) if dry_run else create_key_file_at(key_file)
    if key_file:
        try:
            text = store_root.read_bytes(key_file).decode("ascii")
        except UnicodeDecodeError:
            raise LaunchError("--key-file: is not a base64 text file") from None
        except Exception as err:
            raise LaunchError(f"--key-file: cannot read '{key_file}' ({type(err).__name__})") from None
        try:
            return Keys(decode_key_text(text))
        except ValueError as err:
            raise LaunchError(f"--key-file: {err}") from None
    configured = crypto_keys(config) if config is not None else []
    if configured:
        return Keys(configured[0])
    return Keys(generate_key())


def new_run_id() -> str:
    """UTC start time to the millisecond, then a random suffix: run ids sort in start order."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class StoreLaunch:
    """What a store-level pipeline needs, after every launch rule has passed.

    ``source`` / ``destination`` are what the summary names (a resource name, or a DICOMweb URL);
    ``source_path`` / ``destination_path`` are store folders, or DicomWebEndpoints (DICOM runs only).
    """

    source: str
    destination: str
    source_path: object
    destination_path: object
    run_id: str
    run_dir: str
    config: Optional[DeidentifyConfig]
    keys: Keys
    created_destination: bool


def _store_end(kind: str, store: Optional[str], url: Optional[str], argument: str, url_argument: str, **options):
    """(ResourceName or None, DicomWebEndpoint or None) of one end; exactly one of them is given."""
    from pipelines.stores.dicomweb import DicomWebEndpoint

    what = "a source store" if argument == "SOURCE_STORE" else "a destination store"
    if store and url:
        raise LaunchError(f"{argument}: give either {what} or {url_argument}, not both")
    if not store and not url:
        raise LaunchError(f"{argument}: {what} or {url_argument} is required")
    if url:
        return None, DicomWebEndpoint.parse(url, url_argument, **options)
    return ResourceName.parse(store, kind, argument), None


def plan_store_deidentify(
    kind: str,
    source: Optional[str],
    destination: Optional[str],
    root: str,
    config: Optional[DeidentifyConfig],
    key_file: Optional[str],
    dry_run: bool = False,
    create_key_file: bool = False,
    source_url: Optional[str] = None,
    destination_url: Optional[str] = None,
    batch_size: int = 20,
) -> StoreLaunch:
    """Check the store-level launch rules; create the destination store if missing (never on a dry run).

    DICOM runs may have a DICOMweb server at either end (``source_url``, ``destination_url``): same project and
    location are then checked between the ends that have a resource name (a store, or a Healthcare API DICOMweb
    URL), and a server must answer a QIDO-RS search. Run records go to the destination store's
    ``.deidflow/runs/`` or, for a DICOMweb destination, to ``<store root>/.deidflow/runs/``.
    """
    from pipelines.stores.dicomweb import check_reachable

    what = STORE_KINDS[kind]
    src, src_endpoint = _store_end(kind, source, source_url, "SOURCE_STORE", "--source-dicomweb")
    dst, dst_endpoint = _store_end(kind, destination, destination_url, "--destination-store",
                                   "--destination-dicomweb", batch_size=batch_size)
    src_name = src.name if src else src_endpoint.healthcare_store
    dst_name = dst.name if dst else dst_endpoint.healthcare_store
    argument = "--destination-dicomweb" if dst_endpoint else "--destination-store"
    if src_name and dst_name:
        src_res, dst_res = ResourceName.parse(src_name, kind, "SOURCE_STORE"), ResourceName.parse(dst_name, kind, argument)
        require_same_project_and_location(src_res, dst_res, argument)
        if src_res == dst_res:
            raise LaunchError(f"{argument}: must differ from the source store")
    if src_endpoint and dst_endpoint and src_endpoint.url == dst_endpoint.url:
        raise LaunchError("--destination-dicomweb: must differ from the source")
    root = store_root.normalize_root(root)
    if src:
        src_path = resource_path(root, src)
        if not store_root.exists(src_path):
            raise LaunchError(f"SOURCE_STORE: {what} '{src}' does not exist under store root '{root}'")
    else:
        check_reachable(src_endpoint, "--source-dicomweb")
        src_path = src_endpoint
    if dst:
        dst_dataset_path = store_root.join(root, *dst.dataset_name.split("/"))
        if not store_root.exists(dst_dataset_path):
            raise LaunchError(f"--destination-store: destination dataset '{dst.dataset_name}' does not exist")
    else:
        check_reachable(dst_endpoint, "--destination-dicomweb")
    keys = resolve_keys(config, key_file, create_key_file, dry_run)
    created = False
    if dst:
        dst_path = resource_path(root, dst)
        created = not store_root.exists(dst_path)
        if created and not dry_run:
            create_store(dst_path, kind)
    else:
        dst_path = dst_endpoint
    run_id = new_run_id()
    run_dir = store_root.join(dst_path if dst else root, store_root.META_DIR, "runs", run_id)
    return StoreLaunch(src.name if src else src_endpoint.url, dst.name if dst else dst_endpoint.url,
                       src_path, dst_path, run_id, run_dir, config, keys, created)


FHIR_VERSION_KEY = "version"  # as the API's FhirStore resource names it


def fhir_version_of(meta: dict) -> Optional[str]:
    """The FHIR version a store's metadata declares (``version``; ``fhirVersion`` from deidflow before 0.1.1)."""
    version = meta.get(FHIR_VERSION_KEY) or meta.get("fhirVersion")
    return str(version).upper() if version else None


def create_store(path: str, kind: str, extra: Optional[dict] = None) -> None:
    """A store is a folder with a small metadata file (type, creation time) beside its data."""
    store_root.mkdirs(path)
    meta = {"type": kind, "createTime": datetime.datetime.now(datetime.timezone.utc).isoformat()}
    meta.update(extra or {})
    store_root.write_json(store_root.join(path, store_root.META_DIR, store_root.STORE_META), meta)

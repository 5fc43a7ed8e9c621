"""Launch-time rules: resource names, same project and location, destinations, config and key material.

Everything here runs before a pipeline is built. A failure raises LaunchError or ConfigError (exit code 2) and
writes nothing. The writes, after every check has passed: the destination's key claim first (``claim_destination``:
created atomically, so of two runs with different keys only one gets past it), then a missing destination store.
"""

from __future__ import annotations

import datetime
import json
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
MAX_ID_LENGTH = 255  # one folder name below the store root (NAME_MAX); the API allows 1-256 characters
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
        if any(len(part) > MAX_ID_LENGTH for part in match.groups()):
            raise LaunchError(f"{argument}: a name in it is longer than {MAX_ID_LENGTH} characters")
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
    require_runner_resolvable(runner)


def require_runner_resolvable(runner: Optional[str]) -> None:
    """A runner Beam cannot resolve (``--runner DaskRunner`` by short name, a typo) is a launch error here,
    before any store is created, not a crash inside ``beam.Pipeline()``."""
    from pipelines.local_runner import DIRECT_RUNNER_NAMES, RUNNER_PATH

    if not runner or runner.lower() in DIRECT_RUNNER_NAMES or runner == RUNNER_PATH:
        return
    from apache_beam.runners.runner import create_runner

    try:
        create_runner(runner)
    except Exception as err:  # noqa: BLE001 - ValueError (unknown name), ImportError (module missing), ...
        raise LaunchError(f"--runner {runner}: Beam cannot resolve this runner ({type(err).__name__}); give one "
                          "of Beam's runner names or the fully qualified name of a PipelineRunner class") from None


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
        warn_if_readable_by_others(key_file)
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


def warn_if_readable_by_others(key_file: str) -> None:
    """A local key file that other users may read (or write) gets a warning on stderr; the run goes on."""
    if store_root.is_remote(key_file):
        return
    try:
        mode = os.stat(key_file).st_mode
    except OSError:
        return  # the read that follows says what is wrong
    if mode & 0o077:
        import sys

        print(f"deidflow: warning: --key-file: the key file is readable or writable by other users (mode "
              f"{mode & 0o777:o}); restrict it: chmod 600 {key_file}", file=sys.stderr)


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
    replace_destination: bool = False,
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
        require_folder(src_path, "SOURCE_STORE", f"{what} '{src}'")
        require_inside_location(src_path, "SOURCE_STORE", f"{what} '{src}'")
    else:
        check_reachable(src_endpoint, "--source-dicomweb")
        src_path = src_endpoint
    if dst:
        dst_dataset_path = store_root.join(root, *dst.dataset_name.split("/"))
        if not store_root.exists(dst_dataset_path):
            raise LaunchError(f"--destination-store: destination dataset '{dst.dataset_name}' does not exist")
        require_folder(dst_dataset_path, "--destination-store", f"destination dataset '{dst.dataset_name}'")
        dst_path = resource_path(root, dst)
        if store_root.exists(dst_path):
            require_folder(dst_path, "--destination-store", f"{what} '{dst}'")
        require_inside_location(dst_path, "--destination-store", f"{what} '{dst}'")
        if src:
            require_apart(src_path, dst_path)
    else:
        check_reachable(dst_endpoint, "--destination-dicomweb")
        dst_path = dst_endpoint
    keys = resolve_keys(config, key_file, create_key_file, dry_run)
    created = False
    if dst:
        created = not store_root.exists(dst_path)
        clear = check_destination_key(dst_path, keys, replace_destination, created)
        if not dry_run:
            claim_destination(dst_path, kind, keys, clear)
    else:
        from pipelines.stores.dicomweb import claim_dicomweb_destination

        claim_dicomweb_destination(root, dst_endpoint, keys, replace_destination, dry_run)
    run_id = new_run_id()
    run_dir = store_root.join(dst_path if dst else root, store_root.META_DIR, "runs", run_id)
    from pipelines.stores.dicomweb import redact_url

    return StoreLaunch(src.name if src else redact_url(src_endpoint.url),
                       dst.name if dst else redact_url(dst_endpoint.url),
                       src_path, dst_path, run_id, run_dir, config, keys, created)


KEY_FINGERPRINT = "keyFingerprint"  # store.json: the fingerprint of the key the store's data was written with
# .deidflow/key.json of a destination store: {"keyFingerprint": ...}, created once, atomically
# (store_root.create_exclusive), by the first run into the store, before that run writes anything else. It binds
# the store to that key: a run with another key is a launch error (unless --replace-destination), even before any
# data is there — the first run may still be writing it (issue 18: two keys at the same instant).
KEY_CLAIM = "key.json"


def require_folder(path: str, argument: str, what: str) -> None:
    """A store or dataset that is a file (not a folder) is a launch error, not a run over nothing."""
    if not store_root.is_remote(path) and os.path.exists(path) and not os.path.isdir(path):
        raise LaunchError(f"{argument}: {what} is a file, not a store folder")


def require_inside_location(path: str, argument: str, what: str) -> None:
    """A store folder reached through a symlink must resolve inside its own project and location."""
    area = store_root.location_area(path)
    if area is not None and not store_root.is_within(store_root.real(path), area):
        raise LaunchError(f"{argument}: {what} resolves (through a symlink) outside its project and location; "
                          "de-identifying across projects or locations is not supported")


def require_apart(source_path: str, destination_path: str) -> None:
    """Real paths decide identity: a destination that is, contains or is inside the source (however spelled,
    through symlinked datasets or stores) is a launch error."""
    src, dst = store_root.real(source_path), store_root.real(destination_path)
    if store_root.is_within(dst, src) or store_root.is_within(src, dst):
        raise LaunchError("--destination-store: the destination is, contains or is inside the source store once "
                          "symlinks are resolved; it must be a separate store")


def has_store_data(path: str) -> bool:
    return next(iter(store_root.list_files(path)), None) is not None


def check_destination_key(dst_path: str, keys: Keys, replace: bool, created: bool) -> bool:
    """Whether the destination must be cleared and bound to this run's key first. A destination bound to another
    key (``recorded_fingerprint``: its first run's key, whether or not data is there yet) or holding data of an
    unknown key is a launch error unless ``replace``: mixing keys leaves two copies of everything. Reads only."""
    if created:
        return False
    recorded = recorded_fingerprint(dst_path)
    if recorded == keys.fingerprint or (recorded is None and not has_store_data(dst_path)):
        return False
    if replace:
        return True
    raise _another_key(recorded, keys)


def _another_key(recorded: Optional[str], keys: Keys) -> LaunchError:
    which = f"key {recorded}" if recorded else "an unrecorded key"
    return LaunchError(f"--destination-store: the destination is bound to (holds or is being written with) data "
                       f"of {which}, not this run's key {keys.fingerprint} (a generated key, without --key-file, "
                       "differs every run); use the same --key-file, another destination, or --replace-destination "
                       "to delete its data first")


def recorded_fingerprint(path: str) -> Optional[str]:
    """The key fingerprint a store is bound to: its claim (``.deidflow/key.json``), else the one store.json
    records (stores written before claims), else None."""
    claim = store_root.join(path, store_root.META_DIR, KEY_CLAIM)
    try:
        if store_root.exists(claim):
            return str(store_root.read_json(claim).get(KEY_FINGERPRINT) or "") or None
    except Exception:  # noqa: BLE001 - an unreadable claim: the store.json record decides
        pass
    return store_meta(path).get(KEY_FINGERPRINT)


def claim_destination(path: str, kind: str, keys: Keys, replace: bool) -> None:
    """Bind a destination store to this run's key, atomically, before anything else is written to it: the first
    run creates ``.deidflow/key.json`` (create_exclusive); a run that finds it there proceeds only with the same
    key, else LaunchError having written nothing (two runs of different keys at the same instant: one runs).
    ``replace`` (--replace-destination, checked by check_destination_key) deletes the data and rebinds."""
    if replace:
        clear_store_data(path)
        store_root.write_bytes(store_root.join(path, store_root.META_DIR, KEY_CLAIM), _claim_bytes(keys.fingerprint))
    else:
        try:
            claim_key(path, keys.fingerprint)
        except LaunchError:
            raise _another_key(recorded_fingerprint(path), keys) from None
    if not store_root.exists(store_root.join(path, store_root.META_DIR, store_root.STORE_META)):
        create_store(path, kind, {KEY_FINGERPRINT: keys.fingerprint})
    else:
        record_key_fingerprint(path, keys)


def _claim_bytes(fingerprint: str) -> bytes:
    return (json.dumps({KEY_FINGERPRINT: fingerprint}, sort_keys=True) + "\n").encode("utf-8")


def claim_key(path: str, fingerprint: str) -> None:
    """Create the store's key claim if none is there (atomically); LaunchError when it names another key."""
    if not store_root.create_exclusive(store_root.join(path, store_root.META_DIR, KEY_CLAIM),
                                       _claim_bytes(fingerprint)):
        recorded = recorded_fingerprint(path)
        if recorded != fingerprint:
            which = f"key {recorded}" if recorded else "an unrecorded key"
            raise LaunchError(f"the destination store is bound to data of {which}, not this run's key "
                              f"{fingerprint}: another run with another key claimed it first")


def store_meta(path: str) -> dict:
    meta_path = store_root.join(path, store_root.META_DIR, store_root.STORE_META)
    try:
        return store_root.read_json(meta_path) if store_root.exists(meta_path) else {}
    except Exception:  # noqa: BLE001 - unreadable metadata: treated as none recorded
        return {}


def record_key_fingerprint(path: str, keys: Keys) -> None:
    meta = store_meta(path)
    if meta.get(KEY_FINGERPRINT) != keys.fingerprint:
        meta[KEY_FINGERPRINT] = keys.fingerprint
        store_root.write_json(store_root.join(path, store_root.META_DIR, store_root.STORE_META), meta)


def clear_store_data(path: str) -> None:
    """--replace-destination: delete the store's data files (its run records stay)."""
    for file_path in list(store_root.list_files(path)):
        store_root.delete(file_path)


FHIR_VERSION_KEY = "version"  # as the API's FhirStore resource names it


def fhir_version_of(meta: dict) -> Optional[str]:
    """The FHIR version a store's metadata declares (``version``; ``fhirVersion`` from deidflow before 0.1.1)."""
    version = meta.get(FHIR_VERSION_KEY) or meta.get("fhirVersion")
    return str(version).upper() if version else None


def create_store(path: str, kind: str, extra: Optional[dict] = None) -> None:
    """A store is a folder with a small metadata file (type, creation time) beside its data. With a key
    fingerprint in ``extra`` the store is first bound to that key (``claim_key``: a LaunchError, nothing written,
    when another run bound it to another key)."""
    if extra and extra.get(KEY_FINGERPRINT):
        claim_key(path, extra[KEY_FINGERPRINT])
    store_root.mkdirs(path)
    meta = {"type": kind, "createTime": datetime.datetime.now(datetime.timezone.utc).isoformat()}
    meta.update(extra or {})
    store_root.write_json(store_root.join(path, store_root.META_DIR, store_root.STORE_META), meta)

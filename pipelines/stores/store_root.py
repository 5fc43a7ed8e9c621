"""Store roots: resource names mapped to folders in a local directory or a gs:// prefix, through Beam's FileSystems."""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from typing import Iterator


META_DIR = ".deidflow"  # per-store (and per-dataset) records: metadata and run records, never source data
STORE_META = "store.json"
TMP_PREFIX = ".tmp-"  # a local write in progress (write_bytes), renamed into place when complete


def _filesystems():
    # Imported on first use: local paths never need Beam, and launch errors should not wait for it.
    from apache_beam.io.filesystem import BeamIOError
    from apache_beam.io.filesystems import FileSystems

    from pipelines.stores.gcs import prepare_beam_gcs

    prepare_beam_gcs()
    return FileSystems, BeamIOError


def is_remote(path: str) -> bool:
    return "://" in path


def normalize_root(root: str) -> str:
    """Absolute local paths (workers in other processes must agree); URIs unchanged, without a trailing slash."""
    if is_remote(root):
        return root.rstrip("/")
    return os.path.abspath(os.path.expanduser(root))


def join(base: str, *parts: str) -> str:
    if is_remote(base):
        return posixpath.join(base, *parts)
    return os.path.join(base, *parts)


def relative(path: str, base: str) -> str:
    base = base.rstrip("/") + "/"
    return path[len(base):] if path.startswith(base) else path


def is_store_data(path: str, base: str) -> bool:
    """Whether a file below a store folder is store data: not a run record or store metadata (anything under
    ``.deidflow/``) and not a temporary file of a write in progress (``.tmp-*``). The one rule every reader of a
    store folder (de-identify, verify, dry run, import/export) applies."""
    parts = relative(path, base).replace("\\", "/").split("/")
    return bool(parts[-1]) and META_DIR not in parts[:-1] and not parts[-1].startswith(TMP_PREFIX)


def exists(path: str) -> bool:
    """A file, or a folder with anything in it (object stores have no empty folders)."""
    if not is_remote(path):
        return os.path.exists(path)
    FileSystems, BeamIOError = _filesystems()
    if FileSystems.exists(path):
        return True
    try:
        result = FileSystems.match([path.rstrip("/") + "/**"], limits=[1])[0]
    except BeamIOError:
        return False
    return bool(result.metadata_list)


def list_files(folder: str, skip_meta: bool = True) -> Iterator[str]:
    """Every file below a folder, recursively, sorted; with ``skip_meta`` only store data (``is_store_data``)."""
    FileSystems, BeamIOError = _filesystems()
    try:
        result = FileSystems.match([folder.rstrip("/") + "/**"])[0]
    except BeamIOError:
        return iter(())
    paths = sorted(m.path for m in result.metadata_list)
    return iter(p for p in paths if not skip_meta or is_store_data(p, folder))


def open_bytes(path: str):
    """A binary handle on a file, its bytes as stored (no decompression)."""
    if not is_remote(path):
        return open(path, "rb")
    FileSystems, _ = _filesystems()
    return FileSystems.open(path, compression_type="uncompressed")


def read_bytes(path: str) -> bytes:
    with open_bytes(path) as handle:
        return handle.read()


def open_read(path: str):
    """A seekable binary handle on a file, decompressed by its extension (``.gz``, ``.bz2``, ...)."""
    from apache_beam.io.filesystem import CompressionTypes

    FileSystems, _ = _filesystems()
    return FileSystems.open(path, compression_type=CompressionTypes.AUTO)


def write_bytes(path: str, data: bytes) -> None:
    """Write a whole file. Local writes go through a temporary file and a rename, so a reader never sees half."""
    write_chunks(path, (data,))


def write_chunks(path: str, chunks) -> None:
    """``write_bytes`` of the concatenation of an iterable of bytes, written as it comes (never held whole)."""
    if is_remote(path):
        FileSystems, _ = _filesystems()
        with FileSystems.create(path, mime_type="application/octet-stream", compression_type="uncompressed") as out:
            for chunk in chunks:
                out.write(chunk)
        return
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def move(source: str, destination: str) -> None:
    """Move a file to another path of the same root (local: an atomic rename; gs://: a server-side copy, then
    the source deleted), replacing what is there."""
    if not is_remote(source):
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        os.replace(source, destination)
        return
    FileSystems, _ = _filesystems()
    FileSystems.rename([source], [destination])


def remove_empty_folder(path: str) -> None:
    """Remove a local folder if it is empty (object stores have no folders to remove)."""
    if not is_remote(path):
        try:
            os.rmdir(path)
        except OSError:
            pass


def delete(path: str) -> None:
    if not is_remote(path):
        if os.path.exists(path):
            os.unlink(path)
        return
    FileSystems, BeamIOError = _filesystems()
    try:
        FileSystems.delete([path])
    except BeamIOError:
        pass


def mkdirs(path: str) -> None:
    if not is_remote(path):
        os.makedirs(path, exist_ok=True)


def read_json(path: str) -> dict:
    return json.loads(read_bytes(path).decode("utf-8"))


def write_json(path: str, obj: dict) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


# Against the storage emulator, settle Beam's credential lookup in every process that handles stores — workers
# import this module when they unpickle a store pipeline's DoFns — before any Beam transform (fileio.MatchFiles,
# FileSystems.open) reaches GCS: unsettled, each process's first GCS call waited ~15 s (seen: 50 s -> 6 s for a
# FHIR store). A no-op without STORAGE_EMULATOR_HOST.
from pipelines.stores.gcs import prepare_beam_gcs  # noqa: E402

prepare_beam_gcs()

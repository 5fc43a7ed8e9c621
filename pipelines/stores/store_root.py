"""Store roots: resource names mapped to folders in a local directory or a gs:// prefix, through Beam's FileSystems."""

from __future__ import annotations

import functools
import json
import os
import posixpath
import re
import stat
import tempfile
from typing import Iterator, Optional


META_DIR = ".deidflow"  # per-store (and per-dataset) records: metadata and run records, never source data
STORE_META = "store.json"
TMP_PREFIX = ".tmp-"  # a local write in progress (write_bytes), renamed into place when complete
# Exactly the names write_bytes' tempfile.mkstemp gives (prefix + 8 characters of its alphabet): a crash leftover.
# A source file merely starting with ".tmp-" is data like any other.
_TMP_NAME = re.compile(re.escape(TMP_PREFIX) + r"[a-z0-9_]{8}")
# The largest file a store read accepts (bytes); DEIDFLOW_MAX_FILE_BYTES lowers or raises it.
MAX_FILE_BYTES_DEFAULT = 2 * 1024 ** 3


class UnreadableFile(Exception):
    """A store file that is not read: not a regular file, too large, or reached outside its project and location.
    The message is PHI-free (it names the kind of problem, never the path)."""


def max_file_bytes() -> int:
    try:
        return int(os.environ.get("DEIDFLOW_MAX_FILE_BYTES", MAX_FILE_BYTES_DEFAULT))
    except ValueError:
        return MAX_FILE_BYTES_DEFAULT


def _filesystems():
    # Imported on first use: local paths never need Beam, and launch errors should not wait for it.
    from apache_beam.io.filesystem import BeamIOError
    from apache_beam.io.filesystems import FileSystems

    from pipelines.stores.gcs import prepare_beam_gcs

    prepare_beam_gcs()
    return FileSystems, BeamIOError


def is_remote(path: str) -> bool:
    return "://" in path


def real(path: str) -> str:
    """The real path of a local path (every symlink resolved); URIs unchanged. Identity is decided on these."""
    return path if is_remote(path) else os.path.realpath(path)


def is_within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or below it (both compared as given: pass real paths)."""
    folder = folder.rstrip("/\\")
    return path == folder or path.startswith(folder + ("/" if is_remote(folder) else os.sep))


def location_area(store_path: str) -> Optional[str]:
    """The real folder of the project and location a store folder belongs to
    (``real(<root>)/projects/P/locations/L`` for ``<root>/projects/P/locations/L/datasets/D/<kind>/S``), or None
    when the path does not have that shape. A local file of the store must resolve inside it."""
    if is_remote(store_path):
        return None
    parts = os.path.normpath(store_path).split(os.sep)
    if len(parts) < 9 or parts[-8] != "projects" or parts[-6] != "locations" or parts[-4] != "datasets":
        return None
    root = os.sep.join(parts[:-8]) or os.sep
    return os.path.join(os.path.realpath(root), *parts[-8:-4])


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
    return bool(parts[-1]) and not (len(parts) > 1 and parts[0] == META_DIR) and not is_temp_leftover(path)


def is_temp_leftover(path: str) -> bool:
    """Whether a file is a temporary file of write_bytes (in progress, or left by a killed run)."""
    return bool(_TMP_NAME.fullmatch(path.replace("\\", "/").rsplit("/", 1)[-1]))


def walk_local(folder: str, enter_meta: bool = False) -> Iterator[str]:
    """Every entry below a local folder that is not a folder, sorted; folder symlinks are followed once (a folder
    reached again, a loop, is given as an entry, so its reader records it). Dangling symlinks, FIFOs, devices and
    sockets are given too: their reader records them (``check_regular``), nothing is skipped silently. The
    store's own ``.deidflow/`` is not entered."""
    return iter(sorted(walk_local_unsorted(folder, enter_meta)))


def walk_local_unsorted(folder: str, enter_meta: bool = False) -> Iterator[str]:
    """``walk_local``'s entries as they are found (a caller that may stop early lists no more than it needs)."""
    seen = {os.path.realpath(folder)}
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            yield current  # unreadable folder: its reader records it
            continue
        for entry in entries:
            path = entry.path
            if current == folder and entry.name == META_DIR and not enter_meta:
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False  # a loop of symlinks: ELOOP
            if is_dir:
                if entry.is_symlink():
                    target = os.path.realpath(path)
                    if target in seen:
                        yield path
                        continue
                    seen.add(target)
                stack.append(path)
            else:
                yield path


def check_regular(path: str, area: Optional[str] = None) -> str:
    """The real path of a local store file that may be read, else UnreadableFile: it must be a regular file (not
    a FIFO, device, socket, folder or dangling symlink), at most ``max_file_bytes()``, and, with ``area``, resolve
    inside that real folder (its project and location). URIs are returned unchanged."""
    if is_remote(path):
        return path
    try:
        info = os.lstat(path) if os.path.isabs(path) else None
    except OSError:
        info = None  # gone, or unreachable: the full resolution below says why
    if info is not None and stat.S_ISREG(info.st_mode):  # a regular file, not a symlink: only its folder can lead
        folder, name = os.path.split(path)  # elsewhere, and a folder is resolved once a process (_real_folder)
        try:
            return _checked(os.path.join(_real_folder(folder), name), info, area)
        except OSError:
            pass  # the full resolution below says why
    try:
        target = os.path.realpath(path, strict=True)
        info = os.stat(target)
    except FileNotFoundError:
        raise UnreadableFile("a dangling symlink (its target does not exist)") from None
    except OSError as err:
        raise UnreadableFile(f"cannot be resolved ({type(err).__name__}: a symlink loop?)") from None
    return _checked(target, info, area)


@functools.lru_cache(maxsize=1024)
def _real_folder(folder: str) -> str:
    """The real path of a local folder, resolved once a process: a realpath walks every folder of the path with
    an lstat each (0.1-0.4 ms a file). A file is then opened through its folder's real path, so a folder swapped
    for a symlink later cannot lead a read elsewhere."""
    return os.path.realpath(folder, strict=True)


def _checked(target: str, info: os.stat_result, area: Optional[str]) -> str:
    """``check_regular``'s checks of a resolved file (its real path and stat)."""
    if stat.S_ISDIR(info.st_mode):
        raise UnreadableFile("a folder reached again through a symlink (a loop)")
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile("not a regular file (a FIFO, device or socket); not read")
    if area is not None and not is_within(target, area):
        raise UnreadableFile("resolves (through a symlink) outside the store's project and location; not read")
    if info.st_size > max_file_bytes():
        raise UnreadableFile(f"larger than the {max_file_bytes()}-byte limit; not read")
    return target


def read_store_file(path: str, area: Optional[str] = None) -> bytes:
    """A store file's bytes after ``check_regular``; opened non-blocking and read up to the size limit, so a file
    swapped for a FIFO or grown after the check can neither hang nor exhaust memory."""
    if is_remote(path):
        return read_bytes(path)
    target = check_regular(path, area)
    limit = max_file_bytes()
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("not a regular file (a FIFO, device or socket); not read")
        # Asking for limit + 1 bytes at once makes Python allocate (and the kernel map) that much for every file:
        # ask for the size fstat gives plus one, and only read on when the file grew since.
        data = handle.read(min(info.st_size, limit) + 1)
        if info.st_size < len(data) <= limit:
            data += handle.read(limit + 1 - len(data))
    if len(data) > limit:
        raise UnreadableFile(f"larger than the {limit}-byte limit; not read")
    return data


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
    """Every file below a folder, recursively, sorted; with ``skip_meta`` only store data (``is_store_data``).
    Local folders are walked by ``walk_local`` (folder symlinks followed; odd entries given, for their reader to
    record)."""
    if not is_remote(folder):
        if not os.path.isdir(folder):
            return iter(())
        return iter(p for p in walk_local(folder, not skip_meta) if not skip_meta or is_store_data(p, folder))
    FileSystems, BeamIOError = _filesystems()
    try:
        result = FileSystems.match([folder.rstrip("/") + "/**"])[0]
    except BeamIOError:
        return iter(())
    paths = sorted(m.path for m in result.metadata_list)
    return iter(p for p in paths if not skip_meta or is_store_data(p, folder))


def open_bytes(path: str):
    """A binary handle on a file, its bytes as stored (no decompression); a local file must be a regular file
    within the size limit (check_regular), so a FIFO or device raises UnreadableFile instead of hanging."""
    if not is_remote(path):
        return open(check_regular(path), "rb")
    FileSystems, _ = _filesystems()
    return FileSystems.open(path, compression_type="uncompressed")


def read_bytes(path: str) -> bytes:
    with open_bytes(path) as handle:
        return handle.read()


def open_read(path: str):
    """A seekable binary handle on a file, decompressed by its extension (``.gz``, ``.bz2``, ...); a local file
    must be a regular file within the size limit (check_regular)."""
    from apache_beam.io.filesystem import CompressionTypes

    if not is_remote(path):
        check_regular(path)
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
    tmp = _temporary_file(os.path.dirname(path), chunks)
    try:
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _temporary_file(folder: str, chunks) -> str:
    """A complete temporary file (``TMP_PREFIX``: ignored by every reader) in a local folder, holding the chunks:
    its path, for the caller to rename or link into place. Nothing is left behind when writing fails."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX)
    except (FileNotFoundError, NotADirectoryError):  # the folder is made on first need, not checked every file
        os.makedirs(folder, exist_ok=True)  # (and a file in its place fails here, as it always did)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def create_exclusive(path: str, data: bytes) -> bool:
    """Create a whole file only if nothing is at ``path``, atomically: True when this call created it, False when
    the file was already there (another writer won). Local: a complete temporary file hard-linked into place (the
    link fails when the name exists; readers never see half a file). gs://: an upload with the precondition
    ``ifGenerationMatch=0``, which Cloud Storage refuses (412) once the object exists. Other URIs: an existence
    check, then a write (not atomic)."""
    if is_remote(path):
        if path.startswith("gs://"):
            return _gcs_create_exclusive(path, data)
        if exists(path):
            return False
        write_bytes(path, data)
        return True
    tmp = _temporary_file(os.path.dirname(path), (data,))
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: O_EXCL (a reader may then see the file being written)
            try:
                excl = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(excl, "wb") as out:
                out.write(data)
        return True
    finally:
        os.unlink(tmp)


def _gcs_create_exclusive(path: str, data: bytes) -> bool:
    from google.api_core.exceptions import PreconditionFailed

    from pipelines.stores.gcs import storage_client

    bucket, _, name = path[len("gs://"):].partition("/")
    blob = storage_client().bucket(bucket).blob(name)
    if blob.exists():  # also where the precondition is not enforced (the storage emulator ignores it)
        return False
    try:
        blob.upload_from_string(data, content_type="application/octet-stream", if_generation_match=0)
    except PreconditionFailed:
        return False
    return True


def move(source: str, destination: str) -> None:
    """Move a file to another path of the same root (local: an atomic rename; gs://: a server-side copy, then
    the source deleted), replacing what is there."""
    if not is_remote(source):
        try:
            os.replace(source, destination)
        except (FileNotFoundError, NotADirectoryError):  # its folder is made on first need (or the source is gone)
            os.makedirs(os.path.dirname(destination), exist_ok=True)  # a file in its place fails here, as before
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

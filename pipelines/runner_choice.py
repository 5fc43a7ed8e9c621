"""The automatic choice of an in-process run for small sources (issue 21), made before any worker starts.

Beam's ``--direct_num_workers N --direct_running_mode multi_processing`` starts N worker processes, each importing
Beam and the de-identification modules again: about 1.2 s more on a quiet 2-core machine than running in the
launcher's process, which only pays off once the run itself has more than a couple of seconds of work. So a
de-identify command whose source data (every file of the source store, or of the source dataset's stores, run
records left out) is smaller than ``--in-process-below`` MB (default ``options.IN_PROCESS_BELOW_MB``) runs in
this process instead: ``--direct_running_mode=in_memory --direct_num_workers=1`` are appended to Beam's
arguments (the last value wins). The output is the same either way. ``--in-process-below 0`` keeps the workers
asked for.

Measured on this 2-core machine (sample stores, 2 workers against one process, median of 2 runs at load 6-8):
FHIR 0.35 MB 11.5 s / 8.9 s, 1.4 MB 21.0 / 16.4, 5.5 MB 13.3 / 28.4 (the workers win); DICOM 1.1 MB 13.1 / 8.7,
4.5 MB 16.3 / 15.6, 18 MB 18.7 / 16.8; the workers' CPU time was about twice the one process's below 5 MB. FHIR
costs the most per byte, so the default sits between its 1.4 and 5.5 MB measurements.

Only a local store root is measured; a ``gs://`` root or a DICOMweb source keeps the Beam options as given (no
listing at launch), and so does any other runner, a dry run, or a source that is not there (the launch checks
report it).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence

MAX_FILES = 10_000  # more files than this is no small source, whatever their size
IN_PROCESS = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def source_folders(args) -> list[str]:
    """The local folders holding the command's source data; [] when it is not measured (remote, DICOMweb, bad
    names: the launch checks say what is wrong)."""
    from pipelines.launch import ResourceName, resource_path
    from pipelines.stores import store_root
    from transforms.errors import LaunchError

    root = getattr(args, "store_root", None)
    if not root or store_root.is_remote(root) or getattr(args, "source_dicomweb", None):
        return []
    kind = getattr(args, "kind", None)
    try:
        if kind == "datasets":
            name = ResourceName.parse(getattr(args, "source_dataset", None), None, "SOURCE_DATASET")
        else:
            name = ResourceName.parse(getattr(args, "source_store", None), kind, "SOURCE_STORE")
    except LaunchError:
        return []
    path = resource_path(store_root.normalize_root(root), name)
    return [path] if os.path.isdir(path) else []


def smaller_than(folders: Sequence[str], limit: int) -> bool:
    """Whether the data files under ``folders`` (deidflow's ``.deidflow`` folders left out) add up to fewer than
    ``limit`` bytes, in at most MAX_FILES files. Stops listing as soon as the answer is no."""
    from pipelines.stores.store_root import META_DIR, walk_local_unsorted

    total = files = 0
    for folder in folders:
        for path in walk_local_unsorted(folder):
            if f"{os.sep}{META_DIR}{os.sep}" in path[len(folder):]:
                continue  # a dataset's stores' run records
            try:
                info = os.stat(path)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue  # a link back to a folder already walked, a FIFO: no data of its own
            total += info.st_size
            files += 1
            if total >= limit or files > MAX_FILES:
                return False
    return True


def choose(args, beam_args: Sequence[str]) -> list[str]:
    """Beam's arguments for this command: as given, or with the in-process run appended for a small source."""
    from pipelines.local_worker import local_worker_count

    beam_args = list(beam_args)
    limit_mb = getattr(args, "in_process_below", 0) or 0
    if limit_mb <= 0 or getattr(args, "dry_run", False) or local_worker_count(beam_args) < 1:
        return beam_args
    folders = source_folders(args)
    if not folders or not smaller_than(folders, int(limit_mb * 1_000_000)):
        return beam_args
    if not getattr(args, "quiet", False):
        print(f"notice: the source holds less than {limit_mb:g} MB: running in this process, not in "
              f"{local_worker_count(beam_args)} worker processes (--in-process-below 0 starts them)", file=sys.stderr)
    return [*beam_args, *IN_PROCESS]

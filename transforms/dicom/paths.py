"""Destination paths built from UIDs, safe by construction (PS3.5 9.1 UIDs; resolved paths stay in the store)."""

from __future__ import annotations

import functools
import os
import posixpath
import re

from transforms.errors import DeidentifyError

# PS3.5 9.1: components of digits separated by dots, no empty component, no leading zero in a multi-digit
# component, at most 64 characters.
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def is_valid_uid(uid: str) -> bool:
    return len(uid) <= 64 and _UID.fullmatch(uid) is not None


def instance_path(study: str, series: str, sop: str) -> str:
    """``study/series/sop.dcm`` below a store; INVALID_ARGUMENT (naming the attribute) for an invalid UID."""
    for keyword, uid in (("StudyInstanceUID", study), ("SeriesInstanceUID", series), ("SOPInstanceUID", sop)):
        if not is_valid_uid(uid):
            raise DeidentifyError("INVALID_ARGUMENT", f"{keyword} is not a valid UID (PS3.5 9.1)")
    return f"{study}/{series}/{sop}.dcm"


def path_under(root: str, relative: str) -> str:
    """``relative`` joined to the store ``root``; INVALID_ARGUMENT unless the result, resolved, stays below root."""
    parts = relative.split("/")
    if not relative or any(p in ("", ".", "..") for p in parts) or "\\" in relative:
        raise DeidentifyError("INVALID_ARGUMENT", "the destination path would leave the destination store")
    if "://" in root:
        joined = posixpath.join(root, relative)
        base = root.rstrip("/") + "/"
        if not posixpath.normpath(joined.split("://", 1)[1]).startswith(posixpath.normpath(base.split("://", 1)[1]) + "/"):
            raise DeidentifyError("INVALID_ARGUMENT", "the destination path would leave the destination store")
        return joined
    joined = os.path.join(root, *parts)
    resolved_root, resolved = _resolved(root), os.path.realpath(joined)
    if resolved == resolved_root or os.path.commonpath([resolved_root, resolved]) != resolved_root:
        raise DeidentifyError("INVALID_ARGUMENT", "the destination path would leave the destination store")
    return joined


@functools.lru_cache(maxsize=64)
def _resolved(root: str) -> str:
    return os.path.realpath(root)

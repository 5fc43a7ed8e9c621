"""Attribute types per IOD (PS3.3), for the IOD-aware Basic Profile codes X/Z, X/D, X/Z/D and Z/D.

The standard's IOD, module and attribute tables come from highdicom, which ships them as data
(``highdicom/_standard/*.json``, generated from the standard's DocBook). They are read once per process, on first
use, and only the rows of the attributes the caller asks about are kept.
"""

from __future__ import annotations

import bisect
import importlib.util
import json
import os
import re
import threading
from typing import Iterable, Optional

from pydicom.datadict import keyword_for_tag, tag_for_keyword

# Strictest first: when modules of one IOD disagree, the strictest type wins (a dummy is always valid).
_ORDER = {"1": 0, "1C": 1, "2": 2, "2C": 3, "3": 4}
UNKNOWN_CLASS = "?"

_lock = threading.Lock()
_tables: Optional[tuple] = None
_wanted: frozenset[int] = frozenset()


def _standard_dir() -> str:
    spec = importlib.util.find_spec("highdicom")  # the package's data, without importing highdicom itself
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("highdicom is not installed: its IOD tables are needed for the Basic Profile")
    return os.path.join(list(spec.submodule_search_locations)[0], "_standard")


def _load(wanted: frozenset[int]):
    folder = _standard_dir()
    with open(os.path.join(folder, "sop_class_iod_map.json"), encoding="utf-8") as f:
        sop_iod: dict[str, str] = json.load(f)
    with open(os.path.join(folder, "iod_module_map.json"), encoding="utf-8") as f:
        iod_modules = json.load(f)
    module_types = _module_types(os.path.join(folder, "module_attribute_map.json"), wanted)
    iod_types: dict[str, dict[tuple[tuple[int, ...], int], str]] = {}
    mandatory: dict[str, frozenset[str]] = {}
    for iod, entries in iod_modules.items():
        merged: dict[tuple[tuple[int, ...], int], str] = {}
        for entry in entries:
            for key, kind in module_types.get(entry["key"], {}).items():
                if key not in merged or _ORDER[kind] < _ORDER[merged[key]]:
                    merged[key] = kind
        iod_types[iod] = merged
        mandatory[iod] = frozenset(e["key"] for e in entries if e["usage"] == "M")
    return sop_iod, iod_types, mandatory


# A top-level key of module_attribute_map.json (a module's name) starts a line with two spaces of indent. Matched
# on the file's bytes: searching for the literal newline-and-indent is several times faster than a MULTILINE "^"
# over 22 MB of text, and no text is decoded except the names and rows kept.
_MODULE = re.compile(rb'\n  "([^"]+)": \[')


def _module_types(path: str, wanted: frozenset[int]) -> dict[str, dict[tuple[tuple[int, ...], int], str]]:
    """(path, tag) -> type per module, for the wanted attributes only. The file is 22 MB of JSON: the rows are
    picked out of its bytes instead of building every row as Python objects (which costs a worker ~150 MB)."""
    with open(path, "rb") as f:
        data = f.read()
    keywords = sorted(k for k in (keyword_for_tag(t) for t in wanted) if k)
    starts = [(m.start(), m.group(1).decode("utf-8")) for m in _MODULE.finditer(data)]
    module_types: dict[str, dict[tuple[tuple[int, ...], int], str]] = {name: {} for _, name in starts}
    if not starts or not keywords:
        return module_types
    # Starts with its literal key, so the regex engine skips ahead to each candidate row.
    row = re.compile(rb'"keyword": "(' + "|".join(map(re.escape, keywords)).encode("ascii") +
                     rb')",\s*"type": "([^"]*)",\s*"path": \[([^\]]*)\]\s*\}')
    offsets = [start for start, _ in starts]
    for m in row.finditer(data):
        name = starts[bisect.bisect_right(offsets, m.start()) - 1][1]
        kind = m.group(2).decode("utf-8")
        if kind not in _ORDER:
            continue
        tag = tag_for_keyword(m.group(1).decode("ascii"))
        key = (tuple(tag_for_keyword(k) or 0 for k in re.findall(r'"([^"]+)"', m.group(3).decode("utf-8"))), tag)
        rows = module_types[name]
        if key not in rows or _ORDER[kind] < _ORDER[rows[key]]:
            rows[key] = kind
    return module_types


def prepare(tags: Iterable[int]) -> None:
    """Declare which attributes will be asked about (the tables keep only their rows)."""
    global _wanted, _tables
    tags = frozenset(tags)
    with _lock:
        if not tags <= _wanted:
            _wanted = _wanted | tags
            _tables = None


def attribute_type(sop_class: str, path: tuple[int, ...], tag: int) -> Optional[str]:
    """The attribute's type ("1", "1C", "2", "2C", "3") at ``path`` in the IOD of ``sop_class``; None when the IOD
    does not have it; UNKNOWN_CLASS when the SOP class is not one the tables know."""
    sop_iod, iod_types, _ = _get()
    iod = sop_iod.get(sop_class)
    if iod is None or iod not in iod_types:
        return UNKNOWN_CLASS
    return iod_types[iod].get((path, tag))


def has_module(sop_class: str, module: str) -> Optional[bool]:
    """Whether the IOD of ``sop_class`` has ``module`` as mandatory; None for an unknown SOP class."""
    sop_iod, _, mandatory = _get()
    iod = sop_iod.get(sop_class)
    if iod is None or iod not in mandatory:
        return None
    return module in mandatory[iod]


def _get() -> tuple:
    global _tables
    tables = _tables
    if tables is None:
        with _lock:
            if _tables is None:
                _tables = _load(_wanted)
            tables = _tables
    return tables


def snapshot() -> tuple:
    """The tables for the attributes prepared so far (read now if not yet), to hand to other processes: a
    pipeline reads them once at launch and its workers ``install`` them instead of each reading 22 MB."""
    with _lock:
        wanted = _wanted
    return wanted, _get()


def install(tables: tuple) -> None:
    """Use tables another process read (``snapshot``) unless they lack an attribute prepared here."""
    global _wanted, _tables
    wanted, loaded = tables
    with _lock:
        if _tables is None and _wanted <= wanted:
            _wanted, _tables = wanted, loaded

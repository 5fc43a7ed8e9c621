"""The IOD tables read from highdicom's data: the text scan that keeps a worker small reads what JSON says."""

from __future__ import annotations

import json
import os

from pydicom.datadict import tag_for_keyword

from transforms.dicom import iod
from transforms.dicom.policy import IOD_CODES


def test_scanned_rows_equal_the_json_rows():
    path = os.path.join(iod._standard_dir(), "module_attribute_map.json")
    wanted = frozenset(IOD_CODES)
    scanned = iod._module_types(path, wanted)
    with open(path, encoding="utf-8") as f:
        modules = json.load(f)
    expected: dict = {}
    for name, attributes in modules.items():
        rows: dict = {}
        for attribute in attributes:
            tag, kind = tag_for_keyword(attribute["keyword"]), attribute["type"]
            if tag is None or tag not in wanted or kind not in iod._ORDER:
                continue
            key = (tuple(tag_for_keyword(k) or 0 for k in attribute["path"]), tag)
            if key not in rows or iod._ORDER[kind] < iod._ORDER[rows[key]]:
                rows[key] = kind
        expected[name] = rows
    assert scanned == expected
    assert sum(len(rows) for rows in scanned.values()) > 100


def test_types_from_the_standard():
    ct, sr = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.88.11"
    assert iod.attribute_type(ct, (), tag_for_keyword("ReferencedStudySequence")) == "3"  # General Study
    assert iod.attribute_type(sr, (), tag_for_keyword("ContentDate")) == "1"  # SR Document General
    assert iod.attribute_type("1.2.3.4", (), tag_for_keyword("ContentDate")) == iod.UNKNOWN_CLASS
    assert iod.has_module(ct, "image-pixel") is True

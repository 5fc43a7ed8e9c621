"""Checks on the PS3.15 Table E.1-1 data module."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from transforms.dicom.basic_profile import EDITION, OPTION_COLUMNS, ROWS, ProfileRow

# Rows of Table E.1-1 (2026d), including the "Private Attributes" row: the 621 of 2024b and 36 added since.
SOURCE_ROW_COUNT = 657

BASIC_CODES = {"D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"}
OPTION_CODES = {"K", "C"}
TAG_RE = re.compile(r"[0-9A-FX]{8}")
PRIVATE_ROW_TAG = "GGGGEEEE"  # "(gggg,eeee) where gggg is odd"


def _by_tag() -> dict[str, ProfileRow]:
    return {row.tag: row for row in ROWS}


def test_edition_named():
    assert EDITION == "DICOM PS3.15 2026d Table E.1-1"


def test_row_count_matches_source():
    assert len(ROWS) == SOURCE_ROW_COUNT


def test_rows_decide_the_basic_profile_action_of_their_tag():
    # behaviour, not row types: each concrete row's PS3.15 code is what the compiled Basic policy does to the
    # tag (compound codes decided per IOD at the instance, README's IOD rule; sequences coded D keep their items,
    # which the table de-identifies: DUMMY on a sequence)
    from transforms.dicom.policy import Act, compile_dicom_policy, element_vr

    expected = {"X": Act.DELETE, "Z": Act.EMPTY, "D": Act.DUMMY, "U": Act.REGEN_UID, "K": Act.KEEP,
                "C": Act.CLEAN_TEXT, "Z/D": Act.BY_IOD, "X/Z": Act.BY_IOD, "X/D": Act.BY_IOD, "X/Z/D": Act.BY_IOD,
                "X/Z/U*": Act.RECURSE}
    policy = compile_dicom_policy(None)
    checked = 0
    for row in ROWS:
        if not re.fullmatch(r"[0-9A-F]{8}", row.tag):
            continue
        tag = int(row.tag, 16)
        vr = element_vr(tag)
        assert policy.action(tag, vr) is expected[row.basic], (row.tag, row.basic)
        checked += 1
    assert checked > 600
    assert policy.action(0x00100010, "PN") is Act.EMPTY  # PatientName: Z
    with pytest.raises(Exception):
        ROWS[0].basic = "K"  # frozen


def test_basic_codes_allowed():
    bad = [(row.tag, row.basic) for row in ROWS if row.basic not in BASIC_CODES]
    assert bad == []


def test_option_columns_and_codes_allowed():
    for row in ROWS:
        columns = [column for column, _ in row.options]
        assert len(columns) == len(set(columns)), row.tag
        assert all(column in OPTION_COLUMNS for column in columns), row.tag
        # in the standard's column order
        assert columns == sorted(columns, key=OPTION_COLUMNS.index), row.tag
        assert all(code in OPTION_CODES for _, code in row.options), row.tag


def test_tags_unique_well_formed_and_sorted():
    tags = [row.tag for row in ROWS]
    assert len(tags) == len(set(tags))
    malformed = [t for t in tags if not TAG_RE.fullmatch(t) and t != PRIVATE_ROW_TAG]
    assert malformed == []
    assert tags == sorted(tags)
    # wildcard rows only use X in the positions the standard does
    assert sorted(t for t in tags if "X" in t) == ["50XXXXXX", "60XX3000", "60XX4000"]


def test_names_clean():
    for row in ROWS:
        assert row.name and row.name == row.name.strip() and "\n" not in row.name, row.tag


@pytest.mark.parametrize(
    "tag, name, basic, options",
    [
        ("00100010", "Patient's Name", "Z", ()),
        # Patient ID became Z/D in 2024b (it was Z up to 2024a).
        ("00100020", "Patient ID", "Z/D", ()),
        ("0020000D", "Study Instance UID", "U", (("retain_uids", "K"),)),
        ("00080050", "Accession Number", "Z", ()),
        (
            "00080023",
            "Content Date",
            "Z/D",
            (("retain_long_full_dates", "K"), ("retain_long_modified_dates", "C")),
        ),
        ("00081155", "Referenced SOP Instance UID", "U", (("retain_uids", "K"),)),
        ("50XXXXXX", "Curve Data", "X", (("clean_graphics", "C"),)),
        ("60XX3000", "Overlay Data", "X", (("clean_graphics", "C"),)),
        ("60XX4000", "Overlay Comments", "X", (("clean_graphics", "C"),)),
        ("FFFAFFFA", "Digital Signatures Sequence", "X", ()),
        ("FFFCFFFC", "Data Set Trailing Padding", "X", ()),
        ("00001000", "Affected SOP Instance UID", "X", (("retain_uids", "K"),)),
        ("00100030", "Patient's Birth Date", "Z", ()),
        ("00100040", "Patient's Sex", "Z", (("retain_patient_characteristics", "K"),)),
        ("00101010", "Patient's Age", "X", (("retain_patient_characteristics", "K"),)),
        ("00080080", "Institution Name", "X/Z/D", (("retain_institution_identity", "K"),)),
        ("00081010", "Station Name", "X/Z/D", (("retain_device_identity", "K"),)),
        ("00181000", "Device Serial Number", "X/Z/D", (("retain_device_identity", "K"),)),
        ("00081140", "Referenced Image Sequence", "X/Z/U*", (("retain_uids", "K"),)),
        ("0040A730", "Content Sequence", "D", (("clean_structured_content", "C"),)),
        ("00880200", "Icon Image Sequence", "X", ()),
        (PRIVATE_ROW_TAG, "Private Attributes", "X", (("retain_safe_private", "C"),)),
    ],
)
def test_spot_checks(tag, name, basic, options):
    row = _by_tag()[tag]
    assert (row.name, row.basic, row.options) == (name, basic, options)


def test_code_totals():
    # Totals of the 2026d table (2024b: X 384, D 92, U 54, X/D 22; 36 rows added since); a change here means the
    # rows were edited.
    assert Counter(row.basic for row in ROWS) == {
        "X": 417, "D": 93, "U": 55, "Z": 42, "X/D": 23,
        "X/Z": 11, "X/Z/D": 8, "Z/D": 6, "X/Z/U*": 2,
    }
    per_column = Counter(column for row in ROWS for column, _ in row.options)
    assert per_column == {
        "retain_safe_private": 1, "retain_uids": 60, "retain_device_identity": 59,
        "retain_institution_identity": 10, "retain_patient_characteristics": 19,
        "retain_long_full_dates": 169, "retain_long_modified_dates": 169,
        "clean_descriptors": 139, "clean_structured_content": 3, "clean_graphics": 4,
    }


@pytest.mark.parametrize("tag,code", [
    ("00400556", "X"), ("003A0203", "X"), ("003A020C", "X"), ("003A0020", "X"), ("00181011", "X"),
    ("00181010", "X"), ("00102161", "X"), ("300A0054", "U"), ("00700006", "D"),
])
def test_rows_issue_15_names_from_the_current_edition(tag, code):
    """Issue 15: rows the 2024b table lacked, which the current edition (2026c and later) has."""
    assert _by_tag()[tag].basic == code


def test_pydicom_dictionary_knows_the_tags():
    from pydicom import datadict  # a hard dependency: never skipped

    concrete = [row for row in ROWS if TAG_RE.fullmatch(row.tag) and "X" not in row.tag]
    assert len(concrete) == len(ROWS) - 4  # 3 wildcard rows and the private row
    unknown = [row.tag for row in concrete if not datadict.dictionary_has_tag(int(row.tag, 16))]
    print(f"{len(unknown)} of {len(concrete)} tags unknown to pydicom.datadict: {unknown}")
    assert len(unknown) < 0.05 * len(ROWS)

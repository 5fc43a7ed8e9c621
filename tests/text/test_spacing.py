"""Spacing is layout: odd spaces and doubled spaces do not hide a name.

Each test names the broken code it catches.
"""

from __future__ import annotations

from transforms.text import detect


def found(text: str) -> list[tuple[str, str]]:
    return [(f.info_type, text[f.start : f.end]) for f in detect(text)]


def test_no_break_spaces_join_a_name_as_spaces_do():
    # Catches: _ODD_SPACES not applied (only "John" was found, "Smith" left in the text), or a swap that
    # changes the text's length (the span would not cover "Smith" as written).
    assert found("Dr.\u00a0John\u00a0Smith saw pt") == [("PERSON_NAME", "John\u00a0Smith")]
    assert found("Referred by Dr.\u2009Jones\u202fWalker today") == [("PERSON_NAME", "Jones\u202fWalker")]


def test_a_name_typed_with_two_spaces_is_found_whole():
    # Catches: the second name pass over the squeezed text missing, or its spans not mapped back (an end
    # short of "Smith" or past it).
    assert found("Patient: John  Smith") == [("PERSON_NAME", "John  Smith")]
    assert found("Patient:   Mary    Okafor   was seen") == [("PERSON_NAME", "Mary    Okafor")]


def test_a_column_gap_still_ends_the_name():
    # Catches: every run of spaces squeezed for all detectors (the name then ran into the next column's words
    # and was lost).
    text = "Patient: Leonardo Caldwell   Medical Record 1234567"
    assert found(text) == [("PERSON_NAME", "Leonardo Caldwell"), ("MEDICAL_RECORD_NUMBER", "1234567")]


def test_an_organisation_with_a_doubled_space_is_no_crash():
    # Catches: an organisation head split on single spaces and read by w[0] (IndexError on the empty word
    # between two spaces: the whole text failed).
    assert detect("Seen at Riverside Urgent  Care.") is not None
    assert detect("SEEN AT ST  MARY  HOSPITAL  ER") is not None

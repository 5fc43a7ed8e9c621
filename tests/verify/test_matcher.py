"""The matcher's rules: case and charset, minimum lengths, boundaries, placeholders, per-patient dates."""

from __future__ import annotations

from transforms.verify.identifiers import DATE, ID, PERSON_NAME, SCOPE, UID, Identifier, date_spellings, phone_spellings
from transforms.verify.matcher import IdentifierMatcher


def cats(matcher, text, scope=""):
    return [m.category for m in matcher.find_text(text, scope)]


def test_names_match_case_insensitively_and_in_utf8_and_latin1_bytes():
    m = IdentifierMatcher([Identifier("Müller", PERSON_NAME, "PatientName (0010,0010)")])
    assert cats(m, "seen by MÜLLER today") == [PERSON_NAME]
    assert cats(m, "seen by mÜlLeR today") == [PERSON_NAME]  # any mix of cases, not only the three spellings
    assert m.find_bytes("x Müller y".encode("latin-1"))
    assert m.find_bytes("x Müller y".encode("utf-8"))
    assert not m.find_text("Mueller")


def test_short_words_need_word_boundaries_and_tiny_or_common_words_are_not_searched():
    m = IdentifierMatcher([Identifier("Doe", PERSON_NAME, "o"), Identifier("Li", PERSON_NAME, "o"),
                           Identifier("Brown", PERSON_NAME, "o"), Identifier("Brown^Li", PERSON_NAME, "o")])
    assert cats(m, "Doe^Jane") == [PERSON_NAME]
    assert cats(m, "Doering") == []
    assert cats(m, "Li said") == []  # two letters: never searched alone
    assert cats(m, "a brown fox") == []  # an everyday word: not searched alone
    assert cats(m, "BROWN^LI") == [PERSON_NAME]  # the whole name still is


def test_numbers_never_match_inside_longer_numbers_or_uids():
    m = IdentifierMatcher([Identifier("7310037", ID, "PatientID"), Identifier("1.2.3.4.5", UID, "StudyInstanceUID")])
    assert cats(m, "MRN7310037") == [ID]  # letters before a number are a boundary
    assert cats(m, "97310037") == [] and cats(m, "73100371") == []
    assert cats(m, "2.25.7310037") == []  # after a '.', it is part of a UID
    assert cats(m, "1.2.3.4.5") == [UID] and cats(m, "11.2.3.4.5") == [] and cats(m, "1.2.3.4.56") == []


def test_placeholders_and_short_ids_are_not_searched():
    m = IdentifierMatcher([Identifier("ANONYMIZED", PERSON_NAME, "o"), Identifier("19000101", DATE, "o"),
                           Identifier("S12", ID, "o"), Identifier("12345", ID, "o")])
    assert m.size == 0
    assert m.find_text("ANONYMIZED 19000101 S12 12345") == []


def test_dates_in_dicom_iso_and_us_spellings_and_dicom_dates_inside_datetimes():
    assert set(date_spellings("19610314")) >= {"19610314", "1961-03-14", "03/14/1961", "3/14/1961"}
    m = IdentifierMatcher([Identifier(s, DATE, "PatientBirthDate") for s in date_spellings("1961-03-14")])
    for text in ("born 03/14/1961.", "19610314", "1961-03-14T10:00", "19610314101500", "DOB 3/14/1961"):
        assert cats(m, text) == [DATE], text
    assert cats(m, "103/14/19610") == []


def test_dates_are_matched_per_patient_when_the_destination_scope_is_known():
    ids = [Identifier("20230115", DATE, "StudyDate", "patient-a"), Identifier("2.25.1", SCOPE, "", "patient-a"),
           Identifier("2.25.2", SCOPE, "", "patient-b")]
    m = IdentifierMatcher(ids)
    assert cats(m, "20230115", m.scope_of("2.25.1")) == [DATE]
    assert cats(m, "20230115", m.scope_of("2.25.2")) == []  # another patient's shifted date may collide
    assert cats(m, "20230115", m.scope_of("unknown")) == [DATE]  # unknown: matched everywhere


def test_phone_spellings():
    assert set(phone_spellings("(617) 555-1013")) >= {"(617) 555-1013", "6175551013", "617-555-1013"}


def test_an_empty_identifier_set_finds_nothing():
    assert IdentifierMatcher([]).find_text("anything") == []

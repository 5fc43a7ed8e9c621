"""The detectors' cheap gates never hide a value at the edge of what they let through, and FindingMemo returns
what detection without it returns: context phrases per call, infoTypes and exclusions part of the key."""

import pickle

import pytest

from transforms.text import detect
from transforms.text.detectors import FindingMemo


def _found(text, info_types, **kw):
    return [(text[f.start : f.end], f.info_type) for f in detect(text, frozenset(info_types), **kw)]


# Each value is the smallest its gate lets through: four digits in a row (SSN, ITIN, card, NANP phone, a year),
# ten (a bare phone number), seven in all (a phone number after its cue), five in all (an MBI), one separator
# (MAC), a time without a colon, a ZIP+4, the label in capitals or beside a character lower() does not keep
# one for one ("İ").
EDGE_CASES = [
    ("123-45-6789", "US_SOCIAL_SECURITY_NUMBER", "123-45-6789"),
    ("SSN 123456789", "US_SOCIAL_SECURITY_NUMBER", "123456789"),
    ("ITIN 912-70-1234", "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER", "912-70-1234"),
    ("card 4111 1111 1111 1111", "CREDIT_CARD_NUMBER", "4111 1111 1111 1111"),
    ("ring (617) 555-0199", "PHONE_NUMBER", "(617) 555-0199"),
    ("call 12 34 56 78 tonight", "PHONE_NUMBER", "12 34 56 78"),
    ("reach him at 2125550199", "PHONE_NUMBER", "2125550199"),
    ("moved here in 1998", "DATE", "1998"),
    ("MBI 1EG4-TE5-MK73", "US_MEDICARE_BENEFICIARY_ID_NUMBER", "1EG4-TE5-MK73"),
    ("MAC 00:1a:2b:3c:4d:5e", "MAC_ADDRESS", "00:1a:2b:3c:4d:5e"),
    ("MAC 0a1b.2c3d.4e5f", "MAC_ADDRESS", "0a1b.2c3d.4e5f"),
    ("P.O. Box 123", "STREET_ADDRESS", "P.O. Box 123"),
    ("P.O. BOX 123", "STREET_ADDRESS", "P.O. BOX 123"),
    ("İ P.O. Box 123", "STREET_ADDRESS", "P.O. Box 123"),
    ("SWIFT: DEUTDEFF500", "SWIFT_CODE", "DEUTDEFF500"),
    ("plate ABC 1234", "US_VEHICLE_IDENTIFICATION_NUMBER", "ABC 1234"),
    ("PLATE ABC 1234", "US_VEHICLE_IDENTIFICATION_NUMBER", "ABC 1234"),
    ("Springfield, IL 62704", "LOCATION", "Springfield, IL 62704"),
    ("SCOUT 00301314 AX", "GENERIC_ID", "00301314"),
    ("seen at 3 pm", "TIME", "3 pm"),
    ("back by 11a.m.", "TIME", "11a.m."),
    ("Boston, MA 02115-1234", "LOCATION", "Boston, MA 02115-1234"),
]


@pytest.mark.parametrize(("text", "info_type", "value"), EDGE_CASES)
def test_gate_lets_the_smallest_value_through(text, info_type, value):
    assert (value, info_type) in _found(text, {info_type})


def test_short_digit_runs_are_no_ssn_phone_or_card():
    assert _found("BP 120/80, HR 72, 5/5 strength", {"US_SOCIAL_SECURITY_NUMBER", "PHONE_NUMBER",
                                                      "CREDIT_CARD_NUMBER"}) == []  # fmt: skip


TEXT = "Seen by Dr. Alice Smith on 03/14/2021, MRN 00812345."


def test_memo_keeps_context_out():
    memo = FindingMemo()
    with_ctx = _found(TEXT, {"DATE"}, context=("Smith",), memo=memo)
    without = _found(TEXT, {"DATE"}, memo=memo)
    other = _found(TEXT, {"DATE"}, context=("Alice",), memo=memo)
    assert with_ctx == [("Smith", "CTX"), ("03/14/2021", "DATE")]
    assert without == [("03/14/2021", "DATE")]
    assert other == [("Alice", "CTX"), ("03/14/2021", "DATE")]
    assert memo.hits == 2


def test_memo_keys_by_info_types_and_exclusions():
    memo = FindingMemo()
    assert _found(TEXT, {"DATE"}, memo=memo) == [("03/14/2021", "DATE")]
    assert _found(TEXT, {"MEDICAL_RECORD_NUMBER"}, memo=memo) == [("00812345", "MEDICAL_RECORD_NUMBER")]
    both = {"DATE", "MEDICAL_RECORD_NUMBER"}
    assert _found(TEXT, both, memo=memo) == [("03/14/2021", "DATE"), ("00812345", "MEDICAL_RECORD_NUMBER")]
    assert _found(TEXT, both, exclude=frozenset({"DATE"}), memo=memo) == [("00812345", "MEDICAL_RECORD_NUMBER")]
    assert memo.hits == 0


def test_memo_is_bounded_and_a_pickled_copy_starts_empty():
    memo = FindingMemo(max_entries=2, max_chars=40)
    for text in ("on 03/14/2021", "on 04/14/2021", "on 05/14/2021", "x" * 41 + " on 05/14/2021"):
        detect(text, frozenset({"DATE"}), memo=memo)
        assert len(memo) <= 2
    detect("on 05/14/2021", frozenset({"DATE"}), memo=memo)
    assert memo.hits == 1
    copy = pickle.loads(pickle.dumps(memo))
    assert len(copy) == 0 and copy.max_entries == 2 and copy.max_chars == 40


def test_context_terms_are_found_whatever_their_case_and_spacing() -> None:
    # catches the first-word pre-check of context_findings asked of the written text or term instead of their
    # lower case (the upper-case name would be skipped), or of a later word
    from transforms.text.context import context_findings

    text = "Seen JOHN  SMITH on 03/04/1999; Smith, John called."
    spans = [text[s:e] for s, e in context_findings(text, ["Smith^John", "19990304"])]
    assert spans == ["JOHN  SMITH", "03/04/1999", "Smith, John"]

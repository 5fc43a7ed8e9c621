"""[CTX] search terms (transforms.text.context): the terms of context values and their alternation order.

The terms are built from per-value entries and per-date spellings, cached apart and merged: these expectations are
written out by hand (longest first, then by code point), not computed with the code under test.
"""

from __future__ import annotations

from transforms.text.context import _terms, context_findings, context_terms

# 1985-03-04: one-digit month and day, so each of the 23 spellings is distinct.
MARCH_4_1985 = [
    "March 4, 1985",  # 13 characters
    "4 March 1985", "Mar. 4, 1985", "March 4 1985",  # 12
    "04 Mar 1985", "04-Mar-1985", "Mar 4, 1985",  # 11
    "03-04-1985", "03/04/1985", "04-03-1985", "04.03.1985", "04/03/1985", "1985-03-04", "1985.03.04",
    "1985/03/04", "4 Mar 1985", "4-Mar-1985", "Mar 4 1985",  # 10
    "04-Mar-85",  # 9
    "03/04/85", "19850304", "3/4/1985",  # 8
    "3/4/85",  # 6
]  # fmt: skip


# Catches: a date's spellings dropped, duplicated or sorted other than longest first then by code point (the
# merge of cached per-date entries).
def test_date_spellings_in_alternation_order():
    assert context_terms(["1985-03-04"]) == MARCH_4_1985
    assert context_terms(["19850304"]) == MARCH_4_1985
    assert context_terms([19850304]) == MARCH_4_1985  # a value that is not a string is searched as its str()


# Catches: two-digit month and day spellings that coincide (12/25/1999 twice) kept twice; the lowered words of a
# date's spellings wrong (those without letters are taken as one lowered word without lower() or split()).
def test_two_digit_date_spellings_once_with_their_words():
    terms = dict(_terms(("1999-12-25",)))
    assert len(terms) == 19
    assert terms["12/25/1999"] == ("12/25/1999",)
    assert terms["12/25/99"] == ("12/25/99",)
    assert terms["25-Dec-99"] == ("25-dec-99",)
    assert terms["Dec. 25, 1999"] == ("dec.", "25,", "1999")
    assert terms["25 December 1999"] == ("25", "december", "1999")


# Catches: the merge of several values' cached entries (order, a term of two values kept once); a PN's components
# and swapped forms; a value's trailing comma kept; words of a longer value that are not distinctive searched.
def test_several_values_merged_in_order():
    values = ["DOE^JANE", "Blood Bank of Springfield", "Smith,", "ab12", "x1"]
    expected = ["Blood Bank of Springfield", "Springfield", "DOE, JANE", "DOE JANE", "DOE^JANE", "JANE DOE", "Smith",
                "JANE", "ab12", "DOE"]  # fmt: skip
    assert context_terms(values) == expected
    assert context_terms(list(reversed(values))) == expected
    assert context_terms(values + ["Springfield", "DOE"]) == expected


# Catches: a remembered "is this term searched" answer reused for the other kind of term: "Avenue" is searched as a
# whole value but not as one word of a longer value.
def test_a_word_searched_as_a_whole_value_not_as_part_of_one():
    assert context_terms(["Avenue Xyzzyq"]) == ["Avenue Xyzzyq", "Xyzzyq"]
    assert context_terms(["Avenue"]) == ["Avenue"]
    assert context_terms(["Avenue Xyzzyq", "Avenue"]) == ["Avenue Xyzzyq", "Avenue", "Xyzzyq"]
    assert context_terms(["Avenue Xyzzyq"]) == ["Avenue Xyzzyq", "Xyzzyq"]


# Catches: a long value (its entries not cached) searched differently from a short one.
def test_long_value_found_like_a_short_one():
    long_value = "Xyzzyq " + "Qwertz " * 60 + "Springfield"
    text = "seen at Springfield by xyzzyq"
    assert [text[s:e] for s, e in context_findings(text, (long_value,))] == ["Springfield", "xyzzyq"]
    assert [text[s:e] for s, e in context_findings(text, ("Xyzzyq Springfield",))] == ["Springfield", "xyzzyq"]


# Catches: a term's lowered words taken as one word when it holds white space other than a space (a tab), or
# computed for a term that is not ASCII (matched with a pattern, not literally: its words are None).
def test_lowered_words_of_a_term():
    terms = dict(_terms(("Xyzzyq\tQwertz", "Müllerová", "MRN12345")))
    assert terms["Xyzzyq\tQwertz"] == ("xyzzyq", "qwertz")
    assert terms["Xyzzyq"] == ("xyzzyq",)
    assert terms["Müllerová"] is None
    assert terms["MRN12345"] == ("mrn12345",)

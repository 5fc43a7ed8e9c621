"""Detection that generalises beyond the tuning split: cue words, structure, scripts, legal forms and spelling rules.

Every expected span is a literal written from general knowledge of clinical text and the categories, never
computed by the detector. Each case names the broken behaviour it catches.
"""

import pytest

from transforms.text import detect
from transforms.text.caseless import lowered
from transforms.text.names import _is_common

DEFAULT = frozenset({"PERSON_NAME", "DATE", "LOCATION", "GENERIC_ID", "MEDICAL_RECORD_NUMBER"})


def spans(text, types=DEFAULT):
    return [(text[f.start : f.end], f.info_type) for f in detect(text, types)]


@pytest.mark.parametrize(
    "text,name",
    [
        # a census first name right after a relative or a nurse, in lower case (was: taken as the word "bill")
        ("pt's son, bill, called twice.", "bill"),
        ("wife, rose, left phone number.", "rose"),
        ("NP grace made aware.", "grace"),
        # a title then two lower-case words: both are the name (was: "bob" only)
        ("pt seen by dr. bob culhane today", "bob culhane"),
        # the second capitalised word after a title, although a dictionary word (was: "Ferdinand" only)
        ("Dr Ferdinand Halfpenny spoke with the family.", "Ferdinand Halfpenny"),
        # Vancouver-style initials after the surname (was: "Williams", leaving "AP")
        ("Signed by Williams AP.", "Williams AP"),
        # names written in scripts without capitals, inside an English note (was: nothing)
        ("Spoke with 直樹 林 regarding the results.", "直樹 林"),
        ("Pt 주원 조 ambulating in hall.", "주원 조"),
        ("Referring physician: אמילי קוגן.", "אמילי קוגן"),
        # a Vietnamese surname is no particle "le" (was: "Jane" only)
        ("Spoke with Jane Lê regarding the results.", "Jane Lê"),
        # a surname that only looks like a plural ("nun" + "es"): English writes "nuns" (was: an everyday word)
        ("CT HEAD WO DR NUNES", "NUNES"),
    ],
)
def test_names_by_cue_structure_and_script(text, name):
    assert (name, "PERSON_NAME") in spans(text)


@pytest.mark.parametrize(
    "text",
    [
        "Pt tolerated the procedure well. NP aware.",  # no name after the nurse: nothing
        "Son will visit tomorrow.",  # "will" is a function word, not the name Will
        "PATIENT EXTUBATED AT 1755 TODAY.",  # an unknown word ending like a verb is no name
        "Knee X-ray 3 views. Mental health care plan.",
        "这是一份中文报告。",  # a note written in that script: its words are not names by script alone
    ],
)
def test_no_name_without_evidence(text):
    assert [s for s in spans(text) if s[1] == "PERSON_NAME"] == []


@pytest.mark.parametrize(
    "text,org",
    [
        ("Works at Müller GmbH & Co. KG as an accountant.", "Müller GmbH & Co. KG"),
        ("Rossi S.p.A. is the employer.", "Rossi S.p.A."),
        ("Works for Kowalski sp. z o.o.", "Kowalski sp. z o.o."),
        ("Employer: Nielsen A/S", "Nielsen A/S"),
        ("Dupont et Fils reported a new policy.", "Dupont et Fils"),
        ("transferred from sacred heart hospital this afternoon.", "sacred heart hospital"),
        ("went to holy cross hosp. for fever", "holy cross hosp."),
        ("discharged to st. agnes hospital", "st. agnes hospital"),
    ],
)
def test_organisations_by_legal_form_and_lower_case_facility(text, org):
    assert (org, "LOCATION") in spans(text)


@pytest.mark.parametrize(
    "text",
    [
        "transferred from outside hospital",
        "pt came from rehab hospital",
        "pt's wife called the hospital",
        "returned to nursing home",
        "CONT DIURESIS AS ORDERED. TITRATE LEVO AS TOLERATED.",  # "AS" is a word in capitals, not a legal form
        "CT ABD SA 4 mm",
    ],
)
def test_generic_facilities_and_capital_words_are_not_organisations(text):
    assert [s for s in spans(text) if s[1] == "LOCATION"] == []


@pytest.mark.parametrize(
    "text,date",
    [
        ("PMH: S/P MI 10/16, S/P CABG 3/23", "10/16"),
        ("last cx 3/23 in am.", "3/23"),
        ("Readmitted to CCU 9/29 from cath lab.", "9/29"),
    ],
)
def test_month_day_when_the_day_cannot_be_a_small_fraction(text, date):
    assert (date, "DATE") in spans(text)


@pytest.mark.parametrize("text", ["Strength 5/5 in all extremities.", "2/6 systolic murmur.", "Pain 8/10.",
                                  "BP 120/80."])  # fmt: skip
def test_fractions_scores_and_pressures_are_not_dates(text):
    assert [s for s in spans(text) if s[1] == "DATE"] == []


def test_inflection_rules_follow_english_spelling():
    # real inflections stay everyday words; names that only look inflected do not
    assert [_is_common(w) for w in ("denies", "started", "bleeding", "wider", "boxes")] == [True, True, True, True,
                                                                                          False]  # fmt: skip
    assert [_is_common(w) for w in ("nunes", "huber", "hayes", "morales")] == [False, False, False, False]


def test_lowered_text_memo_is_per_text():
    assert lowered("ABC") == "abc"
    assert lowered("XYZ") == "xyz"
    assert lowered("ABC") == "abc"
    assert lowered("İ") is None  # lower() gives two characters: the case-insensitive pattern is used instead

"""The detectors' faster pattern forms find what the plain forms find: patterns that start with their first
character class instead of a look-behind, the tighter gates (a whole month word, a 19xx/20xx year, each age
phrase's own cue, a state-name trie), the date patterns picked per gate combination, the bare-ID scan of tokens
with five digits, the per-selection reporting table and resolve. Expectations are written by hand or come from
the plain patterns as they were before (copied here, not imported)."""

import re

import pytest

from tests.text.salad import word_salad
from transforms.text import detect
from transforms.text import detectors as d
from transforms.text.detectors import Finding, resolve


def _found(text, info_types, **kw):
    return [(text[f.start : f.end], f.info_type) for f in detect(text, frozenset(info_types), **kw)]


def _spans(pattern, text):
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


# --- the class-first forms against the plain look-behind-first forms ---------------------------------------

_MON = r"(?:september|february|november|december|january|october|august|march|april|sept|june|july|jan|feb|mar" \
       r"|apr|may|jun|jul|aug|sep|oct|nov|dec)"  # fmt: skip
PLAIN = {
    "_ITIN": r"(?<![\w-])9\d{2}([- ]?)(?:5\d|6[0-5]|7\d|8[0-8]|9[0-2]|9[4-9])\1\d{4}(?![\w-])",
    "_CARD": r"(?<![\w-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w-])",
    "_MBI": r"(?<![\w-])[1-9][AC-HJKMNP-RT-Yac-hjkmnp-rt-y][AC-HJKMNP-RT-Yac-hjkmnp-rt-y0-9]\d-?"
    r"[AC-HJKMNP-RT-Yac-hjkmnp-rt-y][AC-HJKMNP-RT-Yac-hjkmnp-rt-y0-9]\d-?[AC-HJKMNP-RT-Yac-hjkmnp-rt-y]{2}\d{2}"
    r"(?![\w-])",
    "_AGE_DICOM": r"(?<![\w])\d{3}[DWMY](?![\w])",
    "_AGE_NUMBER": r"(?<!\d)(?:9\d|1[01]\d|12[0-5])(?!\d)",
    "_YEAR_RUN": r"(?<!\d)(?:19|20)\d\d(?!\d)",
    "DATE1": r"(?<![\w.])(?:19|20)\d{2}([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])"
    r"(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w])",
    "DATE2": r"(?<![\w./-])(?:[0-3]?\d)([/.-])(?:[0-3]?\d)\1(?:(?:19|20)\d{2}|\d{2})(?![\w]|[./-]\d)",
    "DATE6": r"(?<![\w./-])(?:19|20)\d{2}-(?:0[1-9]|1[0-2])(?![\w]|[-/.]\d)",
    "DATE8": r"(?<![\w./-])(?:0?[1-9]|1[0-2])[/.-](?:19|20)\d{2}(?![\w]|[./-]\d)",
}


def _fast(name):
    return d._DATE_PATTERNS[int(name[4:])] if name.startswith("DATE") else getattr(d, name)


_WORDS = (
    "1956-09-16 1956/09/16 2019.03.04 19991231 3/14/2021 14.03.2021 03-14-21 2021-03 12/2019 05.2019 13/2019 "
    "0/2019 10-1999 1/1/99 31/12/20 1998 2000 2099 1899 3000 20 19 912-70-1234 912 70 1234 9127012345 "
    "4111 1111 1111 1111 4111111111111111 1EG4-TE5-MK73 1EG4TE5MK73 045Y 012M 102D 7W 96 90 89 125 126 119 "
    "1200 x a Q é ١٢٣ ٢٠١٩ ６１ _ - / . , : ( ) T10:15 T10:15:00Z +05:00"
).split(" ")
_SEPARATORS = [" ", " ", "", "-", "/", ".", ",", ":", "\n", "x", "_"]


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_class_first_forms_match_what_the_plain_forms_match(name):
    # catches a look-behind moved past the first character that sees the wrong character (or none at the start
    # of the text), an alternative reordered or lost, a capturing group renumbered
    plain, fast = re.compile(PLAIN[name]), _fast(name)
    for text in word_salad(_WORDS, _SEPARATORS, 3000, 21) + [w for w in _WORDS if w]:
        assert _spans(fast, text) == _spans(plain, text), text


@pytest.mark.parametrize(
    ("name", "text", "spans"),
    [
        ("_ITIN", "912-70-1234", [(0, 11)]),  # at the very start: nothing before it
        ("_ITIN", "x912-70-1234", []),  # a letter before
        ("_ITIN", "-912-70-1234", []),
        ("_ITIN", "(912 70 1234)", [(1, 12)]),
        ("_CARD", "4111 1111 1111 1111", [(0, 19)]),
        ("_CARD", "A4111111111111111", []),
        ("_MBI", "1EG4-TE5-MK73", [(0, 13)]),
        ("_MBI", "X1EG4-TE5-MK73", []),
        ("_AGE_DICOM", "045Y", [(0, 4)]),
        ("_AGE_DICOM", "1045Y", []),  # "045Y" after a digit
        ("_AGE_NUMBER", "96", [(0, 2)]),
        ("_AGE_NUMBER", "x125y", [(1, 4)]),
        ("_AGE_NUMBER", "1125", []),
        ("_AGE_NUMBER", "126", []),
        ("_YEAR_RUN", "in 1998.", [(3, 7)]),
        ("_YEAR_RUN", "21998", []),
        ("DATE1", "1956-09-16", [(0, 10)]),
        ("DATE1", "x1956-09-16", []),
        ("DATE2", "3/14/2021", [(0, 9)]),
        ("DATE2", "on 31.12.20", [(3, 11)]),
        ("DATE2", "/3/14/2021", []),
        ("DATE6", "2021-03", [(0, 7)]),
        ("DATE6", "1899-03", []),
        ("DATE8", "12/2019", [(0, 7)]),
        ("DATE8", "05.2019", [(0, 7)]),
        ("DATE8", "13/2019", []),  # no month 13, and "3/2019" follows a digit
        ("DATE8", "0/2019", []),
    ],
)
def test_class_first_forms_on_their_edges(name, text, spans):
    assert [m.span() for m in _fast(name).finditer(text)] == spans


# --- street and City-ST (their patterns are long; both edges by hand) ---------------------------------------


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("454 Pine Road", "454 Pine Road"),
        ("lives at 12B Elm Street.", "12B Elm Street."),
        ("x-454 Pine Road", None),  # "-" before the number
        ("A454 Pine Road", None),
        (".454 Pine Road", None),
        ("1234567 Pine Road", None),  # seven digits: not a house number
    ],
)
def test_street_numbers_start_where_they_did(text, street):
    # catches the class-first street pattern taking a number after "-", "." or a letter, or cutting its digits
    got = [text[m.start() : m.end()] for m in d._STREET.finditer(text)]
    assert got == ([street] if street else [])


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Boston, MA", ["Boston, MA"]),
        ("Springfield Falls, IL today", ["Springfield Falls, IL"]),
        ("xBoston, MA", []),  # the city starts after a letter
        ("9Boston, MA", []),
        ("Boston, MD", []),  # MD, PA and DO stay out (doctor, physician assistant)
    ],
)
def test_city_state_starts_where_it_did(text, found):
    assert [text[m.start() : m.end()] for m in d._CITY_STATE.finditer(text)] == found


# --- gates, through detect ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("seen 5 January", ["5 January"]),
        ("seen 5 Jan", ["5 Jan"]),  # the month at the very end
        ("Jan. 31st, 2024 follow-up", ["Jan. 31st, 2024"]),
        ("since Oct-83", ["Oct-83"]),
        ("DECEMBER 2019", ["DECEMBER 2019"]),
        ("Married 5 summary 2 Decatur", []),  # month letters inside words only: the month patterns are skipped
        ("in 1998", ["1998"]),
        ("since 2003-04 and 12/2019", ["2003-04", "12/2019"]),
        ("born 1956-09-16", ["1956-09-16"]),
        ("11998 and 1899-03", []),
        ("seen 31-Jan-24", ["31-Jan-24"]),  # a month pattern with a two-digit year: no year gate for it
        ("seen Jan 31", ["Jan 31"]),
        ("on 20190304", ["20190304"]),  # exactly eight digits: the compact date
        ("on 3/14", ["3/14"]),
    ],
)
def test_date_gates_let_every_date_through(text, dates):
    # catches a month gate that needs a letter-free character before the month (the patterns don't all), a
    # year gate that misses a year after a separator or at the end, a gate combination cached wrongly
    assert [v for v, _ in _found(text, {"DATE"})] == dates


@pytest.mark.parametrize(
    ("text", "ages"),
    [
        ("45 years old", ["45 years old"]),
        ("45-YEAR-OLD man", ["45-YEAR-OLD"]),
        ("a 45yo man", ["45yo"]),
        ("a 45 y.o. man", ["45 y.o."]),
        ("3 weeks old", ["3 weeks old"]),
        ("3 WEEKS OLD", ["3 WEEKS OLD"]),
        ("Pt is 102y", ["102y"]),
        ("age 045Y", ["045Y"]),
        ("Pt is 96.", ["96"]),
        ("30 days later, 2 weeks", []),
    ],
)
def test_age_gates_let_every_age_through(text, ages):
    # catches an age phrase put behind the wrong cue (upper-case units, "y" after a space or "-", "old" in
    # capitals) or the "102y" scan left behind a cue it does not need
    assert [v for v, _ in _found(text, {"AGE"})] == ages


@pytest.mark.parametrize(
    ("text", "states"),
    [
        ("lives in New Hampshire", ["New Hampshire"]),
        ("NEW HAMPSHIRE", ["NEW HAMPSHIRE"]),
        ("moved from District of Columbia.", ["District of Columbia"]),
        ("Kansas and Arkansas", ["Kansas", "Arkansas"]),
        ("Texan", []),
    ],
)
def test_state_name_trie_finds_every_state(text, states):
    # catches a trie that loses a name sharing a prefix with another (Kansas/Arkansas, New ...), or one with
    # spaces
    assert [v for v, _ in _found(text, {"US_STATE"})] == states


def test_state_name_trie_holds_exactly_the_state_names():
    from transforms.text import lexicon

    for name, _ in lexicon.US_STATES:
        assert d._STATE_NAME_CASED.fullmatch(name), name
        assert d._STATE_NAME_CASED.fullmatch(name.upper()), name
    for near in ("New", "Kansa", "Virginix", "District of", "Ohi", "ohio", "new york", "New york"):
        assert not d._STATE_NAME_CASED.fullmatch(near), near


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("ref E11390736 and 12345", ["E11390736"]),  # "12345": five digits, but under six
        ("PHOTO-4198840", ["PHOTO-4198840"]),
        ("58-9722673 x", ["58-9722673"]),
        ("AB12345-CD", []),  # five digits in a row, but six are needed in all
        ("AB123456-CD", ["AB123456-CD"]),
        ("ZX12345-6", ["ZX12345-6"]),  # exactly five in a row
        ("AB1234-5678", []),  # eight digits, but no five in a row
        ("v2.1234567", []),  # after "."
        ("x_1234567", ["1234567"]),  # "_" is neither a letter, a digit nor a separator here
    ],
)
def test_bare_ids_scan_only_tokens_with_five_digits(text, ids):
    # catches a look-ahead that reads past the token's end (or stops short of it) in the five-digit token scan
    assert [text[s:e] for s, e, _, _ in d._bare_ids(text)] == ids


# --- reporting table and resolve ------------------------------------------------------------------------------


def test_reported_types_follow_selection_and_exclusion():
    # catches a per-selection reporting table that ignores an exclusion, reports a child under the wrong parent
    # or is shared between selections
    assert _found("Fax: 617-555-1234", {"PHONE_NUMBER"}) == [("617-555-1234", "PHONE_NUMBER")]
    assert _found("Fax: 617-555-1234", {"FAX_NUMBER"}) == [("617-555-1234", "FAX_NUMBER")]
    assert _found("Fax: 617-555-1234", {"PHONE_NUMBER"}, exclude=frozenset({"FAX_NUMBER"})) == []
    assert _found("Fax: 617-555-1234", {"PHONE_NUMBER"}) == [("617-555-1234", "PHONE_NUMBER")]


def test_resolve_drops_empty_spans_and_merges_overlaps():
    # catches resolve keeping an empty span or losing the filter when it sorts the spans as given
    raw = [(5, 5, "CTX"), (10, 14, "DATE"), (0, 3, "AGE"), (12, 20, "PHONE_NUMBER"), (3, 3, "URL")]
    assert resolve(raw) == [Finding(0, 3, "AGE"), Finding(10, 20, "PHONE_NUMBER")]
    assert resolve([(4, 2, "DATE")]) == []
    # an empty or reversed span inside a finding would rename it (CTX and URL outrank AGE)
    assert resolve([(0, 5, "AGE"), (2, 2, "CTX")]) == [Finding(0, 5, "AGE")]
    assert resolve([(0, 5, "AGE"), (3, 1, "URL")]) == [Finding(0, 5, "AGE")]


PLAIN_MORE = {
    "_SSN": r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])",
    "_DATE_MD_BARE": r"(?<![\w./-])(?:0?[1-9]|1[0-2])/(?:1[3-9]|2\d|3[01])(?![\w/]|[.,]\d)",
    "_TIME": r"(?<![\w:.])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:\s?[AaPp]\.?[Mm]\.?)?(?![\w:])"
    r"|(?<![\w:.])(?:1[0-2]|0?[1-9])\s?[AaPp]\.?[Mm]\.?(?!\w)",
    "_PHONE_NANP": r"(?<![\w+])(?:(?:\+1|001|1)[\s.-]?)?(?:\(\d{3}\)[\s.-]?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
    r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,6})?(?![\w-])",
    "_MAC": r"(?<![\w:-])(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![\w:-])",
}
_WORDS_MORE = (
    "123-45-6789 000-12-3456 666-12-3456 900-12-3456 899-12-3456 123-00-4567 123-45-0000 123 45 6789 06 60 "
    "3/14 10/16 03/23 0/13 13/13 1/31 12/32 x/20 14:30 9:05 23:59 24:00 0:00 00:00:01 12:30:45.5 3 pm 11a.m. 12PM "
    "0pm 13pm 09 am 7 P.M. 20:15Z 1 2 3 : / - . a _ ٣ 00:1a:2b:3c:4d:5e 00-1A-2B-3C-4D-5E 0a1b.2c3d.4e5f "
    "00:1a-2b:3c:4d:5e "
    "ab cd ef 1a 0a1b 2c3d +1 001 617 555 (617) 555-1234 617-555-1234 0617 x12 ext. extension 1617 001617"
).split(" ")


@pytest.mark.parametrize("name", sorted(PLAIN_MORE))
def test_more_class_first_forms_match_the_plain_forms(name):
    # catches the SSN's "not 000/666/9xx" test moved past the first digit wrongly, a time, MM/DD or phone
    # alternative reordered or lost (the phone's country code "+1", "001", "1" before the area code)
    plain, fast = re.compile(PLAIN_MORE[name]), getattr(d, name)
    for text in word_salad(_WORDS_MORE, [" ", "", "-", "/", ".", ":", "x", " "], 3000, 22) + _WORDS_MORE:
        assert _spans(fast, text) == _spans(plain, text), text


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        ("_SSN", "123-45-6789", ["123-45-6789"]),
        ("_SSN", "SSN 666-12-3456", []),
        ("_SSN", "900-12-3456", []),
        ("_SSN", "899-12-3456", ["899-12-3456"]),
        ("_SSN", "a123-45-6789", []),
        ("_DATE_MD_BARE", "CABG 3/23", ["3/23"]),
        ("_DATE_MD_BARE", "5/5", []),
        ("_DATE_MD_BARE", "13/13", []),
        ("_TIME", "at 14:30", ["14:30"]),
        ("_TIME", "at 23:59 and 24:00", ["23:59"]),
        ("_TIME", "9:05 pm", ["9:05 pm"]),
        ("_TIME", "3 pm, 11a.m., 13pm", ["3 pm", "11a.m."]),
        ("_TIME", "x14:30", []),
        ("_PHONE_NANP", "+1 (617) 555-1234", ["+1 (617) 555-1234"]),
        ("_PHONE_NANP", "001-617-555-1234 x12", ["001-617-555-1234 x12"]),
        ("_PHONE_NANP", "1.617.555.1234", ["1.617.555.1234"]),
        ("_PHONE_NANP", "0617-555-1234", []),  # four digits before the exchange
        ("_PHONE_NANP", "a617-555-1234", []),
        ("_PHONE_NANP", "+617-555-1234", []),  # "+" then no country code 1
        ("_PHONE_NANP", "(617) 555-1234", ["(617) 555-1234"]),
        ("_MAC", "MAC 00:1a:2b:3c:4d:5e", ["00:1a:2b:3c:4d:5e"]),
        ("_MAC", "0a1b.2c3d.4e5f", ["0a1b.2c3d.4e5f"]),
        ("_MAC", "00:1a-2b:3c:4d:5e", []),  # one separator throughout
        ("_MAC", "g00:1a:2b:3c:4d:5e", []),
    ],
)
def test_more_class_first_forms_on_their_edges(name, text, found):
    assert [text[m.start() : m.end()] for m in getattr(d, name).finditer(text)] == found


# --- labelled identifiers: one alternation branching on the label's first letter ------------------------------

_LABEL_WORDS = (
    "MRN M.R.N. MR# Med Rec No. medical records Acc# Acct acc't FIN Member ID member Patient ID patient Order # "
    "order S/N sn serial DL d.l. driver's license NPI npi passport VIN plate photo ID id I.D. ref file other "
    "case number chart enc visit ins. insurance group grp coverage is was of : = - # 12345 1234567 A12-345 "
    "E11390736 MRN6203412 5mg 10cm XJ123456 ab 7 İ Kaiſer unit serial serial-1234"
).split(" ")


def test_first_letter_alternation_matches_what_the_label_groups_match():
    # catches labels reordered within a letter (a shorter label winning over a longer one it prefixes), a label
    # lost, or a look-behind or tail left out of the fast form
    for text in word_salad(_LABEL_WORDS, [" ", " ", ": ", "", "-", "#", ". ", "\n", "/"], 4000, 23):
        assert [m.span() for m in d._LABELLED_ID_FAST.finditer(text)] == [
            m.span() for m in d._LABELLED_ID.finditer(text)
        ], text


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("MRN: 1234567", [("1234567", "MEDICAL_RECORD_NUMBER")]),
        ("Med Rec No. A12-345", [("A12-345", "MEDICAL_RECORD_NUMBER")]),
        ("Patient 12345", []),  # "patient" counts only with a qualifier
        ("Patient ID 12345", [("12345", "MEDICAL_RECORD_NUMBER")]),
        ("Acct# 99-1234", [("99-1234", "FINANCIAL_ACCOUNT_NUMBER")]),
        ("member id XJ123456", [("XJ123456", "HEALTH_PLAN_NUMBER")]),
        ("NPI 1234567893", [("1234567893", "US_HEALTHCARE_NPI")]),
        ("S/N ABC12345", [("ABC12345", "DEVICE_SERIAL_NUMBER")]),
        ("İ MRN 1234567", [("1234567", "MEDICAL_RECORD_NUMBER")]),  # lower() is not one for one: the (?i) forms
        ("xMRN 1234567", []),
        ("dose 5mg", []),
        # "unit" (a label that needs a qualifier) comes before "unit serial" among the labels: it takes
        # "serial-1234" as its value and, unqualified, is dropped; the order of labels with one first letter holds
        ("unit serial-1234", []),
        ("unit serial 1234", [("1234", "DEVICE_SERIAL_NUMBER")]),
    ],
)
def test_labelled_ids_name_the_label_type(text, found):
    # catches the label type taken from the wrong group (or from the fast form, which has none) and the
    # fallback to the case-insensitive forms
    wanted = d._wanted(frozenset(d.INFO_TYPES), frozenset())
    assert [(text[s:e], t) for s, e, t, _ in d._labelled_ids(text, wanted)] == found


# --- cue words at a word's start: "\b" tested past the first letter, the words branching on it ----------------

PLAIN_CUES = {
    "_PHONE_CTX": r"(?i)\b(?:tel|telephone|phone|ph|cell|mobile|mob|pager|fax|call|contact|home|work)\b\.?\s*"
    r"(?:no\.?|number|#)?\s*[:#]?\s*(\+?\d[\d ()./-]{6,18}\d)",
    "_FAX_BEFORE": r"(?i)\bfax\b[^\n\d]{0,12}$",
    "_YEAR_CTX": r"(?i)\b(?:in|since|from|during|year|until|till|by|circa|of|dated)\s+((?:19|20)\d{2})(?![\w]|[-/.]\d)",
    "_DOB_BEFORE": r"(?i)(?:\bdob|\bd\.o\.b\.?|\bdate of birth|\bbirth\s?date|\bborn(?:\s+on)?|\bbirthday)\W{0,4}$",
}
_CUE_WORDS = (
    "tel telephone phone ph Phone PH cell mobile mob pager fax FAX call contact home work xtel telx "
    "in since from during year until till by circa of dated within ofx DOB dob d.o.b. D.O.B date of birth "
    "birthdate birth date born born on birthday reborn 617-555-1234 (617) 555 1234 +1 1998 2003 1899 2003-04 "
    "no. number # : 12 İ ſince Kaiſer"
).split(" ")


@pytest.mark.parametrize("name", sorted(PLAIN_CUES))
def test_cue_words_match_what_the_word_boundary_forms_match(name):
    # catches "\b" moved past the first letter wrongly (a cue inside a word taken, or one at the text's start
    # lost) and cue words reordered within a letter ("ph" before "phone")
    plain = re.compile(PLAIN_CUES[name])
    fast = getattr(d, name)
    for text in word_salad(_CUE_WORDS, [" ", " ", "", ": ", "-", "\n", ". "], 3000, 24):
        low = text.lower()
        subject, pattern = (low, fast.lowered) if d.lowered(text) is not None else (text, fast.pattern)
        if name in ("_FAX_BEFORE", "_DOB_BEFORE"):  # searched for at a slice's end
            assert bool(pattern.search(subject)) == bool(plain.search(text)), text
        else:
            assert [m.span(1) for m in pattern.finditer(subject)] == [m.span(1) for m in plain.finditer(text)], text


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("phone: 617-555-1234", [("617-555-1234", "PHONE_NUMBER")]),
        ("Fax: 617-555-1234", [("617-555-1234", "FAX_NUMBER")]),
        ("telefax 617-555-1234", [("617-555-1234", "PHONE_NUMBER")]),  # "fax" inside a word: no fax cue
        ("DOB: 03/14/1950", [("03/14/1950", "DATE_OF_BIRTH")]),
        ("reborn 03/14/1950", [("03/14/1950", "DATE")]),
        ("moved in 1998", [("1998", "DATE")]),
        ("within 1998", []),
    ],
)
def test_cue_words_at_word_starts(text, found):
    assert _found(text, {"PHONE_NUMBER", "FAX_NUMBER", "DATE", "DATE_OF_BIRTH"}) == found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Boston, MA", ["Boston, MA"]),
        ("Boston,\tMA 2", ["Boston,\tMA"]),
        ("Boston, Ma", []),
        ("zip 02139", ["02139"]),
        ("ZIP code: 02139", ["02139"]),
        ("Postal Code 02139-1234", ["02139-1234"]),
        ("POSTCODE 02139", ["02139"]),
        ("in the 02139 area", ["02139"]),
        ("İ zip 02139", ["02139"]),  # lower() is not one for one: no word gate
        ("code 02139", []),
    ],
)
def test_city_state_and_zip_gates(monkeypatch, text, found):
    # catches a City-ST gate that misses a tab after the comma, a ZIP gate that misses upper case or the
    # "the 02139 area" form (place names found elsewhere are left out here)
    monkeypatch.setattr(d, "find_places", lambda text, wanted: [])
    monkeypatch.setattr(d, "find_names", lambda text: [])
    got = sorted((s, e) for s, e, t, _ in d._raw_findings(text, frozenset({"LOCATION"})))
    assert [text[s:e] for s, e in got] == found


def test_month_word_trie_holds_exactly_the_month_names():
    for month in d.MONTHS:
        assert d._MONTH_WORD.lowered.fullmatch(month), month
    for near in ("ju", "janu", "septembe", "marc", "m"):
        assert not d._MONTH_WORD.lowered.fullmatch(near), near


_MEASURE_PLAIN = re.compile(
    r"(?i)\d+(?:[.,]\d+)?"
    r"(?:mm|cm|m|mg|mcg|ug|ml|cc|l|kg|g|lb|lbs|%|u|iu|units?|mmhg|bpm|hz|ms|s|min|hr|h|d|wk|y|yo|t|x\d*)"
)


@pytest.mark.parametrize(
    "value",
    ["12mg", "5MG", "2.5mL", "98.6%", "120mmHg", "3x", "3x10", "3X10", "10units", "4w\u212a", "4wK", "4wk", "12ſ",
     "1234567",
     "123-45", "A12-345", "12mgX", "x12", "12 mg", "١٢mg", "12", "1.5", "10x", "10xy", "7d", "7D", "12mg1"],
)
def test_measure_precheck_agrees_with_the_unit_pattern(value):
    # catches a pre-check that refuses a measurement (a unit in capitals, a Kelvin sign, a long s, "x" and
    # digits at the end, a non-ASCII digit first)
    assert d._is_measure(value) == (_MEASURE_PLAIN.fullmatch(value) is not None)


def test_measure_precheck_on_salad():
    words = "12 3 0 ١ mg MG ml % x X 10 . , k K \u212a s ſ u unit units wk h hr - A a / ".split(" ")
    for text in word_salad(words, [""], 5000, 25):
        if text:
            assert d._is_measure(text) == (_MEASURE_PLAIN.fullmatch(text) is not None), text


@pytest.mark.parametrize(
    ("text", "macs"),
    [
        ("NIC 00:1A:2B:3C:4D:5E on the pump", ["00:1A:2B:3C:4D:5E"]),
        ("mac 00-1a-2b-3c-4d-5e.", ["00-1a-2b-3c-4d-5e"]),
        ("Cisco form 001a.2b3c.4d5e here", ["001a.2b3c.4d5e"]),
        ("DOB 1956-09-16, phone 535-555-9498", []),
    ],
)
def test_mac_hint_lets_every_mac_address_through(text, macs):
    # catches a MAC hint or separator count that skips a text holding one (either separator, or the dotted form)
    assert [v for v, _ in _found(text, {"MAC_ADDRESS"})] == macs


@pytest.mark.parametrize(
    ("text", "vins"),
    [
        ("Car 1HGCM82633A004352 towed", ["1HGCM82633A004352"]),  # no label: the VIN scan alone finds it
        ("towed:\t1HGCM82633A004352\n", ["1HGCM82633A004352"]),  # between a tab and a line end
        ("short 1HGCM8263 token", []),
    ],
)
def test_vin_chunk_length_gate_lets_every_vin_through(text, vins):
    # catches the whitespace-chunk gate before the VIN scan measuring the wrong chunks (a VIN after a tab or at a
    # line end skipped)
    assert [v for v, _ in _found(text, {"US_VEHICLE_IDENTIFICATION_NUMBER"})] == vins

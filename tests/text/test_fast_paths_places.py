"""The narrative speed-ups of the name and place scans give exactly what the plain patterns give."""

from __future__ import annotations

import re

import pytest

from tests.text.salad import word_salad
from transforms.text import names, places

_WORDS = (
    "Springfield MA NY New York District of Columbia Northern Mariana Islands Ohio Calif. Mass ma ca , 02139 "
    "02139-1234 12345 1234 2860 Søborg Cambridge Mass. Suite 549 lives in Jones, Smith and Walton & AND "
    "Burlington Dr. Smith, John A. O'Brien-Lee D'Arcy Zoë x y 3T L4 SW1A 1AA M5V 2T6 75008 Paris of the Elm"
).split(" ")


_SEPARATORS = [" ", " ", " ", "  ", "\n", ", ", ",", "-", "", "\t", ". "]


def _random_texts(n: int, seed: int) -> list[str]:
    return word_salad(_WORDS, _SEPARATORS, n, seed)


def test_city_state_zip_windows_give_exactly_the_whole_text_matches() -> None:
    # catches a window too narrow (a three-word city before a three-word state cut off), an anchor missed (a
    # four-digit code after a city) or a window edge away from whitespace
    for text in _random_texts(3000, 17):
        got = [m.span() for m in places._city_state_zips(text)]
        assert got == [m.span() for m in places._CITY_STATE_ZIP.finditer(text)], text


@pytest.mark.parametrize("pattern, before", [(places._ZIP_AFTER_STATE, 4), (places._ZIP_AFTER_LOWER_STATE, 3)])
def test_zip_after_state_windows_give_exactly_the_whole_text_matches(pattern: re.Pattern[str], before: int) -> None:
    # catches a ZIP code's anchor or window that misses a match the whole-text scan finds
    for text in _random_texts(3000, 18):
        anchors = [m.start(1) for m in places._ZIP_START.finditer(text)]
        got = [m.span() for m in places._windowed(pattern, text, anchors, before, 0)] if anchors else []
        assert got == [m.span() for m in pattern.finditer(text)], text


def test_ascii_patterns_match_like_the_unicode_ones_on_ascii_text() -> None:
    # catches an ASCII variant that drifts from the pattern it stands for (an apostrophe, hyphen or full stop lost)
    for text in _random_texts(2000, 19):
        text = text.encode("ascii", "ignore").decode()
        for fast, plain in ((names._ASCII_TOKEN, names.TOKEN), (names._ASCII_INVERTED, names._INVERTED)):
            assert [m.groups() + m.span() for m in fast.finditer(text)] == [
                m.groups() + m.span() for m in plain.finditer(text)
            ], text


@pytest.mark.parametrize(
    "text, found",
    [
        ("She lives in Jackson with her son.", "Jackson"),  # a town named like a person, after a preposition
        ("Mail to 12 Oak Rd, Hartford, CT 06101.", "Hartford"),  # an address after it
        ("Patient moved from Blackburgh last year.", "Blackburgh"),  # place-shaped, after a strong cue
        ("Went to Blackburgh.", "Blackburgh"),  # place-shaped, after a preposition only
        ("Blackburgh is nice", None),  # place-shaped, no cue
        ("Visited Tuusniemi in May.", None),  # no cue, not in the gazetteer
        ("TO GRAVITY", None),  # a cue before an everyday word
    ],
)
def test_city_cues_decide_as_documented(text: str, found: str | None) -> None:
    # catches a cue pattern skipped when the decision needs it (the cues are searched lazily)
    spans = {text[s:e] for s, e, _, _ in places.find_places(text, frozenset({"LOCATION"}))}
    assert (found in spans) if found else not spans, spans


@pytest.mark.parametrize(
    "text, city",
    [
        ("Mail to 5 Elm St, Elmira NY 14901-1234.", "Elmira"),  # a ZIP+4: the anchor's second branch
        ("Born 1956-09-16 in Elmira NY 14901", "Elmira"),  # a date's "1956-" is no anchor, the ZIP still is
        ("Kontakt: Søborg, Gladsaxe, 2860", "Søborg"),  # four digits after a comma and a town
    ],
)
def test_city_state_zip_anchors_keep_every_zip_form(text: str, city: str) -> None:
    # catches an anchor pattern narrowed too far (a ZIP+4 or a four-digit code no longer anchoring a window)
    assert [m.group(1) for m in places._city_state_zips(text)] == [city]


@pytest.mark.parametrize(
    "text, organisation",
    [
        ("Seen at Centre Hospitalier Universitaire de Rouen last week.", "Centre Hospitalier Universitaire de Rouen"),
        ("Transferred from Klinikum Rechts der Isar", "Klinikum Rechts der Isar"),
        ("Studies at Universität Zürich", "Universität Zürich"),
    ],
)
def test_head_first_organisations_pass_their_hint(text: str, organisation: str) -> None:
    # catches a hint that skips a text holding a head-first organisation (a head missing from it, or the space)
    spans = {text[s:e] for s, e, t, _ in places.find_places(text, frozenset({"ORGANIZATION_NAME"}))}
    assert organisation in spans, spans


# The cue patterns as written before they branched on their first letter: the oracle for the faster forms.
_PLAIN_CUES = {
    "_FACILITY_CUE": (
        r"\b(?:(?:transferr?ed|transfer|trans|admitted|adm|discharged|dc'd|referred|sent|brought|taken|moved|returned"
        r"|med-?flighted|flighted|flown|came|went|arrived|accepted|enroute|en\s+route)\s+(?:to|from)|came\s+into"
        r"|(?:accepted|arrived)\s+(?:at|by)"
        r"|(?:seen|treated|followed|evaluated|imaged|scanned|performed|done|delivered|born|hospitali[sz]ed)\s+at"
        r"|outside\s+(?:hospital|facility|films?|imaging|stud(?:y|ies)|images|exam|report|read)(?:\s+(?:from|at))?"
        r"|(?:records|films|images|imaging|stud(?:y|ies)|report|exam)\s+(?:from|at)"
        r"|(?:insurance|insurer|insured\s+by|payer|carrier|health\s+plan|company|firm)\s*:"
        r"|works?\s+(?:at|for)|worked\s+(?:at|for)|employed\s+(?:at|by)|employer:?|facility:?|hospital:?|clinic:?"
        r"|institution:?|site:)\s+(?:the\s+)?(?=[a-z])"
    ),
    "_EMPLOYMENT_WORD": (
        r"\b(?:works?|worked|working|employed|employee|employer|job|retired|contractor|manager|clerk|cashier"
        r"|driver|engineer|teacher|nurse|analyst|technician|salesman|mechanic|accountant|guard|officer|staff)\b"
    ),
    "_RESIDENCE_WORD": (
        r"\b(?:lives?|living|lived|resides|residing|resident|born|raised|moved|relocated|visiting|hometown|native"
        r"|from|city|town)\b"
    ),
    "_LOWER_AFTER_CUE": r"\b(?:in|from|to|near|visiting|lives|born|moved|resident\s+of)\s+(?=[^\W\d_])",
}
_CUE_WORDS = (
    "transferred transfered to from came into accepted at by seen treated outside films studies report exam insurance: "
    "insured health plan : works worked for employed employer: facility: site: the mercy in near visiting lives born "
    "moved resident of job staff nurse with dc'd med-flighted medflighted en route hospitalized kaiser x xin inx"
).split(" ")


@pytest.mark.parametrize("name", sorted(_PLAIN_CUES))
def test_first_letter_cues_match_like_their_plain_patterns(name: str) -> None:
    # catches a cue lost or reordered when the alternatives were spread and grouped by first letter, or a word
    # boundary tested at the wrong place
    plain = re.compile(_PLAIN_CUES[name])
    fast = getattr(places, name).lowered
    for text in word_salad(_CUE_WORDS, _SEPARATORS, 4000, 23):
        assert [m.span() for m in fast.finditer(text)] == [m.span() for m in plain.finditer(text)], text


def test_saint_word_is_found_where_the_plain_pattern_finds_it() -> None:
    # catches a saint's word lost from the first-letter form (the hint would skip "St. Mary's Hospital")
    plain = re.compile(r"\b(?:St\.|Saint|Mount|Mt\.|San|Santa|Sainte|Ste\.) ")
    words = "St. Saint Mount Mt. San Santa Sainte Ste. xSt. Mary's Hospital at from M S Mt".split(" ")
    for text in word_salad(words, _SEPARATORS, 4000, 29):
        assert bool(places._SAINT_WORD.search(text)) == bool(plain.search(text)), text


def test_cue_look_behinds_decide_like_their_searches() -> None:
    # catches a cue skipped by the end-word look before the search: a cue word missing from the list of ends, "the"
    # or blanks after it mishandled, or a non-ASCII word that (?i) folds ("İN") judged by its lower case
    words = (
        "in from to near at of outside travel traveled travelled lives living moved the The THE IN From x Boston "
        "Suite 549 , hometown outskirts native İN ın Dr. 12 grew up born city town"
    ).split(" ")
    for before in word_salad(words, [" ", "  ", "\n", ", ", "", ",", "\t"], 6000, 31):
        for text in (before, before + " ", before + "\n"):
            tail = text.rstrip()
            strong = places._STRONG_PLACE_CUE.search(text) is not None and tail[-1:].isalpha() and tail != text
            assert places._strong_place_cue(text) == (
                strong or (tail.endswith(",") and places._AFTER_ADDRESS.search(text) is not None)
            ), text
            cue = places._place_cue(text)
            plain = places._PLACE_CUE.search(text)
            assert (cue and cue.span()) == (plain and plain.span()), text


@pytest.mark.parametrize(
    "text, found",
    [
        ("Travelled to the Blackburgh hills.", "Blackburgh"),  # a cue word, "the", then the place
        ("She was born in Jacksonton", "Jacksonton"),
    ],
)
def test_city_cues_before_the(text: str, found: str) -> None:
    # catches the end-word look that misses a cue followed by "the" or a cue word missing from its list
    spans = {text[s:e] for s, e, _, _ in places.find_places(text, frozenset({"LOCATION"}))}
    assert found in spans, spans


@pytest.mark.parametrize(
    "text, found",
    [
        ("12 Oak Rd, Qwerty 03060-1234", {"Qwerty", "03060-1234"}),  # a town and a ZIP+4 after a comma
        ("12 Oak Rd, Qwerty 03060", {"Qwerty", "03060"}),
        ("Adresse: Hovedgaden 4, Qwerty 2860", {"Qwerty 2860"}),  # a town and a four-digit postcode after a comma
    ],
)
def test_towns_before_a_code_after_a_comma_pass_their_hints(text: str, found: set[str]) -> None:
    # catches the spaced-code hints (_SPACED_ZIP, _SPACED_CODE) skipping a text whose town and code follow a comma
    spans = {text[s:e] for s, e, _, _ in places.find_places(text, frozenset({"LOCATION"}))}
    assert found <= spans, spans


def test_journey_cues_and_zip_codes_match_like_their_plain_patterns() -> None:
    # catches a journey cue lost when the cues were grouped by first letter, or the ZIP code's look-behind moved
    # past its first digit testing the wrong character ("a12345", "-12345" are no ZIP codes)
    from transforms.text import addresses

    plain_cue = re.compile(
        r"\b(?:travel(?:l)?ed\s+(?:to|from)|trip\s+to|vacation(?:ing)?\s+in|holiday\s+in|(?:drove|flew|came|arrived"
        r"|returned|transported|transferred|driven|flown)\s+(?:in\s+)?from|stayed\s+in|commutes?\s+(?:to|from))"
        r"\s+(?=[^\W\d_])"
    )
    plain_zip = re.compile(r"(?<![\w-])\d{5}(?:-\d{4})?(?![\w-])")
    words = (
        "travelled traveled to from trip vacation vacationing in holiday drove flew came arrived returned transported "
        "transferred driven flown stayed commutes commute x boston 12345 12345-6789 123456 -12345 a12345 oh"
    ).split(" ")
    for text in word_salad(words, [" ", "  ", "", " - ", "\n", ", "], 4000, 37):
        assert [m.span() for m in addresses._JOURNEY_CUE.lowered.finditer(text)] == [
            m.span() for m in plain_cue.finditer(text)
        ], text
        assert [m.span() for m in addresses._ZIP.finditer(text)] == [m.span() for m in plain_zip.finditer(text)], text


def test_code_then_city_hint_is_found_where_the_plain_pattern_is() -> None:
    # catches the postcode hint, searched from its space, testing the wrong characters behind it
    plain = re.compile(r"\d{4} [A-ZÀ-Þ]")
    words = "75008 Paris 1234 Élan 123 X 12345 Y PLZ 10115 Berlin a b".split(" ")
    for text in word_salad(words, [" ", "", ", ", "\n", "-"], 4000, 41):
        assert bool(places._CODE_SPACE_CAPITAL.search(text)) == bool(plain.search(text)), text

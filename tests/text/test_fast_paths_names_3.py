"""The speed-ups of names.py and name_cues.py (issues 17 and 20, narrative throughput): each fast pattern or path
gives what its plain form gives, and the findings it decides are the hand-written ones below."""

from __future__ import annotations

import re
import re._constants as _constants
import re._parser as _parser

import pytest

from tests.text.salad import word_salad
from transforms.text import caseless, name_cues, names
from transforms.text.openings import opening_lookahead, openings


_LITERAL, _SUBPATTERN, _BRANCH = _constants.LITERAL, _constants.SUBPATTERN, _constants.BRANCH


def _more_names(text: str) -> list[str]:
    return sorted(text[s:e] for s, e, _, _ in name_cues.find_more_names(text, names.find_names(text)))


# --- openings.py -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alternation, expected",
    [
        ("spoke|met", {"spoke", "met"}),
        (r"(?:spoke|met)\s+with|name\s+is", {"spoke", "met", "name"}),
        ("brothers?|neighbou?r|co-?worker", {"brother", "neighbo", "co"}),  # the optional letter is not opened with
        (r"fianc[eé]e?|d/w|pt's|st\.", {"fianc", "d/w", "pt's", "st"}),
        (r"(?:patient|pt|pat)(?:'s)?\s+name|follow[\s-]?up", {"patient", "pt", "pat", "follow"}),
        (r"(?:a(?:b|c)|d)x|[(|]|y", None),  # a class opens an alternative ("|" inside it splits nothing)
    ],
)
def test_openings_are_the_words_each_alternative_starts_with(alternation: str, expected: set[str] | None) -> None:
    # catches an optional last letter kept in a word ("brothers" would miss "brother"), a group's alternatives
    # not opened, a "|" inside a class read as a split, or an alternative with no literal opening let through
    if expected is None:
        with pytest.raises(ValueError):
            openings(alternation)
    else:
        assert openings(alternation) == expected


@pytest.mark.parametrize("alternation", [r"\s+by|x", "(?:a|b)?c|x", "x|", r"(?<=a)b|x", "[ab]c|x"])
def test_openings_refuse_alternatives_with_no_literal_opening(alternation: str) -> None:
    # catches a look-ahead built over an alternation it cannot cover: it would refuse positions the pattern matches
    with pytest.raises(ValueError):
        openings(alternation)


def _literal_prefixes(items) -> set[str]:
    """What every match of a parsed pattern (``re``'s own parser) starts with, one string per path through the
    branches it opens with: its leading literals, then those of each branch of its first group or alternation."""
    prefix = ""
    for op, av in items:
        if op is _LITERAL:
            prefix += chr(av)
            continue
        if op is _SUBPATTERN:
            return {prefix + p for p in _literal_prefixes(av[3])}
        if op is _BRANCH:
            return {prefix + p for branch in av[1] for p in _literal_prefixes(branch)}
        break
    return {prefix}


_ALTERNATIONS = {
    "name_cues._LABELS | _LABEL_PHRASES": name_cues._LABELS + "|" + name_cues._LABEL_PHRASES,
    "name_cues._NARRATION_VERBS": name_cues._NARRATION_VERBS,
    "names._ROLES": names._ROLES,
    "names._EPONYMS": names._EPONYMS,
}


@pytest.mark.parametrize("alternation", _ALTERNATIONS.values(), ids=_ALTERNATIONS.keys())
def test_each_alternative_opens_with_a_word_of_the_lookahead(alternation: str) -> None:
    # catches an opening word missed by openings() on the patterns it serves: the look-ahead would then refuse
    # every text where that alternative (and only it) matches. The oracle is re's own parse of the alternation.
    words = openings(alternation)
    for prefix in _literal_prefixes(_parser.parse(alternation)):
        assert any(prefix.startswith(w) for w in words), prefix


def test_opening_lookahead_keeps_the_shortest_words() -> None:
    # catches a look-ahead that asks for "patient" where "pat" alone may follow
    assert opening_lookahead("patient|pat|pt") == "(?=p(?:at|t))"  # "patient" opens with "pat"
    assert re.match(opening_lookahead("patient|pat") + "(?:patient|pat)", "pat").group() == "pat"


# --- names.py ----------------------------------------------------------------------------------------------------


def test_strong_cue_and_eponyms_with_their_lookaheads_match_the_plain_patterns() -> None:
    # catches a role or eponym word whose opening the look-ahead misses (a cue or an eponym never seen again)
    strong = re.compile(
        r"(?i)(?:^|[^\w])(?:" + names._ROLES
        + r")\.?\s*(?:name)?\s*(?:\((?:s|es)\))?\s*[:#=\-–,(]{0,3}\s*[(\"'“]?\s*$"
    )
    eponym = re.compile(r"(?i)^(?:['’]s?)?[\s-]+(?:" + names._EPONYMS + r")\b")
    words = re.findall(r"[a-zé/'-]+", names._ROLES + "|" + names._EPONYMS) + ["Dr.", "Smith", "İ", "ſ"]
    for text in word_salad(words, [" ", ": ", " - ", "#", ", ", "-", "'s ", "(s) ", "\n"], 1500, 45):
        for k in range(0, len(text), 7):
            before, after = text[max(0, k - 40) : k], text[k : k + 40]
            assert bool(names._STRONG_CUE.search(before)) == bool(strong.search(before)), before
            assert bool(names._EPONYM_AFTER.match(after)) == bool(eponym.match(after)), after
    assert names._cue_before("Referring physician: ", 21) == 2.0
    assert names.eponym_like("Bell palsy", 0, 4) and names.eponym_like("Wilson's disease", 0, 6)


def test_kin_words_as_a_trie_match_the_plain_alternation() -> None:
    # catches a relative lost from the trie or a shorter one ("sis", "bro") taken where the longer one is written
    plain = re.compile(
        r"(?i)(?<![\w'’])(?:son|daughter|dtr|wife|husband|spouse|mother|father|mom|dad|brother|bro|sister|sis|niece"
        r"|nephew|aunt|uncle|cousin|friend|partner|boyfriend|girlfriend|fianc[eé]e?|grandson|granddaughter"
        r"|grandmother|grandfather|np|rn)[ ,:]{1,3}([^\W\d_]{2,})(?![\w'’-])"
    )
    words = "son sons sis sister bro brother fiance fiancée FIANCÉE grandson NP rn xson bill Rose mary 3 -".split()
    for text in word_salad(words, [" ", ", ", ":", "  ", ",", "'", "-", ""], 4000, 46):
        assert [m.span(1) for m in names._kin_matches(text)] == [m.span(1) for m in plain.finditer(text)], text
    assert names._kin_names("her fiancée: rose") == [(13, 17, "PERSON_NAME", ((13, 17, "FIRST_NAME"),))]


# --- name_cues.py ------------------------------------------------------------------------------------------------

_CUE_WORDS = (
    "Patient pt's PT name Name: is was my the patient's Spoke spoke with d/w D/W REF ref. PHYS phys Referring"
    " referring physician: signed Signed by electronically Technologist tech son Son, daughter fiancée fiancee"
    " NOK next of kin: emergency contact report given to Dr. dr mr. Ms Collier laus nissen Smith xson pat-"
    " called phoned was seen is here has been admitted Perkins reports requests _ ./ ~/ / \\ a.pdf b.PDF .dcmx"
).split(" ")
_CUE_SEPARATORS = [" ", " ", " ", "  ", "\n", ": ", ":", " - ", "-", "#", "=", ", ", ",", "'", "’", "_", ""]


def _cue_texts(seed: int) -> list[str]:
    return word_salad(_CUE_WORDS, _CUE_SEPARATORS, 4000, seed)


def test_label_cue_with_its_lookahead_matches_the_plain_pattern() -> None:
    # catches a label or phrase whose opening word is missing from the look-ahead (the cue would never match) or a
    # look-behind lost when the two branches were put under one
    plain = re.compile(
        r"(?i)(?<![\w'’-])(?:" + name_cues._LABELS + r")\s*(?:[:#=]|\s-|-\s)\s*"
        r"|(?<![\w'’-])(?:" + name_cues._LABEL_PHRASES + r")\s+(?:(?:dr|mr|mrs|ms|miss|prof)\.?\s+)?"
    )
    # every word the patterns spell, in salads where each is followed by a separator, a space or another of them
    words = re.findall(r"[a-zé/']+", name_cues._LABELS + name_cues._LABEL_PHRASES) + ["Dr.", "Smith"]
    texts = word_salad(words, [" ", ": ", " - ", "#", "=", ", ", "-", "'"], 6000, 40) + _cue_texts(41)
    for text in texts + ["İ name: x", "ſon: x"]:  # the last two take the (?i) pattern over the text
        assert [m.span() for m in name_cues._LABEL_CUE.finditer(text)] == [m.span() for m in plain.finditer(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Technologist: laus nissen", ["laus nissen"]),
        ("Spoke with Collier regarding the plan", ["Collier"]),
        ("the patient's name is Quexlin Ardo", ["Quexlin Ardo"]),
        ("d/w with Quexlin Ardo today", ["Quexlin Ardo"]),
        ("fiancée: Quexlin", ["Quexlin"]),
        ("Next of kin - Quexlin Ardo", ["Quexlin Ardo"]),
    ],
)
def test_labels_opening_with_each_kind_of_word_still_find_the_name(text: str, expected: list[str]) -> None:
    # catches a look-ahead word lost for a multi-word label ("the patient's name is", "next of kin"), a label with
    # a "/" ("d/w") or an accented opening ("fiancée")
    found = _more_names(text)
    for name in expected:
        assert name in found, (text, found)


def test_narration_read_from_its_space_matches_the_plain_pattern() -> None:
    # catches the look-behind read at the wrong place (a digit or a second space before the verb accepted) or a verb
    # whose opening word the look-ahead misses
    plain = re.compile(r"(?<=[^\W\d_]) (?:" + name_cues._NARRATION_VERBS + r")\b")
    for text in _cue_texts(42) + ["Perkins  was seen", "3 called", "Zoë called", "_ called"]:
        assert [m.span() for m in name_cues._NARRATION.finditer(text)] == [m.span() for m in plain.finditer(text)]
    assert "Perkins" in _more_names("Perkins was seen in clinic.")


def test_file_marks_opening_with_a_literal_match_the_plain_pattern() -> None:
    # catches a path's "/" or "./" accepted after a letter, or refused at the text's start or after a line break
    plain = re.compile(r"[_\\]|(?<!\S)[~.]?/|\." + name_cues._EXTENSIONS + r"\b", re.IGNORECASE)
    extra = ["./a", "x./a", "~/b", "a~/b", "/c", "\n/c", "a/c", "\t./d", ".pdf", "a.PDF", ".pdfx", "_", "\\"]
    for text in _cue_texts(43) + extra:
        assert [m.span() for m in name_cues._FILE_MARK.finditer(text)] == [m.span() for m in plain.finditer(text)]
    # a path whose one mark is its first "/" (after whitespace): its name words are found; after a letter, none
    assert _more_names("files in /home/smith/john today") == ["john", "smith"]
    assert _more_names("files in ./smith/john today") == ["john", "smith"]
    assert _more_names("files in x/home/smith/john today") == []


def test_inverted_caps_at_commas_match_the_whole_text_scan() -> None:
    # catches the comma scan given the wrong pattern (names' _ASCII_INVERTED: another second-name rule) or a non-ASCII
    # text sent to the ASCII pattern
    words = "NAGY ERZSÉBET Smith John O'Brien-Lee x _x 3T Doe,Jane".split(" ")
    for text in word_salad(words, [", ", ",", " ", "-", "'"], 3000, 44):
        text = text.encode("ascii", "ignore").decode()
        got = [m.groups() + m.span() for m in names.comma_matches(name_cues._ASCII_INVERTED_CAPS, text)]
        assert got == [m.groups() + m.span() for m in name_cues._INVERTED_CAPS.finditer(text)], text
    assert "NAGY, ERZSÉBET" in _more_names("PATIENT: NAGY, ERZSÉBET")
    assert "KOVACS, ILONA" in _more_names("PATIENT: KOVACS, ILONA")


def _plain_particles_before(text: str, start: int) -> int:
    """name_cues._particles_before without its gate: the search, then the particle check."""
    p = name_cues._PARTICLE_BEFORE.search(text, max(0, start - 12), start)
    if p and all(name_cues._fold(w) in name_cues._PARTICLES for w in p.group(1).split()):
        return p.start(1)
    return start


def test_particles_before_gate_answers_like_the_search() -> None:
    # catches the gate closing where a particle ends in "'" ("O' Neill"), before a line break ("de \nSilva"), after
    # "(" or at the text's second character
    words = "de van den Ó O' d’ la Silva Súilleabháin x ab2 Pol Nienke".split(" ")
    for text in word_salad(words, [" ", " ", "\n", " \n", ": ", "(", "-", ".", "'", "’", "3", ""], 2000, 47):
        for k in range(len(text) + 1):
            assert name_cues._particles_before(text, k) == _plain_particles_before(text, k), (text, k)
    assert name_cues._particles_before("Dr. Ó Súilleabháin", 6) == 4
    assert name_cues._particles_before("x van den Pol", 10) == 2
    assert name_cues._particles_before("O' Neill", 3) == 0


def test_tokens_against_digits_are_dropped_whole() -> None:
    # catches the tagged scan backing off inside a token that a digit touches ("Smit" of "Smith3", "ab" of "ab1c")
    # or starting a new token inside it ("Brien-Lee" of "O'Brien-Lee2")
    assert [w for _, _, w in names.name_tokens("Smith3 ab1c O'Brien-Lee2 x 4Jones. Lee")] == ["x", "Lee"]


@pytest.mark.parametrize("pattern, expected", [
    (r"a[\]|]b|c", [r"a[\]|]b", "c"]),  # an escaped "]" does not close the class: its "|" is a member
    (r"[]|]x|y", ["[]|]x", "y"]),  # a "]" first in a class is a member
    (r"[^]|]x|(?:p|q)r", ["[^]|]x", "(?:p|q)r"]),
])
def test_alternatives_split_only_at_top_level_bars(pattern, expected):
    # Catches a class end taken at the first "]" after the "[" (the splitter both openings and by_first_letter use)
    assert caseless.alternatives(pattern) == expected

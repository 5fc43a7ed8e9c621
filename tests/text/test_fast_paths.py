"""The speed-ups of issue 16 give exactly what the plain patterns give, and the word lists load lazily."""

from __future__ import annotations

import random
import re
import subprocess
import sys

import pytest

from tests.text.salad import word_salad
from transforms.text import detectors, names, places
from transforms.text.caseless import Caseless

_WORDS = (
    "Acme Health Care of the Valley St. Mary's Hospital Inc. L.L.C. urgent care Center & and de la Group Sons "
    "Bros. Co. x ( - Foo-Clinic İstanbul Hoſpital Kaiſer ıstanbul KELVIN Universitätsklinikum transferred from "
    "seen at works for MRN: 1234567 Acc# E11390736 lives in Springfield Dr. Jane"
).split(" ")


_SEPARATORS = [" ", " ", "  ", "\n", ", ", "-", "", "\t"]


def _random_texts(n: int, seed: int) -> list[str]:
    return word_salad(_WORDS, _SEPARATORS, n, seed)


def test_organisation_windows_give_exactly_the_whole_text_matches() -> None:
    # catches a window too narrow (a modifier or an "of the X Y Z" tail cut off) or a window edge away from whitespace
    for text in _random_texts(2000, 16):
        assert [m.span() for m in places._org_matches(text)] == [m.span() for m in places._ORG.finditer(text)], text


@pytest.mark.parametrize(
    "pattern",
    [detectors._LABELLED_ID, detectors._HOST, detectors._DATE_MD_CTX, names._STRONG_CUE, places._FACILITY_CUE,
     places._PLACE_CUE, places._TOPONYM_END],
)  # fmt: skip
def test_caseless_patterns_match_like_their_case_insensitive_source(pattern: Caseless) -> None:
    # catches a lower-cased scan whose spans drift ("İ" lower-cases to two characters) or that misses what (?i)
    # folds ("ſ" is "s", "ı" is "i" to re, not to str.lower)
    plain = re.compile(pattern.source)
    texts = _random_texts(500, 7) + ["HOSPİTAL: seen at Mercy", "Hoſpital: MRN 1234567", "ıN Boston", "MRN: A12345"]
    for text in texts:
        assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in plain.finditer(text)], text
        assert (pattern.search(text) or re.match("", "")).span() == (plain.search(text) or re.match("", "")).span()


def test_caseless_refuses_upper_case_literals() -> None:
    # catches a pattern that would silently never match over lower-cased text
    with pytest.raises(ValueError):
        Caseless(r"(?i)\bMRN\b")
    with pytest.raises(ValueError):
        Caseless(r"\bmrn\b")


def test_importing_text_detection_reads_no_word_list() -> None:
    # catches a list loaded at import again (every Beam worker pays it even when no text is inspected)
    code = (
        "import transforms.text, transforms.text.lexicon as L, transforms.text.places, transforms.text.names\n"
        "loaded = [n for n in L._LOADERS if n in vars(L)]\n"
        "assert not loaded, loaded\n"
        "assert 'smith' in L.SURNAMES and 'SURNAMES' in vars(L)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_name_lists_match_their_generator() -> None:
    # catches data/*.txt edited by hand or out of step with the packages they come from
    pytest.importorskip("names")
    pytest.importorskip("gender_guesser")
    from transforms.text import lexicon
    from transforms.text.data import generate_name_lists

    built = generate_name_lists.lists()
    for file_name, words in built.items():
        assert lexicon._lines(file_name) == words, file_name
    assert lexicon.TOP_SURNAMES == frozenset(built["surnames.txt"][:3000])
    assert lexicon.GIVEN_NAMES == frozenset(built["census_given.txt"]) | frozenset(built["world_given.txt"])


def test_host_chunks_give_exactly_the_whole_text_matches() -> None:
    # catches a chunk cut short of a host name's path or port, or a host missed in a chunk already scanned
    rng = random.Random(3)
    parts = ["www.", "mychart.", "Example-Health", ".org", "/visit?id=3", " ", "\n", ".", "portal", ".clinic", ".com",
             "x@", "..", "2.5", "İ", "ſ", "a.b.c.de", ":8080", "-"]  # fmt: skip
    for _ in range(3000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(1, 30)))
        assert detectors._hosts(text) == detectors._emit(detectors._HOST, text, "URL"), text

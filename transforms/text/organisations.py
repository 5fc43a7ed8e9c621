"""Organisations known by brand alone: health insurers, health systems, labs, pharmacy chains and large employers.

"Aetna", "Kaiser", "Geisinger", "Blue Cross Blue Shield", "Walmart" carry no cue word ("Hospital", "Clinic",
"Inc") for the shape detectors in ``places.py`` to see, yet place a patient (who insures, treats or employs them).
They come from ``data/health_organisations.txt`` (its header names the public lists). A name that is an everyday
English word ("Ascension", "Banner", "Home Depot") or an acronym ("UPS") counts only as written or in capitals;
any other in any case ("tricare", "AETNA"). Capitalised words right after a name belong to it ("Humana Gold Plus",
"Aetna Better Health"), clinical words excepted. One scan of two alternations: linear in the text.
"""

from __future__ import annotations

import functools
import importlib.resources
import re

from transforms.text import lexicon
from transforms.text.caseless import Caseless

_Raw = tuple[int, int, str, tuple[tuple[int, int, str], ...]]
_WORD = re.compile(r"[^\W\d_]+")
# Capitalised words continuing a brand: "Gold Plus", "Better Health", "Medicare Advantage" (two at most).
_STREET_WORDS = frozenset(lexicon.STREET_SUFFIXES) | {"route", "highway", "exit", "suite", "floor", "building"}
_TAIL = re.compile(r"(?: [A-Z][a-z]+(?:-[A-Z]?[a-z]+)?){1,2}")


def _names() -> list[str]:
    text = importlib.resources.files("transforms.text.data").joinpath("health_organisations.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _everyday(name: str) -> bool:
    """Every word of the name an everyday English word, or an acronym ("UPS", "UHC"): then only the forms as
    written and in capitals are the brand."""
    return not any(ch.islower() for ch in name) or all(lexicon.fold(w) in lexicon.COMMON_WORDS for w in _WORD.findall(name))


def _alternation(names: list[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))


@functools.cache
def _patterns() -> tuple[Caseless, re.Pattern[str]]:
    names = _names()
    anycase = [n.lower() for n in names if not _everyday(n)]
    exact = [v for n in names if _everyday(n) for v in (n, n.upper())]
    edge_a, edge_b = r"(?<![\w&'’-])(?:", r")(?![\w&-]|['’][^\Ws])"
    return Caseless("(?i)" + edge_a + _alternation(anycase) + edge_b), re.compile(edge_a + _alternation(exact) + edge_b)


def _tail_end(text: str, end: int) -> int:
    m = _TAIL.match(text, end)
    if m is None:
        return end
    stop = end
    for w in m.group().split(" ")[1:]:
        plain = lexicon.fold(w)
        if (plain in lexicon.CLINICAL_VOCAB and plain not in lexicon.FACILITY_WORDS) or plain in _STREET_WORDS:
            break  # "Cigna Knee", "MinuteClinic Route 9": a clinical word or an address goes on
        stop += 1 + len(w)
    return stop


def find_brand_organisations(text: str) -> list[_Raw]:
    """ORGANIZATION_NAME findings of the brands in the list, with the capitalised words that continue them."""
    out: list[_Raw] = []
    anycase, exact = _patterns()
    for pattern in (anycase, exact):
        for m in pattern.finditer(text):
            out.append((m.start(), _tail_end(text, m.end()), "ORGANIZATION_NAME", ()))
    return out

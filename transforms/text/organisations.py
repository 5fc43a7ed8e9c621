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
from transforms.text.caseless import Caseless, trie_pattern

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
    words = _WORD.findall(name)
    return not any(ch.islower() for ch in name) or all(lexicon.fold(w) in lexicon.COMMON_WORDS for w in words)


@functools.cache
def _patterns() -> tuple[Caseless, re.Pattern[str]]:
    names = _names()
    anycase = [n.lower() for n in names if not _everyday(n)]
    exact = [v for n in names if _everyday(n) for v in (n, n.upper())]
    before, after = r"[\w&'’-]", r"(?![\w&-]|['’][^\Ws])"
    # the names as written start mostly with capitals: with the look-behind past their first character, re skips to
    # them (in lower case nearly every letter starts a name, and the look-behind in front is as fast)
    return (
        Caseless("(?i)(?<!" + before + ")(?:" + trie_pattern(frozenset(anycase)) + ")" + after),
        re.compile("(?:" + trie_pattern(frozenset(exact), behind=before) + ")" + after),
    )


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


# --- the rest of an organisation's name after what a detector found ------------------------------------------

# Legal forms after a firm's name, as written in the countries the notes come from: "van den Broek BV", "Amaldi
# SpA", "Lemaire et Fils", "Villegas y Asociados S.L.", "Conradi Schmidtke GmbH & Co. KGaA".
_LEGAL_FORMS = (
    "Inc Incorporated LLC L.L.C LLP LP Ltd Limited PLC Corp Corporation Co Company Group GmbH AG KG KGaA OHG eG e.V"
    " SE NV N.V BV B.V VOF SA S.A SAS S.A.S SARL S.A.R.L EURL SNC SpA S.p.A SRL S.r.l S.R.L SL S.L SLU S.Coop S.Com"
    " S.A.T Oy Oyj AB ASA A/S ApS s.r.o a.s Kft Zrt Nyrt Ltda EIRELI Sons Söhne Soehne Fils Figli Hijos Hermanos"
    " Brothers Bros Associates Associados Asociados Associati Partners"
).split()
_LEGAL_ALTS = sorted({f for form in _LEGAL_FORMS for f in (form, form.upper())}, key=len, reverse=True)
# Written as the firm writes it (case-sensitive: "AS", "SE", "Co" are also English words in lower case).
_LEGAL_TAIL = re.compile(
    r"(?:,?\s(?:&\s|e\s|et\s|y\s|und\s|and\s)?(?:" + "|".join(re.escape(f) for f in _LEGAL_ALTS) + r")\.?(?![\w]))+"
)
# "Ketting & le Gallen", "Hak & van der Stael", "Smith and Wesson": the partner after an ampersand or "and"
_PARTNER = re.compile(
    r"\s(?:&|and|y|e|et|und)\s((?:(?:van|von|de|der|den|la|le|da|das|do|dos|du|del|di|ten|ter)\s){0,3}"
    r"[A-ZÀ-Þ][^\W\d_]+(?:-[A-ZÀ-Þ]?[^\W\d_]+)?)(?![\w'’-])"
)
_OWNED_TYPES = frozenset({"ORGANIZATION_NAME", "LOCATION", "PERSON_NAME"})


def grow_organisations(text: str, found: list[_Raw]) -> list[_Raw]:
    """ORGANIZATION_NAME findings for the legal form and the partner's name right after a found organisation,
    place or family name ("van den Broek" + " BV"; "Ketting" + " & le Gallen"; "Garcia" + " and Lee LLC")."""
    out: list[_Raw] = []
    for s, end, kind, _ in found:
        if kind not in _OWNED_TYPES:
            continue
        stop = end
        p = _PARTNER.match(text, stop)
        if p is not None and ("&" in p.group()[:3] or (kind == "ORGANIZATION_NAME" and _firm_word(p.group(1)))):
            stop = p.end()
        m = _LEGAL_TAIL.match(text, stop)
        if m is not None:
            stop = m.end()
        if stop > end:
            out.append((s, stop, "ORGANIZATION_NAME", ()))
    return out


def _firm_word(words: str) -> bool:
    plain = lexicon.fold(words.split()[-1])
    return plain not in lexicon.COMMON_WORDS and plain not in lexicon.CLINICAL_VOCAB

"""[CTX] matching: values removed elsewhere from a record (names, IDs, dates) searched for in its remaining text."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date
from functools import lru_cache

from transforms.text import lexicon

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_FULL = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")  # fmt: skip
_COMPACT_DATE = re.compile(r"((?:19|20)\d{2})(\d{2})(\d{2})")
_ISO_DATE = re.compile(r"((?:19|20)\d{2})-(\d{2})-(\d{2})")


def date_spellings(y: int, m: int, d: int) -> list[str]:
    """The ways one date is commonly written: DICOM, ISO, US, European, with month names."""
    ab, full = _MONTH_ABBR[m - 1], _MONTH_FULL[m - 1]
    return [
        f"{y:04d}{m:02d}{d:02d}", f"{y:04d}-{m:02d}-{d:02d}", f"{y:04d}/{m:02d}/{d:02d}", f"{y:04d}.{m:02d}.{d:02d}",
        f"{m:02d}/{d:02d}/{y:04d}", f"{m}/{d}/{y:04d}", f"{m:02d}-{d:02d}-{y:04d}", f"{m:02d}/{d:02d}/{y % 100:02d}",
        f"{m}/{d}/{y % 100:02d}", f"{d:02d}/{m:02d}/{y:04d}", f"{d:02d}.{m:02d}.{y:04d}", f"{d:02d}-{m:02d}-{y:04d}",
        f"{d:02d}-{ab}-{y:04d}", f"{d}-{ab}-{y:04d}", f"{d:02d} {ab} {y:04d}", f"{d} {ab} {y:04d}",
        f"{d} {full} {y:04d}", f"{d:02d}-{ab}-{y % 100:02d}", f"{ab} {d}, {y:04d}", f"{ab} {d} {y:04d}",
        f"{ab}. {d}, {y:04d}", f"{full} {d}, {y:04d}", f"{full} {d} {y:04d}",
    ]  # fmt: skip


def _as_date(value: str) -> tuple[int, int, int] | None:
    m = _COMPACT_DATE.fullmatch(value) or _ISO_DATE.fullmatch(value)
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    try:
        date(y, mo, d)
    except ValueError:
        return None
    return y, mo, d


def context_terms(values: Sequence[str]) -> list[str]:
    """Search terms for context values: each value, its DICOM components and words, and a date's spellings."""
    terms: set[str] = set()
    for value in values:
        terms |= _value_terms(str(value))
    return sorted(terms, key=lambda t: (-len(t), t))


# Words never searched on their own: English function words (a context phrase such as "Hospital of Springfield"
# must not turn every "of" into [CTX]). Words shorter than three letters are never searched either.
STOP_WORDS: frozenset[str] = frozenset(
    """a an and are as at be but by for from had has have he her his in into is it its of on or our she that the
    their them then there these they this to was we were which who will with you your not no nor so than too very
    can may might must shall should would could upon via per out off over under about above after before below
    between through during without within among"""
    .split()
)


def _searchable(term: str, whole: bool) -> bool:
    """Whether a term is worth searching. Never stop words, words shorter than three letters, or one word of
    clinical vocabulary that is not also a name ("Blood", "Serum", "White"); a whole value (or PN component)
    otherwise always; a word of a longer value only when distinctive ("Springfield", not "Bank" or "Care")."""
    bare = term.strip(".,;: ")
    if not bare:
        return False
    if any(ch.isdigit() for ch in bare):
        return len(bare) >= 4
    folded = lexicon.fold(bare).rstrip(".")
    if sum(ch.isalpha() for ch in bare) < 3 or folded in STOP_WORDS or folded in lexicon.HONORIFICS:
        return False
    if " " in bare:
        return True
    is_name = folded in lexicon.GIVEN_NAMES or folded in lexicon.SURNAMES
    if folded in lexicon.CLINICAL_VOCAB:  # "Blood", "Serum": clinical words stay, whole value or not ...
        return folded in lexicon.TOP_SURNAMES or folded in lexicon.CENSUS_GIVEN  # ... unless a common name ("Smith")
    if whole:
        return True
    if folded in lexicon.COMMON_WORDS:
        return is_name
    return True


@lru_cache(maxsize=8192)
def _value_terms(value: str) -> frozenset[str]:
    """The terms of one context value (cached: a patient's values recur in every one of its records)."""
    terms: dict[str, bool] = {}  # term -> is the whole value (or a whole component of a PN)

    def add(term: str, whole: bool) -> None:
        terms[term] = terms.get(term, False) or whole

    for part in value.split("\\"):
        part = part.strip()
        if not part:
            continue
        parsed = _as_date(part[:8]) if part[:8].isdigit() else _as_date(part[:10])
        if parsed:
            for spelling in date_spellings(*parsed):
                add(spelling, True)
        pieces = [p.strip() for p in re.split(r"[\^=]", part) if p.strip()]
        add(" ".join(pieces), True)
        if len(pieces) > 1:
            add(part, True)
        for piece in pieces:
            add(piece, "^" in part)  # a PN component (family or given name) stands on its own
            words = [w for w in re.split(r"[\s,]+", piece) if w]
            for w in words:
                add(w, len(words) == 1 and "^" in part)
        if len(pieces) >= 2:
            add(f"{pieces[1]} {pieces[0]}", True)
            add(f"{pieces[0]}, {pieces[1]}", True)
    return frozenset(t.strip(".,;: ") for t, whole in terms.items() if _searchable(t, whole))


def _edge(ch: str) -> str:
    """What may not touch a term at an end starting (ending) with ``ch``: a letter touches no letter, a digit
    no digit, so a term matches across a letter/digit edge ("Müllerová" in "müllerová24")."""
    if ch.isdigit():
        return r"\d"
    if ch.isalpha():
        return r"[^\W\d_]"
    return r"[^\W_]"


@lru_cache(maxsize=16384)
def _term_pattern(term: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in term.split())
    return re.compile(f"(?<!{_edge(term[0])})" + body + f"(?!{_edge(term[-1])})", re.IGNORECASE)


def _touches(ch: str, edge: str) -> bool:
    if edge.isdigit():
        return ch.isdigit()
    if edge.isalpha():
        return ch.isalpha()
    return ch.isalnum()


def _literal_matches(lowered: str, words: tuple[str, ...]) -> Iterator[tuple[int, int]]:
    """Every (start, end) where ``words`` match as ``_term_pattern`` would, in ASCII text (lowered) — no regex.

    For ASCII text and terms, IGNORECASE is ``lower()``, the edges are ``_touches``, ``\\s`` is ``isspace()``;
    the words contain no whitespace, so the greedy ``\\s+`` never needs to backtrack.
    """
    first = words[0]
    head, tail = first[0], words[-1][-1]
    size = len(lowered)
    start = lowered.find(first)
    while start >= 0:
        if start == 0 or not _touches(lowered[start - 1], head):
            end = start + len(first)
            for word in words[1:]:
                gap = end
                while gap < size and lowered[gap].isspace():
                    gap += 1
                if gap == end or not lowered.startswith(word, gap):
                    end = -1
                    break
                end = gap + len(word)
            if end >= 0 and (end == size or not _touches(lowered[end], tail)):
                yield start, end
        start = lowered.find(first, start + 1)


def _regex_matches(text: str, term: str) -> Iterator[tuple[int, int]]:
    pattern = _term_pattern(term)
    pos = 0
    while True:
        m = pattern.search(text, pos)
        if m is None:
            return
        yield m.start(), m.end()
        pos = m.start() + 1


@lru_cache(maxsize=512)
def _terms(values: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    """The context's terms in alternation order, each with its lowered words when it is ASCII (else None)."""
    return tuple((t, tuple(t.lower().split()) if t.isascii() else None) for t in context_terms(values))


def context_findings(text: str, context: Sequence[str]) -> list[tuple[int, int]]:
    """Spans of ``text`` equal (case-insensitively) to a context value or one of its components.

    The spans are those of one regex alternating every term, longest first (``(?:t1|t2|...)``, word-bounded):
    scanning left to right, the leftmost start where any term matches, the first term in that order winning,
    then on from its end. It is computed without compiling that regex (a record's context is often new):
    ASCII terms in ASCII text are matched literally, others with one cached pattern per term.
    """
    terms = _terms(tuple(context))
    if not terms:
        return []
    lowered = text.lower() if text.isascii() else None
    best: dict[int, int] = {}  # start -> end of the first term (in alternation order) matching there
    for term, words in terms:
        matches = _literal_matches(lowered, words) if lowered is not None and words else _regex_matches(text, term)
        for start, end in matches:
            if start not in best:
                best[start] = end
    spans = []
    done = 0
    for start in sorted(best):
        if start >= done:
            spans.append((start, best[start]))
            done = best[start]
    return spans

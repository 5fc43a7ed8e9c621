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
_CENTURIES = ("19", "20")


def date_spellings(y: int, m: int, d: int) -> list[str]:
    """The ways one date is commonly written: DICOM, ISO, US, European, with month names."""
    ab, full = _MONTH_ABBR[m - 1], _MONTH_FULL[m - 1]
    yyyy, yy, mm, dd, m1, d1 = f"{y:04d}", f"{y % 100:02d}", f"{m:02d}", f"{d:02d}", str(m), str(d)  # formatted once
    return [
        f"{yyyy}{mm}{dd}", f"{yyyy}-{mm}-{dd}", f"{yyyy}/{mm}/{dd}", f"{yyyy}.{mm}.{dd}",
        f"{mm}/{dd}/{yyyy}", f"{m1}/{d1}/{yyyy}", f"{mm}-{dd}-{yyyy}", f"{mm}/{dd}/{yy}",
        f"{m1}/{d1}/{yy}", f"{dd}/{mm}/{yyyy}", f"{dd}.{mm}.{yyyy}", f"{dd}-{mm}-{yyyy}",
        f"{dd}-{ab}-{yyyy}", f"{d1}-{ab}-{yyyy}", f"{dd} {ab} {yyyy}", f"{d1} {ab} {yyyy}",
        f"{d1} {full} {yyyy}", f"{dd}-{ab}-{yy}", f"{ab} {d1}, {yyyy}", f"{ab} {d1} {yyyy}",
        f"{ab}. {d1}, {yyyy}", f"{full} {d1}, {yyyy}", f"{full} {d1} {yyyy}",
    ]  # fmt: skip


def _as_date(value: str) -> tuple[int, int, int] | None:
    if value[:2] not in _CENTURIES:  # both shapes start so: most values are no date
        return None
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
    return [term for term, _ in _terms(tuple(str(value) for value in values))]


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
    """``_is_searchable``, remembered for short terms (the words of names and addresses recur across values)."""
    return _searchable_short(term, whole) if len(term) <= 64 else _is_searchable(term, whole)


def _is_searchable(term: str, whole: bool) -> bool:
    """Whether a term is worth searching. Never stop words, words shorter than three letters, or one word of
    clinical vocabulary that is not also a name ("Blood", "Serum", "White"); a whole value (or PN component)
    otherwise always; a word of a longer value only when distinctive ("Springfield", not "Bank" or "Care")."""
    bare = term.strip(".,;: ")
    if not bare:
        return False
    letters = bare.isalpha()  # then no digit either (letters and digits are distinct Unicode categories)
    if not letters and any(ch.isdigit() for ch in bare):
        return len(bare) >= 4
    folded = lexicon.fold(bare).rstrip(".")
    if (len(bare) if letters else sum(ch.isalpha() for ch in bare)) < 3 or folded in STOP_WORDS \
            or folded in lexicon.HONORIFICS:
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


_searchable_short = lru_cache(maxsize=4096)(_is_searchable)  # at most 4,096 terms of 64 characters


def _value_terms(value: str) -> tuple[frozenset[str], tuple[tuple[int, int, int], ...]]:
    """A context value's terms, but its dates' spellings (whole terms, always searched), and its dates."""
    if _SEPARATED.search(value) is None:  # one word (most values: an ID, a phone, one name): itself, if searched
        parsed = _as_date(value[:8]) if value[:8].isdigit() else _as_date(value[:10])
        own = frozenset((value.strip(".,;: "),)) if _searchable(value, True) else frozenset()
        return own, (parsed,) if parsed else ()
    terms: dict[str, bool] = {}  # term -> is the whole value (or a whole component of a PN)
    dates = []
    for part in value.split("\\"):
        part = part.strip()
        if not part:
            continue
        parsed = _as_date(part[:8]) if part[:8].isdigit() else _as_date(part[:10])
        if parsed:
            dates.append(parsed)
        pn = "^" in part  # a PN component (family or given name) stands on its own
        pieces = [p.strip() for p in _COMPONENTS.split(part) if p.strip()]
        terms[" ".join(pieces)] = True
        if len(pieces) > 1:
            terms[part] = True
        for piece in pieces:
            if pn:
                terms[piece] = True
            else:
                terms.setdefault(piece, False)
            words = [w for w in _WORD_BREAKS.split(piece) if w]
            if len(words) == 1 and pn:
                terms[words[0]] = True
            else:
                for w in words:
                    terms.setdefault(w, False)
        if len(pieces) >= 2:
            terms[f"{pieces[1]} {pieces[0]}"] = True
            terms[f"{pieces[0]}, {pieces[1]}"] = True
    return frozenset(t.strip(".,;: ") for t, whole in terms.items() if _searchable(t, whole)), tuple(dates)


# A value without these is one word: no DICOM components (\\ ^ =) and no word breaks (white space, commas).
_SEPARATED = re.compile(r"[\\^=\s,]")
_COMPONENTS = re.compile(r"[\^=]")
_WORD_BREAKS = re.compile(r"[\s,]+")


# An entry: (-len(term), term, (term, its lowered words when it is ASCII, else None)); entries sort in alternation
# order (longest first, then by the term), the first two fields deciding; the last is what ``_terms`` returns for
# the term, one tuple shared by every context holding it.
_Entry = tuple[int, str, "tuple[str, tuple[str, ...] | None]"]
VALUE_CACHE = 8192  # context values whose own entries are remembered (a patient's values recur in its records)
MAX_CACHED_VALUE = 256  # characters: a longer value's entries are found again at each use
DATE_CACHE = 64  # dates whose spellings' entries are remembered (a record's own dates recur in its texts)


@lru_cache(maxsize=DATE_CACHE)
def _date_entries(date: tuple[int, int, int]) -> tuple[_Entry, ...]:
    """A date's spellings' entries (kept apart from its values', which would each hold a copy of 23)."""
    spellings = date_spellings(*date)
    entries = {t: (-len(t), t, (t, (t,))) for t in spellings[:12]}  # digits and - / . only: lowered, one word
    for t in spellings[12:]:
        entries[t] = (-len(t), t, (t, tuple(t.lower().split())))
    return tuple(entries.values())


def _entries(value: str) -> tuple[tuple[_Entry, ...], tuple[tuple[int, int, int], ...]]:
    own, dates = _value_terms(value)
    return tuple([_entry(t) for t in own]), dates


def _entry(term: str) -> _Entry:
    if not term.isascii():
        return -len(term), term, (term, None)
    lowered = term.lower()
    if lowered == term:
        lowered = term  # one string, not two equal ones
    return -len(term), term, (term, tuple(lowered.split()) if " " in term or not term.isprintable() else (lowered,))


_cached_entries = lru_cache(maxsize=VALUE_CACHE)(_entries)  # a few hundred bytes a term


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
    """The context's terms in alternation order, each with its lowered words when it is ASCII (else None): the
    entries of its values and their dates merged, sorted. A value of at most MAX_CACHED_VALUE characters has its
    entries cached."""
    merged: dict[str, _Entry] = {}
    for value in values:
        if value.__class__ is not str:
            value = str(value)
        own, dates = _cached_entries(value) if len(value) <= MAX_CACHED_VALUE else _entries(value)
        for entry in own:
            merged[entry[1]] = entry
        for date in dates:
            for entry in _date_entries(date):
                merged[entry[1]] = entry
    return tuple([entry[2] for entry in sorted(merged.values())])


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

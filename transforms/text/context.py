"""[CTX] matching: values removed elsewhere from a record (names, IDs, dates) searched for in its remaining text."""

from __future__ import annotations

import re
from collections.abc import Sequence
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
        for part in str(value).split("\\"):
            part = part.strip()
            if not part:
                continue
            parsed = _as_date(part[:8]) if part[:8].isdigit() else _as_date(part[:10])
            if parsed:
                terms.update(date_spellings(*parsed))
            pieces = [p.strip() for p in re.split(r"[\^=]", part) if p.strip()]
            terms.add(" ".join(pieces))
            if len(pieces) > 1:
                terms.add(part)
            for piece in pieces:
                terms.add(piece)
                terms.update(w for w in re.split(r"[\s,]+", piece) if w)
            if len(pieces) >= 2:
                terms.add(f"{pieces[1]} {pieces[0]}")
                terms.add(f"{pieces[0]}, {pieces[1]}")
    keep = []
    for term in terms:
        bare = term.strip(".,;: ")
        if not bare or bare.lower().rstrip(".") in lexicon.HONORIFICS:
            continue
        has_digit = any(ch.isdigit() for ch in bare)
        if len(bare) < (4 if has_digit else 2):
            continue
        keep.append(bare)
    return sorted(keep, key=lambda t: (-len(t), t))


@lru_cache(maxsize=512)
def _pattern(values: tuple[str, ...]) -> re.Pattern[str] | None:
    terms = context_terms(values)
    if not terms:
        return None
    alternatives = [r"\s+".join(re.escape(w) for w in term.split()) for term in terms]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + r")(?![^\W_])", re.IGNORECASE)


def context_findings(text: str, context: Sequence[str]) -> list[tuple[int, int]]:
    """Spans of ``text`` equal (case-insensitively) to a context value or one of its components."""
    pattern = _pattern(tuple(context))
    if pattern is None:
        return []
    return [(m.start(), m.end()) for m in pattern.finditer(text)]

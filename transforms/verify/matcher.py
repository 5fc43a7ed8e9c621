"""A multi-pattern matcher over identifiers (Aho-Corasick, pyahocorasick) with rules against false positives.

Every haystack is searched once, whatever the number of identifiers. Matching is case-insensitive and works on
bytes: a haystack is read as Latin-1 (one character per byte), and each identifier is added in its UTF-8 and
its Latin-1 encodings, so a value is found whatever the destination's character set (ISO_IR 100, ISO_IR 192,
ASCII). Rules that keep a clean destination clean (documented in transforms/verify/README.md):

- minimum lengths: 3 characters for a word of a person name, 4 for everything else; a value made only of
  digits needs 6 digits (5 for a postal code);
- words of a person name that are everyday English words ("May", "Brown", "Will") or titles ("Dr") are not
  searched alone; the whole name still is; a value of any category that is one everyday word is not searched;
- word boundaries: a value shorter than 8 characters matches only as a whole word; a value that starts or
  ends with a digit never matches inside a longer number (nor after a '.', so a date or an ID is not found
  inside a UID); a DICOM date YYYYMMDD may be followed by a time (a DT value);
- dates are matched per patient where the destination instance or resource can be tied to its patient
  (through the study UID / patient reference the same keys give it); otherwise they are matched everywhere;
- the placeholder values the de-identification itself writes (ANONYMIZED, 19000101, ...) are never searched.
"""

from __future__ import annotations

import re
from typing import Iterable, NamedTuple, Optional

import ahocorasick

from transforms.verify.identifiers import ADDRESS, DATE, PERSON_NAME, SCOPE, UID, Identifier

LONG = 8
_DECIMAL = re.compile(r"[+-]?[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?\Z")
PLACEHOLDERS = frozenset({"anonymized", "19000101", "19000101000000", "1900-01-01", "01/01/1900", "1/1/1900",
                          "01-01-1900", "000y", "urn:anonymized", "redacted"})
TITLES = frozenset({"dr", "mr", "mrs", "ms", "miss", "md", "phd", "jr", "sr", "ii", "iii", "iv", "prof", "rn", "dds"})

# Boundary kinds on each side of a match.
_FREE, _WORD, _NUMBER, _NUMBER_OR_DOT = 0, 1, 2, 3


class Match(NamedTuple):
    category: str
    origin: str
    start: int
    end: int


def _common_words() -> frozenset[str]:
    try:
        from transforms.text.lexicon import COMMON_WORDS
    except Exception:  # noqa: BLE001 - the text package's lists are optional here
        return frozenset()
    return COMMON_WORDS


def normalize_bytes(data: bytes) -> str:
    """The form every haystack and pattern is matched in: bytes as Latin-1 characters, lower-cased."""
    return data.decode("latin-1").lower()


def normalize_text(text: str) -> str:
    return normalize_bytes(text.encode("utf-8", "surrogatepass"))


def searchable(identifier: Identifier, common_words: frozenset[str] = frozenset()) -> bool:
    """Whether a value is searched at all (minimum lengths, placeholders, everyday words)."""
    text = identifier.text.strip()
    lowered = text.lower()
    if lowered in PLACEHOLDERS:
        return False
    if identifier.category == PERSON_NAME and " " not in text and "^" not in text and "," not in text:
        return len(text) >= 3 and lowered not in TITLES and lowered not in common_words
    if text.isdigit():
        return len(text) >= (5 if identifier.category == ADDRESS else 6)
    if identifier.category not in (UID, DATE) and _DECIMAL.match(text):
        return False  # a measurement ("0.000000", "5.000000" in a private element) identifies no one
    if text.isalpha() and lowered in common_words:
        return False  # one everyday word ("TEXT", "Other", "Unknown") identifies no one, whatever field held it
    return len(text) >= 4


def _boundaries(text: str, category: str) -> tuple[int, int]:
    first, last = text[0], text[-1]
    short = len(text) < LONG
    if first.isdigit():
        left = _NUMBER_OR_DOT
    else:
        left = _WORD if short and first.isalnum() else _FREE
    if last.isdigit():
        right = _FREE if category == DATE and text.isdigit() and len(text) == 8 else _NUMBER
    else:
        right = _WORD if short and last.isalnum() else _FREE
    return left, right


def _ok(haystack: str, index: int, kind: int) -> bool:
    if kind == _FREE or index < 0 or index >= len(haystack):
        return True
    char = haystack[index]
    if kind == _WORD:
        return not ((char.isascii() and char.isalnum()) or char == "_")  # TOSHIBA is not in TOSHIBA_MEC
    if kind == _NUMBER:
        return not char.isdigit()
    return not (char.isdigit() or char == ".")


class IdentifierMatcher:
    """Built once per worker from the identifier set; ``find`` reports categories and offsets, never values."""

    def __init__(self, identifiers: Iterable[Identifier]):
        self.aliases: dict[str, str] = {}
        entries: dict[str, dict] = {}
        common = _common_words()
        self.size = 0
        for ident in identifiers:
            ident = Identifier(*ident)
            if ident.category == SCOPE:
                self.aliases[ident.text] = ident.scope
                continue
            if not searchable(ident, common):
                continue
            text = ident.text.strip()
            bounds = _boundaries(text, ident.category)
            for variant in {text, text.upper(), text.lower()}:
                for encoding in ("utf-8", "latin-1"):
                    try:
                        key = normalize_bytes(variant.encode(encoding))
                    except UnicodeEncodeError:
                        continue
                    entries.setdefault(key, {})[(ident.category, ident.origin, bounds, ident.scope)] = None
        self._automaton: Optional[ahocorasick.Automaton] = None
        if entries:
            automaton = ahocorasick.Automaton()
            for key, payload in entries.items():
                automaton.add_word(key, (len(key), tuple(payload)))
            automaton.make_automaton()
            self._automaton = automaton
            self.size = len(entries)
        self.scopes = frozenset(self.aliases.values())

    def scope_of(self, key: str) -> str:
        """The patient scope of a destination study UID ("dicom:") or patient reference, or "" when unknown."""
        return self.aliases.get(key, "")

    def find_normalized(self, haystack: str, scope: str = "", skip: frozenset[str] = frozenset()) -> list[Match]:
        if self._automaton is None or not haystack:
            return []
        out: dict[tuple, Match] = {}
        for end, (length, payload) in self._automaton.iter(haystack):
            start = end - length + 1
            for category, origin, (left, right), id_scope in payload:
                if category in skip:
                    continue
                if id_scope and scope and id_scope != scope:
                    continue  # a date of another patient: a shifted date may collide with it
                if not (_ok(haystack, start - 1, left) and _ok(haystack, end + 1, right)):
                    continue
                out.setdefault((category, origin, start), Match(category, origin, start, end + 1))
        return sorted(out.values(), key=lambda m: (m.start, m.category, m.origin))

    def find_bytes(self, data: bytes, scope: str = "", skip: frozenset[str] = frozenset()) -> list[Match]:
        return self.find_normalized(normalize_bytes(data), scope, skip)

    def find_text(self, text: str, scope: str = "", skip: frozenset[str] = frozenset()) -> list[Match]:
        return self.find_normalized(normalize_text(text), scope, skip)

    def __bool__(self) -> bool:
        return self._automaton is not None


__all__ = ["IdentifierMatcher", "Match", "normalize_bytes", "normalize_text", "searchable", "DATE"]

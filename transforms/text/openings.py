"""The words a keyword alternation's alternatives open with, as a look-ahead that lets ``re`` reject a position fast.

CPython's ``re`` tries an alternation branch by branch: a pattern of 150 keywords costs 150 checks at every
position it is tried at. ``opening_lookahead(alternation)`` is a look-ahead of the literal words the alternatives
start with, as a prefix trie (``caseless.trie_pattern``): placed right before the alternation it fails at once
where no alternative can start, and it never fails where one can (every string an alternative matches starts
with one of its words), so the pattern's matches are the same.
"""

from __future__ import annotations

from transforms.text.caseless import alternatives, leading_group_end, trie_pattern

_META = frozenset("\\.^$*+?{}[]|()")
_OPTIONAL = frozenset("?*{")  # a quantifier that lets the character (or group) before it be absent


def openings(alternation: str) -> frozenset[str]:
    """The literal words that every match of the regex ``alternation`` starts with, one per alternative (or per
    alternative of a non-capturing group an alternative opens with): "(?:spoke|met)\\s+with|name\\s+is|brothers?"
    gives {"spoke", "met", "name", "brother"}. An alternative that opens with no literal (a class, an escape, an
    optional group) is refused: no look-ahead could then be exact."""
    words: set[str] = set()
    for alt in alternatives(alternation):
        if alt.startswith("(?:"):
            end = leading_group_end(alt) + 1
            if alt[end : end + 1] in _OPTIONAL:
                raise ValueError(f"an alternative opens with an optional group: {alt!r}")
            words |= openings(alt[3 : end - 1])
            continue
        k = 0
        while k < len(alt) and alt[k] not in _META:
            k += 1
        word = alt[: k - 1] if alt[k : k + 1] in _OPTIONAL else alt[:k]
        if not word:
            raise ValueError(f"an alternative opens with no literal: {alt!r}")
        words.add(word)
    return frozenset(words)


def opening_lookahead(alternation: str) -> str:
    """``(?=...)`` of the shortest opening words of ``alternation`` (a longer one that starts with a shorter one
    adds nothing to a look-ahead)."""
    words = openings(alternation)
    shortest = frozenset(w for w in words if not any(v != w and w.startswith(v) for v in words))
    return "(?=" + trie_pattern(shortest) + ")"

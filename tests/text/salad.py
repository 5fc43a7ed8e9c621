"""Random texts made of given words and separators: inputs on which a fast path and its plain pattern must agree."""

from __future__ import annotations

import random


def word_salad(words, separators, n: int, seed: int) -> list[str]:
    """``n`` texts of 1-40 words each, every word followed by a separator, drawn with a fixed seed."""
    rng = random.Random(seed)
    return ["".join(rng.choice(words) + rng.choice(separators) for _ in range(rng.randint(1, 40))) for _ in range(n)]

"""Ages that the digit patterns in ``detectors.py`` do not read: ages over 89 written in words ("ninety-three
year old", "one hundred and two years old", "aged ninety-one"), "NN years of age", and the sex-suffixed shorthand
of a clinical note ("92F", "101 M"). HIPAA Safe Harbor removes every age over 89; younger ages in words are
reported only with an age word after or before them, like the digit forms. Linear: one pass of each pattern.
"""

from __future__ import annotations

import re

from transforms.text.caseless import Caseless

_Raw = tuple[int, int, str, tuple[tuple[int, int, str], ...]]

_UNITS = r"(?:one|two|three|four|five|six|seven|eight|nine)"
_TENS = r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
_TEENS = r"(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
# one to one hundred and twenty-nine in words: "ninety-three", "ninety three", "one hundred and two", "a hundred"
_NUMBER = (
    r"(?:(?:(?:one|a)[\s-]hundred(?:[\s-](?:and[\s-])?(?:" + _TENS + r"(?:[\s-]" + _UNITS + r")?|" + _TEENS + r"|"
    + _UNITS + r"))?)|" + _TENS + r"(?:[\s-]" + _UNITS + r")?|" + _TEENS + r")"
)
_AGE_AFTER = r"(?:[\s-]years?[\s-]old|[\s-]years?[\s-]of[\s-]age|[\s-]yrs?[\s-]old|[\s-]y/?o\b|[\s-]year[\s-]old)"
_WORD_AGE = Caseless(
    r"(?i)(?<![\w-])(?:" + _NUMBER + r")" + _AGE_AFTER
    + r"|(?<![\w-])(?:aged?|age\s+of)\s+(" + _NUMBER + r")(?![\w-])"
    + r"|\b(?:is|was|now|turned|turns)\s+((?:ninety|(?:one|a)[\s-]hundred)(?:[\s-](?:and[\s-])?(?:" + _TENS
    + r"(?:[\s-]" + _UNITS + r")?|" + _TEENS + r"|" + _UNITS + r"))?)(?=\s*(?:[.,;)]|$))"
    + r"|(?<![\w-])(?:ninety|(?:one|a)[\s-]hundred)(?:[\s-](?:and[\s-])?(?:" + _TENS + r"(?:[\s-]" + _UNITS + r")?|"
    + _TEENS + r"|" + _UNITS + r"))?(?=[\s-](?:year|yr)s?\b)"
)
_YEARS_OF_AGE = Caseless(r"(?i)(?<![\w.])(\d{1,3})\s*(?:years?|yrs?)\s+of\s+age\b")
# "92F", "101 M", "94 yo F" are handled elsewhere; a temperature ("101F", "T 100.4F") or a catheter size ("14F") is
# not an age: only 90-125, not after a temperature word, and not before "r"/"rench".
_SEX_AGE = re.compile(r"(?<![\w.])(9\d|1[01]\d|12[0-5]) ?[MF](?![\w°])")
_TEMPERATURE_BEFORE = Caseless(r"(?i)(?:temp\w*|t\s?max|fever\w*|febrile|afebrile|\bt)\s*[:=]?\s*(?:of\s+|to\s+)?$")


def find_word_ages(text: str) -> list[_Raw]:
    """AGE findings in words and with a sex letter."""
    out: list[_Raw] = []
    low = text.lower()
    if "hundred" in low or "ty" in low or "teen" in low or "ten" in low or "twelve" in low or "eleven" in low:
        for m in _WORD_AGE.finditer(text):
            g = 1 if m.group(1) else 2 if m.group(2) else 0
            out.append((m.start(g), m.end(g), "AGE", ()))
    if "of age" in low:
        out.extend((m.start(1), m.end(1), "AGE", ()) for m in _YEARS_OF_AGE.finditer(text))
    for m in _SEX_AGE.finditer(text):
        if not _TEMPERATURE_BEFORE.search(text[max(0, m.start() - 16) : m.start()]):
            out.append((m.start(1), m.end(1), "AGE", ()))
    return out

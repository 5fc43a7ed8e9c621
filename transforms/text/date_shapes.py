"""Dates in shapes the patterns of ``detectors.py`` do not read: inside file names ("study_2021-03-14.pdf", where
"_" is a word character to ``\\b``), compact ("14MAR2021"), a month with an apostrophe year ("March '21"), spaced
ISO ("2021 03 14"), ordinals in words ("the fifth of January", "January twenty-first"), and holidays with their
year ("Christmas Day 2020"). Each pattern is one pass without nested quantifiers: linear in the text.
"""

from __future__ import annotations

import re

from transforms.text.caseless import Caseless

_Raw = tuple[int, int, str, tuple[tuple[int, int, str], ...]]

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
)
_COMPACT = Caseless(r"(?i)(?<![^\W_])([0-3]?\d)(?:" + _MONTHS + r")((?:19|20)?\d{2})(?![^\W_])")
_APOSTROPHE_YEAR = Caseless(r"(?i)(?<![\w])(?:" + _MONTHS + r")\.?\s?['’]\d{2}(?![\w'’])")
_SPACED_ISO = re.compile(r"(?<![\w.])((?:19|20)\d{2}) (0[1-9]|1[0-2]) (0[1-9]|[12]\d|3[01])(?![\w.]|\s\d)")
_ORDINAL = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth"
    r"|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|(?:twenty|thirty)[\s-]?(?:first|second|third"
    r"|fourth|fifth|sixth|seventh|eighth|ninth)|thirtieth)"
)
_WORD_DATE = Caseless(
    r"(?i)\b(?:the\s+)?" + _ORDINAL + r"\s+(?:of\s+)?(?:" + _MONTHS + r")\b(?:,?\s+(?:19|20)\d{2}\b)?"
    r"|\b(?:" + _MONTHS.replace("|may|", "|") + r")\s+(?:the\s+)?" + _ORDINAL + r"\b(?:,?\s+(?:19|20)\d{2}\b)?"
)
_HOLIDAY = Caseless(
    r"(?i)\b(?:christmas(?:\s+(?:day|eve))?|new\s+year['’]?s(?:\s+(?:day|eve))?|thanksgiving(?:\s+day)?|easter"
    r"(?:\s+(?:sunday|monday))?|independence\s+day|memorial\s+day|labou?r\s+day|veterans['’]?\s+day|halloween"
    r"|valentine['’]?s\s+day|mother['’]?s\s+day|father['’]?s\s+day)\s+(?:of\s+)?(?:19|20)\d{2}\b"
    r"|\b(?:christmas\s+(?:day|eve)|new\s+year['’]?s\s+(?:day|eve)|thanksgiving\s+day)\b"
)
_MONTH_HINT = Caseless(r"(?i)(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)")


def _file_name_dates(text: str) -> list[_Raw]:
    """The numeric and month-name date patterns of ``detectors.py`` run over the text with "_" read as a space
    (same length, so the same offsets): "CT_2021-03-14_ax.dcm", "scan_03-14-2021.pdf"."""
    from transforms.text import detectors  # here: detectors imports this module

    spaced = text.replace("_", " ")
    out: list[_Raw] = []
    for k, pattern in enumerate(detectors._DATE_PATTERNS):
        for m in pattern.finditer(spaced):
            if "_" not in text[max(0, m.start() - 1) : m.end() + 1]:
                continue  # found in the text itself already
            s = m.group()
            if k == 0 and not detectors._compact_date_ok(s):
                continue
            if k in (1, 2) and not detectors._numeric_date_ok(s.split("T")[0]):
                continue
            out.append((m.start(), m.end(), "DATE", ()))
    return out


def find_more_dates(text: str) -> list[_Raw]:
    """DATE findings in the shapes above (a date of birth among them is reported as DATE: the same removal)."""
    out: list[_Raw] = []
    if "_" in text:
        out.extend(_file_name_dates(text))
    month = _MONTH_HINT.search(text) is not None
    if month:
        for m in _COMPACT.finditer(text):
            out.append((m.start(), m.end(), "DATE", ()))
        if "'" in text or "’" in text:
            out.extend((m.start(), m.end(), "DATE", ()) for m in _APOSTROPHE_YEAR.finditer(text))
        out.extend((m.start(), m.end(), "DATE", ()) for m in _WORD_DATE.finditer(text))
    from transforms.text.detectors import _date_ok  # here: detectors imports this module

    for m in _SPACED_ISO.finditer(text):
        if _date_ok(int(m.group(1)), int(m.group(2)), int(m.group(3))):
            out.append((m.start(), m.end(), "DATE", ()))
    low = text.lower()
    if "christmas" in low or "year" in low or "day" in low or "easter" in low or "halloween" in low:
        out.extend((m.start(), m.end(), "DATE", ()) for m in _HOLIDAY.finditer(text))
    return out

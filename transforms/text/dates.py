"""Date shifting that keeps a date's written format and precision (DICOM DA/DT, ISO, US, month names)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from transforms.text.detectors import MONTHS

_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FULL = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
         "November", "December")  # fmt: skip


def _shift(y: int, m: int, d: int, days: int) -> date | None:
    try:
        return date(y, m, d) + timedelta(days=days)
    except (ValueError, OverflowError):
        return None


def _year(text: str, y: int) -> str:
    return f"{y % 100:02d}" if len(text) == 2 else f"{y:04d}"


def _num(text: str, n: int) -> str:
    return f"{n:02d}" if len(text) == 2 else str(n)


def _month_name(original: str, m: int) -> str:
    base = original.rstrip(".")
    if base.lower() == "sept":
        name = "Sept" if m == 9 else _ABBR[m - 1]
    elif len(base) <= 3:
        name = _ABBR[m - 1]
    else:
        name = _FULL[m - 1]
    if base.isupper():
        name = name.upper()
    elif base.islower():
        name = name.lower()
    return name + ("." if original.endswith(".") else "")


def _yy(text: str) -> int:
    n = int(text)
    return n if len(text) == 4 else (2000 + n if n < 50 else 1900 + n)


_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(.*)", re.S)  # YYYYMMDD + DICOM DT time/offset tail
_YEAR_MONTH_COMPACT = re.compile(r"(\d{4})(\d{2})")
_YMD = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(.*)", re.S)
_MDY = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})")
_D_MON_Y = re.compile(r"(\d{1,2})(st|nd|rd|th)?([\s-])([A-Za-z]+\.?)(,?[\s-])(\d{4}|\d{2})")
_MON_D_Y = re.compile(r"([A-Za-z]+\.?)(\s)(\d{1,2})(st|nd|rd|th)?(?:(,?\s)(\d{4}))?")
_MON_Y = re.compile(r"([A-Za-z]+\.?)([\s,-]\s?)(\d{4})")
_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"\d{4}")
_SUFFIXES = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}


def shift_date_text(text: str, days: int) -> str | None:
    """``text`` (one date, as found) moved by ``days``, in the same format and precision; None if not a date.

    Partial dates move as a whole: a month is anchored on its 15th, a year on 2 July, then written back at the
    same precision.
    """
    s = text.strip()
    if s != text:
        shifted = shift_date_text(s, days)
        return None if shifted is None else text.replace(s, shifted, 1)
    if m := _COMPACT.fullmatch(s):
        if m.group(4) and not re.fullmatch(r"\d{2,6}(?:\.\d{1,6})?(?:[+-]\d{4})?|[+-]\d{4}", m.group(4)):
            return None
        new = _shift(int(m.group(1)), int(m.group(2)), int(m.group(3)), days)
        return None if new is None else f"{new.year:04d}{new.month:02d}{new.day:02d}{m.group(4)}"
    if m := _YMD.fullmatch(s):
        y, sep, mo, d, tail = m.groups()
        new = _shift(int(y), int(mo), int(d), days)
        if new is None:
            return None
        return f"{new.year:04d}{sep}{_num(mo, new.month)}{sep}{_num(d, new.day)}{tail}"
    if m := _MDY.fullmatch(s):
        a, sep, b, y = m.groups()
        year = _yy(y)
        new = _shift(year, int(a), int(b), days)
        if new is not None:
            return f"{_num(a, new.month)}{sep}{_num(b, new.day)}{sep}{_year(y, new.year)}"
        new = _shift(year, int(b), int(a), days)  # DD/MM/YYYY
        if new is None:
            return None
        return f"{_num(a, new.day)}{sep}{_num(b, new.month)}{sep}{_year(y, new.year)}"
    if (m := _D_MON_Y.fullmatch(s)) and m.group(4).rstrip(".").lower() in MONTHS:
        d, suffix, sep1, mon, sep2, y = m.groups()
        new = _shift(_yy(y), MONTHS[mon.rstrip(".").lower()], int(d), days)
        if new is None:
            return None
        suffix = _SUFFIXES.get(new.day, "th") if suffix else ""
        return f"{_num(d, new.day)}{suffix}{sep1}{_month_name(mon, new.month)}{sep2}{_year(y, new.year)}"
    if (m := _MON_D_Y.fullmatch(s)) and m.group(1).rstrip(".").lower() in MONTHS:
        mon, sp, d, suffix, sep2, y = m.groups()
        year = int(y) if y else 2001  # no year written: any non-leap year keeps the day arithmetic plain
        new = _shift(year, MONTHS[mon.rstrip(".").lower()], int(d), days)
        if new is None:
            return None
        out = f"{_month_name(mon, new.month)}{sp}{_num(d, new.day)}{_SUFFIXES.get(new.day, 'th') if suffix else ''}"
        return out + (f"{sep2}{new.year:04d}" if y else "")
    if (m := _MON_Y.fullmatch(s)) and m.group(1).rstrip(".").lower() in MONTHS:
        mon, sep, y = m.groups()
        new = _shift(int(y), MONTHS[mon.rstrip(".").lower()], 15, days)
        return None if new is None else f"{_month_name(mon, new.month)}{sep}{new.year:04d}"
    if m := _YEAR_MONTH.fullmatch(s):
        new = _shift(int(m.group(1)), int(m.group(2)), 15, days)
        return None if new is None else f"{new.year:04d}-{new.month:02d}"
    if _YEAR.fullmatch(s):
        new = _shift(int(s), 7, 2, days)
        return None if new is None else f"{new.year:04d}"
    return None


def shift_dicom_date(value: str, vr: str, days: int) -> str | None:
    """A DA or DT value moved by ``days``, keeping its precision (DT ``YYYY``, ``YYYYMM`` ...); None if invalid."""
    v = value.strip()
    if vr == "DA" and re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", v):  # ACR-NEMA style DA
        shifted = shift_date_text(v, days)
        return None if shifted is None else shifted.replace(".", "")
    if len(v) >= 8 and v[:8].isdigit():
        return shift_date_text(v, days)
    if vr == "DT" and (m := _YEAR_MONTH_COMPACT.fullmatch(v[:6])) and len(v) == 6:
        new = _shift(int(m.group(1)), int(m.group(2)), 15, days)
        return None if new is None else f"{new.year:04d}{new.month:02d}"
    if vr == "DT" and len(v) == 4 and v.isdigit():
        return shift_date_text(v, days)
    return None

"""Date shifting for FHIR date, dateTime and instant values, keeping each value's precision and time zone."""

from __future__ import annotations

import datetime
import re

from transforms.errors import DeidentifyError

# date / dateTime / instant: YYYY, YYYY-MM, YYYY-MM-DD, then an optional time part kept verbatim.
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(T.*)?)?)?\Z", re.S)


SHIFT_CACHE_SIZE = 8192  # shifted values remembered a process: a patient's dates repeat across its resources
_SHIFTED: dict[tuple[str, int], str] = {}


def shift_date(value: str, days: int, where: str = "") -> str:
    """Shift a FHIR date/dateTime/instant by ``days``, keeping precision (``YYYY``, ``YYYY-MM``, date, time and zone).

    Partial dates shift the first day of their period and are truncated back to their precision. Raises
    DeidentifyError(INVALID_ARGUMENT) naming ``where`` (never the value) when the value is not a FHIR date.
    Results are remembered by (value, days) in a bounded dict emptied when full (an encounter's time recurs in
    each of its resources, shifted by the same patient's days), a time's day as the date it starts with (the
    times of one day share it); failures are not remembered (``where`` differs).
    """
    if value.__class__ is not str:
        return _shift(value, days, where)
    shifted = _SHIFTED.get((value, days))
    if shifted is None:
        timed = len(value) > 10 and value[10] == "T"  # YYYY-MM-DDT...: the time part is kept as written
        day = _SHIFTED.get((value[:10], days)) if timed else None
        shifted = day + value[10:] if day is not None else _shift(value, days, where)
        if len(_SHIFTED) >= SHIFT_CACHE_SIZE - 1:
            _SHIFTED.clear()
        _SHIFTED[(value, days)] = shifted
        if timed and day is None:
            _SHIFTED[(value[:10], days)] = shifted[:10]
    return shifted


def _shift(value: str, days: int, where: str) -> str:
    match = _DATE.match(value) if isinstance(value, str) else None
    if match is None:
        raise DeidentifyError("INVALID_ARGUMENT", f"{where or 'date'}: not a FHIR date, dateTime or instant")
    year, month, day, rest = match.groups()
    try:
        start = datetime.date(int(year), int(month or 1), int(day or 1))
        shifted = start + datetime.timedelta(days=days)
    except (ValueError, OverflowError):
        raise DeidentifyError("INVALID_ARGUMENT", f"{where or 'date'}: date out of range") from None
    if month is None:
        return f"{shifted.year:04d}"
    if day is None:
        return f"{shifted.year:04d}-{shifted.month:02d}"
    return shifted.isoformat() + (rest or "")


def year_of(value: str) -> int | None:
    """The year of a FHIR date-like value, or None when it is not one."""
    match = _DATE.match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def date_of(value: str) -> datetime.date | None:
    """The first day a FHIR date-like value denotes, or None when it is not one."""
    match = _DATE.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, _ = match.groups()
    try:
        return datetime.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None

"""Date shifting for FHIR date, dateTime and instant values, keeping each value's precision and time zone."""

from __future__ import annotations

import datetime
import re

from transforms.errors import DeidentifyError

# date / dateTime / instant: YYYY, YYYY-MM, YYYY-MM-DD, then an optional time part kept verbatim.
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(T.*)?)?)?\Z", re.S)


def shift_date(value: str, days: int, where: str = "") -> str:
    """Shift a FHIR date/dateTime/instant by ``days``, keeping precision (``YYYY``, ``YYYY-MM``, date, time and zone).

    Partial dates shift the first day of their period and are truncated back to their precision. Raises
    DeidentifyError(INVALID_ARGUMENT) naming ``where`` (never the value) when the value is not a FHIR date.
    """
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

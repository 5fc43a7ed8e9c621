"""HIPAA Safe Harbor rules the config grammar cannot express: 3-digit ZIPs, ages over 89, birth dates of the very old.

45 CFR 164.514(b)(2)(i)(B): the initial three digits of a ZIP code may be kept when the geographic unit they
form holds more than 20,000 people (Census 2000, the figures HHS points to); otherwise they become 000.
(C): all ages over 89, and all elements of dates (including year) indicative of such age, are aggregated into
a single category of age 90 or older.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

from transforms.fhir.dates import date_of, shift_date

# 3-digit ZIP areas with 20,000 or fewer people (2000 Census), as listed in HHS's Safe Harbor guidance.
RESTRICTED_ZIP3 = frozenset(
    {
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    }
)
_US_ZIP = re.compile(r"\s*(\d{3})\d{2}(?:[-\s]?\d{4})?\s*\Z")
_US_COUNTRIES = frozenset({"", "us", "usa", "u.s.", "u.s.a.", "united states", "united states of america"})
AGE_LIMIT = 89

# UCUM / common unit spellings of an Age, in years per unit.
_YEARS_PER_UNIT = {
    "a": Decimal(1), "yr": Decimal(1), "year": Decimal(1), "years": Decimal(1),
    "mo": Decimal(1) / 12, "month": Decimal(1) / 12, "months": Decimal(1) / 12,
    "wk": Decimal(7) / Decimal("365.25"), "week": Decimal(7) / Decimal("365.25"), "weeks": Decimal(7) / Decimal("365.25"),
    "d": Decimal(1) / Decimal("365.25"), "day": Decimal(1) / Decimal("365.25"), "days": Decimal(1) / Decimal("365.25"),
}  # fmt: skip


def zip3(postal_code: str, country: Any | None) -> str | None:
    """``02139`` -> ``021``; a restricted area -> ``000``. Non-US or non-ZIP codes are not kept (None)."""
    country_name = country.strip().lower() if isinstance(country, str) else ""
    match = _US_ZIP.match(postal_code)
    if country_name not in _US_COUNTRIES or match is None:
        return None
    prefix = match.group(1)
    return "000" if prefix in RESTRICTED_ZIP3 else prefix


def _years(value: Any, unit: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    per = _YEARS_PER_UNIT.get(unit.strip().lower()) if isinstance(unit, str) else None
    if per is None:
        return None
    return Decimal(str(value)) * per


def aggregate_age(age: dict[str, Any]) -> dict[str, Any]:
    """An Age over 89 years becomes ``>= 90 a`` (UCUM years); younger ages are returned unchanged."""
    years = _years(age.get("value"), age.get("code") or age.get("unit"))
    if years is None or years <= AGE_LIMIT:
        return age
    out = {k: v for k, v in age.items() if k not in ("value", "comparator", "unit", "code", "system")}
    out.update({"value": 90, "comparator": ">=", "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"})
    return out


def birth_date(value: str, days: int, reference: datetime.date, where: str) -> str:
    """Shift a birth date; when it shows an age over 89 at ``reference``, give only the year of age 90."""
    born = date_of(value)
    if born is not None:
        age = reference.year - born.year - ((reference.month, reference.day) < (born.month, born.day))
        if age > AGE_LIMIT:
            return f"{reference.year - 90:04d}"
    return shift_date(value, days, where)

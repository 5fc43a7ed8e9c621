"""Address parts that the street and ZIP patterns in ``detectors.py`` and ``places.py`` do not read: an apartment
on its own ("Apt 4B", "Apartment 12"), rural routes and highway contracts with their box ("RR 2 Box 45", "HC 1 Box
9"), a street in lower case after a residence cue ("lives at 18 elm st"), and a ZIP code named in a sentence
("zip is 60614", "the 10027 zip code"). Apartments are always someone's home; "Suite", "Unit" and "Room" are not
taken alone (a clinic's suite, a hospital's unit). One pass of each pattern: linear in the text.
"""

from __future__ import annotations

import re

from transforms.text import lexicon
from transforms.text.caseless import Caseless

_Raw = tuple[int, int, str, tuple[tuple[int, int, str], ...]]

# "apt" is also an appointment ("next apt 1 week"): no time unit after the number, no "3x" (times a day)
_APARTMENT = Caseless(
    r"(?i)(?<![\w-])(?:apt|apartment)\.?\s?#?\s?(?:[a-wyz]?\d+[a-wyz]?(?:-\d+[a-z]?)?)(?![\w-])"
    r"(?!\s*(?:hours?|hrs?|days?|weeks?|wks?|months?|mos?|min|minutes?|times|pm|am|o'?clock)\b)"
)
_RURAL_ROUTE = Caseless(
    r"(?i)(?<![\w-])(?:rr|r\.r\.|rural\s+route|hc|star\s+route|psc|cmr)\s?#?\s?\d{1,4},?\s+box\s+#?\d{1,5}(?![\w-])"
)
_SUFFIX = "|".join(sorted(lexicon.STREET_SUFFIXES, key=len, reverse=True))
_LOWER_STREET = Caseless(
    r"(?i)\b(?:lives?|living|lived|resides|residing|stays|staying|moved)\s+(?:at|to)\s+"
    r"(\d{1,6}[a-z]?\s(?:[a-z][a-z'’-]*\s){1,3}(?:" + _SUFFIX + r")\b\.?)"
)
_ZIP_SENTENCE = Caseless(
    r"(?i)\b(?:zip|zip\s?code|postal\s+code|postcode)\s+(?:is|was|of|=)\s+(\d{5}(?:-\d{4})?)(?![\w-])"
    r"|(?<![\w-])(\d{5}(?:-\d{4})?)\s+(?:zip|zip\s?code|postal\s+code)\b"
)


def find_address_parts(text: str) -> list[_Raw]:
    """STREET_ADDRESS findings for apartments, rural routes and lower-case streets; LOCATION for ZIP codes."""
    out: list[_Raw] = []
    low = text.lower()
    if "ap" in low:
        out.extend((m.start(), m.end(), "STREET_ADDRESS", ()) for m in _APARTMENT.finditer(text))
    if "box" in low:
        out.extend((m.start(), m.end(), "STREET_ADDRESS", ()) for m in _RURAL_ROUTE.finditer(text))
    if " at " in low or " to " in low:
        out.extend((m.start(1), m.end(1), "STREET_ADDRESS", ()) for m in _LOWER_STREET.finditer(text))
    if "zip" in low or "postal" in low or "postcode" in low:
        for m in _ZIP_SENTENCE.finditer(text):
            g = 1 if m.group(1) else 2
            out.append((m.start(g), m.end(g), "LOCATION", ()))
    return out

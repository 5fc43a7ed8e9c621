"""Dev-time script (not imported at run time): regenerates the name lists lexicon.py reads from pip packages.

Writes, next to this file, plain word lists that load with one ``split`` (tens of milliseconds, not the ~0.2 s of
parsing the packages' own files on every worker):
  surnames.txt       US census 1990 surnames, in the census's frequency order (lexicon.TOP_SURNAMES is the first
                     3,000), from names==0.3.0 (dist.all.last)
  census_given.txt   US census 1990 female and male first names, from names==0.3.0
  world_given.txt    first names of many countries: the 48,000-name dictionary of Jörg Michael's "gender" program,
                     shipped by gender-guesser==0.4.0 (data/nam_dict.txt). Compound names ("Abdel+Aziz") give each of
                     their parts, folded to lower case without accents; entries spelt with <..> escapes are skipped.
Run: python -m transforms.text.data.generate_name_lists
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from transforms.text.lexicon import fold

HERE = Path(__file__).resolve().parent


def census(file_name: str) -> list[str]:
    """One census file's names, lower case, in the file's (frequency) order."""
    text = importlib.resources.files("names").joinpath(file_name).read_text(encoding="ascii")
    return [line.split()[0].lower() for line in text.splitlines() if line.strip()]


def world_given() -> list[str]:
    raw = importlib.resources.files("gender_guesser").joinpath("data/nam_dict.txt").read_bytes()
    out: set[str] = set()
    for line in raw.decode("iso-8859-1").splitlines():
        if line.startswith("#") or len(line) < 4:
            continue
        name = line[3:29].strip()
        if not name or "<" in name:
            continue
        for part in name.replace("+", " ").replace("-", " ").split():
            if len(part) >= 2:
                out.add(fold(part))
    return sorted(out)


def lists() -> dict[str, list[str]]:
    """File name -> words, exactly as written."""
    return {
        "surnames.txt": census("dist.all.last"),
        "census_given.txt": sorted(set(census("dist.female.first")) | set(census("dist.male.first"))),
        "world_given.txt": world_given(),
    }


def main() -> None:
    for name, words in lists().items():
        (HERE / name).write_text("\n".join(words) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

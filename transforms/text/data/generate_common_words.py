"""Dev-time script (not imported at run time): regenerates common_words.txt from pip-packaged word lists.

common_words.txt lists lowercase English words that must not, on their own, make a capitalised token a name.
It is generated, not hand-written, from three pip packages (install them only to regenerate):
  english-words==2.0.2  (Webster's 2nd "web2" list: words spelled lowercase there are common words)
  wordfreq==3.1.1       (Zipf frequency, to drop obscure dictionary entries)
  names==0.3.0          (US census 1990 name lists, the same lists the detector uses)
Rules: non-name words with Zipf >= 2.5; census surnames that are everyday words (Zipf >= 4.4, e.g. "white",
"hall"); census first names are never added except WORDLIKE_FIRST_NAMES below ("will", "may", "mark" ...).
Run: python -m transforms.text.data.generate_common_words > transforms/text/data/common_words.txt
"""

import importlib.resources

from english_words import get_english_words_set
from wordfreq import zipf_frequency

WORDLIKE_FIRST_NAMES = (
    "will may mark bill hope grace faith joy rose june april august art guy dean frank page rich sandy summer "
    "autumn ray miles chase rusty penny ruby pearl lily iris ivy holly dawn crystal amber hunter major king "
    "sterling earnest an al ed so ma la le lo in do de ha mi sun"
).split()


def _census(name: str) -> set[str]:
    text = importlib.resources.files("names").joinpath(name).read_text()
    return {line.split()[0].lower() for line in text.splitlines() if line.strip()}


def main() -> None:
    last = _census("dist.all.last")
    first = _census("dist.female.first") | _census("dist.male.first")
    web2 = {w for w in get_english_words_set(["web2"], lower=False) if w.islower() and w.isalpha()}
    words = {w for w in web2 if w not in last and w not in first and zipf_frequency(w, "en") >= 2.5}
    words |= {w for w in web2 & last if w not in first and zipf_frequency(w, "en") >= 4.4}
    words |= set(WORDLIKE_FIRST_NAMES)
    print("\n".join(sorted(words)))


if __name__ == "__main__":
    main()

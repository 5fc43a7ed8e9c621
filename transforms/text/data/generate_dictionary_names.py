"""Dev-time script (not imported at run time): regenerates dictionary_names.txt from pip-packaged word lists.

dictionary_names.txt lists the census surnames and world first names that are also lowercase entries of an
English dictionary ("echo", "tee", "shoulder", "score", "holder"): on their own such words are weak evidence of
a name. Census first names are kept out ("jane", "mark" stay names). Sources (install only to regenerate):
  english-words==2.0.2   (Webster's 2nd "web2" list: lowercase entries are ordinary words)
  names==0.3.0, gender-guesser==0.4.0  (the name lists transforms/text/lexicon.py reads)
Run: python -m transforms.text.data.generate_dictionary_names > transforms/text/data/dictionary_names.txt
"""

from english_words import get_english_words_set

from transforms.text import lexicon


def main() -> None:
    words = {w for w in get_english_words_set(["web2"], lower=False) if w.islower() and w.isalpha()}
    names = (lexicon.SURNAMES | lexicon.GIVEN_NAMES) - lexicon.CENSUS_GIVEN
    print("\n".join(sorted(words & names)))


if __name__ == "__main__":
    main()

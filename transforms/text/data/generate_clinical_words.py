"""Dev-time script (not imported at run time): regenerates clinical_words.txt from pip-packaged terminologies.

clinical_words.txt lists lowercase words of clinical vocabulary: negative evidence for the name and location
detectors ("Keppra", "Hodgkin", "knee", "serum" are clinical words, not people). Two sources, both pip packages
(install them only to regenerate):
  simple-icd-10-cm==1.5.0  (CMS ICD-10-CM 2026 tabular list: every word of every description, inclusion
                            term and note — anatomy, findings, eponymous diseases and signs)
  drug-named-entity-recognition==2.0.9  (MIT; one-word generic and brand drug names from MedlinePlus,
                            DrugBank and Wikipedia; its pickle takes seconds to load, hence this extract)
Drug names that are census first names are left out (a drug called "Amber" must not hide a person).
Run: python -m transforms.text.data.generate_clinical_words > transforms/text/data/clinical_words.txt
"""

import bz2
import importlib.resources
import pickle
import re


def _icd_words() -> set[str]:
    xml = importlib.resources.files("simple_icd_10_cm").joinpath("data/icd10c-tabular-April-1-2026.xml").read_text()
    words = set()
    for text in re.findall(r">([^<>]+)<", xml):
        for word in re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", text):
            word = word.lower().removesuffix("'s").strip("'-")
            if len(word) >= 3 and word.replace("-", "").replace("'", "").isalpha():
                words.update(p for p in word.split("-") if len(p) >= 3)
    return words


def _drug_words(first_names: set[str]) -> set[str]:
    path = importlib.resources.files("drug_named_entity_recognition").joinpath("drug_ner_dictionary.pkl.bz2")
    with bz2.open(path) as fh:
        data = pickle.load(fh)  # noqa: S301 - a pinned package's own data file
    words = set()
    for variant in data["drug_variant_to_canonical"]:
        word = variant.lower()  # one-word names only: the words of "abacavir, ... and lamivudine" are no drugs
        if len(word) >= 4 and word.isalpha() and word.isascii() and word not in first_names:
            words.add(word)
    return words


def main() -> None:
    census = importlib.resources.files("names")
    first = set()
    for name in ("dist.female.first", "dist.male.first"):
        first |= {line.split()[0].lower() for line in census.joinpath(name).read_text().splitlines() if line.strip()}
    print("\n".join(sorted(_icd_words() | _drug_words(first))))


if __name__ == "__main__":
    main()

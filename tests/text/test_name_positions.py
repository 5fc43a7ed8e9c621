"""Names by their position in a sentence: a run followed by its age or by a verb of presentation, and the word
after a first name written in the same case. With the clinical sentences of the same shape that must stay.

Every expected span is a literal written by hand (not copied from the evaluation sets), never computed by the
detector.
"""

import pytest

from transforms.text import detect

NAMES = frozenset({"PERSON_NAME"})


def names(text):
    return [text[f.start : f.end] for f in detect(text, NAMES)]


@pytest.mark.parametrize(
    "text,name",
    [
        # sentence-initial family names, known only by what follows (was: no cue, so nothing)
        ("Carter is a 45 yo male with chest pain.", "Carter"),
        ("Hope is a 72-year-old woman.", "Hope"),
        ("Abernathy presents with dyspnea.", "Abernathy"),
        # the family name after a first name, in the same case (was: the first name only)
        ("Emergency contact: Hildegard Poulsbo (son).", "Hildegard Poulsbo"),
        ("Transcribed by anna seppälä", "anna seppälä"),
        ("Signed: Rayaan Rattan, RN", "Rayaan Rattan"),
    ],
)
def test_names_by_position(text, name):
    assert name in names(text)


@pytest.mark.parametrize(
    "text",
    [
        "Patient is a 45 yo male.",
        "She is a 60 year old female.",
        "Pain is a 7/10.",
        "Parkinson is a 5 year history.",
        "Dyspnea presents on exertion.",
        "Cough presents at night.",
        "Wound tolerated dressing change.",
        "Grace period ends today.",
        "Will call back.",
        "Tylenol Extra Strength given.",
    ],
)
def test_clinical_sentences_of_the_same_shape_stay(text):
    assert names(text) == []

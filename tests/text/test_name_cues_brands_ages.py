"""Names by label and shape (name_cues.py), organisations by brand (organisations.py) and ages in words (ages.py),
end to end in DICOM (DEIDENTIFY_TAG_CONTENTS, ImageComments) and FHIR (cleanTextField, redact), and in process.

Every expected value is a literal written by hand from what a reader sees in the sentence, never computed by the
code under test. The comment on each case says which broken code it catches.
"""

from __future__ import annotations

import re

import pytest

from tests.text.test_issue16 import REDACT, TAG_CONTENTS, dicom_comment, fhir_value
from transforms.text import detect
from transforms.text.policy import DEFAULT_TEXT_INFO_TYPES

DEFAULTS = frozenset(DEFAULT_TEXT_INFO_TYPES)

# (input, DICOM DEIDENTIFY_TAG_CONTENTS output, FHIR redact output)
CASES = [
    # _LABEL_CUE / _cued_names: a lower-case name with no census first name after a person label (names.py scores
    # "laus" 0): broken if the label cue or the unknown-word acceptance goes
    ("Technologist: laus nissen", "Technologist: [PERSON_NAME]", "Technologist: "),
    # the "ref phys" cue and capitalised census words that are also English ("COOPER"): broken without the
    # REF PHYS alternative or if a capitalised common census name is refused after a label
    ("REF PHYS COOPER MARCUS", "REF PHYS [PERSON_NAME]", "REF PHYS "),
    # a lone surname after "spoke with" that names.py drops as an eponym ("regarding" is in ICD-10-CM): broken if
    # _cued_names runs its run through _clinical_neighbours or stops on "regarding" before the name
    ("Spoke with Collier regarding results.", "Spoke with [PERSON_NAME] regarding results.",
     "Spoke with  regarding results."),
    # _inverted_names: LAST, FIRST in capitals with words no name list has, after a person label; the clinical
    # words after it stay: broken if both sides must be lexicon names or if the run swallows MRI BRAIN
    ("REF: DURMUS, TIGIN MRI BRAIN", "REF: [PERSON_NAME] MRI BRAIN", "REF:  MRI BRAIN"),
    ("PATIENT: NAGY, ERZSEBET", "PATIENT: [PERSON_NAME]", "PATIENT: "),
    # _grown / _cued_names particles: Irish "ó" inside a lower-case name after a relative: broken if the particle
    # ends the run (the scorer would then see "scanaill" kept)
    ("seen with daughter julia ó scanaill at bedside", "seen with daughter [PERSON_NAME] at bedside",
     "seen with daughter  at bedside"),
    # _grown: "Mac an" after a first name found by names.py: broken if the particle chain is not followed
    ("Read by Dr. Emily Mac an Adhastair.", "Read by Dr. [PERSON_NAME].", "Read by Dr. ."),
    # _grown / _file_name_names: the surname before a first name in a file name ("Booker" is an English word); the
    # separators stay: broken if the neighbour part is not taken or its span swallows the "_"
    ("Booker_Rachel_chest.dcm", "[PERSON_NAME]_[PERSON_NAME]_chest.dcm", "__chest.dcm"),
    # _file_name_names: two name-list words side by side in a file name, in capitals, and a path with an initial
    # glued to a family name: broken if file names are not read or only capitalised words count
    ("SMITH_JOHN_CT.dcm", "[PERSON_NAME]_[PERSON_NAME]_CT.dcm", "__CT.dcm"),
    ("C:\\Users\\mlopez\\Desktop\\report.docx", "C:\\Users\\[PERSON_NAME]\\Desktop\\report.docx",
     "C:\\Users\\\\Desktop\\report.docx"),
    # _names_before_narration: a lone surname before "was seen", a lower-case name before "called"
    ("Perkins was seen in clinic today.", "[PERSON_NAME] was seen in clinic today.", " was seen in clinic today."),
    ("kerstin gustafsson called asking about discharge.", "[PERSON_NAME] called asking about discharge.",
     " called asking about discharge."),
    # date_shapes.py: a compact date, spelled ordinals
    ("CT HEAD 14MAR2021", "CT HEAD [DATE]", "CT HEAD "),
    ("seen on the fifth of January", "seen on [DATE]", "seen on "),
    # addresses.py: an apartment alone, a rural route, "zip is"
    ("Apt 4B, 22 West 10th Street", "[LOCATION], [LOCATION]", ", "),
    ("patient's zip is 60614", "patient's zip is [LOCATION]", "patient's zip is "),
    # addresses.find_city_state_zips: "City ST 12345" with brackets, bare commas, slashes or semicolons, and in lower
    # case: broken if only ", " and " " may join the three
    ("Dayton (OH) 45402", "[LOCATION] (OH) [LOCATION]", " (OH) "),
    ("12 Main St; Dayton; OH; 45402", "[LOCATION]; [LOCATION]; OH; [LOCATION]", "; ; OH; "),
    ("lives in euclid, tx 75001", "lives in [LOCATION], tx [LOCATION]", "lives in , tx "),
    # organisations.grow_organisations: the partner after "&" (particles and all): broken if the firm stops at "&"
    ("Occupation: accountant at Ketting & le Gallen", "Occupation: accountant at [LOCATION]",
     "Occupation: accountant at "),
    # the legal form after a family name read as a firm
    ("Works at van den Broek BV as an engineer.", "Works at van den [LOCATION] as an engineer.",
     "Works at van den  as an engineer."),
    # organisations.py: insurers and health systems without a cue word (Aetna, BCBS, Geisinger, any case for a
    # non-English brand, tricare): broken if the list is not loaded or the any-case alternation is case-sensitive
    ("Insurance: Aetna, secondary Blue Cross Blue Shield.", "Insurance: [LOCATION], secondary [LOCATION].",
     "Insurance: , secondary ."),
    ("Follow up at Geisinger in 2 weeks.", "Follow up at [LOCATION] in 2 weeks.", "Follow up at  in 2 weeks."),
    ("insurance: tricare prime", "insurance: [LOCATION] prime", "insurance:  prime"),
    ("Works at Walmart.", "Works at [LOCATION].", "Works at ."),
    # ages.py: ages over 89 in words and after "is": broken if _WORD_AGE's tens/units/hundreds are not combined
    ("a ninety-three year old man", "a [AGE] man", "a  man"),
    ("She is ninety.", "She is [AGE].", "She is ."),
    ("aged one hundred and two, lives alone", "aged [AGE], lives alone", "aged , lives alone"),
    # ages.py _SEX_AGE: "92F" is an age, the sex letter stays
    ("92F with dementia", "[AGE]F with dementia", "F with dementia"),
]


@pytest.mark.parametrize(("text", "dicom", "fhir"), CASES)
def test_found_in_dicom_and_fhir(text, dicom, fhir):
    assert dicom_comment(text, TAG_CONTENTS) == dicom
    assert fhir_value(text, REDACT) == fhir


def test_date_inside_a_file_name_is_shifted_or_removed():
    # date_shapes._file_name_dates: "_" is a word character to the ISO pattern's look-behind; DICOM shifts the
    # date (the shifted value depends on the key: only its shape is known), FHIR redact removes it
    out = dicom_comment("study_2021-03-14.pdf", TAG_CONTENTS)
    assert re.fullmatch(r"study_\d{4}-\d{2}-\d{2}\.pdf", out) and "2021-03-14" not in out
    assert fhir_value("study_2021-03-14.pdf", REDACT) == "study_.pdf"


KEPT = [
    # relation and verb cues without a colon take no English word in capitals, no hyphenated kin, no clinical
    # abbreviation; LAST, FIRST without a name-list word needs a person label (PhysioNet nursing notes)
    "SOCIAL- DAUGHTER, FRIENDS IN TO VISIT. SON BROUGHT HIM IN. SOCIAL=DAUGHTER & SON-IN-LAW PRESENT.",
    "ID: AFEBRILE, CONT ABX. A: ESRD, ESHD. Seen by ho. WAS IN USOH. STARTED UNASYN/CLINDA/VANCO/IVF.",
    # find_city_state_zips: a unit before a state-like word and a number is no city ("min, IN 30000")
    "BP 120/80 after 45 min, in 30000 steps",
    # _SEX_AGE: a temperature and a catheter size in French are no ages (broken without _TEMPERATURE_BEFORE or the
    # 90-125 range)
    "Temp 101F overnight, 14F Foley placed.",
    # _cued_names: an eponym right after a label is the device or the procedure (CLINICAL_WORDS first word)
    "Tech: Holter hookup",
    "Discussed with Whipple team.",
    # _STATE_LABEL: after "Patient:" an English word is the patient's state
    "Patient: Alert, oriented",
    "Patient: Ambulating well",
    # _THING_NAME: a procedure's name is no person's
    "Procedure name: Knee X-ray",
    # organisations.py: brand names that are clinical terms were left out of the list (MRI field strengths,
    # vaccines, the burn formula), and an acronym brand matches only as written ("ups" in "check ups")
    "MRI at 3T; 1.5 tesla magnet. Pfizer vaccine given. Parkland formula started. Annual check ups.",
    # _inverted_names: drug lists and eponym lists are not LAST, FIRST
    "Dx: Parkinson, Graves. Procedure: Whipple, Nissen.",
    "Sequences: FLAIR, DWI, SWI.",
]


@pytest.mark.parametrize("text", KEPT)
def test_clinical_text_stays(text):
    found = [(text[f.start : f.end], f.info_type) for f in detect(text, DEFAULTS)]
    assert [x for x in found if x[1] in ("PERSON_NAME", "AGE", "ORGANIZATION_NAME", "LOCATION")] == []
    assert dicom_comment(text, TAG_CONTENTS) == text


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Covered by Ascension since May.", ["Ascension"]),  # an everyday-word brand as written
        ("CALLED ASCENSION TODAY", ["ASCENSION"]),  # and in capitals
        ("Buys at Home Depot.", ["Home Depot"]),
        ("the ascension of the aorta", []),  # in lower case an everyday word
        ("Re-Ascension x&Ascension", []),  # a hyphen or an ampersand before it: part of another word
    ],
)
def test_brands_as_written_start_where_the_plain_look_behind_lets_them(text: str, found: list[str]) -> None:
    # catches the look-behind moved past a brand's first character (organisations._patterns) testing the wrong
    # character, or a brand's first letter lost from the trie
    from transforms.text.organisations import find_brand_organisations

    assert [text[s:e] for s, e, _, _ in find_brand_organisations(text)] == found

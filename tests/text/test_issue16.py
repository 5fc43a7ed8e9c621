"""Issue 16's examples, end to end in DICOM (cleanTextTag, DEIDENTIFY_TAG_CONTENTS) and FHIR (cleanTextField with
text.additionalTransformations), with [INFO_TYPE], redact and [CTX] outputs.

Every expected value is a literal string written from the API's documentation or the issue (an independent
oracle), never computed by the code under test. The comment on each case says which broken code it catches.
"""

from __future__ import annotations

import io
import time

import pydicom
import pytest

from tests.dicom.test_deidentify import to_bytes
from tests.fhir.conftest import field_config, policy_of
from transforms.config import parse_config
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.dicom.sample import SamplePatient, sample_dataset
from transforms.fhir import deidentify_resource
from transforms.fhir.textclean import coded_text
from transforms.text import TextPolicy, clean_text, detect
from transforms.text.context import context_findings

KEYS = Keys(run_key=bytes(range(32)))
REPLACE = {"additionalTransformations": [{"replaceWithInfoTypeConfig": {}}]}
REDACT = {"additionalTransformations": [{"redactConfig": {}}]}
CLEAN_TAG = {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE",
                                "actions": [{"queries": ["ImageComments"], "cleanTextTag": {}}]}}  # fmt: skip
TAG_CONTENTS = {"dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"}}


def dicom_comment(comment: str, config: dict, patient_name: str | None = None) -> str:
    ds = sample_dataset(SamplePatient(8))
    if patient_name is not None:
        ds.PatientName = patient_name
    ds.ImageComments = comment
    out = deidentify_instance(to_bytes(ds), compile_dicom_policy(parse_config(config)), KEYS).data
    return str(pydicom.dcmread(io.BytesIO(out)).get("ImageComments") or "")


def fhir_value(text: str, text_config: dict | None, context: tuple[str, ...] = ()) -> str | None:
    config = field_config({"paths": ["Observation.valueString"], "cleanTextField": {}})
    if text_config is not None:
        config["text"] = text_config
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "Note"}, "valueString": text}
    return deidentify_resource(obs, policy_of(config), KEYS, context=list(context)).get("valueString")


def replaced(text: str) -> str:
    return clean_text(text, TextPolicy.from_config(parse_config({"text": REPLACE}).text), KEYS, patient="P")


def redacted(text: str) -> str:
    return clean_text(text, TextPolicy.from_config(parse_config({"text": REDACT}).text), KEYS, patient="P")


# --- the API's own example, in every place the issue names -------------------------------------------------
# Catches: a name detector that needs two words or a title ("Jane" alone after "My name is"), a redact that
# trims the surrounding spaces, and a config path (cleanTextTag / tag contents / cleanTextField) that ignores
# the text block's transformations.


@pytest.mark.parametrize("dicom", [CLEAN_TAG, TAG_CONTENTS], ids=["cleanTextTag", "DEIDENTIFY_TAG_CONTENTS"])
def test_my_name_is_jane_in_dicom(dicom):
    assert dicom_comment("My name is Jane.", {**dicom, "text": REPLACE}) == "My name is [PERSON_NAME]."
    assert dicom_comment("My name is Jane.", {**dicom, "text": REDACT}) == "My name is ."
    assert dicom_comment("My name is Jane.", dicom) == "My name is [PERSON_NAME]."  # BASIC profile: replace


def test_my_name_is_jane_in_fhir():
    assert fhir_value("My name is Jane.", REPLACE) == "My name is [PERSON_NAME]."
    assert fhir_value("My name is Jane.", REDACT) == "My name is ."
    assert fhir_value("My name is Jane.", None) == "My name is [PERSON_NAME]."


# --- names: cues, case, order, initials, particles, accents, file names --------------------------------------
# Each case is a shape the issue lists as missed; the comment names the broken rule that would keep it.
NAME_CASES = [
    ("Pt Kirkpatrick lives at home.", "Pt [PERSON_NAME] lives at home."),  # lone surname after a role cue
    ("mother (Delacroix) at bedside", "mother ([PERSON_NAME]) at bedside"),  # relation word, then a bracket
    ("Discussed with Smith today.", "Discussed with [PERSON_NAME] today."),  # everyday-word surname after "with"
    ("seen by john smith", "seen by [PERSON_NAME]"),  # lower case: capitalisation required
    ("SEEN BY JOHN SMITH", "SEEN BY [PERSON_NAME]"),  # all capitals: capitals read as an acronym
    ("Patient: SMITH, JOHN", "Patient: [PERSON_NAME]"),  # LAST, FIRST
    ("Reviewed: KOWALCZYK MAREK", "Reviewed: [PERSON_NAME]"),  # LAST FIRST without a caret, no lexicon surname
    ("P. Addison reviewed the films.", "[PERSON_NAME] reviewed the films."),  # initial; Addison is also an eponym
    ("Technologist: Foot T", "Technologist: [PERSON_NAME]"),  # trailing initial; "Foot" is anatomy
    ("Maria van der Berg called.", "[PERSON_NAME] called."),  # particles inside the name
    ("Referred by Dr. Oyelaran-Adeyemi.", "Referred by Dr. [PERSON_NAME]."),  # hyphenated compound
    ("Seen by Zoë Müllerová.", "Seen by [PERSON_NAME]."),  # accented letters
    ("Kirkpatrick_note.txt attached", "[PERSON_NAME]_note.txt attached"),  # name inside a file name
]


@pytest.mark.parametrize("text,expected", NAME_CASES)
def test_names_by_evidence(text, expected):
    assert replaced(text) == expected


def test_names_in_dicom_and_fhir_with_redact():
    # Catches: DICOM or FHIR wiring that cleans with another detector set than the text engine's.
    text = "Pt Kirkpatrick lives at home; mother (Delacroix) at bedside."
    assert dicom_comment(text, {**TAG_CONTENTS, "text": REDACT}) == "Pt  lives at home; mother () at bedside."
    assert fhir_value(text, REDACT) == "Pt  lives at home; mother () at bedside."


# --- the default infoType set covers the HIPAA identifiers of free text -------------------------------------
# Catches: detectors that exist but are left out of the default set (MRN, account, URL, health plan, ids).
ID_CASES = [
    ("MRN: 4471223", "MRN: [MEDICAL_RECORD_NUMBER]"),
    ("MR# 00123456", "MR# [MEDICAL_RECORD_NUMBER]"),
    ("Accession E11390736", "Accession [MEDICAL_RECORD_NUMBER]"),
    ("Acc#99887766", "Acc#[MEDICAL_RECORD_NUMBER]"),  # no space between label and value
    ("FIN 7766554433", "FIN [MEDICAL_RECORD_NUMBER]"),
    ("Acct: 55443322", "Acct: [FINANCIAL_ACCOUNT_NUMBER]"),
    ("Visit # 40012345", "Visit # [MEDICAL_RECORD_NUMBER]"),
    ("Encounter 8844221", "Encounter [MEDICAL_RECORD_NUMBER]"),
    ("Member ID XGH889922001", "Member ID [HEALTH_PLAN_NUMBER]"),
    ("Medicare 1EG4-TE5-MK73", "Medicare [HEALTH_PLAN_NUMBER]"),  # an MBI by its shape (label not needed)
    ("SCOUT 00301314 AXIAL", "SCOUT [GENERIC_ID] AXIAL"),  # a bare long id in a DICOM description
    ("Portal: https://portal.example.org/p/123", "Portal: [URL]"),
    ("see mychart.example-health.org/appt", "see [URL]"),  # a host name without a scheme
    ("email zoë.müllerová24@klinik-nord.de", "email [EMAIL_ADDRESS]"),  # non-ASCII local part
    ("seen 12/2019", "seen [DATE]"),  # month precision
    ("follow-up on 5 Jan", "follow-up on [DATE]"),  # day and month, no year
    ("Visit 2 today", "Visit 2 today"),  # a visit count is no identifier
]


@pytest.mark.parametrize("text,expected", ID_CASES)
def test_hipaa_identifiers_by_default(text, expected):
    assert replaced(text) == expected


def test_attachment_like_accession_in_dicom_and_fhir():
    # Catches: the accession kept "under every config" (issue): tag contents default and FHIR default text block.
    assert dicom_comment("Accession E11390736", TAG_CONTENTS) == "Accession [MEDICAL_RECORD_NUMBER]"
    assert fhir_value("Accession E11390736", None) == "Accession [MEDICAL_RECORD_NUMBER]"


def test_exclude_info_types_opts_out():
    # Catches: a default set that cannot be narrowed.
    policy = TextPolicy.from_config(parse_config({"text": {"excludeInfoTypes": ["URL"]}}).text)
    assert clean_text("Portal: https://portal.example.org/p", policy, KEYS) == "Portal: https://portal.example.org/p"


# --- clinical words survive ----------------------------------------------------------------------------------
# Catches: eponyms, brand drugs, sequences, levels, scores and dose units taken for names, places or ids.
CLINICAL = [
    "Knee X-ray",
    "Mental health care plan",
    "Parkinson disease, on Xarelto 20 mg daily",
    "MRI BRAIN 3T T2 FLAIR",
    "L4-L5 disc bulge",
    "BI-RADS 4, PI-RADS 3, GCS 15",
    "Circle of Willis normal",
    "Bell palsy on the left",
    "Positive Babinski sign",
    "Hodgkin lymphoma",
    "Bankart lesion and Hill-Sachs deformity",
    "ECHO TEE WITH CONTRAST",
]


@pytest.mark.parametrize("text", CLINICAL)
def test_clinical_words_survive(text):
    assert replaced(text) == text
    assert dicom_comment(text, TAG_CONTENTS) == text
    assert fhir_value(text, None) == text


def test_coded_text_close_to_its_display_is_kept():
    # Catches: CodeableConcept.text cleaned without looking at its own codings' displays.
    config = field_config({"paths": ["CodeableConcept.text"], "cleanTextField": {}})
    coded = {"coding": [{"system": "http://snomed.info/sct", "code": "1", "display": "Mayo Clinic diet"}],
             "text": "Mayo Clinic diet"}  # fmt: skip
    cond = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"}, "code": coded}
    assert deidentify_resource(cond, policy_of(config), KEYS)["code"]["text"] == "Mayo Clinic diet"
    other = dict(cond, code={"coding": [{"system": "s", "code": "1", "display": "Diet"}], "text": "Mayo Clinic diet"})
    assert deidentify_resource(other, policy_of(config), KEYS)["code"]["text"] == "[LOCATION] diet"
    assert coded_text("Knee X-ray", {"coding": [{"display": "Plain X-ray of knee"}]})
    assert not coded_text("Knee X-ray", {"coding": [{"display": "Chest X-ray"}]})


# --- [CTX] -----------------------------------------------------------------------------------------------------
# Catches: context terms bounded by \b (no match in "müllerová24"), and stop words, short words or lone clinical
# words of a context value turned into [CTX].


def test_ctx_matches_across_letter_digit_edges():
    assert dicom_comment("Saved as müllerová24.pdf", TAG_CONTENTS, "MÜLLEROVÁ^ZOË") == "Saved as [CTX]24.pdf"
    assert fhir_value("Saved as müllerová24.pdf", None, ("MÜLLEROVÁ^ZOË",)) == "Saved as [CTX]24.pdf"


def test_ctx_never_matches_stop_words_short_words_or_lone_clinical_words():
    text = "Blood of the serum; see Springfield visit at 10 am"
    context = ("Blood Bank of Springfield", "Serum Lab", "at", "A^B")
    assert [text[s:e] for s, e in context_findings(text, context)] == ["Springfield"]
    assert fhir_value(text, None, context) == "Blood of the serum; see [CTX] visit at 10 am"


# --- linear time ---------------------------------------------------------------------------------------------
# Catches: backtracking patterns (the caret-name regex took 47 s on an 80 KB token) and any detector that is
# quadratic in a run without whitespace.
ADVERSARIAL = {
    "one token": "a" * 80_000,
    "initials": "A." * 40_000,
    "carets": "^" * 80_000,
    "caret names": "DOE^JANE^" * 9_000,
    "separators": "a/" * 40_000,
    "hyphens": "Aa-" * 27_000,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_inputs_take_linear_time(name):
    text = ADVERSARIAL[name]
    start = time.process_time()
    detect(text[: len(text) // 4])
    quarter = time.process_time() - start
    start = time.process_time()
    detect(text)
    whole = time.process_time() - start
    assert whole < 10, f"{name}: {whole:.1f} s for {len(text)} characters (was 47 s for an 80 KB token)"
    assert whole < 8 * quarter + 0.5, f"{name}: {whole:.2f} s for 4x the input of {quarter:.2f} s (not linear)"


def test_every_snippet_of_the_independent_dev_set_goes_through():
    # Catches: a detector that raises on some real text (a DICOM instance or FHIR resource then fails whole).
    import json
    from pathlib import Path

    policy = TextPolicy.from_config(None)
    path = Path(__file__).resolve().parents[2] / "bench" / "text_eval" / "dev.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        assert isinstance(clean_text(text, policy, KEYS, patient="P", context=("DOE^JANE", "A1234567")), str)

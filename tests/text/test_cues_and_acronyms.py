"""Facilities named by an acronym or a lower-case word after a transfer cue, and places in lower case after a
place cue; with the units, services and everyday words that follow the same cues and must stay.

Every expected span is a literal written from general knowledge of clinical text, never computed by the detector.
"""

import pytest

from transforms.text import detect

DEFAULT = frozenset({"PERSON_NAME", "DATE", "LOCATION", "ORGANIZATION_NAME"})


def spans(text, types=DEFAULT):
    return [(text[f.start : f.end], f.info_type) for f in detect(text, types)]


@pytest.mark.parametrize(
    "text,org",
    [
        # a hospital's acronym after a transfer cue, in capitals or lower case (was: a unit such as "ICU" is)
        ("Transferred to GH asymptomatic.", "GH"),
        ("transfered to gh for cath.", "gh"),  # the common misspelling
        ("TRANS TO GBMC FOR CABG.", "GBMC"),
        ("He was med-flighted to GH and went to the cath lab.", "GH"),
        ("She came to GH with family.", "GH"),
        # a facility's name in lower case after the cue, when it is no English or clinical word
        ("poss transfer to quartermain tomorrow.", "quartermain"),
        ("she arrived from kernan for further eval.", "kernan"),
    ],
)
def test_facility_after_transfer_cue(text, org):
    assert (org, "ORGANIZATION_NAME") in spans(text)


@pytest.mark.parametrize(
    "text",
    [
        "transferred to ICU",
        "transferred to MICU",
        "sent to icu for monitoring",
        "transferred to floor",
        "transferred to rehab",
        "discharged to home",
        "transferred to SNF",
        "pt came in to ED",
        "went to PT",
        "sent to CT",
        "went to sleep",
        "came to see pt",
        "transferred to MA",  # a state: Safe Harbor keeps it
        "admitted to the CCU",
    ],
)
def test_units_services_and_words_after_transfer_cue_stay(text):
    assert spans(text) == []


@pytest.mark.parametrize(
    "text,place",
    [
        # the cue word "lives" before "in" no longer swallows the place (was: nothing found)
        ("social--pt married, lives in catonsville, husband aware", "catonsville"),
        ("pt also has a dtr, who lives in rome.", "rome"),
        # a place of several words, accented, each word also a word elsewhere (was: nothing)
        ("daughter called from são paulo, will visit", "são paulo"),
    ],
)
def test_lower_case_place_after_cue(text, place):
    assert (place, "LOCATION") in spans(text)


@pytest.mark.parametrize("text", ["came in to see", "back in time for lunch", "from home", "went in to sleep"])
def test_everyday_words_after_place_cue_stay(text):
    assert spans(text) == []


@pytest.mark.parametrize(
    "text,place",
    [
        # a town no gazetteer holds, after a cue of residence or origin (was: nothing)
        ("resident of Tuusniemi", "Tuusniemi"),
        ("Born in Kurtinig.", "Kurtinig"),
        ("Pt lives in Impruneta with wife.", "Impruneta"),
        ("daughter lives in clercbourg", "clercbourg"),
        ("PT FROM SCHWABMÜNCHEN", "SCHWABMÜNCHEN"),
        # a particle or a place prefix joins the words of the name
        ("resident of Nogueira do Galho since 2001", "Nogueira do Galho"),
        ("Pt lives in New Dawn with wife.", "New Dawn"),
    ],
)
def test_place_after_residence_cue(text, place):
    assert (place, "LOCATION") in spans(text)


@pytest.mark.parametrize(
    "text",
    [
        "Pt lives in a house with wife.",
        "lives in assisted living",
        "Pt came from home.",
        "PT FROM OSH",
        "lives in an apartment with her son",
        "patient from ED to floor",
    ],
)
def test_words_states_and_units_after_residence_cue_stay(text):
    assert spans(text) == []


@pytest.mark.parametrize(
    "text,city",
    [
        # a city right before a state and a ZIP code, whatever the gazetteer says (was: state and ZIP only)
        ("Address: 12 Oak St, Søborg, MA 02139", "Søborg"),
        ("Home: Tuitjenhorn NY 10001", "Tuitjenhorn NY 10001")  # one span with the state between,
    ],
)
def test_city_before_state_and_zip(text, city):
    assert (city, "LOCATION") in spans(text)


@pytest.mark.parametrize(
    "text,org",
    [
        # a firm's name of several surnames joined by a comma and "y", "e", "&" (was: the first words only)
        ("Pt is an accountant with Olivárez, Quintana y Jaime.", "Olivárez, Quintana y Jaime"),
        ("works at Nosiglia e figli as a clerk", "Nosiglia e figli"),
        ("Referred from Porras y Amador S.Coop. for evaluation.", "Porras y Amador S.Coop"),
        # new cues: a payer's label, outside imaging (was: nothing)
        ("Insurance: Lecoq", "Lecoq"),
        ("Prior imaging at Sager on file.", "Sager"),
        ("Outside study from Mercy reviewed", "Mercy"),
    ],
)
def test_company_after_cue(text, org):
    assert (org, "ORGANIZATION_NAME") in spans(text)


@pytest.mark.parametrize(
    "text",
    [
        "Insurance: Medicare",
        "Payer: Medicaid",
        "Records from Cardiology, Pulmonary reviewed.",
        "Records from Cardiology and Pulmonary reviewed.",
        "Outside films from PACS reviewed.",
        "Images from CT Chest compared.",
    ],
)
def test_services_and_public_payers_after_cue_stay(text):
    assert spans(text) == []


@pytest.mark.parametrize(
    "text,name",
    [
        # a world first name and the family name after a relative, in lower case (was: nothing, or the first name)
        ("wife juhani nyman at bedside", "juhani nyman"),
        ("wife jo smith at bedside", "jo smith"),
        ("communication with husband milovan.", "milovan"),
    ],
)
def test_relative_then_first_and_family_name(text, name):
    assert (name, "PERSON_NAME") in spans(text)


@pytest.mark.parametrize("text", ["wife at bedside", "daughter called", "husband will visit", "mother deceased"])
def test_relative_then_words_stay(text):
    assert spans(text) == []


def test_relative_then_name_then_word():
    assert spans("wife mary aware of plan") == [("mary", "PERSON_NAME")]  # "aware" is no family name


@pytest.mark.parametrize(
    "text,found",
    [
        # postcodes of other countries and the city next to them (was: nothing, or the city only)
        ("Address: 12 Oak St, Søborg 2860", "Søborg 2860"),
        ("Rue Cler 5, 75008 Paris", "75008 Paris"),
        ("PLZ 10115 Berlin", "10115 Berlin"),
        ("London SW1A 1AA", "SW1A 1AA"),
        ("Toronto, ON M5V 2T6", "M5V 2T6"),
        # a city before a region and a code, known to the gazetteer or not
        ("Tuusniemi, Finland 71200", "Tuusniemi"),
    ],
)
def test_foreign_postcodes_and_their_cities(text, found):
    assert (found, "LOCATION") in spans(text)


@pytest.mark.parametrize(
    "text",
    ["L4 5SS disc bulge", "C5 6TH", "MED WITH MS04 2MG IVP", "CI 2.45, SVR 1057, CK 9914.", "Heparin 5000 Units"],
)
def test_spine_levels_doses_and_values_are_no_postcodes(text):
    assert spans(text) == []


@pytest.mark.parametrize(
    "text,name",
    [
        # who asked for a study, and a person in brackets after a service (was: nothing, an eponym by default)
        ("Bone age study per Hänel request. Tanner stage 4.", "Hänel"),
        ("Repeat film at Moreau's request.", "Moreau"),
        ("Seen by GI (Ó Rúáin). infliximab planned", "Ó Rúáin"),
        ("consulted cardiology (Marchetti) today", "Marchetti"),
    ],
)
def test_name_by_request_or_in_brackets(text, name):
    assert (name, "PERSON_NAME") in spans(text)


@pytest.mark.parametrize(
    "text",
    [
        "per Radiology request",
        "per ED request",
        "per patient request",
        "per Doppler request",
        "per Holter order",
        "furosemide (Lasix) given",
        "Seen by neuro (Romberg positive)",
        "given by RN (Foley catheter placed)",
    ],
)
def test_services_eponyms_and_drugs_by_request_or_in_brackets_stay(text):
    assert spans(text) == []


@pytest.mark.parametrize(
    "text,place",
    [
        # particles in any case and the word after a Spanish or Portuguese place prefix belong to the name
        ("resident of Canneto Di Caronia", "Canneto Di Caronia"),
        ("PT FROM SIQUEIRA DAS PEDRAS", "SIQUEIRA DAS PEDRAS"),
        ("Born in Nueva Canadá.", "Nueva Canadá"),
    ],
)
def test_place_names_with_particles_and_prefixes(text, place):
    assert (place, "LOCATION") in spans(text)


@pytest.mark.parametrize("text", ["PT FROM ED TO FLOOR", "PT FROM HOME", "came from the OR"])
def test_units_after_origin_cue_in_capitals_stay(text):
    assert spans(text) == []


@pytest.mark.parametrize(
    "text,org",
    [
        # a practice, lab or imaging centre written in lower case, as nurses do (was: hospitals and clinics only)
        ("report from dupré medical group", "dupré medical group"),
        ("report from botticelli laboratories", "botticelli laboratories"),
        ("report from st. thomas imaging", "st. thomas imaging"),
        # a name particle opens the organisation's name (was: "Bruin Clinic")
        ("Outside films from de Bruin Clinic.", "de Bruin Clinic"),
    ],
)
def test_lower_case_practices_and_particles(text, org):
    assert (org, "ORGANIZATION_NAME") in spans(text)


@pytest.mark.parametrize(
    "text",
    [
        "no acute findings on imaging",
        "follow up with family practice",
        "outpatient imaging center",
        "maalox ordered- pharmacy aware.",
        "referred to pediatric orthopedics",
        "Seen in de Clinic",
    ],
)
def test_generic_practices_stay(text):
    assert spans(text) == []


@pytest.mark.parametrize(
    "text,zip_code",
    [
        # more ZIP labels, 9 digits without the dash, lower-case and traditional state forms (was: kept)
        ("Zip+4: 02139-1234", "02139-1234"),
        ("ZIP CODE 021391234", "021391234"),
        ("Zip/Postal: 02139", "02139"),
        ("zip=02139", "02139"),
        ("lives in the 02139 area", "02139"),
        ("pt lives in somerville, ma 02144", "02144"),
        ("Mass. 02139", "02139"),
    ],
)
def test_zip_codes_by_label_and_state(text, zip_code):
    assert (zip_code, "LOCATION") in spans(text)


@pytest.mark.parametrize("text", ["given 10000 units, or 12345", "Ill 12345", "heparin, in 5000 units"])
def test_numbers_after_state_like_words_stay(text):
    assert spans(text) == []


@pytest.mark.parametrize(
    "text,org",
    [
        # in capitals, a common surname before a head names an organisation although also a clinical word, and the
        # modality and body part before it are no part of it (was: nothing, "JONES" taken for the Jones criteria)
        ("CT CHEST JONES HOSPITAL", "JONES HOSPITAL"),
        ("MRI BRAIN WO LEWIS IMAGING", "LEWIS IMAGING"),
        ("WILLIAMS CANCER INSTITUTE OUTSIDE READ", "WILLIAMS CANCER INSTITUTE"),
        ("Employer: Jones Imaging", "Jones Imaging"),
        ("Discharged to van der Veen Community Hospital.", "van der Veen Community Hospital"),
        ("report from einaudi cancer institute", "einaudi cancer institute"),
    ],
)
def test_surnames_before_organisation_heads(text, org):
    assert (org, "ORGANIZATION_NAME") in spans(text)


@pytest.mark.parametrize(
    "text", ["NM CARDIOLOGY", "CT HEAD", "PET IMAGING", "BREAST IMAGING", "HAND CLINIC", "Bone Health", "WOUND CLINIC"]
)
def test_departments_before_organisation_heads_stay(text):
    assert spans(text) == []

"""Word lists for the detectors, each loaded on first use and cached per process: census names, common words,
clinical and facility terms, the place gazetteer."""

from __future__ import annotations

import importlib.resources
import unicodedata

# Word lists are loaded on first use and kept for the process (PEP 562 module ``__getattr__``): importing this module
# costs nothing, so a run whose config never inspects text never reads them. Each list is a plain text file in
# data/, one word a line, read with one ``split`` (the generators there say where each comes from).


def fold(word: str) -> str:
    """Lower case without accents: "Müllerová" -> "mullerova" (lexicon look-ups are accent- and case-blind)."""
    word = word.lower()
    if word.isascii():
        return word
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))


def _lines(file_name: str) -> list[str]:
    """The words of one data file, one a line (a few world names hold a space: lines, not ``split``)."""
    text = importlib.resources.files("transforms.text.data").joinpath(file_name).read_text("utf-8")
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")


def _words(file_name: str) -> frozenset[str]:
    return frozenset(importlib.resources.files("transforms.text.data").joinpath(file_name).read_text("utf-8").split())


def _given_names() -> frozenset[str]:
    return _load("CENSUS_GIVEN") | frozenset(_lines("world_given.txt"))


# name -> loader. data/generate_name_lists.py: US census 1990 surnames (88,799, in frequency order) and first names
# (names==0.3.0), world first names (gender-guesser==0.4.0). The 3,000 most frequent census surnames are common
# enough that being one outweighs also being an eponym or a word of ICD-10-CM ("Jones", "Bell", "Young").
# generate_common_words.py: everyday English words. generate_clinical_words.py: the words of ICD-10-CM and one-word
# drug names, negative evidence (a word from there is a name only with a cue: "Dr. Wilson", "with Baker").
# generate_dictionary_names.py: names that are also ordinary English words ("echo", "score"). generate_places.py:
# the gazetteer (places.py).
_LOADERS = {
    "SURNAMES": lambda: frozenset(_lines("surnames.txt")),
    "TOP_SURNAMES": lambda: frozenset(_lines("surnames.txt")[:3000]),
    "CENSUS_GIVEN": lambda: frozenset(_lines("census_given.txt")),
    "GIVEN_NAMES": _given_names,
    "COMMON_WORDS": lambda: _words("common_words.txt"),
    "CLINICAL_VOCAB": lambda: _words("clinical_words.txt"),
    "DICTIONARY_NAMES": lambda: _words("dictionary_names.txt"),
    "PLACES": lambda: frozenset(_lines("places.txt")),
}
SURNAMES: frozenset[str]
TOP_SURNAMES: frozenset[str]
CENSUS_GIVEN: frozenset[str]
GIVEN_NAMES: frozenset[str]
COMMON_WORDS: frozenset[str]
CLINICAL_VOCAB: frozenset[str]
DICTIONARY_NAMES: frozenset[str]
PLACES: frozenset[str]


def _load(name: str) -> frozenset[str]:
    value = globals().get(name)
    if value is None:
        value = globals()[name] = _LOADERS[name]()  # two threads may both load: the same value, harmless
    return value


def __getattr__(name: str) -> frozenset[str]:
    if name in _LOADERS:
        return _load(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Particles inside family names ("van der Berg", "de la Cruz", "bin Laden", "Al-Sayed", "ter Horst"), and so inside the
# firms named after families ("van der Veen Hospital").
PARTICLES: frozenset[str] = frozenset(
    "van der den de del della di da dos das du la le von zu ten ter bin ibn binti al el ben st. st saint mac mc o ni"
    " nic ua abu bat ap dal lo vander des".split()
)
# Particles inside place names, which join a toponym's words rather than a family's ("Frankfurt am Main", "Stratford
# upon Avon", "Duarte do Campo", "Castellón de la Plana").
PLACE_PARTICLES: frozenset[str] = frozenset(
    "de da do dos das del della di la le les los las el sur am an der im upon on en y i".split()
)

# Eponyms and clinical words that look like surnames: never a name without a title or a label.
CLINICAL_WORDS: frozenset[str] = frozenset(
    """
    parkinson parkinsons alzheimer alzheimers hodgkin hodgkins crohn crohns down graves addison addisons cushing
    cushings huntington huntingtons kaposi wernicke korsakoff guillain barre raynaud
    raynauds sjogren sjogrens tourette tourettes asperger aspergers marfan ehlers danlos klinefelter
    meniere menieres paget pagets hashimoto hashimotos colles achilles babinski mcburney glasgow
    apgar gleason foley doppler holter whipple nissen roux kawasaki epstein
    lyme reye wolff bundle his purkinje langerhans schwann fallot eisenmenger brugada
    bartholin burkitt burkitts chiari duchenne dupuytren
    fanconi gaucher horner kussmaul gehrig mallory osgood schlatter peyronie
    scheuermann tietze virchow wegener whipples zenker zollinger ewing wilms hirschsprung
    kernig brudzinski trendelenburg valsalva heimlich romberg rinne phalen tinel finkelstein
    lachman mcmurray spurling homan homans cheyne korotkoff
    giemsa papanicolaou ziehl neelsen hounsfield tesla fahrenheit celsius
    disease diseases syndrome syndromes sign signs test tests palsy lymphoma sarcoma carcinoma tumor tumour
    fracture fractures cyst cysts disorder score scale classification maneuver manoeuvre procedure reflex
    catheter stent technique operation ulcer hernia node nodes cell cells phenomenon triad law
    contrast chest abdomen pelvis head neck spine brain lung lungs liver renal kidney heart cardiac thorax
    axial sagittal coronal oblique lateral frontal anterior posterior left right bilateral flair dwi adc
    protocol series study scan scout localizer report impression findings history indication comparison
    technique conclusion addendum exam examination patient physician radiologist technologist referring
    """.split()
)

# Words that make a run of capitalised words a care facility (ORGANIZATION_NAME), never a person.
FACILITY_WORDS: frozenset[str] = frozenset(
    """
    hospital hospitals clinic clinics center centre medical health healthcare infirmary institute imaging
    radiology memorial general university college sanatorium hospice pharmacy laboratory laboratories labs
    children's childrens regional community county presbyterian methodist baptist lutheran mercy providence
    kaiser permanente foundation associates practice group surgery surgical cancer oncology cardiology
    orthopedics orthopaedics rehabilitation rehab nursing care specialty specialists physicians
    """.split()
)

# Titles before a name (not part of the name span) and honorific suffixes (kept out of [CTX] matching).
TITLES: frozenset[str] = frozenset(
    "dr dr. drs drs. doctor mr mr. mrs mrs. ms ms. miss mx mx. prof prof. professor sr. sister nurse rev rev. father"
    .split()
)
HONORIFICS: frozenset[str] = frozenset("dr mr mrs ms miss mx prof jr sr ii iii iv md phd do rn np pa dds mba".split())

# (name, postal abbreviation): the 50 states, DC and the inhabited territories (USPS Publication 28, Appendix B).
US_STATES: tuple[tuple[str, str], ...] = (
    ("Alabama", "AL"), ("Alaska", "AK"), ("Arizona", "AZ"), ("Arkansas", "AR"), ("California", "CA"),
    ("Colorado", "CO"), ("Connecticut", "CT"), ("Delaware", "DE"), ("District of Columbia", "DC"),
    ("Florida", "FL"), ("Georgia", "GA"), ("Hawaii", "HI"), ("Idaho", "ID"), ("Illinois", "IL"),
    ("Indiana", "IN"), ("Iowa", "IA"), ("Kansas", "KS"), ("Kentucky", "KY"), ("Louisiana", "LA"),
    ("Maine", "ME"), ("Maryland", "MD"), ("Massachusetts", "MA"), ("Michigan", "MI"), ("Minnesota", "MN"),
    ("Mississippi", "MS"), ("Missouri", "MO"), ("Montana", "MT"), ("Nebraska", "NE"), ("Nevada", "NV"),
    ("New Hampshire", "NH"), ("New Jersey", "NJ"), ("New Mexico", "NM"), ("New York", "NY"),
    ("North Carolina", "NC"), ("North Dakota", "ND"), ("Ohio", "OH"), ("Oklahoma", "OK"), ("Oregon", "OR"),
    ("Pennsylvania", "PA"), ("Rhode Island", "RI"), ("South Carolina", "SC"), ("South Dakota", "SD"),
    ("Tennessee", "TN"), ("Texas", "TX"), ("Utah", "UT"), ("Vermont", "VT"), ("Virginia", "VA"),
    ("Washington", "WA"), ("West Virginia", "WV"), ("Wisconsin", "WI"), ("Wyoming", "WY"),
    ("Puerto Rico", "PR"), ("Guam", "GU"), ("American Samoa", "AS"), ("Virgin Islands", "VI"),
    ("Northern Mariana Islands", "MP"),
)  # fmt: skip

# USPS Publication 28, Appendix C1: street suffixes, full names and standard abbreviations (common subset).
STREET_SUFFIXES: tuple[str, ...] = tuple(
    """
    alley aly allee annex anx arcade arc avenue ave av bayou byu beach bch bend bnd bluff blf bluffs blfs bottom
    btm boulevard blvd boul branch br bridge brg brook brk brooks burg burgs bypass byp camp cp canyon cyn cape
    cpe causeway cswy center ctr centre centers ctrs circle cir circles cirs cliff clf cliffs clfs club clb
    common cmn commons cmns corner cor corners cors course crse court ct courts cts cove cv coves cvs creek crk
    crescent cres crest crst crossing xing crossroad xrd crossroads xrds curve curv dale dl dam dm divide dv
    drive dr drives drs estate est estates ests expressway expy exp extension ext extensions exts fall falls fls
    ferry fry field fld fields flds flat flt flats flts ford frd fords frds forest frst forge frg forges frgs
    fork frk forks frks fort ft freeway fwy garden gdn gardens gdns gateway gtwy glen gln glens glns green grn
    greens grns grove grv groves grvs harbor hbr harbors hbrs haven hvn heights hts highway hwy hill hl hills
    hls hollow holw inlet inlt island is islands iss isle junction jct junctions jcts key ky keys kys knoll knl
    knolls knls lake lk lakes lks land landing lndg lane ln light lgt lights lgts loaf lf lock lck locks lcks
    lodge ldg loop mall manor mnr manors mnrs meadow mdw meadows mdws mews mill ml mills mls mission msn
    motorway mtwy mount mt mountain mtn mountains mtns neck nck orchard orch oval ovl overpass opas park prk
    parks parkway pkwy parkways pass passage psge path pike pine pne pines pnes place pl plain pln plains plns
    plaza plz point pt points pts port prt ports prts prairie pr radial radl ramp ranch rnch rapid rpd rapids
    rpds rest rst ridge rdg ridges rdgs river riv road rd roads rds route rte row rue run shoal shl shoals
    shls shore shr shores shrs skyway skwy spring spg springs spgs spur spurs square sq squares sqs station sta
    stravenue stra stream strm street st str streets sts summit smt terrace ter throughway trwy trace trce
    track trak trafficway trfy trail trl trailer trlr tunnel tunl turnpike tpke underpass upas union un unions
    uns valley vly valleys vlys viaduct via view vw views vws village vlg villages vlgs ville vl vista vis walk
    walks wall way wy ways well wl wells wls
    """.split()
)

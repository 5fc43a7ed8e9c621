"""Person names in free text, found by weighing evidence: lexicons, cues around a word run, and clinical vocabulary.

A run of name-like words is scored: each word by what the lexicons say of it (a census or world first name, a
census surname, a capitalised word no dictionary knows, an initial), the run by its cues (a title, a role or
relation label, "name is", a signature suffix such as ", MD"), less its negative evidence (everyday English,
ICD-10-CM and drug vocabulary, an eponym's trigger word after it). Case does not decide alone: "jane doe",
"JANE DOE" and "Jane Doe" are all names, "Knee X-ray" and "Mental health" are not. A census first name right
after a relative ("son bill"), initials after a surname ("Williams AP."), and words in a script without capitals
inside a Latin-script note ("直樹 林") are names too. Every step is linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from transforms.text import lexicon
from transforms.text.caseless import Caseless, trie_pattern
from transforms.text.openings import opening_lookahead

_Parts = tuple[tuple[int, int, str], ...]
_Raw = tuple[int, int, str, _Parts]

_L = r"(?:[^\W\d_]|[\u0300-\u036f])"  # a letter, or a combining accent of a decomposed one
_TOKEN_SOURCE = _L + r"+(?:['’]" + _L + r"+)*(?:-" + _L + r"+)*\.?"
TOKEN = re.compile(_TOKEN_SOURCE)
# The same patterns for a text in ASCII, where a letter is [A-Za-z] (no combining accent, no "’"): one class per
# character instead of an alternation of two, twice as fast (the detectors read mostly ASCII text).
_ASCII_L = "[A-Za-z]"
_ASCII_TOKEN_SOURCE = _TOKEN_SOURCE.replace(_L, _ASCII_L)
_ASCII_TOKEN = re.compile(_ASCII_TOKEN_SOURCE)
# The same scan with each token in group 1 when no digit ([0-9]: what str.isdigit() says in ASCII) stands right
# before or after it. Both branches take the token whole (atomic: the span _ASCII_TOKEN takes there), the second
# whatever its neighbours, so the scan moves on exactly as _ASCII_TOKEN's does.
_ASCII_TOKEN_CLEAR = re.compile(
    r"(?<![0-9])((?>" + _ASCII_TOKEN_SOURCE + r"))(?![0-9])|(?>" + _ASCII_TOKEN_SOURCE + r")"
)

# Cues before a run (matched against the text just before it). Strong: a role, a relation, a name label.
_ROLES = (
    r"patient|pt|name|patient\s+name|physician|doctor|attending|resident|fellow|intern|radiologist|technologist"
    r"|tech|operator|surgeon|provider|nurse|rn|np|pcp|md|referring(?:\s+(?:physician|doctor|md|provider))?"
    r"|(?:performed|read|reviewed|signed|dictated|transcribed|approved|interpreted|seen|referred|ordered|requested"
    r"|verified|reported|authored|entered|prepared|examined|scanned|accompanied|consulted|witnessed|treated"
    r"|evaluated|assessed|discussed|released|called|paged|notified|informed|contacted|cosigned)\s+(?:by|to|with)"
    r"|(?:discussed|spoke|spoken|talked|met|consulted|d/w|conferred)\s+with|contact|spouse|wife|husband|son|daughter"
    r"|mother|father|mom|dad|brothers?|sisters?|sons|daughters|guardian|parents?|caregiver|carer|aunt|uncle"
    r"|grandmother|grandfather"
    r"|grandson|granddaughter|niece|nephew|cousin|friend|neighbou?r|partner|fianc[eé]e?|boyfriend|girlfriend"
    r"|sibling|stepmother|stepfather|dear|cc|attn|emergency\s+contact|next\s+of\s+kin|nok|poa|proxy|interpreter"
    r"|translator|chaplain|therapist|pharmacist|consultant|midwife|sonographer|scribe|author|signature|signed"
    r"|rep|vendor\s+rep|representative|follow[\s-]?up(?:\s+with)?|f/u(?:\s+with)?|req|requisition|registration"
    r"|guarantor|insured|subscriber|policy\s*holder|hcp|health\s+care\s+proxy|visitor|visited\s+by"
    r"|technician|coordinator|case\s+manager|social\s+worker|sw|cm|dietitian|dietician|physical\s+therapist"
    r"|occupational\s+therapist|anesthesiologist|anaesthetist|cardiologist|oncologist|neurologist|hospitalist"
    r"|intensivist|clinician|practitioner|dentist|psychologist|psychiatrist|counselou?r|endoscopist|radiographer"
    r"|transcriptionist|secretary|clerk|registrar|charge\s+nurse|primary\s+nurse|lpn|cna|emt|paramedic|officer"
    r"|deputy|detective|lawyer|attorney|pastor|priest|rabbi|imam|employer|boss|supervisor|co-?worker|landlord"
    r"|roommate|housemate|stepson|stepdaughter|godmother|godfather|foster\s+(?:mother|father|parent)|caseworker"
    r"|patient's|pt's|ex-?wife|ex-?husband|widow(?:er)?|fiancée?|student|surgeon|obstetrician|pediatrician"
    r"|dtr|dau|sis|bro|hubby|gdtr|gd|gs|ho|docter|doc|dr's|grand\s*(?:daughter|son|mother|father)|in-?law"
    r"|sister-in-law|brother-in-law|mother-in-law|father-in-law|daughter-in-law|son-in-law"
    r"|electronically\s+signed(?:\s+by)?|sincerely|regards|thanks|surname|first\s+name|last\s+name|given\s+name"
    r"|family\s+name|maiden\s+name|aka|alias|named|called|goes\s+by|known\s+as|(?:name|names)\s+(?:is|was|are)"
    r"|i\s+am|i'm|this\s+is|per\s+(?:dr|nurse)|mr|mrs|ms|miss|mx|dr|prof"
)
_STRONG_CUE = Caseless(
    r"(?i)(?:^|[^\w])" + opening_lookahead(_ROLES)
    + r"(?:" + _ROLES + r")\.?\s*(?:name)?\s*(?:\((?:s|es)\))?\s*[:#=\-–,(]{0,3}\s*[(\"'“]?\s*$"
)
_WEAK_CUE = Caseless(r"(?i)(?:^|[^\w])(?:with|by|per|and|or|for|to|from|via|c/o|re:?|said|says|told|asked)\s+$")
_AFTER_CUE = re.compile(
    r"^(?:,\s*|\s+)(?:M\.?D\.?|D\.?O\.?|R\.?N\.?|N\.?P\.?|PA-C|PA|Ph\.?D\.?|DDS|DMD|FACR|FRCR|FRCP|MBBS|MBChB|CNA"
    r"|LPN|RRT|CRT|CCRN|RT(?:\(R\))?|ARRT|CRNA|FNP|DNP|APRN|MSN|BSN(?:/RN)?|LCSW|LICSW|MSW|PharmD|OD|DPM|SLP"
    r"|Jr\.?|Sr\.?|III|II|IV)(?![\w])"
    r"|^\s*\((?:mother|father|wife|husband|son|daughter|brother|sister|spouse|guardian|parent|friend|caregiver|"
    r"patient|pt|md|rn|attending|resident|radiologist|tech|technologist)\)"
    r"|^['’]s\s+(?:mother|father|wife|husband|son|daughter|brother|sister|spouse|family|phone|cell|address|email)\b",
    re.IGNORECASE,
)
# The run's age right after it: "Carter is a 45 yo male", "Okafor is a 67-year-old woman" (a patient, not a word).
_AGE_AFTER = re.compile(r"^\s+(?:is|was)\s+an?\s+\d+[\s-]*(?:y|year)(?:ears?|rs?|o)?\b", re.IGNORECASE)
# A reporting verb right after a run is weaker evidence than a role before it ("Bernardo will pick up").
_VERB_AFTER = re.compile(
    r"^\s+(?:called|calls|phoned|texted|e-?mailed|reports?|reported|states?|stated|said|says|visited|visits|agreed"
    r"|asked|requested|confirmed|declined|consented|signed|notified|informed|updated|is\s+aware|was\s+updated"
    r"|at\s+(?:the\s+)?bedside|will\s+(?:call|visit|bring|pick|come|update|return)|plans?\s+to|wants|wishes"
    r"|brought|came|arrived|left|drove|picked|aware|made\s+aware|paged|woke|family|'s\s+family|household"
    r"|ordered|wrote|performed|placed|inserted|removed|examined|consulted|discussed|explained|spoke|talked|met"
    r"|at\s+home|on\s+(?:the\s+)?phone|by\s+phone"
    r"|presents|presented|underwent|tolerated|denies|complains|returns)\b",
    re.IGNORECASE,
)
_EPONYMS = (
    r"disease|syndrome|sign|test|palsy|lymphoma|sarcoma|phenomenon|fracture|score|scale|"
    r"classification|procedure|maneuver|manoeuvre|reflex|catheter|triad|law|cyst|ulcer|hernia|criteria|view|"
    r"position|tube|operation|repair|type|stage|grade|node|method|stain|equation|formula|effect|disorder|anomaly|"
    r"malformation|tumou?r|nodes?|point|ligament|duct|gland|space|canal|body|bodies|cell|cells|line|lines|pouch|"
    r"spots?|nodules?|rule|index|protocol|technique|approach|incision|shunt|valve|filter|needle|clamp|forceps|"
    r"retractor|splint|brace|cast|frame|apparatus|agar|solution|fluid|ratio|angle|mask|airway|blade|drain|"
    r"dementia|chorea|encephalopathy|neuroma|neuralgia|arteritis|thyroiditis|contracture|deformity|dystrophy"
    r"|ataxia|anemia|anaemia|esophagus|oesophagus|diverticulum|appendix|area|bundle|tract|fasciculus|nucleus"
)
_EPONYM_AFTER = re.compile(r"(?i)^(?:['’]s?)?[\s-]+" + opening_lookahead(_EPONYMS) + r"(?:" + _EPONYMS + r")\b")
_FACILITY_AFTER = re.compile(
    r"(?i)^ (?:hospital|clinic|medical|health|healthcare|center|centre|institute|university|college|imaging"
    r"|radiology|memorial|foundation|associates|laboratory|labs?|pharmacy|hospice|infirmary|school|street|st|ave"
    r"|avenue|road|rd|county|city|park)\b"
)
_LIST_GAP = re.compile(r"\s*(?:,|;|/|&|,?\s+and|,?\s+or)\s*(?:(?:Dr|Mr|Mrs|Ms)\.?\s+)?")
_SENTENCE_BREAK = re.compile(r"([^\W\d_]{2,})[.!?]\s+$")
_ABBREVIATIONS = frozenset("dr mr mrs ms prof pt pts st rev sr jr rn md np pa tech attn cc rep req".split())
_SENTENCE_END = re.compile(r"(?:^|[.!?:;\n]\s*|[\n\r]\s*)$")
_CARET_TOKEN = re.compile(r"[^\s\\=|]+")
_INVERTED_SOURCE = (
    r"(?<![\w'’-])(" + _L + r"{2,}(?:['’-]" + _L + r"+)*),\s?(" + _L + r"{2,}(?:-" + _L + r"+)*)(?:\s(" + _L
    + r")\b\.?)?"
)
_INVERTED = re.compile(_INVERTED_SOURCE)
_ASCII_INVERTED = re.compile(_INVERTED_SOURCE.replace(_L, _ASCII_L))


def _plain(word: str) -> str:
    w = word.rstrip(".").replace("’", "'")
    if w.endswith("'s") or w.endswith("'S"):
        w = w[:-2]
    return lexicon.fold(w)


def _parts(word: str) -> list[str]:
    w = _plain(word)
    return [p for p in w.split("-") if p] if "-" in w else [w]


def _is_initial(word: str) -> bool:
    return len(word.rstrip(".")) == 1 and word[0].isalpha()


# Words that are cues or roles themselves, never part of the name after them ("Pt Kirkpatrick").
_NOT_NAME = frozenset(
    """pt pts patient patients name names dr drs md mds rn rns np pa do phd pcp nok poa cc attn re fyi tech techs
    tel fax ph mrn dob ssn rad rads resident attending fellow intern nurse tech technologist radiologist physician
    surgeon doctor signed dictated reviewed read per son sons wife husband mother father daughter daughters brother
    sister spouse guardian parent parents caregiver aunt uncle grandmother grandfather niece nephew cousin friend
    neighbor neighbour partner boyfriend girlfriend sibling rep vendor representative contact mom dad his her their
    follow followup req requisition registration registered guarantor proxy poa hcp acct acc fin csn mbi npi
    ssn sn id ids dob dod lic cert no nos num""".split()
) | frozenset(
    """a an and are as at be but by for from had has have he her his in into is it its of on or our she that the
    their them then there these they this to was we were which who will with you your not nor so than too very
    can may might must up out off over under about above after before below per via vs""".split()
)


def _is_common(word: str) -> bool:
    """An everyday English word, inflected or not ("denies", "started", "continues", "bleeding")."""
    if word in lexicon.COMMON_WORDS or word in lexicon.DICTIONARY_NAMES:
        return True
    for suffix, repl in _INFLECTIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: len(word) - len(suffix)] + repl
            if not _inflects_to(base, suffix, repl):
                continue  # "nun" + "es", "hub" + "er": English spells those "nuns", "hubber" (so "Nunes", "Huber")
            if base in lexicon.COMMON_WORDS or base in lexicon.CLINICAL_VOCAB:
                return True
    return False


# Endings of English verbs and abstract nouns that no name in the lists has once the lists are asked first
# ("Mohamed", "Browning" are in them): an unknown word ending so is a misspelt or rare word, not a name.
_WORD_ENDING = re.compile(r"(?:[^e]ed|ated|ized|ised|tion|sion|ment|ity|ous|ive|ably|ibly|ism|ology)$")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def _inflects_to(base: str, suffix: str, repl: str) -> bool:
    """Whether English spelling makes ``base`` + ``suffix`` (minus ``repl``) a form of ``base``: "-es" only after
    s, x, z, ch, sh and o ("boxes", "goes"); an undoubled "-ed", "-ing", "-er", "-est" not after a one-syllable
    word ending consonant-vowel-consonant (which doubles: "hopped", "runner", "biggest")."""
    if suffix == "es":
        return base.endswith(("s", "x", "z", "ch", "sh", "o"))
    if suffix in ("ed", "ing", "er", "est") and not repl:
        vowels = "aeiou"
        cvc = (
            len(base) >= 3
            and base[-1] not in vowels + "wxy"
            and base[-2] in vowels
            and base[-3] not in vowels
        )
        return not (cvc and len(_VOWEL_GROUP.findall(base)) == 1)
    return True


_INFLECTIONS = (
    ("ies", "y"), ("ied", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"),
    ("ly", ""), ("er", ""), ("er", "e"), ("est", ""), ("est", "e"),
)


class _Word:
    """What the lexicons say about one word token."""

    __slots__ = (
        "short", "role", "common", "clinical", "given", "surname", "top", "particle", "initial", "cap", "upper",
        "title", "word_ending", "scores", "inert", "facility",
    )  # fmt: skip

    def __init__(self, word: str):
        parts = _parts(word)
        self.initial = _is_initial(word) and word[0].isupper()
        self.role = _plain(word) in _NOT_NAME and not (len(word.rstrip(".")) == 1 and word[0].isupper())
        self.short = len(word.rstrip(".")) <= 4
        # "Lê", "Dê" are Vietnamese surnames, not the particle "le"
        self.particle = _plain(word) in lexicon.PARTICLES and (word.isascii() or len(word.rstrip(".")) == 1)
        self.title = _plain(word) in lexicon.TITLES or word.lower() in lexicon.TITLES
        self.facility = _plain(word) in lexicon.FACILITY_WORDS
        long_parts = [p for p in parts if len(p) > 1]
        # a compound is everyday English when its first real part is ("X-ray", "Hill-Sachs"), not "Stord-Painter"
        self.common = bool(long_parts) and (_is_common(long_parts[0]) or all(_is_common(p) for p in long_parts))
        self.clinical = any(
            p in lexicon.CLINICAL_VOCAB or p in lexicon.CLINICAL_WORDS or p in lexicon.FACILITY_WORDS for p in parts
        )
        self.given = all(p in lexicon.GIVEN_NAMES for p in parts)
        self.surname = all(p in lexicon.SURNAMES for p in parts)
        self.top = all(p in lexicon.TOP_SURNAMES or p in lexicon.CENSUS_GIVEN for p in parts)
        self.cap = word[0].isupper()
        self.upper = word.isupper() and len(word.rstrip(".")) > 1
        self.word_ending = bool(_WORD_ENDING.search(_plain(word)))
        self.scores = (self._score(False), self._score(True))  # a word's score is looked up many times
        # no name word, and nothing that could start a name (a title, a particle, capitals that may be initials)
        self.inert = tuple(
            sc == 0.0 and not (self.title or self.particle or (self.upper and self.short)) for sc in self.scores
        )

    def score(self, mixed_case: bool) -> float:
        """How much this word alone says "a name" (0: it is no name word and ends a run)."""
        return self.scores[mixed_case]

    def _score(self, mixed_case: bool) -> float:
        if self.role:
            return 0.0
        if self.initial:
            return 0.5
        lex = self.given or self.surname
        if self.upper and mixed_case and (self.common or self.clinical) and not self.top:
            return 0.0  # "ED", "OR", "SHOULDER" in running text: an acronym or a heading
        if self.upper and self.short and mixed_case:
            return 0.75 if lex else 0.0  # "GRE", "LEE" in running text: a name only with help
        if lex and not self.common and not self.clinical:
            if not self.cap:
                return 1.5 if self.top else 0.5  # lower case: only a census name says "a name" on its own
            if self.upper and self.short and not mixed_case:
                return 1.0  # "MAE", "LOS" in a note in capitals: as likely an abbreviation
            return 2.0
        if lex and self.top and not self.common:
            return 1.5 if self.cap else 0.25  # "Jones", "Bell": top census names that are also eponyms
        if lex and self.cap:
            return 1.0 if self.top else 0.5  # "Smith", "White" / "Baker", "Knee": everyday or clinical words
        if lex and self.top:
            return 0.25  # "smith", "white": a name only next to a stronger name word
        if not lex and self.cap and not self.common and not self.clinical:
            if self.word_ending:
                return 0.0  # "EXTUBATED", "Sxned", "Ambulation": shaped like an English verb or noun, in no name list
            if self.upper:
                # an unknown word in capitals: an acronym ("GCS", "MRCP", "TOF") unless long, and then weak evidence
                return 0.0 if self.short else (0.75 if mixed_case else 1.0)
            return 1.5  # an unknown capitalised word
        return 0.0


_WORDS: dict[str, _Word] = {}  # per process: what the lexicons say of each word seen (bounded)


def _word_info(word: str, cache: dict[str, _Word] = _WORDS) -> _Word:
    info = cache.get(word)
    if info is None:
        if len(cache) >= 200_000:
            cache.clear()
        info = cache[word] = _Word(word)
    return info


# Words after a name that say nothing of it (verbs of narration and function words; ICD-10-CM has them all).
_FUNCTION_WORDS = frozenset(
    """a an and are as at be but by for from had has have in into is it its of on or so than that the then to was
    were will with would could should can may might must not no nor also who which whose whom while when where
    reports reported states stated denies denied presents presented underwent came went called says said notes
    noted returns returned admitted discharged seen injected given received requests requested agrees agreed
    tolerated complains complained feels felt lives lived needs needed wants wanted remains remained is was being
    been did does do has had here there today yesterday now again""".split()
)
_NEXT_WORD = re.compile(r"^[\s-]+([a-z]+)\b")
_OF_BEFORE = re.compile(r"([A-Za-z]+)\s+of\s+$")


def _clinical_neighbours(text: str, start: int, after: str, lone: bool) -> bool:
    """An eponym by its neighbours: "<clinical word> of X" ("Loop of Henle"), or a lone X followed by a
    lower-case clinical word ("Bankart lesion", "Mayfield head holder")."""
    before = text[max(0, start - 30) : start]
    tail = before.rstrip()
    m = _OF_BEFORE.search(before) if tail != before and tail.endswith("of") else None  # the pattern's own needs
    if m and lexicon.fold(m.group(1)) in lexicon.CLINICAL_VOCAB:
        return True
    if lone:
        m = _NEXT_WORD.match(after)
        nxt = m.group(1) if m else ""
        if nxt in lexicon.CLINICAL_VOCAB and nxt not in _FUNCTION_WORDS:
            return True
    return False


# A relative or a nurse, then a census first name in any case: "son bill", "wife, rose,", "NP grace", "SISTER MARY"
# (The words as a prefix trie: a word is followed by [ ,:], never by the letters that make a longer one of them,
# so at one position at most one of them leads to a match, and their order in the alternation says nothing.)
_KIN = frozenset(
    """son daughter dtr wife husband spouse mother father mom dad brother bro sister sis niece nephew aunt uncle
    cousin friend partner boyfriend girlfriend fiance fiancee fiancé fiancée grandson granddaughter grandmother
    grandfather np rn""".split()
)
_KIN_WORDS = r"(?:" + trie_pattern(_KIN) + r")[ ,:]{1,3}([^\W\d_]{2,})(?![\w'’-])"
_KIN_NAME = Caseless(r"(?i)(?<![\w'’])" + _KIN_WORDS)
# The same without its leading look-behind: a pattern that starts with the words lets re skip every position whose
# character starts none of them; the look-behind is then asked of each match (_kin_matches).
_KIN_NAME_AT = Caseless(r"(?i)" + _KIN_WORDS)
_KIN_BLOCKED = re.compile(r"[\w'’]")  # what _KIN_NAME's look-behind refuses before the relative


# Words in a script without capital letters (Han, Kana, Hangul, Arabic, Hebrew, Thai, Devanagari) inside a text
# written mostly in Latin letters: in a clinical note in English or another European language such a run is a
# name ("Spoke with 直樹 林", "Pt זהבה כהן"), written as its owner writes it. Up to six words.
_CASELESS_SCRIPT = (
    "\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\u0900-\u097f\u0e00-\u0e7f\u1100-\u11ff\u3040-\u30ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
)
_OTHER_SCRIPT_RUN = re.compile(
    "[" + _CASELESS_SCRIPT + "]+(?:[ \u3000\u30fb\u00b7]?[(（]?[" + _CASELESS_SCRIPT + "]+[)）]?){0,5}"
)
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")


def _other_script_names(text: str) -> list[_Raw]:
    runs = list(_OTHER_SCRIPT_RUN.finditer(text))
    if not runs or sum(m.end() - m.start() for m in runs) >= 2 * len(_LATIN_LETTER.findall(text)):
        return []  # a note written in that script: its words are not names by their script alone
    return [(m.start(), m.end(), "PERSON_NAME", ()) for m in runs]


_KIN_SURNAME = re.compile(r" ([^\W\d_]{2,}(?:-[^\W\d_]{2,})?)(?![\w'’-])")


def _plain_word(word: str) -> bool:
    """No everyday English or clinical word, nor a function word: a name after a relative is made of such words."""
    return not (_is_common(word) or word in lexicon.CLINICAL_VOCAB or word in _FUNCTION_WORDS or word in _NOT_NAME)


def _kin_matches(text: str) -> Iterator[re.Match[str]]:
    """Exactly ``_KIN_NAME.finditer(text)``: the leftmost match of the pattern without its look-behind is the scan's
    next match when the look-behind holds there; when it does not, the scan fails at that position and goes on at
    the next one (the look-behind is asked of the text the match was found in: the lower-cased one, or the text)."""
    pos = 0
    while True:
        m = _KIN_NAME_AT.search(text, pos)
        if m is None:
            return
        a = m.start()
        if a and _KIN_BLOCKED.match(m.string, a - 1):
            pos = a + 1
            continue
        yield m
        pos = m.end()


def _kin_names(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    for m in _kin_matches(text):
        a, b = m.span(1)
        word = lexicon.fold(text[a:b])
        given = word in lexicon.CENSUS_GIVEN and word not in _FUNCTION_WORDS and word not in _NOT_NAME
        if not given and not (word in lexicon.GIVEN_NAMES and _plain_word(word)):
            continue  # a world first name ("juhani", "aage") only when it is no English word
        parts = [(a, b, "FIRST_NAME")]
        s = _KIN_SURNAME.match(text, b)  # the family name after it: "wife juhani nyman", "son Bill Ostrowski"
        if s is not None:
            last = lexicon.fold(s.group(1))
            if all(_plain_word(w) for w in last.split("-")) or (last in lexicon.SURNAMES and not _is_common(last)):
                parts.append((s.start(1), s.end(1), "LAST_NAME"))
                b = s.end(1)
        out.append((a, b, "PERSON_NAME", tuple(parts)))
    return out


# Initials after a surname, Vancouver style ("Williams AP.", "Foot T,"), at the end of a clause
_INITIALS_AFTER = re.compile(r" ([A-Z]{1,3})(?=$|[.,;:)\]]|\n)")
_NOT_INITIALS = frozenset(
    """MD DO RN NP PA PT OT RT LPN CNA PHD DDS DMD JR SR II III IV CT MR MRI US XR PET NM ED ER OR ICU CCU MICU SICU
    AM PM""".split()
)
# a number that may be an identifier or a date (5+ digits, dashes and slashes allowed; no decimals)
_LAST_AFTER_NUMBER = re.compile(r"(?:^|\s)\d[\d/-]{4,}\s+$")
_NUMBER_BEFORE = re.compile(r"(?:^|\s)\d[\d/-]{4,}\s+$")
_ANY_NUMBER_BEFORE = re.compile(r"(?:^|\s)\d[\d/-]*\s+$")
_ID_AFTER = re.compile(r"^\s+(?!(?:19|20)\d{6}(?!\d))\d{7,}(?:\s|$)")  # a long number, not a YYYYMMDD date
_NUMBER_AFTER = re.compile(r"^\s+\d[\d/-]{4,}(?!\.?\d)(?:\s|$)")


def _unknown_word(info: _Word, word: str) -> bool:
    """A word no dictionary knows ("parrilli" after "dr"): after a title, a name in any case."""
    plain = _plain(word)
    return len(plain) >= 3 and plain.replace("-", "").replace("'", "").isalpha() and not (
        info.common or info.clinical or info.role or info.title
    )


def _initials_by_position(text: str, token: tuple[int, int, str], info: _Word, mixed_case: bool) -> bool:
    """Capitals too short to be more than an acronym are a name's initials right after a role ("Tech WG") or
    at the end of a DICOM description after its number ("STD 59067830244 CES")."""
    if not (info.upper and info.short) or info.common or info.clinical or info.role:
        return False
    a, b, word = token
    before = text[max(0, a - 40) : a]
    if mixed_case and (len(word) == 2 or "." in word) and _STRONG_CUE.search(before):
        return True  # "Tech WG", "rep P.B." (in a note in capitals, "PT NPO", "PT OOB" are abbreviations)
    return not mixed_case and bool(_LAST_AFTER_NUMBER.search(text[max(0, a - 20) : a])) and not text[b:].strip(" .")


def _next_to_number(text: str, start: int, end: int) -> bool:
    """Whether a run stands next to a number or date, or ends the text after one (list position in a description)."""
    before = text[max(0, start - 24) : start]
    after = text[end : end + 24]
    if _NUMBER_AFTER.match(after):
        return True
    last = not text[end:].strip(" .")  # the description's last word: after any number ("BI-RADS 2 VERGARA")
    return bool((_ANY_NUMBER_BEFORE if last else _NUMBER_BEFORE).search(before)) and last


def eponym_like(text: str, start: int, end: int) -> bool:
    """Whether the word at ``text[start:end]`` reads as an eponym: "Bell palsy", "Circle of Willis", "Hashimoto
    thyroiditis", "Wilson's disease" (shared with the place detector: "Bell" and "Willis" are towns too)."""
    after = text[end : end + 40]
    return bool(_EPONYM_AFTER.match(after)) or _clinical_neighbours(text, start, after, False)


def _particle_chain_ends_in_name(infos: list[_Word], k: int, mixed_case: bool) -> bool:
    """Whether the particles from ``k`` on ("de la", "van der") lead to a name word ("de la Cruz")."""
    while k < len(infos) and infos[k].particle:
        k += 1
    return k < len(infos) and infos[k].cap and infos[k].score(mixed_case) > 0


def _cues_around(
    text: str, run: list[int], words: list[tuple[int, int, str]], infos: list[_Word], after: str, start: int,
    last_name_end: int,
) -> float:
    """The cues right after a run, between it and the name before it, and in its own shape."""
    cue = 0.0
    if after[:1] in (",", " ", "(", "'", "’") and _AFTER_CUE.match(after):
        cue += 2.0
    elif after[:1] == " " and _AGE_AFTER.match(after):
        cue += 2.0
    elif after[:1] == " " and _VERB_AFTER.match(after):
        cue += 1.0
    if last_name_end >= 0 and _LIST_GAP.fullmatch(text[last_name_end:start]):
        cue += 1.5  # the next name of a list: "Present: Dr. Smith, Jones and Lee"
    if _in_file_name(text, start, words[-1][1]):
        cue += 1.0
    if len(run) >= 2 and words[0][2].endswith(".") and infos[run[0]].initial and infos[run[1]].cap:
        cue += 1.0  # "P. Addison": an initial with its full stop, then a capitalised word
    return cue


def _cue_before(text: str, start: int) -> float:
    before = text[max(0, start - 40) : start]
    brk = _SENTENCE_BREAK.search(before)
    if brk and lexicon.fold(brk.group(1)) not in _ABBREVIATIONS:
        return 0.0  # "... follow up. Mark the lesion": a cue does not reach across a sentence's end
    if _STRONG_CUE.search(before):
        return 2.0
    if _WEAK_CUE.search(before):
        return 1.5
    return 0.0


def _in_file_name(text: str, start: int, end: int) -> bool:
    """Part of a file name: "Kirkpatrick_note.txt", "Delacroix_2019.pdf"."""
    return (start > 0 and text[start - 1] == "_") or (end < len(text) and text[end] == "_")


def _span_end(text: str, start: int, end: int) -> int:
    """Drop a sentence-final period (kept on initials) and a possessive "'s" from a name token."""
    if text[end - 1] == "." and end - start > 2:
        return end - 1
    if end - start > 3 and text[end - 2 : end] in ("'s", "’s", "'S", "’S"):
        return end - 2
    return end


def _name_parts(tokens: Sequence[tuple[int, int, str]], inverted: bool = False) -> _Parts:
    """Split a name's tokens into FIRST_NAME / LAST_NAME parts (initials count as first names)."""
    if len(tokens) == 1:
        s, e, w = tokens[0]
        info = _word_info(w)
        return ((s, e, "FIRST_NAME" if info.given and not info.surname else "LAST_NAME"),)
    last_index = 0 if inverted else len(tokens) - 1
    return tuple((s, e, "LAST_NAME" if i == last_index else "FIRST_NAME") for i, (s, e, _) in enumerate(tokens))


def _caret_names(text: str, skipped: list[tuple[int, int]]) -> list[_Raw]:
    """DICOM PN values written in text (``DOE^JANE^Q``): one whitespace-free token scan, linear. Tokens with
    more carets than a PN has are no names at all: their spans go to ``skipped``."""
    found: list[_Raw] = []
    for m in _CARET_TOKEN.finditer(text):
        tok = m.group()
        if "^" not in tok:
            continue
        lead = len(tok) - len(tok.lstrip("([{\"'“"))
        body = tok[lead:].rstrip(")]}\"'”.,;:")
        comps = body.split("^")
        if len(comps) > 5:
            skipped.append(m.span())
            continue
        if not body or not body[0].isalpha() or not any(c[:1].isalpha() for c in comps[1:] + [""]):
            continue
        if any(len(c) > 64 for c in comps):
            continue
        pos = m.start() + lead
        parts = []
        for i, comp in enumerate(comps):
            if comp and i < 3:
                parts.append((pos, pos + len(comp), "LAST_NAME" if i == 0 else "FIRST_NAME"))
            pos += len(comp) + 1
        found.append((m.start() + lead, m.start() + lead + len(body), "PERSON_NAME", tuple(parts)))
    return found


def name_tokens(text: str, carets: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int, str]]:
    """The word tokens find_names weighs, as (start, end, word): letter runs with inner apostrophes and hyphens and
    a final full stop, less those against a digit ("T2", "3T", "HbA1c", "L4": codes) and those starting inside
    ``carets`` spans (DICOM PN values found before). One pass over the text, shareable by other scans of it."""
    if text.isascii() and not carets:
        return [(m.start(), m.end(), m.group()) for m in _ASCII_TOKEN_CLEAR.finditer(text) if m.lastindex]
    size = len(text)
    scan = _ASCII_TOKEN if text.isascii() else TOKEN
    tokens = []
    for m in scan.finditer(text):
        a, b = m.span()
        if (a and text[a - 1].isdigit()) or (b < size and text[b].isdigit()):
            continue  # letters against digits ("T2", "3T", "HbA1c", "L4") are codes, not names
        if carets and any(ca <= a < cb for ca, cb in carets):
            continue  # inside a DOE^JANE value, already found
        tokens.append((a, b, m.group()))
    return tokens


def find_names(text: str) -> list[_Raw]:
    """Person names in ``text`` with their FIRST_NAME / LAST_NAME parts."""
    skipped: list[tuple[int, int]] = []
    found = _caret_names(text, skipped) if "^" in text else []
    carets = [(a, b) for a, b, _, _ in found] + skipped
    tokens = name_tokens(text, carets)
    if not tokens:
        return found
    letters = [w for _, _, w in tokens if len(w) > 1]
    lower = len(letters) - sum(map(str.isupper, letters))
    mixed_case = lower * 2 >= len(letters)  # most words not in capitals: capitals then mean something
    cache = _WORDS
    known = cache.get
    infos = [known(w) or _word_info(w, cache) for _, _, w in tokens]
    n = len(tokens)
    i = 0
    last_name_end = -1
    while i < n:
        info = infos[i]
        if info.inert[mixed_case]:
            i += 1
            continue  # the common case, decided without the checks below (they would skip it too)
        s, e, w = tokens[i]
        titled = False
        if (
            info.title
            and i + 1 < n
            and text[e : tokens[i + 1][0]] in (" ", "  ", ". ", ".", "")
            and (
                infos[i + 1].scores[mixed_case] > 0
                or (infos[i + 1].cap and not infos[i + 1].upper)
                or (
                    _plain(w) in ("dr", "drs", "mr", "mrs", "ms", "prof")
                    and (_unknown_word(infos[i + 1], tokens[i + 1][2]) or infos[i + 1].given or infos[i + 1].surname)
                    and not infos[i + 1].role
                )
            )
            and not (  # "MR T2", "MR KNEE", "DR CHEST": in a short description in capitals, modalities
                w.isupper()
                and not w.endswith(".")
                and (
                    infos[i + 1].initial
                    or (not mixed_case and not ((infos[i + 1].given or infos[i + 1].surname) and not infos[i + 1].common))
                )
                and (len(text) < 120 or i == 0)
            )
        ):
            titled = True
            i += 1
            s, e, w = tokens[i]
            info = infos[i]
        elif (
            info.score(mixed_case) == 0.0
            and not (info.particle and _particle_chain_ends_in_name(infos, i + 1, mixed_case))
            and not (info.upper and info.short and _initials_by_position(text, tokens[i], info, mixed_case))
        ):
            i += 1
            continue
        # the run: name words (and particles between them) separated by one space
        j = i
        total = 0.0
        sc_first_by_position = info.upper and info.short and _initials_by_position(text, tokens[i], info, mixed_case)
        strong_words = 0
        boosted = -1  # the word kept by the first name before it, whatever its own score
        while j < n and j - i < 6:
            wj = infos[j]
            if j > i:
                gap = text[tokens[j - 1][1] : tokens[j][0]]
                prev = tokens[j - 1][2]
                if gap != " " and not (gap == "" and infos[j - 1].initial and prev.endswith(".")):  # "T.J. Smith"
                    break
                if prev.endswith(".") and len(prev.rstrip(".")) > 1 and not infos[j - 1].title:
                    break
            if j > i and wj.title and not wj.initial:
                break  # a title starts the next name: "V.O. DR. HAYES"
            sc = wj.score(mixed_case)
            if sc == 0.0 and j == i and _initials_by_position(text, tokens[j], wj, mixed_case):
                sc = 1.0
            if j > i and not wj.cap and not wj.particle and infos[i].cap:
                break  # a lower-case word never extends a capitalised name ("Mayfield head holder")
            if j > i and infos[j - 1].particle and wj.cap:
                sc = max(sc, 1.0)  # after "Le", "van der": any capitalised word ("Hanife Le Roux")
            if (
                j == i + 1 and sc < 1.0 and not infos[i].common and not infos[i].upper
                and (infos[i].given or (infos[i].score(mixed_case) >= 1.5 and wj.surname))
                and wj.cap == infos[i].cap and not wj.upper and len(tokens[j][2]) > 2 and len(tokens[i][2]) > 3
                and not (wj.role or wj.title or wj.particle or (wj.clinical and not wj.surname))
                and (not (wj.common or wj.clinical) or (wj.cap and wj.surname))
            ):
                sc = 1.0  # the word after a first name, written as it is: "Diane Blot", "anna seppälä"
                boosted = j
            if sc == 0.0 and not (wj.particle and _particle_chain_ends_in_name(infos, j + 1, mixed_case)):
                if titled and j == i and (wj.cap or wj.surname or wj.given or _unknown_word(wj, tokens[j][2])):
                    sc = 1.0  # "Dr. Parkinson", "Dr. Bell": after a title any capitalised word is a name
                elif (
                    titled and j == i + 1 and mixed_case and wj.cap and not wj.upper
                    and not (wj.clinical or wj.role or wj.title)
                ):
                    sc = 1.0  # "Dr Ferdinand Halfpenny": the second capitalised word after a title, if no clinical one
                else:
                    break
            total += sc
            strong_words += sc >= 1.5
            j += 1
        run = list(range(i, j))
        while run and run[-1] != boosted and (infos[run[-1]].particle or (
            len(run) > 1 and not infos[run[-1]].cap and infos[run[-1]].score(mixed_case) < 1.0
            and not (infos[run[-1]].top and infos[run[-2]].given and not infos[run[-2]].common)  # "john smith"
            and not (titled and len(run) == 2 and infos[run[-1]].surname and not infos[run[-1]].common
                     and infos[run[-2]].given)  # "dr. bob culhane"
        )):
            run.pop()  # no particle or weak lower-case word at the end: "Bernardo will" is "Bernardo"
        while len(run) > 1 and run[-1] != boosted and not titled and (
            infos[run[-1]].common or infos[run[-1]].clinical
        ) and not (
            infos[run[-1]].top or infos[run[-2]].given and not infos[run[-2]].common or infos[run[-2]].initial
            or infos[run[-2]].particle
        ):
            run.pop()  # nor a dictionary or clinical word: "WELLS SCORE" is "WELLS" (then an eponym)
        if not run:
            i += 1
            continue
        total = sum(
            max(infos[k].score(mixed_case), 1.0 if k == i and (sc_first_by_position or titled) else 0.0) for k in run
        )
        words = [tokens[k] for k in run]
        start = words[0][0]
        end = _span_end(text, words[-1][0], words[-1][1])
        after = text[end : end + 40]
        # The words' evidence first: it needs no cue, and when it leaves nothing (a lone initial, an eponym, a
        # facility) no cue can bring the run back, since nothing below raises ``total``.
        first = tokens[run[0]]
        if infos[run[0]].cap and mixed_case and not _SENTENCE_END.search(text[max(0, first[0] - 3) : first[0]]):
            total += 0.5  # capitalised in mid-sentence
        if len(run) == 1 and infos[run[0]].initial and not titled:
            total = 0.0  # a lone letter is never a name on its own
        if not titled and (
            _EPONYM_AFTER.match(after)
            or _FACILITY_AFTER.match(after)
            or any(infos[k].facility for k in run)
        ):
            total = 0.0
        if not titled and any(infos[k].clinical and not (infos[k].given or infos[k].surname) for k in run):
            total -= 1.0  # a word of clinical vocabulary inside the run: "Omnipaque Gadavist"
        if not titled and total > 0.0 and _clinical_neighbours(text, start, after, len(run) == 1):
            total = 0.0  # "Circle of Willis", "Bankart lesion", "Mayfield head holder": an eponym
        if total <= 0.0:
            i = j if j > i else i + 1
            continue
        # Then the cues, only when they can decide: after a title the run is a name whatever they say (cue >= 3,
        # total >= 1), and so is a run in running text whose words weigh 3 or more (3.5 or more for one word)
        if titled or (mixed_case and total >= 3.0 and (len(run) > 1 or total >= 3.5)):
            cue = 3.0
        else:
            cue = _cues_around(text, run, words, infos, after, start, last_name_end)
            if not mixed_case and 0.0 < total and total + cue < 3.0 and _next_to_number(text, start, end):
                cue += 2.0  # a word of a DICOM description next to its number or date: "20091013 PERINI"
                if start and _ID_AFTER.match(after) and all(infos[k].surname and not infos[k].common for k in run):
                    cue += 0.5  # a family name before the number, even an eponym's: "BAKER CYST PARKINSON 3982480957"
            if 1.0 <= total + cue < 3.0:  # (below 1, the strongest cue before, 2, would not reach 3 either)
                cue += _cue_before(text, start)  # looked at only when the words alone do not decide
            if len(run) == 1 and not cue and total < 3.5:
                total = 0.0
            if not mixed_case and cue < 2.0 and not any(
                (infos[k].given or infos[k].surname) and not infos[k].common for k in run
            ):
                total = 0.0  # a note in capitals: unknown words ("CAREVUE FLOWSHEET") need a lexicon name or a cue
        if total > 0.0 and total + cue >= 3.0:
            toks = [(a, _span_end(text, a, b), w) for a, b, w in words]
            parts = _name_parts(toks)
            initials = _INITIALS_AFTER.match(text, end) if mixed_case else None
            if initials and initials.group(1) not in _NOT_INITIALS:
                parts += ((initials.start(1), initials.end(1), "FIRST_NAME"),)  # "Williams AP."
                end = initials.end(1)
            found.append((start, end, "PERSON_NAME", parts))
            last_name_end = end
        i = j if j > i else i + 1
    found.extend(_inverted(text, mixed_case, cache))
    found.extend(_kin_names(text))
    if "per " in text or "(" in text or "'s request" in text or "’s request" in text:
        found.extend(_names_by_request_or_bracket(text))
    if not text.isascii():
        found.extend(_other_script_names(text))
    return found


_NAME_WORD = r"[A-ZÀ-ÖØ-ÞĀ-Ž][^\W\d_]*(?:['’-][^\W\d_]+)?"
# "per Hänel request", "at Moreau's request": who asked for a study is a person (an eponym asks for nothing)
_REQUEST = re.compile(
    r"\b(?:per|at|by)\s(" + _NAME_WORD + r"(?: " + _NAME_WORD + r")?)(?:['’]s)?\s(?:request|order|orders|referral)\b"
)
# "Seen by GI (Ó Rúáin)", "consulted cardiology (Marchetti)": a person in brackets after a service or a consult cue
_BRACKET = re.compile(r"\((" + _NAME_WORD + r"(?: " + _NAME_WORD + r"){0,2})\)")
_BRACKET_CUE = re.compile(
    r"(?i)\b(?:by|with|per|cc|consult(?:ed|s)?|attending|fellow|resident|surgeon|physician|provider|np|pa|rn|md)\b"
    r"[^()\n.;]{0,25}$"
)


def _person_words(words: list[str]) -> bool:
    """Capitalised words that are no English, clinical or unit word nor an acronym (a 1-letter particle may be)."""
    long = [w for w in words if len(w) > 1]
    return bool(long) and all(
        not w.isupper() and not _is_common(_plain(w)) and _plain(w) not in lexicon.CLINICAL_VOCAB
        and _plain(w) not in lexicon.CLINICAL_WORDS
        and _plain(w) not in _NOT_NAME and _plain(w) not in _FUNCTION_WORDS
        for w in long
    )


def _names_by_request_or_bracket(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    for pattern, cued in ((_REQUEST, False), (_BRACKET, True)):
        if not cued and not ("request" in text or "order" in text or "referral" in text):
            continue  # every _REQUEST match ends in one of its words (case-sensitive: "orders" holds "order")
        for m in pattern.finditer(text):
            if cued and not _BRACKET_CUE.search(text, max(0, m.start() - 40), m.start()):
                continue
            if _person_words(m.group(1).split(" ")):
                end = m.end(1) - 2 if m.group(1)[-2:] in ("'s", "’s") else m.end(1)
                out.append((m.start(1), end, "PERSON_NAME", ()))
    return out


def _inverted(text: str, mixed_case: bool, cache: dict[str, _Word]) -> list[_Raw]:
    """``LAST, FIRST [M]``: both words name-like, and a cue or a first name in the second place."""
    out: list[_Raw] = []
    if "," not in text:
        return out
    for m in comma_matches(_ASCII_INVERTED, text) if text.isascii() else _INVERTED.finditer(text):
        last, first = _word_info(m.group(1), cache), _word_info(m.group(2), cache)
        sl, sf = last.score(mixed_case), first.score(mixed_case)
        if sl == 0.0 or sf == 0.0:
            continue
        if m.group(1).isupper() != m.group(2).isupper():
            continue  # not written in the same case
        evidence = sl + sf + (1.0 if first.given else 0.0) + (0.5 if last.surname else 0.0)
        if _AFTER_CUE.match(text[m.end() : m.end() + 20]):
            evidence += 2.0
        if 2.0 <= evidence < 4.0:  # the cue before, at most 2, is read only when it can decide
            evidence += _cue_before(text, m.start())
        if evidence >= 4.0:
            parts = ((m.start(1), m.end(1), "LAST_NAME"), (m.start(2), m.end(2), "FIRST_NAME"))
            out.append((m.start(), m.end(), "PERSON_NAME", parts))
    return out


_INVERTED_RUN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'’-")


def comma_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Exactly ``pattern.finditer(text)`` for an ASCII text and an ASCII ``LAST, FIRST`` pattern (_ASCII_INVERTED,
    name_cues' _ASCII_INVERTED_CAPS), tried only before each comma. Its match's last name is letters, apostrophes
    and hyphens ending at a comma, after no word character, apostrophe or hyphen: for a comma it can start only
    where the run of such characters before the comma starts (anywhere later, the look-behind sees one of them).
    The commas in order, each tried once at that start, give the scan's matches."""
    pos = 0
    comma = text.find(",")
    while comma >= 0:
        start = comma
        while start > pos and text[start - 1] in _INVERTED_RUN:
            start -= 1
        m = pattern.match(text, start) if comma - start >= 2 else None
        if m is not None:
            yield m
            pos = m.end()
            comma = text.find(",", pos)
        else:
            comma = text.find(",", comma + 1)

"""More person names, found by evidence that ``names.py``'s word scores do not weigh: what a label says of the
words after it, the ``LAST, FIRST`` shape, and the company a name keeps (particles, file-name parts).

- After a label that only a person can fill ("Technologist:", "REF PHYS", "Spoke with", "daughter", "My name
  is"), the words that follow are a name in any case, unless they are everyday English, clinical vocabulary or a
  role: "Technologist: laus nissen", "Spoke with Collier regarding", "REF PHYS COOPER MARCUS".
- ``LAST, FIRST`` with both words written alike (capitals, or capitalised) where neither is everyday English,
  clinical or a state, and at least one is a census or world name: "NAGY, ERZSÉBET", "DURMUŞ, TIĞIN" after
  "PATIENT:" or at a description's start.
- A name found by any detector grows over the particles before and after it ("Ó Súilleabháin", "Mac an
  Adhastair", "da Silva") and over the neighbouring parts of a file name ("Booker_Rachel_chest.dcm").

Every scan is one regular expression pass without nested quantifiers, and each finding looks at a bounded
neighbourhood: linear in the text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from transforms.text import lexicon
from transforms.text import names as _names
from transforms.text.caseless import Caseless
from transforms.text.openings import opening_lookahead

_Raw = tuple[int, int, str, tuple[tuple[int, int, str], ...]]

# Particles of family names beyond lexicon.PARTICLES: Irish and Scottish ("Ó", "Ní", "Uí", "Mhic", "Mac an").
_PARTICLES = frozenset(lexicon.PARTICLES | {"ó", "o'", "ní", "nic", "uí", "mhic", "mag", "an", "bean", "mc", "mac"})
_IRISH_PARTICLES = frozenset({"o", "ó", "ní", "ni", "nic", "uí", "ui", "mhic", "mac", "mc", "mag"})
_STATES = frozenset(lexicon.fold(n) for n, _ in lexicon.US_STATES) | frozenset(
    a.lower() for _, a in lexicon.US_STATES
)

# A label or verb that only a person's name completes (the name follows at once, maybe after a title): a label
# before a separator (":", "#", "=", " - "), or a phrase before a space.
_LABELS = (
    r"(?:patient|pt|pat)(?:'s)?\s+name|name|patient|pt|technologist|tech|radiologist|attending|resident|fellow"
    r"|physician|provider|surgeon|nurse|rn|np|pcp|operator|sonographer|interpreter|guarantor|subscriber|insured"
    r"|(?:referring|ref|ordering|requesting|reading|interpreting|performing|attending|consulting)\.?"
    r"(?:\s+(?:phys(?:ician)?|dr|md|doc(?:tor)?|provider|radiologist|clinician))?"
    r"|(?:signed|dictated|transcribed|read|reviewed|approved|authored|performed|requested|accompanied|verified"
    r"|interpreted|entered|ordered|referred|examined|scanned|seen|visited|cosigned)\s+by"
    r"|electronically\s+signed(?:\s+by)?|signed|signature|author|performer|practitioner|recorder|asserter|requester"
    r"|informant|reporter|reported\s+by|handoff\s+to|report\s+given\s+to|cc|attn|contact|emergency\s+contact|nok"
    r"|next\s+of\s+kin|poa|hcp"
    r"|son|daughter|wife|husband|mother|father|sister|brother|spouse|guardian|caregiver|partner|friend|niece"
    r"|nephew|grandson|granddaughter|grandmother|grandfather|aunt|uncle|cousin|fianc[eé]e?"
)
_LABEL_PHRASES = (
    r"(?:spoke|spoken|talked|discussed|met|conferred|consulted|d/w)\s+with"
    r"|(?:signed|dictated|transcribed|read|reviewed|approved|performed|requested|accompanied|verified|interpreted"
    r"|examined|scanned|seen|visited|referred|cosigned)\s+by"
    r"|(?:referring|ref|ordering|requesting)\.?\s+(?:phys(?:ician)?|dr|md|doc(?:tor)?|provider)"
    r"|(?:my|her|his|patient's|pt's|the\s+patient's)\s+name\s+is|name\s+is"
    r"|(?:son|daughter|wife|husband|mother|father|sister|brother|spouse|guardian|caregiver|niece|nephew"
    r"|grandson|granddaughter)(?:,)?"
)
_LABEL_CUE = Caseless(
    r"(?i)(?<![\w'’-])"
    + opening_lookahead(_LABELS + "|" + _LABEL_PHRASES)
    + r"(?:(?:" + _LABELS + r")\s*(?:[:#=]|\s-|-\s)\s*"
    + r"|(?:" + _LABEL_PHRASES + r")\s+(?:(?:dr|mr|mrs|ms|miss|prof)\.?\s+)?)"
)
_PHYSICIAN_LABEL = re.compile(r"(?i)(?:referring|ref|ordering|requesting)\b")  # "REF PHYS COOPER": a label
_RELATION = re.compile(
    r"(?i)(?:son|daughter|wife|husband|mother|father|sister|brother|spouse|guardian|caregiver|niece|nephew"
    r"|grandson|granddaughter)\b"
)
_STATE_LABEL = re.compile(r"(?i)(?:patient|pt|pat)\s*[:#=-]")
_THING_NAME = re.compile(
    r"(?i)(?:procedure|study|test|exam|series|protocol|drug|product|brand|generic|trade|file|device|plan|program"
    r"|facility|hospital|clinic|practice|company|employer|insurance|insurer|payer|document|report|code)\s+$"
)
# A word of a name: letters, with inner apostrophes and hyphens ("O'Neil", "Oyelaran-Adeyemi").
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+)*")
_RUN_GAP = re.compile(r" |, ?")  # between the words of a name: a space, or the comma of "LAST, FIRST"
_INVERTED_CAPS_SOURCE = (
    r"(?<![\w'’-])([^\W\d_]{2,}(?:['’-][^\W\d_]+)*),[ ]?([^\W\d_]{2,}(?:-[^\W\d_]+)*)(?![\w'’-])"
)
_INVERTED_CAPS = re.compile(_INVERTED_CAPS_SOURCE)
_ASCII_INVERTED_CAPS = re.compile(_INVERTED_CAPS_SOURCE.replace(r"[^\W\d_]", "[A-Za-z]"))  # in ASCII, the same
_STRONG_BEFORE = Caseless(
    r"(?i)(?:patient|pt|name|patient\s+name|pt\s+name|ref(?:erring)?\.?\s*(?:phys(?:ician)?|dr|md)?|attending"
    r"|physician|radiologist|technologist|tech|dictated\s+by|read\s+by|signed\s+by|cc)\s*[:#=-]?\s*$"
)
_LIST_ITEM_AFTER = re.compile(r"\s*(?:,|;|/|&|\band\b|\bor\b)\s*[^\W\d_]")
_LIST_ITEM_BEFORE = re.compile(r"[^\W\d_]\s*(?:,|/|&|\band|\bor)\s*$")
_SEPARATOR_BEFORE = re.compile(r"(?:^|[\n|;:>\]\[(]|\s-|\d)\s*$")  # a description's start, a field or a number
_PARTICLE_BEFORE = re.compile(r"(?:^|(?<=[\s(]))((?:[^\W\d_]{1,4}['’]?\s){1,2})$")
# Characters that are no letter, apostrophe or whitespace: a _PARTICLE_BEFORE match ending at ``start`` ends in
# whitespace at start - 1 with a letter or apostrophe before it, or ("$" before a final line break) in whitespace
# at start - 2 followed by "\n"; either way text[start - 2] is none of these.
_NO_PARTICLE_END = frozenset("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~0123456789")
_WORDS_AFTER = re.compile(r"((?:\s[^\W\d_]{1,4}){0,2})\s([^\W\d_]+(?:['’-][^\W\d_]+)*)")
_FILE_PART_BEFORE = re.compile(r"(?:^|(?<=[\s/\\(]))([^\W\d_]{2,})_$")
_FILE_PART_AFTER = re.compile(r"_([^\W\d_]{2,})(?=[_.\s]|$)")


# The word-level verdicts below depend on the word (and flags) alone: each is remembered per process (bounded),
# as names._word_info remembers what the lexicons say of a word.
_WORD_CACHE = 1 << 16


@functools.lru_cache(maxsize=_WORD_CACHE)
def _fold(word: str) -> str:
    w = word.rstrip(".").replace("’", "'")
    if w[-2:].lower() == "'s":
        w = w[:-2]
    return lexicon.fold(w)


@functools.lru_cache(maxsize=_WORD_CACHE)
def _lex(plain: str) -> bool:
    parts = [p for p in re.split(r"[-']", plain) if p]
    if len(parts) > 1 and "'" in plain and parts[0] in ("o", "d", "l", "m"):
        parts = parts[1:]  # "o'connor", "d'angelo": the letter before the apostrophe is a particle
    return bool(parts) and all(p in lexicon.GIVEN_NAMES or p in lexicon.SURNAMES for p in parts)


def _barred(plain: str) -> bool:
    """A role, function word, title or state: never a name word."""
    return (
        plain in _names._NOT_NAME
        or plain in _names._FUNCTION_WORDS
        or plain in lexicon.TITLES
        or plain in _STATES
        or plain in lexicon.FACILITY_WORDS
        or plain in _SERVICES
    )


def _clinical(plain: str) -> bool:
    return plain in lexicon.CLINICAL_VOCAB or plain in lexicon.CLINICAL_WORDS


def _plain_name(plain: str) -> bool:
    """No everyday English or clinical word, in letters only and not shaped like an English verb or noun."""
    letters = plain.replace("-", "").replace("'", "")
    return (
        len(letters) >= 3
        and letters.isalpha()
        and not _names._is_common(plain)
        and not _clinical(plain)
        and not _names._WORD_ENDING.search(plain)
    )


# Clinical services and their short forms, which fill a "seen by" or "consulted" as often as a person does.
_SERVICES = frozenset(
    """neuro neurology cardio cardiology ortho orthopedics psych psychiatry gi ent pulm pulmonary renal nephro onc
    derm surg surgery rheum uro urology gyn obgyn ob peds nsgy nsurg ir vir ctsurg ctsx id icu micu sicu ccu ed er
    hospitalist anesthesia anesthesiology rad rads radiology pathology path endo heme hemonc palliative pt ot slp
    rt sw cm pharmacy nutrition dietary chaplain security ems fire police team service staff family""".split()
)


@functools.lru_cache(maxsize=_WORD_CACHE)
def _cued_word(
    word: str, strict: bool = False, state_label: bool = False, after_given: bool = False, relation: bool = False
) -> bool:
    """A word that completes a person label: a census or world name (capitalised when it is also an everyday
    English word: "Smith", not "white"; a clinical one counts, "Spoke with Nissen"), or a word no dictionary
    knows."""
    plain = _fold(word)
    if len(plain) < 2 or _barred(plain) or (len(plain) < 3 and not word.istitle()):
        return False  # "seen by ho." (house officer), not "Dr. Ho"
    if word.isupper() and len(plain) <= 3 and not _lex(plain):
        return False  # "CT", "ED", "MRI": an acronym
    if _lex(plain):
        if state_label and _names._is_common(plain):
            return False  # "Patient: Alert": a word of English after "Patient:" is the patient's state
        if after_given and plain in lexicon.SURNAMES and plain not in lexicon.CLINICAL_WORDS:
            return True  # "signed: kenji wood": a family name after a first name, in any case
        if (strict or relation) and word.isupper() and _names._is_common(plain):
            return False  # "DAUGHTER, FRIENDS", "SON BROUGHT": in capitals after a relation or a verb, English
        if plain in lexicon.COMMON_WORDS:  # "Smith", "COOPER", "Rich", "WOOD", not "white", "Knee"
            if not word[:1].isupper() or state_label or plain in lexicon.CLINICAL_WORDS:
                return False
            return not _clinical(plain) or plain in lexicon.TOP_SURNAMES  # the 3,000 commonest: a name first
        return True
    if plain.endswith(("ing", "ly")) and (state_label or strict):
        return False  # "Patient: Ambulating", "Pt: Calmly": a state, not a name
    if relation and ("-" in word or word.isupper()):
        return False  # "daughter phoned-family", "SON BROUGHT": no unknown word in capitals or with a hyphen
    if strict and (word.islower() or word.isupper()):
        return False  # after a verb or a relation ("seen by neuro", "SON BROUGHT"), an unknown word needs a capital
    return _plain_name(plain)


def _given(word: str) -> bool:
    plain = _fold(word)
    return plain in lexicon.GIVEN_NAMES and plain not in lexicon.COMMON_WORDS and not _clinical(plain)


def _cued_names(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    for cue in _LABEL_CUE.finditer(text):
        if cue.group()[:4].lower() == "name" and _THING_NAME.search(text, max(0, cue.start() - 16), cue.start()):
            continue  # "Procedure name:", "Study name:": a thing's name, not a person's
        pos = cue.end()
        words: list[tuple[int, int]] = []
        commas = 0
        unlabelled = not any(ch in cue.group() for ch in ":#=-") and not _PHYSICIAN_LABEL.match(cue.group())
        relation = unlabelled and _RELATION.match(cue.group()) is not None  # "daughter ctirad", not "daughter-in-law"
        strict = unlabelled and not relation
        state_label = _STATE_LABEL.match(cue.group()) is not None  # "Patient:", "Pt -": a state often follows
        while len(words) < 4:
            m = _WORD.match(text, pos)
            if m is None:
                break
            word = m.group()
            plain = _fold(word)
            if words and plain in _PARTICLES and not word.isupper() or (not words and plain in _IRISH_PARTICLES):
                nxt = _RUN_GAP.match(text, m.end())
                if nxt is not None and nxt.group() == " ":
                    pos = nxt.end()
                    continue  # "da Silva", "Ó Súilleabháin", "Mac an Adhastair": the word after decides
            after_given = bool(words) and _given(text[words[-1][0] : words[-1][1]])
            eponym_first = not words and _fold(word) in lexicon.CLINICAL_WORDS
            if not _cued_word(word, strict and not words, state_label, after_given, relation) or eponym_first:
                break  # an eponym first ("Holter", "Whipple", "Doppler") is the device or the procedure
            if words:
                prev = text[words[-1][0] : words[-1][1]]
                if prev[:1].isupper() and not word[:1].isupper():
                    break  # "Smith regarding": a lower-case word never extends a capitalised name
            words.append(m.span())
            gap = _RUN_GAP.match(text, m.end())
            if gap is None or ("," in gap.group() and (commas or len(words) > 1)):
                break
            commas += "," in gap.group()
            pos = gap.end()
        if words:
            start = cue.end()
            end = _names._span_end(text, words[-1][0], words[-1][1])
            if len(words) == 1 and _names.eponym_like(text, words[0][0], end):
                continue  # "discussed with Whipple procedure": an eponym, not a person
            out.append((start, end, "PERSON_NAME", ()))
    return out


def _inverted_word(word: str) -> tuple[bool, bool]:
    """(may be a name word, is a census or world name) for one side of ``LAST, FIRST``."""
    plain = _fold(word)
    if _barred(plain) or (_clinical(plain) and not _lex(plain)) or plain in lexicon.CLINICAL_WORDS:
        return False, False
    lex = _lex(plain)
    if lex:
        return not _names._is_common(plain) or plain in lexicon.TOP_SURNAMES or plain in lexicon.GIVEN_NAMES, True
    return _plain_name(plain), False


def _inverted_names(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    if "," not in text:
        return out
    for m in _names.comma_matches(_ASCII_INVERTED_CAPS, text) if text.isascii() else _INVERTED_CAPS.finditer(text):
        last, first = m.group(1), m.group(2)
        upper = last.isupper() and first.isupper()
        if not upper and not (last.istitle() and first.istitle()):
            continue
        ok_l, lex_l = _inverted_word(last)
        ok_f, lex_f = _inverted_word(first)
        if not (ok_l and ok_f):
            continue
        before = text[max(0, m.start() - 30) : m.start()]
        after = text[m.end() : m.end() + 30]
        if (_LIST_ITEM_AFTER.match(after) and not _names._AFTER_CUE.match(after)) or _LIST_ITEM_BEFORE.search(before):
            continue  # "Lipitor, Zoloft, Lasix", "Bell, Hope, and": items of a list, not LAST, FIRST
        cued = bool(_STRONG_BEFORE.search(before))
        placed = bool(_SEPARATOR_BEFORE.search(before))
        if _names.eponym_like(text, m.start(2), m.end(2)):
            continue  # "Wells, Caprini score": eponyms of a list
        if cued or ((lex_l or lex_f) and placed):
            start = m.start()
            start = _particles_before(text, start)  # "Ó LUAG, HAZEL", "van den Pol, Nienke"
            out.append((start, m.end(), "PERSON_NAME", ()))
    return out


# What a person does in a note, right after their name: "Perkins was seen", "marius haugen called asking".
_NARRATION_VERBS = (
    r"(?:was|is|has\s+been)\s+(?:seen|admitted|evaluated|brought|transferred|discharged|examined"
    r"|here|again|aware|updated|notified)|called|phoned|presented|presents|reports|reported|states|stated|denies"
    r"|denied|tolerated|underwent|arrived|returns|returned|came|complains|agrees|agreed|declined|consented|asked"
    r"|asking|requests|requested"
)
# The space after a letter, its look-behind read after the space: a pattern that opens with a literal lets re jump
# from space to space.
_NARRATION = re.compile(r" (?<=[^\W\d_] )" + opening_lookahead(_NARRATION_VERBS) + r"(?:" + _NARRATION_VERBS + r")\b")
_WORDS_BEFORE = re.compile(
    r"(?:(?<=[\s(,;:])|^)((?:[^\W\d_]+(?:['’-][^\W\d_]+)* ){0,2}[^\W\d_]+(?:['’-][^\W\d_]+)*)$"
)


def _named_word(word: str, alone: bool) -> bool:
    """A census or world name that is no English, clinical or role word; or, with another name word beside it,
    a word no dictionary knows."""
    plain = _fold(word)
    if _barred(plain) or _clinical(plain) or len(plain) < 2:
        return False
    if _lex(plain) and not _names._is_common(plain):
        return True
    return not alone and _plain_name(plain)


def _names_before_narration(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    for v in _NARRATION.finditer(text):
        b = _WORDS_BEFORE.search(text, max(0, v.start() - 60), v.start())
        if b is None:
            continue
        words = list(_WORD.finditer(text, b.start(1), v.start()))
        k = len(words)
        while k > 0:
            w = words[k - 1].group()
            plain = _fold(w)
            if k < len(words) and plain in _PARTICLES and not w.isupper():
                k -= 1
                continue
            if not _named_word(w, alone=(k == len(words) and len(words) == 1)):
                break
            k -= 1
        kept = words[k:]
        if not kept:
            continue
        lex_words = [m for m in kept if _lex(_fold(m.group())) and not _names._is_common(_fold(m.group()))]
        if not lex_words or (len(kept) == 1 and kept[0].group().isupper()):
            continue
        core = [m for m in kept if _fold(m.group()) not in _PARTICLES] or kept
        if core[0].group()[:1].islower() != core[-1].group()[:1].islower():
            continue  # "Smith jones": a name is written in one case ("van der Berg" is)
        if core[0].group().islower() and _fold(core[0].group()) not in lexicon.GIVEN_NAMES:
            continue  # in lower case, a first name opens the name: "kerstin gustafsson called"
        out.append((kept[0].start(), kept[-1].end(), "PERSON_NAME", ()))
    return out


def _particles_before(text: str, start: int) -> int:
    """Where the one or two name particles right before ``start`` begin ("Ó ", "van den "); ``start`` if none."""
    if start < 2 or not text[start - 1].isspace() or text[start - 2] in _NO_PARTICLE_END:
        return start  # "Patient: Smith", "(Smith": no match can end here
    p = _PARTICLE_BEFORE.search(text, max(0, start - 12), start)
    if p and all(_fold(w) in _PARTICLES for w in p.group(1).split()):
        return p.start(1)
    return start


def _grown(text: str, start: int, end: int) -> list[_Raw]:
    """The particles and file-name parts around a found name, as findings of their own."""
    out: list[_Raw] = []
    particles = _particles_before(text, start)
    if particles < start:
        out.append((particles, start, "PERSON_NAME", ()))
    a = _WORDS_AFTER.match(text, end, min(len(text), end + 60))
    if a is not None:
        chain = a.group(1).split()  # the particles between the name and the next word ("Emily" Mac an "Adhastair")
        span_words = text[start:end].split()
        ends_in_particle = len(span_words) > 1 and _fold(span_words[-1]) in _PARTICLES  # "thelma mac" caoidheáin
        if (chain or ends_in_particle) and all(_fold(w) in _PARTICLES for w in chain):
            word = a.group(2)
            plain = _fold(word)
            same_case = word[:1].isupper() or text[start : start + 1].islower()
            if same_case and (_plain_name(plain) or (_lex(plain) and not _names._is_common(plain))):
                out.append((end, a.end(2), "PERSON_NAME", ()))
    if start and text[start - 1] == "_":
        f = _FILE_PART_BEFORE.search(text, max(0, start - 40), start)
        if f and _file_part(f.group(1)):
            out.append((f.start(1), f.end(1), "PERSON_NAME", ()))
    if end < len(text) and text[end] == "_":
        f = _FILE_PART_AFTER.match(text, end)
        if f and _file_part(f.group(1)):
            out.append((f.start(1), f.end(1), "PERSON_NAME", ()))
    return out


def _file_part(word: str) -> bool:
    plain = _fold(word)
    if _barred(plain) or _clinical(plain) or (word.isupper() and not _lex(plain)):
        return False  # "PACS_ARCH": capitals no name list knows are an acronym
    return (_lex(plain) and word[:1].isupper()) or _plain_name(plain)


# A file name or path: a whitespace-free chunk with "_", "/", "\\" or a file extension ("smith.john.pdf").
_CHUNK = re.compile(r"[^\s\"'<>()\[\]{},;]+")
_EXTENSIONS = (
    r"(?:txt|pdf|dcm|dicom|jpg|jpeg|png|gif|bmp|tif|tiff|doc|docx|rtf|odt|xls|xlsx|csv|xml|json|htm|html|zip|gz"
    r"|tar|nii|mp4|avi|mov|wav|mp3|msg|eml)"
)
_EXTENSION = re.compile(r"\." + _EXTENSIONS + "$", re.IGNORECASE)
# "_", "\\", a "/" opening a path after whitespace ("/", "~/", "./": each look-behind, read after the characters,
# asks for whitespace or the text's start before them), or a file extension. Every branch opens with a literal:
# re jumps to the next of these five characters instead of trying each branch at every position.
_FILE_MARK = re.compile(r"_|\\|~/(?<!\S..)|\./(?<!\S..)|/(?<!\S.)|\." + _EXTENSIONS + r"\b", re.IGNORECASE)
_CHUNK_EDGE = frozenset(" \t\n\r\"'<>()[]{},;")


def _chunk_start(text: str, at: int) -> int:
    while at > 0 and text[at - 1] not in _CHUNK_EDGE:
        at -= 1
    return at


_COMPONENT = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# MRI sequence and vendor words that are also family names ("DIXON", "FLASH"): series descriptions are file-like.
_SEQUENCE_WORDS = frozenset(
    """dixon ideal flash fiesta lava swan haste vibe blade space cube bravo users user documents desktop downloads
    public home data exports export images scans files shared""".split()
)


def _file_name_names(text: str) -> list[_Raw]:
    """Family and first names inside file names and paths: "note_kirkpatrick.txt", "SMITH_JOHN_CT.dcm",
    "C:\\Users\\mlopez\\...". Only words a name list knows, two side by side, or an initial glued to a known
    family name; never a sequence or clinical word."""
    out: list[_Raw] = []
    marks = [m.start() for m in _FILE_MARK.finditer(text)]  # every file name or path holds one
    end = -1
    for at in marks:
        if at < end:
            continue  # inside the chunk just read
        chunk = _CHUNK.search(text, _chunk_start(text, at))
        if chunk is None:
            continue
        end = chunk.end()
        tok = chunk.group().rstrip(".:!?")
        if "@" in tok or "://" in tok or tok.lower().startswith("www."):
            continue  # an e-mail address or a URL: their own detectors
        ext = _EXTENSION.search(tok)
        if not (ext or "\\" in tok or tok.startswith(("/", "~/", "./"))):
            continue  # a file or a path ("T1_VIBE_FS" is a series, "CLINDA/OX/LEVO" a list)
        stop = chunk.start() + (ext.start() if ext else len(tok))
        comps = [m for m in _COMPONENT.finditer(text, chunk.start(), stop)]
        verdict = [_file_name_word(m.group()) for m in comps]
        for k, m in enumerate(comps):
            # a name beside another name ("SMITH_JOHN", "smith.john"), or a family name glued to its initial
            near = [verdict[j] for j in (k - 1, k + 1) if 0 <= j < len(comps)]
            if verdict[k] == "glued" or (verdict[k] is not False and any(v is True for v in near)) or (
                verdict[k] is True and any(v is None for v in near)
            ) or (verdict[k] is None and any(v is None for v in near) and _given_and_family(comps, k)):
                out.append((m.start(), m.end(), "PERSON_NAME", ()))
    return out


def _given_and_family(comps: list[re.Match[str]], k: int) -> bool:
    """Word ``k`` and a neighbour are a family and a first name of the lists ("SMITH_JOHN", "john.smith")."""
    here = _fold(comps[k].group())
    for j in (k - 1, k + 1):
        if 0 <= j < len(comps):
            there = _fold(comps[j].group())
            pairs = ((here, there), (there, here))
            if any(a in lexicon.SURNAMES and b in lexicon.CENSUS_GIVEN for a, b in pairs):
                return True
    return False


def _file_name_word(word: str) -> bool | None | str:
    """True: a name list's word; None: one that is also everyday English; False: no name; "glued": an initial and
    a family name in one word. A name word counts only beside another ("SMITH_JOHN"): alone in a file name it is as
    often a product or a drug."""
    plain = _fold(word)
    if len(plain) < 3 or _barred(plain) or plain in _SEQUENCE_WORDS or plain in lexicon.CLINICAL_WORDS:
        return False
    if word.isupper() and len(plain) <= 3:
        return False  # "TSE", "GRE", "FSE": a sequence's initials
    if _lex(plain):
        if _clinical(plain):  # "Smith" (a fracture), "Bell": a top census name only beside another name
            return None if plain in lexicon.TOP_SURNAMES else False
        return None if _names._is_common(plain) else True
    if _clinical(plain):
        return False
    if len(plain) >= 5 and plain[1:] in lexicon.SURNAMES and not _names._is_common(plain[1:]):
        return "glued"  # "jsmith", "mlopez"
    return False


def find_more_names(text: str, found: Sequence[_Raw]) -> list[_Raw]:
    """PERSON_NAME findings beyond ``found`` (the findings of ``names.find_names`` on the same text)."""
    out = _cued_names(text)
    out.extend(_inverted_names(text))
    out.extend(_file_name_names(text))
    if " " in text:
        out.extend(_names_before_narration(text))
    grown: list[_Raw] = []
    by_span: dict[tuple[int, int], list[_Raw]] = {}  # a span found twice (by find_names and a cue) grows alike
    for s, e, _, _ in list(found) + out:
        span_grown = by_span.get((s, e))
        if span_grown is None:
            span_grown = by_span[(s, e)] = _grown(text, s, e)
        grown.extend(span_grown)
    out.extend(grown)
    return out

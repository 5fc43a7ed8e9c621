"""The one place FHIR calls text inspection (``transforms.text``): TextConfig -> TextPolicy, find_sensitive."""

from __future__ import annotations

import re
from collections.abc import Sequence

from transforms.config import TextConfig
from transforms.crypto import Keys
from transforms.text import DEFAULT_TEXT_INFO_TYPES, TextPolicy
from transforms.text.detectors import FindingMemo
from transforms.text.policy import apply_findings, find_sensitive

# Spec §3.3: the default FHIR infoTypes are not published; we use the default DICOM list, as the spec says, with
# the HIPAA Safe Harbor identifiers it lacks (transforms.text.policy.DEFAULT_TEXT_INFO_TYPES).
FHIR_DEFAULT_INFO_TYPES: tuple[str, ...] = DEFAULT_TEXT_INFO_TYPES
CACHE_SIZE = 8192


class TextCleaner:
    """Text inspection for one policy. Picklable; built once at launch (config errors name ``text....``)."""

    def __init__(self, text_config: TextConfig | None, config_path: str = "text"):
        self.policy = TextPolicy.from_config(
            text_config, default_info_types=FHIR_DEFAULT_INFO_TYPES, config_path=config_path
        )
        self._cache: dict = {}
        self._nothing_found: set = set()
        # What the detectors find in a text apart from context phrases, shared by every resource whose context
        # differs: coded texts ("Hemoglobin A1c/Hemoglobin.total in Blood") repeat across patients.
        self._memo = FindingMemo(CACHE_SIZE)

    def __getstate__(self) -> dict:
        return {"policy": self.policy, "_cache": {}, "_nothing_found": set(), "_memo": FindingMemo(CACHE_SIZE)}

    def clean(self, text: str, keys: Keys, patient: str | None, context: Sequence[str]) -> str:
        """``text`` with sensitive findings transformed and context phrases replaced by ``[CTX]``."""
        if not text or text.isspace():
            return text
        context = relevant_context(text, context)
        if _DIGIT.search(text) is not None:  # dates (always written with digits) shift per patient
            # What is found does not depend on the patient or key, only how it is replaced: remember the texts
            # with nothing to find ("Body mass index 25.3", "Hemoglobin A1c"), which repeat across patients.
            found_key = (text, context)
            if found_key in self._nothing_found:
                return text
            findings = find_sensitive(text, self.policy, context=context, memo=self._memo)
            if not findings:
                if len(self._nothing_found) >= CACHE_SIZE:
                    self._nothing_found.clear()
                self._nothing_found.add(found_key)
                return text
            return apply_findings(text, findings, self.policy, keys, patient or "")
        # Without digits the result depends on the text, the context and the run key only: short coded texts
        # ("Heart rate") repeat across a store, so cache them (bounded, per process, order-independent).
        cache_key = (text, context, keys)
        cached = self._cache.get(cache_key)
        if cached is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            findings = find_sensitive(text, self.policy, context=context, memo=self._memo)
            cached = self._cache[cache_key] = apply_findings(text, findings, self.policy, keys, "")
        return cached


_DIGIT = re.compile(r"\d")
_TERM_WORDS = re.compile(r"[^\W_]+")


def coded_text(text: str, concept: object) -> bool:
    """Whether ``text`` (a CodeableConcept.text) says what the concept's own codings' displays say: every word of
    it occurs in a display ("Knee X-ray" beside "Plain X-ray of knee"), so it is clinical, not PHI, and kept."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(codings, list):
        return False
    words: set[str] = set()
    for coding in codings:
        display = coding.get("display") if isinstance(coding, dict) else None
        display = getattr(display, "value", display)  # a display still waiting for its own cleaning
        if isinstance(display, str):
            words.update(w.casefold() for w in _TERM_WORDS.findall(display))
    text_words = [w.casefold() for w in _TERM_WORDS.findall(text)]
    return bool(words) and bool(text_words) and all(w in words for w in text_words)
_WORDS = re.compile(r"[^\s,^=\\]+")


def relevant_context(text: str, context: Sequence[str]) -> tuple[str, ...]:
    """The context values that can match in ``text``: a value none of whose words occurs in the text (case
    folded), or a date where the text has no digit, cannot, so it is left out. The text engine compiles one
    pattern per distinct context; this keeps that context small and often the same (its cache then hits)."""
    if not context:
        return ()
    folded = text.casefold()
    has_digit = _DIGIT.search(text) is not None
    kept = []
    prepared = _PREPARED
    for value in context:
        prep = prepared.get(value)
        if prep is None:
            prep = _prepare(value)
        words, digit_start, year, short_year = prep
        if digit_start and not has_digit:
            continue
        for word in words:  # a loop, not any(<generator>): this runs for every text and context value
            if word in folded:
                kept.append(value)
                break
        else:
            if has_digit and year and (year in text or short_year in text):
                kept.append(value)  # a date may be spelt differently in the text (3/2/50): its year is in each spelling
    return tuple(dict.fromkeys(kept))


_PREPARED: dict[str, tuple] = {}


def _prepare(value: str) -> tuple:
    """A context value's case-folded words and year, computed once a value (a patient's phrases are the
    context of all its resources)."""
    prep = (_WORDS.findall(value.casefold()), value[:1].isdigit(),
            value[:4] if value[:4].isdigit() else "", value[2:4])
    if len(_PREPARED) >= CACHE_SIZE * 4:
        _PREPARED.clear()
    _PREPARED[value] = prep
    return prep

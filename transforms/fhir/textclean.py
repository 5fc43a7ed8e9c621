"""The one place FHIR calls text inspection (``transforms.text``): TextConfig -> TextPolicy, clean_text."""

from __future__ import annotations

from typing import Optional, Sequence

from transforms.config import TextConfig
from transforms.crypto import Keys
from transforms.text import DEFAULT_DICOM_INFO_TYPES, TextPolicy, clean_text

# Spec §3.3: the default FHIR infoTypes are not published; we use the default DICOM list, as the spec says.
FHIR_DEFAULT_INFO_TYPES: tuple[str, ...] = DEFAULT_DICOM_INFO_TYPES


class TextCleaner:
    """Text inspection for one policy. Picklable; built once at launch (config errors name ``text....``)."""

    def __init__(self, text_config: Optional[TextConfig], config_path: str = "text"):
        self.policy = TextPolicy.from_config(
            text_config, default_info_types=FHIR_DEFAULT_INFO_TYPES, config_path=config_path
        )

    def clean(self, text: str, keys: Keys, patient: Optional[str], context: Sequence[str]) -> str:
        """``text`` with sensitive findings transformed and context phrases replaced by ``[CTX]``."""
        if not text or text.isspace():
            return text
        return clean_text(text, self.policy, keys, patient=patient or "", context=context)

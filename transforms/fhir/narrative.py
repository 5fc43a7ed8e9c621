"""XHTML narrative (``Narrative.div``): transform its text while keeping it well-formed XHTML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Callable

XHTML_NS = "http://www.w3.org/1999/xhtml"
# Attributes whose values are human-readable text or links, transformed like text nodes.
TEXT_ATTRIBUTES = frozenset({"title", "alt", "href", "src", "summary", "abbr", "cite"})


def placeholder_div(text: str) -> str:
    """A minimal valid narrative div holding ``text`` (escaped)."""
    body = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<div xmlns="{XHTML_NS}">{body}</div>'


def transform_div(div: str, transform: Callable[[str], str]) -> str:
    """Apply ``transform`` to every text node and text-like attribute of an XHTML div.

    A div that does not parse as XML cannot be cleaned safely: it is replaced by ``[REDACTED]`` narrative.
    """
    try:
        root = ET.fromstring(div)
    except ET.ParseError:
        return placeholder_div("[REDACTED]")
    for element in root.iter():
        if element.text and not element.text.isspace():
            element.text = transform(element.text)
        if element.tail and not element.tail.isspace() and element is not root:
            element.tail = transform(element.tail)
        for name, value in list(element.attrib.items()):
            local = name.rpartition("}")[2]
            if local in TEXT_ATTRIBUTES and value and not value.isspace():
                element.set(name, transform(value))
    if not "".join(root.itertext()).strip():
        return placeholder_div("[REDACTED]")  # R4 txt-2: a narrative must keep some text
    try:
        return ET.tostring(root, encoding="unicode", default_namespace=XHTML_NS)
    except ValueError:  # elements outside the XHTML namespace (invalid R4, but keep it well-formed)
        return ET.tostring(root, encoding="unicode")

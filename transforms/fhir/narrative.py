"""XHTML narrative (``Narrative.div``): transform its text while keeping it well-formed XHTML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

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
    out: list[str] = []
    _serialize(root, out, {}, top=True)
    return "".join(out)


_XML_NS = "http://www.w3.org/XML/1998/namespace"


def _escape(text: str, attribute: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if attribute else text


def _qualify(name: str, declared: dict[str, str], new: list[str]) -> str:
    """``{ns}local`` -> the name to write; XHTML is the default namespace, others get declared prefixes."""
    if not name.startswith("{"):
        return name
    ns, _, local = name[1:].partition("}")
    if ns == XHTML_NS:
        return local
    if ns == _XML_NS:
        return "xml:" + local
    prefix = declared.get(ns)
    if prefix is None:
        prefix = declared[ns] = f"ns{len(declared)}"
        new.append(f' xmlns:{prefix}="{_escape(ns, True)}"')
    return f"{prefix}:{local}"


def _serialize(element: ET.Element, out: list[str], declared: dict[str, str], top: bool = False) -> None:
    """Write an element as XHTML with the XHTML namespace as default (ElementTree would add ``html:`` prefixes)."""
    declared = dict(declared)
    new: list[str] = [f' xmlns="{XHTML_NS}"'] if top else []
    tag = _qualify(element.tag, declared, new)
    attrs = "".join(f' {_qualify(k, declared, new)}="{_escape(v, True)}"' for k, v in element.attrib.items())
    out.append(f"<{tag}{''.join(new)}{attrs}")
    if element.text is None and len(element) == 0:
        out.append("/>")
    else:
        out.append(">")
        if element.text:
            out.append(_escape(element.text))
        for child in element:
            _serialize(child, out, declared)
            if child.tail:
                out.append(_escape(child.tail))
        out.append(f"</{tag}>")

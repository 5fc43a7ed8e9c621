"""Search a destination instance, resource or run record for source identifiers; report where, never what.

DICOM: the raw bytes outside PixelData are searched first (one Aho-Corasick pass, which covers every element
value, nested sequences and private tags included, and the bytes between them); only an instance with a hit is
parsed element by element to name the tag path. FHIR: every string (and number) of the resource, the text of
XHTML narrative with its tags stripped, and base64 data decoded. Run records: line by line, dates left out
(a record's own timestamps are not the patient's).
"""

from __future__ import annotations

import html
import io
import json
import re
import struct
from typing import Any, NamedTuple

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from transforms.dicom.deidentify import DEFLATED, pixel_element_end
from transforms.dicom.policy import PIXEL_DATA, element_vr, tag_name
from transforms.verify.elements import hides_elements_in, walk_embedded
from transforms.verify.identifiers import DATE, _text, decode_base64
from transforms.verify.matcher import IdentifierMatcher, Match

_TAG = re.compile(r"<[^>]*>")


class Finding(NamedTuple):
    """One identifier found in the destination: its category, where the source held it, where it was found."""

    category: str
    origin: str
    resource: str
    location: str

    def to_json(self) -> dict:
        return {"category": self.category, "origin": self.origin, "resource": self.resource,
                "location": self.location}


def _add(out: dict, match: Match, resource: str, location: str) -> None:
    """Collect one match; a value held by several source fields is one finding naming them all."""
    out.setdefault((match.category, location), set()).add(match.origin)


def _findings(out: dict, resource: str) -> list[Finding]:
    return sorted(Finding(category, "; ".join(sorted(origins)[:3]) + (" ..." if len(origins) > 3 else ""),
                          resource, location) for (category, location), origins in out.items())


# --- DICOM -------------------------------------------------------------------------------------------------


def _header(data: bytes):
    """(header dataset or None, pixel data start, pixel data end)."""
    fp = io.BytesIO(data)
    try:
        ds = pydicom.dcmread(fp, stop_before_pixels=True, force=True)
    except Exception:  # noqa: BLE001 - not parseable: every byte is searched
        return None, len(data), len(data)
    pos = fp.tell()
    if pos + 8 > len(data):
        return ds, len(data), len(data)
    implicit, little = ds.original_encoding if ds.original_encoding[0] is not None else (False, True)
    (group, element) = struct.unpack_from("<HH" if little else ">HH", data, pos)
    if (group << 16 | element) != PIXEL_DATA:
        return ds, len(data), len(data)
    try:
        end = pixel_element_end(data, pos, implicit, little)
    except Exception:  # noqa: BLE001 - truncated pixel data: nothing after it to search
        end = len(data)
    return ds, pos, end


def _value_bytes(raw: Any) -> Any:
    value = raw.value
    if isinstance(value, (bytes, str)):
        return value
    return _text(value) or ""


def _locate(ds: Dataset, matcher: IdentifierMatcher, scope: str, path: str, out: dict, resource: str) -> None:
    for tag in list(ds.keys()):
        tag = int(tag)
        if tag == PIXEL_DATA:
            continue
        raw = ds.get_item(tag)
        vr = raw.VR or element_vr(tag)
        where = f"{path}{tag_name(tag)}"
        if vr == "SQ":
            try:
                items = ds[tag].value or []
            except Exception:  # noqa: BLE001 - left to the raw byte search
                continue
            for i, item in enumerate(items):
                _locate(item, matcher, scope, f"{where}[{i}] > ", out, resource)
            continue
        value = _value_bytes(raw) if isinstance(raw, RawDataElement) else (_text(raw.value) or "")
        found = matcher.find_bytes(value, scope) if isinstance(value, bytes) else matcher.find_text(value, scope)
        if found and isinstance(value, bytes) and hides_elements_in(tag, raw.VR or "", value):
            # a value that swallowed other elements: name the element inside it that holds the identifier
            named = set()
            for element in walk_embedded(value):
                for match in matcher.find_bytes(element.value, scope):
                    _add(out, match, resource, f"{where} > {tag_name(element.tag)}")
                    named.add((match.category, match.origin))
            found = [m for m in found if (m.category, m.origin) not in named]
        for match in found:
            _add(out, match, resource, where)


def scan_dicom_instance(data: bytes, matcher: IdentifierMatcher, resource: str = "") -> list[Finding]:
    """Every identifier of the matcher in one destination instance, located by tag path."""
    ds, pixel_start, pixel_end = _header(data)
    study = str(ds.get("StudyInstanceUID", "") or "") if ds is not None else ""
    scope = matcher.scope_of(study) if study else ""
    deflated = ds is not None and str(getattr(ds.file_meta, "TransferSyntaxUID", "")) == DEFLATED
    raw: list[Match] = []
    if not deflated:
        raw = matcher.find_bytes(data[:pixel_start], scope)
        if pixel_end < len(data):
            raw += [m._replace(start=m.start + pixel_end, end=m.end + pixel_end)
                    for m in matcher.find_bytes(data[pixel_end:], scope)]
        if not raw:
            return []
    located: dict = {}
    try:
        full = pydicom.dcmread(io.BytesIO(data), force=True)
        if getattr(full, "file_meta", None) is not None:
            _locate(full.file_meta, matcher, scope, "", located, resource)
        _locate(full, matcher, scope, "", located, resource)
    except Exception:  # noqa: BLE001 - what cannot be parsed is reported by byte offset
        pass
    found = {(category, origin) for (category, _), origins in located.items() for origin in origins}
    for match in raw:
        if (match.category, match.origin) not in found:
            where = "preamble" if match.start < 128 else f"bytes at offset {match.start}"
            _add(located, match, resource, where)
            found.add((match.category, match.origin))
    return _findings(located, resource)


# --- FHIR --------------------------------------------------------------------------------------------------


def narrative_text(div: str) -> list[str]:
    """The text of XHTML with its tags stripped (joined and spaced, so a value split by markup is found)."""
    return list(dict.fromkeys(html.unescape(_TAG.sub(sep, div)) for sep in ("", " ")))


def _scan_json(node: Any, where: str, key: str, matcher: IdentifierMatcher, scope: str, resource: str,
               out: dict) -> None:
    def add(matches: list[Match], location: str) -> None:
        for m in matches:
            _add(out, m, resource, location)

    if isinstance(node, dict):
        for child_key, child in node.items():
            _scan_json(child, f"{where}.{child_key}" if where else child_key, child_key, matcher, scope, resource,
                       out)
    elif isinstance(node, list):
        for i, child in enumerate(node):
            _scan_json(child, f"{where}[{i}]", key, matcher, scope, resource, out)
    elif isinstance(node, str):
        add(matcher.find_text(node, scope), where)
        if key == "div" and "<" in node:
            for text in narrative_text(node):
                add(matcher.find_text(text, scope), f"{where} (narrative text)")
        if key == "data" or key.endswith("Base64Binary"):
            decoded = decode_base64(node)
            if decoded:
                add(matcher.find_bytes(decoded, scope), f"{where} (base64-decoded)")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        add(matcher.find_text(str(node), scope), where)


def scan_fhir_resource(resource: Any, matcher: IdentifierMatcher) -> list[Finding]:
    """Every identifier of the matcher in one destination resource (a Bundle's entries included)."""
    from transforms.fhir.ids import patient_reference

    if not isinstance(resource, dict):
        return []
    label = f"{resource.get('resourceType', 'Resource')}/{resource.get('id', '')}"
    scope = ""
    if resource.get("resourceType") != "Bundle":
        scope = matcher.scope_of(patient_reference(resource) or label)
    out: dict = {}
    _scan_json(resource, "", "", matcher, scope, label, out)
    return _findings(out, label)


def scan_fhir_line(line: bytes, matcher: IdentifierMatcher, resource: str = "") -> list[Finding]:
    """One NDJSON line of a destination FHIR store; a line that is not JSON is searched as bytes."""
    if not line.strip():
        return []
    try:
        resource_json = json.loads(line)
    except ValueError:
        out: dict = {}
        for m in matcher.find_bytes(line):
            _add(out, m, resource, "line (not JSON)")
        return _findings(out, resource)
    return scan_fhir_resource(resource_json, matcher)


# --- run records -------------------------------------------------------------------------------------------


def _without_source_location(line: bytes) -> bytes:
    """An error record's ``resource_name`` is the source file's location by design (as the API's
    DeidentifyLogEntry names the source resource); it is not scanned. Everything else in the line is."""
    if b'"resource_name"' not in line:
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    record.pop("resource_name", None)
    return json.dumps(record).encode("utf-8")


def scan_record(data: bytes, matcher: IdentifierMatcher, resource: str = "") -> list[Finding]:
    """A run record (summary, error records, report) line by line; dates are not searched here."""
    out: dict = {}
    for number, line in enumerate(data.splitlines(), 1):
        for m in matcher.find_bytes(_without_source_location(line), skip=frozenset({DATE})):
            _add(out, m, resource, f"line {number}")
    return _findings(out, resource)

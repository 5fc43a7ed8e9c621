"""The FHIR NDJSON/Bundle codec: JSON with exact decimals, Bundle explosion with ``urn:uuid:`` linking, resource
parsing. Pure: bytes and dicts in, bytes and dicts out; no Beam, no IO."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import orjson

from transforms.errors import DeidentifyError
from transforms.fhir.ids import reference_key

BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, dropped from a file's first line
EXPLODED_BUNDLE_TYPES = frozenset({"transaction", "batch", "collection", "searchset", "transaction-response",
                                   "batch-response"})


# --- JSON with decimals kept as written -------------------------------------------------------------------


class JsonDecimal(Decimal):
    """A JSON number with a fraction or exponent, kept with its original text (``1.50`` stays ``1.50``)."""

    __slots__ = ("text",)

    def __new__(cls, text: str):
        self = super().__new__(cls, text)
        self.text = text
        return self


def _reject_constant(name: str):
    raise ValueError("not a JSON number")  # NaN, Infinity: not JSON, not FHIR


# One decoder for every document: ``json.loads`` with these arguments builds a decoder (and its C scanner) a call,
# a third of the time of parsing a small resource. Shared as json's own default decoder is (its scanner keeps no
# state between documents that changes a result).
_DECODER = json.JSONDecoder(parse_float=JsonDecimal, parse_constant=_reject_constant)


def loads(data: bytes | str) -> Any:
    """Parse one JSON document; decimals keep their text (FHIR decimals are exact). What
    ``json.loads(data, parse_float=JsonDecimal, parse_constant=...)`` does, with the decoder built once."""
    if isinstance(data, str):
        if data.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
    elif isinstance(data, (bytes, bytearray)):
        data = data.decode(json.detect_encoding(data), "surrogatepass")
    else:
        raise TypeError(f"the JSON object must be str, bytes or bytearray, not {data.__class__.__name__}")
    return _DECODER.decode(data)


def _fragment(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(getattr(value, "text", None) or str(value))
    raise TypeError(type(value).__name__)


_MARK = re.compile(r'"\\u0000([-+.0-9eE]+)\\u0000"')


def _mark(value: Any) -> str:
    if isinstance(value, Decimal):
        return "\x00" + (getattr(value, "text", None) or str(value)) + "\x00"
    raise TypeError(type(value).__name__)


def dumps(resource: Any) -> bytes:
    """Compact UTF-8 JSON, keys in their order, decimals as written (orjson; json for >64-bit integers)."""
    try:
        return orjson.dumps(resource, default=_fragment)
    except orjson.JSONEncodeError:
        text = json.dumps(resource, ensure_ascii=False, separators=(",", ":"), default=_mark)
        return _MARK.sub(lambda m: m.group(1), text).encode("utf-8")


# --- Bundles -----------------------------------------------------------------------------------------------


def bundle_resources(bundle: dict) -> list[tuple[int, dict | None]]:
    """A transaction/collection Bundle's entries as store resources: (entry index, resource or None if malformed).

    References between entries (``urn:uuid:`` or absolute fullUrls) become ``Type/id`` as a FHIR server does when
    it stores a transaction; an entry without an id takes the one its ``urn:uuid:`` fullUrl names. Entries with
    no resource (a DELETE request) are not resources and are left out.
    """
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        return [(0, None)]
    targets: dict[str, str] = {}
    out: list[tuple[int, dict | None]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            out.append((i, None))
            continue
        resource = entry.get("resource")
        if resource is None:
            continue
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            out.append((i, None))
            continue
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and full_url:
            rid = resource.get("id")
            if not isinstance(rid, str) or not rid:
                if full_url.startswith("urn:uuid:"):
                    rid = full_url[9:]
                else:
                    key = reference_key(full_url)
                    rid = key.partition("/")[2] if key and "/" in key else None
                if rid:
                    resource = {**resource, "id": rid}
            if isinstance(resource.get("id"), str):
                targets[full_url] = f"{resource['resourceType']}/{resource['id']}"
        out.append((i, resource))
    if targets:
        out = [(i, _relink(r, targets) if r is not None else None) for i, r in out]
    return out


def _relink(value: Any, targets: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "reference" and isinstance(v, str) and v in targets:
                out[k] = targets[v]
            else:
                out[k] = _relink(v, targets)
        return out
    if isinstance(value, list):
        return [_relink(v, targets) for v in value]
    return value


# --- one resource ------------------------------------------------------------------------------------------


_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")
# A JSON escape of a UTF-16 surrogate: valid only as a high+low pair (one character outside the BMP); a lone one
# parses into a str that no UTF-8 coder can write (Beam's included), so such input is rejected here.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) of a parsed document holds a lone surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False
_KNOWN_TYPES: dict[str, bool] = {}


def _resource_model_exists(rtype: str) -> bool:
    known = _KNOWN_TYPES.get(rtype)
    if known is None:
        from transforms.fhir import schema

        known = _KNOWN_TYPES[rtype] = bool(_TYPE_NAME.fullmatch(rtype)) and schema.resource_model(rtype) is not None
    return known


def parse_resource(data: bytes, exact: bool = True) -> dict:
    """Parse one resource's bytes; DeidentifyError (no values in the message) when it is not a FHIR R4 resource.

    ``exact=False``: decimals may come back as floats (orjson), for steps that only route a resource.
    """
    try:
        if exact:  # json with decimals kept: faster here than orjson plus a scan for numbers it would change
            resource = loads(data)
        else:
            try:
                resource = orjson.loads(data)
            except orjson.JSONDecodeError:
                resource = loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DeidentifyError("INVALID_ARGUMENT", "not valid JSON") from None
    if not isinstance(resource, dict):
        raise DeidentifyError("INVALID_ARGUMENT", "not a JSON object")
    if _SURROGATE_ESCAPE.search(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")) \
            and _has_lone_surrogate(resource):
        raise DeidentifyError("INVALID_ARGUMENT", "not valid JSON: a string holds a lone UTF-16 surrogate escape")
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise DeidentifyError("INVALID_ARGUMENT", "resourceType: missing")
    if len(rtype) > 64 or not _resource_model_exists(rtype):
        raise DeidentifyError("INVALID_ARGUMENT", "resourceType: not a FHIR R4 resource type")
    return resource


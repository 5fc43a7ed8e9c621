"""Pseudonym ids and rewritten references are remembered a process in bounded dicts by (run key, value): what is
remembered, emptied or shared between keys never changes a result (oracle: HMAC-SHA256 computed here)."""

from __future__ import annotations

import hashlib
import hmac

from transforms.crypto import Keys
from transforms.fhir import ids


def _oracle_id(key: bytes, original: str) -> str:
    d = bytearray(hmac.new(key, ("fhir-id\x00" + original).encode("utf-8"), hashlib.sha256).digest()[:16])
    d[6] = (d[6] & 0x0F) | 0x40
    d[8] = (d[8] & 0x3F) | 0x80
    h = d.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def test_ids_and_references_do_not_depend_on_what_the_caches_hold(monkeypatch):
    monkeypatch.setattr(ids, "ID_CACHE_SIZE", 5)  # emptied every few values
    monkeypatch.setattr(ids, "_IDS", {})
    monkeypatch.setattr(ids, "_REFERENCES", {})
    one, two = b"1" * 32, b"2" * 32
    for _ in range(2):  # the second pass meets values remembered, emptied and remembered again
        for n in range(12):
            for key in (one, two):  # one value under two run keys: two pseudonyms
                original = f"id-{n % 7}"
                expected = _oracle_id(key, original)
                assert ids.new_id(Keys(key), original) == expected
                assert ids.rewrite_reference(Keys(key), f"Patient/{original}") == f"Patient/{expected}"
                assert ids.rewrite_reference(Keys(key), f"urn:uuid:{original}") == f"urn:uuid:{expected}"
    assert len(ids._IDS) <= 5 and len(ids._REFERENCES) <= 5

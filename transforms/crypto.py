"""Keys and keyed pseudonyms: UIDs, date-shift offsets, crypto hashes, ids — all HMAC-SHA256 of the run key."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import Optional

from transforms.config import AES_KEY_LENGTHS

UID_ROOT = "2.25."
MAX_SHIFT_DAYS = 100


_HMAC_PADS: dict[bytes, tuple] = {}  # key -> SHA-256 states after its inner and outer pad (RFC 2104)


def _hmac(key: bytes, message: str) -> bytes:
    """HMAC-SHA256 of a text. The two SHA-256 states after the key's pads are computed once a key and copied:
    a third of the time of ``hmac.digest``, which pads the key again for every message (ids and UIDs of
    every resource and instance)."""
    # surrogatepass: JSON may carry lone surrogates (\udcff); they must hash, deterministically, not crash
    data = message.encode("utf-8", "surrogatepass")
    pads = _HMAC_PADS.get(key)
    if pads is None:
        if len(key) > 64:  # RFC 2104 hashes a long key first; ours are 16-32 bytes
            return hmac.digest(key, data, "sha256")
        block = key.ljust(64, b"\0")
        pads = _HMAC_PADS[key] = (hashlib.sha256(bytes(b ^ 0x36 for b in block)),
                                  hashlib.sha256(bytes(b ^ 0x5C for b in block)))
    inner = pads[0].copy()
    inner.update(data)
    outer = pads[1].copy()
    outer.update(inner.digest())
    return outer.digest()


@functools.lru_cache(maxsize=16384)  # a patient's resources and instances all ask for the same shift
def _shift_days(key: bytes, patient: str) -> int:
    digest = _hmac(key, patient)
    n = int.from_bytes(digest[:8], "big") % (2 * MAX_SHIFT_DAYS)
    return n - MAX_SHIFT_DAYS if n < MAX_SHIFT_DAYS else n - MAX_SHIFT_DAYS + 1


def generate_key() -> bytes:
    """A fresh 256-bit key: used once per launch when none is configured."""
    return os.urandom(32)


def key_fingerprint(key: bytes) -> str:
    """A short, non-reversible name for a key, safe to show in summaries (never the key)."""
    return hashlib.sha256(b"deidflow-key-fingerprint\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Keys:
    """The key material of one run, resolved once at launch and handed to every worker.

    ``run_key`` drives UIDs and every pseudonym without a key of its own; ``date_shift_key`` and
    ``crypto_hash_key`` are the config's own keys where it gives them, else the run key.
    """

    run_key: bytes = field(repr=False)
    date_shift_key: Optional[bytes] = field(default=None, repr=False)
    crypto_hash_key: Optional[bytes] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("run_key", "date_shift_key", "crypto_hash_key"):
            value = getattr(self, name)
            if value is not None and len(value) not in AES_KEY_LENGTHS:
                raise ValueError(f"{name} must be 16, 24 or 32 bytes")

    def __repr__(self) -> str:
        return f"Keys(fingerprint={self.fingerprint})"

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.run_key)

    # --- pseudonyms ---

    def uid(self, original: str) -> str:
        """``2.25.`` + decimal of the first 128 bits of HMAC-SHA256(run key, original UID)."""
        digest = _hmac(self.run_key, original)
        return UID_ROOT + str(int.from_bytes(digest[:16], "big"))

    def date_shift_days(self, patient: str, key: Optional[bytes] = None) -> int:
        """Whole days in [-100, 100] without 0, the same for a patient and key everywhere."""
        return _shift_days(key or self.date_shift_key or self.run_key, patient)

    def crypto_hash(self, value: str, key: Optional[bytes] = None) -> str:
        """Keyed SHA-256 of a value, base64 (the API's CryptoHashConfig output)."""
        digest = _hmac(key or self.crypto_hash_key or self.run_key, value)
        return base64.b64encode(digest).decode("ascii")

    def digest(self, *parts: str) -> bytes:
        """HMAC-SHA256(run key, parts joined by NUL): the building block for other pseudonyms."""
        return _hmac(self.run_key, "\x00".join(parts))


def decode_key_text(text: str) -> bytes:
    """A key file's content: the key in base64 (standard or URL-safe) on one line."""
    stripped = "".join(text.split())
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except ValueError:
        raise ValueError("is not a base64 key") from None
    if len(key) not in AES_KEY_LENGTHS:
        raise ValueError(f"holds a {len(key) * 8}-bit key; 128, 192 or 256 bits are accepted")
    return key


def encode_key_text(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii") + "\n"

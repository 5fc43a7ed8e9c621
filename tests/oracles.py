"""Independent oracles for the keyed pseudonyms, written from README's documented derivations with hmac/hashlib
directly (never the code under test), so a test that compares against them fails when the code drifts."""

from __future__ import annotations

import datetime
import hashlib
import hmac


def shift_days(key: bytes, patient: str) -> int:
    """README: n = first 8 bytes of HMAC-SHA256(key, PatientID) big-endian mod 200; n - 100 if n < 100 else n - 99."""
    n = int.from_bytes(hmac.new(key, patient.encode("utf-8"), hashlib.sha256).digest()[:8], "big") % 200
    return n - 100 if n < 100 else n - 99


def shifted(date: str, key: bytes, patient: str) -> str:
    """An ISO date (YYYY-MM-DD) or DICOM date (YYYYMMDD) shifted by the patient's days, in the same spelling."""
    iso = "-" in date
    day = datetime.date.fromisoformat(date) if iso else datetime.datetime.strptime(date, "%Y%m%d").date()
    out = day + datetime.timedelta(days=shift_days(key, patient))
    return out.isoformat() if iso else out.strftime("%Y%m%d")


def uid(key: bytes, original: str) -> str:
    """README: 2.25. + decimal of the first 128 bits of HMAC-SHA256(key, original UID)."""
    return "2.25." + str(int.from_bytes(hmac.new(key, original.encode("utf-8"), hashlib.sha256).digest()[:16], "big"))


def fhir_id(key: bytes, original: str) -> str:
    """README: first 16 bytes of HMAC-SHA256(key, "fhir-id" NUL id) shaped as a version-4 UUID."""
    d = bytearray(hmac.new(key, b"fhir-id\x00" + original.encode("utf-8"), hashlib.sha256).digest()[:16])
    d[6] = (d[6] & 0x0F) | 0x40
    d[8] = (d[8] & 0x3F) | 0x80
    h = d.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def days(keys, patient: str, key: bytes | None = None) -> int:
    """The shift of a patient under a run's ``Keys`` (the config's own key, else the date-shift key, else the run
    key, as README says), derived by ``shift_days``."""
    return shift_days(key or keys.date_shift_key or keys.run_key, patient)


def keyed_uid(keys, original: str) -> str:
    return uid(keys.run_key, original)


def keyed_fhir_id(keys, original: str) -> str:
    return fhir_id(keys.run_key, original)

"""Cloud Storage access: Application Default Credentials, or anonymous access when STORAGE_EMULATOR_HOST is set."""

from __future__ import annotations

import os
import threading

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"  # the variable google-cloud-storage itself reads
_done = False
_lock = threading.Lock()


def emulator_host() -> str:
    return os.environ.get(EMULATOR_ENV, "")


def prepare_beam_gcs() -> None:
    """Make Beam's GCS filesystem go anonymous at once when the storage emulator variable is set.

    google-cloud-storage uses anonymous credentials whenever ``STORAGE_EMULATOR_HOST`` is set and no credentials
    are given; Beam instead first retries its Application Default Credentials lookup for about 15 s, then goes
    anonymous. With the variable set we settle Beam's (process-wide, cached) lookup as "no credentials" so both
    libraries agree without the wait. Without the variable nothing changes: Beam finds ADC as usual.
    """
    global _done
    if _done or not emulator_host():
        return
    with _lock:
        if _done:
            return
        try:
            from apache_beam.internal.gcp import auth

            credentials = auth._Credentials  # noqa: SLF001 - Beam has no public switch for this
            with credentials._credentials_lock:
                if not credentials._credentials_init:
                    credentials._credentials = None
                    credentials._credentials_init = True
        except (ImportError, AttributeError):  # a Beam without that cache: the lookup just takes its time
            pass
        _done = True


def storage_client(project: str | None = None):
    """A google-cloud-storage client: ADC, or anonymous against the emulator (the library's own rule)."""
    from google.cloud import storage

    if emulator_host():
        return storage.Client(project=project or "emulator")
    return storage.Client(project=project)

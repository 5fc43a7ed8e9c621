"""A FHIR store folder written from resources: one ``<Type>.ndjson`` per resource type, in the given order."""

from __future__ import annotations

import json
from pathlib import Path


def write_by_type(src: Path, resources) -> dict[str, list[bytes]]:
    """Write ``resources`` under ``src`` (created) as ``<Type>.ndjson`` files; returns each type's lines."""
    src.mkdir()
    by_type: dict[str, list[bytes]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(json.dumps(resource).encode())
    for rtype, lines in by_type.items():
        (src / f"{rtype}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    return by_type

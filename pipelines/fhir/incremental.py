"""FHIR incremental runs: the destination's lines of this source kept, only resources not there yet de-identified."""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam

from pipelines.fhir.parse import content_id
from pipelines.fhir.shards import EXISTING, pack_lines
from pipelines.stores import store_root
from pipelines.stores.fhir import (
    MAX_RESOURCE_BYTES,
    RawResource,
    SourceFile,
    head,
    list_own_shards,
    read_resources,
    shard_of,
)
from transforms.crypto import Keys
from transforms.fhir import new_id, resource_id_rewritten
from transforms.fhir.policy import FhirPolicy


def predicted_id(resource: dict, data: bytes, policy: FhirPolicy, keys: Keys) -> str:
    """The id de-identification gives this resource (for --incremental), without de-identifying it."""
    rid = resource.get("id")
    if isinstance(rid, str) and rid and resource_id_rewritten(policy, resource["resourceType"]):
        return new_id(keys, rid)
    return content_id(keys, data)


class ReadExistingLines(beam.DoFn):
    """A destination shard of this source -> ``(type, id, shard file, line number, line)`` per resource line.

    The lines are our own output (one compact resource a line), so only ``resourceType`` and ``id`` are read;
    a line without them (edited by hand) is left out, and its resource is de-identified again.
    """

    def __init__(self, destination: str):
        self._destination = destination

    def process(self, path: str) -> Iterable[tuple[str, str, str, int, bytes]]:
        relative = store_root.relative(path, self._destination.rstrip("/"))
        for item in read_resources(SourceFile(path, relative, None), MAX_RESOURCE_BYTES * 2):
            if item.__class__ is not RawResource:
                continue
            try:
                resource = head(item.data)
            except ValueError:
                continue
            if isinstance(resource.get("resourceType"), str) and isinstance(resource.get("id"), str):
                yield resource["resourceType"], resource["id"], relative, item.index, item.data.rstrip(b"\r")


def reshard_existing(item: tuple, shard_counts: dict) -> tuple:
    rtype, rid, relative, number, line = item
    return (rtype, shard_of(rid, shard_counts.get(rtype, 1))), pack_lines([(rid, "", number, EXISTING, line)])


def add_incremental_inputs(pipeline, destination: str, tag: str, p: str = ""):
    """What an incremental run keeps: (lines of this source's shards in the destination, AsDict of their
    ``Type/id``).

    Each run rewrites its source's whole shard set (shard counts follow the source's size) and deletes the
    shards it did not write, so an incremental run re-emits the lines it keeps into the same shard shuffle as
    the resources it de-identifies: every line lands in the shard a full run would put it in, sorted among
    the new ones, and the destination equals a full run's (with the same key, config and --reference-date).
    Kept lines are read before anything is written (they feed the shuffle the writes wait for). What an
    incremental run does not do: re-process a source resource that changed under the same id, or drop a
    destination resource whose source is gone — a full run does both.
    """
    shard_paths = (
        pipeline
        | f"{p}Destination" >> beam.Create([destination])
        | f"{p}List own shards" >> beam.FlatMap(list_own_shards, tag)
        | f"{p}Spread shards" >> beam.Reshuffle()
    )
    lines = shard_paths | f"{p}Read kept lines" >> beam.ParDo(ReadExistingLines(destination))
    ids = lines | f"{p}Kept ids" >> beam.Map(lambda item: (f"{item[0]}/{item[1]}", None))
    return lines, beam.pvalue.AsDict(ids)

"""The FHIR store branch: read -> parse -> join and de-identify -> write shards, and its error records.

Shape (one branch per store, default ``join="side"``)::

    MatchFiles(source/**) -> Reshuffle -> SplitFiles -> Reshuffle  files, large NDJSON files as line ranges
      -> ReadFhirFiles           batches of RawResource (one per NDJSON line / Bundle entry, <= BATCH_LINES);
                                 from uncompressed NDJSON a LineBatch, which also knows the bytes it spans
      -> ParseResources          errors | batches keyed by patient (a LineBatch: a BatchRef, its location and
                                 what to do with each line, not the lines) | batches of Patient join info | sizes
                                 | reference offers (of a LineBatch: its location; made again only if wanted)
      -> Reshuffle               the batches spread evenly over the workers
      -> DeidentifyWithSideInput (Patient join info, shard counts, [kept ids] as side inputs)
                                 errors | ((type, shard), rows of a full buffer) | ((type, shard), b"") markers
      -> WriteFhirShards         sorted temporary runs written by each worker; only their paths grouped by shard;
                                 each shard's runs merged into <Type>-<tag>-SSSSS-of-NNNNN.ndjson, sorted by id;
                                 then an earlier run's shards of this source not rewritten, and the runs, deleted

Beam carries batches, not resources: a Beam element costs tens of microseconds of DoFn calls, encoding and the
runner's shuffle, as much as de-identifying a small resource. The read emits batches of a few hundred lines, the
parse and de-identify steps work a batch at a time, and the de-identify step gathers its output lines per
output shard (up to FLUSH_BYTES a worker), written as one sorted run a shard each time the buffer fills.
Large NDJSON files are read in ranges of whole lines (``plan_ranges``: one pass counting newlines gives each
range the number of its first line), so the work spreads over the workers whatever the files' sizes. The
de-identify step reads an uncompressed NDJSON batch again from its file (``read_batch_lines``) rather than
have the runner carry its lines from the parse step: on the DirectRunner every byte between stages passes
through the runner process's gRPC, which cost about a quarter of the workers' time. A batch whose bytes no
longer match their CRC-32 (the file changed during the run) gives error records, never output.

The join: a resource's key is its patient compartment owner (``patient_reference``), a Patient's key its own
``Patient/<id>``; each Patient's date-shift key (its MRN, ``patient_shift_key``) and contextual phrases reach
its resources through a side input: the parse step's batches of Patient join info, written to spill files in
the write's run folder (only their locations, ``spill.SpillRef``, are the side input's values; so are the
output lines of the Patients the parse step de-identified, a segment a batch in place of its BatchRef's done
lines: the local runner holds every value between stages in its own process), merged by each de-identify
worker into one dict (``first_patients``: the first Patient by source location when an id
repeats). Because that side input depends on the whole read, every runner materialises the parsed resources
before the de-identify step. How it then spreads them is the runner's: the DirectRunner hands each worker
whole chunks of the parse step's output as they arrived (10 MB each), 70/30 in a measured run, so the batches
are reshuffled first (a GroupByKey's keys are dealt out one by one). ``join="keyed"`` does the join with a
GroupByKey instead (no per-worker Patient table; same output), by bucket of patients (``parse.bucket_of``,
``parse.JOIN_BUCKETS``): the parse step writes the join's records (for uncompressed NDJSON a line reference a
resource, ``parse.line_ref``; the resource itself from Bundles and gzipped files; each Patient's join info)
to spill files, a segment a bucket, and only the segments' locations are grouped; ``JoinBuckets`` gathers a
bucket's records per patient and joins each patient's. A second GroupByKey by batch brings each batch's
BatchRef its lines' shift keys and context: the join writes them to spill files too, a segment a batch
(``spill.JoinSpill``), only the segments' locations grouped (``spill.SpillRef``); the batch is then read
again as the side join reads it. The local runner keeps every grouped value decoded in its own process, so
it holds a few values a bucket, batch and spill file, not one a resource.

Output is deterministic: shard counts come from the input's sizes per type, a resource's shard from a hash of
its new id, and lines are sorted by new id within a shard, so runs and worker counts agree byte for byte.
Shard names carry a tag derived from the source's resource name (``shard_tag``: not its path, so a symlinked or
differently spelled store root names the same shards), so de-identifying two sources into one store does not
overwrite the other's shards, and a rerun replaces its own (stale shards of the same tag are deleted).
``incremental=True`` re-emits this source's existing destination lines into the same shard shuffle and skips
source resources whose destination ``Type/<new id>`` is among them (``add_incremental_inputs``).

Every input is accounted for: a resource is written, filtered (``filtered/<label>``), skipped by an incremental
run (``skipped/<label>``), or an error record (``{resource_name, error}``) named ``<file>:<line>`` or
``<file>#entry[<i>]`` — never by id or value.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import NamedTuple

import apache_beam as beam

from pipelines.fhir.incremental import add_incremental_inputs, reshard_existing
from pipelines.fhir.join import (
    JOINED,
    DeidentifyJoinedBatches,
    DeidentifyWithSideInput,
    JoinBuckets,
    pack_patients,
)
from pipelines.fhir.memory import fix_mmap_threshold
from pipelines.fhir.parse import BATCHES, OFFERS, PATIENTS, SIZES, WANTED, KeepWanted, ParseResources, bucket_of
from pipelines.fhir.read import ReadFhirStore
from pipelines.fhir.shards import WriteFhirShards, delete_runs, run_folder, shard_tag, source_rows
from pipelines.stores.fhir import MAX_RESOURCE_BYTES, shard_count, source_tag
from transforms.beam import ERRORS, WriteErrorRecords
from transforms.crypto import Keys
from transforms.fhir.policy import FhirPolicy


class FhirStoreResult(NamedTuple):
    written: beam.PCollection  # paths of the shards written
    errors: beam.PCollection  # error records
    done_counts: tuple = ()  # PCollections of how many source resources each de-identify output carries
    temporary_folder: str = ""  # the write's runs and the join's spill files (Patient join info: PHI) while it runs

    def discard_temporary(self) -> None:
        """Delete the temporary folder (after a failed run: its spill files hold source Patients' phrases)."""
        if self.temporary_folder:
            delete_runs(self.temporary_folder)


def _sum_pairs(pairs: Iterable[tuple[int, int]]) -> tuple[int, int]:
    count = size = 0
    for c, s in pairs:
        count += c
        size += s
    return count, size


def _by_bucket(batch: list) -> list:
    """A batch of (join key, value) -> (its bucket, (join key, value)) each, for the keyed join by bucket."""
    return [(bucket_of(key), (key, value)) for key, value in batch]


def add_fhir_store_branch(pipeline, source: str, destination: str, run_dir: str, policy: FhirPolicy, keys: Keys,
                          label: str = "fhir", error_prefix: str = "errors", resource_filter=None,
                          validate: bool = False, max_resource_bytes: int = MAX_RESOURCE_BYTES,
                          join: str = "side", incremental: bool = False,
                          patient_context: beam.PTransform | None = None) -> FhirStoreResult:
    """Add one FHIR store's read -> join -> de-identify -> write branch (and its error records) to a pipeline.

    ``resource_filter``: an object with ``keeps(resource, file_mtime) -> bool`` (pipelines.filters.FhirFilter).
    ``validate``: check every output resource against the R4 models (slow: ~3,500 resources/s a core).
    ``join``: "side" (the default: Patient join info as a side input of pickled batches, so resources are not
    grouped by patient, and batches of uncompressed NDJSON reach the de-identify step as BatchRefs; each worker
    holds every Patient's shift key and context phrases, some 100-300 bytes a patient), "keyed" (GroupByKey by
    bucket of patients of spill files' locations: no per-worker patient table; then spill files' locations by
    batch) or "none" (no Patient join: date shifts then key on the reference, not the
    MRN: for measuring the join's cost only). "side" and "keyed" give the same output.
    ``incremental``: keep what the destination holds from this source and de-identify only source resources
    whose destination resource (``Type/<new id>``, a function of the source id and key) is not there yet;
    see ``add_incremental_inputs``.
    ``patient_context``: a PTransform of (OFFERS, PATIENTS) giving more Patient join info (COMPARTMENT phrases),
    joined like the parse step's (a dataset run's DICOM identifiers: ``pipelines.dataset_context``).
    """
    fix_mmap_threshold()  # this process runs the local runner: its stage data passes through here
    p = f"{label}: " if label != "fhir" else ""
    tag = shard_tag(source)
    token = uuid.uuid4().hex  # the write's run folder, which also holds the keyed join's spill files
    read = pipeline | f"{p}Read FHIR store" >> ReadFhirStore(source, label, max_resource_bytes)
    parsed = read["raw"] | f"{p}Parse" >> beam.ParDo(
        ParseResources(policy, keys, label, resource_filter, deidentify_patients=not validate,
                       by_reference=join in ("side", "none"), keyed_refs=join == "keyed",
                       offers_by_location=patient_context is None,  # a dataset run links DICOM by the offers
                       spill_folder=run_folder(destination, tag, token),
                       patients_by_location=join == "side" and patient_context is None,
                       patients_inline=join == "keyed" and patient_context is None, join_buckets=join == "keyed")
    ).with_outputs(ERRORS, PATIENTS, SIZES, OFFERS, WANTED, BATCHES, main="resources")
    shard_counts = (
        parsed[SIZES]
        | f"{p}Size per type" >> beam.CombinePerKey(_sum_pairs)
        | f"{p}Shards per type" >> beam.MapTuple(lambda rtype, cs: (rtype, shard_count(*cs)))
    )
    counts_view = beam.pvalue.AsDict(shard_counts)
    existing_lines = existing_view = None
    if incremental:
        existing_lines, existing_view = add_incremental_inputs(pipeline, destination, tag, p)
    extra = (existing_view,) if existing_view is not None else ()
    # Store-wide reference resolution: urn:uuid: references a Bundle could not link (the target is in another
    # file) and conditional references, looked up among what names every resource of the store.
    resolved = parsed[OFFERS] | f"{p}Resolve references" >> beam.ParDo(KeepWanted(), beam.pvalue.AsList(parsed[WANTED]))
    targets = {"targets": beam.pvalue.AsList(resolved)}
    patient_info = parsed[PATIENTS]
    if patient_context is not None:
        extra_info = (parsed[OFFERS], parsed[PATIENTS]) | f"{p}Patient context" >> patient_context
        patient_info = (parsed[PATIENTS], extra_info) | f"{p}All patient info" >> beam.Flatten()
    if join == "keyed":
        join_input = parsed["resources"]  # (bucket, SpillRef), the Patients' join info included
        if patient_context is not None:  # the parse step's PATIENTS, and the dataset's DICOM context, inline
            inline = patient_info | f"{p}Patients by bucket" >> beam.FlatMap(_by_bucket)
            join_input = (join_input, inline) | f"{p}Resources and patients" >> beam.Flatten()
        grouped = join_input | f"{p}Join patients" >> beam.GroupByKey()
        joined = grouped | f"{p}De-identify" >> beam.ParDo(
            JoinBuckets(policy, keys, label, validate, incremental,
                                    spill_folder=run_folder(destination, tag, token)), counts_view,
            *extra, **targets).with_outputs(ERRORS, JOINED, main="ok")
        again = (
            (joined[JOINED], parsed[BATCHES])
            | f"{p}Joined lines and batches" >> beam.Flatten()
            | f"{p}Lines by batch" >> beam.GroupByKey()
            | f"{p}De-identify joined lines" >> beam.ParDo(
                DeidentifyJoinedBatches(policy, keys, label, validate, incremental), counts_view,
                *extra, **targets).with_outputs(ERRORS, main="ok")
        )
        outputs = [joined["ok"], again["ok"]]  # each written as runs where it is made (no Flatten of lines)
        deid_errors = [joined[ERRORS], again[ERRORS]]
    elif join in ("side", "none"):
        patients = (
            patient_info
            if join == "side"
            else parsed[PATIENTS] | f"{p}No patients" >> beam.Filter(lambda _: False)
        ) | f"{p}Patients as values" >> beam.Map(pack_patients)
        deid = parsed["resources"] | f"{p}Spread batches" >> beam.Reshuffle() | f"{p}De-identify" >> beam.ParDo(
            DeidentifyWithSideInput(policy, keys, label, validate, incremental), counts_view,
            beam.pvalue.AsList(patients), *extra, **targets).with_outputs(ERRORS, main="ok")
        outputs, deid_errors = [deid["ok"]], [deid[ERRORS]]
    else:
        raise ValueError(f"join: {join!r}")
    done_counts = tuple(out | f"{p}Count done{i or ''}" >> beam.Map(source_rows) for i, out in enumerate(outputs))
    if existing_lines is not None:
        outputs.append(existing_lines | f"{p}Shard kept lines" >> beam.Map(reshard_existing, counts_view))
    written = tuple(outputs) | f"{p}Write" >> WriteFhirShards(destination, tag, label, counts_view, p,
                                                              token=token, legacy_tags=(source_tag(source),))
    errors = (
        (read[ERRORS], parsed[ERRORS], *deid_errors, written[ERRORS]) | f"{p}All errors" >> beam.Flatten()
    )
    errors | f"{p}Write errors" >> WriteErrorRecords(run_dir, error_prefix)
    return FhirStoreResult(written["paths"], errors, done_counts, run_folder(destination, tag, token))


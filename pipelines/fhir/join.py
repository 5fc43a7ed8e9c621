"""FHIR join and de-identify: each resource with its Patient's date-shift key and phrases -> lines per shard.

Two joins give the same output: ``DeidentifyWithSideInput`` (the default) looks each resource's key up in a dict
of every Patient's join info (a side input); ``DeidentifyFhirResources`` takes the groups of a GroupByKey by
patient, ``JoinBuckets`` those of a GroupByKey by bucket of patients, each patient's records gathered from the
parse step's spill files (``join="keyed"``: no per-worker Patient table, one more shuffle).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from pipelines.fhir.incremental import predicted_id
from pipelines.fhir.memory import fix_mmap_threshold
from pipelines.fhir.parse import (
    COMPARTMENT,
    DEIDENTIFIED,
    PATIENT,
    RESOURCE,
    batch_done,
    from_line_ref,
    resolution_table,
    with_id,
)
from pipelines.fhir.read import BatchRef, SourceChanged, read_batch_lines
from pipelines.fhir.shards import ENTRY, LINE, ShardBuffer
from pipelines.fhir.spill import JoinSpill, SpillRef, read_segment
from pipelines.stores.fhir import RawResource, shard_of
from transforms.beam import (
    ERRORS,
    Tally,
    collect_less_often,
    error_from_exception,
    error_record,
    failure_counter,
    freeze_startup_heap,
    success_counter,
)
from transforms.crypto import Keys
from transforms.fhir import deidentify_resource, patient_reference
from transforms.fhir.codec import dumps, parse_resource
from transforms.fhir.policy import FhirPolicy

FLUSH_BYTES = 4 << 20  # the de-identify step gathers output lines per shard up to this many bytes a worker (its
# memory holds them once; a smaller buffer only means more, smaller sorted runs for the merge)
JOINED = "joined"  # the keyed join's (batch key, SpillRef): where the join put what a batch's lines joined with


class DeidentifyFhirResources(beam.DoFn):
    """Join groups -> de-identified resource lines keyed by (resourceType, shard); failures -> error records.

    Input: (key, iterable of RESOURCE and PATIENT values) from the GroupByKey of the keyed join. The Patient
    sorting first by source location supplies the date-shift key and context; without one (a reference to a
    Patient not in the store) the core falls back to the reference itself. Main output:
    ((resourceType, shard), [(new id, file, index, kind, line), ...]): the rows of one shard gathered over a
    bundle (``ShardBuffer``, up to ``flush_bytes``), written as a sorted run by the fused ``WriteRuns``.

    ``incremental``: a resource whose predicted destination id is in the ``existing`` side input (a dict of
    ``Type/id`` already in the destination) is skipped (``skipped/<label>``), not de-identified.

    A bytes value (``parse.line_ref``: a line of an uncompressed NDJSON batch, by reference,
    ``ParseResources(keyed_refs=True)``) is not de-identified here: the group's shift key, context and line
    numbers go, per batch the group has lines of, to a spill file of this worker (``spill.JoinSpill``, in
    ``spill_folder``), and JOINED gets ``(batch key, SpillRef)`` a spill file and batch for
    ``DeidentifyJoinedBatches``, which reads the batch again. The GroupByKey by patient then holds a few dozen
    bytes a resource, not the resource, and the one by batch a few values a batch, not one a resource.
    """

    def __init__(self, policy: FhirPolicy, keys: Keys, label: str = "fhir", validate: bool = False,
                 incremental: bool = False, flush_bytes: int | None = None, spill_folder: str | None = None,
                 spill_bytes: int | None = None):
        self._policy = policy
        self._spill_folder = spill_folder
        self._spill_bytes = spill_bytes
        self._keys = keys
        self._label = label
        self._validate = validate
        self._incremental = incremental
        self._flush_bytes = flush_bytes or FLUSH_BYTES

    def setup(self) -> None:
        fix_mmap_threshold()
        freeze_startup_heap()
        collect_less_often()
        self._tally = Tally()
        self._ok_name = success_counter(self._label)
        self._failed_name = failure_counter(self._label)
        self._skipped_name = f"skipped/{self._label}"
        self._unresolved_name = f"unresolved/{self._label}"
        self._targets_lists: tuple = ()
        self._targets: dict = {}
        self._resolved: dict = {}

    def targets(self, lists) -> dict:
        """The store-wide reference resolution table (side input of batches), merged once a worker."""
        lists = tuple(lists or ())
        if lists != self._targets_lists:
            self._targets = resolution_table(lists)
            self._targets_lists = lists
        return self._targets

    def start_bundle(self) -> None:
        self._buffer = ShardBuffer(self._flush_bytes)
        self._marked = False
        self._spill = JoinSpill(self._spill_folder, self._spill_bytes) if self._spill_folder else None

    def shard_markers(self, shard_counts: dict) -> list:
        """Once a bundle, an empty value for every shard of every type: each shard of a type is written, even
        one no resource lands in, so a type's files are always a complete ``-of-N`` set. Emitted here rather
        than flattened in from the shard counts: a Flatten of two stages' outputs is a stage of its own, which
        would carry every output line through the runner once more."""
        if self._marked:
            return []
        self._marked = True
        return [((rtype, shard), b"") for rtype, shards in sorted(shard_counts.items()) for shard in range(shards)]

    def finish_bundle(self) -> Iterator:
        self._tally.flush()
        for key, value in self._buffer.drain():
            yield WindowedValue((key, value), MIN_TIMESTAMP, (GlobalWindow(),))
        for joined in self._spill.drain() if self._spill is not None else ():
            yield beam.pvalue.TaggedOutput(JOINED, WindowedValue(joined, MIN_TIMESTAMP, (GlobalWindow(),)))

    def process(self, element, shard_counts: dict, existing=None, targets=()) -> Iterable:
        yield from self.shard_markers(shard_counts)
        self._resolved = self.targets(targets)
        _, values = element
        patient = None
        extra: list = []
        lines: dict = {}
        for value in values:
            if value.__class__ is bytes:
                key, number = from_line_ref(value)
                numbers = lines.get(key)
                if numbers is None:
                    numbers = lines[key] = []
                numbers.append(number)
            elif value[0] == PATIENT and (patient is None or value[1:3] < patient[1:3]):
                patient = value
            elif value[0] == COMPARTMENT:
                extra += value[1]
        if extra:
            patient = with_compartment(patient, extra)
        shift_key, context = (patient[3], patient[4]) if patient is not None else (None, ())
        if lines and self._spill is None:
            raise ValueError("line references to join without a spill folder")
        for key in sorted(lines):
            for joined in self._spill.add(key, shift_key, context, lines[key]):
                yield beam.pvalue.TaggedOutput(JOINED, joined)
        for value in values:
            if value.__class__ is bytes:
                continue
            kind = value[0]
            if kind == RESOURCE:
                yield from self.deidentify(value, shift_key, context, shard_counts, existing)
            elif kind == DEIDENTIFIED:
                yield from self.deidentified(value, patient, shard_counts, existing)

    def deidentify(self, value: tuple, shift_key: str | None, context: tuple, shard_counts: dict,
                   existing=None, resource: dict | None = None) -> Iterator:
        _, file, index, entry, data = value
        try:
            if resource is None:
                resource = parse_resource(data)
            if self.already_written(data, existing, resource):
                return
            stats: dict = {}
            out = deidentify_resource(resource, self._policy, self._keys, patient=shift_key, context=context,
                                      targets=self._resolved, stats=stats)
            if stats:
                self._tally.add(self._unresolved_name, stats.get("unresolved", 0))
            rid, out = with_id(out, data, self._keys)
            if self._validate:
                from transforms.fhir.validate import check_r4

                check_r4(out)
            line = dumps(out)
        except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
            self._tally.add(self._failed_name)
            yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(RawResource(file, index, b"", None,
                                                                                    entry).name, err))
            return
        self._tally.add(self._ok_name)
        yield from self.place(out["resourceType"], rid, file, index, entry, line, shard_counts)

    def place(self, rtype: str, rid: str, file: str, index: int, entry: bool, line: bytes,
              shard_counts: dict) -> list:
        return self._buffer.add((rtype, shard_of(rid, shard_counts.get(rtype, 1))),
                                (rid, file, index, ENTRY if entry else LINE, line))

    def deidentified(self, value: tuple, patient: tuple | None, shard_counts: dict, existing=None) -> Iterator:
        """A Patient the parse step de-identified (``DEIDENTIFIED``): its line placed as it is when its join
        info is its own (the first Patient of its id), else de-identified again with the first one's."""
        _, file, index, entry, data, rid, line = value
        if patient is None or patient[1:3] != (file, index) or len(patient) > 5 or self._validate:
            shift_key, context = (patient[3], patient[4]) if patient is not None else (None, ())
            yield from self.deidentify((RESOURCE, file, index, entry, data), shift_key, context, shard_counts,
                                       existing)
            return
        if self.already_written(data, existing):
            return
        self._tally.add(self._ok_name)
        yield from self.place("Patient", rid, file, index, entry, line, shard_counts)

    def already_written(self, data: bytes, existing, resource: dict | None = None) -> bool:
        """Incremental runs: whether the resource's destination id is already in the destination (counted as
        skipped). ``existing``: None on a full run."""
        if existing is None:
            return False
        resource = parse_resource(data) if resource is None else resource
        if f"{resource['resourceType']}/{predicted_id(resource, data, self._policy, self._keys)}" not in existing:
            return False
        self._tally.add(self._skipped_name)
        return True

    def read_again(self, ref: BatchRef):
        """A generator returning the (number, bytes) of a BatchRef's lines, or None after yielding an error record
        for each of its lines when they cannot be read back as they were parsed."""
        try:
            return read_batch_lines(ref)
        except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
            if isinstance(err, SourceChanged):
                code, message = "ABORTED", "the source file changed while the run was reading it"
            else:
                code, message = "UNAVAILABLE", f"the source file cannot be read again ({type(err).__name__})"
            for number in sorted(ref.lines + tuple(done[0] for done in batch_done(ref))):
                self._tally.add(self._failed_name)
                yield beam.pvalue.TaggedOutput(ERRORS, error_record(f"{ref.relative}:{number}", code, message))
            return None


class JoinBuckets(DeidentifyFhirResources):
    """The keyed join by bucket: (bucket, [SpillRefs of the parse step's segments of that bucket, and inline (join
    key, value) records: a dataset run's Patient join info]) -> each join key's records gathered, in key order,
    and joined as ``DeidentifyFhirResources`` joins one group of the GroupByKey by patient (same outputs). The
    worker holds one bucket's records at a time (``parse.JOIN_BUCKETS``); the runner a few values a bucket."""

    def process(self, element, shard_counts: dict, existing=None, targets=()) -> Iterable:
        _, values = element
        groups: dict = {}
        for value in values:
            for key, record in read_segment(value) if value.__class__ is SpillRef else (value,):
                group = groups.get(key)
                if group is None:
                    group = groups[key] = []
                group.append(record)
        del values
        for key in sorted(groups):
            yield from super().process((key, groups.pop(key)), shard_counts, existing, targets)


class DeidentifyWithSideInput(DeidentifyFhirResources):
    """The side-input join: batches of (key, RESOURCE value), each key looked up in a dict of Patient join info.

    The side input is an AsList of the parse step's Patient batches, each the SpillRef of a segment the parse
    step wrote (``ParseResources(patients_by_location=True)``: the runner holds a few values a batch, not every
    Patient's join info, twice) or pickled into one bytes value (a dataset run, whose DICOM links read the
    batches), which each worker reads and merges once (``first_patients``). A global combine into one dict ran
    on one worker while the other waited, and Beam's worker cache measures the deep size of every value it keeps:
    a dict of every Patient's phrases cost more to measure than to use, a list of bytes values costs nothing. The
    merged dict keeps each Patient's join info pickled, unpickled at each look-up: a tuple of phrase strings takes
    several times its pickle's bytes, and the table is held by every worker for the whole run."""

    _blobs: tuple = ()
    _patients: dict = {}

    def patients(self, blobs) -> dict:
        blobs = tuple(blobs)
        if blobs != self._blobs:  # the same values in every bundle of a run: merged once a worker
            merged = first_patients(read_segment(blob) if blob.__class__ is SpillRef else pickle.loads(blob)
                                    for blob in blobs)
            self._patients = {key: pickle.dumps(info, protocol=pickle.HIGHEST_PROTOCOL) for key, info in merged.items()}
            del merged
            self._blobs = blobs
        return self._patients

    def process(self, batch, shard_counts: dict, patient_batches, existing=None, targets=()) -> Iterable:
        yield from self.shard_markers(shard_counts)
        patients = self.patients(patient_batches)
        self._resolved = self.targets(targets)
        if batch.__class__ is BatchRef:
            yield from self.reread(batch, patients, shard_counts, existing)
            return
        for key, value in batch:
            yield from self.join(key, value, patients, shard_counts, existing)

    def join(self, key: str | None, value: tuple, patients: dict, shard_counts: dict, existing,
             resource: dict | None = None) -> Iterator:
        patient = patients.get(key)
        if patient is not None:
            patient = pickle.loads(patient)
        if value[0] == DEIDENTIFIED:
            yield from self.deidentified(value, patient, shard_counts, existing)
            return
        shift_key, context = (patient[3], patient[4]) if patient is not None else (None, ())
        yield from self.deidentify(value, shift_key, context, shard_counts, existing, resource)

    def reread(self, ref: BatchRef, patients: dict, shard_counts: dict, existing) -> Iterator:
        """A BatchRef's lines read again, each joined and de-identified as if it had come inline. Lines that do
        not read back as they were parsed are error records (nothing is de-identified from a changed file)."""
        lines = yield from self.read_again(ref)
        if lines is None:
            return
        wanted = set(ref.lines)
        done = {number: rest for number, *rest in batch_done(ref)}
        for number, data in lines:
            if number in wanted:
                try:
                    resource = parse_resource(data)
                    key = patient_reference(resource)
                except Exception:  # noqa: BLE001 - deidentify() parses it again and records the error
                    resource = key = None
                yield from self.join(key, (RESOURCE, ref.relative, number, False, data), patients, shard_counts,
                                     existing, resource)
            elif number in done:
                key, rid, out = done[number]
                yield from self.join(key, (DEIDENTIFIED, ref.relative, number, False, data, rid, out), patients,
                                     shard_counts, existing)


class DeidentifyJoinedBatches(DeidentifyFhirResources):
    """The keyed join's second half: (batch key, [its BatchRef, SpillRefs of the segments covering its lines]) ->
    the batch read again, each line de-identified with its Patient's shift key and context (what the join by
    patient gave it, read from the spill files); output as ``DeidentifyFhirResources``'."""

    def process(self, element, shard_counts: dict, existing=None, targets=()) -> Iterable:
        yield from self.shard_markers(shard_counts)
        self._resolved = self.targets(targets)
        _, values = element
        ref = None
        joined: dict = {}
        for value in values:
            if value.__class__ is BatchRef:
                ref = value
            elif value.__class__ is SpillRef:
                for shift_key, context, numbers in read_segment(value):
                    for number in numbers:
                        joined[number] = shift_key, context
        if ref is None:  # cannot happen: every batch key comes with its BatchRef
            raise ValueError("a joined batch without its location")
        lines = yield from self.read_again(ref)
        if lines is None:
            return
        wanted = set(ref.lines)
        for number, data in lines:
            if number in wanted:
                shift_key, context = joined.get(number, (None, ()))
                yield from self.deidentify((RESOURCE, ref.relative, number, False, data), shift_key, context,
                                           shard_counts, existing)


def pack_patients(batch: list | SpillRef) -> bytes | SpillRef:
    """A batch of Patients' (Patient/<id>, join info) as one value for the side input (a batch the parse step
    spilled stays the SpillRef of its segment: ``ParseResources(patients_by_location=True)``)."""
    if batch.__class__ is SpillRef:
        return batch
    return pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)


def first_patients(batches: Iterable[list]) -> dict:
    """Batches of (Patient/<id>, join info) -> one dict, the first Patient by source location when an id repeats
    (join info starts with the source file and index, so the result does not depend on the batches' order)."""
    patients: dict = {}
    extra: dict = {}
    for batch in batches:
        for key, info in batch:
            if info[0] == COMPARTMENT:
                extra.setdefault(key, []).extend(info[1])
                continue
            known = patients.get(key)
            if known is None or info < known:
                patients[key] = info
    for key, phrases in extra.items():
        patients[key] = with_compartment(patients.get(key), phrases)
    return patients


def with_compartment(patient: tuple | None, phrases: list) -> tuple:
    """A Patient's join info with the identifier values of its compartment's other resources added to its context
    phrases (sorted: the same whatever the batches' order); a 6th item marks it (its Patient, de-identified by
    the parse step without them, is de-identified again). No Patient in the store: no shift key, the phrases."""
    phrases = tuple(sorted(set(phrases)))
    if patient is None:
        return (PATIENT, "\uffff", 0, None, phrases, True)
    return patient[:4] + (tuple(dict.fromkeys(tuple(patient[4]) + phrases)), True)

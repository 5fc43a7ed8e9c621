"""FHIR parse and route: batches of RawResource -> batches keyed by patient, Patient join info, sizes per type.

A resource's join key is its patient compartment owner (``patient_reference``), a Patient's key its own
``Patient/<id>``. Patients are de-identified here already when nothing filters them (``deidentify_patient``: the
join info and the output line from one walk), so the de-identify step only places their lines.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from pipelines.fhir.memory import fix_mmap_threshold
from pipelines.fhir.read import BatchRef, LineBatch, read_batch_lines
from pipelines.fhir.spill import JoinSpill, SegmentSpill, SpillRef, read_segment
from pipelines.stores.fhir import RawResource
from transforms.beam import (
    ERRORS,
    Tally,
    collect_less_often,
    error_from_exception,
    failure_counter,
    freeze_startup_heap,
)
from transforms.crypto import Keys
from transforms.fhir import deidentify_patient, new_id, patient_context, patient_reference, patient_shift_key
from transforms.fhir.ids import offered_keys, wanted_keys
from transforms.fhir.codec import dumps, parse_resource
from transforms.fhir.policy import FhirPolicy

RESOURCE, PATIENT, DEIDENTIFIED, COMPARTMENT = 0, 1, 2, 3
MIN_IDENTIFIER_PHRASE = 4  # shorter identifier values ("1", "A") are not context phrases: they would hit any text
# The resources whose identifiers are order, study and member numbers people copy into text (accession, placer,
# filler, specimen, member ids). Every text of the compartment is matched against every phrase, so identifiers
# no one writes in prose (an Observation's or a Claim's system-generated ids, hundreds a patient) stay out.
COMPARTMENT_IDENTIFIER_TYPES = frozenset({
    "ImagingStudy", "DiagnosticReport", "ServiceRequest", "Specimen", "DocumentReference", "Media", "Coverage",
    "Account", "RelatedPerson", "EpisodeOfCare", "DeviceRequest", "Procedure", "Task"})


def compartment_phrases(resource: dict) -> tuple[str, ...]:
    """The identifier values of a resource (an ImagingStudy's accession number, a ServiceRequest's placer number):
    context phrases for every text of its patient's compartment."""
    identifiers = resource.get("identifier")
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    if not isinstance(identifiers, list):
        return ()
    return tuple(dict.fromkeys(
        i["value"] for i in identifiers
        if isinstance(i, dict) and isinstance(i.get("value"), str) and len(i["value"]) >= MIN_IDENTIFIER_PHRASE))
PATIENTS, SIZES, BATCHES = "patients", "sizes", "batches"
OFFERS, WANTED = "offers", "wanted"  # store-wide reference resolution: what names each resource, what is looked up
_NEEDS_RESOLUTION = (b"urn:uuid:", b"?identifier=", b"%3Fidentifier")
# The keyed join groups by bucket of patients, not by patient: the parse step writes each record of the join (a
# line reference, a resource, a Patient's join info) to a spill file, a segment per bucket, and only the segments'
# locations cross the runner's GroupByKey (``ParseResources(join_buckets=True)``, ``join.JoinBuckets``). A bucket
# holds about 1/JOIN_BUCKETS of the store's join records: what one de-identify call holds at once.
JOIN_BUCKETS = 1024


def join_key(resource: dict, raw: RawResource) -> str:
    """The group a resource is de-identified in: its patient (``Patient/<id>``), else a key of its own."""
    owner = patient_reference(resource)
    return owner if owner else "\x00" + raw.name


class KeepWanted(beam.DoFn):
    """A batch of OFFERS -> the (key, Type/id) pairs some reference of the store looks up (the WANTED side input,
    small: only references a Bundle could not link), so the de-identify step's resolution table stays small.

    An OFFERS value is a list of pairs, or the BatchRef of a batch of uncompressed NDJSON lines whose offers were
    not carried (``ParseResources(offers_by_location=True)``): its lines are read again and their offers made
    here, only when some reference of the store looks anything up. A batch that no longer reads back as it was
    parsed offers nothing (the de-identify step makes its lines error records)."""

    _lists: tuple = ()
    _wanted: frozenset = frozenset()

    def process(self, offers, wanted_lists) -> Iterable:
        lists = tuple(wanted_lists)
        if not lists:
            return
        if lists != self._lists:
            self._wanted = frozenset(key for keys in lists for key in keys)
            self._lists = lists
        wanted = self._wanted
        if offers.__class__ is BatchRef:
            offers = batch_offers(offers)
        found = [pair for pair in offers if pair[0] in wanted]
        if found:
            yield found


def batch_offers(ref: BatchRef) -> list[tuple[str, str]]:
    """The offers (``offered_keys``) of every line of a batch, read again, as the parse step would have made them:
    of each line that parses with a resourceType, whatever became of it after (filtered, failed)."""
    try:
        lines = read_batch_lines(ref)
    except Exception:  # noqa: BLE001 - changed or unreadable: the de-identify step reports its lines
        return []
    offers: list[tuple[str, str]] = []
    for _, data in lines:
        try:
            resource = parse_resource(data, exact=False)
            resource["resourceType"]
        except Exception:  # noqa: BLE001 - an error record of the parse step; it offered nothing either
            continue
        offers += offered_keys(resource)
    return offers


def resolution_table(batches: Iterable[list]) -> dict[str, str]:
    """Batches of (key, Type/id) -> one dict; a key naming two different resources (an identifier two resources
    share) resolves to neither."""
    table: dict[str, str] = {}
    ambiguous: set[str] = set()
    for batch in batches:
        for key, target in batch:
            known = table.get(key)
            if known is None and key not in ambiguous:
                table[key] = target
            elif known is not None and known != target:
                del table[key]
                ambiguous.add(key)
    return table


class ParseResources(beam.DoFn):
    """A batch of RawResource -> a batch of (join key, resource) for the join, a batch of (Patient/<id>, join
    info) for its Patients, sizes per type.

    Main output: a list of (key, (RESOURCE, file, index, entry, data)). PATIENTS: a list of (Patient/<id>,
    (PATIENT, file, index, shift key, context phrases)) — every Patient, filtered or not, so its resources still
    shift with it. SIZES: (resourceType, (count, bytes)) once a type a bundle. ERRORS: error records, one a
    resource. OFFERS: a list of (resolution key, Type/id) naming the batch's resources (``offered_keys``); WANTED:
    a list of the resolution keys of its ``urn:uuid:`` and conditional references (``wanted_keys``).

    ``by_reference``: a LineBatch's main output is its BatchRef (the side-input join). ``keyed_refs``: the keyed
    join by line reference: a LineBatch's main output is a list of (join key, ``line_ref(batch key, line
    number)``), small values the join's GroupByKey holds instead of the resources, and BATCHES gets
    (batch key, BatchRef) to read the lines again once joined (``batch_key``); its Patients are de-identified
    after the join, not here (their output lines would ride through both shuffles). ``offers_by_location``: a
    LineBatch's OFFERS value is its location (a BatchRef without lines), not its offers: the runner then holds a
    few hundred bytes a batch instead of a pair or more a resource until the whole store is parsed, and the
    offers are made again only if some reference wants them (``KeepWanted``).

    ``spill_folder``: the lines of the Patients a LineBatch's BatchRef carries as done (``by_reference``), and,
    with ``patients_by_location``, each PATIENTS batch, are written to spill files there (``SegmentSpill``,
    flushed when the bundle ends) and only their locations are handed on: a BatchRef's ``done`` is then the
    SpillRef of its tuple of done Patients (``batch_done``), a PATIENTS value the SpillRef of its list. The
    runner, which holds every value between stages in its own process, then holds a few values a batch, not
    every Patient's output line and join info.

    ``patients_inline`` (the keyed join): a batch's Patient join info goes in its main output, after its resources
    (or line references), not to PATIENTS: the GroupByKey by patient then reads one output of this step, with
    no Flatten of two outputs (a stage of its own, whose whole input the runner holds encoded once more).
    ``join_buckets`` (the keyed join, with a ``spill_folder``): the main output's (join key, value) records are
    written to spill files of this worker, a segment per bucket of join keys (``bucket_of``), and the main output
    is ``(bucket, SpillRef)`` a segment (``spill.JoinSpill``): the runner's GroupByKey then holds a few values a
    bucket and spill file, not one a resource.
    """

    def __init__(self, policy: FhirPolicy, keys: Keys, label: str = "fhir", resource_filter=None,
                 deidentify_patients: bool = False, by_reference: bool = False, keyed_refs: bool = False,
                 offers_by_location: bool = False, spill_folder: str | None = None,
                 patients_by_location: bool = False, patients_inline: bool = False, join_buckets: bool = False):
        self._policy = policy
        self._keys = keys
        self._label = label
        self._filter = resource_filter
        self._deidentify_patients = deidentify_patients and resource_filter is None
        self._by_reference = by_reference
        self._keyed_refs = keyed_refs
        self._offers_by_location = offers_by_location
        self._spill_folder = spill_folder
        self._patients_by_location = patients_by_location and spill_folder is not None
        self._patients_inline = patients_inline
        self._join_buckets = join_buckets and spill_folder is not None

    def setup(self) -> None:
        fix_mmap_threshold()
        freeze_startup_heap()
        collect_less_often()
        self._tally = Tally()
        self._failed_name = failure_counter(self._label)
        self._filtered_name = f"filtered/{self._label}"

    def start_bundle(self) -> None:
        self._sizes: dict[str, list[int]] = {}
        self._spill = SegmentSpill(self._spill_folder) if self._spill_folder else None
        self._buckets = JoinSpill(self._spill_folder) if self._join_buckets else None

    def finish_bundle(self) -> Iterator:
        if self._spill is not None:
            self._spill.flush()  # before the bundle's outputs, which name its segments, are committed
        for bucket in self._buckets.drain() if self._buckets is not None else ():
            yield WindowedValue(bucket, MIN_TIMESTAMP, (GlobalWindow(),))
        self._tally.flush()
        for rtype, (count, size) in sorted(self._sizes.items()):  # one (type, (count, bytes)) a bundle
            yield beam.pvalue.TaggedOutput(SIZES, WindowedValue((rtype, (count, size)), MIN_TIMESTAMP,
                                                                (GlobalWindow(),)))
        self._sizes = {}

    def process(self, batch: list[RawResource] | LineBatch) -> Iterable:
        located = batch if batch.__class__ is LineBatch else None
        by_line = located is not None and self._keyed_refs
        deidentify_patients = self._deidentify_patients and not by_line
        offers_inline = located is None or not self._offers_by_location
        resources: list[tuple] = []
        patients: list[tuple] = []
        offers: list[tuple[str, str]] = []
        wanted: list[str] = []
        sizes = self._sizes
        for raw in located.raws if located is not None else batch:
            try:
                resource = parse_resource(raw.data, exact=False)  # routing only: the de-identify step parses exactly
                rtype = resource["resourceType"]
                done = None
                if offers_inline:
                    offers += offered_keys(resource)
                if raw.alias is not None:  # a Bundle entry's urn:uuid: fullUrl other than its id (stores/fhir.py)
                    offers.append((raw.alias, f"{rtype}/{resource['id']}"))
                data = raw.data
                unresolved = (_NEEDS_RESOLUTION[0] in data or _NEEDS_RESOLUTION[1] in data  # no generator a line
                              or _NEEDS_RESOLUTION[2] in data)
                if unresolved:
                    wanted += wanted_keys(resource)
                if rtype == "Patient":
                    exact = parse_resource(raw.data)
                    done = (self.deidentify_patient(exact, raw) if deidentify_patients and not unresolved
                            else None)
                    info = done[0] if done is not None else self.patient_info(exact)
                    if info is not None:
                        joined = (PATIENT, raw.file, raw.index) + info[1:]
                        patients.append((info[0], joined))
                        if raw.entry:  # other bundles name it by fullUrl: their resources group under that key
                            for name in bundle_names(exact, raw):
                                patients.append((name, joined))
                keep = self._filter is None or self._filter.keeps(resource, raw.mtime)
            except Exception as err:  # noqa: BLE001 - a dead letter, never a failed job
                self._tally.add(self._failed_name)
                yield beam.pvalue.TaggedOutput(ERRORS, error_from_exception(raw.name, err))
                continue
            if not keep:
                self._tally.add(self._filtered_name)
                continue
            tally = sizes.get(rtype)
            if tally is None:
                tally = sizes[rtype] = [0, 0]
            tally[0] += 1
            tally[1] += len(raw.data)
            key = join_key(resource, raw)
            if rtype in COMPARTMENT_IDENTIFIER_TYPES and "identifier" in resource and key.startswith("Patient/"):
                phrases = compartment_phrases(resource)
                if phrases:
                    patients.append((key, (COMPARTMENT, phrases)))
            value = (RESOURCE, raw.file, raw.index, raw.entry, raw.data)
            if done is not None:  # a Patient already de-identified: its new id and line ride along
                value = (DEIDENTIFIED,) + value[1:] + done[1]
            resources.append((key, value))
        if patients and not self._patients_inline:
            yield beam.pvalue.TaggedOutput(PATIENTS, self._spill.add(patients) if self._patients_by_location
                                           else patients)
        if not offers_inline:
            yield beam.pvalue.TaggedOutput(OFFERS, batch_ref(located, []))
        elif offers:
            yield beam.pvalue.TaggedOutput(OFFERS, offers)
        if wanted:
            yield beam.pvalue.TaggedOutput(WANTED, wanted)
        inline = patients if self._patients_inline else []
        if by_line:
            records = inline
            if resources:
                ref = batch_ref(located, resources)
                key = batch_key(ref)
                yield beam.pvalue.TaggedOutput(BATCHES, (key, ref))
                records = [(owner, line_ref(key, value[2])) for owner, value in resources] + inline
        elif located is not None and self._by_reference:
            if resources:
                yield batch_ref(located, resources, self._spill)
            return
        else:
            records = resources + inline
        if not records:
            return
        if self._buckets is None:
            yield records
            return
        for owner, value in records:
            yield from self._buckets.add_entry(bucket_of(owner), (owner, value), record_bytes(owner, value))

    def deidentify_patient(self, patient: dict, raw: RawResource) -> tuple[tuple, tuple[str, bytes]] | None:
        """A Patient's join info and its output (new id, line), from one walk (``deidentify_patient``): the
        de-identify step then only places the line, unless another Patient of the same id comes first. None
        when it fails: the de-identify step then de-identifies it again and records the error."""
        key = patient_reference(patient)
        if key is None:
            return None
        try:
            out, context = deidentify_patient(patient, self._policy, self._keys)
            rid, out = with_id(out, raw.data, self._keys)
            if out["resourceType"] != "Patient":
                return None
            done = rid, dumps(out)
        except Exception:  # noqa: BLE001 - reported where the resource is de-identified
            return None
        return (key, patient_shift_key(patient), context), done

    def patient_info(self, patient: dict) -> tuple[str, str, tuple[str, ...]] | None:
        key = patient_reference(patient)
        if key is None:
            return None
        return key, patient_shift_key(patient), patient_context(patient, self._policy, self._keys)


def bundle_names(patient: dict, raw: RawResource) -> tuple[str, ...]:
    """The ``urn:uuid:`` keys a Bundle entry's Patient is named by from other bundles of the store (a reference
    within its own bundle is linked to ``Patient/<id>`` when the bundle is read): ``urn:uuid:<id>`` and its
    fullUrl when that differs. A resource whose subject is one of them is de-identified with this Patient's date
    shift and context phrases, like one naming ``Patient/<id>``."""
    rid = patient.get("id")
    names = (f"urn:uuid:{rid}",) if isinstance(rid, str) and rid else ()
    return names + ((raw.alias,) if raw.alias is not None and raw.alias not in names else ())


def batch_ref(batch: LineBatch, resources: list[tuple], spill: SegmentSpill | None = None) -> BatchRef:
    """The BatchRef of a parsed LineBatch: its location, the lines to de-identify and the Patients done (with a
    ``spill``, the SpillRef of their tuple)."""
    lines = tuple(value[2] for _, value in resources if value[0] == RESOURCE)
    done = tuple((value[2], key, value[5], value[6]) for key, value in resources if value[0] == DEIDENTIFIED)
    if done and spill is not None:
        done = spill.add(done)
    relative = batch.raws[0].file
    return BatchRef(batch.path, relative, batch.start, batch.end, batch.first_line, batch.crc, lines, done)


def bucket_of(key: str) -> int:
    """The keyed join's bucket of a join key: the same in every process and run (CRC-32, not ``hash``)."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % JOIN_BUCKETS


def record_bytes(key: str, value) -> int:
    """About what a join record costs held in a spill buffer: its key and the bytes and strings of its value."""
    if value.__class__ is bytes:
        return 64 + len(key) + len(value)
    return 64 + len(key) + sum(len(item) if item.__class__ in (bytes, str) else 16 for item in value)


def batch_done(ref: BatchRef) -> tuple:
    """A BatchRef's done Patients ``(number, join key, new id, output line)``, read from their spill segment when
    the parse step spilled them."""
    return read_segment(ref.done) if ref.done.__class__ is SpillRef else ref.done


def batch_key(ref: BatchRef) -> str:
    """The key a BatchRef and the joined references to its lines meet under (one a batch: file and first byte)."""
    return f"{ref.relative}\x00{ref.start}"


def line_ref(key: str, number: int) -> bytes:
    """A line of a batch as the keyed join's GroupByKey holds it: one bytes value (``b"<number> <batch key>"``),
    not a tuple of objects (the local runner keeps every grouped value decoded: a tuple of an int and a string
    costs about twice the memory)."""
    return b"%d %s" % (number, key.encode("utf-8", "surrogatepass"))


def from_line_ref(value: bytes) -> tuple[str, int]:
    """``line_ref``'s (batch key, line number)."""
    number, _, key = value.partition(b" ")
    return key.decode("utf-8", "surrogatepass"), int(number)


def with_id(out: dict, data: bytes, keys: Keys) -> tuple[str, dict]:
    """A de-identified resource's new id, and the resource with it: one without an id gets ``content_id``."""
    rid = out.get("id")
    if not isinstance(rid, str) or not rid:
        rid = content_id(keys, data)
        out = {"resourceType": out["resourceType"], "id": rid, **{k: v for k, v in out.items() if k != "resourceType"}}
    return rid, out


def content_id(keys: Keys, data: bytes) -> str:
    """The id of a resource stored without one: derived from its content, so identical copies collide."""
    return new_id(keys, "content\x00" + hashlib.sha256(data).hexdigest())


"""Dataset runs: the DICOM stores' identifiers (AccessionNumber, PatientID, OtherPatientIDs) as context phrases of
the FHIR patients they belong to (issue 17), so a note quoting an accession number that only DICOM holds is cleaned.

``DicomIdentifiers`` reads the header of every instance of the dataset's DICOM stores (up to the pixel data, only
those elements) and gathers, per DICOM PatientID, the link values and phrases (``dicom_identifiers``): a few
strings a patient. ``LinkDicomContext``, applied inside each FHIR branch to the parse step's offers and Patient
join info, links them to FHIR patients as a hospital does — a DICOM PatientID or other id equal to a FHIR Patient's
identifier value or id, an AccessionNumber equal to an identifier of an ImagingStudy / ServiceRequest / ... in a
patient's compartment — and gives Patient join info of the parse step's COMPARTMENT kind, which the join merges
into the patient's context phrases. Nothing linked: nothing added, the output is byte for byte what it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam

from pipelines.fhir.parse import COMPARTMENT, MIN_IDENTIFIER_PHRASE
from pipelines.stores import store_root
from pipelines.stores.dicom import FolderDicomStore

# The header elements read: the identifiers a hospital links studies and patients by (PatientID, OtherPatientIDs
# and the sequence that replaced it) and the study's AccessionNumber (ImagingStudy / ServiceRequest identifiers).
DICOM_ID_TAGS = ("AccessionNumber", "PatientID", "OtherPatientIDs", "OtherPatientIDsSequence")
PATIENT_IDENTIFIER = "Patient?identifier="  # the offers (pipelines.fhir.parse OFFERS) naming a Patient by identifier
BATCH = 500  # linked (patient, phrases) pairs a side-input value


def _values(value) -> list[str]:
    """The non-empty values of a string element's value (multi-valued or not), padding stripped."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
    out = []
    for item in items:
        text = str(item).strip("\x00 ")
        if text:
            out.append(text)
    return out


def _value(ds, keyword: str):
    element = ds.get(keyword)
    return None if element is None else getattr(element, "value", element)


def dicom_identifiers(ds) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """A DICOM header's (patient key, link values, context phrases), or None when it holds no identifier.

    Link values: PatientID, OtherPatientIDs (and the PatientIDs of OtherPatientIDsSequence), AccessionNumber. The
    key is the PatientID (else the AccessionNumber, else the first other id), so one patient's studies gather.
    Phrases: the same values, those of at least ``MIN_IDENTIFIER_PHRASE`` characters (a shorter one would hit any
    text). An issuer-qualified form (``id^^^issuer``) is no phrase of its own: the bare value is replaced in it."""
    patient_ids = _values(_value(ds, "PatientID"))
    others = _values(_value(ds, "OtherPatientIDs"))
    for item in _value(ds, "OtherPatientIDsSequence") or ():
        others += _values(_value(item, "PatientID"))
    accessions = _values(_value(ds, "AccessionNumber"))
    links = tuple(dict.fromkeys(patient_ids + others + accessions))
    if not links:
        return None
    if patient_ids:
        key = "PatientID\x00" + patient_ids[0]
    elif accessions:
        key = "AccessionNumber\x00" + accessions[0]
    else:
        key = "OtherPatientID\x00" + others[0]
    return key, links, tuple(v for v in links if len(v) >= MIN_IDENTIFIER_PHRASE)


def read_dicom_identifiers(path: str, store: str):
    """``dicom_identifiers`` of a store file's header, or None when the file is not read here: not a regular
    file, outside its project and location, not DICOM (the DICOM branch reads every file and records those)."""
    import pydicom

    try:
        target = store_root.check_regular(path, store_root.location_area(store))
        with store_root.open_bytes(target) as handle:
            ds = pydicom.dcmread(handle, stop_before_pixels=True, specific_tags=list(DICOM_ID_TAGS))
        return dicom_identifiers(ds)
    except Exception:  # noqa: BLE001 - recorded by the DICOM branch
        return None


def merge_identifiers(values: Iterable[tuple]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(links, phrases) pairs of one patient -> one pair, sorted (the same whatever the order)."""
    links: set[str] = set()
    phrases: set[str] = set()
    for link, phrase in values:
        links.update(link)
        phrases.update(phrase)
    return tuple(sorted(links)), tuple(sorted(phrases))


class DicomIdentifiers(beam.PTransform):
    """The DICOM stores of a dataset -> (link value, phrases of the patient it names), one pair a link value of
    each DICOM patient (gathered by PatientID over every store)."""

    def __init__(self, stores: list[str]):
        super().__init__()
        self._stores = list(stores)

    def expand(self, pbegin):
        paths = [
            pbegin
            | f"List {i}" >> FolderDicomStore(store).list(None, f"ids/{i}")
            for i, store in enumerate(self._stores)
        ]
        located = [
            listing.instances | f"Store of {i}" >> beam.Map(lambda path, store: (path, store), store)
            for i, (listing, store) in enumerate(zip(paths, self._stores))
        ]
        return (
            located
            | "All instances" >> beam.Flatten()
            | "Spread" >> beam.Reshuffle()
            | "Read headers" >> beam.FlatMapTuple(_identifiers)
            | "Per patient" >> beam.CombinePerKey(merge_identifiers)
            | "Per link" >> beam.FlatMapTuple(lambda _, pair: [(link, pair[1]) for link in pair[0] if pair[1]])
        )


def _identifiers(path: str, store: str) -> Iterator[tuple[str, tuple]]:
    found = read_dicom_identifiers(path, store)
    if found is not None:
        yield found[0], (found[1], found[2])


def patient_links(offers: list) -> Iterator[tuple[str, str]]:
    """A batch of the parse step's offers -> (value, Patient/<id>) for each Patient identifier value and id."""
    for key, target in offers:
        if not target.startswith("Patient/"):
            continue
        if key.startswith(PATIENT_IDENTIFIER):
            yield key[len(PATIENT_IDENTIFIER):], target
        elif key == "urn:uuid:" + target[8:]:
            yield target[8:], target


def compartment_links(patients: list) -> Iterator[tuple[str, str]]:
    """A batch of the parse step's Patient join info -> (identifier value, Patient/<id>) for the identifiers of
    the compartment's ImagingStudy / ServiceRequest / ... (the COMPARTMENT values): accession numbers link so."""
    for key, info in patients:
        if info[0] == COMPARTMENT:
            for value in info[1]:
                yield value, key


def linked_phrases(element: tuple) -> Iterator[tuple[str, tuple]]:
    """(link value, {"fhir": patients, "dicom": phrase tuples}) -> (Patient/<id>, (COMPARTMENT, phrases)) for each
    FHIR patient the value names, when a DICOM patient has it too."""
    _, groups = element
    patients = sorted(set(groups["fhir"]))
    phrases = sorted({p for group in groups["dicom"] for p in group})
    if not patients or not phrases:
        return
    for patient in patients:
        yield patient, (COMPARTMENT, tuple(phrases))


class LinkDicomContext(beam.PTransform):
    """(the parse step's OFFERS, its PATIENTS) -> batches (lists) of (Patient/<id>, (COMPARTMENT, phrases)): the
    DICOM identifiers (``DicomIdentifiers``' output) of every DICOM patient linked to that FHIR patient, in the
    shape of the parse step's Patient join info, so the join adds them to the patient's context phrases."""

    def __init__(self, dicom_links):
        super().__init__()
        self._dicom = dicom_links

    def expand(self, inputs):
        offers, patients = inputs
        fhir = (
            offers | "Patient identifiers" >> beam.FlatMap(patient_links),
            patients | "Compartment identifiers" >> beam.FlatMap(compartment_links),
        ) | "FHIR links" >> beam.Flatten()
        return (
            {"fhir": fhir, "dicom": self._dicom}
            | "Link" >> beam.CoGroupByKey()
            | "Phrases" >> beam.FlatMap(linked_phrases)
            | "As join info" >> beam.BatchElements(min_batch_size=1, max_batch_size=BATCH)
        )

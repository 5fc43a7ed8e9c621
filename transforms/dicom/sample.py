"""Synthetic DICOM instances full of known PHI, for the demo, the tests and the benchmarks (seeded, deterministic)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian

SAMPLE_ROOT = "1.2.826.0.1.3680043.8.498."  # pydicom's example root: clearly not a real site's
PRIVATE_CREATOR = "ACME HOSPITAL PACS"

_FIRST = ["Jane", "John", "Maria", "Ahmed", "Li", "Olga", "Carlos", "Aisha", "Pieter", "Yuki"]
_LAST = ["Doe", "Kowalczyk", "Okonkwo", "Lindqvist", "Ferreira", "Nakamura", "Haddad", "Brennan", "Moreau", "Patel"]
_STREETS = ["Elm Street", "Harbor Road", "Maple Avenue", "Kingsway", "Mill Lane"]
_CITIES = ["Springfield", "Riverton", "Lakewood", "Fairview", "Greenville"]


def _uid(*parts: object) -> str:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return SAMPLE_ROOT + str(int.from_bytes(digest[:12], "big"))


@dataclass(frozen=True)
class SamplePatient:
    """One synthetic patient and the PHI strings that must not survive de-identification."""

    index: int
    seed: int = 0
    given: str = field(init=False)
    family: str = field(init=False)
    middle: str = field(init=False)

    def __post_init__(self) -> None:
        i = self.index + self.seed * 7
        object.__setattr__(self, "given", _FIRST[i % len(_FIRST)] + "ina"[: (i // 10) % 4])
        object.__setattr__(self, "family", _LAST[(i * 3 + 1) % len(_LAST)] + "son" * ((i // 10) % 2))
        object.__setattr__(self, "middle", "Quincy" if i % 2 else "Beatrix")

    @property
    def name(self) -> str:
        return f"{self.family}^{self.given}^{self.middle}"

    @property
    def patient_id(self) -> str:
        return f"MRN{7310000 + self.index * 37 + self.seed}"

    @property
    def birth_date(self) -> str:
        return f"19{50 + self.index % 40:02d}{1 + self.index % 12:02d}{10 + self.index % 18:02d}"

    @property
    def phone(self) -> str:
        return f"(617) 555-{1000 + self.index * 13 % 9000:04d}"

    @property
    def address(self) -> str:
        return f"{100 + self.index * 7} {_STREETS[self.index % 5]}, {_CITIES[self.index % 5]}, MA 02{100 + self.index:03d}"

    def accession(self, study: int) -> str:
        return f"ACC{880000 + self.index * 10 + study}"

    def study_date(self, study: int) -> str:
        return f"2023{1 + (self.index + study) % 12:02d}{1 + (self.index * 3 + study) % 28:02d}"

    def study_uid(self, study: int) -> str:
        return _uid("study", self.seed, self.index, study)

    def series_uid(self, study: int, series: int) -> str:
        return _uid("series", self.seed, self.index, study, series)

    def sop_uid(self, study: int, series: int, instance: int) -> str:
        return _uid("sop", self.seed, self.index, study, series, instance)

    def frame_of_reference_uid(self, study: int) -> str:
        return _uid("for", self.seed, self.index, study)

    def phi_strings(self) -> list[str]:
        """Every identifying string this patient's instances carry (UIDs not included)."""
        return [
            self.name, self.given, self.family, self.middle, self.patient_id, self.birth_date, self.phone,
            self.address, f"{self.family}, {self.given}", "Dr Hopewell^Ezekiel", "Hopewell", "Ezekiel",
            "Mass Bayside Medical Center", "Radiology Wing 7", "OTHERID-" + self.patient_id,
        ]


def sample_dataset(patient: SamplePatient, study: int = 0, series: int = 0, instance: int = 0,
                   rows: int = 64, columns: int = 64) -> Dataset:
    """A CT-like instance (int16 pixels, ~40 header elements) carrying the patient's PHI everywhere it hides."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = patient.sop_uid(study, series, instance)
    ds.StudyDate = patient.study_date(study)
    ds.SeriesDate = patient.study_date(study)
    ds.ContentDate = patient.study_date(study)
    ds.StudyTime = "101500"
    ds.AccessionNumber = patient.accession(study)
    ds.Modality = "CT"
    ds.Manufacturer = "ACME Imaging"
    ds.InstitutionName = "Mass Bayside Medical Center"
    ds.InstitutionAddress = patient.address
    ds.ReferringPhysicianName = "Dr Hopewell^Ezekiel"
    ds.StationName = "CT-ROOM-7"
    ds.StudyDescription = "CT CHEST WITH CONTRAST"
    ds.SeriesDescription = "AXIAL 2.5MM"
    ds.InstitutionalDepartmentName = "Radiology Wing 7"
    ds.OperatorsName = patient.name
    ref = Dataset()
    ref.ReferencedSOPClassUID = CTImageStorage
    ref.ReferencedSOPInstanceUID = patient.sop_uid(study, series, (instance + 1) % 3)
    ds.ReferencedImageSequence = Sequence([ref])
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = "F" if patient.index % 2 else "M"
    ds.PatientAge = "047Y"
    ds.PatientAddress = patient.address
    ds.PatientTelephoneNumbers = patient.phone
    other = Dataset()
    other.PatientID = "OTHERID-" + patient.patient_id
    other.IssuerOfPatientID = "Mass Bayside Medical Center"
    ds.OtherPatientIDsSequence = Sequence([other])
    code = Dataset()  # a sequence the profile does not list: its items are de-identified recursively
    code.CodeValue = "T-D3000"
    code.CodingSchemeDesignator = "SRT"
    code.CodeMeaning = "Chest"
    code.PatientName = patient.name
    ds.AnatomicRegionSequence = Sequence([code])
    ds.SliceThickness = "2.5"
    ds.KVP = "120"
    ds.DeviceSerialNumber = "SN-4471-" + str(patient.index)
    ds.StudyInstanceUID = patient.study_uid(study)
    ds.SeriesInstanceUID = patient.series_uid(study, series)
    ds.StudyID = f"S{patient.index}{study}"
    ds.SeriesNumber = str(series + 1)
    ds.InstanceNumber = str(instance + 1)
    ds.ImagePositionPatient = [0, 0, str(instance * 2.5)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.FrameOfReferenceUID = patient.frame_of_reference_uid(study)
    ds.ImageComments = "Prior study reviewed"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    block = ds.private_block(0x0009, PRIVATE_CREATOR, create=True)
    block.add_new(0x01, "LO", patient.name)
    block.add_new(0x02, "LO", patient.patient_id)
    yy, xx = np.mgrid[0:rows, 0:columns]
    pixels = ((xx * 7 + yy * 3 + patient.index * 11 + instance) % 2000 - 1000).astype("<i2")
    ds.PixelData = pixels.tobytes()
    return ds


def sample_instance(patient: SamplePatient, study: int = 0, series: int = 0, instance: int = 0,
                    rows: int = 64, columns: int = 64, implicit: bool = False) -> bytes:
    """The Part-10 bytes of ``sample_dataset``."""
    ds = sample_dataset(patient, study, series, instance, rows, columns)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    meta.ImplementationClassUID = SAMPLE_ROOT + "1"
    meta.SourceApplicationEntityTitle = "BAYSIDE_PACS"
    ds.file_meta = meta
    out = DicomBytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def sample_store_files(patients: int = 3, studies: int = 1, series: int = 2, instances: int = 3,
                       rows: int = 64, columns: int = 64, seed: int = 0):
    """Yield (relative path in the store-export layout, bytes) for a whole synthetic store."""
    for p in range(patients):
        patient = SamplePatient(p, seed)
        for st in range(studies):
            for se in range(series):
                for i in range(instances):
                    path = f"{patient.study_uid(st)}/{patient.series_uid(st, se)}/{patient.sop_uid(st, se, i)}.dcm"
                    yield path, sample_instance(patient, st, se, i, rows, columns, implicit=bool((p + i) % 2))

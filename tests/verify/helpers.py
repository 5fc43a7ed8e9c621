"""Shared builders for the verify tests: source stores with known PHI, de-identified copies, planted leaks."""

from __future__ import annotations

import base64
import datetime
import io
import json
from pathlib import Path

import pydicom
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence

from tests.conftest import deidentify_fhir_resources
from transforms.crypto import Keys
from transforms.dicom.deidentify import deidentify_instance
from transforms.dicom.policy import compile_dicom_policy
from transforms.dicom.sample import SamplePatient, sample_dataset, sample_instance, sample_store_files
from transforms.fhir.policy import compile_fhir_policy
from transforms.fhir.sample import sample_store

KEY = b"K" * 32
BIRTH = "19610314"  # planted as 03/14/1961 in free text


def keys() -> Keys:
    return Keys(KEY)


def source_dicom_files(patients: int = 3) -> dict[str, bytes]:
    """A multi-patient store; patient 0's birth date is 1961-03-14."""
    files = dict(sample_store_files(patients=patients, studies=1, series=1, instances=2))
    patient = SamplePatient(0)
    for relative in list(files):
        ds = pydicom.dcmread(io.BytesIO(files[relative]))
        if ds.PatientID == patient.patient_id:
            ds.PatientBirthDate = BIRTH
            files[relative] = to_bytes(ds)
    return files


def to_bytes(ds) -> bytes:
    out = DicomBytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def deidentify_dicom(files: dict[str, bytes], key: Keys) -> dict[str, bytes]:
    policy = compile_dicom_policy(None)
    out = {}
    for data in files.values():
        result = deidentify_instance(data, policy, key)
        out[result.store_path] = result.data
    return out


def fhir_source(patients: int = 3):
    return sample_store(patients, seed=4)


def deidentify_fhir(resources: list[dict], key: Keys) -> list[dict]:
    """What the FHIR pipeline does, under the default config (reference date 2025-01-01)."""
    return deidentify_fhir_resources(resources, compile_fhir_policy(None, reference_date=datetime.date(2025, 1, 1)),
                                     key)


def ndjson(resources: list[dict]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in resources).encode()


def write_fhir_store(folder: Path, resources: list[dict]) -> None:
    by_type: dict[str, list[dict]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    folder.mkdir(parents=True, exist_ok=True)
    for rtype, items in by_type.items():
        (folder / f"{rtype}.ndjson").write_bytes(ndjson(items))


def plant_private_name(data: bytes, name: str) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    block = ds.private_block(0x0011, "LEAKY VENDOR", create=True)
    block.add_new(0x01, "LO", name)
    return to_bytes(ds)


def plant_nested_id(data: bytes, value: str) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    inner = pydicom.Dataset()
    inner.CodeValue = "X1"
    inner.CodeMeaning = f"ref {value}"
    outer = pydicom.Dataset()
    outer.ConceptNameCodeSequence = Sequence([inner])
    ds.ContentSequence = Sequence([outer])
    return to_bytes(ds)


def plant_comment(data: bytes, text: str) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.ImageComments = text
    return to_bytes(ds)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


__all__ = ["sample_dataset", "sample_instance"]


def swallow_with_un(data: bytes, carrier: int = 0x00080060, through: int = 0x00100030) -> bytes:
    """An explicit VR little endian instance whose ``carrier`` element (Modality) is re-encoded as ``UN`` with a
    length that swallows every element after it up to and including ``through`` (PatientBirthDate): a parser
    sees one opaque carrier value and none of the swallowed elements (the hostile source of issue 19)."""
    import struct

    from transforms.verify.elements import embedded_elements

    meta_end = 132 + 12 + struct.unpack_from("<L", data, 140)[0]  # preamble, DICM, (0002,0000) UL group length
    elements = embedded_elements(data[meta_end:])
    offsets, pos = [], meta_end
    for element in elements:  # the top-level run: each element's header starts where the previous value ended
        start = data.index(element.value, pos) if element.value else pos
        offsets.append((element.tag, start, start + len(element.value)))
        pos = start + len(element.value)
    (_, value_start, _), = [o for o in offsets if o[0] == carrier]
    (_, _, end), = [o for o in offsets if o[0] == through]
    header_start = value_start - 8  # the carrier is a short-VR (2-byte length) element
    header = struct.pack("<HH", carrier >> 16, carrier & 0xFFFF) + b"UN\0\0" + struct.pack("<L", end - value_start)
    return data[:header_start] + header + data[value_start:end] + data[end:]

"""The identifying values of a source instance or resource, as search patterns with a category and an origin.

DICOM: the original value of every attribute the PS3.15 Basic Profile removes or replaces, in the categories
person names (whole and components), IDs, dates (DICOM, ISO and US spellings), UIDs, addresses, phone numbers,
institutions and text in private elements. FHIR: the Safe Harbor fields: names, identifiers, telecom, address
lines / city / district / postal code, birth dates, photos, and the display of references to people.

An ``Identifier`` holds a value in memory only (it travels as a Beam side input); nothing here logs or returns
it anywhere else. The rules that keep verification free of false positives are in ``matcher.py``.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import io
import re
from typing import Any, Iterator, NamedTuple, Optional

import pydicom
from pydicom.datadict import dictionary_has_tag
from pydicom.dataset import Dataset
from pydicom.uid import UID_dictionary

from transforms.crypto import Keys
from transforms.dicom.policy import PIXEL_DATA, Act, compile_dicom_policy, element_vr, tag_name
from transforms.verify.elements import hides_elements_in, walk_embedded

# Categories, as reported.
PERSON_NAME = "PERSON_NAME"
ID = "ID"
DATE = "DATE"
UID = "UID"
ADDRESS = "ADDRESS"
PHONE = "PHONE"
EMAIL = "EMAIL"
INSTITUTION = "INSTITUTION"
PRIVATE_TEXT = "PRIVATE_TEXT"
PHOTO = "PHOTO"
SCOPE = "@scope"  # not a value to search for: maps a destination study UID / patient reference to a patient scope
CATEGORIES = (PERSON_NAME, ID, DATE, UID, ADDRESS, PHONE, EMAIL, INSTITUTION, PRIVATE_TEXT, PHOTO)

_BASIC = compile_dicom_policy(None)
# Sequences whose items leave the destination entirely: every value inside is collected. A sequence given a dummy
# (D) keeps de-identified items under the profile's own actions, so its elements are collected by their actions.
_CHANGED_SEQUENCE = (Act.DELETE, Act.EMPTY)
# UIDs that name a code system, a class or a syntax, never a patient, study or instance.
_SCHEME_UIDS = ("CodingSchemeUID", "ContextUID", "MappingResourceUID", "ContextGroupExtensionCreatorUID",
                "TemplateExtensionOrganizationUID", "TemplateExtensionCreatorUID", "ClassUID", "TransferSyntaxUID")
_ID_KEYWORD = re.compile(r"(ID|IDs|Number|Numbers|Identifier)$")
_TEXT_VRS = frozenset({"AE", "CS", "LO", "LT", "SH", "ST", "UC", "UT", "PN", "IS", "UN", "OB"})
_PRINTABLE = re.compile(rb"[\x20-\x7e\x80-\xff\t\r\n]+\Z")


class Identifier(NamedTuple):
    """One value to search for. ``scope`` is empty (searched everywhere) or a patient scope (dates)."""

    text: str
    category: str
    origin: str  # where the source held it: a tag name or a FHIR field path, never the value
    scope: str = ""


def patient_scope(kind: str, key: str) -> str:
    """An opaque patient scope (a hash, so the side input carries no extra identifier for it)."""
    return hashlib.sha256(f"{kind}\x00{key}".encode("utf-8")).hexdigest()[:20]


# --- value spellings ---------------------------------------------------------------------------------------


def date_spellings(value: str) -> list[str]:
    """A date (DICOM YYYYMMDD or ISO YYYY-MM-DD, optionally with a time) in its DICOM, ISO and US spellings."""
    digits = re.sub(r"[^0-9]", "", value[:10])
    if len(digits) < 8:
        return []
    y, m, d = digits[:4], digits[4:6], digits[6:8]
    out = [f"{y}{m}{d}"]
    try:
        datetime.date(int(y), int(m), int(d))
    except ValueError:
        return out
    out += [f"{y}-{m}-{d}", f"{m}/{d}/{y}", f"{int(m)}/{int(d)}/{y}", f"{m}-{d}-{y}"]
    return list(dict.fromkeys(out))


def phone_spellings(value: str) -> list[str]:
    """A phone number as written, its digits alone, and the dashed US form when it has 10 digits."""
    digits = re.sub(r"[^0-9]", "", value)
    out = [value.strip()]
    if len(digits) >= 7:
        out.append(digits)
    if len(digits) == 10:
        out += [f"{digits[:3]}-{digits[3:6]}-{digits[6:]}", f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"]
    if len(digits) == 11 and digits[0] == "1":
        out.append(f"{digits[1:4]}-{digits[4:7]}-{digits[7:]}")
    return list(dict.fromkeys(out))


def name_spellings(family: str, given: list[str], whole: str = "") -> list[str]:
    """A person name whole, in "Given Family" and "Family, Given" orders, and each word of each component."""
    out = [whole] if whole else []
    first = given[0] if given else ""
    if family and first:
        out += [f"{first} {family}", f"{family}, {first}", f"{family} {first}", " ".join([*given, family])]
    for part in [family, *given]:
        out.append(part)
        out += part.replace(",", " ").replace(".", " ").split()
    return [s.strip() for s in dict.fromkeys(out) if s and s.strip()]


def _text(raw: Any) -> Optional[str]:
    """A raw or converted element value as text, or None when it is binary."""
    if isinstance(raw, bytes):
        if not raw or not _PRINTABLE.match(raw.rstrip(b"\x00 ")):
            return None
        raw = raw.rstrip(b"\x00 ")
        try:
            return raw.decode("utf-8")  # ASCII and ISO_IR 192
        except UnicodeDecodeError:
            return raw.decode("latin-1")  # ISO_IR 100 and other single-byte sets, byte for byte
    if raw is None:
        return None
    if isinstance(raw, (list, tuple, pydicom.multival.MultiValue)):
        return "\\".join(str(v) for v in raw)
    return str(raw)


# --- DICOM -------------------------------------------------------------------------------------------------


def _dicom_category(tag: int, vr: str, keyword: str) -> Optional[str]:
    """The category of an element's value under one VR, or None for what does not identify: coded values (CS),
    numbers, binary data, descriptions, private creators."""
    if (tag >> 16) & 1:
        if vr == "CS":
            return None
        return PRIVATE_TEXT if (tag & 0xFFFF) > 0x00FF else None  # private creators name a vendor block
    if vr == "CS":
        return None  # a coded value, defined term or enumeration (TypeOfPatientID TEXT) identifies no one
    if vr == "PN":
        return PERSON_NAME
    if vr == "UI":
        return None if keyword.endswith(_SCHEME_UIDS) else UID
    if vr in ("DA", "DT"):
        return DATE
    if "Telephone" in keyword:
        return PHONE
    if "Address" in keyword:
        return ADDRESS
    if "Institution" in keyword:
        return INSTITUTION
    if vr in _TEXT_VRS and _ID_KEYWORD.search(keyword):
        return ID
    return None


@functools.cache
def _tag_info(tag: int) -> tuple[str, str, str]:
    """(dictionary VR, keyword, display name) of a tag: dictionary look-ups are the hot cost of collection."""
    return element_vr(tag), pydicom.datadict.keyword_for_tag(tag) or "", tag_name(tag)


@functools.cache
def dicom_category(tag: int, stated_vr: str) -> str | None:
    """An element's category under its dictionary VR, else under its stated VR: a PatientName stated as LO
    or UN is still a name; an element whose dictionary VR is CS is a code whatever VR it is stated with."""
    dictionary, keyword, _ = _tag_info(tag)
    known = dictionary if not (tag >> 16) & 1 else "UN"
    if known == "CS":
        return None
    for vr in (known, stated_vr):
        if vr and vr != "UN":
            category = _dicom_category(tag, vr, keyword)
            if category is not None:
                return category
    # only a tag the dictionary does not know (private, or unknown) is read as UN
    return _dicom_category(tag, "UN", keyword) if known == "UN" else None


def _dicom_values(category: str, vr: str, text: str) -> Iterator[str]:
    for value in text.split("\\"):
        value = value.strip("\x00 ")
        if not value:
            continue
        if category == PERSON_NAME:
            for alphabet in value.split("="):  # alphabetic, ideographic, phonetic groups
                parts = alphabet.split("^")
                family, given = parts[0], [p for p in parts[1:3] if p]
                yield from name_spellings(family, given, alphabet)
        elif category == DATE:
            yield from date_spellings(value)
        elif category == PHONE:
            yield from phone_spellings(value)
        elif category == UID:
            if value not in UID_dictionary:  # SOP classes, transfer syntaxes: standard, not identifying
                yield value
        else:
            yield value


class Unreadable(NamedTuple):
    """A source the collector could not read (a file that is not DICOM, an NDJSON line that is not a resource):
    counted and reported by verify, so "clean" never covers data that was not checked."""

    what: str  # "file" or "line"


def readable_dicom(ds: Dataset) -> bool:
    """Whether a forced parse found DICOM: file meta with a transfer syntax, or a standard element (text, JSON,
    gzip or random bytes parse as one element with a tag no dictionary knows)."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return True
    return any((int(tag) >> 16) and not (int(tag) >> 16) & 1 and dictionary_has_tag(int(tag)) for tag in ds.keys())


def dicom_identifiers(data: bytes, keys: Optional[Keys] = None) -> list[Identifier]:
    """The identifying values of one source Part-10 instance (empty for a file that is not DICOM).

    Dates are scoped to the instance's patient (its PatientID); ``SCOPE`` entries map the source study UID,
    and with ``keys`` the study UID the de-identification gives it, to that patient, so a destination
    instance finds its patient's dates.
    """
    return [i for i in dicom_source_identifiers(data, keys) if isinstance(i, Identifier)]


def dicom_source_identifiers(data: bytes, keys: Keys | None = None) -> list[Identifier | Unreadable]:
    """``dicom_identifiers``, or ``[Unreadable("file")]`` for a file that is not DICOM."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        if not readable_dicom(ds):
            return [Unreadable("file")]
        patient = str(ds.get("PatientID", "") or "")
        study = str(ds.get("StudyInstanceUID", "") or "")
    except Exception:  # noqa: BLE001 - a source that cannot be read: counted, never taken as clean
        return [Unreadable("file")]
    if not patient or not study:  # hidden inside a swallowing element? the patient is still the patient
        patient, study = patient or _embedded_value(ds, 0x00100020), study or _embedded_value(ds, 0x0020000D)
    scope = patient_scope("dicom", patient or study)
    out: list[Identifier] = []
    if study:
        out.append(Identifier(study, SCOPE, "", scope))
        if keys is not None:
            out.append(Identifier(keys.uid(study), SCOPE, "", scope))
    codes: set[str] = set()
    _collect_dicom(ds, "", False, scope, out, codes)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        _collect_dicom(meta, "", False, scope, out, codes)
    # a value the instance also holds as a coded value (a private "WHOLE BODY" beside BodyPartExamined) is a
    # defined term, not an identifier; a private value equal to one the profile keeps (a private copy of ImageID)
    # is no more identifying than the kept element
    return [i for i in dict.fromkeys(out) if i.category == SCOPE or not (
        i.text.upper() in codes or (i.category == PRIVATE_TEXT and "\x00kept:" + i.text.upper() in codes))]


def _embedded_value(ds: Dataset, wanted: int) -> str:
    """The value of an element that a swallowing element hides (top level only), or ""."""
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        value = raw.value
        if isinstance(value, bytes) and hides_elements_in(int(tag), raw.VR or "", value):
            for element in walk_embedded(value):
                if element.tag == wanted:
                    return _text(element.value) or ""
    return ""


def _collect_dicom(ds: Dataset, path: str, removed: bool, scope: str, out: list[Identifier],
                   codes: set[str]) -> None:
    for tag in list(ds.keys()):
        tag = int(tag)
        if tag == PIXEL_DATA:
            continue
        raw = ds.get_item(tag)
        dictionary, _, name = _tag_info(tag)
        stated = raw.VR or dictionary
        vr = dictionary if stated == "UN" and not (tag >> 16) & 1 else stated
        where = path + name
        if vr == "SQ":
            try:
                items = ds[tag].value or []
            except Exception:  # noqa: BLE001 - an unparsable sequence: its bytes are still scanned raw
                continue
            act = _BASIC.action(tag, vr)
            for i, item in enumerate(items):
                _collect_dicom(item, f"{where}[{i}] > ", removed or act in _CHANGED_SEQUENCE, scope, out, codes)
            continue
        value = raw.value
        if isinstance(value, bytes) and hides_elements_in(tag, stated, value):
            # a value that swallowed the elements after it (or a private blob holding elements): each
            # embedded element is collected under its own tag, whatever the carrier's action
            for element in walk_embedded(value):
                _collect_value(element.tag, element.vr, element.value, f"{where} > {tag_name(element.tag)}",
                               removed, scope, out, codes)
        _collect_value(tag, vr, value, where, removed, scope, out, codes)


def _collect_value(tag: int, vr: str, value: Any, where: str, removed: bool, scope: str,
                   out: list[Identifier], codes: set[str]) -> None:
    if vr == "CS" and not (tag >> 16) & 1:
        text = _text(value)
        if text:
            codes.update(v.strip("\x00 ").upper() for v in text.split("\\"))
        return
    if not removed and _BASIC.action(tag, _tag_info(tag)[0] if vr == "UN" else vr) is Act.KEEP:
        if isinstance(value, bytes) and len(value) <= 64:
            codes.add("\x00kept:" + value.rstrip(b"\x00 ").decode("latin-1").upper())  # the profile keeps it
        return
    category = dicom_category(tag, vr)
    if category is None:
        return
    text = _text(value)  # raw bytes: no pydicom value conversion (the hot cost of collection)
    if not text:
        return
    for item in _dicom_values(category, vr, text):
        out.append(Identifier(item, category, where, scope if category == DATE else ""))


# --- FHIR --------------------------------------------------------------------------------------------------

_PERSON_REFERENCE = re.compile(r"(^|/)(Patient|Practitioner|RelatedPerson|Person)/|^urn:uuid:")


def fhir_identifiers(resource: dict[str, Any], keys: Optional[Keys] = None) -> list[Identifier]:
    """The Safe Harbor values of one source FHIR resource (Bundle entries included).

    Birth dates are scoped to the resource's patient; ``SCOPE`` entries map the patient reference (and with
    ``keys`` its de-identified form) to that scope.
    """
    from transforms.fhir.ids import patient_reference, rewrite_reference

    if not isinstance(resource, dict):
        return []
    out: list[Identifier] = []
    entries = resource.get("entry") if resource.get("resourceType") == "Bundle" else None
    resources = [e.get("resource") for e in entries or () if isinstance(e, dict)] if entries else [resource]
    for res in resources:
        if not isinstance(res, dict):
            continue
        owner = patient_reference(res) or f"{res.get('resourceType')}/{res.get('id')}"
        scope = patient_scope("fhir", owner)
        out.append(Identifier(owner, SCOPE, "", scope))
        if keys is not None:
            out.append(Identifier(rewrite_reference(keys, owner), SCOPE, "", scope))
        _collect_fhir(res, str(res.get("resourceType", "Resource")), "", scope, out)
    return list(dict.fromkeys(out))


def _add(out: list[Identifier], values: Any, category: str, where: str, scope: str = "") -> None:
    for value in values:
        if isinstance(value, str) and value.strip():
            out.append(Identifier(value.strip(), category, where, scope))


def _collect_fhir(node: Any, where: str, key: str, scope: str, out: list[Identifier]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect_fhir(item, where, key, scope, out)
        return
    if not isinstance(node, dict):
        if key == "birthDate" and isinstance(node, str):
            _add(out, date_spellings(node), DATE, where, scope)
        return
    if "family" in node or "given" in node:  # HumanName
        family = node.get("family") if isinstance(node.get("family"), str) else ""
        given = [g for g in node.get("given") or () if isinstance(g, str)]
        _add(out, name_spellings(family, given, node.get("text") if isinstance(node.get("text"), str) else ""),
             PERSON_NAME, where)
    if key == "identifier" and isinstance(node.get("value"), str):
        value = node["value"]
        if value.startswith("urn:oid:"):
            _add(out, [value[8:]], UID, where + ".value")
        else:
            _add(out, [value], ID, where + ".value")
    if key == "telecom" and isinstance(node.get("value"), str):
        system = node.get("system")
        if system in ("phone", "fax", "sms", "pager"):
            _add(out, phone_spellings(node["value"]), PHONE, where + ".value")
        else:
            _add(out, [node["value"]], EMAIL, where + ".value")
    if key == "address":
        _add(out, [v for v in node.get("line") or () if isinstance(v, str)], ADDRESS, where + ".line")
        _add(out, [node.get(k) for k in ("city", "district", "postalCode", "text")], ADDRESS, where)
    if key == "photo":
        _add(out, [node.get("url")], PHOTO, where + ".url")
        data = node.get("data")
        if isinstance(data, str) and len(data) >= 16:
            _add(out, [data], PHOTO, where + ".data")
    if key in ("series", "instance") and isinstance(node.get("uid"), str):
        _add(out, [node["uid"]], UID, where + ".uid")
    reference = node.get("reference")
    if isinstance(reference, str) and _PERSON_REFERENCE.search(reference) and isinstance(node.get("display"), str):
        _add(out, [node["display"]], PERSON_NAME, where + ".display")
    for child_key, child in node.items():
        if isinstance(child, (dict, list)) or child_key == "birthDate":
            _collect_fhir(child, f"{where}.{child_key}", child_key, scope, out)


def decode_base64(text: str) -> Optional[bytes]:
    """Strict base64 (FHIR base64Binary), or None."""
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        return None

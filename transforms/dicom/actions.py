"""One handler per DICOM action: which elements a configured action may select (support), what it becomes for an
element's VR (type fitting) and what it does to the element (apply) live together, so adding an action is adding
one class to HANDLERS. ``apply_policy`` walks a dataset and hands each element to its handler (no Beam, no IO).
"""

from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pydicom
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from transforms.crypto import Keys
from transforms.dicom import iod, structure
from transforms.dicom.tags import ALL_VRS, element_vr, tag_name
from transforms.dicom.vr import FIXED_SIZE, VrInfo, check_fits, dictionary_info
from transforms.errors import ConfigError, DeidentifyError


class Act(enum.Enum):
    """What happens to one element. Names follow the v1beta1 actions; codes follow PS3.15."""

    KEEP = "K"
    EMPTY = "Z"  # removeTag: zero-length value
    DELETE = "X"  # deleteTag
    DUMMY = "D"  # resetTag: a placeholder value valid for the VR
    REGEN_UID = "U"  # regenUidTag: keyed pseudonym UID
    RECURSE = "R"  # recurseTag: apply the policy to the items of a sequence
    CLEAN_TEXT = "C"  # cleanTextTag: inspect and transform text
    CLEAN_IMAGE = "I"  # cleanImageTag: burned-in text redaction of PixelData
    BY_IOD = "IOD"  # PS3.15 X/Z, X/D, X/Z/D, Z/D: X, Z or D by the attribute's type in the instance's IOD


PIXEL_DATA = 0x7FE00010
TEXT_VRS = frozenset({"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "DA", "DT", "AS"})
# When the IOD is unknown (a SOP class the tables do not know, or an attribute nested where they do not reach):
# the alternative that is valid whatever the type and never keeps the original value.
IOD_FALLBACK = {"Z/D": Act.DUMMY, "X/Z": Act.EMPTY, "X/D": Act.DUMMY, "X/Z/D": Act.DUMMY}

_DUMMY_BINARY = b"\x00" * 8  # OB/OW/OF/OD/OL/OV/UN: eight zero bytes fit every binary VR's length rule
# Placeholder values for resetTag / PS3.15 "D": valid for the VR, carrying nothing about the patient.
_DUMMY_TEXT = "ANONYMIZED"
DUMMY_VALUES: dict[str, Any] = {
    "AE": _DUMMY_TEXT, "CS": _DUMMY_TEXT, "LO": _DUMMY_TEXT, "LT": _DUMMY_TEXT, "PN": _DUMMY_TEXT,
    "SH": _DUMMY_TEXT, "ST": _DUMMY_TEXT, "UC": _DUMMY_TEXT, "UT": _DUMMY_TEXT,
    "AS": "000Y", "DA": "19000101", "DT": "19000101000000", "TM": "000000",
    "DS": "0", "IS": "0", "UR": "urn:anonymized",
    "US": 0, "SS": 0, "UL": 0, "SL": 0, "FL": 0.0, "FD": 0.0, "SV": 0, "UV": 0, "AT": 0,
}



@dataclass
class Context:
    """What every handler needs while one instance is de-identified."""

    policy: Any  # DicomPolicy
    keys: Keys
    text_cleaner: Optional[Callable[[str, str], str]] = None
    encoding: tuple[bool, bool] = (False, True)  # (implicit VR, little endian) of the source dataset
    sop_class: str = ""  # the instance's SOPClassUID: which IOD decides X/Z, X/D, X/Z/D and Z/D
    tally: dict = field(default_factory=dict)  # (tag, Act) -> elements, for the run report


_PACK = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "SV": "q", "UV": "Q"}
NEW_ELEMENT = -1  # value_tell of elements we encoded ourselves (no position in the source bytes)


def _encode(vr: str, value: Any, little: bool) -> bytes:
    """A replacement value's bytes in the dataset's encoding, padded to even length as PS3.5 requires."""
    if value is None or value == "":
        return b""
    if isinstance(value, bytes):
        data = value
    elif vr in _PACK:
        data = struct.pack(("<" if little else ">") + _PACK[vr], value)
    elif vr == "AT":
        data = struct.pack("<HH" if little else ">HH", value >> 16, value & 0xFFFF)
    else:  # placeholders and UIDs are ASCII
        data = str(value).encode("ascii")
    if len(data) % 2:
        data += b"\x00" if vr in ("UI", "OB", "UN") else b" "
    return data


def _set(ds: Dataset, tag: int, vr: str, value: Any, ctx: Context) -> None:
    """Replace an element with one we encode directly (cheaper than a pydicom DataElement round trip)."""
    implicit, little = ctx.encoding
    data = _encode(vr, value, little)
    ds[tag] = RawDataElement(BaseTag(tag), vr, len(data), data, NEW_ELEMENT, implicit, little)


def _raw_text(raw: Any) -> str:
    if isinstance(raw, bytes):
        return raw.decode("ascii", errors="strict").rstrip("\x00 ")
    return str(raw)


def _uid_values(elem: Any) -> list[str]:
    value = elem.value
    if isinstance(value, bytes):
        text = _raw_text(value)
        return [v.strip("\x00 ") for v in text.split("\\")] if text else []
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return [str(v) for v in value]
    return [str(value)]


def _regen_uid(ds: Dataset, tag: int, elem: Any, ctx: Context) -> None:
    try:
        values = _uid_values(elem)
    except UnicodeDecodeError:
        raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} is not a valid UID value") from None
    keys = ctx.keys
    _set(ds, tag, "UI", "\\".join(keys.uid(v) if v else "" for v in values), ctx)


# Strict repertoires: a number, date or UID with letters in it is not what it claims, so nothing of it is kept.
_STRICT_CHARS = {
    "DS": re.compile(rb"[^0-9+\-.eE \\]"),
    "IS": re.compile(rb"[^0-9+\- \\]"),
    "DA": re.compile(rb"[^0-9\-\\ ]"),
    "TM": re.compile(rb"[^0-9.:\-\\ ]"),
    "DT": re.compile(rb"[^0-9.+\-\\ ]"),
}
# Inside a D-coded sequence (PS3.15 D: "a non-zero length value that may be a dummy"), the items are kept for the
# IOD's sake, but no free text the table does not list survives: code meanings, labels, names become dummies.
_DUMMY_INSIDE = frozenset({"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR", "DA", "DT", "TM", "AS"})
_OPAQUE = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
_ACT_BY_CODE = {"X": Act.DELETE, "Z": Act.EMPTY, "D": Act.DUMMY}
_SHORT_LENGTH_VRS = frozenset({"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN", "SH",
                               "SL", "SS", "ST", "TM", "UI", "UL", "US"})


def _element_vr(tag: int, elem: Any) -> tuple[str, Optional[VrInfo]]:
    """The VR an element is de-identified as: its dictionary VR for a public tag the dictionary knows (whatever
    VR the file wrote), else the VR in the file."""
    info = dictionary_info(tag)
    file_vr = elem.VR
    if info is None:
        vr = file_vr or element_vr(tag)
    elif file_vr in info.vrs:
        vr = file_vr
    else:
        vr = info.vrs[0]
    if vr not in ALL_VRS:
        raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} has an invalid value representation")
    return vr, info


def _as_dictionary_vr(ds: Dataset, tag: int, vr: str, info: VrInfo, ctx: Context) -> None:
    """Re-encode an element the file wrote with another VR (UN, or a wrong one) as its dictionary VR, when its
    value is one value of that VR; INVALID_ARGUMENT otherwise."""
    elem = ds.get_item(tag)
    if vr == "SQ":
        if elem.VR != "UN":
            raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} is a sequence written with another VR")
        if ds[tag].VR != "SQ":  # pydicom reads a UN sequence's items as implicit VR little endian
            raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} is not a valid sequence")
        return
    if not isinstance(elem, RawDataElement):
        if elem.VR == "UN":
            raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} cannot be read as its dictionary VR")
        return
    value = elem.value or b""
    check_fits(tag, vr, value, info)
    implicit, little = ctx.encoding
    if not implicit and vr in _SHORT_LENGTH_VRS and len(value) > 0xFFFF:
        raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} is longer than its VR allows")
    ds[tag] = RawDataElement(BaseTag(tag), vr, len(value), value, NEW_ELEMENT, implicit, little)


# --- the handlers ------------------------------------------------------------------------------------------


class Handler:
    """One action. ``config_name``: its v1beta1 name (None when no config names it); ``vrs``: the VRs a configured
    query may select (None: any); ``only_tag``: the one tag it may select."""

    act: Act
    config_name: Optional[str] = None
    vrs: Optional[frozenset[str]] = None
    only_tag: Optional[int] = None

    def check_support(self, kind: str, key: Any, path: str) -> None:
        """ConfigError (naming ``path``) when a configured query selects elements this action cannot handle."""
        label = self.config_name or self.act.name
        if self.only_tag is not None:
            if kind != "tag" or key != self.only_tag:
                raise ConfigError(path, f"{label} applies only to PixelData (7FE00010)")
            return
        if self.vrs is None:
            return
        vr = key if kind == "vr" else element_vr(key)
        if kind == "tag" and vr == "UN":  # private or unknown tag: VR known only at run time
            return
        if vr not in self.vrs:
            raise ConfigError(path, f"{label} is supported only for VR {', '.join(sorted(self.vrs))}; "
                                    f"this query selects VR {vr}")

    def fit(self, vr: str, configured: bool) -> Act:
        """What this action becomes for an element of ``vr`` (``configured``: chosen by a config action or option,
        not by the profile's table)."""
        return self.act

    def apply(self, ds: Dataset, tag: int, elem: Any, vr: str, info: Optional[VrInfo], ctx: Context,
              path: tuple[int, ...], dummy: bool) -> None:
        raise NotImplementedError


class Keep(Handler):
    """K: the element is copied as it is, which is only safe when it is one element of its VR."""

    act, config_name = Act.KEEP, "keepTag"

    def apply(self, ds, tag, elem, vr, info, ctx, path, dummy):
        if isinstance(elem, RawDataElement) and elem.value:
            check_fits(tag, vr, elem.value, info)
            if vr in _OPAQUE or (vr in FIXED_SIZE and (info is None or info.max_vm is None)):
                if structure.hides_elements(elem.value, tag, *ctx.encoding):
                    raise DeidentifyError("INVALID_ARGUMENT", f"{tag_name(tag)} has a length that covers further elements")
            strict = _STRICT_CHARS.get(vr)
            if strict is not None and strict.search(elem.value.rstrip(b"\x00 ")):
                _set(ds, tag, vr, None, ctx)  # a number or date with letters in it: keep nothing of it


class Empty(Handler):
    """Z / removeTag: present with a zero-length value (a sequence with no items)."""

    act, config_name = Act.EMPTY, "removeTag"

    def apply(self, ds, tag, elem, vr, info, ctx, path, dummy):
        _set(ds, tag, vr, None, ctx)


class Delete(Handler):
    """X / deleteTag: gone. OverlayData takes the rest of its overlay group with it (a Type 1 attribute of the
    Overlay Plane module: the module without it would be invalid)."""

    act, config_name = Act.DELETE, "deleteTag"

    def apply(self, ds, tag, elem, vr, info, ctx, path, dummy):
        del ds[tag]
        if tag & 0xFF00FFFF == 0x60003000:
            for other in [t for t in map(int, ds.keys()) if t >> 16 == tag >> 16]:
                del ds[other]


class Dummy(Handler):
    """D / resetTag: a placeholder valid for the VR. A profile's D on a sequence keeps the items, de-identified
    by the same table with their free text replaced; resetTag on a sequence empties it."""

    act, config_name = Act.DUMMY, "resetTag"

    def fit(self, vr, configured):
        return Act.EMPTY if configured and vr == "SQ" else Act.DUMMY

    def apply(self, ds, tag, elem, vr, info, ctx, path, dummy):
        if vr == "SQ":
            _recurse(ds, tag, ctx, path, dummy=True)
        elif vr == "UI":
            _regen_uid(ds, tag, elem, ctx)
        else:
            _set(ds, tag, vr, DUMMY_VALUES.get(vr, _DUMMY_BINARY), ctx)


class RegenUid(Handler):
    """U / regenUidTag: keyed pseudonym UIDs. A table's U on a sequence recurses into it."""

    act, config_name, vrs = Act.REGEN_UID, "regenUidTag", frozenset({"UI"})

    def fit(self, vr, configured):
        return Act.RECURSE if vr == "SQ" and not configured else Act.REGEN_UID

    def apply(self, ds, tag, elem, vr, info, ctx, path, dummy):
        _regen_uid(ds, tag, elem, ctx)


class Recurse(Handler):
    """recurseTag / X/Z/U*: the policy applied to a sequence's items. The table's X/Z/U* on a UID regenerates it;
    on anything else it removes it."""

    act, config_name, vrs = Act.RECURSE, "recurseTag", frozenset({"SQ"})

    def fit(self, vr, configured):
        if vr == "SQ" or configured:
            return Act.RECURSE
        return Act.REGEN_UID if vr == "UI" else Act.DELETE

    def apply(self, ds, tag, elem, vr, info, ctx, path, dummy):
        _recurse(ds, tag, ctx, path, dummy)


class CleanText(Handler):
    """C / cleanTextTag: the text inspected and transformed. A sequence is cleaned item by item; other VRs that
    hold no text are removed."""

    act, config_name, vrs = Act.CLEAN_TEXT, "cleanTextTag", TEXT_VRS

    def fit(self, vr, configured):
        if vr in TEXT_VRS:
            return Act.CLEAN_TEXT
        return Act.RECURSE if vr == "SQ" else Act.DELETE

    def apply(self, ds, tag, elem, vr, info, ctx, path, dummy):
        if isinstance(elem, RawDataElement) and elem.value:
            check_fits(tag, vr, elem.value, info)
        _clean_text(ds, tag, vr, ctx)


class CleanImage(Handler):
    """cleanImageTag: burned-in text redaction of the top-level PixelData, done by the caller before the walk;
    anywhere else the element is kept."""

    act, config_name, only_tag = Act.CLEAN_IMAGE, "cleanImageTag", PIXEL_DATA

    def apply(self, ds, tag, elem, vr, info, ctx, path, dummy):
        return


class ByIod(Handler):
    """X/Z, X/D, X/Z/D, Z/D: X when the attribute is Type 3 in the instance's IOD (or not in it), Z when Type 2, D
    when Type 1 -- each only where the code allows it, else the next stricter; the safest valid choice when the
    IOD is unknown."""

    act = Act.BY_IOD

    def resolve(self, tag: int, path: tuple[int, ...], ctx: Context) -> Act:
        code = ctx.policy.iod_codes[tag]
        kind = iod.attribute_type(ctx.sop_class, path, tag) if ctx.sop_class else iod.UNKNOWN_CLASS
        if kind == iod.UNKNOWN_CLASS or (kind is None and path):
            return IOD_FALLBACK[code]
        if kind is None or kind == "3":
            order = "XZD"
        elif kind in ("2", "2C"):
            order = "ZD"
        else:
            order = "DZ"
        return _ACT_BY_CODE[next(c for c in order if c in code)]


HANDLERS: dict[Act, Handler] = {h.act: h for h in (Keep(), Empty(), Delete(), Dummy(), RegenUid(), Recurse(),
                                                      CleanText(), CleanImage(), ByIod())}
BY_CONFIG_NAME: dict[str, Handler] = {h.config_name: h for h in HANDLERS.values() if h.config_name}


def apply_policy(ds: Dataset, ctx: Context, path: tuple[int, ...] = (), dummy: bool = False) -> None:
    """Apply the policy to every element of one dataset (and, where it says so, to nested items).

    ``path`` is the tags of the sequences this dataset is an item of; ``dummy`` says it is inside a D-coded
    sequence, where free text is replaced instead of kept.
    """
    policy = ctx.policy
    handlers = HANDLERS
    for tag in list(map(int, ds.keys())):  # plain ints: BaseTag's Python-level __eq__ costs in every dict lookup
        elem = ds.get_item(tag)
        if elem is None:  # removed with its overlay group
            continue
        vr, info = _element_vr(tag, elem)
        act = policy.action(tag, vr)
        if act is Act.BY_IOD:
            act = _BY_IOD.resolve(tag, path, ctx)
        if dummy and act is Act.KEEP and vr in _DUMMY_INSIDE:
            act = Act.DUMMY
        if info is not None and elem.VR is not None and elem.VR != vr and act not in (Act.DELETE, Act.EMPTY):
            _as_dictionary_vr(ds, tag, vr, info, ctx)  # what is kept or looked into is read as its dictionary VR
            elem = ds.get_item(tag)
        if act is not Act.KEEP:
            key = (tag, act)
            ctx.tally[key] = ctx.tally.get(key, 0) + 1
        handlers[act].apply(ds, tag, elem, vr, info, ctx, path, dummy)


_BY_IOD: ByIod = HANDLERS[Act.BY_IOD]  # type: ignore[assignment]


def _recurse(ds: Dataset, tag: int, ctx: Context, path: tuple[int, ...], dummy: bool) -> None:
    elem = ds[tag]  # converts the raw element; the items are datasets of raw elements
    if elem.VR != "SQ":
        del ds[tag]  # recurseTag on something that is not a sequence: nothing safe to keep
        return
    inner = path + (tag,)
    for item in elem.value or ():
        apply_policy(item, ctx, inner, dummy)


def _clean_text(ds: Dataset, tag: int, vr: str, ctx: Context) -> None:
    if ctx.text_cleaner is None:  # policy compilation always sets it; kept as a guard
        raise DeidentifyError("FAILED_PRECONDITION", f"text cleaning is not configured for {tag_name(tag)}")
    elem = ds[tag]
    value = elem.value
    if value in (None, ""):
        return
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = "\\".join(str(v) for v in value)
    cleaned = ctx.text_cleaner(str(value), vr)
    ds[tag] = DataElement(tag, vr, cleaned if cleaned else None)



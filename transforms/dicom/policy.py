"""DicomPolicy: a DeidentifyConfig's DICOM part resolved once into a tag/VR -> action table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from pydicom.datadict import tag_for_keyword

from transforms.config import DeidentifyConfig, DicomConfig, DicomTagConfig, ImageConfig
from transforms.dicom import basic_profile, iod
from transforms.dicom.actions import BY_CONFIG_NAME, HANDLERS, IOD_FALLBACK, TEXT_VRS, Act
from transforms.dicom.tags import ALL_VRS, element_vr, is_known_tag, tag_name  # noqa: F401 - re-exported
from transforms.errors import ConfigError


PIXEL_DATA = 0x7FE00010
STUDY_UID = 0x0020000D
SERIES_UID = 0x0020000E
SOP_UID = 0x00080018
SOP_CLASS_UID = 0x00080016
MEDIA_SOP_UID = 0x00020003
PRIMARY_IDS = (STUDY_UID, SERIES_UID, SOP_UID, MEDIA_SOP_UID)


# Tags a keep list always keeps (spec §3.1, "default required tags"), plus SOPClassUID so the output stays a
# valid Part-10 object. They may not appear in a remove list.
MANDATORY_KEYWORDS = (
    "StudyInstanceUID SeriesInstanceUID SOPInstanceUID SOPClassUID TransferSyntaxUID MediaStorageSOPInstanceUID "
    "MediaStorageSOPClassUID PixelData Rows Columns SamplesPerPixel BitsAllocated BitsStored HighBit "
    "PhotometricInterpretation PixelRepresentation NumberOfFrames PlanarConfiguration PixelAspectRatio "
    "SmallestImagePixelValue LargestImagePixelValue RedPaletteColorLookupTableDescriptor "
    "GreenPaletteColorLookupTableDescriptor BluePaletteColorLookupTableDescriptor RedPaletteColorLookupTableData "
    "GreenPaletteColorLookupTableData BluePaletteColorLookupTableData ICCProfile ColorSpace WindowCenter WindowWidth "
    "VOILUTFunction"
).split()
MANDATORY_TAGS = frozenset(tag_for_keyword(k) for k in MANDATORY_KEYWORDS)
OVERLAY_DATA_MASK = (0xFF00FFFF, 0x60003000)  # (60xx,3000), added to every remove list

# PS3.15 codes. The compound codes X/Z, X/D, X/Z/D and Z/D are decided per instance from the attribute's type
# in the instance's IOD (Act.BY_IOD, see deidentify._iod_act). X/Z/U* (reference sequences) is recursed so the
# UIDs inside are regenerated and stay resolvable.
_CODE_TO_ACT = {
    "D": Act.DUMMY,
    "Z": Act.EMPTY,
    "X": Act.DELETE,
    "K": Act.KEEP,
    "C": Act.CLEAN_TEXT,
    "U": Act.REGEN_UID,
    "Z/D": Act.BY_IOD,
    "X/Z": Act.BY_IOD,
    "X/D": Act.BY_IOD,
    "X/Z/D": Act.BY_IOD,
    "X/Z/U*": Act.RECURSE,
}


# DeidentificationMethodCodeSequence codes (PS3.16 CID 7050)
CODE_BASIC_PROFILE = ("113100", "Basic Application Confidentiality Profile")
CODE_RETAIN_UIDS = ("113110", "Retain UIDs Option")
CODE_CLEAN_DESCRIPTORS = ("113105", "Clean Descriptors Option")
CODE_CLEAN_PIXEL = ("113101", "Clean Pixel Data Option")


def _basic_tables() -> tuple[dict[int, Act], tuple[tuple[int, int, Act], ...], dict[int, str]]:
    exact: dict[int, Act] = {}
    iod_codes: dict[int, str] = {}
    masked: list[tuple[int, int, Act]] = []
    for row in basic_profile.ROWS:
        if row.tag == "GGGGEEEE":  # the private-attributes row: handled by the private rule
            continue
        act = _CODE_TO_ACT[row.basic]
        if "X" in row.tag:
            mask = int("".join("0" if c == "X" else "F" for c in row.tag), 16)
            value = int(row.tag.replace("X", "0"), 16)
            if act is Act.BY_IOD:  # no such row today; the fallback keeps a masked compound row safe
                act = IOD_FALLBACK[row.basic]
            masked.append((mask, value, act))
        else:
            exact[int(row.tag, 16)] = act
            if act is Act.BY_IOD:
                iod_codes[int(row.tag, 16)] = row.basic
    return exact, tuple(masked), iod_codes


_BASIC_EXACT, _BASIC_MASKED, IOD_CODES = _basic_tables()
iod.prepare(IOD_CODES)  # the IOD tables, read on first use, keep the rows of these attributes

# The Clean Descriptors Option (PS3.15 E.3.5): rows whose option column says C are free-text descriptors that
# are cleaned instead of removed.
CLEAN_DESCRIPTOR_TAGS = frozenset(
    int(row.tag, 16) for row in basic_profile.ROWS if "X" not in row.tag and row.tag != "GGGGEEEE"
    and dict(row.options).get("clean_descriptors") == "C"
)

# Context for [CTX]: identifying values the Basic profile removes (D, Z, X, U codes) that are not descriptors and
# not patient characteristics (sex, age, size ...), in the text VRs people type elsewhere; plus the birth date.
_CONTEXT_VRS = frozenset({"PN", "LO", "SH", "LT", "ST", "UT", "UC", "AE"})


def _context_tags() -> frozenset[int]:
    tags = {0x00100030}  # PatientBirthDate
    for row in basic_profile.ROWS:
        if "X" in row.tag or row.tag == "GGGGEEEE" or row.basic in ("K", "C"):
            continue
        options = dict(row.options)
        if options.get("clean_descriptors") == "C" or options.get("retain_patient_characteristics") == "K":
            continue
        tag = int(row.tag, 16)
        if element_vr(tag) in _CONTEXT_VRS:
            tags.add(tag)
    return frozenset(tags)


CONTEXT_TAGS: frozenset[int] = frozenset()  # filled below, once element_vr exists


def parse_tag(text: str, path: str) -> int:
    """A TagFilterList entry or a query: keyword or GGGGEEEE."""
    if re.fullmatch(r"[0-9A-Fa-f]{8}", text):
        return int(text, 16)
    tag = tag_for_keyword(text)
    if tag is None:
        raise ConfigError(path, "is neither a DICOM keyword nor an 8-hex-digit tag (GGGGEEEE)")
    return tag


@dataclass(frozen=True)
class DicomPolicy:
    """Everything the DICOM core needs to know about a run, resolved once at launch."""

    profile: str  # BASIC, KEEP_ALL, KEEP_LIST, REMOVE_LIST, MINIMAL, TAG_CONTENTS
    exact: dict[int, Act] = field(default_factory=dict)
    masked: tuple[tuple[int, int, Act], ...] = ()
    default: Act = Act.KEEP
    default_sq: Act = Act.KEEP
    private: Act = Act.KEEP
    options: dict[int, Act] = field(default_factory=dict)
    tag_actions: dict[int, tuple[int, Act]] = field(default_factory=dict)
    vr_actions: dict[str, tuple[int, Act]] = field(default_factory=dict)
    image: Any = None  # compiled ImageRedactor when PixelData is to be cleaned of burned-in text
    text: Any = None  # compiled text policy when text cleaning is configured
    iod_codes: dict[int, str] = field(default_factory=dict)  # tag -> compound PS3.15 code, for Act.BY_IOD
    clean_descriptors: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_memo", {})

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_memo", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "_memo", {})

    @property
    def edition(self) -> str:
        """The PS3.15 edition whose Table E.1-1 this policy applies ("" when it applies none), for run records."""
        return basic_profile.EDITION if self.profile == "BASIC" or self.clean_descriptors else ""

    def action(self, tag: int, vr: str) -> Act:
        """The action for an element; one dict lookup once a (tag, VR) pair has been seen."""
        key = (tag, vr)
        act = self._memo.get(key)  # type: ignore[attr-defined]
        if act is None:
            act = self._resolve(tag, vr)
            self._memo[key] = act  # type: ignore[attr-defined]
        return act

    def _resolve(self, tag: int, vr: str) -> Act:
        by_tag = self.tag_actions.get(tag)
        by_vr = self.vr_actions.get(vr)
        if by_tag or by_vr:  # actions: the later one wins
            act = max((a for a in (by_tag, by_vr) if a), key=lambda a: a[0])[1]
            return HANDLERS[act].fit(vr, configured=True)
        if tag in self.options:
            return HANDLERS[self.options[tag]].fit(vr, configured=True)
        return self._profile_action(tag, vr)

    def _profile_action(self, tag: int, vr: str) -> Act:
        act = self.exact.get(tag)
        if act is None:
            for mask, value, masked_act in self.masked:
                if tag & mask == value:
                    act = masked_act
                    break
        if act is None:
            if self.profile == "TAG_CONTENTS" and vr in TEXT_VRS and tag & 0xFFFF:
                return Act.CLEAN_TEXT
            if (tag >> 16) & 1:
                return self.private
            if tag & 0xFFFF == 0:  # group lengths go stale once elements change
                return Act.DELETE
            if self.private is Act.DELETE and not is_known_tag(tag):
                # A public tag no dictionary knows (a newer edition, or a corrupted tag number): nothing says its
                # value is safe, so profiles that remove private data remove it too.
                return Act.DELETE
            return self.default_sq if vr == "SQ" else self.default
        return HANDLERS[act].fit(vr, configured=False)


# --- compiling a config ----------------------------------------------------------------------------------


def compile_dicom_policy(config: Optional[DeidentifyConfig]) -> DicomPolicy:
    """Resolve the DICOM part of a config; raise ConfigError (naming the JSON path) for anything invalid."""
    if config is None or (config.dicom is None and config.dicom_tag_config is None):
        return _from_tag_config(DicomTagConfig(), config, "dicomTagConfig")
    if config.dicom is not None:
        return _from_dicom_config(config.dicom, config)
    return _from_tag_config(config.dicom_tag_config, config, "dicomTagConfig")


def _tag_list(tags: tuple[str, ...], path: str) -> list[int]:
    return [parse_tag(t, f"{path}[{i}]") for i, t in enumerate(tags)]


def _profile_fields(name: str) -> dict[str, Any]:
    if name == "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE":
        return dict(profile="BASIC", exact=dict(_BASIC_EXACT), masked=_BASIC_MASKED, default_sq=Act.RECURSE,
                    private=Act.DELETE, iod_codes=dict(IOD_CODES))
    if name == "MINIMAL_KEEP_LIST_PROFILE":
        return dict(profile="MINIMAL", exact={t: Act.KEEP for t in MANDATORY_TAGS}, default=Act.DELETE,
                    default_sq=Act.DELETE, private=Act.DELETE)
    if name == "DEIDENTIFY_TAG_CONTENTS":  # keep every tag, inspect the text VRs' contents
        return dict(profile="TAG_CONTENTS", default_sq=Act.RECURSE)
    return dict(profile="KEEP_ALL")  # KEEP_ALL_PROFILE and the v1 unspecified value


def _from_dicom_config(dicom: DicomConfig, config: DeidentifyConfig) -> DicomPolicy:
    if dicom.keep_list is not None:
        keep = set(_tag_list(dicom.keep_list.tags, "dicom.keepList.tags")) | MANDATORY_TAGS
        fields = dict(profile="KEEP_LIST", exact={t: Act.KEEP for t in keep}, default=Act.DELETE,
                      default_sq=Act.DELETE, private=Act.DELETE)
    elif dicom.remove_list is not None:
        remove = _tag_list(dicom.remove_list.tags, "dicom.removeList.tags")
        for i, tag in enumerate(remove):
            if tag in MANDATORY_TAGS:
                raise ConfigError(f"dicom.removeList.tags[{i}]", "is a required tag and cannot be removed")
        fields = dict(profile="REMOVE_LIST", exact={t: Act.DELETE for t in remove},
                      masked=((OVERLAY_DATA_MASK[0], OVERLAY_DATA_MASK[1], Act.DELETE),))
    else:
        fields = _profile_fields(dicom.filter_profile)
    options = {t: Act.KEEP if dicom.skip_id_redaction else Act.REGEN_UID for t in PRIMARY_IDS}
    image = _image_redactor(config.image, "image")
    if image is not None:
        options[PIXEL_DATA] = Act.CLEAN_IMAGE
    text = _text_policy(config) if fields["profile"] == "TAG_CONTENTS" else None
    return DicomPolicy(options=options, image=image, text=text, description=_describe(fields["profile"], image), **fields)


def _text_policy(config: Optional[DeidentifyConfig]) -> Any:
    from transforms.text import TextPolicy

    return TextPolicy.from_config(config.text if config is not None else None, config_path="text")


def _query_matcher(query: str, path: str) -> tuple[str, Any]:
    if re.fullmatch(r"[A-Z]{2}", query) and query in ALL_VRS:
        return "vr", query
    return "tag", parse_tag(query, path)


def _check_support(action: str, kind: str, key: Any, path: str) -> None:
    """The action's handler says whether the query selects elements it can handle (spec §2.8)."""
    BY_CONFIG_NAME[_CONFIG_NAMES[action]].check_support(kind, key, path)


# DicomTagConfig action field names -> the v1beta1 action names the handlers carry
_CONFIG_NAMES = {
    "keep_tag": "keepTag", "remove_tag": "removeTag", "delete_tag": "deleteTag", "reset_tag": "resetTag",
    "regen_uid_tag": "regenUidTag", "clean_text_tag": "cleanTextTag", "clean_image_tag": "cleanImageTag",
    "recurse_tag": "recurseTag",
}


def _from_tag_config(tag_config: DicomTagConfig, config: Optional[DeidentifyConfig], path: str) -> DicomPolicy:
    profile_type = tag_config.profile_type
    if profile_type == "PROFILE_TYPE_UNSPECIFIED":
        profile_type = "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"
    fields = _profile_fields(profile_type)
    needs_text = fields["profile"] == "TAG_CONTENTS"
    options: dict[int, Act] = {t: Act.REGEN_UID for t in PRIMARY_IDS}
    image = None
    opts = tag_config.options
    if opts is not None:
        if opts.primary_ids == "KEEP":
            options = {t: Act.KEEP for t in PRIMARY_IDS}
        if opts.clean_descriptors is not None:
            needs_text = True
            for tag in CLEAN_DESCRIPTOR_TAGS:
                options.setdefault(tag, Act.CLEAN_TEXT)
        image = _image_redactor(opts.clean_image, f"{path}.options.cleanImage")
    tag_actions: dict[int, tuple[int, Act]] = {}
    vr_actions: dict[str, tuple[int, Act]] = {}
    image_actions = [(i, a) for i, a in enumerate(tag_config.actions) if a.clean_image_tag is not None]
    for i, action in enumerate(tag_config.actions):
        apath = f"{path}.actions[{i}]"
        name = action.action
        if name == "clean_text_tag":
            needs_text = True
        if name == "clean_image_tag":
            _image_redactor(action.clean_image_tag, f"{apath}.cleanImageTag")  # validates every one
        for j, query in enumerate(action.queries):
            qpath = f"{apath}.queries[{j}]"
            kind, key = _query_matcher(query, qpath)
            _check_support(name, kind, key, qpath)
            (vr_actions if kind == "vr" else tag_actions)[key] = (i, BY_CONFIG_NAME[_CONFIG_NAMES[name]].act)
    if image_actions:  # the last cleanImageTag action configures the redaction of PixelData
        i, action = image_actions[-1]
        image = _image_redactor(action.clean_image_tag, f"{path}.actions[{i}].cleanImageTag")
    if image is None and config is not None:  # the deprecated top-level image block, when nothing newer is given
        image = _image_redactor(config.image, "image")
    if image is not None:
        options[PIXEL_DATA] = Act.CLEAN_IMAGE
    clean_descriptors = bool(opts and opts.clean_descriptors is not None)
    return DicomPolicy(options=options, tag_actions=tag_actions, vr_actions=vr_actions, image=image,
                       text=_text_policy(config) if needs_text else None, clean_descriptors=clean_descriptors,
                       description=_describe(fields["profile"], image)
                       + ("; Clean Descriptors" if clean_descriptors else ""),
                       **fields)


def _image_redactor(image: Optional[ImageConfig], path: str) -> Any:
    """The compiled burned-in text redactor for an ImageConfig, or None when it leaves pixels alone."""
    if image is None:
        return None
    from transforms.image import ImageRedactor

    redactor = ImageRedactor.from_config(image, config_path=path)
    return redactor if redactor.redacts else None


def _describe(profile: str, image: Any = None) -> str:
    names = {
        "BASIC": "PS3.15 Basic Profile",
        "KEEP_ALL": "keep all tags",
        "KEEP_LIST": "keep list",
        "REMOVE_LIST": "remove list",
        "MINIMAL": "minimal keep list",
        "TAG_CONTENTS": "tag contents inspected",
    }
    return f"deidflow: {names[profile]}" + ("; Clean Pixel Data" if image is not None else "")


CONTEXT_TAGS = _context_tags()

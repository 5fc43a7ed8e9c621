"""Data-dictionary facts about tags that every DICOM module needs: names for errors, dictionary VRs, the VR set."""

from __future__ import annotations

from pydicom.datadict import dictionary_VR, keyword_for_tag

ALL_VRS = frozenset(
    "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
)


def is_known_tag(tag: int) -> bool:
    """Whether the DICOM data dictionary (repeating groups included) has this tag."""
    try:
        dictionary_VR(tag)
    except KeyError:
        return False
    return True


def element_vr(tag: int) -> str:
    """The dictionary VR of a tag ('UN' when unknown; first choice of ambiguous VRs such as 'US or SS')."""
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return "UN"
    return vr.split(" or ")[0]


def tag_name(tag: int) -> str:
    """A tag as users read it in errors: keyword and (GGGG,EEEE), never the value."""
    keyword = keyword_for_tag(tag) if not (tag >> 16) & 1 else ""
    return f"{keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X})".strip()

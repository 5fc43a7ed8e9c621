"""One processor per FHIR field action: which operation it becomes for an element's type, and how it applies.

In the spirit of Microsoft's FHIR anonymizer (a processor class per method behind one interface, chosen by a
factory): each action is a class with ``fit`` (the type fitting: the operation the action becomes for a FHIR
primitive type — itself, or the removal or keeping it falls back to when the type cannot hold its result) and
``apply`` (one value in, its replacement out). ``PROCESSORS`` is the dispatch table; adding an action touches one
class and one row. The walk (``deidentify.py``) resolves each element path to an operation once, then calls
``PROCESSORS[op].apply`` for each value. Which types a config may name for an action is ``policy.SUPPORTED_TYPES``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from transforms.fhir import ids, narrative, safe_harbor
from transforms.fhir.dates import shift_date
from transforms.fhir.policy import AGE, ATTACH, CLEAN, HASH, KEEP, MASK, REMOVE, SHIFT, ZIP3, FhirPolicy, Rule

REMOVED = object()  # a value the walk dropped
BIRTHDATE = "birthdate"  # SHIFT of Patient.birthDate under Safe Harbor: also aggregates ages over 89

DATE_TYPES = frozenset({"Date", "DateTime", "Instant"})
STRINGY = frozenset({"String", "Markdown", "Code", "Uri", "Url", "Canonical", "Id", "Oid", "Uuid", "Xhtml"})
_CLEANABLE = STRINGY | {"Decimal"}
_ID_ALPHABET = re.compile(r"[A-Za-z0-9\-.]\Z")
# Values of these types become contextual phrases; codes, URIs and ids ("phone", "home") would only add noise.
CONTEXT_TYPES = frozenset({"String", "Markdown", "Date", "DateTime", "Instant"})
MIN_PHRASE = 2  # a removed or replaced string this long or longer becomes a context phrase (``note``)


class Deferred:
    """A value whose text cleaning waits for the whole resource's context phrases (``kind``: text, xhtml,
    base64)."""

    __slots__ = ("value", "kind", "type_name", "where")

    def __init__(self, value, kind, type_name, where):
        self.value, self.kind, self.type_name, self.where = value, kind, type_name, where


def note(ctx, value: Any, type_name: str) -> None:
    """A value the walk removes or replaces becomes a contextual phrase (contextual de-identification)."""
    if ctx.policy.contextual and type_name in CONTEXT_TYPES and isinstance(value, str) and len(value) >= MIN_PHRASE:
        ctx.context.append(value)


def hash_value(value: str, type_name: str, ctx) -> str:
    """A keyed hash that stays valid for its type (ids stay ids, OIDs OIDs, a div a div)."""
    if type_name == "Id":
        return ids.new_id(ctx.keys, "hash\x00" + value)
    if type_name == "Oid":
        return "urn:oid:" + ctx.keys.uid(value)
    if type_name == "Uuid":
        return "urn:uuid:" + ids.new_id(ctx.keys, "hash\x00" + value)
    digest = ctx.keys.crypto_hash(value, key=ctx.policy.crypto_hash_key)
    if type_name == "Xhtml":
        return narrative.placeholder_div(digest)
    return digest


class Processor:
    """An action on FHIR primitive values. ``fit``: the operation for a type — ``op`` for the ``types`` it
    applies to (None: every type), else removal; ``apply``: a string value (``plan``: its element's plan,
    ``parent``: the object holding it, ``ctx``: the resource's state) -> its replacement, ``REMOVED`` or a
    ``Deferred``; with ``notes`` the original value becomes a contextual phrase first."""

    op = KEEP
    types: frozenset | None = None
    notes = False

    def fit(self, type_name: str, rule: Rule, policy: FhirPolicy) -> str:
        return self.op if self.types is None or type_name in self.types else REMOVE

    def apply(self, value: str, plan, parent: dict, ctx) -> Any:
        if self.notes:
            note(ctx, value, plan.type_name)
        return self.replace(value, plan, parent, ctx)

    def replace(self, value: str, plan, parent: dict, ctx) -> Any:
        return value


class Keep(Processor):
    op = KEEP


class Remove(Processor):
    op = REMOVE


class Mask(Processor):
    """Every non-space character replaced by the mask character; OIDs and UUIDs hashed instead (a mask would
    make them invalid); types that cannot hold the mask removed."""

    op = MASK
    notes = True

    def fit(self, type_name, rule, policy):
        if type_name in STRINGY and (type_name != "Id" or _ID_ALPHABET.match(rule.mask_char)):
            return MASK if type_name not in ("Oid", "Uuid") else HASH
        return REMOVE

    def replace(self, value, plan, parent, ctx):
        char = plan.rule.mask_char if plan.rule and plan.rule.action == MASK else ctx.policy.text.mask_char
        if plan.type_name == "Xhtml":
            return narrative.transform_div(value, lambda s: re.sub(r"\S", char, s))
        return char * len(value)


class Hash(Processor):
    op = HASH
    types = STRINGY
    notes = True

    def replace(self, value, plan, parent, ctx):
        return hash_value(value, plan.type_name, ctx)


class Shift(Processor):
    op = SHIFT
    types = DATE_TYPES
    notes = True

    def replace(self, value, plan, parent, ctx):
        return shift_date(value, ctx.shift_days(), plan.where)


class BirthDate(Shift):
    """Patient.birthDate under Safe Harbor: shifted, and a birth date over 89 years ago aggregated."""

    op = BIRTHDATE

    def replace(self, value, plan, parent, ctx):
        return safe_harbor.birth_date(value, ctx.shift_days(), ctx.policy.reference_date, plan.where)


class Clean(Processor):
    """Text inspected for identifiers once the whole resource's context is known (``Deferred``), then fitted
    back to its type (``refit``). Dates follow the text config's date action; base64 data is an attachment."""

    op = CLEAN

    def fit(self, type_name, rule, policy):
        if type_name in DATE_TYPES:
            return policy.text.date if policy.text.date in (KEEP, SHIFT) else REMOVE
        if type_name == "Base64Binary":
            return ATTACH
        return CLEAN if type_name in _CLEANABLE else KEEP

    def replace(self, value, plan, parent, ctx):
        return Deferred(value, "xhtml" if plan.type_name == "Xhtml" else "text", plan.type_name, plan.where)

    @staticmethod
    def refit(cleaned: str, item: Deferred, ctx) -> Any:
        """Keep a cleaned value valid for its FHIR type (ids stay ids, codes have no stray whitespace)."""
        if cleaned == item.value:
            return cleaned
        if not cleaned.strip():
            return REMOVED  # everything was erased (RedactConfig): FHIR has no empty strings
        t = item.type_name
        if t in ("Id", "Oid", "Uuid"):
            return hash_value(item.value, t, ctx)
        if t in ("Uri", "Url", "Canonical"):
            return re.sub(r"\s+", "_", cleaned.strip())
        if t == "Code":
            return " ".join(cleaned.split())
        return cleaned


class Zip3(Processor):
    op = ZIP3
    types = frozenset({"String"})
    notes = True

    def replace(self, value, plan, parent, ctx):
        kept = safe_harbor.zip3(value, parent.get("country"))
        return REMOVED if kept is None else kept


class Attach(Processor):
    """Attachment.data: text content decoded for cleaning (re-encoded after); binary content removed."""

    op = ATTACH

    def fit(self, type_name, rule, policy):
        return ATTACH if type_name == "Base64Binary" else KEEP

    def replace(self, value, plan, parent, ctx):
        decoded = text_attachment(value, parent.get("contentType"))
        if decoded is None:
            return REMOVED  # binary content cannot be inspected: removed
        return Deferred(decoded, "base64", plan.type_name, plan.where)


def text_attachment(value: str, content_type: Any) -> str | None:
    """The text of a base64 attachment whose content type is text (in its charset), else None."""
    if not isinstance(content_type, str):
        return None
    mime, _, params = content_type.partition(";")
    mime = mime.strip().lower()
    if not (mime.startswith("text/") or mime in ("application/json", "application/xml", "application/fhir+json")):
        return None
    charset = "utf-8"
    for param in params.split(";"):
        name, _, val = param.partition("=")
        if name.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip('"')
    try:
        raw = base64.b64decode(value, validate=True)
        return raw.decode(charset)
    except (binascii.Error, ValueError, LookupError):
        return None  # undecodable: treated as binary


class Age(Processor):
    """Age elements: over 89 years aggregated (``element``); the Age's own leaves are kept."""

    op = AGE

    def fit(self, type_name, rule, policy):
        return KEEP

    @staticmethod
    def element(obj: dict) -> dict:
        return safe_harbor.aggregate_age(obj)


PROCESSORS: dict[str, Processor] = {p.op: p for p in (Keep(), Remove(), Mask(), Hash(), Shift(), BirthDate(),
                                                      Clean(), Zip3(), Attach(), Age())}

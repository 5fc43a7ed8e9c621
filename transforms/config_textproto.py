"""DeidentifyConfig in protobuf text format (the API's published default configs) turned into the JSON dict.

The API's default FHIR configs are published as text-format protos (``fhir { field_metadata_list { ... } }``).
We have no ``.proto`` for the Healthcare API, so the message schema is built at import time from the dataclasses
of ``transforms.config`` (one proto2 message per dataclass, one closed enum per enum field, ``bytes`` fields as
bytes, tuples as repeated fields), parsed with protobuf's own ``text_format`` and turned into the JSON mapping
with ``json_format``. The result is exactly the dict ``parse_config`` takes, so a JSON config and its text-proto
form give the same DeidentifyConfig and the same output, byte for byte.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory, text_format

from transforms.config import DeidentifyConfig, camel, load_config_text, parse_config
from transforms.errors import ConfigError

_PACKAGE = "deidflow.textproto"
_F = descriptor_pb2.FieldDescriptorProto


def _field_kind(tp: Any) -> tuple[bool, Any]:
    """(repeated, element type) of a dataclass field's annotation."""
    if typing.get_origin(tp) is typing.Union:
        tp = [a for a in typing.get_args(tp) if a is not type(None)][0]
    if typing.get_origin(tp) is tuple:
        return True, typing.get_args(tp)[0]
    return False, tp


def _build_file() -> descriptor_pb2.FileDescriptorProto:
    file_proto = descriptor_pb2.FileDescriptorProto(
        name="deidflow_deidentify_config.proto", package=_PACKAGE, syntax="proto2"
    )
    done: set[type] = set()

    def add_message(cls: type) -> None:
        if cls in done:
            return
        done.add(cls)
        message = file_proto.message_type.add(name=cls.__name__)
        hints = typing.get_type_hints(cls)
        for number, f in enumerate(dataclasses.fields(cls), start=1):
            repeated, element = _field_kind(hints[f.name])
            field = message.field.add(name=f.name, number=number, json_name=camel(f.name))
            field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            if f.metadata.get("bytes"):
                field.type = _F.TYPE_BYTES
            elif f.metadata.get("enum"):
                # Each enum sits in its own holder message: enum values are scoped like siblings in protobuf,
                # and two enum fields of one message may share value names.
                holder = message.nested_type.add(name=f"Enum_{f.name}")
                enum = holder.enum_type.add(name="Value")
                for value_number, value in enumerate(f.metadata["enum"]):
                    enum.value.add(name=value, number=value_number)
                field.type = _F.TYPE_ENUM
                field.type_name = f".{_PACKAGE}.{cls.__name__}.{holder.name}.Value"
            elif dataclasses.is_dataclass(element):
                field.type = _F.TYPE_MESSAGE
                field.type_name = f".{_PACKAGE}.{element.__name__}"
                add_message(element)
            elif element is bool:
                field.type = _F.TYPE_BOOL
            elif element is int:
                field.type = _F.TYPE_INT64
            elif element is str:
                field.type = _F.TYPE_STRING
            else:  # pragma: no cover - a schema change this module must learn about
                raise AssertionError(f"no text-proto mapping for {cls.__name__}.{f.name}")

    add_message(DeidentifyConfig)
    return file_proto


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_build_file())
_CONFIG_MESSAGE = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.DeidentifyConfig"))

_UNKNOWN_FIELD = re.compile(r'Message type "(?:[\w.]+\.)?(\w+)" has no field named "(\w+)"')
_UNKNOWN_ENUM = re.compile(r'Enum type "[\w.]+\.Enum_(\w+)\.Value" has no value named')


def _suggestion(message_name: str, unknown: str) -> str:
    """' (did you mean 'x'?)' naming a field of the schema close to the unknown name, or ''."""
    descriptor = _POOL.FindMessageTypeByName(f"{_PACKAGE}.{message_name}") if message_name else None
    if descriptor is None:
        return ""
    close = difflib.get_close_matches(unknown, [f.name for f in descriptor.fields], n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _describe_parse_error(err: text_format.ParseError) -> str:
    """The parser's message without values: field names and enum names are schema, anything quoted may be data."""
    text = str(err)
    where = ""
    if err.GetLine() is not None:
        where = f"line {err.GetLine()}" + (f", column {err.GetColumn()}" if err.GetColumn() else "") + ": "
    match = _UNKNOWN_FIELD.search(text)
    if match:
        # The unknown name is the file's content (a key file passed by mistake starts with its key): never echo it.
        return f"{where}unknown field for {match.group(1)}{_suggestion(match.group(1), match.group(2))}"
    match = _UNKNOWN_ENUM.search(text)
    if match:
        return f"{where}unknown value for enum field '{match.group(1)}'"
    detail = re.sub(r"^\d+:\d+ : ", "", text)
    # A quoted token may be a key or a pattern: never echo it (single punctuation characters are kept).
    detail = re.sub(r'"[^"]{2,}"', '"…"', detail)
    detail = re.sub(r"'[^']{2,}'", "'…'", detail)
    detail = re.sub(r"\b(got|found:|[Pp]arse \w+:)\s+[^'\"\s]{2,}", r"\1 …", detail)
    return f"{where}{detail}"


def textproto_to_dict(text: str, source: str = "config") -> dict:
    """Parse a text-format DeidentifyConfig into the JSON dict (lowerCamelCase names, base64 bytes)."""
    message = _CONFIG_MESSAGE()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as err:
        raise ConfigError(
            source, f"is not a JSON object and not valid protobuf text format ({_describe_parse_error(err)})"
        ) from None
    return json_format.MessageToDict(message, preserving_proto_field_name=False)


def is_json_text(text: str) -> bool:
    """A JSON config is an object; a text-format config never starts with '{'."""
    return text.lstrip("\ufeff \t\r\n").startswith("{")


def load_config_any(text: str, source: str = "config") -> DeidentifyConfig:
    """Parse a config file's text: JSON when it is a JSON object, otherwise protobuf text format."""
    if not text.strip("\ufeff \t\r\n"):
        raise ConfigError(source, "is empty")
    if is_json_text(text):
        return load_config_text(text, source)
    return parse_config(textproto_to_dict(text.lstrip("\ufeff"), source))

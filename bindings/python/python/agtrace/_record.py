"""Packing attributes and ops into the C ABI's packed record: NUL-separated
UTF-8 fields (see ffi/src/packed.rs for the format). One join and one encode
per call, which is what keeps a span to two cheap crossings."""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping
from typing import Any, Union

from ._errors import InvalidArgument

#: Attribute values agtrace accepts: scalars, lists of scalars, and anything
#: JSON-serializable (dicts and nested lists are stored as JSON text).
AttributeValue = Union[str, bool, int, float, "list[Any]", "tuple[Any, ...]", "dict[str, Any]"]
Attributes = Mapping[str, Any]

TYPED = "\x01"
OP = "\x02"


def pack_attributes(attributes: Attributes, out: list[str]) -> None:
    """Appends key/value fields for ``attributes``; ``None`` values are
    skipped. Raises :class:`InvalidArgument` naming the first bad one."""
    if type(attributes) is not dict and not isinstance(attributes, Mapping):
        raise InvalidArgument(
            f"attributes must be a mapping of str to values, not {type(attributes).__name__}"
        )
    for key, value in attributes.items():
        if type(key) is not str or not key.isprintable():
            check_key(key)
        if type(value) is str:
            if "\0" in value:  # would split the field: JSON escapes it
                out += (TYPED + key, json.dumps(value, ensure_ascii=False))
            else:
                out += (key, value)
        elif value is not None:
            out += (TYPED + key, encode_value(key, value))


def check_key(key: object) -> None:
    """Raises unless ``key`` is a usable attribute key: a non-empty str
    without control characters. ``str.isprintable`` is the fast test;
    keys it refuses (some non-ASCII separators) are checked exactly here."""
    if type(key) is not str or not key:
        raise InvalidArgument(f"attribute keys must be non-empty strings, got {key!r}")
    if "\0" in key:
        raise InvalidArgument(f"attribute key {key!r} contains a NUL character")
    if any(unicodedata.category(c) == "Cc" for c in key):
        raise InvalidArgument(f"attribute key {key!r} contains a control character")


def encode_value(key: str, value: object) -> str:
    """A non-string attribute value as JSON text."""
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value) if math.isfinite(value) else json.dumps(str(value))  # type: ignore[arg-type]
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_unsupported)
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"attribute {key!r}: {e}") from None


def _unsupported(value: object) -> object:
    raise TypeError(f"values of type {type(value).__name__} are not supported")


def op(out: list[str], name: str, argument: str) -> None:
    out.append(OP + name)
    out.append(argument)


def join(fields: list[str]) -> bytes:
    """The record's bytes. Every field is NUL-free by construction (keys and
    names are checked, string values holding a NUL go as JSON, ops carry
    JSON or checked text); a lone surrogate becomes "?"."""
    return "\0".join(fields).encode("utf-8", "replace")

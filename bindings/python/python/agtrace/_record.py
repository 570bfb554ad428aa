"""Attribute values as the span protocol carries them (the encoder is the C
extension, bindings/python/ext/wire.c): str, bool, int, float and uniform
lists of those are typed items; any other JSON-serializable value goes as
its compact JSON text, which this module makes."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any, Union

#: Attribute values agtrace accepts: scalars, lists of scalars, and anything
#: JSON-serializable (dicts and nested lists are stored as JSON text).
AttributeValue = Union[str, bool, int, float, "list[Any]", "tuple[Any, ...]", "dict[str, Any]"]
Attributes = Mapping[str, Any]


def _unsupported(value: object) -> object:
    raise TypeError(f"values of type {type(value).__name__} are not supported")


#: A value's JSON text; raises TypeError or ValueError (a non-finite float,
#: an unsupported type) for the encoder to report with the attribute's key.
json_text = functools.partial(
    json.dumps, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_unsupported
)

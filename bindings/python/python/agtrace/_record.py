"""Attribute values as the span protocol carries them (the encoder is the C
extension, bindings/python/ext/wire.c).

str, bool, int (64-bit), float and non-empty uniform lists or tuples of one
of those are typed items, encoded in C without calling into this module.
Every other value comes to :func:`attribute_item`, which converts anything
and never raises an ``Exception``:

* ``datetime``/``date``/``time``: ISO 8601 text; ``Decimal`` and ``UUID``:
  their text (exact); an ``Enum``: its value, converted in turn;
* ``bytes``/``bytearray``/``memoryview``: a placeholder with their length
  and a digest, never their content;
* dataclasses: their fields; pydantic models (anything with a callable
  ``model_dump``): ``model_dump(mode="json")``; mappings, sequences, sets
  (sorted when their items sort): converted item by item. A container met
  again inside itself becomes ``CYCLE``, nesting deeper than ``MAX_DEPTH``
  ``TOO_DEEP`` (counted as misuse, ``bad_value``: part of the value is
  lost);
* anything else: its ``repr``, cut at ``MAX_REPR`` characters; a ``repr``
  that raises gives ``<unrepresentable TYPE>``.

A result that is a scalar or a uniform list is sent as its typed item, any
other structure as compact JSON text (the JSON item).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import hashlib
import json
import math
import uuid
from collections.abc import Mapping, Sequence, Set
from typing import Any, Optional, Union, cast

from . import _codes as codes

#: Attributes as the API takes them: str keys, values of any type.
Attributes = Mapping[str, Any]

MAX_REPR = 1024
MAX_DEPTH = 32
CYCLE = "<cycle>"
TOO_DEEP = "<too deep>"

_INT64 = range(-(2**63), 2**63)
_SCALAR_ARRAYS = (
    (str, codes.ITEM_STRING_ARRAY),
    (bool, codes.ITEM_BOOL_ARRAY),
    (int, codes.ITEM_INT_ARRAY),
    (float, codes.ITEM_DOUBLE_ARRAY),
)

#: What a value converts to: JSON-ready Python (None, str, bool, int, finite
#: float, lists and dicts with str keys of those).
Plain = Union[None, str, bool, int, float, "list[Any]", "dict[str, Any]"]


class _Walk:
    """One conversion's state: the ids of the containers being converted
    around the current value (a cycle's marker), and whether some part was
    nested deeper than ``MAX_DEPTH``. The walk is bounded by ``MAX_DEPTH``,
    so no value, however deep, reaches Python's recursion limit."""

    __slots__ = ("path", "too_deep")

    def __init__(self) -> None:
        self.path: set[int] = set()
        self.too_deep = False


def attribute_item(value: object) -> Optional[tuple[Any, ...]]:
    """``value`` as an attribute item's code (``ITEM_*``) and payload, or
    None when it converts to None (the attribute is skipped, as for None).
    A value nested deeper than ``MAX_DEPTH`` is recorded with ``TOO_DEEP``
    in place of the too-deep part, and a third element says so: the caller
    counts it as misuse (``bad_value``). Never raises an ``Exception``; a
    ``BaseException`` such as ``KeyboardInterrupt`` raised by the value's
    own code propagates."""
    walk = _Walk()
    try:
        item = _item(_plain(value, 0, walk))
    except Exception:
        return codes.ITEM_STRING, _unrepresentable(value)
    if item is not None and walk.too_deep:
        return (*item, f"nested deeper than {MAX_DEPTH} levels, recorded with {TOO_DEEP!r} there")
    return item


def plain(value: object) -> Plain:
    """``value`` converted as :func:`attribute_item` converts it, as
    JSON-ready Python (never the value itself when it is a container).
    Never raises an ``Exception``."""
    if type(value) is dict and all(type(k) is str and _is_json_scalar(v) for k, v in value.items()):
        return dict(value)  # the common case (a call's arguments): converts to itself
    try:
        return _plain(value, 0, _Walk())
    except Exception:
        return _unrepresentable(value)


def _is_json_scalar(value: object) -> bool:
    """Whether ``value`` converts to itself: an exact str, bool, None, an
    int or a finite float (subclasses, such as enums, are converted)."""
    kind = type(value)
    if kind is float:
        # An exact float (checked by type, which mypy does not narrow on).
        return math.isfinite(cast(float, value))
    return kind is str or kind is bool or value is None or kind is int


def json_text(plain: Plain) -> str:
    """A converted value (see :func:`plain`) as compact JSON text."""
    return json.dumps(plain, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _item(plain: Plain) -> Optional[tuple[int, object]]:
    if plain is None:
        return None
    if isinstance(plain, str):
        return codes.ITEM_STRING, plain
    if isinstance(plain, bool):
        return codes.ITEM_BOOL, plain
    if isinstance(plain, int):
        return (codes.ITEM_INT, plain) if plain in _INT64 else (codes.ITEM_JSON, str(plain))
    if isinstance(plain, float):
        return codes.ITEM_DOUBLE, plain
    if isinstance(plain, list) and plain:
        for kind, code in _SCALAR_ARRAYS:
            # type() rather than isinstance: True is an int, and [1, True] is no int array.
            if all(type(v) is kind for v in plain) and (kind is not int or all(v in _INT64 for v in plain)):
                return code, plain
    return codes.ITEM_JSON, json_text(plain)


def _plain(value: object, depth: int, walk: _Walk) -> Plain:
    """``value`` as JSON-ready Python (see :class:`_Walk`)."""
    if isinstance(value, enum.Enum):
        value = value.value
        if isinstance(value, enum.Enum):  # an Enum valued by an Enum: no unbounded chain
            return _bounded_repr(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        f = float(value)
        return f if math.isfinite(f) else str(f)  # "nan", "inf" as for a top-level float
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes_placeholder(value)
    if depth >= MAX_DEPTH:
        walk.too_deep = True
        return TOO_DEEP
    if id(value) in walk.path:
        return CYCLE
    walk.path.add(id(value))
    try:
        return _structure(value, depth + 1, walk)
    finally:
        walk.path.discard(id(value))


def _structure(value: object, depth: int, walk: _Walk) -> Plain:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name), depth, walk) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None) if not isinstance(value, type) else None
    if callable(dump):
        try:
            dumped = dump(mode="json")
        except Exception:
            pass  # not pydantic's model_dump after all: its repr
        else:
            return _plain(dumped, depth, walk)
    if isinstance(value, Mapping):
        return {_key(k, depth, walk): _plain(v, depth, walk) for k, v in value.items()}
    if isinstance(value, Set):
        try:
            items = sorted(value)
        except Exception:
            items = list(value)
        return [_plain(v, depth, walk) for v in items]
    if isinstance(value, Sequence):
        return [_plain(v, depth, walk) for v in value]
    return _bounded_repr(value)


def _key(key: object, depth: int, walk: _Walk) -> str:
    plain = _plain(key, depth, walk)
    if isinstance(plain, str):
        return plain
    return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))


def _bytes_placeholder(value: Union[bytes, bytearray, memoryview]) -> str:
    view = memoryview(value)
    digest = hashlib.sha256(view if view.c_contiguous else view.tobytes()).hexdigest()
    return f"<{type(value).__name__} len={view.nbytes} sha256={digest[:12]}>"


def _bounded_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception:
        return _unrepresentable(value)
    if len(text) > MAX_REPR:
        return f"{text[:MAX_REPR]}...<{len(text) - MAX_REPR} more chars>"
    return text


def _unrepresentable(value: object) -> str:
    return f"<unrepresentable {type(value).__qualname__}>"


def describe(value: object) -> str:
    """A bounded ``repr`` of ``value`` for messages; never raises."""
    try:
        return _bounded_repr(value)
    except Exception:
        return _unrepresentable(value)

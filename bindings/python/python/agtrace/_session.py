"""Session scope: trace-level context (user, session, tags, metadata) for
every trace that starts, or is continued, inside a ``with agtrace.session()``
block. Lives in a ``ContextVar`` like the current span."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Optional

from . import _codes as codes
from ._errors import InvalidArgument
from ._native import fastpath

_TEXT_FIELDS = ("user_id", "session_id", "conversation_id", "environment", "release")


class Session:
    """One ``session()`` scope; spans compare scopes by identity, so a span
    sends the trace context only when its parent was started outside it."""

    __slots__ = ("fields", "item")

    def __init__(self, fields: dict[str, Any]) -> None:
        #: What the scope sets (nested scopes start from it).
        self.fields = fields
        #: The TRACE item (ffi/PROTOCOL.md) a span in the scope carries,
        #: encoded once; the extension reads it by this name.
        self.item: bytes = fastpath._item_bytes(
            codes.ITEM_TRACE,
            *(fields.get(name, "") for name in _TEXT_FIELDS),
            fields.get("tags", []),
            json.dumps(fields["metadata"], ensure_ascii=False) if "metadata" in fields else "",
        )


current: ContextVar[Optional[Session]] = ContextVar("agtrace.session", default=None)


@contextmanager
def session(
    *,
    user_id: Optional[str] = None,
    session_id: Optional[str] = None,
    conversation_id: Optional[str] = None,
    tags: Optional[Sequence[str]] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    environment: Optional[str] = None,
    release: Optional[str] = None,
) -> Iterator[None]:
    """Applies trace-level context to every trace whose spans start inside
    the block (a trace already running gets it from its next span started
    here). Nested scopes inherit the outer scope's values unless they set
    them; tags are merged."""
    outer = current.get()
    fields: dict[str, Any] = dict(outer.fields) if outer is not None else {}
    for name, value in zip(_TEXT_FIELDS, (user_id, session_id, conversation_id, environment, release)):
        if value is not None:
            if type(value) is not str:
                raise InvalidArgument(f"{name} must be a str, not {type(value).__name__}")
            fields[name] = value
    if tags is not None:
        if isinstance(tags, str) or not all(type(t) is str for t in tags):
            raise InvalidArgument("tags must be a list of str")
        fields["tags"] = list(dict.fromkeys([*fields.get("tags", []), *tags]))
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise InvalidArgument(f"metadata must be a mapping, not {type(metadata).__name__}")
        fields["metadata"] = {**fields.get("metadata", {}), **metadata}
    try:
        scope = Session(fields)
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"metadata: {e}") from None
    token = current.set(scope)
    try:
        yield
    finally:
        current.reset(token)

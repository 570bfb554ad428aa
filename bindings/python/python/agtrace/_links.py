"""Span links: what ``links=[...]`` on a span's start and
:meth:`agtrace.Span.add_link` accept, as the span protocol's LINK items
carry them (the extension encodes them, bindings/python/ext/wire.c).

A link names another span: an agtrace :class:`~agtrace.SpanContext` (from
``span.context`` or :func:`agtrace.extract`), an agtrace span (its
context), an OpenTelemetry span context or span (anything with integer
``trace_id``/``span_id``, or a ``get_span_context()``), or any of those
paired with attributes, ``(target, {"key": value})``, as an OpenTelemetry
``Link`` (``.context``, ``.attributes``) is. A target without ids (a span
that records nothing) gives no link; anything else is misuse (``bad_call``:
that link is left out, or InvalidArgument is raised in strict mode).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Optional

from . import _codes as codes
from ._native import fastpath

#: A link as the extension encodes it: trace id (16 bytes), span id (8
#: bytes), W3C flags, W3C trace state text, attributes or None.
Encoded = tuple[bytes, bytes, int, str, Optional[Mapping[str, Any]]]

_NO_TRACE = bytes(16)


class _Unusable(Exception):
    """A link this module cannot use; its message says why."""


def encode(links: Iterable[object], reporter: Any) -> list[Encoded]:
    """``links`` as the extension encodes them; a link it cannot use is
    misuse reported to ``reporter`` (a Tracer, or None)."""
    if isinstance(links, (str, bytes)) or not isinstance(links, Iterable):
        fastpath._misuse(reporter, codes.MISUSE_BAD_CALL, f"links must be a list, not {type(links).__name__}")
        return []
    out = []
    for link in links:
        try:
            encoded = _link(link)
        except _Unusable as e:
            fastpath._misuse(reporter, codes.MISUSE_BAD_CALL, f"{e}; the link was left out")
            continue
        if encoded is not None:
            out.append(encoded)
    return out


def _link(link: object) -> Optional[Encoded]:
    attributes: Optional[Mapping[str, Any]] = None
    target = link
    if isinstance(link, tuple) and len(link) == 2:
        target, attributes = link
    elif not isinstance(link, (fastpath.SpanContext, fastpath.Span)) and hasattr(link, "context"):
        target, attributes = link.context, getattr(link, "attributes", None)  # an OpenTelemetry Link
    if attributes is not None and not isinstance(attributes, Mapping):
        raise _Unusable(f"a link's attributes must be a mapping, not {type(attributes).__name__}")
    ids = _ids(target)
    if ids is None or ids[0] == _NO_TRACE:
        return None
    return (*ids, dict(attributes) if attributes else None)


def _ids(target: object) -> Optional[tuple[bytes, bytes, int, str]]:
    if isinstance(target, fastpath.Span):
        target = target.context
        if target is None:  # a span of no tracer
            return None
    if isinstance(target, fastpath.SpanContext):
        return bytes.fromhex(target.trace_id), bytes.fromhex(target.span_id), int(target.sampled), ""
    get = getattr(target, "get_span_context", None)
    if callable(get):  # an OpenTelemetry span
        target = get()
    trace_id, span_id = getattr(target, "trace_id", None), getattr(target, "span_id", None)
    if type(trace_id) is int and type(span_id) is int and 0 <= trace_id < 2**128 and 0 <= span_id < 2**64:
        flags = getattr(target, "trace_flags", 0)
        state = getattr(target, "trace_state", None)
        header = state.to_header() if state is not None and hasattr(state, "to_header") else ""
        return (
            trace_id.to_bytes(16, "big"),
            span_id.to_bytes(8, "big"),
            int(flags) & 0xFF if isinstance(flags, int) else 0,
            header if isinstance(header, str) else "",
        )
    raise _Unusable(
        f"a link must name a span: a SpanContext, a Span, or a (context, attributes) pair, not {type(target).__name__}"
    )

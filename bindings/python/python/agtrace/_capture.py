"""Captured values: what decorated functions and framework runs were given
and returned, recorded as OpenInference ``input.value``/``output.value``
with their ``*.mime_type`` (Phoenix shows them as Input and Output).

A value is converted as attribute values are (agtrace._record, which never
raises), then passed through the tracer's mask (``init(mask=fn)``) on the
caller's thread, before anything is encoded. The mask gets the converted
value (None, str, bool, int, float, lists and dicts of those) and returns
what to record, converted again. A mask that raises drops that value (the
rest of the span is recorded, and it still ends) and is reported as misuse
``MASK_FAILED``: counted in ``stats()``, logged once, raised in strict mode.
The core's redaction rules then apply to what was recorded, as to every
attribute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from . import _codes as codes
from . import _record
from ._native import fastpath

if TYPE_CHECKING:
    from ._span import Span
    from ._tracer import Tracer

#: A user's masking function (``init(mask=...)``).
Mask = Callable[[Any], Any]

JSON = "application/json"
TEXT = "text/plain"

#: What :func:`masked` returns for a value its mask dropped.
DROPPED: Any = object()


def masked(tracer: Optional[Tracer], value: object, what: str) -> Any:
    """``value`` converted and masked by ``tracer``'s mask, as JSON-ready
    Python; :data:`DROPPED` when the mask raised (reported as misuse, or
    raised in strict mode)."""
    plain = _record.plain(value)
    mask = tracer.mask if tracer is not None else None
    if mask is None:
        return plain
    try:
        result = mask(plain)
    except Exception as e:
        fastpath._misuse(
            tracer, codes.MISUSE_MASK_FAILED, f"the mask raised on {what} ({_record.describe(e)}); the value was dropped"
        )
        return DROPPED
    return _record.plain(result)


def record(span: Span, tracer: Optional[Tracer], which: str, value: object, tool_key: Optional[str] = None) -> None:
    """``value`` as ``{which}.value`` (``which`` is ``"input"`` or
    ``"output"``) and ``{which}.mime_type``: ``text/plain`` for a value that
    converts to a string, else ``application/json`` with its JSON text.
    ``tool_key`` (``gen_ai.tool.call.arguments``/``.result``) also gets it,
    as JSON. Nothing is recorded when the mask dropped it."""
    plain = masked(tracer, value, f"an {which}")
    if plain is DROPPED:
        return
    is_text = isinstance(plain, str)
    text = plain if is_text else _record.json_text(plain)
    span.set_attribute(f"{which}.value", text)
    span.set_attribute(f"{which}.mime_type", TEXT if is_text else JSON)
    if tool_key is not None:
        span.set_attribute(tool_key, _record.json_text(plain) if is_text else text)


def record_text(span: Span, tracer: Optional[Tracer], key: str, value: object) -> None:
    """One captured value as one attribute: a string as it is, anything
    else as its JSON text (a tool's result, a retrieved document's
    content), masked like :func:`record`."""
    plain = masked(tracer, value, key)
    if plain is not DROPPED:
        span.set_attribute(key, plain if isinstance(plain, str) else _record.json_text(plain))

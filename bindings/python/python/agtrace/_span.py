"""Spans, span contexts and the current span.

The current span lives in a ``contextvars.ContextVar``: asyncio tasks copy
it when they are created, so ``asyncio.gather``/``create_task`` children nest
under the span that was current where they were created; threads start empty
(see :func:`agtrace.bind` and :class:`agtrace.ContextThreadPoolExecutor`).

Everything recorded on a span (attributes, status, usage, model, messages,
errors) is buffered in Python and sent with the end in one call; only events
and first-chunk marks, which carry the time they happened, cross at once.
"""

from __future__ import annotations

import ctypes
import enum
import json
import logging
import traceback
from collections.abc import Iterable, Sequence
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Literal, Optional, Union

from . import _abi
from ._errors import InvalidArgument
from ._record import Attributes, join, op, pack_attributes

log = logging.getLogger("agtrace")


class SpanKind(enum.IntEnum):
    """What a span is in an agent's run (the C ABI's ``AGTRACE_KIND_*``)."""

    PLAIN = 0
    AGENT = 1
    WORKFLOW = 2
    TASK = 3
    LLM = 4
    EMBEDDING = 5
    RETRIEVER = 6
    RERANKER = 7
    TOOL = 8
    GUARDRAIL = 9
    EVALUATOR = 10


class SpanContext:
    """A span's identity: a remote parent from :func:`agtrace.extract`, or a
    local span's context (:attr:`Span.context`). Usable as ``parent=``.
    Immutable; thread-safe."""

    __slots__ = ("_handle", "_ids")

    def __init__(self, handle: _abi.Handle) -> None:
        self._handle: Optional[_abi.Handle] = handle
        self._ids: Optional[tuple[str, str, bool]] = None

    def __del__(self) -> None:
        handle, self._handle = self._handle, None
        if handle and _abi is not None:
            _abi.context_free(handle)

    def _read_ids(self) -> tuple[str, str, bool]:
        if self._ids is None:
            trace = (ctypes.c_uint8 * 16)()
            span = (ctypes.c_uint8 * 8)()
            sampled = ctypes.c_bool()
            holder, err = _abi.error_holder()
            status = _abi.context_ids(
                self._handle, ctypes.byref(trace), ctypes.byref(span), ctypes.byref(sampled), err
            )
            _abi.check(status, holder)
            self._ids = (bytes(trace).hex(), bytes(span).hex(), bool(sampled.value))
        return self._ids

    @property
    def trace_id(self) -> str:
        """32 lowercase hex digits (all zero for baggage without a parent)."""
        return self._read_ids()[0]

    @property
    def span_id(self) -> str:
        """16 lowercase hex digits."""
        return self._read_ids()[1]

    @property
    def sampled(self) -> bool:
        return self._read_ids()[2]

    def __repr__(self) -> str:
        return f"SpanContext(trace_id={self.trace_id}, span_id={self.span_id})"


Parent = Union["Span", SpanContext, None]

#: The current span (or remote parent) of this context.
current: ContextVar[Parent] = ContextVar("agtrace.current", default=None)

# Handles of ended spans that Python has released, freed in one call per
# batch so that freeing costs no crossing per span.
_FREE_BATCH = 64
_to_free: list[_abi.Handle] = []


def _free_batch() -> None:
    # Another thread's __del__ may append meanwhile: remove only what is freed.
    batch = _to_free[:]
    del _to_free[: len(batch)]
    _abi.free_many((ctypes.c_void_p * len(batch))(*batch), len(batch))


#: ``Span._fields`` of an ended span (compared by identity, never filled).
_ENDED: list[str] = []

StatusCode = Literal["unset", "ok", "error"]
_STATUS = {"unset": "0", "ok": "1", "error": "2"}


class Span:
    """A span. Use as a context manager (``with agtrace.span(...) as s``),
    which makes it current and ends it on exit, recording an exception that
    escapes; or end it yourself with :meth:`end`.

    Ending twice, or recording on an ended span, is logged and ignored: it
    never raises into the application. A wrong argument type raises
    :class:`agtrace.InvalidArgument`. A span that is garbage-collected
    without being ended is ended then, marked abandoned.

    A span may be shared between threads; calls are serialized by the GIL.
    """

    __slots__ = ("_handle", "_fields", "_token", "_session", "__weakref__")

    # Three assignments: construction is on every span's path. The core span
    # behind the handle keeps its tracer alive; ``_token`` is set by
    # ``__enter__`` before ``__exit__`` reads it.
    def __init__(self, handle: Optional[_abi.Handle], session: object) -> None:
        self._handle = handle
        #: What was recorded, sent at end; ``_ENDED`` once ended.
        self._fields: Optional[list[str]] = None
        self._session = session

    def __del__(self) -> None:
        handle, self._handle = self._handle, None
        if not handle or _abi is None:
            return
        if self._fields is _ENDED:
            _to_free.append(handle)
            if len(_to_free) >= _FREE_BATCH:
                _free_batch()
        else:
            _abi.span_free(handle)

    # -- lifecycle -------------------------------------------------------

    def __enter__(self) -> Span:
        self._token: Optional[Token[Parent]] = current.set(self)
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        try:
            if exc is not None and exc_type is not GeneratorExit:
                self.record_exception(exc)
            self.end()
        finally:
            token, self._token = self._token, None
            if token is not None:
                try:
                    current.reset(token)
                except ValueError:
                    # Exited in another context than it was entered in (a
                    # generator resumed elsewhere): that context was never set.
                    pass

    def end(self) -> None:
        """Ends the span: sends what was recorded and queues it for export.
        Never blocks."""
        fields = self._fields
        if fields is _ENDED:
            log.warning("agtrace: span ended twice; the second end is ignored")
            return
        self._fields = _ENDED
        if not self._handle:
            return
        if fields:
            record = join(fields)
            status = _abi.finish_packed(self._handle, record, len(record), None)
        else:
            status = _abi.finish_packed(self._handle, None, 0, None)
        if status:
            _report_end_status(status)

    @property
    def is_ended(self) -> bool:
        return self._fields is _ENDED

    def is_recording(self) -> bool:
        """False once ended, for spans not sampled, and when agtrace is not
        initialized."""
        return bool(self._handle) and not self.is_ended and bool(_abi.is_recording(self._handle))

    @property
    def context(self) -> Optional[SpanContext]:
        """The span's ids, for propagation or as a parent; None for a span of
        an uninitialized tracer."""
        if not self._handle:
            return None
        out = ctypes.c_void_p()
        holder, err = _abi.error_holder()
        _abi.check(_abi.span_context(self._handle, ctypes.byref(out), err), holder)
        return SpanContext(_abi.Handle(out.value))

    # -- recording (buffered until end) ------------------------------------

    def _buffer(self) -> Optional[list[str]]:
        fields = self._fields
        if fields is _ENDED:
            log.warning("agtrace: recording on an ended span is ignored")
            return None
        if not self._handle:
            return None
        if fields is None:
            fields = self._fields = []
        return fields

    def set_attribute(self, key: str, value: Any) -> None:
        """Sets one attribute (str, bool, int, float, lists of those, or a
        JSON-serializable value stored as JSON text). ``None`` is ignored."""
        self.set_attributes({key: value})

    def set_attributes(self, attributes: Attributes) -> None:
        fields = self._buffer()
        if fields is not None:
            pack_attributes(attributes, fields)

    def update_name(self, name: str) -> None:
        _check_text("name", name)
        fields = self._buffer()
        if fields is not None:
            op(fields, "name", name)

    def set_status(self, status: StatusCode, description: Optional[str] = None) -> None:
        """``"ok"`` is final; ``"error"`` takes a description."""
        code = _STATUS.get(status) if isinstance(status, str) else None
        if code is None:
            raise InvalidArgument(f"status must be 'unset', 'ok' or 'error', not {status!r}")
        if description is not None:
            _check_text("description", description)
        fields = self._buffer()
        if fields is not None:
            op(fields, "status", code + (description or "") if code == "2" else code)

    def record_exception(self, exc: BaseException) -> None:
        """Records ``exc`` as an ``exception`` event (type, message, stack
        trace) and sets the status to error."""
        if not isinstance(exc, BaseException):
            raise InvalidArgument(f"record_exception takes an exception, not {type(exc).__name__}")
        fields = self._buffer()
        if fields is not None:
            stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            kind = type(exc)
            name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
            op(fields, "error", json.dumps({"type": name, "message": str(exc), "stacktrace": stack}))

    def set_llm(
        self,
        *,
        provider: Optional[str] = None,
        request_model: Optional[str] = None,
        response_model: Optional[str] = None,
        response_id: Optional[str] = None,
        finish_reasons: Optional[Sequence[str]] = None,
    ) -> None:
        """A model call's identity (``gen_ai.provider.name``,
        ``gen_ai.request.model``, ...). Omitted values are left as they are."""
        given = {
            "provider": provider,
            "request_model": request_model,
            "response_model": response_model,
            "response_id": response_id,
        }
        for name, value in given.items():
            if value is not None:
                _check_text(name, value)
        payload: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        if finish_reasons is not None:
            payload["finish_reasons"] = _texts("finish_reasons", finish_reasons)
        fields = self._buffer()
        if fields is not None:
            op(fields, "llm", json.dumps(payload))

    def set_usage(
        self,
        input_tokens: int = 0,
        output_tokens: int = 0,
        *,
        cache_read_input_tokens: int = 0,
        cache_creation_input_tokens: int = 0,
        reasoning_output_tokens: int = 0,
    ) -> None:
        """Token usage of a model call, rolled up onto every ancestor (with
        its cost, when the model is in the price table)."""
        counts = (
            input_tokens,
            output_tokens,
            cache_read_input_tokens,
            cache_creation_input_tokens,
            reasoning_output_tokens,
        )
        for n in counts:
            if type(n) is not int or n < 0:
                raise InvalidArgument(f"token counts must be non-negative ints, got {n!r}")
        fields = self._buffer()
        if fields is not None:
            op(fields, "usage", ",".join(map(str, counts)))

    def set_messages(self, input: Any = None, output: Any = None) -> None:
        """Input and output messages (JSON-serializable, usually lists of
        ``{"role", "content"}``). Recorded only when content capture is on
        (``capture_content=True``), then redacted by the tracer's rules."""
        payload = {}
        if input is not None:
            payload["input"] = input
        if output is not None:
            payload["output"] = output
        fields = self._buffer()
        if fields is not None:
            op(fields, "messages", _json("messages", payload))

    def set_tool(self, name: str, call_id: Optional[str] = None) -> None:
        _check_text("name", name)
        fields = self._buffer()
        if fields is not None:
            op(fields, "tool", json.dumps({"name": name, "call_id": call_id}))

    def set_agent(self, name: str, id: Optional[str] = None) -> None:
        _check_text("name", name)
        fields = self._buffer()
        if fields is not None:
            op(fields, "agent", json.dumps({"name": name, "id": id}))

    # -- immediate -----------------------------------------------------------

    def add_event(self, name: str, attributes: Optional[Attributes] = None) -> None:
        """Adds an event timed now."""
        _check_text("name", name)
        payload = {"name": name, "attributes": dict(attributes) if attributes else {}}
        self._now("event", _json("event", payload))

    def mark_first_chunk(self) -> None:
        """Records that the first chunk of a streamed response arrived now
        (``gen_ai.response.time_to_first_chunk``)."""
        self._now("first_chunk", "")

    def _now(self, name: str, argument: str) -> None:
        if self._buffer() is None:
            return
        fields: list[str] = []
        op(fields, name, argument)
        record = join(fields)
        holder, err = _abi.error_holder()
        _abi.check(_abi.record_packed(self._handle, record, len(record), err), holder)

    def __repr__(self) -> str:
        state = "ended" if self.is_ended else ("live" if self._handle else "non-recording")
        return f"<agtrace.Span {state}>"


def _check_text(what: str, value: object) -> None:
    if type(value) is not str:
        raise InvalidArgument(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise InvalidArgument(f"{what} {value!r} contains a NUL character")


def _texts(what: str, values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        raise InvalidArgument(f"{what} must be a list of str, not a str")
    out = list(values)
    for v in out:
        _check_text(what, v)
    return out


def _json(what: str, value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=_unsupported)
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"{what}: {e}") from None


def _unsupported(value: object) -> object:
    raise TypeError(f"values of type {type(value).__name__} are not JSON-serializable")


_END_STATUS = {
    2: "a recorded value was invalid (see the C ABI error for the field)",
    5: "the span was already ended",
    6: "the tracer was shut down; the span will not be exported",
}


def _report_end_status(status: int) -> None:
    level = logging.DEBUG if status == 6 else logging.WARNING
    log.log(level, "agtrace: ending a span: %s", _END_STATUS.get(status, f"status {status}"))


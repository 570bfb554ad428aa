"""Spans, span contexts and the current span.

The current span lives in a ``contextvars.ContextVar``: asyncio tasks copy
it when they are created, so ``asyncio.gather``/``create_task`` children nest
under the span that was current where they were created; threads start empty
(see :func:`agtrace.bind` and :class:`agtrace.ContextThreadPoolExecutor`).

A span's hot path (start, ``with``, attributes, events, end) is the C
extension's (bindings/python/ext): one call into the library per span, at its
start, which also carries the calling thread's pending ends. Everything
recorded while it runs is encoded into the span's own buffer and sent with
its end. The methods here validate their arguments and encode through
``Span._item``.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import traceback
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Literal, Optional, Union

from . import _codes as codes
from . import _errors, _record, _session
from ._errors import InvalidArgument
from ._native import fastpath

log = logging.getLogger("agtrace")


class SpanKind(enum.IntEnum):
    """What a span is in an agent's run (the protocol's kind codes)."""

    PLAIN = codes.KIND_PLAIN
    AGENT = codes.KIND_AGENT
    WORKFLOW = codes.KIND_WORKFLOW
    TASK = codes.KIND_TASK
    LLM = codes.KIND_LLM
    EMBEDDING = codes.KIND_EMBEDDING
    RETRIEVER = codes.KIND_RETRIEVER
    RERANKER = codes.KIND_RERANKER
    TOOL = codes.KIND_TOOL
    GUARDRAIL = codes.KIND_GUARDRAIL
    EVALUATOR = codes.KIND_EVALUATOR


def span_kind(kind: object) -> SpanKind:
    """A kind given by name (any case) or number; raises InvalidArgument."""
    if isinstance(kind, str):
        try:
            return SpanKind[kind.upper()]
        except KeyError:
            pass
    elif isinstance(kind, int) and not isinstance(kind, bool):
        try:
            return SpanKind(kind)
        except ValueError:
            pass
    names = ", ".join(k.name.lower() for k in SpanKind)
    raise InvalidArgument(f"unknown span kind {kind!r} (one of: {names})")


#: A span's identity: a remote parent from :func:`agtrace.extract`, or a
#: local span's context (:attr:`Span.context`). Usable as ``parent=``.
SpanContext = fastpath.SpanContext

StatusCode = Literal["unset", "ok", "error"]
_STATUS = {"unset": codes.STATUS_UNSET, "ok": codes.STATUS_OK, "error": codes.STATUS_ERROR}


class Span(fastpath.Span):
    """A span. Use as a context manager (``with agtrace.span(...) as s``),
    which makes it current and ends it on exit, recording an exception that
    escapes; or end it yourself with :meth:`end`.

    Ending twice, or recording on an ended span, is logged and ignored: it
    never raises into the application. Attribute values of any type are
    accepted (see agtrace._record); an attribute with a bad key is dropped
    and logged. A wrong argument type elsewhere raises
    :class:`agtrace.InvalidArgument`. A span that is garbage-collected
    without being ended is exported then with everything recorded on it,
    marked abandoned.

    A span may be shared between threads; calls are serialized by the GIL.
    """

    __slots__ = ()

    def update_name(self, name: str) -> None:
        _check_text("name", name)
        if not name:
            raise InvalidArgument("name must not be empty")
        self._item(codes.ITEM_NAME, name)

    def set_status(self, status: StatusCode, description: Optional[str] = None) -> None:
        """``"ok"`` is final; ``"error"`` takes a description."""
        code = _STATUS.get(status) if isinstance(status, str) else None
        if code is None:
            raise InvalidArgument(f"status must be 'unset', 'ok' or 'error', not {status!r}")
        if description is not None:
            _check_text("description", description)
        self._item(codes.ITEM_STATUS, code, (description or "") if code == codes.STATUS_ERROR else "")

    def record_exception(self, exc: BaseException) -> None:
        """Records ``exc`` as an ``exception`` event (type, message, stack
        trace) and sets the status to error."""
        if not isinstance(exc, BaseException):
            raise InvalidArgument(f"record_exception takes an exception, not {type(exc).__name__}")
        if not self._writable():
            return
        stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        kind = type(exc)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        self._item(codes.ITEM_ERROR, name, str(exc), stack)

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
        given = (
            ("provider", provider),
            ("request_model", request_model),
            ("response_model", response_model),
            ("response_id", response_id),
        )
        for name, value in given:
            if value is not None:
                _check_text(name, value)
        reasons = _texts("finish_reasons", finish_reasons) if finish_reasons is not None else []
        self._item(codes.ITEM_LLM, *(value or "" for _, value in given), reasons)

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
        self._item(codes.ITEM_USAGE, *counts)

    def set_messages(self, input: Any = None, output: Any = None) -> None:
        """Input and output messages (JSON-serializable, usually lists of
        ``{"role", "content"}``). Recorded only when content capture is on
        (``capture_content=True``), then redacted by the tracer's rules."""
        texts = ["" if v is None else _json("messages", v) for v in (input, output)]
        self._item(codes.ITEM_MESSAGES, *texts)

    def set_tool(self, name: str, call_id: Optional[str] = None) -> None:
        _check_text("name", name)
        if call_id is not None:
            _check_text("call_id", call_id)
        self._item(codes.ITEM_TOOL, name, call_id or "")

    def set_agent(self, name: str, id: Optional[str] = None) -> None:
        _check_text("name", name)
        if id is not None:
            _check_text("id", id)
        self._item(codes.ITEM_AGENT, name, id or "")

    def __repr__(self) -> str:
        state = "ended" if self.is_ended else ("live" if self.is_recording() else "non-recording")
        return f"<agtrace.Span {state}>"


Parent = Union[Span, SpanContext, None]

#: The current span (or remote parent) of this context.
current: ContextVar[Parent] = ContextVar("agtrace.current", default=None)


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


_reported: set[int] = set()


def _report(status: int, message: str) -> None:
    """A call into the library failed at run time (a value the core refused,
    the tracer shut down): logged once per kind, never raised."""
    if status == codes.ERROR_SHUT_DOWN:
        log.debug("agtrace: %s", message or "the tracer was shut down")
    elif status not in _reported:
        _reported.add(status)
        log.warning("agtrace: %s (status %d; further errors of this kind are not logged)", message, status)


def _misuse(message: str) -> None:
    log.warning("agtrace: %s", message)


_dropped_problems: set[str] = set()


def _strict() -> bool:
    return os.environ.get("AGTRACE_STRICT", "").strip().lower() in ("1", "true", "yes", "on")


def _dropped(problem: str, key: object) -> None:
    """An attribute that cannot be recorded (a bad key; a value whose
    conversion failed): dropped, that attribute only, and logged once per
    problem; raised as InvalidArgument when ``AGTRACE_STRICT`` is true."""
    message = f"attribute {_record.describe(key)} dropped: {problem}"
    if _strict():
        raise InvalidArgument(message)
    if problem not in _dropped_problems:
        _dropped_problems.add(problem)
        log.warning("agtrace: %s (further attributes dropped for this reason are not logged)", message)


fastpath._configure(
    span_class=Span,
    invalid_argument=InvalidArgument,
    current=current,
    session=_session.current,
    kind_of=span_kind,
    convert=_record.attribute_item,
    dropped=_dropped,
    report=_report,
    misuse=_misuse,
    error_of=_errors.from_status,
    mapping_abc=Mapping,
)

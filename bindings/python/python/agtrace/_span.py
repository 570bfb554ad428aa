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
import traceback
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Literal, Optional, Union

from . import _codes as codes
from . import _capture, _errors, _links, _record, _session
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

    Its methods never raise into the application. Attribute values of any
    type are accepted (see agtrace._record). Misuse (an attribute, event or
    span name that is no non-empty str, an argument a method cannot use, a
    value that cannot be recorded, recording on or ending an ended span) is
    ignored, counted in the tracer's ``stats().misuse`` and logged once per
    kind; in strict mode (``AGTRACE_STRICT``) it raises
    :class:`agtrace.InvalidArgument` instead. A span that is
    garbage-collected without being ended is exported then with everything
    recorded on it, marked abandoned.

    A span may be shared between threads; calls are serialized by the GIL.
    """

    __slots__ = ()

    def update_name(self, name: str) -> None:
        problem = _text_problem("name", name) or ("" if name else "name must not be empty")
        if problem:
            return self._misuse(codes.MISUSE_BAD_NAME, problem)
        self._item(codes.ITEM_NAME, name)

    def set_status(self, status: StatusCode, description: Optional[str] = None) -> None:
        """``"ok"`` is final; ``"error"`` takes a description."""
        code = _STATUS.get(status) if isinstance(status, str) else None
        if code is None:
            return self._misuse(codes.MISUSE_BAD_CALL, f"status must be 'unset', 'ok' or 'error', not {status!r}")
        if description is not None:
            problem = _text_problem("description", description)
            if problem:
                return self._misuse(codes.MISUSE_BAD_CALL, problem)
        self._item(codes.ITEM_STATUS, code, (description or "") if code == codes.STATUS_ERROR else "")

    def record_exception(self, exc: BaseException) -> None:
        """Records ``exc`` as an ``exception`` event (type, message, stack
        trace) and sets the status to error."""
        if not isinstance(exc, BaseException):
            return self._misuse(
                codes.MISUSE_BAD_CALL, f"record_exception takes an exception, not {type(exc).__name__}"
            )
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
        problems = [_text_problem(name, value) for name, value in given if value is not None]
        if finish_reasons is not None:
            problems.append(_texts_problem("finish_reasons", finish_reasons))
        problem = next((p for p in problems if p), None)
        if problem:
            return self._misuse(codes.MISUSE_BAD_CALL, problem)
        reasons = list(finish_reasons) if finish_reasons is not None else []
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
                return self._misuse(codes.MISUSE_BAD_CALL, f"token counts must be non-negative ints, got {n!r}")
        self._item(codes.ITEM_USAGE, *counts)

    def set_messages(self, input: Any = None, output: Any = None) -> None:
        """Input and output messages (JSON-serializable, usually lists of
        ``{"role", "content"}``). Recorded only when content capture is on
        (``capture_content=True``), then redacted by the tracer's rules.
        The tracer's mask, if any, is applied to each first (a side it
        fails on is left out). Messages that are not JSON-serializable are
        misuse (a value that cannot be recorded)."""
        try:
            texts = ["" if v is None else _json(v) for v in (input, output)]
        except (TypeError, ValueError) as e:
            return self._misuse(codes.MISUSE_BAD_VALUE, f"messages: {e}")
        tracer = self._tracer
        if tracer is not None and tracer.mask is not None and self.is_recording():
            texts = [t and _masked_messages(tracer, t, which) for t, which in zip(texts, ("input", "output"))]
        self._item(codes.ITEM_MESSAGES, *texts)

    def set_tool(self, name: str, call_id: Optional[str] = None) -> None:
        problem = _text_problem("name", name)
        if problem:
            return self._misuse(codes.MISUSE_BAD_NAME, problem)
        problem = _text_problem("call_id", call_id) if call_id is not None else None
        if problem:
            return self._misuse(codes.MISUSE_BAD_CALL, problem)
        self._item(codes.ITEM_TOOL, name, call_id or "")

    def set_agent(self, name: str, id: Optional[str] = None) -> None:
        problem = _text_problem("name", name)
        if problem:
            return self._misuse(codes.MISUSE_BAD_NAME, problem)
        problem = _text_problem("id", id) if id is not None else None
        if problem:
            return self._misuse(codes.MISUSE_BAD_CALL, problem)
        self._item(codes.ITEM_AGENT, name, id or "")

    def add_link(self, context: object, attributes: Optional[Mapping[str, Any]] = None) -> None:
        """Links this span to another (a :class:`SpanContext`, a span, or an
        OpenTelemetry span context; see agtrace._links), with optional
        attributes: exported with the span's end. Links known at the start
        go in ``links=`` there."""
        self._add_links(((context, attributes),))

    def __repr__(self) -> str:
        state = "ended" if self.is_ended else ("live" if self.is_recording() else "non-recording")
        return f"<agtrace.Span {state}>"


Parent = Union[Span, SpanContext, None]

#: The current span (or remote parent) of this context.
current: ContextVar[Parent] = ContextVar("agtrace.current", default=None)


def _text_problem(what: str, value: object) -> Optional[str]:
    """What is wrong with ``value`` as text (a str without NUL), or None."""
    if type(value) is not str:
        return f"{what} must be a str, not {type(value).__name__}"
    if "\0" in value:
        return f"{what} {value!r} contains a NUL character"
    return None


def _texts_problem(what: str, values: object) -> Optional[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        return f"{what} must be a list of str, not a {type(values).__name__}"
    return next((p for p in (_text_problem(what, v) for v in values) if p), None)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_unsupported)


def _masked_messages(tracer: Any, text: str, which: str) -> str:
    """Messages' JSON text through the tracer's mask ("" when it dropped
    them). The mask gets them as JSON-ready Python, as captured values."""
    masked = _capture.masked(tracer, json.loads(text), f"{which} messages")
    return "" if masked is _capture.DROPPED else _record.json_text(masked)


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


def misuse(tracer: Any, kind: int, detail: str) -> None:
    """Misuse the SDK detected in Python (a ``MISUSE_*`` kind of
    agtrace._codes): counted by ``tracer`` (None: the default tracer),
    logged once per kind; raised as InvalidArgument in strict mode."""
    fastpath._misuse(tracer, kind, detail)


fastpath._configure(
    span_class=Span,
    invalid_argument=InvalidArgument,
    current=current,
    session=_session.current,
    kind_of=span_kind,
    convert=_record.attribute_item,
    links=_links.encode,
    describe=_record.describe,
    report=_report,
    error_of=_errors.from_status,
    mapping_abc=Mapping,
)

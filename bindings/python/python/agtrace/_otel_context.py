"""The OpenTelemetry side of the bridge (see agtrace._otel): imported only
once the application has imported ``opentelemetry.trace``.

OpenTelemetry reads its current context through one replaceable object,
``opentelemetry.context._RUNTIME_CONTEXT`` (contextvars-based by default).
:func:`install` wraps it: attach and detach go to the original, and
:meth:`BridgedRuntimeContext.get_current` returns the original's context,
with its span replaced by an :class:`AgtraceSpan` while agtrace's current
span is the innermost (the rule is the extension's, ``_otel_shows``). Only
reads pay for the bridge; agtrace's spans do no OpenTelemetry work on enter
or exit.
"""

from __future__ import annotations

from contextvars import Token
from typing import Optional

from opentelemetry import context as otel_context
from opentelemetry.context.context import Context, _RuntimeContext
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import NonRecordingSpan, TraceFlags, TraceState
from opentelemetry.trace import SpanContext as OtelSpanContext
from opentelemetry.trace.propagation import _SPAN_KEY

from . import _otel
from ._native import fastpath
from ._span import Parent, Span, SpanContext, current, log
from ._tracer import Tracer


class AgtraceSpan(NonRecordingSpan):
    """OpenTelemetry's current span while an agtrace span or context is the
    innermost: its ids, sampled flag and trace state. ``agtrace`` is what it
    stands for, the parent of agtrace spans started under it."""

    def __init__(self, agtrace: Parent, context: SpanContext) -> None:
        super().__init__(
            OtelSpanContext(
                trace_id=int(context.trace_id, 16),
                span_id=int(context.span_id, 16),
                is_remote=False,
                trace_flags=TraceFlags(TraceFlags.SAMPLED if context.sampled else TraceFlags.DEFAULT),
                trace_state=_trace_state(context),
            )
        )
        self.agtrace = agtrace


def _trace_state(context: SpanContext) -> TraceState:
    tracer = _otel.headers_tracer()
    if not context._carries_state or tracer is None:
        return TraceState()
    header = tracer.inject(span=context).get("tracestate")
    return TraceState.from_header([header]) if header else TraceState()


class BridgedRuntimeContext(_RuntimeContext):
    """OpenTelemetry's runtime context, showing agtrace's current span when
    it is the innermost."""

    def __init__(self, inner: _RuntimeContext) -> None:
        self.inner = inner

    def attach(self, context: Context) -> Token[Context]:
        return self.inner.attach(context)

    def detach(self, token: Token[Context]) -> None:
        self.inner.detach(token)

    def get_current(self) -> Context:
        context = self.inner.get_current()
        shown = current.get()
        if shown is None or not fastpath._otel_shows(shown, context.get(_SPAN_KEY)):
            return context
        try:
            ids = shown.context if isinstance(shown, Span) else shown
            if ids is None:
                return context
            return otel_context.set_value(_SPAN_KEY, AgtraceSpan(shown, ids), context)
        except Exception as e:  # never into the application
            _failed(e)
            return context


def parent_of(tracer: Tracer, span: object) -> Optional[SpanContext]:
    """The agtrace parent for an OpenTelemetry span (None when it has no
    valid context): its ids and flags, and its trace state when it has one
    and the tracer reads W3C trace context."""
    try:
        get_context = getattr(span, "get_span_context", None)
        c = get_context() if get_context is not None else None
        if not isinstance(c, OtelSpanContext) or not c.is_valid:
            return None
        state = None
        if c.trace_state:
            traceparent = f"00-{c.trace_id:032x}-{c.span_id:016x}-{c.trace_flags:02x}"
            state = tracer.extract({"traceparent": traceparent, "tracestate": c.trace_state.to_header()})
        return fastpath._otel_context(c.trace_id.to_bytes(16, "big"), c.span_id.to_bytes(8, "big"), c.trace_flags, state)
    except Exception as e:  # never into the application
        _failed(e)
        return None


_failures: set[type] = set()


def _failed(e: Exception) -> None:
    if type(e) not in _failures:
        _failures.add(type(e))
        log.warning("agtrace: OpenTelemetry bridge: %r (further errors of this kind are not logged)", e)


def install() -> None:
    """Wraps OpenTelemetry's runtime context and gives the extension what
    its hot path reads (once per process)."""
    runtime = otel_context._RUNTIME_CONTEXT
    # The default runtime context's ContextVar is read directly: no Python
    # frame per span start.
    get = (
        runtime._current_context.get if type(runtime) is ContextVarsRuntimeContext else runtime.get_current
    )
    otel_context._RUNTIME_CONTEXT = BridgedRuntimeContext(runtime)
    fastpath._otel_configure(get=get, key=_SPAN_KEY, marker=AgtraceSpan, parent_of=parent_of)

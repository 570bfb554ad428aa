"""agtrace: tracing for AI agents and LLM applications, on one Rust core.

    import agtrace

    agtrace.init(service_name="my-agent", exporters=["console"])

    @agtrace.tool
    def search(query: str) -> list[str]: ...

    with agtrace.span("plan", kind=agtrace.SpanKind.AGENT, attributes={"step": 1}) as s:
        s.set_llm(provider="openai", request_model="gpt-4o")
        s.set_usage(input_tokens=120, output_tokens=40)

The module-level functions act on the default tracer made by :func:`init`;
before ``init`` spans record nothing and cost almost nothing. Explicit
:class:`Tracer` instances work beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Optional, Union

from . import _lifecycle
from ._context import ContextThreadPoolExecutor, bind, current_span, use_span
from ._conversation import Conversation, conversation
from ._decorators import agent, llm, tool, trace, workflow
from ._errors import (
    AgtraceError,
    AlreadyEnded,
    ExporterError,
    InternalError,
    InvalidArgument,
    InvalidConfig,
    ShutDown,
    Timeout,
    Undelivered,
)
from ._native import fastpath
from ._session import session
from ._span import Parent, Span, SpanContext, SpanKind
from ._tracer import _CURRENT, ExporterStats, Stats, Tracer
from ._instrument import instrument, uninstrument, wrap, wrap_function

if TYPE_CHECKING:
    from ._instrument._langchain import LangChainHandler

__all__ = [
    "AgtraceError",
    "AlreadyEnded",
    "ContextThreadPoolExecutor",
    "Conversation",
    "ExporterError",
    "ExporterStats",
    "InternalError",
    "InvalidArgument",
    "InvalidConfig",
    "LangChainHandler",
    "ShutDown",
    "Span",
    "SpanContext",
    "SpanKind",
    "Stats",
    "Timeout",
    "Undelivered",
    "Tracer",
    "add_tags",
    "agent",
    "bind",
    "conversation",
    "current_span",
    "extract",
    "flush",
    "get_config",
    "init",
    "inject",
    "instrument",
    "is_active",
    "llm",
    "session",
    "set_config",
    "shutdown",
    "span",
    "start_span",
    "stats",
    "tool",
    "trace",
    "uninstrument",
    "update_redaction_rules",
    "use_span",
    "workflow",
    "wrap",
    "wrap_function",
]

__version__: str = fastpath.library_version()


def init(
    service_name: Optional[str] = None,
    exporters: Union[str, list[str], None] = None,
    *,
    ignore_env: bool = False,
    exit_timeout: float = 5.0,
    mask: Optional[Callable[[Any], Any]] = None,
    **settings: Any,
) -> Tracer:
    """Creates the default tracer (see :class:`Tracer` for settings) and
    returns it. With no arguments it is configured from the environment
    (``OTEL_*``/``AGTRACE_*`` variables and ``AGTRACE_CONFIG``), as the core
    reads it. ``mask`` masks captured inputs, outputs and message content
    (see :class:`Tracer`). Calling ``init`` again replaces the default
    tracer; the old one is shut down (flushing its spans)."""
    new = Tracer(service_name, exporters, ignore_env=ignore_env, exit_timeout=exit_timeout, mask=mask, **settings)
    old = _lifecycle.install(new)
    if old is not None:
        old.shutdown(old.exit_timeout)
    return new


def _tracer() -> Tracer:
    t = _lifecycle.tracer()
    if t is None:
        raise AgtraceError("agtrace is not initialized: call agtrace.init() first")
    return t


def is_active() -> bool:
    """True when ``init`` has been called and the tracer is not shut down."""
    t = _lifecycle.tracer()
    return t is not None and not t.is_shut_down()


#: ``span(name, kind=SpanKind.PLAIN, attributes=None, *, parent=...)``:
#: starts a span on the default tracer; see :class:`Tracer`. Use it in a
#: ``with`` block, or end it with :meth:`Span.end`. Before :func:`init` it
#: returns a span that records nothing.
span = fastpath.span

start_span = span


def flush(timeout: float = 5.0) -> bool:
    """Waits up to ``timeout`` seconds for ended spans to be delivered;
    False if some were not. True when not initialized."""
    t = _lifecycle.tracer()
    return True if t is None else t.flush(timeout)


def shutdown(timeout: float = 5.0) -> bool:
    """Flushes and stops the default tracer; see :meth:`Tracer.shutdown`."""
    t = _lifecycle.tracer()
    return True if t is None else t.shutdown(timeout)


def stats() -> Stats:
    """The default tracer's counters."""
    return _tracer().stats()


def inject(
    carrier: Optional[MutableMapping[str, str]] = None, *, span: Parent = _CURRENT
) -> MutableMapping[str, str]:
    """Writes propagation headers for the current span (or ``span``) into
    ``carrier`` and returns it; see :meth:`Tracer.inject`."""
    t = _lifecycle.tracer()
    if t is None:
        return {} if carrier is None else carrier
    return t.inject(carrier, span=span)


def extract(carrier: Mapping[str, str]) -> Optional[SpanContext]:
    """The remote parent in ``carrier``, or None; see :meth:`Tracer.extract`."""
    t = _lifecycle.tracer()
    return None if t is None else t.extract(carrier)


def get_config() -> dict[str, Any]:
    """The default tracer's effective configuration."""
    return _tracer().get_config()


def set_config(**changes: Any) -> None:
    """Changes live settings of the default tracer; see :meth:`Tracer.set_config`."""
    _tracer().set_config(**changes)


def update_redaction_rules(**rules: Any) -> None:
    """Changes redaction rules of the default tracer; see
    :meth:`Tracer.update_redaction_rules`."""
    _tracer().update_redaction_rules(**rules)


def add_tags(*tags: str) -> None:
    """Adds tags to every span the default tracer exports from now on."""
    _tracer().add_tags(*tags)


def __getattr__(name: str) -> Any:
    # LangChainHandler subclasses langchain_core's handler, so it is imported
    # on first use: ``import agtrace`` must not import LangChain.
    if name == "LangChainHandler":
        from ._instrument._langchain import LangChainHandler

        return LangChainHandler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

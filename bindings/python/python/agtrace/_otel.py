"""One trace with OpenTelemetry: whether and when the bridge is installed.

A tracer made with ``otel_bridge`` on (``AGTRACE_OTEL_BRIDGE``, the default)
bridges its spans with the OpenTelemetry API's context when the application
uses that API:

* a span started without ``parent=`` while an OpenTelemetry span is the
  innermost current span is that span's child (its trace, sampled flag and
  trace state);
* while one of its spans (or a context it extracted) is the innermost current
  span, OpenTelemetry's current span stands for it
  (``opentelemetry.trace.get_current_span().get_span_context()`` gives its
  ids), so OpenTelemetry instrumentation nests its spans under it and its
  propagators inject its ``traceparent``.

Which is innermost: each span keeps the OpenTelemetry span that was current
when it started. agtrace's current span is innermost while OpenTelemetry's
current span is still that one; once another is current there (an
OpenTelemetry span started inside it), that one is. Both live in
``contextvars``, so this holds per thread and per asyncio task.

Nothing is imported here. With OpenTelemetry not installed a tracer does
nothing more. Installed, each span start of a bridged tracer checks whether
the application has imported ``opentelemetry.trace`` (a dictionary lookup);
the first that finds it installs the bridge (agtrace._otel_context), once per
process. Spans started before then stay apart from OpenTelemetry.
"""

from __future__ import annotations

import importlib.util
import sys
import weakref
from typing import TYPE_CHECKING, Optional

from ._native import fastpath
from ._span import log

if TYPE_CHECKING:
    from ._tracer import Tracer


_last: Optional[weakref.ref[Tracer]] = None


def enable(tracer: Tracer) -> None:
    """Bridges ``tracer``'s spans, if the OpenTelemetry API is installed."""
    global _last
    if "opentelemetry.trace" not in sys.modules and not _installed():
        return
    tracer._bridge_otel()
    _last = weakref.ref(tracer)
    fastpath._otel_watch(_install)


def headers_tracer() -> Optional[Tracer]:
    """A tracer to write and read W3C headers with, for trace state that
    crosses the bridge with no tracer at hand: the last bridged one."""
    return None if _last is None else _last()


def _installed() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry") is not None
    except (ImportError, ValueError):
        return False


def _install() -> None:
    try:
        from . import _otel_context

        _otel_context.install()
    except Exception as e:  # an OpenTelemetry API this bridge cannot use
        log.warning("agtrace: not bridged with OpenTelemetry: %s", e)

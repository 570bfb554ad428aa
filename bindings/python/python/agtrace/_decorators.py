"""Decorators that trace a function as a span: plain, ``async``, generator
and async generator functions.

A generator's span starts at its first step and ends when it is exhausted,
closed early (``break`` out of a ``for`` loop closes it) or garbage
collected. While the generator runs, its span is current; between steps the
caller's context is untouched, so the consumer's own spans do not nest under
the generator's.

Inputs and outputs: unless ``AGTRACE_CAPTURE_IO=false`` (or the decorator's
``capture_input=False``/``capture_output=False``), a recording span gets the
call's arguments by parameter name (defaults applied, a first ``self`` or
``cls`` left out) as ``input.value``, and the return value as
``output.value`` (a generator's: what it yielded, the first
:data:`MAX_YIELDS` items and a marker counting the rest), each with its
``*.mime_type``: ``text/plain`` for a value that converts to a string, else
``application/json``. Tool spans also get ``gen_ai.tool.call.arguments`` and
``gen_ai.tool.call.result`` (JSON). Values are converted as attribute values
are (agtrace._record), which never raises, and passed through the tracer's
mask (agtrace._capture); capture calls nothing on the arguments beyond that.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any, Optional, TypeVar, Union, overload

from . import _capture, _lifecycle, _record
from ._record import Attributes
from ._span import Span, SpanKind, current
from ._errors import InvalidArgument
from ._tracer import Tracer, span_kind

F = TypeVar("F", bound=Callable[..., Any])


#: How many of a generator's yielded items its recorded output keeps.
MAX_YIELDS = 100

class _Options:
    __slots__ = (
        "name", "kind", "attributes", "tracer", "capture_input", "capture_output", "links", "signature", "skip",
        "names", "defaults",
    )

    def __init__(
        self,
        name: str,
        kind: SpanKind,
        attributes: Optional[Attributes],
        tracer: Optional[Tracer],
        fn: Callable[..., Any],
        capture_input: bool = True,
        capture_output: bool = True,
        links: Optional[Sequence[object]] = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.attributes = attributes
        self.tracer = tracer
        self.capture_input = capture_input
        self.capture_output = capture_output
        self.links = links
        self.signature: Optional[inspect.Signature] = None
        #: The parameter left out of the input: a first ``self`` or ``cls``.
        self.skip: Optional[str] = None
        #: When every parameter is positional-or-keyword (most functions):
        #: their names and defaults, to bind a call without the signature.
        self.names: Optional[tuple[str, ...]] = None
        self.defaults: dict[str, Any] = {}
        if capture_input:
            try:
                self.signature = inspect.signature(fn)
            except Exception:  # builtins and odd callables: positional/keyword lists
                pass
            else:
                first = next(iter(self.signature.parameters.values()), None)
                positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                if first is not None and first.name in ("self", "cls") and first.kind in positional:
                    self.skip = first.name
                parameters = self.signature.parameters.values()
                if all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters):
                    self.names = tuple(p.name for p in parameters)
                    self.defaults = {p.name: p.default for p in parameters if p.default is not p.empty}

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Optional[Span], Optional[Tracer]]:
        """The call's span (None before ``init``), its input recorded, and
        the tracer to record its output through (None: not recorded)."""
        tracer = self.tracer or _lifecycle.tracer()
        if tracer is None:
            return None, None
        span = tracer.span(self.name, self.kind, self.attributes, links=self.links)
        if not tracer.capture_io or not span.is_recording():
            return span, None
        if self.capture_input:
            try:
                self.record(span, tracer, "input", self._arguments(args, kwargs))
            except BaseException as e:  # strict mode's misuse: the call is not made
                with span:
                    raise e
        return span, tracer if self.capture_output else None

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        names = self.names
        if names is not None and len(args) <= len(names) and all(k in names[len(args):] for k in kwargs):
            given = {**dict(zip(names, args)), **kwargs}
            if all(n in given or n in self.defaults for n in names):
                return {n: given[n] if n in given else self.defaults[n] for n in names if n != self.skip}
        if self.signature is not None:
            try:
                bound = self.signature.bind(*args, **kwargs)
            except TypeError:
                pass  # the call itself will fail; record what it was given
            else:
                bound.apply_defaults()
                return {k: v for k, v in bound.arguments.items() if k != self.skip}
        return {"args": list(args[1:] if self.skip else args), "kwargs": dict(kwargs)}

    def record(self, span: Span, tracer: Tracer, which: str, value: object) -> None:
        """``value`` as the span's input or output (agtrace._capture); on a
        tool span also as the tool call's arguments or result."""
        tool_key = None
        if self.kind == SpanKind.TOOL:
            tool_key = "gen_ai.tool.call.arguments" if which == "input" else "gen_ai.tool.call.result"
        _capture.record(span, tracer, which, value, tool_key)


class _Yields:
    """A generator's yielded items, converted as they pass (so later changes
    to them do not show and none is kept alive), bounded."""

    __slots__ = ("items", "more")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.more = 0

    def add(self, item: object) -> None:
        if len(self.items) < MAX_YIELDS:
            self.items.append(_record.plain(item))
        else:
            self.more += 1

    def value(self) -> list[Any]:
        return (self.items + [f"<{self.more} more items>"]) if self.more else self.items


def _decorate(fn: F, o: _Options) -> F:
    if inspect.isasyncgenfunction(fn):
        return _async_generator(fn, o)  # type: ignore[return-value]
    if inspect.isgeneratorfunction(fn):
        return _generator(fn, o)  # type: ignore[return-value]
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            span, output = o.start(args, kwargs)
            if span is None:
                return await fn(*args, **kwargs)
            with span:
                result = await fn(*args, **kwargs)
                if output is not None:
                    o.record(span, output, "output", result)
                return result

        return traced_async  # type: ignore[return-value]

    @functools.wraps(fn)
    def traced(*args: Any, **kwargs: Any) -> Any:
        span, output = o.start(args, kwargs)
        if span is None:
            return fn(*args, **kwargs)
        with span:
            result = fn(*args, **kwargs)
            if output is not None:
                o.record(span, output, "output", result)
            return result

    return traced  # type: ignore[return-value]


def _generator(fn: Callable[..., Generator[Any, Any, Any]], o: _Options) -> Callable[..., Any]:
    @functools.wraps(fn)
    def traced_generator(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        span, output = o.start(args, kwargs)
        yields = _Yields() if output is not None else None
        inner = fn(*args, **kwargs)
        if span is None:
            return (yield from inner)
        try:
            sent: Any = None
            thrown: Optional[BaseException] = None
            while True:
                token = current.set(span)
                try:
                    item = inner.throw(thrown) if thrown is not None else inner.send(sent)
                except StopIteration as stop:
                    return stop.value
                finally:
                    current.reset(token)
                thrown = None
                if yields is not None:
                    yields.add(item)
                try:
                    sent = yield item
                except GeneratorExit:
                    inner.close()
                    raise
                except BaseException as e:  # passed on to the inner generator
                    thrown = e
        except BaseException as e:
            if not isinstance(e, GeneratorExit):
                span.record_exception(e)
            raise
        finally:
            if output is not None and yields is not None:
                o.record(span, output, "output", yields.value())
            span.end()

    return traced_generator


def _async_generator(fn: Callable[..., AsyncGenerator[Any, Any]], o: _Options) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def traced_async_generator(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        span, output = o.start(args, kwargs)
        yields = _Yields() if output is not None else None
        inner = fn(*args, **kwargs)
        if span is None:
            async for item in inner:
                yield item
            return
        try:
            sent: Any = None
            thrown: Optional[BaseException] = None
            while True:
                token = current.set(span)
                try:
                    if thrown is not None:
                        item = await inner.athrow(thrown)
                    else:
                        item = await inner.asend(sent)
                except StopAsyncIteration:
                    return
                finally:
                    current.reset(token)
                thrown = None
                if yields is not None:
                    yields.add(item)
                try:
                    sent = yield item
                except GeneratorExit:
                    await inner.aclose()
                    raise
                except BaseException as e:  # passed on to the inner generator
                    thrown = e
        except BaseException as e:
            if not isinstance(e, GeneratorExit):
                span.record_exception(e)
            raise
        finally:
            if output is not None and yields is not None:
                o.record(span, output, "output", yields.value())
            span.end()

    return traced_async_generator


class SpanDecorator:
    """Traces a function as a span named after it (or ``name=``). Works bare
    (``@agtrace.trace``) or with options (``@agtrace.trace(name=...,
    kind=..., attributes=..., tracer=...)``), on plain, ``async``, generator
    and async generator functions. Exceptions are recorded and re-raised.
    The call's arguments and result are recorded (see the module doc) unless
    ``capture_input=False``/``capture_output=False``. ``links=`` links every
    call's span to the spans it names (see :meth:`Tracer.span`). Costs one
    check per call when agtrace is not initialized."""

    def __init__(self, kind: SpanKind) -> None:
        self._kind = kind

    @overload
    def __call__(self, fn: F, /) -> F: ...

    @overload
    def __call__(
        self,
        fn: None = None,
        /,
        *,
        name: Optional[str] = None,
        kind: Union[SpanKind, str, None] = None,
        attributes: Optional[Attributes] = None,
        tracer: Optional[Tracer] = None,
        capture_input: bool = True,
        capture_output: bool = True,
        links: Optional[Sequence[object]] = None,
    ) -> Callable[[F], F]: ...

    def __call__(
        self,
        fn: Optional[Callable[..., Any]] = None,
        /,
        *,
        name: Optional[str] = None,
        kind: Union[SpanKind, str, None] = None,
        attributes: Optional[Attributes] = None,
        tracer: Optional[Tracer] = None,
        capture_input: bool = True,
        capture_output: bool = True,
        links: Optional[Sequence[object]] = None,
    ) -> Any:
        chosen = self._kind if kind is None else span_kind(kind)
        if name is not None and (type(name) is not str or not name):
            raise InvalidArgument(f"name must be a non-empty str, got {name!r}")

        def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
            if not callable(f):
                raise InvalidArgument(f"can only trace callables, not {type(f).__name__}")
            options = _Options(
                name or f.__qualname__, chosen, attributes, tracer, f, bool(capture_input), bool(capture_output), links
            )
            return _decorate(f, options)

        return wrap if fn is None else wrap(fn)


trace = SpanDecorator(SpanKind.PLAIN)
agent = SpanDecorator(SpanKind.AGENT)
tool = SpanDecorator(SpanKind.TOOL)
llm = SpanDecorator(SpanKind.LLM)
workflow = SpanDecorator(SpanKind.WORKFLOW)

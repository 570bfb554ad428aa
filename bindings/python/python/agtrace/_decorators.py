"""Decorators that trace a function as a span: plain, ``async``, generator
and async generator functions.

A generator's span starts at its first step and ends when it is exhausted,
closed early (``break`` out of a ``for`` loop closes it) or garbage
collected. While the generator runs, its span is current; between steps the
caller's context is untouched, so the consumer's own spans do not nest under
the generator's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Optional, TypeVar, Union, overload

from . import _lifecycle
from ._record import Attributes
from ._span import Span, SpanKind, current
from ._errors import InvalidArgument
from ._tracer import Tracer, span_kind

F = TypeVar("F", bound=Callable[..., Any])


class _Options:
    __slots__ = ("name", "kind", "attributes", "tracer")

    def __init__(
        self, name: str, kind: SpanKind, attributes: Optional[Attributes], tracer: Optional[Tracer]
    ) -> None:
        self.name = name
        self.kind = kind
        self.attributes = attributes
        self.tracer = tracer

    def start(self) -> Optional[Span]:
        tracer = self.tracer or _lifecycle.tracer()
        if tracer is None:
            return None
        return tracer.span(self.name, self.kind, self.attributes)


def _decorate(fn: F, o: _Options) -> F:
    if inspect.isasyncgenfunction(fn):
        return _async_generator(fn, o)  # type: ignore[return-value]
    if inspect.isgeneratorfunction(fn):
        return _generator(fn, o)  # type: ignore[return-value]
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            span = o.start()
            if span is None:
                return await fn(*args, **kwargs)
            with span:
                return await fn(*args, **kwargs)

        return traced_async  # type: ignore[return-value]

    @functools.wraps(fn)
    def traced(*args: Any, **kwargs: Any) -> Any:
        span = o.start()
        if span is None:
            return fn(*args, **kwargs)
        with span:
            return fn(*args, **kwargs)

    return traced  # type: ignore[return-value]


def _generator(fn: Callable[..., Generator[Any, Any, Any]], o: _Options) -> Callable[..., Any]:
    @functools.wraps(fn)
    def traced_generator(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        span = o.start()
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
            span.end()

    return traced_generator


def _async_generator(fn: Callable[..., AsyncGenerator[Any, Any]], o: _Options) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def traced_async_generator(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        span = o.start()
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
            span.end()

    return traced_async_generator


class SpanDecorator:
    """Traces a function as a span named after it (or ``name=``). Works bare
    (``@agtrace.trace``) or with options (``@agtrace.trace(name=...,
    kind=..., attributes=..., tracer=...)``), on plain, ``async``, generator
    and async generator functions. Exceptions are recorded and re-raised.
    Costs one check per call when agtrace is not initialized."""

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
    ) -> Any:
        chosen = self._kind if kind is None else span_kind(kind)
        if name is not None and (type(name) is not str or not name):
            raise InvalidArgument(f"name must be a non-empty str, got {name!r}")

        def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
            if not callable(f):
                raise InvalidArgument(f"can only trace callables, not {type(f).__name__}")
            return _decorate(f, _Options(name or f.__qualname__, chosen, attributes, tracer))

        return wrap if fn is None else wrap(fn)


trace = SpanDecorator(SpanKind.PLAIN)
agent = SpanDecorator(SpanKind.AGENT)
tool = SpanDecorator(SpanKind.TOOL)
llm = SpanDecorator(SpanKind.LLM)
workflow = SpanDecorator(SpanKind.WORKFLOW)

"""What every integration shares: patching and restoring attributes, starting
a provider call's span (or filling in a framework's), and keeping a span open
over a streamed response.

A stream's span ends when the stream is exhausted, fails, is closed (its
``close``, or leaving its ``with`` block), or is garbage-collected; until
then the span is not current anywhere, so the caller's spans between chunks
do not nest under it.
"""

from __future__ import annotations

import inspect
import json
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from typing import Any, Optional, Union

from .. import _lifecycle
from .._span import Span, SpanKind, current
from .._tracer import Tracer

log = logging.getLogger("agtrace")

#: Set while an instrumented provider method runs, so that a method it calls
#: (``with_raw_response`` calling ``create``, a client both ``wrap``ped and
#: globally instrumented) does not open a second span.
in_call: ContextVar[bool] = ContextVar("agtrace.instrument.in_call", default=False)


class Claim:
    """An LLM span a framework opened (a LangChain chat model run). The first
    provider call made while it is the current span records its request and
    response on it instead of opening a nested LLM span, so one model call is
    one span and its usage is counted once; ``filled`` tells the framework
    that the provider's own numbers are there."""

    __slots__ = ("span", "filled")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.filled = False


claim: ContextVar[Optional[Claim]] = ContextVar("agtrace.instrument.claim", default=None)


# -- patching ------------------------------------------------------------------

_MISSING = object()


class Patches:
    """Attributes replaced on classes or objects, restorable exactly: the
    original object is put back (or the attribute removed again when it was
    inherited)."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def replace(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        """Replaces ``owner.name`` with ``make(original)``, where original is
        the attribute as found on ``owner`` (through its class for an
        instance, unbound for a class)."""
        own = vars(owner).get(name, _MISSING) if hasattr(owner, "__dict__") else _MISSING
        original = own if own is not _MISSING and isinstance(owner, type) else getattr(owner, name)
        replacement = make(original)
        replacement.__wrapped__ = original
        replacement._agtrace_patch = True
        setattr(owner, name, replacement)
        self._saved.append((owner, name, own))

    def restore(self) -> None:
        for owner, name, own in reversed(self._saved):
            if own is _MISSING:
                try:
                    delattr(owner, name)
                except AttributeError:
                    pass
            else:
                setattr(owner, name, own)
        self._saved.clear()


def is_patched(value: Any) -> bool:
    return bool(getattr(value, "_agtrace_patch", False))


# -- spans of provider calls ------------------------------------------------------


class Call:
    """The span of one provider call: our own (ended by :meth:`finish`) or a
    framework's claimed one (left for the framework to end)."""

    __slots__ = ("span", "owned", "first_chunk")

    def __init__(self, span: Span, owned: bool) -> None:
        self.span = span
        self.owned = owned
        self.first_chunk = False

    def chunk(self) -> None:
        if not self.first_chunk:
            self.first_chunk = True
            self.span.mark_first_chunk()

    def fail(self, exc: BaseException) -> None:
        guard(self.span.record_exception, exc)
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            self.span.set_attributes({"http.response.status_code": status, "error.type": str(status)})
        else:
            self.span.set_attribute("error.type", type(exc).__qualname__)
        self.finish()

    def finish(self) -> None:
        if self.owned and not self.span.is_ended:
            self.span.end()


def start_call(
    tracer: Optional[Tracer], name: str, kind: SpanKind, attributes: dict[str, Any]
) -> Optional[Call]:
    """The span for a provider call about to be made, or None when it is not
    to be traced (agtrace not initialized, or inside another traced call)."""
    if in_call.get():
        return None
    attributes = {k: v for k, v in attributes.items() if v is not None}
    if kind is SpanKind.LLM:
        c = claim.get()
        if c is not None and not c.filled and current.get() is c.span and not c.span.is_ended:
            c.filled = True
            c.span.set_attributes(attributes)
            return Call(c.span, owned=False)
    t = tracer or _lifecycle.tracer()
    if t is None:
        return None
    return Call(t.span(name, kind, attributes), owned=True)


def guard(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Runs a recording step; a failure in it (an unexpected response shape)
    is logged, never raised into the application."""
    try:
        fn(*args, **kwargs)
    except Exception:
        log.debug("agtrace: instrumentation could not record a value", exc_info=True)


def traced_method(
    original: Callable[..., Any],
    start: Callable[[Optional[Tracer], dict[str, Any]], Optional[Call]],
    finish: Callable[[Call, Any, dict[str, Any]], Any],
    tracer: Optional[Tracer] = None,
    is_async: Optional[bool] = None,
) -> Callable[..., Any]:
    """``original`` (a function taking the resource first) traced: ``start``
    opens the span from the keyword arguments, ``finish`` records the result
    and returns what the caller gets (the result itself, or for a stream the
    same stream with its iteration traced). Errors are recorded and
    re-raised unchanged. Sync or async as ``original`` is (``is_async``
    says which where a decorator hides it)."""
    if is_async is None:
        is_async = inspect.iscoroutinefunction(original)
    if is_async:

        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            call = start(tracer, kwargs)
            if call is None:
                return await original(*args, **kwargs)
            outer = in_call.set(True)
            made_current = current.set(call.span)
            try:
                result = await original(*args, **kwargs)
            except BaseException as e:
                call.fail(e)
                raise
            finally:
                current.reset(made_current)
                in_call.reset(outer)
            try:
                parsed = _raw_parsed(call, result, kwargs)
                if inspect.isawaitable(parsed):
                    parsed = await parsed
            except BaseException as e:
                call.fail(e)
                raise
            return finish_safely(finish, call, parsed, kwargs, result)

        _copy_names(traced_async, original)
        return traced_async

    def traced(*args: Any, **kwargs: Any) -> Any:
        call = start(tracer, kwargs)
        if call is None:
            return original(*args, **kwargs)
        outer = in_call.set(True)
        made_current = current.set(call.span)
        try:
            result = original(*args, **kwargs)
        except BaseException as e:
            call.fail(e)
            raise
        finally:
            current.reset(made_current)
            in_call.reset(outer)
        try:
            parsed = _raw_parsed(call, result, kwargs)
        except BaseException as e:
            call.fail(e)
            raise
        return finish_safely(finish, call, parsed, kwargs, result)

    _copy_names(traced, original)
    return traced


def _copy_names(wrapper: Any, original: Any) -> None:
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, name, getattr(original, name))
        except AttributeError:
            pass


#: Marks a ``with_streaming_response`` result: its body is the caller's to read.
UNREAD: Any = object()

# The header both SDKs (Stainless-generated) set to ask for a raw response.
_RAW_HEADER = "X-Stainless-Raw-Response"


def _raw_parsed(call: Call, result: Any, kwargs: dict[str, Any]) -> Any:
    """The response object behind ``result``. ``with_raw_response`` (header
    ``raw``) returns a response wrapper that caches what ``parse()`` gives,
    so it is parsed here and the caller's ``parse()`` returns the same object
    (a traced stream included); for the async clients ``parse()`` is a
    coroutine, returned to be awaited. ``with_streaming_response``
    (``stream``) leaves the body unread for the caller: UNREAD."""
    headers = kwargs.get("extra_headers")
    mode = headers.get(_RAW_HEADER) if isinstance(headers, dict) else None
    if mode not in ("raw", "true", "stream") or not hasattr(result, "parse"):
        return result
    status = getattr(result, "status_code", None)
    if isinstance(status, int):
        call.span.set_attribute("http.response.status_code", status)
    if mode == "stream":
        return UNREAD
    return result.parse()


def finish_safely(
    finish: Callable[[Call, Any, dict[str, Any]], Any],
    call: Call,
    parsed: Any,
    kwargs: dict[str, Any],
    result: Any,
) -> Any:
    """Records ``parsed`` (the response) with ``finish``, which may trace
    it as a stream (ending the span later) or end the span; returns what the
    caller gets, ``result``."""
    try:
        if parsed is UNREAD:
            call.finish()
        else:
            finish(call, parsed, kwargs)
    except Exception:
        log.debug("agtrace: instrumentation could not record a response", exc_info=True)
        call.finish()
    return result


# -- streams ---------------------------------------------------------------------


class StreamRecorder:
    """What an integration records from a stream's items; ``done`` is
    called once, at the end, whatever ended it."""

    def item(self, item: Any) -> None:
        pass

    def done(self) -> None:
        pass


def trace_stream(stream: Any, call: Call, recorder: StreamRecorder) -> Any:
    """Makes ``stream`` (an openai/anthropic ``Stream`` or ``AsyncStream``)
    record into ``call`` as it is iterated, and end the span when it is
    exhausted, fails, is closed or is dropped. Returns ``stream`` itself, so
    its type and every other attribute are the provider's."""
    class_close = type(stream).close
    inner = stream._iterator
    state = _StreamEnd(call, recorder)
    # The replacement close holds the stream weakly: a stream referring to
    # itself would be freed only by the cycle collector, so a dropped stream's
    # span would end late.
    ref = weakref.ref(stream)
    if inspect.iscoroutinefunction(class_close):
        stream._iterator = _async_items(inner, call, recorder, state)

        async def close() -> None:
            try:
                s = ref()
                if s is not None:
                    await class_close(s)
            finally:
                state.end()

        stream.close = close
    else:
        stream._iterator = _items(inner, call, recorder, state)

        def close_sync() -> None:
            try:
                s = ref()
                if s is not None:
                    class_close(s)
            finally:
                state.end()

        stream.close = close_sync
    return stream


class _StreamEnd:
    __slots__ = ("call", "recorder", "ended")

    def __init__(self, call: Call, recorder: StreamRecorder) -> None:
        self.call = call
        self.recorder = recorder
        self.ended = False

    def end(self, exc: Optional[BaseException] = None) -> None:
        if self.ended:
            return
        self.ended = True
        guard(self.recorder.done)
        if exc is not None:
            self.call.fail(exc)
        else:
            self.call.finish()


def _items(inner: Iterator[Any], call: Call, recorder: StreamRecorder, state: _StreamEnd) -> Iterator[Any]:
    # A generator: exhaustion and errors end the span here; a dropped stream
    # drops this generator, whose close (GeneratorExit) ends it too.
    try:
        for item in inner:
            if not state.ended:
                call.chunk()
                guard(recorder.item, item)
            yield item
    except GeneratorExit:
        state.end()
        raise
    except BaseException as e:
        state.end(e)
        raise
    state.end()


async def _async_items(
    inner: AsyncIterator[Any], call: Call, recorder: StreamRecorder, state: _StreamEnd
) -> AsyncIterator[Any]:
    try:
        async for item in inner:
            if not state.ended:
                call.chunk()
                guard(recorder.item, item)
            yield item
    except GeneratorExit:
        state.end()
        raise
    except BaseException as e:
        state.end(e)
        raise
    state.end()


# -- values --------------------------------------------------------------------------


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON data: pydantic models dumped, unknown objects
    as their text, so recording messages never fails on a type."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if depth > 12:
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return jsonable(dump(exclude_none=True), depth + 1)
        except Exception:
            pass
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    # Never iterate anything else: it may be the caller's one-shot iterator.
    return str(value)


def given(value: Any) -> Any:
    """None for the providers' "not given" sentinels (``NOT_GIVEN``,
    ``omit``), the value otherwise."""
    if value is None or type(value).__name__ in ("NotGiven", "Omit"):
        return None
    return value


def stop_list(value: Any) -> Optional[list[str]]:
    value = given(value)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def number(value: Any) -> Union[int, float, None]:
    value = given(value)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def output_message(
    text: Optional[str], tool_calls: list[dict[str, Any]], finish_reason: Optional[str]
) -> dict[str, Any]:
    """One model output in the GenAI conventions' message shape: text and
    ``tool_call`` parts (``id``, ``name``, ``arguments``)."""
    parts: list[dict[str, Any]] = []
    if text:
        parts.append({"type": "text", "content": text})
    for tc in tool_calls:
        parts.append({"type": "tool_call", **tc})
    message: dict[str, Any] = {"role": "assistant", "parts": parts}
    if finish_reason:
        message["finish_reason"] = finish_reason
    return message


def parse_arguments(arguments: Any) -> Any:
    """Tool-call arguments as JSON data when they are JSON text."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return jsonable(arguments)

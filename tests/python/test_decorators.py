"""Decorators: ``@agtrace.trace``/``agent``/``tool``/``llm``/``workflow``,
bare and with options, on plain, async, generator and async generator
functions."""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect

import pytest
from sdk_support import named, one

import agtrace

DECORATORS = [
    (agtrace.trace, None),
    (agtrace.agent, "agent"),
    (agtrace.tool, "tool"),
    (agtrace.llm, "llm"),
    (agtrace.workflow, "workflow"),
]


@pytest.mark.parametrize("decorator, kind", DECORATORS, ids=["trace", "agent", "tool", "llm", "workflow"])
def test_bare_decorator_names_span_after_function(initialized, decorator, kind):
    @decorator
    def handle(a, b=2, *, c):
        """Adds things."""
        return a + b + c

    assert handle(1, c=3) == 6
    span = initialized.one(handle.__qualname__)
    assert span["attributes"].get("agtrace.kind") == kind
    assert span["parentSpanId"] is None
    assert span["status"]["code"] == "unset"


@pytest.mark.parametrize("decorator, kind", DECORATORS, ids=["trace", "agent", "tool", "llm", "workflow"])
def test_decorator_with_options(traced, decorator, kind):
    @decorator(name="custom name", attributes={"team": "search", "version": 3}, tracer=traced.tracer)
    def handle():
        agtrace.current_span().set_attribute("inside", True)
        return "done"

    assert handle() == "done"
    span = traced.one("custom name")
    assert span["attributes"]["team"] == "search"
    assert span["attributes"]["version"] == 3
    assert span["attributes"]["inside"] is True
    assert span["attributes"].get("agtrace.kind") == kind


def test_kind_option_overrides_the_decorators_kind(traced):
    @agtrace.trace(kind="retriever", tracer=traced.tracer)
    def search():
        pass

    @agtrace.tool(kind=agtrace.SpanKind.GUARDRAIL, tracer=traced.tracer)
    def check():
        pass

    search()
    check()
    spans = traced.spans()
    assert one(spans, search.__qualname__)["attributes"]["agtrace.kind"] == "retriever"
    assert one(spans, check.__qualname__)["attributes"]["agtrace.kind"] == "guardrail"


def test_nested_calls_nest(initialized):
    @agtrace.tool
    def lookup(city):
        return f"sunny in {city}"

    @agtrace.agent(name="planner")
    def plan(cities):
        return [lookup(c) for c in cities]

    assert plan(["Oslo", "Lima"]) == ["sunny in Oslo", "sunny in Lima"]
    spans = initialized.spans()
    planner = one(spans, "planner")
    lookups = named(spans, lookup.__qualname__)
    assert len(lookups) == 2
    assert {s["parentSpanId"] for s in lookups} == {planner["spanId"]}


def test_methods_are_named_by_qualname(initialized):
    class Agent:
        @agtrace.agent
        def run(self, x):
            return self, x

    a = Agent()
    assert a.run(5) == (a, 5)
    assert initialized.one(Agent.run.__qualname__)["name"].endswith("Agent.run")


def test_exception_is_recorded_and_reraised(initialized):
    @agtrace.tool
    def flaky():
        raise ConnectionError("reset by peer")

    with pytest.raises(ConnectionError, match="reset by peer"):
        flaky()
    span = initialized.one(flaky.__qualname__)
    assert span["status"] == {"code": "error", "message": "reset by peer"}
    assert span["events"][0]["name"] == "exception"
    assert span["events"][0]["attributes"]["exception.type"] == "ConnectionError"


def test_wraps_preserves_metadata():
    def plain(x: int) -> int:
        """Plain doc."""
        return x

    async def coro(x: int) -> int:
        """Coroutine doc."""
        return x

    def gen(n: int):
        """Generator doc."""
        yield n

    async def agen(n: int):
        """Async generator doc."""
        yield n

    for fn, check in [
        (plain, inspect.isfunction),
        (coro, inspect.iscoroutinefunction),
        (gen, inspect.isgeneratorfunction),
        (agen, inspect.isasyncgenfunction),
    ]:
        for decorator in (agtrace.trace, agtrace.llm(name="x")):
            wrapped = decorator(fn)
            assert wrapped is not fn
            assert wrapped.__name__ == fn.__name__
            assert wrapped.__qualname__ == fn.__qualname__
            assert wrapped.__doc__ == fn.__doc__
            assert wrapped.__module__ == fn.__module__
            assert wrapped.__wrapped__ is fn
            assert wrapped.__annotations__ == fn.__annotations__
            assert check(wrapped), f"{fn.__name__}: {check.__name__} is false after decorating"
            assert inspect.signature(wrapped) == inspect.signature(fn)


def test_bad_decorator_options_raise():
    with pytest.raises(agtrace.InvalidArgument, match="name"):
        agtrace.trace(name="")
    with pytest.raises(agtrace.InvalidArgument, match="robot"):
        agtrace.tool(kind="robot")
    with pytest.raises(agtrace.InvalidArgument, match="callable"):
        agtrace.trace(name="x")(42)


# --- async functions -----------------------------------------------------------


def test_async_function(initialized):
    @agtrace.llm(name="chat")
    async def chat(prompt):
        await asyncio.sleep(0)
        agtrace.current_span().set_attribute("prompt.length", len(prompt))
        return prompt.upper()

    @agtrace.agent
    async def run():
        return await chat("hi")

    assert asyncio.run(run()) == "HI"
    spans = initialized.spans()
    chat_span = one(spans, "chat")
    assert chat_span["attributes"]["prompt.length"] == 2
    assert chat_span["parentSpanId"] == one(spans, run.__qualname__)["spanId"]


def test_async_exception_is_recorded(initialized):
    @agtrace.tool
    async def broken():
        await asyncio.sleep(0)
        raise TimeoutError("model timed out")

    with pytest.raises(TimeoutError):
        asyncio.run(broken())
    span = initialized.one(broken.__qualname__)
    assert span["status"]["code"] == "error"
    assert span["events"][0]["attributes"]["exception.message"] == "model timed out"


# --- generators ----------------------------------------------------------------


def test_generator_span_covers_the_iteration(initialized):
    @agtrace.llm(name="stream")
    def stream(n):
        for i in range(n):
            with agtrace.span(f"chunk {i}"):
                pass
            yield i
        return "finished"

    t = initialized.tracer
    g = stream(3)
    assert t.stats().started == 0, "the span starts at the first step, not at the call"
    with agtrace.span("consumer") as consumer:
        got = []
        for item in g:
            # Between steps the consumer's context is its own.
            assert agtrace.current_span() is consumer
            with agtrace.span(f"handle {item}"):
                pass
            got.append(item)
            assert t.stats().ended == 2 + 2 * item, "the generator's span is still open"
    assert got == [0, 1, 2]

    spans = initialized.spans()
    consumer_span, stream_span = one(spans, "consumer"), one(spans, "stream")
    assert stream_span["parentSpanId"] == consumer_span["spanId"]
    for i in range(3):
        # Spans inside the generator nest under its span; the consumer's
        # spans between steps are its siblings, not its children.
        assert one(spans, f"chunk {i}")["parentSpanId"] == stream_span["spanId"]
        assert one(spans, f"handle {i}")["parentSpanId"] == consumer_span["spanId"]
    assert stream_span["endTimeUnixNano"] >= one(spans, "handle 1")["endTimeUnixNano"]
    assert stream_span["status"]["code"] == "unset"
    assert "agtrace.abandoned" not in stream_span["attributes"]


def test_generator_return_value_is_preserved(initialized):
    @agtrace.trace(name="inner")
    def inner():
        yield 1
        return "result"

    def outer():
        value = yield from inner()
        yield value

    assert list(outer()) == [1, "result"]
    assert initialized.one("inner")["status"]["code"] == "unset"


def test_generator_ends_when_exhausted(initialized):
    @agtrace.trace(name="gen")
    def gen():
        yield 1
        yield 2

    t = initialized.tracer
    g = gen()
    assert next(g) == 1
    assert next(g) == 2
    assert t.stats().ended == 0
    with pytest.raises(StopIteration):
        next(g)
    assert t.stats().ended == 1
    assert len(named(initialized.spans(), "gen")) == 1


def test_generator_ends_on_early_break(initialized):
    closed = []

    @agtrace.trace(name="endless")
    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    t = initialized.tracer
    for i in endless():
        if i == 2:
            break
    # The loop held the only reference: breaking out closed the generator.
    assert closed == [True]
    assert t.stats().ended == 1
    span = initialized.one("endless")
    assert span["status"]["code"] == "unset"
    assert span["events"] == []
    assert "agtrace.abandoned" not in span["attributes"]


def test_generator_dropped_unfinished_ends_its_span(initialized):
    @agtrace.trace(name="dropped")
    def dropped():
        yield 1
        yield 2

    t = initialized.tracer
    g = dropped()
    next(g)
    assert t.stats().ended == 0
    del g
    gc.collect()
    assert t.stats().ended == 1
    span = initialized.one("dropped")
    assert span["status"]["code"] == "unset"
    assert span["events"] == []


def test_unstarted_generator_makes_no_span(initialized):
    @agtrace.trace(name="never")
    def never():
        yield 1

    g = never()
    del g
    gc.collect()
    assert initialized.tracer.stats().started == 0
    assert initialized.spans() == []


def test_generator_exception_is_recorded(initialized):
    @agtrace.tool(name="fails midway")
    def fails():
        yield 1
        raise RuntimeError("stream broke")

    g = fails()
    assert next(g) == 1
    with pytest.raises(RuntimeError, match="stream broke"):
        next(g)
    span = initialized.one("fails midway")
    assert span["status"] == {"code": "error", "message": "stream broke"}
    assert span["events"][0]["attributes"]["exception.type"] == "RuntimeError"


def test_generator_send_and_throw_reach_the_generator(initialized):
    @agtrace.trace(name="accumulator")
    def accumulator():
        total = 0
        while True:
            try:
                value = yield total
            except KeyError:
                yield "handled"
                continue
            if value is None:
                return
            total += value

    g = accumulator()
    assert next(g) == 0
    assert g.send(5) == 5
    assert g.send(2) == 7
    assert g.throw(KeyError("x")) == "handled"
    assert next(g) == 7
    with pytest.raises(StopIteration):
        g.send(None)
    span = initialized.one("accumulator")
    assert span["status"]["code"] == "unset", "a handled exception is not an error"


def test_exception_thrown_in_and_not_handled_is_recorded(initialized):
    @agtrace.trace(name="thrown into")
    def gen():
        yield 1
        yield 2

    g = gen()
    next(g)
    with pytest.raises(ValueError, match="from consumer"):
        g.throw(ValueError("from consumer"))
    span = initialized.one("thrown into")
    assert span["status"]["code"] == "error"


# --- async generators ------------------------------------------------------------


def test_async_generator(initialized):
    @agtrace.llm(name="astream")
    async def astream(n):
        for i in range(n):
            await asyncio.sleep(0)
            with agtrace.span(f"achunk {i}"):
                pass
            yield i

    async def main():
        out = []
        with agtrace.span("aconsumer") as consumer:
            async for item in astream(3):
                assert agtrace.current_span() is consumer
                with agtrace.span(f"ahandle {item}"):
                    pass
                out.append(item)
        return out

    assert asyncio.run(main()) == [0, 1, 2]
    spans = initialized.spans()
    consumer, stream = one(spans, "aconsumer"), one(spans, "astream")
    assert stream["parentSpanId"] == consumer["spanId"]
    for i in range(3):
        assert one(spans, f"achunk {i}")["parentSpanId"] == stream["spanId"]
        assert one(spans, f"ahandle {i}")["parentSpanId"] == consumer["spanId"]
    assert stream["status"]["code"] == "unset"


def test_async_generator_closed_early_ends_its_span(initialized):
    @agtrace.trace(name="aendless")
    async def aendless():
        i = 0
        while True:
            yield i
            i += 1

    async def main():
        g = aendless()
        async for i in g:
            if i == 3:
                break
        assert initialized.tracer.stats().ended == 0
        await g.aclose()
        assert initialized.tracer.stats().ended == 1

    asyncio.run(main())
    span = initialized.one("aendless")
    assert span["status"]["code"] == "unset"
    assert "agtrace.abandoned" not in span["attributes"]


def test_async_generator_dropped_unfinished_is_ended_by_the_loop(initialized):
    @agtrace.trace(name="aleft")
    async def aleft():
        yield 1
        yield 2

    t = initialized.tracer

    async def main():
        async for _ in aleft():
            break
        # The generator is garbage now; the loop's finalizer hook closes it
        # in a task of its own, within a few loop iterations.
        for _ in range(100):
            if t.stats().ended == 1:
                break
            await asyncio.sleep(0)
        assert t.stats().ended == 1

    asyncio.run(main())
    span = initialized.one("aleft")
    assert span["status"]["code"] == "unset"
    assert "agtrace.abandoned" not in span["attributes"]


def test_async_generator_left_open_at_loop_end_is_ended(initialized):
    @agtrace.trace(name="aopen")
    async def aopen():
        yield 1
        yield 2

    async def main():
        g = aopen()
        await g.__anext__()
        return g

    # asyncio.run closes the async generators still open when it returns.
    g = asyncio.run(main())
    assert initialized.tracer.stats().ended == 1
    span = initialized.one("aopen")
    assert "agtrace.abandoned" not in span["attributes"]
    del g


def test_async_generator_exception_is_recorded(initialized):
    @agtrace.trace(name="abroken")
    async def abroken():
        yield 1
        raise LookupError("no such index")

    async def main():
        async for _ in abroken():
            pass

    with pytest.raises(LookupError):
        asyncio.run(main())
    span = initialized.one("abroken")
    assert span["status"] == {"code": "error", "message": "no such index"}


def test_async_generator_asend_reaches_the_generator(initialized):
    @agtrace.trace(name="aecho")
    async def aecho():
        received = None
        while True:
            received = yield received

    async def main():
        g = aecho()
        assert await g.asend(None) is None
        assert await g.asend("ping") == "ping"
        await g.aclose()

    asyncio.run(main())
    assert len(named(initialized.spans(), "aecho")) == 1


def test_decorators_without_init_still_run_the_function(run_python):
    # Not initialized, in a fresh interpreter: functions run, nothing records.
    code = """
import asyncio, agtrace
@agtrace.tool
def f(x): return x * 2
@agtrace.agent
async def g(x): return x + 1
@agtrace.llm
def h():
    yield 1
    yield 2
assert f(2) == 4
assert asyncio.run(g(1)) == 2
assert list(h()) == [1, 2]
with agtrace.span("nothing") as s:
    assert not s.is_recording()
    s.set_attribute("k", 1)
print("ok")
"""
    done = run_python(code)
    assert done.returncode == 0, done.describe()
    assert done.stdout.strip() == "ok"


def test_functools_partial_of_decorated_function(initialized):
    @agtrace.trace(name="partial target")
    def add(a, b):
        return a + b

    assert functools.partial(add, 1)(2) == 3
    assert len(named(initialized.spans(), "partial target")) == 1

"""asyncio: the current span is a ContextVar, so tasks nest under the span
that was current where they were created, and concurrent tasks keep their
own current span."""

from __future__ import annotations

import asyncio

from sdk_support import named, one

import agtrace


def test_gather_children_nest_under_the_span(traced):
    t = traced.tracer

    @agtrace.tool(name="lookup", tracer=t)
    async def lookup(i):
        agtrace.current_span().set_attribute("i", i)
        await asyncio.sleep(0)
        with t.span(f"inner {i}"):
            await asyncio.sleep(0)
        return i * 10

    async def main():
        with t.span("root"):
            return await asyncio.gather(*(lookup(i) for i in range(4)))

    assert asyncio.run(main()) == [0, 10, 20, 30]
    spans = traced.spans()
    root = one(spans, "root")
    lookups = {s["attributes"]["i"]: s for s in named(spans, "lookup")}
    assert sorted(lookups) == [0, 1, 2, 3]
    for i, span in lookups.items():
        assert span["parentSpanId"] == root["spanId"]
        assert span["traceId"] == root["traceId"]
        assert one(spans, f"inner {i}")["parentSpanId"] == span["spanId"]


def test_create_task_nests_under_the_span_current_at_creation(traced):
    t = traced.tracer

    async def work(name):
        await asyncio.sleep(0)
        with t.span(name):
            pass

    async def main():
        with t.span("creator"):
            inside = asyncio.create_task(work("created inside"))
        # The creator has ended before the task ran: it still nests.
        with t.span("elsewhere"):
            await inside
            outside = asyncio.create_task(work("created in elsewhere"))
        await outside

    asyncio.run(main())
    spans = traced.spans()
    assert one(spans, "created inside")["parentSpanId"] == one(spans, "creator")["spanId"]
    assert one(spans, "created in elsewhere")["parentSpanId"] == one(spans, "elsewhere")["spanId"]


def test_task_group_children_nest(traced):
    t = traced.tracer

    async def child(i):
        await asyncio.sleep(0)
        with t.span(f"tg child {i}"):
            pass

    async def main():
        with t.span("group"):
            async with asyncio.TaskGroup() as tg:
                for i in range(3):
                    tg.create_task(child(i))

    asyncio.run(main())
    spans = traced.spans()
    group = one(spans, "group")
    for i in range(3):
        assert one(spans, f"tg child {i}")["parentSpanId"] == group["spanId"]


def test_concurrent_tasks_do_not_cross_contaminate(traced):
    t = traced.tracer
    tasks, steps = 8, 5

    async def task(i):
        with t.span(f"task {i}") as mine:
            for j in range(steps):
                # Every other task runs here; this task's span stays current.
                await asyncio.sleep(0)
                assert agtrace.current_span() is mine
                with t.span(f"step {i}.{j}", attributes={"task": i}):
                    await asyncio.sleep(0)
            return mine.context.trace_id

    async def main():
        return await asyncio.gather(*(task(i) for i in range(tasks)))

    trace_ids = asyncio.run(main())
    assert len(set(trace_ids)) == tasks, "each task's root starts its own trace"
    spans = traced.spans()
    assert len(spans) == tasks * (steps + 1)
    for i in range(tasks):
        root = one(spans, f"task {i}")
        assert root["parentSpanId"] is None
        assert root["traceId"] == trace_ids[i]
        for j in range(steps):
            step = one(spans, f"step {i}.{j}")
            assert step["parentSpanId"] == root["spanId"]
            assert step["traceId"] == root["traceId"]


def test_async_generator_nests_under_the_span_current_where_it_is_iterated(traced):
    t = traced.tracer

    @agtrace.llm(name="tokens", tracer=t)
    async def tokens():
        for word in ("a", "b"):
            await asyncio.sleep(0)
            yield word

    async def consume(name):
        with t.span(name):
            return [w async for w in tokens()]

    async def main():
        return await asyncio.gather(consume("consumer A"), consume("consumer B"))

    assert asyncio.run(main()) == [["a", "b"], ["a", "b"]]
    spans = traced.spans()
    parents = {s["parentSpanId"] for s in named(spans, "tokens")}
    assert parents == {one(spans, "consumer A")["spanId"], one(spans, "consumer B")["spanId"]}


def test_to_thread_carries_the_span(traced):
    t = traced.tracer

    def blocking():
        with t.span("in worker thread"):
            return agtrace.current_span().context.trace_id

    async def main():
        with t.span("async caller") as caller:
            trace_id = await asyncio.to_thread(blocking)
            return caller, trace_id

    caller, trace_id = asyncio.run(main())
    spans = traced.spans()
    assert trace_id == caller.context.trace_id
    assert one(spans, "in worker thread")["parentSpanId"] == one(spans, "async caller")["spanId"]


def test_cancelled_task_records_cancellation_and_ends(traced):
    t = traced.tracer

    async def main():
        ready = asyncio.Event()

        async def slow():
            with t.span("cancelled work"):
                ready.set()
                await asyncio.Future()  # never completes

        task = asyncio.create_task(slow())
        await ready.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(main())
    span = traced.one("cancelled work")
    assert span["events"][0]["attributes"]["exception.type"] == "asyncio.exceptions.CancelledError"
    assert t.stats().ended == 1

"""Threads: a new thread starts with no current span (a new trace) unless the
context is carried with ``agtrace.bind`` or ``ContextThreadPoolExecutor``;
many threads starting and ending spans at once lose none."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sdk_support import named, one

import agtrace


def test_plain_thread_starts_a_new_trace(traced):
    t = traced.tracer
    seen = {}

    def work():
        seen["current"] = agtrace.current_span()
        with t.span("in plain thread"):
            pass

    with t.span("main"):
        th = threading.Thread(target=work)
        th.start()
        th.join()
    assert seen["current"] is None
    spans = traced.spans()
    in_thread, main = one(spans, "in plain thread"), one(spans, "main")
    assert in_thread["parentSpanId"] is None
    assert in_thread["traceId"] != main["traceId"]


def test_bind_carries_the_span_into_a_thread(traced):
    t = traced.tracer
    results = []

    def work(n):
        with t.span(f"bound {n}"):
            results.append(n)

    with t.span("main") as main:
        threads = [threading.Thread(target=agtrace.bind(work), args=(n,)) for n in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert sorted(results) == [0, 1, 2]
    spans = traced.spans()
    for n in range(3):
        span = one(spans, f"bound {n}")
        assert span["parentSpanId"] == main.context.span_id
        assert span["traceId"] == main.context.trace_id


def test_bind_captures_the_context_where_it_is_called(traced):
    t = traced.tracer
    with t.span("first") as first:
        bound = agtrace.bind(lambda: t.span("later").end())
    with t.span("second"):
        bound()  # runs in the context bind captured, not the caller's
    spans = traced.spans()
    assert one(spans, "later")["parentSpanId"] == first.context.span_id


def test_context_thread_pool_executor_carries_the_span(traced):
    t = traced.tracer

    def work(n):
        with t.span("pooled", attributes={"n": n}):
            return n * n

    with agtrace.ContextThreadPoolExecutor(max_workers=3) as pool:
        with t.span("submitter") as submitter:
            futures = [pool.submit(work, n) for n in range(6)]
            assert [f.result() for f in futures] == [n * n for n in range(6)]
            assert list(pool.map(work, range(6, 9))) == [36, 49, 64]
        # The same worker threads, submitted from outside any span: roots.
        pool.submit(work, 100).result()

    spans = traced.spans()
    pooled = {s["attributes"]["n"]: s for s in named(spans, "pooled")}
    assert sorted(pooled) == [*range(9), 100]
    for n in range(9):
        assert pooled[n]["parentSpanId"] == submitter.context.span_id
    assert pooled[100]["parentSpanId"] is None


def test_bind_with_a_stdlib_thread_pool(traced):
    t = traced.tracer

    def work(n):
        with t.span("stdlib pooled", attributes={"n": n}):
            return n

    with ThreadPoolExecutor(max_workers=2) as pool:
        with t.span("submitter") as submitter:
            assert [pool.submit(agtrace.bind(work), n).result() for n in range(4)] == [0, 1, 2, 3]
            assert list(pool.map(agtrace.bind(work), range(4, 6))) == [4, 5]
        # A bound task leaves nothing behind in the worker thread.
        assert pool.submit(work, 99).result() == 99

    spans = traced.spans()
    pooled = {s["attributes"]["n"]: s for s in named(spans, "stdlib pooled")}
    for n in range(6):
        assert pooled[n]["parentSpanId"] == submitter.context.span_id
    assert pooled[99]["parentSpanId"] is None


def test_stdlib_pool_without_bind_starts_new_traces(traced):
    t = traced.tracer
    with ThreadPoolExecutor(max_workers=1) as pool, t.span("submitter"):
        pool.submit(lambda: t.span("unbound").end()).result()
    assert traced.one("unbound")["parentSpanId"] is None


def test_span_shared_between_threads(traced):
    t = traced.tracer
    shared = t.span("shared")

    def work(n):
        shared.set_attribute(f"from.{n}", n)
        shared.add_event(f"event {n}")
        with t.span(f"child {n}", parent=shared):
            pass

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    shared.end()
    spans = traced.spans()
    span = one(spans, "shared")
    assert {k: v for k, v in span["attributes"].items() if k.startswith("from.")} == {f"from.{n}": n for n in range(4)}
    assert sorted(e["name"] for e in span["events"]) == [f"event {n}" for n in range(4)]
    for n in range(4):
        assert one(spans, f"child {n}")["parentSpanId"] == span["spanId"]


def test_many_threads_ending_spans_concurrently_lose_none(traced):
    t = traced.tracer
    threads, per_thread = 8, 250
    # Spans started here and ended by the workers, beside their own.
    handed_over = [[t.span("handed over", attributes={"thread": i}) for _ in range(per_thread)] for i in range(threads)]
    barrier = threading.Barrier(threads)
    errors = []

    def work(i):
        try:
            barrier.wait()
            for j in range(per_thread):
                with t.span("worker", attributes={"thread": i, "j": j}):
                    with t.span("worker child"):
                        pass
                handed_over[i][j].end()
        except BaseException as e:  # reported below, with the thread
            errors.append((i, e))

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for th in workers:
        th.start()
    for th in workers:
        th.join()
    assert errors == []

    total = threads * per_thread * 3
    s = t.stats()
    assert (s.started, s.ended, s.unsampled) == (total, total, 0)
    assert s.ended == s.dispatched + sum(s.dropped.values()) + s.pending, s

    spans = traced.spans(timeout=30)
    s = t.stats()
    assert s.pending == 0 and sum(s.dropped.values()) == 0, s
    assert s.dispatched == total
    assert s.exported == total
    (exporter,) = s.exporters
    assert exporter.received == exporter.exported + sum(exporter.dropped.values()) + exporter.pending
    assert len(spans) == total
    assert len({sp["spanId"] for sp in spans}) == total
    by_id = {sp["spanId"]: sp for sp in spans}
    for child in named(spans, "worker child"):
        parent = by_id[child["parentSpanId"]]
        assert parent["name"] == "worker"
        assert parent["traceId"] == child["traceId"]
    assert len(named(spans, "handed over")) == threads * per_thread

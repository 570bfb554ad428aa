"""How ended spans reach the core (ffi/PROTOCOL.md, "How bindings use it"):
an end is kept in its thread's pending bytes until that thread starts
another span, and otherwise sent by flush/stats (every thread's), by the idle
flusher (a thread that starts no more spans), and at a thread's exit; a span
dropped without end() is sent as abandoned with everything recorded on it."""

from __future__ import annotations

import contextvars
import gc
import threading
import time

from sdk_support import read_spans


def test_a_dropped_manual_span_is_exported_abandoned_with_everything_recorded(traced):
    t = traced.tracer
    s = t.span("dropped", kind="llm", attributes={"a": 1})
    s.set_attribute("b", "two")
    s.set_llm(provider="openai", request_model="gpt-4o")
    s.set_usage(input_tokens=12, output_tokens=3)
    s.add_event("retry", {"attempt": 2})
    del s
    gc.collect()
    span = traced.one("dropped")
    attrs = span["attributes"]
    assert attrs["agtrace.abandoned"] is True
    assert (attrs["a"], attrs["b"]) == (1, "two")
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.usage.input_tokens"] == 12
    assert [e["name"] for e in span["events"]] == ["retry"]
    assert t.stats().ended == 1


def test_an_end_on_a_thread_that_then_idles_reaches_the_exporter(make_tracer):
    # A short batch delay; the main thread only reads the file, calling
    # nothing in agtrace: the idle flusher and the core's batch timer must
    # deliver the span on their own.
    traced = make_tracer(schedule_delay=100)
    ended, release = threading.Event(), threading.Event()

    def work():
        with traced.tracer.span("then idle"):
            pass
        ended.set()
        release.wait(30)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        assert ended.wait(10)
        deadline = time.monotonic() + 20
        while not read_spans(traced.path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [s["name"] for s in read_spans(traced.path)] == ["then idle"]
    finally:
        release.set()
        worker.join()


def test_stats_and_flush_see_ends_pending_on_other_threads(make_tracer):
    # A long batch delay: nothing is delivered unless flush sends it.
    traced = make_tracer(schedule_delay=60000)
    t = traced.tracer
    ended, release = threading.Event(), threading.Event()

    def idle_after_ending(n):
        for i in range(n):
            with t.span("idle thread", attributes={"i": i}):
                pass
        ended.set()
        release.wait(30)

    def exit_after_ending():
        t.span("exited thread").end()

    idle = threading.Thread(target=idle_after_ending, args=(3,))
    idle.start()
    try:
        assert ended.wait(10)
        exited = threading.Thread(target=exit_after_ending)
        exited.start()
        exited.join()
        # Ends handed to a thread that stays alive, and to one that exited.
        s = t.stats()
        assert (s.started, s.ended) == (4, 4), s
        assert t.flush()
        spans = read_spans(traced.path)
        assert sorted(sp["name"] for sp in spans) == ["exited thread"] + ["idle thread"] * 3
        assert t.stats().exported == 4
    finally:
        release.set()
        idle.join()



def test_a_span_entered_and_never_exited_is_collected_and_exported_abandoned(traced):
    # While entered, the span holds its context variable's token, which holds
    # the Context that holds the span: only the garbage collector sees that
    # the cycle is unreachable once the Context is dropped.
    def enter_and_leave_it_open():
        traced.tracer.span("never exited", attributes={"k": "v"}).__enter__()

    contextvars.copy_context().run(enter_and_leave_it_open)
    gc.collect()
    span = traced.one("never exited")
    assert span["attributes"]["agtrace.abandoned"] is True
    assert span["attributes"]["k"] == "v"

"""Spans: attributes, nesting, exceptions, status, names, events, manual
start/end, the current span, double ends, abandoned spans, explicit parents
and tracers side by side. Everything is checked on what the file exporter
wrote."""

from __future__ import annotations

import gc
from types import MappingProxyType

import pytest
from sdk_support import named, one, read_spans

import agtrace


# (value given, value exported). The exported type is checked too: True == 1
# and 1.0 == 1 in Python, not in OTLP.
ATTRIBUTE_TYPES = {
    "text": ("héllo ☃", "héllo ☃"),
    "empty": ("", ""),
    "flag": (True, True),
    "off": (False, False),
    "count": (42, 42),
    "negative": (-7, -7),
    "big": (2**62, 2**62),
    "ratio": (0.25, 0.25),
    "whole float": (2.0, 2.0),
    "ints": ([1, 2, 3], [1, 2, 3]),
    "floats": ([0.5, 1.5], [0.5, 1.5]),
    "bools": ([True, False], [True, False]),
    "texts": (["a", "b"], ["a", "b"]),
    "tuple": (("x", "y"), ["x", "y"]),
    # Objects and mixed lists are stored as their JSON text.
    "object": ({"k": 1, "nested": {"v": [1, "two"]}}, '{"k":1,"nested":{"v":[1,"two"]}}'),
    "mixed": ([1, "two"], '[1,"two"]'),
    "nul": ("before\0after", "before\0after"),
}


def _check_types(attrs: dict, prefix: str) -> None:
    for key, (_, want) in ATTRIBUTE_TYPES.items():
        got = attrs.get(prefix + key)
        assert got == want, f"{prefix}{key}: got {got!r}, want {want!r}"
        assert type(got) is type(want), f"{prefix}{key}: got {type(got).__name__}"
        if isinstance(want, list):
            assert [type(v) for v in got] == [type(v) for v in want], f"{prefix}{key}: {got!r}"


def test_attributes_of_every_type(traced):
    given = {key: value for key, (value, _) in ATTRIBUTE_TYPES.items()}
    with traced.tracer.span("typed", attributes={**given, "skipped": None}) as s:
        # The same values recorded on the live span (sent with the end).
        s.set_attributes({f"late.{k}": v for k, v in given.items()})
        s.set_attribute("late.skipped", None)
    attrs = traced.one("typed")["attributes"]
    _check_types(attrs, "")
    _check_types(attrs, "late.")
    assert "skipped" not in attrs
    assert "late.skipped" not in attrs


def test_attributes_from_any_mapping(traced):
    with traced.tracer.span("mapping", attributes=MappingProxyType({"a": 1, "b": "two"})) as s:
        s.set_attributes(MappingProxyType({"c": 3.5}))
    attrs = traced.one("mapping")["attributes"]
    assert (attrs["a"], attrs["b"], attrs["c"]) == (1, "two", 3.5)


def test_later_value_of_an_attribute_wins(traced):
    with traced.tracer.span("overwrite", attributes={"k": "first"}) as s:
        s.set_attribute("k", "second")
        s.set_attribute("k", 3)
    assert traced.one("overwrite")["attributes"]["k"] == 3


def test_non_finite_floats_are_kept_as_text(traced):
    with traced.tracer.span("floats", attributes={"nan": float("nan"), "inf": float("inf")}):
        pass
    attrs = traced.one("floats")["attributes"]
    assert attrs["nan"] == "nan"
    assert attrs["inf"] == "inf"


def test_nesting_sets_parent_and_trace(traced):
    t = traced.tracer
    with t.span("root") as root:
        with t.span("child") as child:
            with t.span("grandchild"):
                pass
        with t.span("second child"):
            pass
    spans = traced.spans()
    r, c, g, c2 = (one(spans, n) for n in ("root", "child", "grandchild", "second child"))
    assert r["parentSpanId"] is None
    assert c["parentSpanId"] == r["spanId"]
    assert g["parentSpanId"] == c["spanId"]
    assert c2["parentSpanId"] == r["spanId"]
    assert {s["traceId"] for s in spans} == {r["traceId"]}
    assert len({s["spanId"] for s in spans}) == 4
    # The ids the Python objects report are the exported ones.
    assert root.context.trace_id == r["traceId"]
    assert root.context.span_id == r["spanId"]
    assert child.context.span_id == c["spanId"]
    # A child's interval lies within its parent's.
    assert r["startTimeUnixNano"] <= c["startTimeUnixNano"] <= g["startTimeUnixNano"]
    assert g["endTimeUnixNano"] <= c["endTimeUnixNano"] <= r["endTimeUnixNano"]


class PaymentDeclined(Exception):
    pass


def test_exception_is_recorded_and_reraised(traced):
    t = traced.tracer
    with pytest.raises(PaymentDeclined, match="card expired"):
        with t.span("charge"):
            raise PaymentDeclined("card expired")
    with pytest.raises(ValueError):
        with t.span("parse"):
            int("x")

    spans = traced.spans()
    charge = one(spans, "charge")
    assert charge["status"] == {"code": "error", "message": "card expired"}
    (event,) = charge["events"]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == f"{__name__}.PaymentDeclined"
    assert event["attributes"]["exception.message"] == "card expired"
    stack = event["attributes"]["exception.stacktrace"]
    assert stack.startswith("Traceback (most recent call last):")
    assert "test_exception_is_recorded_and_reraised" in stack
    assert stack.rstrip().endswith("PaymentDeclined: card expired")

    parse = one(spans, "parse")
    assert parse["status"]["code"] == "error"
    # Builtin exceptions are named without their module.
    assert parse["events"][0]["attributes"]["exception.type"] == "ValueError"


def test_record_exception_by_hand(traced):
    with traced.tracer.span("handled") as s:
        try:
            {}["missing"]
        except KeyError as e:
            s.record_exception(e)
    span = traced.one("handled")
    assert span["status"]["code"] == "error"
    assert span["events"][0]["attributes"]["exception.type"] == "KeyError"
    assert span["events"][0]["attributes"]["exception.message"] == "'missing'"


def test_set_status(traced):
    t = traced.tracer
    with t.span("fine") as s:
        s.set_status("ok")
    with t.span("broken") as s:
        s.set_status("error", "upstream returned 503")
    with t.span("reset") as s:
        s.set_status("error", "transient")
        s.set_status("unset")
    with t.span("ok is final") as s:
        s.set_status("ok")
        s.set_status("error", "too late")
    spans = traced.spans()
    assert one(spans, "fine")["status"]["code"] == "ok"
    assert one(spans, "broken")["status"] == {"code": "error", "message": "upstream returned 503"}
    assert one(spans, "reset")["status"]["code"] == "unset"
    assert one(spans, "ok is final")["status"]["code"] == "ok"


def test_update_name(traced):
    with traced.tracer.span("provisional") as s:
        s.update_name("chat gpt-4o")
    spans = traced.spans()
    assert [s["name"] for s in spans] == ["chat gpt-4o"]


def test_add_event(traced):
    with traced.tracer.span("with events") as s:
        s.add_event("retry", {"attempt": 2, "reason": "timeout", "backoff": 0.5})
        s.add_event("bare")
    span = traced.one("with events")
    assert [e["name"] for e in span["events"]] == ["retry", "bare"]
    retry, bare = span["events"]
    assert retry["attributes"] == {"attempt": 2, "reason": "timeout", "backoff": 0.5}
    assert bare["attributes"] == {}
    assert span["startTimeUnixNano"] <= retry["timeUnixNano"] <= bare["timeUnixNano"] <= span["endTimeUnixNano"]


def test_manual_start_and_end(traced):
    t = traced.tracer
    s = t.span("manual", kind="tool", attributes={"step": 1})
    # Not a context manager here: it does not become current.
    assert agtrace.current_span() is None
    assert s.is_recording() and not s.is_ended
    child = t.span("manual child", parent=s)
    child.set_attribute("done", True)
    child.end()
    s.end()
    assert s.is_ended and not s.is_recording()
    spans = traced.spans()
    m = one(spans, "manual")
    assert m["attributes"]["step"] == 1
    assert m["attributes"]["agtrace.kind"] == "tool"
    assert one(spans, "manual child")["parentSpanId"] == m["spanId"]


def test_module_start_span_is_span(initialized):
    assert agtrace.start_span is agtrace.span
    s = agtrace.start_span("module manual")
    s.end()
    assert initialized.one("module manual")["parentSpanId"] is None


def test_current_span_follows_with_blocks(traced):
    t = traced.tracer
    assert agtrace.current_span() is None
    with t.span("outer") as outer:
        assert agtrace.current_span() is outer
        with t.span("inner") as inner:
            assert agtrace.current_span() is inner
        assert agtrace.current_span() is outer
    assert agtrace.current_span() is None


def test_use_span_makes_a_span_current_without_ending_it(traced):
    t = traced.tracer
    s = t.span("kept open")
    with agtrace.use_span(s) as used:
        assert used is s
        assert agtrace.current_span() is s
        with t.span("under it"):
            pass
    assert agtrace.current_span() is None
    assert not s.is_ended
    s.set_attribute("after", "use_span")
    s.end()
    spans = traced.spans()
    kept = one(spans, "kept open")
    assert kept["attributes"]["after"] == "use_span"
    assert one(spans, "under it")["parentSpanId"] == kept["spanId"]


def test_span_ended_twice_is_counted_and_does_not_raise(traced):
    s = traced.tracer.span("twice")
    s.end()
    s.end()
    assert len(named(traced.spans(), "twice")) == 1
    stats = traced.tracer.stats()
    assert stats.ended == 1
    assert stats.misuse["ended_twice"] == 1


def test_with_block_after_manual_end_ends_once(traced):
    with traced.tracer.span("ended inside") as s:
        s.end()
    assert len(named(traced.spans(), "ended inside")) == 1
    assert traced.tracer.stats().misuse["ended_twice"] == 1


def test_recording_on_an_ended_span_is_ignored(traced):
    s = traced.tracer.span("closed", attributes={"before": 1})
    s.end()
    s.set_attribute("after", 2)
    s.set_status("error", "late")
    s.add_event("late event")
    s.update_name("renamed")
    s.set_usage(input_tokens=5)
    assert traced.tracer.stats().misuse["ended_twice"] == 5
    span = traced.one("closed")
    assert span["attributes"]["before"] == 1
    assert "after" not in span["attributes"]
    assert span["status"]["code"] == "unset"
    assert span["events"] == []


def test_span_garbage_collected_without_end_is_exported_abandoned(traced):
    t = traced.tracer
    with t.span("owner") as owner:
        s = t.span("forgotten", attributes={"kept": "yes"})
        assert t.stats().ended == 0
    del s
    gc.collect()
    stats = t.stats()
    assert stats.ended == 2, stats
    spans = traced.spans()
    forgotten = one(spans, "forgotten")
    assert forgotten["attributes"]["agtrace.abandoned"] is True
    assert forgotten["attributes"]["kept"] == "yes"
    assert forgotten["parentSpanId"] == owner.context.span_id
    assert "agtrace.abandoned" not in one(spans, "owner")["attributes"]


def test_parent_none_starts_a_new_trace(traced):
    t = traced.tracer
    with t.span("request"):
        with t.span("detached", parent=None):
            with t.span("under detached"):
                pass
    spans = traced.spans()
    request, detached, under = (one(spans, n) for n in ("request", "detached", "under detached"))
    assert detached["parentSpanId"] is None
    assert detached["traceId"] != request["traceId"]
    assert under["parentSpanId"] == detached["spanId"]
    assert under["traceId"] == detached["traceId"]


def test_use_span_none_starts_new_traces(traced):
    t = traced.tracer
    with t.span("request") as request:
        with agtrace.use_span(None):
            assert agtrace.current_span() is None
            with t.span("background"):
                pass
        assert agtrace.current_span() is request
    spans = traced.spans()
    assert one(spans, "background")["parentSpanId"] is None
    assert one(spans, "background")["traceId"] != one(spans, "request")["traceId"]


def test_child_started_after_parent_ended_still_nests(traced):
    t = traced.tracer
    parent = t.span("short parent")
    parent.end()
    late = t.span("late child", parent=parent)
    late.end()
    with agtrace.use_span(parent):
        with t.span("late via use_span"):
            pass
    spans = traced.spans()
    p = one(spans, "short parent")
    for name in ("late child", "late via use_span"):
        assert one(spans, name)["parentSpanId"] == p["spanId"]
        assert one(spans, name)["traceId"] == p["traceId"]


def test_parent_given_as_span_context(traced):
    t = traced.tracer
    with t.span("origin") as origin:
        context = origin.context
    with t.span("continued", parent=context):
        pass
    spans = traced.spans()
    assert one(spans, "continued")["parentSpanId"] == one(spans, "origin")["spanId"]


@pytest.mark.parametrize(
    "kind, agtrace_kind, openinference, otel",
    [
        (agtrace.SpanKind.AGENT, "agent", "AGENT", "INTERNAL"),
        ("llm", "llm", "LLM", "CLIENT"),
        ("TOOL", "tool", "TOOL", "INTERNAL"),
        (int(agtrace.SpanKind.RETRIEVER), "retriever", "RETRIEVER", "INTERNAL"),
        ("workflow", "workflow", "CHAIN", "INTERNAL"),
        ("embedding", "embedding", "EMBEDDING", "CLIENT"),
    ],
)
def test_kinds(traced, kind, agtrace_kind, openinference, otel):
    with traced.tracer.span("kinded", kind=kind):
        pass
    span = traced.one("kinded")
    assert span["attributes"]["agtrace.kind"] == agtrace_kind
    assert span["attributes"]["openinference.span.kind"] == openinference
    assert span["kind"] == otel


def test_plain_span_has_no_kind_attributes(traced):
    with traced.tracer.span("plain"):
        pass
    attrs = traced.one("plain")["attributes"]
    assert "agtrace.kind" not in attrs
    assert "gen_ai.operation.name" not in attrs


def test_explicit_tracer_beside_the_default(initialized, make_tracer):
    other = make_tracer(service_name="other-service")
    with agtrace.span("default root") as root:
        with other.tracer.span("other child"):
            with agtrace.span("default grandchild"):
                pass
    with other.tracer.span("other root"):
        pass

    mine = initialized.spans()
    theirs = other.spans()
    assert sorted(s["name"] for s in mine) == ["default grandchild", "default root"]
    assert sorted(s["name"] for s in theirs) == ["other child", "other root"]
    assert {s["resource"]["service.name"] for s in mine} == {"agtrace-python-tests"}
    assert {s["resource"]["service.name"] for s in theirs} == {"other-service"}
    # The current span is shared: spans nest across tracers.
    child = one(theirs, "other child")
    assert child["parentSpanId"] == root.context.span_id
    assert child["traceId"] == root.context.trace_id
    assert one(mine, "default grandchild")["parentSpanId"] == child["spanId"]
    assert one(theirs, "other root")["parentSpanId"] is None
    assert initialized.tracer.stats().started == 2
    assert other.tracer.stats().started == 2


def test_stats_count_spans(traced):
    t = traced.tracer
    for i in range(5):
        with t.span(f"s{i}"):
            pass
    open_span = t.span("still open")
    s = t.stats()
    assert (s.started, s.ended) == (6, 5)
    assert s.ended == s.dispatched + sum(s.dropped.values()) + s.pending
    open_span.end()
    assert traced.tracer.flush()
    s = t.stats()
    assert (s.started, s.ended, s.exported, s.pending) == (6, 6, 6, 0)
    assert [e.name for e in s.exporters] == ["file"]
    assert len(read_spans(traced.path)) == 6


def test_repr_says_the_state(traced):
    s = traced.tracer.span("r")
    assert "live" in repr(s)
    s.end()
    assert "ended" in repr(s)
    ctx = s.context
    assert ctx.trace_id in repr(ctx)

"""Propagation through the Python API, checked against OpenTelemetry
Python's own propagators: what ``agtrace.inject`` writes, OpenTelemetry reads
as the same ids; what OpenTelemetry writes, ``agtrace.extract`` continues."""

from __future__ import annotations

import re

import pytest
from opentelemetry import baggage as otel_baggage
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import format_span_id, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sdk_support import one

import agtrace

TRACECONTEXT = TraceContextTextMapPropagator()
B3 = {"b3": B3SingleFormat(), "b3multi": B3MultiFormat()}

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def otel_ids(span_context) -> tuple[str, str, bool]:
    return (
        format_trace_id(span_context.trace_id),
        format_span_id(span_context.span_id),
        span_context.trace_flags.sampled,
    )


def otel_extract(propagator, headers):
    """The remote span context OpenTelemetry reads from ``headers``."""
    return trace.get_current_span(propagator.extract(headers)).get_span_context()


def otel_headers(propagator=TRACECONTEXT, sampler=None, baggage=None):
    """Headers an OpenTelemetry SDK span injects, and that span's context."""
    provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
    with provider.get_tracer("agtrace-tests").start_as_current_span("otel parent") as span:
        ctx = None
        for k, v in (baggage or {}).items():
            ctx = otel_baggage.set_baggage(k, v, context=ctx)
        headers: dict[str, str] = {}
        propagator.inject(headers, context=ctx)
        if baggage:
            W3CBaggagePropagator().inject(headers, context=ctx)
    return headers, span.get_span_context()


def test_inject_writes_a_traceparent_opentelemetry_reads(traced):
    t = traced.tracer
    with t.span("client call") as s:
        headers = t.inject()
    assert set(headers) == {"traceparent"}
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", headers["traceparent"])
    remote = otel_extract(TRACECONTEXT, headers)
    assert remote.is_valid and remote.is_remote
    assert otel_ids(remote) == (s.context.trace_id, s.context.span_id, True)
    exported = traced.one("client call")
    assert (exported["traceId"], exported["spanId"]) == (s.context.trace_id, s.context.span_id)


def test_opentelemetry_continues_an_agtrace_trace(traced):
    t = traced.tracer
    with t.span("agtrace parent") as s:
        headers = t.inject()
    provider = TracerProvider()
    with provider.get_tracer("t").start_as_current_span("otel child", context=TRACECONTEXT.extract(headers)) as child:
        pass
    assert format_trace_id(child.get_span_context().trace_id) == s.context.trace_id
    assert format_span_id(child.parent.span_id) == s.context.span_id


def test_extract_continues_an_opentelemetry_trace(traced):
    t = traced.tracer
    headers, otel_parent = otel_headers()
    ctx = t.extract(headers)
    assert isinstance(ctx, agtrace.SpanContext)
    trace_id, span_id, sampled = otel_ids(otel_parent)
    assert (ctx.trace_id, ctx.span_id, ctx.sampled) == (trace_id, span_id, sampled)

    with t.span("server", parent=ctx):
        with t.span("server child"):
            pass
    with agtrace.use_span(ctx):
        with t.span("via use_span"):
            pass
    spans = traced.spans()
    server = one(spans, "server")
    assert server["traceId"] == trace_id
    assert server["parentSpanId"] == span_id
    assert one(spans, "server child")["parentSpanId"] == server["spanId"]
    assert one(spans, "via use_span")["parentSpanId"] == span_id
    assert {s["traceId"] for s in spans} == {trace_id}


def test_module_level_inject_and_extract(initialized):
    headers, otel_parent = otel_headers()
    ctx = agtrace.extract(headers)
    with agtrace.span("continued", parent=ctx):
        out = agtrace.inject({"x-request-id": "r-1"})
    assert out["x-request-id"] == "r-1"
    remote = otel_extract(TRACECONTEXT, out)
    assert format_trace_id(remote.trace_id) == format_trace_id(otel_parent.trace_id)
    span = initialized.one("continued")
    assert span["parentSpanId"] == format_span_id(otel_parent.span_id)
    assert format_span_id(remote.span_id) == span["spanId"]


def test_inject_into_a_given_carrier_and_for_a_given_span(traced):
    t = traced.tracer
    carrier = {"content-type": "application/json"}
    with t.span("a") as a:
        pass
    with t.span("b"):
        returned = t.inject(carrier, span=a)
    assert returned is carrier
    assert carrier["content-type"] == "application/json"
    assert carrier["traceparent"] == f"00-{a.context.trace_id}-{a.context.span_id}-01"
    # A SpanContext works as well as a Span.
    assert t.inject(span=a.context) == {"traceparent": carrier["traceparent"]}


def test_inject_without_a_span_leaves_the_carrier_unchanged(traced):
    assert traced.tracer.inject() == {}
    carrier = {"k": "v"}
    assert traced.tracer.inject(carrier) == {"k": "v"}


def test_baggage_is_read_and_passed_on(traced):
    t = traced.tracer
    headers, _ = otel_headers(baggage={"user.id": "alice", "city": "Zürich"})
    ctx = t.extract(headers)
    with t.span("with baggage", parent=ctx):
        out = t.inject()
    assert "baggage" in out
    assert dict(otel_baggage.get_all(W3CBaggagePropagator().extract(out))) == {"user.id": "alice", "city": "Zürich"}


def test_tracestate_is_carried(traced):
    t = traced.tracer
    ctx = t.extract({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01", "tracestate": "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"})
    with t.span("keeps tracestate", parent=ctx):
        out = t.inject()
    assert out["tracestate"] == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"


def test_descendants_of_a_remote_parent_keep_its_tracestate_and_baggage(traced):
    # Spans under the extracted context's child name it (the protocol's
    # INHERIT parent), whether their parent is live or already ended.
    t = traced.tracer
    ctx = t.extract(
        {
            "traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01",
            "tracestate": "rojo=00f067aa0ba902b7",
            "baggage": "user.id=alice",
        }
    )
    with t.span("server", parent=ctx) as server:
        with t.span("handler"):
            with t.span("client call"):
                live_parent = t.inject()
    late = t.span("late child", parent=server)
    after_end = t.inject(span=late)
    late.end()
    for out in (live_parent, after_end):
        assert out["traceparent"].startswith(f"00-{TRACE_ID}-")
        assert out["tracestate"] == "rojo=00f067aa0ba902b7"
        assert dict(otel_baggage.get_all(W3CBaggagePropagator().extract(out))) == {"user.id": "alice"}


def test_header_names_in_any_case(traced):
    ctx = traced.tracer.extract({"TraceParent": f"00-{TRACE_ID}-{SPAN_ID}-01"})
    assert ctx is not None
    assert (ctx.trace_id, ctx.span_id, ctx.sampled) == (TRACE_ID, SPAN_ID, True)


def test_unsampled_remote_parent_is_followed(traced):
    t = traced.tracer
    headers, otel_parent = otel_headers(sampler=ALWAYS_OFF)
    # OpenTelemetry 1.45 also sets the W3C "random" flag (02): only the
    # sampled bit matters here.
    assert int(headers["traceparent"][-2:], 16) & 1 == 0
    ctx = t.extract(headers)
    assert ctx.sampled is False
    with t.span("not sampled", parent=ctx) as s:
        assert not s.is_recording()
        out = t.inject()
    remote = otel_extract(TRACECONTEXT, out)
    assert format_trace_id(remote.trace_id) == format_trace_id(otel_parent.trace_id)
    assert remote.trace_flags.sampled is False
    assert traced.spans() == []
    assert t.stats().unsampled == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"traceparent": "garbage"},
        {"traceparent": f"00-{'0' * 32}-{SPAN_ID}-01"},  # all-zero trace id
        {"traceparent": f"00-{TRACE_ID}-{'0' * 16}-01"},  # all-zero span id
        {"traceparent": f"ff-{TRACE_ID}-{SPAN_ID}-01"},  # forbidden version
        {"traceparent": f"00-{TRACE_ID[:-1]}-{SPAN_ID}-01"},
        {"b3": "not-b3"},
        {"unrelated": "header"},
    ],
    ids=["empty", "garbage", "zero-trace", "zero-span", "version-ff", "short", "bad-b3", "unrelated"],
)
def test_extract_of_garbage_returns_none(traced, headers):
    assert traced.tracer.extract(headers) is None


def test_extract_of_baggage_alone_gives_a_context_without_ids(traced):
    ctx = traced.tracer.extract({"baggage": "k=v"})
    assert ctx is not None
    assert ctx.trace_id == "0" * 32
    assert ctx.span_id == "0" * 16
    with traced.tracer.span("baggage only", parent=ctx):
        out = traced.tracer.inject()
    assert out["baggage"] == "k=v"
    assert traced.one("baggage only")["parentSpanId"] is None


def test_span_context_properties(traced):
    with traced.tracer.span("ids") as s:
        ctx = s.context
    assert re.fullmatch(r"[0-9a-f]{32}", ctx.trace_id)
    assert re.fullmatch(r"[0-9a-f]{16}", ctx.span_id)
    assert ctx.sampled is True
    assert ctx.trace_id in repr(ctx) and ctx.span_id in repr(ctx)
    exported = traced.one("ids")
    assert (ctx.trace_id, ctx.span_id) == (exported["traceId"], exported["spanId"])
    # Each call makes a new object over the same ids.
    assert s.context.span_id == ctx.span_id


@pytest.mark.parametrize("fmt", ["b3", "b3multi"])
def test_b3_round_trip_with_opentelemetry(make_tracer, fmt):
    traced = make_tracer(propagators=fmt)
    t = traced.tracer
    assert t.get_config()["propagators"] == [fmt]
    # agtrace -> OpenTelemetry
    with t.span("b3 client") as s:
        out = t.inject()
    if fmt == "b3":
        assert set(out) == {"b3"}
        assert out["b3"] == f"{s.context.trace_id}-{s.context.span_id}-1"
    else:
        assert {k.lower() for k in out} >= {"x-b3-traceid", "x-b3-spanid"}
    assert otel_ids(otel_extract(B3[fmt], out)) == (s.context.trace_id, s.context.span_id, True)
    # OpenTelemetry -> agtrace
    headers, otel_parent = otel_headers(B3[fmt])
    ctx = t.extract(headers)
    assert (ctx.trace_id, ctx.span_id) == otel_ids(otel_parent)[:2]
    with t.span("b3 server", parent=ctx):
        pass
    server = traced.one("b3 server")
    assert server["traceId"] == format_trace_id(otel_parent.trace_id)
    assert server["parentSpanId"] == format_span_id(otel_parent.span_id)
    # Only the configured format is read.
    assert t.extract({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"}) is None


def test_several_propagators_write_every_format(make_tracer):
    t = make_tracer(propagators=["b3", "tracecontext"]).tracer
    with t.span("both") as s:
        out = t.inject()
    assert otel_ids(otel_extract(B3["b3"], out))[:2] == (s.context.trace_id, s.context.span_id)
    assert otel_ids(otel_extract(TRACECONTEXT, out))[:2] == (s.context.trace_id, s.context.span_id)


def test_bad_carriers_raise(traced):
    t = traced.tracer
    with pytest.raises(agtrace.InvalidArgument, match="mapping"):
        t.extract("traceparent: x")
    with pytest.raises(agtrace.InvalidArgument, match="str"):
        t.extract({"traceparent": 1})
    with pytest.raises(agtrace.InvalidArgument, match="Span or SpanContext"):
        t.inject(span="not a span")

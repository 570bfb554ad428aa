"""Propagation interop between agtrace and OpenTelemetry Python's own propagators.

Each test hands headers across the process boundary in one direction and checks
that the receiving side continues the same trace:

- Python -> agtrace: an SDK span injects with OpenTelemetry's propagators;
  agtrace extracts, starts a child and re-injects.
- agtrace -> Python: agtrace injects; OpenTelemetry's propagators extract and the
  SDK starts a child span.

The agtrace side is the `propagate` example (core/examples/propagate.rs), run as
a subprocess and found through AGTRACE_PROPAGATE_BIN; build it with
`cargo build --release --example propagate`. B3 cases need the
`opentelemetry-propagator-b3` package and are skipped without it.
"""

import json
import os
import subprocess

import pytest
from opentelemetry import baggage as otel_baggage
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    TraceState,
    format_span_id,
    format_trace_id,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

try:
    from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat

    B3 = {"b3": B3SingleFormat(), "b3multi": B3MultiFormat()}
except ImportError:
    B3 = {}

TRACECONTEXT = TraceContextTextMapPropagator()
BAGGAGE = W3CBaggagePropagator()

needs_b3 = pytest.mark.skipif(not B3, reason="opentelemetry-propagator-b3 is not installed")
sampling = pytest.mark.parametrize(
    "sampler, sampled", [(ALWAYS_ON, True), (ALWAYS_OFF, False)], ids=["sampled", "not-sampled"]
)

# A trace made up on the agtrace side's behalf, as a peer other than Python
# would send it.
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def agtrace_continue(headers: dict, formats: str | None = None) -> dict:
    """Runs `propagate continue [formats]` on `headers` and returns its JSON."""
    binary = os.environ.get("AGTRACE_PROPAGATE_BIN")
    if not binary:
        pytest.fail(
            "AGTRACE_PROPAGATE_BIN is not set. Build the agtrace side with "
            "`cargo build --release --example propagate` and set the variable to "
            "target/release/examples/propagate.",
            pytrace=False,
        )
    if not os.access(binary, os.X_OK):
        pytest.fail(f"AGTRACE_PROPAGATE_BIN={binary!r} is not an executable file", pytrace=False)
    args = [binary, "continue"] + ([formats] if formats else [])
    result = subprocess.run(
        args, input=json.dumps(headers), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"{args} failed: {result.stderr}"
    return json.loads(result.stdout)


def python_span(sampler, baggage: dict | None = None):
    """Starts and ends an SDK span; returns it and the context it was current in."""
    tracer = TracerProvider(sampler=sampler).get_tracer("agtrace-interop")
    with tracer.start_as_current_span("python-parent") as span:
        ctx = None
        for key, value in (baggage or {}).items():
            ctx = otel_baggage.set_baggage(key, value, context=ctx)
        if ctx is None:
            ctx = trace.set_span_in_context(span)
    return span, ctx


def python_child(ctx):
    """An SDK child span of whatever context a propagator extracted, and whether
    it was recording. The default sampler is parent-based, so the child follows
    the remote sampled flag; an unsampled child is a bare span with no parent."""
    with TracerProvider().get_tracer("agtrace-interop").start_as_current_span(
        "python-child", context=ctx
    ) as child:
        recording = child.is_recording()
    return child, recording


def ids(span_context) -> dict:
    return {
        "trace_id": format_trace_id(span_context.trace_id),
        "span_id": format_span_id(span_context.span_id),
        "sampled": span_context.trace_flags.sampled,
    }


def assert_continued(out: dict, parent: dict, formats: str):
    """agtrace extracted `parent` and injected a child of it in `formats`."""
    assert out["extracted"] == parent
    child = dict(out["span"])
    # A sampled child is a real agtrace span, exported with Python's span as
    # its parent; an unsampled one is not recorded.
    exported_parent = child.pop("parent_span_id")
    assert exported_parent == (parent["span_id"] if parent["sampled"] else None)
    assert child["trace_id"] == parent["trace_id"]
    assert child["span_id"] != parent["span_id"]
    assert child["sampled"] == parent["sampled"]
    # What agtrace injected must read back in Python as that child.
    propagator = TRACECONTEXT if formats == "tracecontext" else B3[formats]
    reread = trace.get_current_span(propagator.extract(out["headers"])).get_span_context()
    assert reread.is_valid and reread.is_remote
    assert ids(reread) == child


# ---- Python -> agtrace ----


@sampling
def test_agtrace_continues_python_traceparent_and_baggage(sampler, sampled):
    # Values avoid spaces: OpenTelemetry Python form-encodes a space as '+',
    # which W3C baggage reads as a literal '+' (opentelemetry-python#5566).
    sent_baggage = {"user.id": "alice", "route": "/v1/chat;q=a,b+c", "city": "Zürich"}
    span, ctx = python_span(sampler, sent_baggage)
    headers = {}
    TRACECONTEXT.inject(headers, context=ctx)
    BAGGAGE.inject(headers, context=ctx)
    parent = ids(span.get_span_context())
    assert parent["sampled"] is sampled

    out = agtrace_continue(headers, "tracecontext,baggage")

    assert_continued(out, parent, "tracecontext")
    assert out["baggage"] == sent_baggage
    reread = otel_baggage.get_all(BAGGAGE.extract(out["headers"]))
    assert dict(reread) == sent_baggage


def test_agtrace_carries_python_tracestate():
    remote_parent = SpanContext(
        trace_id=int(TRACE_ID, 16),
        span_id=int(SPAN_ID, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")]),
    )
    span, _ = python_child(trace.set_span_in_context(NonRecordingSpan(remote_parent)))
    headers = {}
    TRACECONTEXT.inject(headers, context=trace.set_span_in_context(span))
    assert headers["tracestate"] == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"

    out = agtrace_continue(headers, "tracecontext")

    assert_continued(out, ids(span.get_span_context()), "tracecontext")
    reread = trace.get_current_span(TRACECONTEXT.extract(out["headers"])).get_span_context()
    assert reread.trace_state == remote_parent.trace_state


@needs_b3
@pytest.mark.parametrize("formats", ["b3", "b3multi"])
@sampling
def test_agtrace_continues_python_b3(formats, sampler, sampled):
    span, ctx = python_span(sampler)
    headers = {}
    B3[formats].inject(headers, context=ctx)
    parent = ids(span.get_span_context())
    assert parent["sampled"] is sampled

    out = agtrace_continue(headers, formats)

    assert_continued(out, parent, formats)


# ---- agtrace -> Python ----


def test_python_continues_new_agtrace_trace():
    out = agtrace_continue({})
    assert out["extracted"] is None
    agtrace_span = out["span"]

    child, recording = python_child(TRACECONTEXT.extract(out["headers"]))

    assert recording
    assert format_trace_id(child.get_span_context().trace_id) == agtrace_span["trace_id"]
    assert child.parent.is_remote
    assert format_span_id(child.parent.span_id) == agtrace_span["span_id"]
    assert child.get_span_context().trace_flags.sampled


@pytest.mark.parametrize(
    "formats",
    ["tracecontext", pytest.param("b3", marks=needs_b3), pytest.param("b3multi", marks=needs_b3)],
)
@pytest.mark.parametrize("flags, sampled", [("01", True), ("00", False)])
def test_python_continues_agtrace_injection(formats, flags, sampled):
    out = agtrace_continue({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-{flags}"}, formats)
    agtrace_span = dict(out["span"])
    assert agtrace_span.pop("parent_span_id") == (SPAN_ID if sampled else None)
    assert agtrace_span["trace_id"] == TRACE_ID
    assert agtrace_span["sampled"] is sampled

    propagator = TRACECONTEXT if formats == "tracecontext" else B3[formats]
    extracted = propagator.extract(out["headers"])
    remote_parent = trace.get_current_span(extracted).get_span_context()
    assert remote_parent.is_remote
    assert ids(remote_parent) == agtrace_span
    child, recording = python_child(extracted)

    assert recording is sampled
    assert format_trace_id(child.get_span_context().trace_id) == TRACE_ID
    assert child.get_span_context().trace_flags.sampled is sampled
    if sampled:
        assert format_span_id(child.parent.span_id) == agtrace_span["span_id"]


def test_python_decodes_agtrace_baggage_special_characters():
    # W3C-encoded, as a spec-following peer would send it: agtrace decodes it and
    # re-encodes it for Python.
    incoming = (
        "space=a%20b,comma=a%2Cb,equals=a=b,semicolon=a%3Bb,"
        "unicode=h%C3%A9llo%20%E2%98%83,plus=1+1,percent=100%25;prop=ignored"
    )
    expected = {
        "space": "a b",
        "comma": "a,b",
        "equals": "a=b",
        "semicolon": "a;b",
        "unicode": "héllo ☃",
        "plus": "1+1",
        "percent": "100%",
    }

    out = agtrace_continue(
        {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01", "baggage": incoming},
        "tracecontext,baggage",
    )

    assert out["baggage"] == expected
    assert dict(otel_baggage.get_all(BAGGAGE.extract(out["headers"]))) == expected

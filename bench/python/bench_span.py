"""`with span(...)` with 3 small attributes, and with one 16 KiB attribute:
agtrace beside opentelemetry-sdk (BatchSpanProcessor, discarding exporter),
in the same run; and the same small span with the OpenTelemetry bridge
active (agtrace/_otel.py), beside the plain one. Prints mean and p99 per span in microseconds and the ratio
(targets: 3 small attributes <= 1/20 of the peer and <= 2 us; 16 KiB <= 1/5
of the peer), and a result row per scenario for bench/run.py (`BENCH {json}`).
Then a decorated tool call with input/output capture on (`@agtrace.tool`:
arguments by name and the result, as JSON), beside the same function under
opentelemetry-sdk's decorator recording them by hand (json.dumps), and
beside agtrace's plain span (target: <= 1/4 of the peer).

    python bench/python/bench_span.py [--quick]   (also quick with AGTRACE_BENCH_SMOKE set)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import agtrace
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

ATTRS = {"tool": "search", "query": "weather", "user": "u-1"}
BIG = {"prompt": "x" * 16384}


class Discard(SpanExporter):
    def export(self, spans: object) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def measure(body: Callable[[], None], rounds: int, per_round: int) -> tuple[float, float]:
    """Mean over all spans, and p99 of per-round means, in microseconds."""
    for _ in range(per_round):
        body()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(per_round):
            body()
        samples.append((time.perf_counter_ns() - t0) / per_round / 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return statistics.fmean(samples), p99


def main() -> None:
    quick = "--quick" in sys.argv or "AGTRACE_BENCH_SMOKE" in os.environ
    rounds, per_round = (5, 200) if quick else (50, 2000)
    # The plain span: this process imports OpenTelemetry, so the default
    # tracer's bridge is turned off (as it is where OpenTelemetry is absent).
    agtrace.init(service_name="bench", exporters="none", ignore_env=True, otel_bridge=False)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    otel = provider.get_tracer("bench")

    def agtrace_small() -> None:
        with agtrace.span("x", attributes=ATTRS):
            pass

    def otel_small() -> None:
        with otel.start_as_current_span("x", attributes=ATTRS):
            pass

    def agtrace_big() -> None:
        with agtrace.span("x", attributes=BIG):
            pass

    def otel_big() -> None:
        with otel.start_as_current_span("x", attributes=BIG):
            pass

    print(f"{'scenario':<28}{'agtrace us':>12}{'p99':>8}{'otel us':>10}{'p99':>8}{'ratio':>8}")
    for name, ours, theirs in (
        ("3 small attributes", agtrace_small, otel_small),
        ("one 16 KiB attribute", agtrace_big, otel_big),
    ):
        a_mean, a_p99 = measure(ours, rounds, per_round)
        o_mean, o_p99 = measure(theirs, rounds, per_round)
        ratio = a_mean / o_mean
        print(f"{name:<28}{a_mean:>12.2f}{a_p99:>8.2f}{o_mean:>10.2f}{o_p99:>8.2f}{ratio:>8.3f}")
        small = name == "3 small attributes"
        row = {
            "section": "Python",
            "scenario": f"with span(...), {name}",
            "unit": "ns",
            "agtrace": a_mean * 1000,
            "peer": "opentelemetry-sdk 1.45 (batch processor)",
            "peer_value": o_mean * 1000,
            "target": "<= 0.05 x peer, <= 2 us" if small else "<= 0.2 x peer",
            "met": (ratio <= 0.05 and a_mean <= 2.0) if small else ratio <= 0.2,
            "note": f"p99 of round means: agtrace {a_p99:.1f} us, peer {o_p99:.1f} us",
        }
        print("BENCH " + json.dumps(row))
    bridge_rows(otel, rounds, per_round, agtrace_small)
    decorated_row(rounds, per_round, otel, agtrace_small)
    s = agtrace.stats()
    print(f"agtrace: {s.ended} spans ended, {sum(s.dropped.values())} dropped at the queue")
    agtrace.shutdown()
    provider.shutdown()


def bridge_rows(otel: trace.Tracer, rounds: int, per_round: int, plain: Callable[[], None]) -> None:
    """The small span of a bridged tracer: under an agtrace parent (the
    bridge's check at the start), and as the child of an OpenTelemetry span
    (its context converted at each start), beside the plain span."""
    bridged = agtrace.Tracer("bench", exporters="none", ignore_env=True)

    def small() -> None:
        with bridged.span("x", attributes=ATTRS):
            pass

    p_mean, p_p99 = measure(plain, rounds, per_round)
    with bridged.span("parent"):
        n_mean, n_p99 = measure(small, rounds, per_round)
    with otel.start_as_current_span("otel parent") as parent:
        with bridged.span("check") as child:
            assert child.context is not None
            assert child.context.trace_id == trace.format_trace_id(parent.get_span_context().trace_id), "not bridged"
        o_mean, o_p99 = measure(small, rounds, per_round)
    for scenario, mean, p99 in (
        ("under an agtrace span", n_mean, n_p99),
        ("child of an OpenTelemetry span", o_mean, o_p99),
    ):
        print(f"{'bridge, ' + scenario:<28}{mean:>12.2f}{p99:>8.2f}{p_mean:>10.2f}{p_p99:>8.2f}{mean / p_mean:>8.3f}")
        row = {
            "section": "Python",
            "scenario": f"with span(...), 3 small attributes, OpenTelemetry bridge active, {scenario}",
            "unit": "ns",
            "agtrace": mean * 1000,
            "peer": "the same span, bridge off",
            "peer_value": p_mean * 1000,
            "target": "<= 2 us",
            "met": mean <= 2.0,
            "note": f"p99 of round means: bridged {p99:.1f} us, plain {p_p99:.1f} us",
        }
        print("BENCH " + json.dumps(row))
    bridged.shutdown()


def decorated_row(rounds: int, per_round: int, otel: Any, plain: Callable[[], None]) -> None:
    @agtrace.tool
    def lookup(city: str, units: str = "metric") -> dict[str, Any]:
        return {"city": city, "units": units, "forecast": "sunny"}

    @otel.start_as_current_span("lookup")
    def otel_lookup(city: str, units: str = "metric") -> dict[str, Any]:
        result = {"city": city, "units": units, "forecast": "sunny"}
        span = trace.get_current_span()
        span.set_attribute("input.value", json.dumps({"city": city, "units": units}))
        span.set_attribute("input.mime_type", "application/json")
        span.set_attribute("output.value", json.dumps(result))
        span.set_attribute("output.mime_type", "application/json")
        return result

    a_mean, a_p99 = measure(lambda: lookup("Oslo"), rounds, per_round)
    o_mean, o_p99 = measure(lambda: otel_lookup("Oslo"), rounds, per_round)
    p_mean, _ = measure(plain, rounds, per_round)
    name = "@tool call, capture on"
    print(f"{name:<28}{a_mean:>12.2f}{a_p99:>8.2f}{o_mean:>10.2f}{o_p99:>8.2f}{a_mean / o_mean:>8.3f}")
    row = {
        "section": "Python",
        "scenario": name,
        "unit": "ns",
        "agtrace": a_mean * 1000,
        "peer": "opentelemetry-sdk 1.45 decorator, input/output set by hand",
        "peer_value": o_mean * 1000,
        "target": "<= 0.25 x peer",
        "met": a_mean / o_mean <= 0.25,
        "note": f"plain `with span(...)` with 3 attributes in the same run: {p_mean:.2f} us; "
        f"p99 of round means: agtrace {a_p99:.1f} us, peer {o_p99:.1f} us",
    }
    print("BENCH " + json.dumps(row))


if __name__ == "__main__":
    main()

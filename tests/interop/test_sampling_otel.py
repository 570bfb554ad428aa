"""Ratio-sampling interop between agtrace and OpenTelemetry Python.

A trace sampled at a ratio must get the same decision in every service that
sees it, so agtrace's `trace_id_ratio` (which all its bindings call) is checked
against the OpenTelemetry Python SDK's own `TraceIdRatioBased` sampler on the
same trace ids and rates.

The agtrace side is the `sample_decisions` example
(core/examples/sample_decisions.rs), found through
AGTRACE_SAMPLE_DECISIONS_BIN; build it with
`cargo build --release --example sample_decisions`.

The two rules agree exactly for every rate of at least 2**-11 and for 0 and 1
(see `trace_id_ratio`'s documentation); below 2**-11 Python samples at most two
more of the 2**64 possible low halves, which the last test pins down.
"""

import random
import subprocess

from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

RATES = [0.0, 0.001, 0.1, 0.25, 0.5, 0.999, 1.0]
TRACE_IDS = 5000
# Fixed, so a failure names trace ids that fail again on the next run.
SEED = 20251001
LOW = (1 << 64) - 1


def agtrace_decisions(binary, cases: list[tuple[int, float]]) -> list[bool]:
    """agtrace's decision for each (trace id, rate), in one run of the binary."""
    lines = "".join(f"{trace_id:032x} {rate!r}\n" for trace_id, rate in cases)
    result = subprocess.run(
        [binary("sample-decisions")], input=lines, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"sample_decisions failed: {result.stderr}"
    out = result.stdout.split()
    assert len(out) == len(cases), f"{len(out)} decisions for {len(cases)} lines"
    assert set(out) <= {"0", "1"}, f"unexpected output: {sorted(set(out))}"
    return [d == "1" for d in out]


def python_decision(trace_id: int, rate: float) -> bool:
    return TraceIdRatioBased(rate).should_sample(None, trace_id, "span").decision.is_sampled()


def random_trace_ids(rng: random.Random, n: int) -> list[int]:
    ids = []
    while len(ids) < n:
        trace_id = rng.getrandbits(128)
        if trace_id:  # zero is the invalid id
            ids.append(trace_id)
    return ids


def boundary_trace_ids(rng: random.Random, rate: float) -> list[int]:
    """Ids whose low half sits at Python's bound for `rate`, and at the extremes,
    under a random high half: where an off-by-one would show."""
    bound = TraceIdRatioBased(rate).bound
    near = {bound - 2, bound - 1, bound, bound + 1}
    lows = {0, 1, LOW - 1, LOW} | {low for low in near if 0 <= low <= LOW}
    return [(rng.getrandbits(64) << 64) | low for low in sorted(lows)]


def test_ratio_decisions_match_opentelemetry_python(binary):
    rng = random.Random(SEED)
    ids = random_trace_ids(rng, TRACE_IDS)
    cases = [(t, rate) for rate in RATES for t in ids + boundary_trace_ids(rng, rate)]

    agtrace = agtrace_decisions(binary, cases)
    python = [python_decision(t, rate) for t, rate in cases]

    mismatches = [
        f"{t:032x} at rate {rate!r}: agtrace {a}, python {p}"
        for (t, rate), a, p in zip(cases, agtrace, python)
        if a != p
    ]
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ:\n" + "\n".join(
        mismatches[:20]
    )
    # The rates really were applied, not everything or nothing.
    for rate in (0.1, 0.5):
        sampled = sum(a for (_, r), a in zip(cases, agtrace) if r == rate)
        assert abs(sampled / len(ids) - rate) < 0.05, (rate, sampled)


def test_known_difference_below_2_pow_minus_11(binary):
    # rate * 2**64 == 5: Python samples low halves below 5; agtrace (like the
    # Rust and Go SDKs) those whose top 63 bits are below floor(2.5), i.e. below 4.
    rate = 5 * 2.0**-64
    high = 0x4BF92F3577B34DA6 << 64
    lows = [3, 4, 5]
    agtrace = agtrace_decisions(binary, [(high | low, rate) for low in lows])
    python = [python_decision(high | low, rate) for low in lows]
    assert agtrace == [True, False, False]
    assert python == [True, True, False]

"""Property tests: hostile names, keys and values, and random orders of span
calls (start, end, end again, use after end) on random threads, never raise
with strict mode off, and the tracer's accounting stays exact: after a
flush, ``ended == dispatched + dropped + pending``, and each exporter's
``received == exported + dropped + spooled + pending``. Values nest up to
10,000 levels (past the SDK's depth limit, which keeps a marker)."""

from __future__ import annotations

import threading
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agtrace

# Any code point, lone surrogates and NUL included.
TEXT = st.text(st.characters(codec=None), max_size=64)
HUGE_TEXT = st.builds(lambda c, n: c * n, st.characters(codec=None), st.integers(0, 200_000))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | TEXT
    | st.binary(max_size=64)
    | HUGE_TEXT
)
def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


# Random trees, plus single chains up to 10,000 deep.
VALUES = st.integers(0, 10_000).map(_nested) | st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(TEXT, inner, max_size=4)
    | st.tuples(inner, inner)
    | st.frozensets(st.integers() | TEXT, max_size=3),
    max_leaves=50,
)
ATTRIBUTES = st.dictionaries(TEXT, VALUES, max_size=4)

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("start"), TEXT, ATTRIBUTES),
        st.tuples(st.just("set"), TEXT, VALUES),
        st.tuples(st.just("set_many"), ATTRIBUTES),
        st.tuples(st.just("event"), TEXT, ATTRIBUTES),
        st.tuples(st.just("end"), st.integers(0, 7)),
        st.tuples(st.just("enter"), TEXT),
    ),
    max_size=30,
)

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def run(tracer: agtrace.Tracer, ops: list[tuple[Any, ...]]) -> None:
    spans: list[Any] = []
    for op in ops:
        kind, args = op[0], op[1:]
        # Ended spans stay in the list: ending again and setting after the
        # end are misuse the SDK counts, never raises.
        target = spans[-1] if spans else None
        if kind == "start":
            spans.append(tracer.span(args[0], attributes=args[1]))
        elif kind == "set" and target is not None:
            target.set_attribute(args[0], args[1])
        elif kind == "set_many" and target is not None:
            target.set_attributes(args[0])
        elif kind == "event" and target is not None:
            target.add_event(args[0], args[1])
        elif kind == "end" and spans:
            spans[args[0] % len(spans)].end()
        elif kind == "enter":
            with tracer.span(args[0]) as s:
                s.set_attribute(args[0], args[0])
    for s in spans:
        s.end()


def assert_accounted(tracer: agtrace.Tracer) -> None:
    tracer.flush(10.0)
    s = tracer.stats()
    assert s.ended == s.dispatched + sum(s.dropped.values()) + s.pending, s
    for e in s.exporters:
        assert e.received == e.exported + sum(e.dropped.values()) + e.pending, e


@PROPERTY
@given(ops=OPS)
def test_random_calls_never_raise_and_are_accounted(traced, ops):
    run(traced.tracer, ops)
    assert_accounted(traced.tracer)


@PROPERTY
@given(per_thread=st.lists(OPS, min_size=2, max_size=4))
def test_random_interleavings_on_threads_are_accounted(traced, per_thread):
    errors: list[BaseException] = []
    go = threading.Barrier(len(per_thread))

    def work(ops: list[tuple[Any, ...]]) -> None:
        try:
            go.wait()
            run(traced.tracer, ops)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(ops,)) for ops in per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert_accounted(traced.tracer)

"""Span links: ``links=[...]`` on every start (``span``, ``start_span``,
decorators, ``wrap_function``) and ``Span.add_link`` after it, naming
agtrace span contexts, spans and OpenTelemetry span contexts, with
attributes; read back from the exported OTLP/JSON. And conversations, whose
turns link each to the one before."""

from __future__ import annotations

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from sdk_support import one

import agtrace


def link_ids(span):
    return [(link["traceId"], link["spanId"]) for link in span["links"]]


def ids(context):
    return context.trace_id, context.span_id


def test_links_at_start_name_contexts_and_spans_with_attributes(traced):
    t = traced.tracer
    with t.span("first") as first:
        pass
    second = t.span("second")
    with t.span("linking", links=[first.context, (second, {"reason": "retry", "attempt": 2})]):
        pass
    second.end()
    span = traced.one("linking")
    assert link_ids(span) == [ids(first.context), ids(second.context)]
    assert span["links"][0]["attributes"] == {}
    assert span["links"][1]["attributes"] == {"reason": "retry", "attempt": 2}
    assert span["parentSpanId"] is None, "a link is no parent"


def test_add_link_after_the_start_is_exported_with_the_end(traced):
    t = traced.tracer
    with t.span("earlier") as earlier:
        pass
    with t.span("later", links=[earlier]) as later:
        with t.span("meanwhile") as meanwhile:
            pass
        later.add_link(meanwhile.context, {"why": "fan-in"})
        later.add_link(meanwhile)
    span = traced.one("later")
    assert link_ids(span) == [ids(earlier.context), ids(meanwhile.context), ids(meanwhile.context)]
    assert [link["attributes"] for link in span["links"]] == [{}, {"why": "fan-in"}, {}]


def test_a_remote_context_can_be_linked(traced):
    trace_id, span_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    remote = traced.tracer.extract({"traceparent": f"00-{trace_id}-{span_id}-01"})
    with traced.tracer.span("consumer", links=[remote]):
        pass
    assert link_ids(traced.one("consumer")) == [(trace_id, span_id)]


def test_opentelemetry_span_contexts_and_links_are_accepted(traced):
    provider = TracerProvider()
    otel = provider.get_tracer("test")
    with otel.start_as_current_span("otel work") as work:
        context = work.get_span_context()
    state = otel_trace.TraceState([("vendor", "v1")])
    stated = otel_trace.SpanContext(context.trace_id, 0x1234, is_remote=True, trace_state=state)
    with traced.tracer.span("bridged", links=[work, otel_trace.Link(stated, {"from": "otel"})]):
        pass
    provider.shutdown()
    span = traced.one("bridged")
    trace_hex, span_hex = f"{context.trace_id:032x}", f"{context.span_id:016x}"
    assert link_ids(span) == [(trace_hex, span_hex), (trace_hex, "0000000000001234")]
    assert span["links"][1]["traceState"] == "vendor=v1"
    assert span["links"][1]["attributes"] == {"from": "otel"}


def test_module_level_start_span_and_decorators_take_links(initialized):
    with agtrace.span("target") as target:
        pass

    @agtrace.tool(links=[target.context])
    def decorated():
        return 1

    wrapped = agtrace.wrap_function(lambda: 2, name="wrapped", links=[target])
    decorated()
    wrapped()
    agtrace.start_span("manual", links=[(target, {"k": "v"})]).end()
    spans = initialized.spans()
    for name in ("decorated", "wrapped", "manual"):
        matching = [s for s in spans if s["name"].endswith(name)]
        assert len(matching) == 1, (name, [s["name"] for s in spans])
        assert link_ids(matching[0]) == [ids(target.context)], name
    assert one(spans, "manual")["links"][0]["attributes"] == {"k": "v"}


def test_a_span_that_records_nothing_gives_no_link(traced):
    unsampled = agtrace.span("before init: records nothing")
    with traced.tracer.span("linking", links=[unsampled]) as s:
        s.add_link(unsampled)
    unsampled.end()
    assert traced.one("linking")["links"] == []


# -- conversations -------------------------------------------------------------------


def test_each_turn_links_to_the_previous_turn_and_carries_the_conversation(initialized):
    chat = agtrace.conversation("c-42")
    roots = []
    for question in ("hi", "and tomorrow?", "thanks"):
        with chat.turn("answer", attributes={"question": question}) as turn:
            with agtrace.span("chat gpt-4o", kind="llm"):
                pass
            roots.append(turn.context)
    assert chat.previous is not None and ids(chat.previous) == ids(roots[-1])

    spans = initialized.spans()
    turns = sorted((s for s in spans if s["name"] == "answer"), key=lambda s: s["startTimeUnixNano"])
    assert [ids(r) for r in roots] == [(s["traceId"], s["spanId"]) for s in turns]
    assert len({s["traceId"] for s in turns}) == 3, "each turn is its own trace"
    assert all(s["parentSpanId"] is None for s in turns)
    assert link_ids(turns[0]) == []
    assert link_ids(turns[1]) == [ids(roots[0])]
    assert link_ids(turns[2]) == [ids(roots[1])]
    assert turns[1]["links"][0]["attributes"] == {"link.kind": "previous_turn"}
    assert turns[0]["attributes"]["gen_ai.operation.name"] == "invoke_agent"
    assert {s["attributes"]["gen_ai.conversation.id"] for s in spans} == {"c-42"}


def test_a_conversation_continues_from_a_previous_context(initialized):
    with agtrace.conversation("c-1").turn() as first:
        pass
    later = agtrace.conversation("c-1", previous=first.context)
    with later.turn("second", links=[(first, {"k": 1})]):
        pass
    second = initialized.one("second")
    assert link_ids(second) == [ids(first.context), ids(first.context)]
    assert second["attributes"]["gen_ai.conversation.id"] == "c-1"


def test_a_turn_nests_under_the_current_span_or_its_parent(initialized):
    chat = agtrace.conversation("c-2")
    with agtrace.span("request") as request:
        with chat.turn("nested"):
            pass
    with chat.turn("rooted", parent=None):
        pass
    spans = initialized.spans()
    assert one(spans, "nested")["parentSpanId"] == request.context.span_id
    assert one(spans, "rooted")["parentSpanId"] is None
    assert link_ids(one(spans, "rooted")) == [(request.context.trace_id, one(spans, "nested")["spanId"])]


def test_conversation_arguments_are_checked():
    with pytest.raises(agtrace.InvalidArgument, match="conversation_id"):
        agtrace.conversation("")
    with pytest.raises(agtrace.InvalidArgument, match="previous"):
        agtrace.conversation("c", previous="00-abc")

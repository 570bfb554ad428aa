"""Model calls: identity (``set_llm``), token usage and its rollup onto every
ancestor (``agtrace.usage.*``, core/src/semconv.rs), message content (only
with ``capture_content=True``), time to first chunk, tools and agents."""

from __future__ import annotations

import json

import pytest
from sdk_support import one

import agtrace

USAGE_KEYS = (
    "agtrace.usage.input_tokens",
    "agtrace.usage.output_tokens",
    "agtrace.usage.cache_read_input_tokens",
    "agtrace.usage.cache_creation_input_tokens",
    "agtrace.usage.reasoning_output_tokens",
)


def test_set_llm(traced):
    with traced.tracer.span("chat gpt-4o", kind="llm") as s:
        s.set_llm(provider="openai", request_model="gpt-4o")
        s.set_llm(response_model="gpt-4o-2024-08-06", response_id="chatcmpl-1", finish_reasons=["stop", "length"])
    attrs = traced.one("chat gpt-4o")["attributes"]
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attrs["gen_ai.response.id"] == "chatcmpl-1"
    assert attrs["gen_ai.response.finish_reasons"] == ["stop", "length"]
    assert attrs["gen_ai.operation.name"] == "chat"


def test_set_usage_on_the_span(traced):
    with traced.tracer.span("chat", kind="llm") as s:
        s.set_llm(provider="openai", request_model="gpt-4o")
        s.set_usage(
            input_tokens=1000,
            output_tokens=200,
            cache_read_input_tokens=300,
            cache_creation_input_tokens=40,
            reasoning_output_tokens=50,
        )
    attrs = traced.one("chat")["attributes"]
    assert attrs["gen_ai.usage.input_tokens"] == 1000
    assert attrs["gen_ai.usage.output_tokens"] == 200
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 300
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 40
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 50
    assert attrs["agtrace.usage.llm_calls"] == 1
    # gpt-4o is in the built-in price table.
    assert attrs["agtrace.cost_usd"] > 0


def test_usage_rolls_up_onto_every_ancestor(traced):
    t = traced.tracer
    with t.span("invoke_agent", kind="agent") as agent:
        with t.span("plan", kind="workflow"):
            with t.span("chat small", kind="llm") as llm:
                llm.set_llm(provider="openai", request_model="gpt-4o-mini")
                llm.set_usage(input_tokens=100, output_tokens=10, cache_read_input_tokens=5)
            with t.span("lookup", kind="tool"):
                pass
        with t.span("chat big", kind="llm") as llm:
            llm.set_llm(provider="openai", request_model="gpt-4o")
            llm.set_usage(input_tokens=1000, output_tokens=200, reasoning_output_tokens=7)
        with t.span("failing tool", kind="tool") as tool:
            tool.set_status("error", "boom")
        agent.set_attribute("own", True)

    spans = traced.spans()
    agent_span, plan = one(spans, "invoke_agent")["attributes"], one(spans, "plan")["attributes"]
    assert agent_span["agtrace.usage.input_tokens"] == 1100
    assert agent_span["agtrace.usage.output_tokens"] == 210
    assert agent_span["agtrace.usage.cache_read_input_tokens"] == 5
    assert agent_span["agtrace.usage.reasoning_output_tokens"] == 7
    assert agent_span["agtrace.usage.llm_calls"] == 2
    assert agent_span["agtrace.usage.tool_calls"] == 2
    assert agent_span["agtrace.usage.errors"] == 1
    assert agent_span["agtrace.usage.cost_usd"] == pytest.approx(
        one(spans, "chat small")["attributes"]["agtrace.cost_usd"] + one(spans, "chat big")["attributes"]["agtrace.cost_usd"],
        abs=2e-8,  # each cost is written rounded to 1e-8 USD
    )
    assert plan["agtrace.usage.input_tokens"] == 100
    assert plan["agtrace.usage.output_tokens"] == 10
    assert plan["agtrace.usage.llm_calls"] == 1
    assert plan["agtrace.usage.tool_calls"] == 1
    # Rollups are agtrace.usage.*; the GenAI usage attributes stay on the model call.
    assert "gen_ai.usage.input_tokens" not in agent_span
    assert "gen_ai.usage.input_tokens" not in plan


def test_rollup_waits_for_a_child_that_ends_after_its_parent(traced):
    t = traced.tracer
    parent = t.span("parent ends first", kind="agent")
    child = t.span("late model call", kind="llm", parent=parent)
    parent.end()
    child.set_usage(input_tokens=11, output_tokens=3)
    child.end()
    attrs = traced.one("parent ends first")["attributes"]
    assert attrs["agtrace.usage.input_tokens"] == 11
    assert attrs["agtrace.usage.output_tokens"] == 3
    assert attrs["agtrace.usage.llm_calls"] == 1


def test_nested_llm_spans_are_counted_once(traced):
    t = traced.tracer
    with t.span("agent", kind="agent"):
        with t.span("framework llm", kind="llm") as outer:
            outer.set_usage(input_tokens=50, output_tokens=5)
            with t.span("provider llm", kind="llm") as inner:
                inner.set_usage(input_tokens=50, output_tokens=5)
    attrs = traced.one("agent")["attributes"]
    assert attrs["agtrace.usage.input_tokens"] == 50
    assert attrs["agtrace.usage.output_tokens"] == 5
    assert attrs["agtrace.usage.llm_calls"] == 1


def test_usage_with_the_llm_decorator(initialized):
    @agtrace.llm(name="chat claude")
    def call_model(prompt):
        s = agtrace.current_span()
        s.set_llm(provider="anthropic", request_model="claude-sonnet-4")
        s.set_usage(len(prompt), 2)
        return "ok"

    @agtrace.agent(name="assistant")
    def assistant():
        return [call_model("hello"), call_model("hi")]

    assert assistant() == ["ok", "ok"]
    attrs = initialized.one("assistant")["attributes"]
    assert attrs["agtrace.usage.input_tokens"] == 7
    assert attrs["agtrace.usage.output_tokens"] == 4
    assert attrs["agtrace.usage.llm_calls"] == 2


MESSAGES_IN = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "weather in Oslo?"}]
MESSAGES_OUT = [{"role": "assistant", "content": "Sunny, 21°C."}]


def test_messages_are_not_recorded_by_default(traced):
    with traced.tracer.span("private chat", kind="llm") as s:
        s.set_messages(input=MESSAGES_IN, output=MESSAGES_OUT)
    attrs = traced.one("private chat")["attributes"]
    assert "gen_ai.input.messages" not in attrs
    assert "gen_ai.output.messages" not in attrs


def test_messages_are_recorded_with_capture_content(make_tracer):
    traced = make_tracer(capture_content=True)
    with traced.tracer.span("recorded chat", kind="llm") as s:
        s.set_messages(input=MESSAGES_IN)
        s.set_messages(output=MESSAGES_OUT)
    attrs = traced.one("recorded chat")["attributes"]
    assert json.loads(attrs["gen_ai.input.messages"]) == MESSAGES_IN
    assert json.loads(attrs["gen_ai.output.messages"]) == MESSAGES_OUT


def test_recorded_messages_are_masked(make_tracer):
    traced = make_tracer(capture_content=True)
    with traced.tracer.span("leaky chat", kind="llm") as s:
        s.set_messages(input=[{"role": "user", "content": "key sk-proj-abcdefghij0123456789XYZ please", "api_key": "k-1"}])
    (message,) = json.loads(traced.one("leaky chat")["attributes"]["gen_ai.input.messages"])
    assert message["api_key"] == "[REDACTED]"
    assert "sk-proj-abcdefghij0123456789XYZ" not in message["content"]
    assert message["content"].startswith("key ")


def test_mark_first_chunk(traced):
    @agtrace.llm(name="streamed", tracer=traced.tracer)
    def stream():
        s = agtrace.current_span()
        for i in range(3):
            if i == 0:
                s.mark_first_chunk()
            yield i

    assert list(stream()) == [0, 1, 2]
    span = traced.one("streamed")
    ttfc = span["attributes"]["gen_ai.response.time_to_first_chunk"]
    assert isinstance(ttfc, float)
    assert 0 <= ttfc <= (span["endTimeUnixNano"] - span["startTimeUnixNano"]) / 1e9


def test_set_tool_and_set_agent(traced):
    t = traced.tracer
    with t.span("invoke_agent travel", kind="agent") as a:
        a.set_agent("travel-assistant", id="agent-7")
        with t.span("execute_tool get_weather", kind="tool") as tool:
            tool.set_tool("get_weather", call_id="call_123")
    spans = traced.spans()
    agent_attrs = one(spans, "invoke_agent travel")["attributes"]
    assert agent_attrs["gen_ai.agent.name"] == "travel-assistant"
    assert agent_attrs["gen_ai.agent.id"] == "agent-7"
    tool_attrs = one(spans, "execute_tool get_weather")["attributes"]
    assert tool_attrs["gen_ai.tool.name"] == "get_weather"
    assert tool_attrs["gen_ai.tool.call.id"] == "call_123"
    assert tool_attrs["gen_ai.operation.name"] == "execute_tool"

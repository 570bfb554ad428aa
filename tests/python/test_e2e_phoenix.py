"""End to end: spans made through the Python SDK reach a real Phoenix over
OTLP/HTTP and read back through its REST API with their names, parent links,
kinds, attributes (types kept), status and events.

Uses the session-wide ``phoenix`` fixture of tests/conftest.py (see
``Phoenix.spans`` there for the response shape and Phoenix's quirks). Each
test tags its spans with a unique conversation id and reads back only those,
so tests sharing the server do not see each other's spans."""

from __future__ import annotations

import json
import uuid

import pytest

import agtrace


def _by_name(spans: list[dict]) -> dict[str, dict]:
    names = [s["name"] for s in spans]
    assert len(names) == len(set(names)), f"repeated names: {sorted(names)}"
    return {s["name"]: s for s in spans}


def test_sdk_trace_reaches_phoenix(phoenix):
    conversation = f"py-e2e-{uuid.uuid4().hex}"
    tracer = agtrace.Tracer(
        "agtrace-python-e2e",
        exporters="otlp",
        endpoint=phoenix.http_endpoint,
        protocol="http/protobuf",
        ignore_env=True,
    )

    @agtrace.workflow(name="plan", tracer=tracer, attributes={"step": 1, "ok": True, "ratio": 0.5, "labels": ["a", "b"]})
    def plan():
        with tracer.span("chat gpt-4o", kind="llm") as llm:
            llm.set_llm(provider="openai", request_model="gpt-4o", response_model="gpt-4o-2024-08-06")
            llm.set_usage(input_tokens=120, output_tokens=40)
        return "plan"

    @agtrace.tool(name="execute_tool search", tracer=tracer)
    def search():
        agtrace.current_span().set_tool("search", call_id="call_1")
        raise LookupError("index offline")

    with agtrace.session(conversation_id=conversation, user_id="e2e-user"):
        with tracer.span("invoke_agent py-assistant", kind="agent") as root:
            root.set_agent("py-assistant")
            plan()
            with pytest.raises(LookupError):
                search()
            root.add_event("answered", {"words": 12})
    try:
        assert tracer.flush(10), f"flush failed: {tracer.stats()}"
        stats = tracer.stats()
        assert stats.exported == 4, stats
    finally:
        tracer.shutdown()

    spans = phoenix.spans(min_count=4, timeout=30, attributes={"gen_ai.conversation.id": conversation})
    by_name = _by_name(spans)
    assert set(by_name) == {"invoke_agent py-assistant", "plan", "chat gpt-4o", "execute_tool search"}

    trace_id = root.context.trace_id
    assert {s["context"]["trace_id"] for s in spans} == {trace_id}
    agent, plan_span, chat, tool = (
        by_name[n] for n in ("invoke_agent py-assistant", "plan", "chat gpt-4o", "execute_tool search")
    )
    assert agent["context"]["span_id"] == root.context.span_id
    assert agent["parent_id"] is None
    assert plan_span["parent_id"] == agent["context"]["span_id"]
    assert chat["parent_id"] == plan_span["context"]["span_id"]
    assert tool["parent_id"] == agent["context"]["span_id"]

    assert [agent["span_kind"], plan_span["span_kind"], chat["span_kind"], tool["span_kind"]] == [
        "AGENT",
        "CHAIN",
        "LLM",
        "TOOL",
    ]

    def exact(span: dict, key: str, value: object) -> None:
        got = span["attributes"].get(key)
        assert (got, type(got)) == (value, type(value)), f"{span['name']}: {key} = {got!r}, want {value!r}"

    for span in spans:
        exact(span, "gen_ai.conversation.id", conversation)
        exact(span, "user.id", "e2e-user")
    exact(agent, "gen_ai.agent.name", "py-assistant")
    exact(agent, "agtrace.usage.input_tokens", 120)
    exact(agent, "agtrace.usage.output_tokens", 40)
    exact(agent, "agtrace.usage.llm_calls", 1)
    exact(agent, "agtrace.usage.tool_calls", 1)
    exact(agent, "agtrace.usage.errors", 1)
    exact(plan_span, "step", 1)
    exact(plan_span, "ok", True)
    exact(plan_span, "ratio", 0.5)
    exact(plan_span, "labels", ["a", "b"])
    exact(chat, "gen_ai.provider.name", "openai")
    exact(chat, "gen_ai.request.model", "gpt-4o")
    exact(chat, "gen_ai.usage.input_tokens", 120)
    exact(chat, "gen_ai.usage.output_tokens", 40)
    exact(tool, "gen_ai.tool.name", "search")
    exact(tool, "gen_ai.tool.call.id", "call_1")

    assert tool["status_code"] == "ERROR"
    assert tool["status_message"] == "index offline"
    (exception,) = [e for e in tool["events"] if e["name"] == "exception"]
    assert exception["attributes"]["exception.type"] == "LookupError"
    assert exception["attributes"]["exception.message"] == "index offline"
    assert [e["name"] for e in agent["events"]] == ["answered"]
    assert agent["status_code"] == "UNSET"


def test_script_configured_from_environment_reaches_phoenix_at_exit(phoenix, run_python):
    # The standard variables only, and no flush or shutdown: the exit hook
    # delivers over OTLP.
    conversation = f"py-e2e-env-{uuid.uuid4().hex}"
    done = run_python(
        """
        import os, agtrace
        agtrace.init()
        with agtrace.session(conversation_id=os.environ["CONVERSATION"]):
            with agtrace.span("env root", kind="agent"):
                with agtrace.span("env child", kind="tool"):
                    pass
        """,
        env={
            "OTEL_SERVICE_NAME": "agtrace-python-env",
            "OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "AGTRACE_EXPORTERS": "otlp",
            "CONVERSATION": conversation,
        },
        timeout=60,
    )
    assert done.returncode == 0, done.describe()
    spans = phoenix.spans(min_count=2, timeout=30, attributes={"gen_ai.conversation.id": conversation})
    by_name = _by_name(spans)
    assert set(by_name) == {"env root", "env child"}
    assert by_name["env child"]["parent_id"] == by_name["env root"]["context"]["span_id"]
    assert by_name["env root"]["parent_id"] is None


def test_decorated_function_input_and_output_reach_phoenix(phoenix):
    # What Phoenix shows as a span's Input and Output: OpenInference's
    # input.value/output.value with their MIME types, from the call itself.
    conversation = f"py-e2e-io-{uuid.uuid4().hex}"
    tracer = agtrace.Tracer(
        "agtrace-python-e2e",
        exporters="otlp",
        endpoint=phoenix.http_endpoint,
        protocol="http/protobuf",
        ignore_env=True,
    )

    @agtrace.tool(name="get_weather", tracer=tracer)
    def get_weather(city: str, units: str = "metric") -> dict:
        return {"city": city, "forecast": "sunny", "high": 21.5}

    @agtrace.agent(name="assistant", tracer=tracer)
    def assistant(question: str) -> str:
        return f"{get_weather('Oslo')['forecast']} in Oslo"

    with agtrace.session(conversation_id=conversation):
        assert assistant("Weather in Oslo?") == "sunny in Oslo"
    try:
        assert tracer.flush(10), f"flush failed: {tracer.stats()}"
    finally:
        tracer.shutdown()

    spans = phoenix.spans(min_count=2, timeout=30, attributes={"gen_ai.conversation.id": conversation})
    by_name = _by_name(spans)
    tool, agent = by_name["get_weather"]["attributes"], by_name["assistant"]["attributes"]
    assert json.loads(tool["input.value"]) == {"city": "Oslo", "units": "metric"}
    assert tool["input.mime_type"] == "application/json"
    assert json.loads(tool["output.value"]) == {"city": "Oslo", "forecast": "sunny", "high": 21.5}
    assert tool["output.mime_type"] == "application/json"
    assert json.loads(tool["gen_ai.tool.call.arguments"]) == {"city": "Oslo", "units": "metric"}
    assert json.loads(agent["input.value"]) == {"question": "Weather in Oslo?"}
    assert agent["output.value"] == "sunny in Oslo"
    assert agent["output.mime_type"] == "text/plain"

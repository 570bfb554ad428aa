"""``init(mask=fn)``: the user's function masks captured inputs and outputs
and message content on the caller's thread before they are recorded; one
that raises drops that value, the span still ends, and the failure is
counted as misuse ``mask_failed`` (raised in strict mode)."""

from __future__ import annotations

import json
import re

import openai
import pytest
from llm_servers import llm_server  # noqa: F401

import agtrace

EMAIL = re.compile(r"[\w.]+@[\w.]+")


def hide_emails(value):
    """A typical mask: walks the JSON-ready value it is given."""
    if isinstance(value, str):
        return EMAIL.sub("<email>", value)
    if isinstance(value, list):
        return [hide_emails(v) for v in value]
    if isinstance(value, dict):
        return {k: hide_emails(v) for k, v in value.items()}
    return value


def test_mask_applies_to_decorated_inputs_and_outputs(make_tracer):
    seen = []

    def recording_mask(value):
        seen.append(value)
        return hide_emails(value)

    traced = make_tracer(mask=recording_mask)

    @agtrace.tool(tracer=traced.tracer)
    def send(to, body):
        return {"sent_to": to, "ok": True}

    assert send("ann@example.com", body="hi") == {"sent_to": "ann@example.com", "ok": True}
    a = traced.one("test_mask_applies_to_decorated_inputs_and_outputs.<locals>.send")["attributes"]
    assert json.loads(a["input.value"]) == {"to": "<email>", "body": "hi"}
    assert json.loads(a["output.value"]) == {"sent_to": "<email>", "ok": True}
    assert json.loads(a["gen_ai.tool.call.arguments"]) == {"to": "<email>", "body": "hi"}
    # The mask got JSON-ready values, the call's own ones untouched.
    assert seen == [{"to": "ann@example.com", "body": "hi"}, {"sent_to": "ann@example.com", "ok": True}]


def test_mask_result_is_converted_like_any_value(make_tracer):
    traced = make_tracer(mask=lambda value: {"kept": sorted(value)})

    @agtrace.trace(tracer=traced.tracer)
    def f(b, a):
        return None

    f(1, 2)
    a = traced.one("test_mask_result_is_converted_like_any_value.<locals>.f")["attributes"]
    assert json.loads(a["input.value"]) == {"kept": ["a", "b"]}


def test_mask_applies_to_message_content(make_tracer):
    traced = make_tracer(mask=hide_emails, capture_content=True)
    with traced.tracer.span("chat", kind="llm") as s:
        s.set_messages(
            input=[{"role": "user", "content": "mail bob@example.com"}],
            output=[{"role": "assistant", "content": "done, bob@example.com"}],
        )
    a = traced.one("chat")["attributes"]
    assert json.loads(a["gen_ai.input.messages"])[0]["content"] == "mail <email>"
    assert "bob@example.com" not in a["gen_ai.output.messages"]


def test_mask_applies_to_instrumented_llm_messages(tmp_path, llm_server):  # noqa: F811
    from sdk_support import Traced, file_settings

    path = tmp_path / "masked.jsonl"
    t = agtrace.init("masked", mask=hide_emails, **file_settings(path, capture_content=True))
    try:
        client = agtrace.wrap(openai.OpenAI(base_url=llm_server.url + "/v1", api_key="k", max_retries=0))
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "to eve@example.com"}])
        attrs = Traced(t, path).one("chat gpt-4o")["attributes"]
    finally:
        agtrace.shutdown()
    assert json.loads(attrs["gen_ai.input.messages"])[0]["content"] == "to <email>"


def failing_mask(value):
    if isinstance(value, dict) and "secret" in value:
        raise ValueError("cannot mask this")
    return value


def test_a_mask_that_raises_drops_the_value_and_is_counted(make_tracer, caplog):
    traced = make_tracer(mask=failing_mask)

    @agtrace.workflow(tracer=traced.tracer)
    def step(secret):
        return "result"

    with caplog.at_level("WARNING"):
        assert step("x") == "result"
        assert step("y") == "result"
    span_attrs = [s["attributes"] for s in traced.spans()]
    assert len(span_attrs) == 2
    for a in span_attrs:
        assert "input.value" not in a and "input.mime_type" not in a
        assert a["output.value"] == "result", "only the value the mask failed on is dropped"
    assert traced.tracer.stats().misuse["mask_failed"] == 2


def test_a_mask_that_raises_on_messages_drops_only_that_side(make_tracer):
    def mask(value):
        if "boom" in json.dumps(value):
            raise RuntimeError("no")
        return value

    traced = make_tracer(mask=mask, capture_content=True)
    with traced.tracer.span("chat", kind="llm") as s:
        s.set_messages(input=[{"role": "user", "content": "boom"}], output=[{"role": "assistant", "content": "ok"}])
    a = traced.one("chat")["attributes"]
    assert "gen_ai.input.messages" not in a
    assert json.loads(a["gen_ai.output.messages"])[0]["content"] == "ok"
    assert traced.tracer.stats().misuse["mask_failed"] == 1


def test_strict_mode_raises_a_mask_failure_and_the_span_still_ends(make_tracer):
    traced = make_tracer(mask=failing_mask, strict=True)

    @agtrace.trace(tracer=traced.tracer)
    def step(secret):
        return "never"

    with pytest.raises(agtrace.InvalidArgument, match="mask"):
        step("x")
    assert agtrace.current_span() is None
    span = traced.one("test_strict_mode_raises_a_mask_failure_and_the_span_still_ends.<locals>.step")
    assert span["status"]["code"] == "error"
    assert traced.tracer.stats().misuse["mask_failed"] == 1


def test_mask_must_be_callable(tmp_path):
    with pytest.raises(agtrace.InvalidConfig, match="mask"):
        agtrace.Tracer("x", exporters="none", ignore_env=True, mask="redact")

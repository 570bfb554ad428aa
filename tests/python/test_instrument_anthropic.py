"""Anthropic auto-instrumentation against a local server speaking the
Messages API (llm_servers.py): create sync/async, stream=True, the stream()
helper, tool_use blocks, cache token usage, raw responses and errors."""

from __future__ import annotations

import asyncio
import gc
import json

import anthropic
import pytest
from llm_servers import ANTHROPIC_USAGE, WORDS, instrumented, llm_server  # noqa: F401
from sdk_support import Traced, file_settings, one

import agtrace

MESSAGES = [{"role": "user", "content": "hi"}]
TOOLS = [{"name": "lookup", "description": "look up", "input_schema": {"type": "object"}}]


def client(server, cls=anthropic.Anthropic):
    return cls(base_url=server.url, api_key="sk-ant-test", max_retries=0)


def assert_usage(attrs):
    u = ANTHROPIC_USAGE
    read, created = u["cache_read_input_tokens"], u["cache_creation_input_tokens"]
    # The core counts every prompt token in input_tokens; Anthropic reports
    # cache reads and writes beside its input_tokens.
    assert attrs["gen_ai.usage.input_tokens"] == u["input_tokens"] + read + created
    assert attrs["gen_ai.usage.output_tokens"] == u["output_tokens"]
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == read
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == created


def test_create(initialized, llm_server, instrumented):
    with agtrace.span("root", kind="agent"):
        m = client(llm_server).messages.create(
            model="claude-opus-4-7", max_tokens=100, messages=MESSAGES, stop_sequences=["STOP"],
        )
    assert m.content[0].text == "".join(WORDS)
    spans = initialized.spans()
    span, root = one(spans, "chat claude-opus-4-7"), one(spans, "root")
    attrs = span["attributes"]
    assert span["parentSpanId"] == root["spanId"]
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == "claude-opus-4-7"
    assert attrs["gen_ai.response.model"] == "claude-opus-4-7-20250929"
    assert attrs["gen_ai.response.id"] == "msg_fake"
    assert attrs["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert attrs["gen_ai.request.max_tokens"] == 100
    assert attrs["gen_ai.request.stop_sequences"] == ["STOP"]
    assert_usage(attrs)
    r = root["attributes"]
    assert r["agtrace.usage.cache_read_input_tokens"] == ANTHROPIC_USAGE["cache_read_input_tokens"]
    assert r["agtrace.usage.output_tokens"] == ANTHROPIC_USAGE["output_tokens"]
    assert r["agtrace.usage.llm_calls"] == 1


def test_tool_use_blocks_in_output_messages(tmp_path, llm_server, instrumented):
    path = tmp_path / "content.jsonl"
    t = agtrace.init("content", **file_settings(path, capture_content=True))
    try:
        client(llm_server).messages.create(
            model="claude-opus-4-7", max_tokens=100, messages=MESSAGES, tools=TOOLS, system="be brief"
        )
        with client(llm_server).messages.stream(
            model="claude-haiku-4-9", max_tokens=100, messages=MESSAGES, tools=TOOLS
        ) as stream:
            stream.until_done()
        spans = Traced(t, path).spans()
    finally:
        agtrace.shutdown()
    for name in ("chat claude-opus-4-7", "chat claude-haiku-4-9"):
        attrs = one(spans, name)["attributes"]
        assert attrs["gen_ai.response.finish_reasons"] == ["tool_use"]
        (message,) = json.loads(attrs["gen_ai.output.messages"])
        assert message["parts"] == [
            {"type": "text", "content": "".join(WORDS)},
            {"type": "tool_call", "id": "toolu_1", "name": "lookup", "arguments": {"q": "x"}},
        ]
    inputs = json.loads(one(spans, "chat claude-opus-4-7")["attributes"]["gen_ai.input.messages"])
    assert inputs[0] == {"role": "system", "content": "be brief"}


def test_async_create(initialized, llm_server, instrumented):
    async def main():
        return await client(llm_server, anthropic.AsyncAnthropic).messages.create(
            model="claude-opus-4-7", max_tokens=10, messages=MESSAGES
        )

    assert asyncio.run(main()).id == "msg_fake"
    assert_usage(initialized.one("chat claude-opus-4-7")["attributes"])


def test_stream_true(initialized, llm_server, instrumented):
    stream = client(llm_server).messages.create(model="claude-opus-4-7", max_tokens=10, messages=MESSAGES, stream=True)
    assert isinstance(stream, anthropic.Stream)
    kinds = [e.type for e in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    attrs = initialized.one("chat claude-opus-4-7")["attributes"]
    assert attrs["gen_ai.response.id"] == "msg_stream"
    assert attrs["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert attrs["gen_ai.request.stream"] is True
    assert_usage(attrs)


def test_stream_stopped_early_and_dropped(initialized, llm_server, instrumented):
    c = client(llm_server)
    stream = c.messages.create(model="claude-a", max_tokens=10, messages=MESSAGES, stream=True)
    for _ in stream:
        break
    stream.close()
    dropped = c.messages.create(model="claude-b", max_tokens=10, messages=MESSAGES, stream=True)
    next(iter(dropped))
    del dropped
    gc.collect()
    spans = initialized.spans()
    assert one(spans, "chat claude-a")["attributes"]["gen_ai.response.id"] == "msg_stream"
    one(spans, "chat claude-b")


def test_stream_helper(initialized, llm_server, instrumented):
    with client(llm_server).messages.stream(model="claude-opus-4-7", max_tokens=10, messages=MESSAGES) as stream:
        assert "".join(stream.text_stream) == "".join(WORDS)
    assert_usage(initialized.one("chat claude-opus-4-7")["attributes"])


def test_stream_helper_left_early(initialized, llm_server, instrumented):
    with client(llm_server).messages.stream(model="claude-opus-4-7", max_tokens=10, messages=MESSAGES) as stream:
        for _ in stream:
            break
    span = initialized.one("chat claude-opus-4-7")
    assert "agtrace.abandoned" not in span["attributes"]


def test_async_stream_helper(initialized, llm_server, instrumented):
    async def main():
        c = client(llm_server, anthropic.AsyncAnthropic)
        async with c.messages.stream(model="claude-opus-4-7", max_tokens=10, messages=MESSAGES) as stream:
            return await stream.get_final_message()

    assert asyncio.run(main()).content[0].text == "".join(WORDS)
    assert_usage(initialized.one("chat claude-opus-4-7")["attributes"])


def test_raw_response(initialized, llm_server, instrumented):
    raw = client(llm_server).messages.with_raw_response.create(model="claude-opus-4-7", max_tokens=10, messages=MESSAGES)
    assert raw.parse().id == "msg_fake"
    attrs = initialized.one("chat claude-opus-4-7")["attributes"]
    assert attrs["http.response.status_code"] == 200
    assert_usage(attrs)


@pytest.mark.parametrize("status", [400, 529])
def test_api_error(initialized, llm_server, instrumented, status):
    llm_server.fail_next(status)
    with pytest.raises(anthropic.APIStatusError) as caught:
        client(llm_server).messages.create(model="claude-opus-4-7", max_tokens=10, messages=MESSAGES)
    assert caught.value.status_code == status
    span = initialized.one("chat claude-opus-4-7")
    assert span["status"]["code"] == "error"
    assert any(e["name"] == "exception" for e in span["events"])

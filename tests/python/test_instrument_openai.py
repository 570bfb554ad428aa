"""OpenAI auto-instrumentation against a local server speaking the OpenAI
wire format (llm_servers.py): chat completions, the Responses API and
embeddings, sync and async, JSON and streamed, raw responses and errors."""

from __future__ import annotations

import asyncio
import gc
import json

import openai
import pytest
from llm_servers import OPENAI_USAGE, WORDS, instrumented, llm_server  # noqa: F401
from sdk_support import one

import agtrace

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


def client(server, cls=openai.OpenAI):
    return cls(base_url=server.url + "/v1", api_key="sk-test", max_retries=0)


def assert_usage(attrs):
    assert attrs["gen_ai.usage.input_tokens"] == OPENAI_USAGE["prompt_tokens"]
    assert attrs["gen_ai.usage.output_tokens"] == OPENAI_USAGE["completion_tokens"]
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == OPENAI_USAGE["cached"]
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == OPENAI_USAGE["reasoning"]


def test_chat_completion_span(initialized, llm_server, instrumented):
    r = client(llm_server).chat.completions.create(
        model="gpt-4o", messages=MESSAGES, temperature=0.3, max_tokens=50, top_p=0.9, stop=["END"]
    )
    assert r.choices[0].message.content == "".join(WORDS)
    span = initialized.one("chat gpt-4o")
    attrs = span["attributes"]
    assert span["kind"] == "CLIENT"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attrs["gen_ai.response.id"] == "chatcmpl-fake"
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.stop_sequences"] == ["END"]
    assert_usage(attrs)
    # Content capture is off by default.
    assert "gen_ai.input.messages" not in attrs
    assert "gen_ai.output.messages" not in attrs


def test_messages_recorded_when_content_capture_is_on(tmp_path, llm_server, instrumented):
    from sdk_support import Traced, file_settings

    path = tmp_path / "content.jsonl"
    t = agtrace.init("content", **file_settings(path, capture_content=True))
    try:
        client(llm_server).chat.completions.create(model="gpt-4o", messages=MESSAGES, tools=[{
            "type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}])
        attrs = Traced(t, path).one("chat gpt-4o")["attributes"]
    finally:
        agtrace.shutdown()
    assert json.loads(attrs["gen_ai.input.messages"])[1]["content"] == "hi"
    output = json.loads(attrs["gen_ai.output.messages"])
    assert output[0]["parts"] == [{"type": "tool_call", "id": "call_1", "name": "lookup", "arguments": {"q": "x"}}]
    assert attrs["gen_ai.response.finish_reasons"] == ["tool_calls"]


def test_async_chat_completion(initialized, llm_server, instrumented):
    async def main():
        async with client(llm_server, openai.AsyncOpenAI) as c:
            with agtrace.span("agent", kind="agent"):
                return await c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    r = asyncio.run(main())
    assert r.id == "chatcmpl-fake"
    spans = initialized.spans()
    llm, agent = one(spans, "chat gpt-4o-mini"), one(spans, "agent")
    assert llm["parentSpanId"] == agent["spanId"]
    assert_usage(llm["attributes"])
    assert agent["attributes"]["agtrace.usage.input_tokens"] == OPENAI_USAGE["prompt_tokens"]
    assert agent["attributes"]["agtrace.usage.llm_calls"] == 1


def test_stream_consumed_fully(initialized, llm_server, instrumented):
    stream = client(llm_server).chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.Stream)  # the provider's own object
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "".join(WORDS)
    span = initialized.one("chat gpt-4o")
    attrs = span["attributes"]
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.id"] == "chatcmpl-stream"
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert_usage(attrs)
    assert "agtrace.abandoned" not in attrs
    assert span["status"]["code"] != "error"


def test_stream_span_covers_the_whole_stream(initialized, llm_server, instrumented):
    stream = client(llm_server).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    with agtrace.span("between chunks"):
        pass
    for _ in stream:
        pass
    spans = initialized.spans()
    llm, between = one(spans, "chat gpt-4o"), one(spans, "between chunks")
    # Not current while the caller works between chunks, but open around it.
    assert between["parentSpanId"] is None
    assert llm["startTimeUnixNano"] < between["startTimeUnixNano"] < llm["endTimeUnixNano"]


def test_stream_stopped_early_and_closed(initialized, llm_server, instrumented):
    stream = client(llm_server).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    for _ in stream:
        break
    assert initialized.spans() == []  # still open: the caller may go on
    stream.close()
    attrs = initialized.one("chat gpt-4o")["attributes"]
    assert attrs["gen_ai.response.id"] == "chatcmpl-stream"
    assert "agtrace.abandoned" not in attrs


def test_stream_context_manager_exit_ends_the_span(initialized, llm_server, instrumented):
    with client(llm_server).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as stream:
        next(iter(stream))
    initialized.one("chat gpt-4o")


def test_stream_dropped(initialized, llm_server, instrumented):
    stream = client(llm_server).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    initialized.one("chat gpt-4o")


def test_stream_dropped_unread(initialized, llm_server, instrumented):
    stream = client(llm_server).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    del stream
    gc.collect()
    span = initialized.one("chat gpt-4o")
    assert span["attributes"]["agtrace.abandoned"] is True


def test_async_stream(initialized, llm_server, instrumented):
    async def main():
        c = client(llm_server, openai.AsyncOpenAI)
        stream = await c.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        parts = [ch.choices[0].delta.content or "" async for ch in stream if ch.choices]
        early = await c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        async for _ in early:
            break
        await early.close()
        await c.close()
        return "".join(parts)

    assert asyncio.run(main()) == "".join(WORDS)
    spans = initialized.spans()
    assert_usage(one(spans, "chat gpt-4o")["attributes"])
    one(spans, "chat gpt-4o-mini")


def test_stream_helper(initialized, llm_server, instrumented):
    with client(llm_server).chat.completions.stream(
        model="gpt-4o", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "".join(WORDS)
    assert_usage(initialized.one("chat gpt-4o")["attributes"])


@pytest.mark.parametrize("status", [400, 429, 500])
def test_api_error_recorded_and_reraised(initialized, llm_server, instrumented, status):
    llm_server.fail_next(status)
    with pytest.raises(openai.APIStatusError) as caught:
        client(llm_server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert caught.value.status_code == status
    span = initialized.one("chat gpt-4o")
    assert span["status"]["code"] == "error"
    assert span["attributes"]["http.response.status_code"] == status
    (event,) = [e for e in span["events"] if e["name"] == "exception"]
    assert event["attributes"]["exception.type"].endswith(type(caught.value).__name__)


def test_raw_response(initialized, llm_server, instrumented):
    raw = client(llm_server).chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.headers["x-request-id"] == "req-fake"
    assert raw.parse().id == "chatcmpl-fake"
    span = initialized.one("chat gpt-4o")  # one span, though create ran inside the raw wrapper
    assert span["attributes"]["gen_ai.response.id"] == "chatcmpl-fake"
    assert span["attributes"]["http.response.status_code"] == 200
    assert_usage(span["attributes"])


def test_raw_response_stream(initialized, llm_server, instrumented):
    raw = client(llm_server).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert initialized.spans() == []
    chunks = list(raw.parse())
    assert len(chunks) == len(WORDS) + 3
    assert_usage(initialized.one("chat gpt-4o")["attributes"])


def test_async_raw_response(initialized, llm_server, instrumented):
    async def main():
        c = client(llm_server, openai.AsyncOpenAI)
        raw = await c.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
        return raw.parse()

    assert asyncio.run(main()).id == "chatcmpl-fake"
    assert_usage(initialized.one("chat gpt-4o")["attributes"])


def test_responses_api(initialized, llm_server, instrumented):
    c = client(llm_server)
    r = c.responses.create(model="gpt-4o", input="hi", instructions="be brief", max_output_tokens=30)
    assert r.output_text == "".join(WORDS)
    attrs = initialized.one("chat gpt-4o")["attributes"]
    assert attrs["gen_ai.response.id"] == "resp_fake"
    assert attrs["gen_ai.request.max_tokens"] == 30
    assert attrs["gen_ai.response.finish_reasons"] == ["completed"]
    assert_usage(attrs)


def test_responses_api_stream(initialized, llm_server, instrumented):
    events = list(client(llm_server).responses.create(model="gpt-4o-mini", input="hi", stream=True))
    assert events[-1].type == "response.completed"
    attrs = initialized.one("chat gpt-4o-mini")["attributes"]
    assert attrs["gen_ai.response.id"] == "resp_fake"
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert_usage(attrs)


def test_async_responses_api(initialized, llm_server, instrumented):
    async def main():
        return await client(llm_server, openai.AsyncOpenAI).responses.create(model="gpt-4o", input="hi")

    assert asyncio.run(main()).id == "resp_fake"
    assert_usage(initialized.one("chat gpt-4o")["attributes"])


def test_embeddings(initialized, llm_server, instrumented):
    r = client(llm_server).embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(r.data) == 2
    span = initialized.one("embeddings text-embedding-3-small")
    attrs = span["attributes"]
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.usage.input_tokens"] == 5


def test_async_embeddings(initialized, llm_server, instrumented):
    async def main():
        return await client(llm_server, openai.AsyncOpenAI).embeddings.create(model="text-embedding-3-small", input="a")

    asyncio.run(main())
    initialized.one("embeddings text-embedding-3-small")


def test_not_instrumented_records_nothing(initialized, llm_server):
    client(llm_server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert initialized.spans() == []


def test_before_init_calls_go_through(llm_server, instrumented):
    r = client(llm_server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert r.id == "chatcmpl-fake"

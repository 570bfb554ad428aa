"""agtrace.wrap(client) traces one client without patching the classes;
agtrace.wrap_function(fn) traces an existing sync or async function."""

from __future__ import annotations

import asyncio

import anthropic
import openai
import openai.resources.chat.completions as chat
import pytest
from llm_servers import instrumented, llm_server  # noqa: F401
from sdk_support import one

import agtrace

MESSAGES = [{"role": "user", "content": "hi"}]


def oa(server, cls=openai.OpenAI):
    return cls(base_url=server.url + "/v1", api_key="k", max_retries=0)


def test_wrap_traces_only_that_client(initialized, llm_server):
    original = vars(chat.Completions)["create"]
    wrapped = agtrace.wrap(oa(llm_server))
    other = oa(llm_server)
    assert vars(chat.Completions)["create"] is original
    wrapped.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    other.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    wrapped.embeddings.create(model="text-embedding-3-small", input="a")
    assert sorted(s["name"] for s in initialized.spans()) == ["chat gpt-4o", "embeddings text-embedding-3-small"]


def test_wrap_raw_response_and_stream(initialized, llm_server):
    c = agtrace.wrap(oa(llm_server))
    assert c.chat.completions.with_raw_response.create(model="gpt-a", messages=MESSAGES).parse().id
    list(c.chat.completions.create(model="gpt-b", messages=MESSAGES, stream=True,
                                   stream_options={"include_usage": True}))
    spans = initialized.spans()
    one(spans, "chat gpt-a")
    assert one(spans, "chat gpt-b")["attributes"]["gen_ai.usage.input_tokens"] > 0


def test_wrap_async_and_anthropic(initialized, llm_server):
    async def main():
        await agtrace.wrap(oa(llm_server, openai.AsyncOpenAI)).chat.completions.create(model="gpt-4o", messages=MESSAGES)
        c = agtrace.wrap(anthropic.AsyncAnthropic(base_url=llm_server.url, api_key="k", max_retries=0))
        await c.messages.create(model="claude-x", max_tokens=5, messages=MESSAGES)

    asyncio.run(main())
    spans = initialized.spans()
    one(spans, "chat gpt-4o")
    assert one(spans, "chat claude-x")["attributes"]["gen_ai.provider.name"] == "anthropic"


def test_wrapped_and_instrumented_gives_one_span(initialized, llm_server, instrumented):
    c = agtrace.wrap(agtrace.wrap(oa(llm_server)))
    c.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    one(initialized.spans(), "chat gpt-4o")


def test_uninstrument_unwraps_clients(initialized, llm_server):
    c = agtrace.wrap(oa(llm_server))
    agtrace.uninstrument()
    assert "create" not in vars(c.chat.completions)
    c.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert initialized.spans() == []


def test_wrap_rejects_other_objects():
    with pytest.raises(agtrace.InvalidArgument):
        agtrace.wrap(object())


def test_wrap_function_sync(initialized):
    def plan(goal: str) -> str:
        return goal.upper()

    traced = agtrace.wrap_function(plan, name="planning", kind="task", attributes={"step": 1})
    assert traced("go") == "GO"
    assert traced.__wrapped__ is plan
    span = initialized.one("planning")
    assert span["attributes"]["step"] == 1


def test_wrap_function_async_and_errors(initialized):
    async def fetch(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x * 2

    traced = agtrace.wrap_function(fetch, kind=agtrace.SpanKind.TOOL)
    assert asyncio.run(traced(2)) == 4
    with pytest.raises(ValueError):
        asyncio.run(traced(-1))
    spans = [s for s in initialized.spans() if s["name"].endswith("fetch")]
    assert len(spans) == 2
    assert sorted(s["status"]["code"] for s in spans) == ["error", "unset"]
    assert all(s["attributes"]["gen_ai.operation.name"] == "execute_tool" for s in spans)


def test_wrap_function_rejects_non_callables():
    with pytest.raises(agtrace.InvalidArgument):
        agtrace.wrap_function(3)

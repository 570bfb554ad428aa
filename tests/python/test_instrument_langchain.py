"""LangChain (langchain-core) runs as spans: chains, chat models, LLMs,
tools, retrievers and agents, nested under the agtrace span current when
they start and under their parent runs; registered globally by
instrument() or passed explicitly; one LLM span (and usage counted once)
when a chat model calls an instrumented OpenAI client."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import openai
import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from llm_servers import OPENAI_USAGE, instrumented, llm_server  # noqa: F401
from sdk_support import one

import agtrace


@tool
def lookup(query: str) -> str:
    """Looks a query up."""
    with agtrace.span("inside tool"):
        return f"result for {query}"


class Docs(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        return [Document(page_content="a"), Document(page_content="b")]


def fake_chat() -> GenericFakeChatModel:
    reply = AIMessage(content="hello", usage_metadata={
        "input_tokens": 30, "output_tokens": 4, "total_tokens": 34, "input_token_details": {"cache_read": 10}})
    return GenericFakeChatModel(messages=iter([reply]))


def test_chain_with_model_tool_and_retriever(initialized, instrumented):
    chat = fake_chat()
    chain = (
        RunnableLambda(lambda q: Docs().invoke(q)[0].page_content, name="retrieve")
        | RunnableLambda(lambda text: lookup.invoke({"query": text}), name="call tool")
        | RunnableLambda(lambda result: chat.invoke(result), name="ask model")
    )
    with agtrace.span("request", kind="agent"):
        answer = chain.invoke("q")
    assert answer.content == "hello"
    spans = initialized.spans()
    by_id = {s["spanId"]: s for s in spans}

    def parent(name: str) -> str:
        return by_id[one(spans, name)["parentSpanId"]]["name"]

    assert parent("RunnableSequence") == "request"
    assert parent("retrieve") == "RunnableSequence"
    assert parent("retrieval Docs") == "retrieve"
    assert parent("execute_tool lookup") == "call tool"
    assert parent("inside tool") == "execute_tool lookup"  # user spans nest under the run
    llm = one(spans, "chat")
    assert by_id[llm["parentSpanId"]]["name"] == "ask model"
    assert one(spans, "RunnableSequence")["attributes"]["gen_ai.operation.name"] == "invoke_workflow"
    tool_attrs = one(spans, "execute_tool lookup")["attributes"]
    assert tool_attrs["gen_ai.tool.name"] == "lookup"
    assert tool_attrs["gen_ai.tool.call.result"] == "result for a"
    assert one(spans, "retrieval Docs")["attributes"]["gen_ai.retrieval.documents.count"] == 2
    assert llm["attributes"]["gen_ai.usage.input_tokens"] == 30
    assert llm["attributes"]["gen_ai.usage.cache_read.input_tokens"] == 10
    root = one(spans, "request")["attributes"]
    assert root["agtrace.usage.input_tokens"] == 30
    assert root["agtrace.usage.llm_calls"] == 1
    assert root["agtrace.usage.tool_calls"] == 1


def test_llm_and_errors(initialized, instrumented):
    assert FakeListLLM(responses=["ok"]).invoke("hi") == "ok"

    def boom(_: Any) -> None:
        raise ValueError("broken step")

    with pytest.raises(ValueError):
        RunnableLambda(boom, name="failing").invoke(1)
    spans = initialized.spans()
    assert one(spans, "chat")["attributes"]["gen_ai.operation.name"] == "chat"
    failing = one(spans, "failing")
    assert failing["status"]["code"] == "error"
    assert any(e["name"] == "exception" for e in failing["events"])


def test_agent_run_is_an_agent_span(initialized, instrumented):
    RunnableLambda(lambda x: x, name="ResearchAgent").invoke(1)
    span = initialized.one("ResearchAgent")
    assert span["attributes"]["gen_ai.operation.name"] == "invoke_agent"
    assert span["attributes"]["gen_ai.agent.name"] == "ResearchAgent"


def test_async_runs_nest(initialized, instrumented):
    async def inner(x: int) -> int:
        with agtrace.span("inside async"):
            return x + 1

    chain = RunnableLambda(inner, name="first") | RunnableLambda(inner, name="second")

    async def main() -> int:
        with agtrace.span("request"):
            return await chain.ainvoke(1)

    assert asyncio.run(main()) == 3
    spans = initialized.spans()
    by_id = {s["spanId"]: s for s in spans}
    assert {by_id[s["parentSpanId"]]["name"] for s in spans if s["name"] == "inside async"} == {"first", "second"}
    assert by_id[one(spans, "RunnableSequence")["parentSpanId"]]["name"] == "request"


def test_explicit_handler_without_global_registration(initialized):
    RunnableLambda(lambda x: x, name="untraced").invoke(1)
    RunnableLambda(lambda x: x, name="traced").invoke(1, config={"callbacks": [agtrace.LangChainHandler()]})
    spans = initialized.spans()
    assert [s["name"] for s in spans] == ["traced"]


def test_explicit_handler_and_global_registration_give_one_span(initialized, instrumented):
    RunnableLambda(lambda x: x, name="once").invoke(1, config={"callbacks": [agtrace.LangChainHandler()]})
    one(initialized.spans(), "once")


def test_uninstrument_removes_the_global_handler(initialized):
    agtrace.instrument("langchain")
    agtrace.uninstrument()
    RunnableLambda(lambda x: x, name="after").invoke(1)
    assert initialized.spans() == []


class OpenAIChat(BaseChatModel):
    """A tiny chat model that calls the OpenAI client, as langchain-openai does."""

    client: Any

    @property
    def _llm_type(self) -> str:
        return "tiny-openai"

    def _get_ls_params(self, stop: Optional[list[str]] = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "openai"
        params["ls_model_name"] = "gpt-4o"
        return params

    def _generate(
        self, messages: list[BaseMessage], stop: Optional[list[str]] = None,
        run_manager: Optional[CallbackManagerForLLMRun] = None, **kwargs: Any,
    ) -> ChatResult:
        r = self.client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": str(m.content)} for m in messages]
        )
        u = r.usage
        message = AIMessage(content=r.choices[0].message.content, usage_metadata={
            "input_tokens": u.prompt_tokens, "output_tokens": u.completion_tokens, "total_tokens": u.total_tokens})
        return ChatResult(generations=[ChatGeneration(message=message)])


def test_no_duplicate_llm_span_when_a_chat_model_calls_openai(initialized, llm_server, instrumented):
    model = OpenAIChat(client=openai.OpenAI(base_url=llm_server.url + "/v1", api_key="k", max_retries=0))
    with agtrace.span("request", kind="agent"):
        (RunnableLambda(lambda q: q, name="prepare") | model).invoke("hi")
    spans = initialized.spans()
    llm_spans = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "chat"]
    assert [s["name"] for s in llm_spans] == ["chat gpt-4o"]
    attrs = llm_spans[0]["attributes"]
    # The provider call filled the LangChain span in: response id and the
    # provider's own usage details (cache, reasoning) are there.
    assert attrs["gen_ai.response.id"] == "chatcmpl-fake"
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == OPENAI_USAGE["reasoning"]
    root = one(spans, "request")["attributes"]
    assert root["agtrace.usage.input_tokens"] == OPENAI_USAGE["prompt_tokens"]
    assert root["agtrace.usage.llm_calls"] == 1


def test_second_provider_call_in_one_model_run_gets_its_own_span(initialized, llm_server, instrumented):
    c = openai.OpenAI(base_url=llm_server.url + "/v1", api_key="k", max_retries=0)

    class Twice(OpenAIChat):
        def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
            self.client.chat.completions.create(model="gpt-4o-mini", messages=[])
            return super()._generate(messages, stop, run_manager, **kwargs)

    Twice(client=c).invoke("hi")
    spans = initialized.spans()
    # The first call fills the model run's span; the second is a child of it.
    outer, inner = sorted(spans, key=lambda s: s["parentSpanId"] is not None)
    assert outer["parentSpanId"] is None and inner["parentSpanId"] == outer["spanId"]
    assert outer["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert inner["attributes"]["gen_ai.request.model"] == "gpt-4o"

"""LangChain (langchain-core) runs as spans: chains, chat models, LLMs,
tools, retrievers and agents, nested under the agtrace span current when
they start and under their parent runs; registered globally by
instrument() or passed explicitly; one LLM span (and usage counted once)
when a chat model calls an instrumented OpenAI client. Runs record their
inputs and outputs (capture_io, masked and redacted), retrievers their
documents; a LangGraph graph's thread is the trace's conversation and its
nodes name their spans."""

from __future__ import annotations

import asyncio
import json
import operator
from typing import Annotated, TypedDict
from typing import Any, Optional

import openai
import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
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
    assert json.loads(tool_attrs["gen_ai.tool.call.result"]) == "result for a"
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


# -- inputs and outputs ------------------------------------------------------------


def io(span):
    a = span["attributes"]
    return {k: a[k] for k in ("input.value", "input.mime_type", "output.value", "output.mime_type") if k in a}


class DocsWithMetadata(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        return [
            Document(page_content=f"{query} guide", metadata={"source": "guide.md"}, id="doc-1"),
            Document(page_content="appendix"),
        ]


def test_chain_tool_and_retriever_record_inputs_and_outputs(initialized, instrumented):
    chain = RunnableLambda(lambda x: {"answer": x["question"].upper()}, name="answerer")
    assert chain.invoke({"question": "why"}) == {"answer": "WHY"}
    lookup.invoke({"query": "paris"})
    DocsWithMetadata().invoke("paris")
    spans = initialized.spans()

    answerer = io(one(spans, "answerer"))
    assert json.loads(answerer["input.value"]) == {"question": "why"}
    assert json.loads(answerer["output.value"]) == {"answer": "WHY"}
    assert answerer["input.mime_type"] == answerer["output.mime_type"] == "application/json"

    tool_span = one(spans, "execute_tool lookup")
    assert json.loads(io(tool_span)["input.value"]) == {"query": "paris"}
    assert io(tool_span)["output.value"] == "result for paris"
    assert io(tool_span)["output.mime_type"] == "text/plain"
    assert json.loads(tool_span["attributes"]["gen_ai.tool.call.arguments"]) == {"query": "paris"}
    assert json.loads(tool_span["attributes"]["gen_ai.tool.call.result"]) == "result for paris"

    retrieval = one(spans, "retrieval DocsWithMetadata")["attributes"]
    assert retrieval["input.value"] == "paris"
    assert retrieval["gen_ai.retrieval.documents.count"] == 2
    assert retrieval["retrieval.documents.0.document.id"] == "doc-1"
    assert retrieval["retrieval.documents.0.document.content"] == "paris guide"
    assert json.loads(retrieval["retrieval.documents.0.document.metadata"]) == {"source": "guide.md"}
    assert retrieval["retrieval.documents.1.document.content"] == "appendix"
    assert "retrieval.documents.1.document.id" not in retrieval
    assert "retrieval.documents.1.document.metadata" not in retrieval


def test_messages_in_chain_inputs_are_recorded_as_json(initialized, instrumented):
    RunnableLambda(lambda m: m, name="echo").invoke([HumanMessage(content="hi there")])
    recorded = json.loads(one(initialized.spans(), "echo")["attributes"]["input.value"])
    assert recorded[0]["content"] == "hi there" and recorded[0]["type"] == "human"


def test_capture_io_off_records_no_run_inputs_or_outputs(make_tracer):
    traced = make_tracer(capture_io=False)
    handler = agtrace.LangChainHandler(traced.tracer)
    RunnableLambda(lambda x: x, name="quiet").invoke({"secret": "plan"}, config={"callbacks": [handler]})
    lookup.invoke({"query": "x"}, config={"callbacks": [handler]})
    DocsWithMetadata().invoke("q", config={"callbacks": [handler]})
    for span in traced.spans():
        a = span["attributes"]
        assert not io(span), span["name"]
        assert "gen_ai.tool.call.arguments" not in a and "gen_ai.tool.call.result" not in a
        assert not any(k.startswith("retrieval.documents.") for k in a)


def test_redaction_rules_apply_to_run_inputs_and_tool_arguments(make_tracer):
    traced = make_tracer(redact_tool_arguments=True)
    handler = agtrace.LangChainHandler(traced.tracer)
    RunnableLambda(lambda x: "done", name="login").invoke(
        {"user": "ann", "password": "hunter2"}, config={"callbacks": [handler]}
    )
    lookup.invoke({"query": "private"}, config={"callbacks": [handler]})
    spans = traced.spans()
    login = json.loads(one(spans, "login")["attributes"]["input.value"])
    assert login == {"user": "ann", "password": "[REDACTED]"}
    assert one(spans, "execute_tool lookup")["attributes"]["gen_ai.tool.call.arguments"] == "[REDACTED]"


def test_the_mask_applies_to_run_inputs_outputs_and_documents(make_tracer):
    def mask(value):
        return json.loads(json.dumps(value).replace("paris", "<city>"))

    traced = make_tracer(mask=mask)
    handler = agtrace.LangChainHandler(traced.tracer)
    RunnableLambda(lambda x: f"to {x['to']}", name="route").invoke({"to": "paris"}, config={"callbacks": [handler]})
    DocsWithMetadata().invoke("paris", config={"callbacks": [handler]})
    spans = traced.spans()
    route = one(spans, "route")["attributes"]
    assert json.loads(route["input.value"]) == {"to": "<city>"}
    assert route["output.value"] == "to <city>"
    retrieval = one(spans, "retrieval DocsWithMetadata")["attributes"]
    assert retrieval["input.value"] == "<city>"
    assert retrieval["retrieval.documents.0.document.content"] == "<city> guide"


# -- LangGraph -------------------------------------------------------------------------


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


class State(TypedDict):
    messages: Annotated[list, operator.add]


def assistant(state: State) -> dict:
    """Asks for the weather once, then answers from the tool's result."""
    if any(isinstance(m, ToolMessage) for m in state["messages"]):
        return {"messages": [AIMessage(content="It is sunny in Oslo.")]}
    call = {"name": "weather", "args": {"city": "Oslo"}, "id": "call_1"}
    return {"messages": [AIMessage(content="", tool_calls=[call])]}


def needs_tool(state: State) -> str:
    return "tools" if getattr(state["messages"][-1], "tool_calls", None) else END


def weather_graph():
    g = StateGraph(State)
    g.add_node("assistant", assistant)
    g.add_node("tools", ToolNode([weather]))
    g.add_edge(START, "assistant")
    g.add_conditional_edges("assistant", needs_tool, ["tools", END])
    g.add_edge("tools", "assistant")
    return g.compile(checkpointer=InMemorySaver())


def test_langgraph_thread_is_the_conversation_and_nodes_name_their_spans(initialized, instrumented):
    graph = weather_graph()
    config = {"configurable": {"thread_id": "thread-7"}}
    with agtrace.span("request"):
        out = graph.invoke({"messages": [HumanMessage(content="Weather in Oslo?")]}, config=config)
    assert out["messages"][-1].content == "It is sunny in Oslo."
    spans = initialized.spans()
    by_id = {s["spanId"]: s for s in spans}

    # One trace, every span of it in the thread's conversation, the request too.
    assert {s["traceId"] for s in spans} == {one(spans, "request")["traceId"]}
    assert {s["attributes"].get("gen_ai.conversation.id") for s in spans} == {"thread-7"}

    graph_span = one(spans, "LangGraph")
    assert by_id[graph_span["parentSpanId"]]["name"] == "request"
    assert json.loads(graph_span["attributes"]["input.value"])["messages"][0]["content"] == "Weather in Oslo?"
    final = json.loads(graph_span["attributes"]["output.value"])["messages"]
    assert final[-1]["content"] == "It is sunny in Oslo."

    # Two steps of the assistant node, one of the tools node, each a child of the graph.
    nodes = [s for s in spans if s["parentSpanId"] == graph_span["spanId"]]
    assert sorted((s["name"], s["attributes"]["langgraph.step"]) for s in nodes) == [
        ("assistant", 1), ("assistant", 3), ("tools", 2)
    ]
    assert all(s["attributes"]["langgraph.node"] == s["name"] for s in nodes)

    # The tool runs inside the tools node, which its span names.
    tool_span = one(spans, "execute_tool weather")
    assert by_id[tool_span["parentSpanId"]]["name"] == "tools"
    a = tool_span["attributes"]
    assert a["langgraph.node"] == "tools"
    assert a["gen_ai.tool.call.id"] == "call_1"
    assert json.loads(a["gen_ai.tool.call.arguments"]) == {"city": "Oslo"}
    assert json.loads(a["gen_ai.tool.call.result"]) == "sunny in Oslo"
    assert a["output.value"] == "sunny in Oslo"
    assert "langgraph.node" not in graph_span["attributes"]


def test_langgraph_threads_keep_their_conversations_apart(initialized, instrumented):
    graph = weather_graph()
    for thread in ("a", "b"):
        graph.invoke({"messages": [HumanMessage(content="?")]}, config={"configurable": {"thread_id": thread}})
    # Outside the runs, the scope they opened is closed again.
    with agtrace.span("after"):
        pass
    spans = initialized.spans()
    graphs = [s for s in spans if s["name"] == "LangGraph"]
    by_trace = {g["traceId"]: g["attributes"]["gen_ai.conversation.id"] for g in graphs}
    assert sorted(by_trace.values()) == ["a", "b"]
    for s in spans:
        if s["name"] != "after":
            assert s["attributes"]["gen_ai.conversation.id"] == by_trace[s["traceId"]]
    assert "gen_ai.conversation.id" not in one(spans, "after")["attributes"]


def test_a_session_conversation_is_kept_when_it_is_the_thread(initialized, instrumented):
    graph = weather_graph()
    with agtrace.session(conversation_id="t-1", user_id="u-1"):
        graph.invoke({"messages": [HumanMessage(content="?")]}, config={"configurable": {"thread_id": "t-1"}})
        graph.invoke({"messages": [HumanMessage(content="?")]}, config={"configurable": {"thread_id": "t-2"}})
    graphs = [s["attributes"] for s in initialized.spans() if s["name"] == "LangGraph"]
    assert sorted((a["gen_ai.conversation.id"], a["user.id"]) for a in graphs) == [("t-1", "u-1"), ("t-2", "u-1")]

"""LangChain (``langchain-core``): a callback handler that turns runs into
spans: chains (workflow, or agent when the run is an agent), chat models and
LLMs (llm), tools, retrievers.

A run's span is a child of its parent run's span, or, for a top-level run,
of the agtrace span current when it started. While a run is going its span is
current (the handler runs inline, in the run's context), so spans opened by
the code it runs nest under it. A chat model run's span is offered to the
provider instrumentation as a :class:`~._common.Claim`: an instrumented
OpenAI or Anthropic call inside it fills that span in rather than opening a
second LLM span, and then its usage is the provider's, counted once.

Inputs and outputs (with ``capture_io``, the default): chain and agent
runs record theirs as ``input.value``/``output.value`` (agtrace._capture:
converted, masked, then redacted by the core like every attribute), tool
runs their arguments and result also as ``gen_ai.tool.call.arguments``/
``.result``, retriever runs their query as input and their documents as
OpenInference ``retrieval.documents.{i}.document.{id,content,metadata}``
(the first :data:`MAX_DOCUMENTS`). Chat model runs record messages (the
provider instrumentation's ``capture_content`` rule), not these.

LangGraph: a run whose config has ``configurable.thread_id`` (LangChain
copies it into the run's metadata) starts a session scope with that thread
as its conversation id (``gen_ai.conversation.id`` on every span of the
trace), unless the current scope already has it; runs of a graph node carry
the node's name and step (``langgraph.node``, ``langgraph.step``, from the
``langgraph_node``/``langgraph_step`` metadata LangGraph passes).

``instrument("langchain")`` registers one handler for every run through
``langchain_core``'s configure hooks (a context variable whose default is
the handler, so every thread and task sees it); ``LangChainHandler()`` can
also be passed as ``callbacks=[...]``. Either way a run gets one handler.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any, Optional
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from .. import _capture, _lifecycle, _session
from .._span import Parent, Span, SpanKind, current
from .._tracer import Tracer
from ._common import Claim, claim, count, guard, jsonable, number, output_message, stop_list

MIN_VERSION = (0, 3)

#: How many of a retriever's documents its span records (all are counted).
MAX_DOCUMENTS = 100

_NOTHING: Any = object()


class _Run:
    __slots__ = ("span", "tracer", "previous", "claim", "previous_claim", "scope", "previous_scope")

    def __init__(
        self,
        span: Span,
        tracer: Optional[Tracer],
        previous: Parent,
        run_claim: Optional[Claim],
        previous_claim: Optional[Claim],
    ) -> None:
        self.span = span
        #: The tracer whose capture_io and mask apply; None when the span
        #: records nothing or capture is off.
        self.tracer = tracer
        self.previous = previous
        self.claim = run_claim
        self.previous_claim = previous_claim
        #: The session scope this run opened (a LangGraph thread), and the one
        #: it replaced.
        self.scope: Optional[_session.Session] = None
        self.previous_scope: Optional[_session.Session] = None


class LangChainHandler(BaseCallbackHandler):
    """Records LangChain runs as agtrace spans on ``tracer`` (default: the
    default tracer). Thread-safe; one instance may serve every run."""

    run_inline = True  # in the run's own context, so its span can be current there

    def __init__(self, tracer: Optional[Tracer] = None) -> None:
        self._tracer = tracer
        self._runs: dict[UUID, _Run] = {}
        self._lock = threading.Lock()

    # -- runs ------------------------------------------------------------------

    def _start(
        self,
        run_id: UUID,
        parent_run_id: Optional[UUID],
        name: str,
        kind: SpanKind,
        attributes: dict[str, Any],
        metadata: Optional[dict[str, Any]] = None,
        claimable: bool = False,
        input: Any = _NOTHING,
        tool_key: Optional[str] = None,
    ) -> Optional[_Run]:
        """Starts the run's span, current from now on; records ``input`` (when
        given and captured) and what LangGraph says about the run."""
        tracer = self._tracer or _lifecycle.tracer()
        if tracer is None:
            return None
        with self._lock:
            parent_run = self._runs.get(parent_run_id) if parent_run_id is not None else None
        parent: Parent = parent_run.span if parent_run is not None else current.get()
        meta = metadata or {}
        node = meta.get("langgraph_node")
        step = meta.get("langgraph_step")
        attributes = {
            **attributes,
            "langgraph.node": node if isinstance(node, str) else None,
            "langgraph.step": step if isinstance(step, int) and not isinstance(step, bool) else None,
        }
        attributes = {k: v for k, v in attributes.items() if v is not None}
        # The scope is current before the span starts, so its BEGIN carries
        # the conversation to the trace.
        previous_scope = _session.current.get()
        scope = _thread_scope(meta.get("thread_id"), previous_scope)
        try:
            span = tracer.span(name, kind, attributes, parent=parent)
        except BaseException:
            if scope is not None:
                _session.current.set(previous_scope)
            raise
        capture = tracer if tracer.capture_io and span.is_recording() else None
        run_claim = Claim(span) if claimable else None
        run = _Run(span, capture, current.get(), run_claim, claim.get())
        if scope is not None:
            run.scope, run.previous_scope = scope, previous_scope
        with self._lock:
            self._runs[run_id] = run
        current.set(span)
        if claimable:
            claim.set(run_claim)
        if capture is not None and input is not _NOTHING:
            guard(_capture.record, span, capture, "input", input, tool_key)
        return run

    def _end(self, run_id: UUID, error: Optional[BaseException] = None) -> Optional[_Run]:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None:
            return None
        if error is not None:
            guard(run.span.record_exception, error)
        if not run.span.is_ended:
            run.span.end()
        # Put back what was current, unless this run ended in another
        # context than it started in (then this context never had it).
        if current.get() is run.span:
            current.set(run.previous)
        if run.claim is not None and claim.get() is run.claim:
            claim.set(run.previous_claim)
        if run.scope is not None and _session.current.get() is run.scope:
            _session.current.set(run.previous_scope)
        return run

    def _output(self, run_id: UUID, output: Any, tool_key: Optional[str] = None) -> None:
        """Records a run's output (when captured), before it ends."""
        run = self._span(run_id)
        if run is not None and run.tracer is not None:
            guard(_capture.record, run.span, run.tracer, "output", output, tool_key)

    def _span(self, run_id: UUID) -> Optional[_Run]:
        with self._lock:
            return self._runs.get(run_id)

    # -- chains and agents ---------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[list[str]] = None,
        metadata: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> Any:
        name = kwargs.get("name") or _name(serialized) or "chain"
        ids = (serialized or {}).get("id") or []
        is_agent = "agent" in name.lower() or any("Agent" in str(i) for i in ids)
        kind = SpanKind.AGENT if is_agent else SpanKind.WORKFLOW
        attributes = {"langchain.run.tags": list(tags) if tags else None}
        run = self._start(run_id, parent_run_id, name, kind, attributes, metadata, input=inputs)
        if run is not None and is_agent:
            guard(run.span.set_agent, name)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> Any:
        self._output(run_id, outputs)
        self._end(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Any:
        self._end(run_id, error)

    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> Any:
        run = self._span(run_id)
        if run is not None:
            tool_input = getattr(action, "tool_input", None)
            guard(run.span.add_event, "agent_action", {
                "gen_ai.tool.name": str(getattr(action, "tool", "")),
                "gen_ai.tool.call.arguments": tool_input if isinstance(tool_input, str) else str(jsonable(tool_input)),
            })

    def on_agent_finish(self, finish: Any, *, run_id: UUID, **kwargs: Any) -> Any:
        run = self._span(run_id)
        if run is not None:
            guard(run.span.add_event, "agent_finish")

    # -- models ------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[list[str]] = None,
        metadata: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> Any:
        input = [_message(m) for batch in messages for m in batch]
        self._start_model(serialized, run_id, parent_run_id, metadata, kwargs, input)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[list[str]] = None,
        metadata: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> Any:
        input = [{"role": "user", "content": p} for p in prompts]
        self._start_model(serialized, run_id, parent_run_id, metadata, kwargs, input)

    def _start_model(
        self,
        serialized: dict[str, Any],
        run_id: UUID,
        parent_run_id: Optional[UUID],
        metadata: Optional[dict[str, Any]],
        kwargs: dict[str, Any],
        input: list[Any],
    ) -> None:
        meta = metadata or {}
        params = kwargs.get("invocation_params") or {}
        model = meta.get("ls_model_name") or params.get("model") or params.get("model_name")
        provider = meta.get("ls_provider") or kwargs.get("name") or _name(serialized)
        attributes = {
            "gen_ai.request.temperature": number(meta.get("ls_temperature", params.get("temperature"))),
            "gen_ai.request.max_tokens": number(meta.get("ls_max_tokens", params.get("max_tokens"))),
            "gen_ai.request.top_p": number(params.get("top_p")),
            "gen_ai.request.stop_sequences": stop_list(meta.get("ls_stop", params.get("stop"))),
        }
        name = f"chat {model}" if isinstance(model, str) and model else "chat"
        run = self._start(run_id, parent_run_id, name, SpanKind.LLM, attributes, metadata, claimable=True)
        if run is None:
            return
        span = run.span
        guard(
            span.set_llm,
            provider=provider if isinstance(provider, str) else None,
            request_model=model if isinstance(model, str) else None,
        )
        guard(span.set_messages, input=input)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> Any:
        run = self._span(run_id)
        if run is not None and not (run.claim is not None and run.claim.filled):
            # No instrumented provider call filled the span in: record what
            # LangChain reports.
            guard(_record_llm_result, run.span, response)
        self._end(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Any:
        self._end(run_id, error)

    # -- tools and retrievers --------------------------------------------------------

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[list[str]] = None,
        metadata: Optional[dict[str, Any]] = None,
        inputs: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> Any:
        name = kwargs.get("name") or _name(serialized) or "tool"
        arguments = inputs if inputs is not None else input_str
        run = self._start(
            run_id, parent_run_id, f"execute_tool {name}", SpanKind.TOOL, {}, metadata,
            input=arguments, tool_key="gen_ai.tool.call.arguments",
        )
        if run is not None:
            call_id = kwargs.get("tool_call_id")
            guard(run.span.set_tool, name, call_id if isinstance(call_id, str) else None)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> Any:
        # A ToolMessage (a tool called with a tool call) carries the result
        # as its content.
        self._output(run_id, getattr(output, "content", output), "gen_ai.tool.call.result")
        self._end(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Any:
        self._end(run_id, error)

    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[list[str]] = None,
        metadata: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> Any:
        name = kwargs.get("name") or _name(serialized) or "retriever"
        self._start(
            run_id, parent_run_id, f"retrieval {name}", SpanKind.RETRIEVER,
            {"gen_ai.retrieval.query": query}, metadata, input=query,
        )

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> Any:
        run = self._span(run_id)
        if run is not None:
            guard(run.span.set_attribute, "gen_ai.retrieval.documents.count", len(documents))
            if run.tracer is not None:
                guard(_record_documents, run.span, run.tracer, documents)
        self._end(run_id)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Any:
        self._end(run_id, error)


def _name(serialized: Optional[dict[str, Any]]) -> Optional[str]:
    if not serialized:
        return None
    name = serialized.get("name")
    if isinstance(name, str) and name:
        return name
    ids = serialized.get("id")
    return str(ids[-1]) if isinstance(ids, list) and ids else None


_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool"}


def _message(m: Any) -> dict[str, Any]:
    role = _ROLES.get(getattr(m, "type", ""), getattr(m, "type", "user"))
    return {"role": role, "content": jsonable(getattr(m, "content", m))}


def _record_documents(span: Span, tracer: Tracer, documents: Any) -> None:
    """Retrieved documents as OpenInference's flattened
    ``retrieval.documents.{i}.document.*`` attributes: ``id`` when the
    document has one, ``content`` (its text), ``metadata`` (JSON)."""
    for i, doc in enumerate(list(documents)[:MAX_DOCUMENTS]):
        prefix = f"retrieval.documents.{i}.document."
        doc_id = getattr(doc, "id", None)
        if doc_id is not None:
            span.set_attribute(prefix + "id", str(doc_id))
        _capture.record_text(span, tracer, prefix + "content", getattr(doc, "page_content", doc))
        metadata = getattr(doc, "metadata", None)
        if metadata:
            _capture.record_text(span, tracer, prefix + "metadata", metadata)


def _record_llm_result(span: Span, result: Any) -> None:
    generations = [g for batch in getattr(result, "generations", None) or [] for g in batch]
    llm_output = getattr(result, "llm_output", None) or {}
    usage: dict[str, int] = {}
    model = llm_output.get("model_name") if isinstance(llm_output, dict) else None
    response_id: Optional[str] = None
    finish_reasons: list[str] = []
    output = []
    for g in generations:
        message = getattr(g, "message", None)
        info = getattr(g, "generation_info", None) or {}
        reason = info.get("finish_reason") or info.get("stop_reason")
        if message is not None:
            meta = getattr(message, "response_metadata", None) or {}
            model = model or meta.get("model_name") or meta.get("model")
            reason = reason or meta.get("finish_reason") or meta.get("stop_reason")
            response_id = response_id or getattr(message, "id", None)
            um = getattr(message, "usage_metadata", None)
            if um:
                usage["input"] = usage.get("input", 0) + count(um.get("input_tokens"))
                usage["output"] = usage.get("output", 0) + count(um.get("output_tokens"))
                details = um.get("input_token_details") or {}
                usage["read"] = usage.get("read", 0) + count(details.get("cache_read"))
                usage["created"] = usage.get("created", 0) + count(details.get("cache_creation"))
                out_details = um.get("output_token_details") or {}
                usage["reasoning"] = usage.get("reasoning", 0) + count(out_details.get("reasoning"))
            calls = [
                {"id": tc.get("id"), "name": tc.get("name"), "arguments": jsonable(tc.get("args"))}
                for tc in getattr(message, "tool_calls", None) or []
            ]
            content = message.content if isinstance(message.content, str) else str(jsonable(message.content))
            output.append(output_message(content, calls, reason))
        else:
            output.append(output_message(getattr(g, "text", ""), [], reason))
        if isinstance(reason, str):
            finish_reasons.append(reason)
    if not usage and isinstance(llm_output, dict):
        token_usage = llm_output.get("token_usage") or llm_output.get("usage") or {}
        if isinstance(token_usage, dict):
            usage["input"] = count(token_usage.get("prompt_tokens", token_usage.get("input_tokens")))
            usage["output"] = count(token_usage.get("completion_tokens", token_usage.get("output_tokens")))
    span.set_llm(
        response_model=model if isinstance(model, str) else None,
        response_id=response_id if isinstance(response_id, str) else None,
        finish_reasons=finish_reasons or None,
    )
    if usage:
        span.set_usage(
            input_tokens=usage.get("input", 0),
            output_tokens=usage.get("output", 0),
            cache_read_input_tokens=usage.get("read", 0),
            cache_creation_input_tokens=usage.get("created", 0),
            reasoning_output_tokens=usage.get("reasoning", 0),
        )
    if output:
        span.set_messages(output=output)


def _thread_scope(thread_id: object, outer: Optional[_session.Session]) -> Optional[_session.Session]:
    """A session scope inside ``outer`` whose conversation is a LangGraph
    thread, made current; None when there is no thread id or ``outer``
    already has it as its conversation."""
    if not isinstance(thread_id, (str, int)) or isinstance(thread_id, bool) or thread_id == "":
        return None
    conversation = str(thread_id)
    fields = dict(outer.fields) if outer is not None else {}
    if fields.get("conversation_id") == conversation:
        return None
    fields["conversation_id"] = conversation
    scope = _session.Session(fields)
    _session.current.set(scope)
    return scope


# -- registration for every run ------------------------------------------------------

_hook: Optional[tuple[Any, ...]] = None


def instrument(tracer: Optional[Tracer]) -> None:
    """Registers one handler for every LangChain run."""
    global _hook
    from langchain_core.tracers import context

    var: ContextVar[Optional[LangChainHandler]] = ContextVar("agtrace_langchain_handler", default=LangChainHandler(tracer))
    context.register_configure_hook(var, True, LangChainHandler)
    _hook = context._configure_hooks[-1]


def uninstrument() -> None:
    global _hook
    from langchain_core.tracers import context

    hooks = context._configure_hooks
    hooks[:] = [h for h in hooks if h is not _hook]
    _hook = None


"""The official ``openai`` package: chat completions, the Responses API and
embeddings, on sync and async clients, streamed or not, and through
``with_raw_response`` (which calls the instrumented ``create``).

``create`` is patched on the resource classes (``instrument``) or on one
client's resource objects (``wrap``). A streamed call's span covers the whole
stream: the returned ``Stream`` is the provider's own object, its iteration
recorded (first chunk, the final usage chunk that
``stream_options={"include_usage": True}`` asks for) and its end tied to the
stream's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from .._span import Span, SpanKind
from .._tracer import Tracer
from ._common import (
    Call,
    Patches,
    StreamRecorder,
    count,
    given,
    guard,
    is_patched,
    jsonable,
    number,
    output_message,
    parse_arguments,
    start_call,
    stop_list,
    trace_stream,
    traced_method,
)

PROVIDER = "openai"
#: Oldest release whose layout (resources.chat.completions, responses,
#: Stream._iterator) this module knows.
MIN_VERSION = (1, 66)


def _targets() -> list[tuple[type, str, str, bool]]:
    """(class, attribute on the client, operation, async) for every patched
    resource."""
    from openai.resources.chat.completions import AsyncCompletions, Completions
    from openai.resources.embeddings import AsyncEmbeddings, Embeddings
    from openai.resources.responses import AsyncResponses, Responses

    return [
        (Completions, "chat.completions", "chat", False),
        (AsyncCompletions, "chat.completions", "chat", True),
        (Responses, "responses", "responses", False),
        (AsyncResponses, "responses", "responses", True),
        (Embeddings, "embeddings", "embeddings", False),
        (AsyncEmbeddings, "embeddings", "embeddings", True),
    ]


def instrument(patches: Patches, tracer: Optional[Tracer]) -> None:
    for cls, _, operation, is_async in _targets():
        patches.replace(cls, "create", _maker(operation, tracer, is_async))


def _maker(operation: str, tracer: Optional[Tracer], is_async: bool) -> Callable[[Any], Any]:
    return lambda original: _traced(original, operation, tracer, is_async)


def wrap(client: Any, patches: Patches, tracer: Optional[Tracer]) -> None:
    """Traces one ``OpenAI``/``AsyncOpenAI`` client through instance
    attributes on its resource objects."""
    import openai

    is_async = isinstance(client, openai.AsyncOpenAI)
    for cls, path, operation, a in _targets():
        if a != is_async:
            continue
        resource: Any = client
        for part in path.split("."):
            resource = getattr(resource, part)
        if not isinstance(resource, cls):
            continue
        if is_patched(vars(resource).get("create")):
            continue
        patches.replace(resource, "create", _maker(operation, tracer, a))


def _traced(original: Any, operation: str, tracer: Optional[Tracer], is_async: bool) -> Any:
    return traced_method(original, _START[operation], _FINISH[operation], tracer, is_async)


# -- requests ----------------------------------------------------------------------


def _request_attributes(kwargs: dict[str, Any], max_tokens: Any) -> dict[str, Any]:
    return {
        "gen_ai.request.temperature": number(kwargs.get("temperature")),
        "gen_ai.request.top_p": number(kwargs.get("top_p")),
        "gen_ai.request.max_tokens": number(max_tokens),
        "gen_ai.request.frequency_penalty": number(kwargs.get("frequency_penalty")),
        "gen_ai.request.presence_penalty": number(kwargs.get("presence_penalty")),
        "gen_ai.request.seed": number(kwargs.get("seed")),
        "gen_ai.request.stop_sequences": stop_list(kwargs.get("stop")),
        "gen_ai.request.stream": True if given(kwargs.get("stream")) else None,
    }


def _start_llm(tracer: Optional[Tracer], kwargs: dict[str, Any], max_tokens: Any, input: Any) -> Optional[Call]:
    model = given(kwargs.get("model"))
    model = model if isinstance(model, str) else None
    call = start_call(tracer, f"chat {model}" if model else "chat", SpanKind.LLM, _request_attributes(kwargs, max_tokens))
    if call is not None:
        guard(call.span.set_llm, provider=PROVIDER, request_model=model)
        if input is not None:
            guard(call.span.set_messages, input=jsonable(input))
    return call


def _start_chat(tracer: Optional[Tracer], kwargs: dict[str, Any]) -> Optional[Call]:
    max_tokens = given(kwargs.get("max_completion_tokens")) or kwargs.get("max_tokens")
    return _start_llm(tracer, kwargs, max_tokens, given(kwargs.get("messages")))


def _start_responses(tracer: Optional[Tracer], kwargs: dict[str, Any]) -> Optional[Call]:
    input = given(kwargs.get("input"))
    if isinstance(input, str):
        input = [{"role": "user", "content": input}]
    instructions = given(kwargs.get("instructions"))
    if isinstance(instructions, str):
        input = [{"role": "system", "content": instructions}, *(input or [])]
    return _start_llm(tracer, kwargs, kwargs.get("max_output_tokens"), input)


def _start_embeddings(tracer: Optional[Tracer], kwargs: dict[str, Any]) -> Optional[Call]:
    model = given(kwargs.get("model"))
    model = model if isinstance(model, str) else None
    call = start_call(tracer, f"embeddings {model}" if model else "embeddings", SpanKind.EMBEDDING, {})
    if call is not None:
        guard(call.span.set_llm, provider=PROVIDER, request_model=model)
    return call


# -- responses -----------------------------------------------------------------------


def _finish(recorder: Callable[[Span], StreamRecorder], record: Callable[[Span, Any], None]) -> Any:
    def finish(call: Call, response: Any, kwargs: dict[str, Any]) -> None:
        import openai

        if isinstance(response, (openai.Stream, openai.AsyncStream)):
            trace_stream(response, call, recorder(call.span))
            return
        guard(record, call.span, response)
        call.finish()

    return finish


def _usage(span: Span, usage: Any, input_key: str, output_key: str) -> None:
    if usage is None:
        return
    input_details = getattr(usage, f"{input_key}_details", None)
    output_details = getattr(usage, f"{output_key}_details", None)
    span.set_usage(
        input_tokens=count(getattr(usage, input_key, 0)),
        output_tokens=count(getattr(usage, output_key, 0)),
        cache_read_input_tokens=count(getattr(input_details, "cached_tokens", 0)),
        reasoning_output_tokens=count(getattr(output_details, "reasoning_tokens", 0)),
    )


def _record_chat(span: Span, r: Any) -> None:
    choices = getattr(r, "choices", None) or []
    span.set_llm(
        response_model=getattr(r, "model", None),
        response_id=getattr(r, "id", None),
        finish_reasons=[c.finish_reason for c in choices if getattr(c, "finish_reason", None)],
    )
    _usage(span, getattr(r, "usage", None), "prompt_tokens", "completion_tokens")
    output = []
    for c in choices:
        m = getattr(c, "message", None)
        if m is None:
            continue
        calls = [
            {"id": tc.id, "name": tc.function.name, "arguments": parse_arguments(tc.function.arguments)}
            for tc in getattr(m, "tool_calls", None) or []
            if getattr(tc, "function", None) is not None
        ]
        output.append(output_message(m.content, calls, c.finish_reason))
    if output:
        span.set_messages(output=output)


class _ChatRecorder(StreamRecorder):
    """Chunks of a streamed chat completion, accumulated into one message per
    choice."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.id: Optional[str] = None
        self.model: Optional[str] = None
        self.usage: Any = None
        self.text: dict[int, list[str]] = {}
        self.tool_calls: dict[int, dict[int, dict[str, Any]]] = {}
        self.finish_reasons: dict[int, str] = {}

    def item(self, chunk: Any) -> None:
        self.id = self.id or getattr(chunk, "id", None)
        self.model = self.model or getattr(chunk, "model", None)
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        for choice in getattr(chunk, "choices", None) or []:
            if choice.finish_reason:
                self.finish_reasons[choice.index] = choice.finish_reason
            delta = choice.delta
            if delta is None:
                continue
            if delta.content:
                self.text.setdefault(choice.index, []).append(delta.content)
            for tc in delta.tool_calls or []:
                calls = self.tool_calls.setdefault(choice.index, {})
                entry = calls.setdefault(tc.index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                if tc.id:
                    entry["id"] = tc.id
                if tc.function is not None:
                    entry["function"]["name"] += tc.function.name or ""
                    entry["function"]["arguments"] += tc.function.arguments or ""

    def done(self) -> None:
        self.span.set_llm(
            response_model=self.model,
            response_id=self.id,
            finish_reasons=[self.finish_reasons[i] for i in sorted(self.finish_reasons)],
        )
        _usage(self.span, self.usage, "prompt_tokens", "completion_tokens")
        indexes = sorted(set(self.text) | set(self.tool_calls))
        output = []
        for i in indexes:
            calls = self.tool_calls.get(i, {})
            tool_calls = [
                {"id": calls[k]["id"], "name": calls[k]["function"]["name"],
                 "arguments": parse_arguments(calls[k]["function"]["arguments"])}
                for k in sorted(calls)
            ]
            output.append(output_message("".join(self.text.get(i, [])), tool_calls, self.finish_reasons.get(i)))
        if output:
            self.span.set_messages(output=output)


def _record_response(span: Span, r: Any) -> None:
    status = getattr(r, "status", None)
    span.set_llm(
        response_model=getattr(r, "model", None),
        response_id=getattr(r, "id", None),
        finish_reasons=[status] if isinstance(status, str) else None,
    )
    _usage(span, getattr(r, "usage", None), "input_tokens", "output_tokens")
    output = jsonable(getattr(r, "output", None))
    if output:
        span.set_messages(output=output)


class _ResponsesRecorder(StreamRecorder):
    """Events of a streamed Responses API call; the final
    ``response.completed`` (or ``.incomplete``/``.failed``) event carries the
    whole response, usage included."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.final: Any = None
        self.created: Any = None

    def item(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = event.response
        elif kind == "response.created":
            self.created = event.response

    def done(self) -> None:
        if self.final is not None:
            _record_response(self.span, self.final)
        elif self.created is not None:
            self.span.set_llm(response_model=self.created.model, response_id=self.created.id)


def _record_embeddings(span: Span, r: Any) -> None:
    span.set_llm(response_model=getattr(r, "model", None))
    usage = getattr(r, "usage", None)
    if usage is not None:
        span.set_usage(input_tokens=count(getattr(usage, "prompt_tokens", 0)))
    data = getattr(r, "data", None)
    if data:
        span.set_attribute("gen_ai.embeddings.dimension.count", len(data[0].embedding))


_START = {"chat": _start_chat, "responses": _start_responses, "embeddings": _start_embeddings}
_FINISH = {
    "chat": _finish(_ChatRecorder, _record_chat),
    "responses": _finish(_ResponsesRecorder, _record_response),
    "embeddings": _finish(lambda span: StreamRecorder(), _record_embeddings),
}

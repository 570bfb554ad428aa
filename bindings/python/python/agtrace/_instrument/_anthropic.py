"""The official ``anthropic`` package: ``messages.create`` (sync and async,
``stream=True`` included, and through ``with_raw_response``) and the
``messages.stream()`` helper, whose request is traced when its ``with``
block starts it.

Usage follows the core's convention: ``input_tokens`` counts every prompt
token, so Anthropic's uncached ``input_tokens`` and its cache reads and
writes are added up, and the cache counts are recorded beside them.
"""

from __future__ import annotations

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
    start_call,
    stop_list,
    trace_stream,
    traced_method,
)

PROVIDER = "anthropic"
MIN_VERSION = (0, 40)


def _classes() -> tuple[type, type]:
    from anthropic.resources.messages import AsyncMessages, Messages

    return Messages, AsyncMessages


def instrument(patches: Patches, tracer: Optional[Tracer]) -> None:
    sync_cls, async_cls = _classes()
    patches.replace(sync_cls, "create", lambda original: traced_method(original, _start, _finish, tracer, False))
    patches.replace(async_cls, "create", lambda original: traced_method(original, _start, _finish, tracer, True))
    patches.replace(sync_cls, "stream", lambda original: _traced_stream_helper(original, tracer, False))
    patches.replace(async_cls, "stream", lambda original: _traced_stream_helper(original, tracer, True))


def wrap(client: Any, patches: Patches, tracer: Optional[Tracer]) -> None:
    import anthropic

    is_async = isinstance(client, anthropic.AsyncAnthropic)
    messages = client.messages
    if is_patched(vars(messages).get("create")):
        return
    patches.replace(messages, "create", lambda bound: traced_method(bound, _start, _finish, tracer, is_async))
    patches.replace(messages, "stream", lambda bound: _traced_stream_helper(bound, tracer, is_async))


def _traced_stream_helper(original: Any, tracer: Optional[Tracer], is_async: bool) -> Any:
    """``messages.stream(...)`` returns a manager that makes the request when
    its ``with`` block is entered: its request is replaced by a traced one."""
    manager_attribute = "_AsyncMessageStreamManager__api_request" if is_async else "_MessageStreamManager__api_request"

    def stream(*args: Any, **kwargs: Any) -> Any:
        manager = original(*args, **kwargs)
        request = getattr(manager, manager_attribute, None)
        if request is None:
            return manager
        streamed = {**kwargs, "stream": True}
        if is_async:

            async def await_request(**_: Any) -> Any:
                return await request

            traced_async = traced_method(await_request, _start, _finish, tracer, True)
            setattr(manager, manager_attribute, traced_async(**streamed))
        else:
            traced = traced_method(lambda **_: request(), _start, _finish, tracer, False)
            setattr(manager, manager_attribute, lambda: traced(**streamed))
        return manager

    return stream


# -- requests -----------------------------------------------------------------------


def _start(tracer: Optional[Tracer], kwargs: dict[str, Any]) -> Optional[Call]:
    model = given(kwargs.get("model"))
    model = model if isinstance(model, str) else None
    attributes = {
        "gen_ai.request.temperature": number(kwargs.get("temperature")),
        "gen_ai.request.top_p": number(kwargs.get("top_p")),
        "gen_ai.request.top_k": number(kwargs.get("top_k")),
        "gen_ai.request.max_tokens": number(kwargs.get("max_tokens")),
        "gen_ai.request.stop_sequences": stop_list(kwargs.get("stop_sequences")),
        "gen_ai.request.stream": True if given(kwargs.get("stream")) else None,
    }
    call = start_call(tracer, f"chat {model}" if model else "chat", SpanKind.LLM, attributes)
    if call is None:
        return None
    guard(call.span.set_llm, provider=PROVIDER, request_model=model)
    messages = given(kwargs.get("messages"))
    system = given(kwargs.get("system"))
    if messages is not None or system is not None:
        input = list(jsonable(messages) or []) if isinstance(messages, (list, tuple)) else []
        if system is not None:
            input.insert(0, {"role": "system", "content": jsonable(system)})
        guard(call.span.set_messages, input=input)
    return call


# -- responses -----------------------------------------------------------------------


def _finish(call: Call, response: Any, kwargs: dict[str, Any]) -> None:
    import anthropic

    if isinstance(response, (anthropic.Stream, anthropic.AsyncStream)):
        trace_stream(response, call, _Recorder(call.span))
        return
    guard(_record_message, call.span, response)
    call.finish()


def _set_usage(span: Span, usage: dict[str, int]) -> None:
    read = usage.get("cache_read_input_tokens", 0)
    created = usage.get("cache_creation_input_tokens", 0)
    span.set_usage(
        input_tokens=usage.get("input_tokens", 0) + read + created,
        output_tokens=usage.get("output_tokens", 0),
        cache_read_input_tokens=read,
        cache_creation_input_tokens=created,
    )


def _usage_counts(usage: Any, into: dict[str, int]) -> None:
    for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        value = getattr(usage, key, None)
        if isinstance(value, int):
            into[key] = count(value)


def _tool_call(block: Any) -> dict[str, Any]:
    return {"id": block.id, "name": block.name, "arguments": jsonable(block.input)}


def _record_message(span: Span, m: Any) -> None:
    span.set_llm(
        response_model=getattr(m, "model", None),
        response_id=getattr(m, "id", None),
        finish_reasons=[m.stop_reason] if getattr(m, "stop_reason", None) else None,
    )
    counts: dict[str, int] = {}
    _usage_counts(getattr(m, "usage", None), counts)
    if counts:
        _set_usage(span, counts)
    blocks = getattr(m, "content", None) or []
    text = "".join(b.text for b in blocks if getattr(b, "type", None) == "text")
    calls = [_tool_call(b) for b in blocks if getattr(b, "type", None) == "tool_use"]
    span.set_messages(output=[output_message(text, calls, getattr(m, "stop_reason", None))])


class _Recorder(StreamRecorder):
    """The events of a streamed message: ``message_start`` (id, model, input
    usage), content blocks and their deltas (text, tool-use JSON), and
    ``message_delta`` (stop reason, final usage)."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.id: Optional[str] = None
        self.model: Optional[str] = None
        self.stop_reason: Optional[str] = None
        self.usage: dict[str, int] = {}
        self.text: list[str] = []
        self.blocks: dict[int, dict[str, Any]] = {}

    def item(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            self.id = event.message.id
            self.model = event.message.model
            _usage_counts(event.message.usage, self.usage)
        elif kind == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                self.blocks[event.index] = {"id": block.id, "name": block.name, "json": ""}
            elif block.type == "text" and block.text:
                self.text.append(block.text)
        elif kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                self.text.append(delta.text)
            elif delta.type == "input_json_delta" and event.index in self.blocks:
                self.blocks[event.index]["json"] += delta.partial_json
        elif kind == "message_delta":
            self.stop_reason = getattr(event.delta, "stop_reason", None) or self.stop_reason
            _usage_counts(event.usage, self.usage)

    def done(self) -> None:
        self.span.set_llm(
            response_model=self.model,
            response_id=self.id,
            finish_reasons=[self.stop_reason] if self.stop_reason else None,
        )
        if self.usage:
            _set_usage(self.span, self.usage)
        from ._common import parse_arguments

        calls = [
            {"id": b["id"], "name": b["name"], "arguments": parse_arguments(b["json"] or "{}")}
            for _, b in sorted(self.blocks.items())
        ]
        if self.text or calls:
            self.span.set_messages(output=[output_message("".join(self.text), calls, self.stop_reason)])

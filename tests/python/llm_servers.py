"""A local stand-in for the OpenAI and Anthropic HTTP APIs, for the
auto-instrumentation tests (tests/python/test_instrument_*.py).

One threaded ``http.server`` on 127.0.0.1 (port 0) answers:

* ``POST /v1/chat/completions``: a ``chat.completion`` JSON, or with
  ``"stream": true`` a server-sent-event stream of ``chat.completion.chunk``s,
  a final usage chunk when ``stream_options.include_usage`` is set, then
  ``data: [DONE]``.
* ``POST /v1/responses``: a ``response`` JSON, or an SSE stream of
  ``response.created`` / ``response.output_text.delta`` /
  ``response.completed`` events.
* ``POST /v1/embeddings``: a list of embeddings.
* ``POST /v1/messages`` (Anthropic): a ``message`` JSON (with a ``tool_use``
  block when the request has tools), or an SSE stream of ``message_start``,
  ``content_block_start``/``_delta``/``_stop``, ``message_delta``,
  ``message_stop``.

``server.fail_next(status)`` makes the next request answer ``status`` with
the API's error body. ``server.requests`` keeps every request body. Usage
numbers are fixed (``OPENAI_USAGE``, ``ANTHROPIC_USAGE``) so tests can check
them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

OPENAI_USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "cached": 3, "reasoning": 2}
ANTHROPIC_USAGE = {"input_tokens": 20, "output_tokens": 9, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 50}
#: The streamed chat answer, one chunk per word.
WORDS = ["Hello", " from", " the", " fake", " model"]


class LLMServer:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def fail_next(self, status: int) -> None:
        with self._lock:
            self._failures.append(status)

    def _take_failure(self) -> Optional[int]:
        with self._lock:
            return self._failures.pop(0) if self._failures else None


@contextmanager
def serving() -> Iterator[LLMServer]:
    server = LLMServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def _handler(server: LLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            server.requests.append((self.path, body))
            status = server._take_failure()
            if status is not None:
                return self._error(status)
            route = {
                "/v1/chat/completions": _chat,
                "/v1/responses": _responses,
                "/v1/embeddings": _embeddings,
                "/v1/messages": _messages,
            }.get(self.path.split("?")[0])
            if route is None:
                return self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            result = route(body)
            if isinstance(result, list):
                self._sse(result)
            else:
                self._json(200, result)

        def _error(self, status: int) -> None:
            if self.path.startswith("/v1/messages"):
                body = {"type": "error", "error": {"type": "api_error", "message": f"fake failure {status}"}}
            else:
                body = {"error": {"message": f"fake failure {status}", "type": "server_error", "code": None}}
            self._json(status, body)

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", "req-fake")
            self.end_headers()
            self.wfile.write(data)

        def _sse(self, events: list[tuple[Optional[str], Any]]) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for event, data in events:
                    text = data if isinstance(data, str) else json.dumps(data)
                    frame = (f"event: {event}\n" if event else "") + f"data: {text}\n\n"
                    self.wfile.write(frame.encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading early

    return Handler


# -- OpenAI ----------------------------------------------------------------------------


def _openai_usage() -> dict[str, Any]:
    u = OPENAI_USAGE
    return {
        "prompt_tokens": u["prompt_tokens"],
        "completion_tokens": u["completion_tokens"],
        "total_tokens": u["prompt_tokens"] + u["completion_tokens"],
        "prompt_tokens_details": {"cached_tokens": u["cached"]},
        "completion_tokens_details": {"reasoning_tokens": u["reasoning"]},
    }


def _chat(body: dict[str, Any]) -> Any:
    model = body.get("model", "gpt-4o")
    served = f"{model}-2024-08-06"
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": "".join(WORDS)}
        finish = "stop"
        if body.get("tools"):
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
                ],
            }
            finish = "tool_calls"
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1700000000,
            "model": served,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": _openai_usage(),
        }
    chunks: list[tuple[Optional[str], Any]] = []

    def chunk(delta: dict[str, Any], finish: Optional[str] = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-stream",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": served,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    chunks.append((None, chunk({"role": "assistant", "content": ""})))
    for word in WORDS:
        chunks.append((None, chunk({"content": word})))
    chunks.append((None, chunk({}, "stop")))
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append(
            (None, {"id": "chatcmpl-stream", "object": "chat.completion.chunk", "created": 1700000000,
                    "model": served, "choices": [], "usage": _openai_usage()})
        )
    chunks.append((None, "[DONE]"))
    return chunks


def _response_object(model: str, status: str = "completed") -> dict[str, Any]:
    u = OPENAI_USAGE
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": 1700000000,
        "model": f"{model}-2024-08-06",
        "status": status,
        "output": [
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "".join(WORDS), "annotations": []}],
            }
        ]
        if status == "completed"
        else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": u["prompt_tokens"],
            "output_tokens": u["completion_tokens"],
            "total_tokens": u["prompt_tokens"] + u["completion_tokens"],
            "input_tokens_details": {"cached_tokens": u["cached"]},
            "output_tokens_details": {"reasoning_tokens": u["reasoning"]},
        }
        if status == "completed"
        else None,
    }


def _responses(body: dict[str, Any]) -> Any:
    model = body.get("model", "gpt-4o")
    if not body.get("stream"):
        return _response_object(model)
    events: list[tuple[Optional[str], Any]] = [
        ("response.created", {"type": "response.created", "sequence_number": 0,
                              "response": _response_object(model, "in_progress")}),
    ]
    for n, word in enumerate(WORDS, 1):
        events.append(("response.output_text.delta", {
            "type": "response.output_text.delta", "sequence_number": n, "item_id": "msg_1",
            "output_index": 0, "content_index": 0, "delta": word, "logprobs": []}))
    events.append(("response.completed", {"type": "response.completed", "sequence_number": len(WORDS) + 1,
                                          "response": _response_object(model)}))
    return events


def _embeddings(body: dict[str, Any]) -> Any:
    inputs = body.get("input")
    count = len(inputs) if isinstance(inputs, list) else 1
    return {
        "object": "list",
        "model": body.get("model", "text-embedding-3-small"),
        "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3, 0.4]} for i in range(count)],
        "usage": {"prompt_tokens": 5, "total_tokens": 5},
    }


# -- Anthropic -------------------------------------------------------------------------


def _messages(body: dict[str, Any]) -> Any:
    model = body.get("model", "claude-sonnet-4-5")
    served = f"{model}-20250929"
    u = ANTHROPIC_USAGE
    tools = bool(body.get("tools"))
    if not body.get("stream"):
        content: list[dict[str, Any]] = [{"type": "text", "text": "".join(WORDS)}]
        if tools:
            content.append({"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}})
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": served,
            "content": content,
            "stop_reason": "tool_use" if tools else "end_turn",
            "stop_sequence": None,
            "usage": dict(u),
        }
    events: list[tuple[Optional[str], Any]] = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_stream", "type": "message", "role": "assistant", "model": served, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": u["input_tokens"], "output_tokens": 1,
                      "cache_read_input_tokens": u["cache_read_input_tokens"],
                      "cache_creation_input_tokens": u["cache_creation_input_tokens"]}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
    ]
    for word in WORDS:
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": word}}))
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    if tools:
        events += [
            ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
                "type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                     "delta": {"type": "input_json_delta", "partial_json": '{"q": '}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                     "delta": {"type": "input_json_delta", "partial_json": '"x"}'}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ]
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": "tool_use" if tools else "end_turn", "stop_sequence": None},
                                     "usage": {"output_tokens": u["output_tokens"]}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


# -- fixtures (imported by the test modules) --------------------------------------------

import pytest  # noqa: E402

import agtrace  # noqa: E402


@pytest.fixture(scope="module")
def llm_server() -> Iterator[LLMServer]:
    with serving() as server:
        yield server


@pytest.fixture
def instrumented() -> Iterator[None]:
    """Every library instrumented for the test, restored after it."""
    agtrace.instrument()
    try:
        yield
    finally:
        agtrace.uninstrument()

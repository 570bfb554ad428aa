"""End to end: the Rust demo exports its trace over OTLP to a real Phoenix.

Contract with the demo binary (path in ``AGTRACE_DEMO_BIN``):

* run with ``OTEL_EXPORTER_OTLP_ENDPOINT`` and ``OTEL_EXPORTER_OTLP_PROTOCOL``
  (``http/protobuf`` or ``grpc``) it exports one 7-span trace of a simulated
  travel agent, service name ``agtrace-demo``, and exits 0;
* every span carries ``gen_ai.conversation.id`` = ``AGTRACE_DEMO_CONVERSATION``
  (each test sets a unique one and reads back only spans carrying it, so runs
  sharing the session's Phoenix do not see each other's spans);
* it also writes ``agtrace-demo.jsonl`` (OTLP/JSON, one export request per
  line) in its working directory.

What is checked where: Phoenix's REST API gives names, ids, parent links, times,
attributes and the OpenInference kind. Phoenix drops the OTel SpanKind and the
resource, and infers ``openinference.span.kind`` from ``gen_ai.operation.name``
when it is missing, so the OTel kinds, ``service.name`` and the raw
``openinference.span.kind`` are checked in the demo's JSONL file instead. See
``Phoenix.spans`` in conftest.py for the response shape.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

AGENT = "invoke_agent travel-assistant"
PLAN = "plan"
CHAT_MINI = "chat gpt-4o-mini"
WEATHER = "execute_tool get_weather"
FLIGHTS = "execute_tool search_flights"
RETRIEVE = "retrieve travel-docs"
CHAT = "chat gpt-4o"

DEMO_TIMEOUT_S = 60


@dataclass(frozen=True)
class Expected:
    parent: str | None
    openinference_kind: str
    otel_kind: str
    # Exact values, compared with their JSON type (an int must come back an int).
    attributes: dict[str, Any] = field(default_factory=dict)


# The demo's trace. gen_ai.operation.name comes from the span's kind in the
# core (agent -> invoke_agent, llm -> chat, tool -> execute_tool, retriever ->
# retrieval; a task has none), so it is expected on every span of those kinds.
TRACE: dict[str, Expected] = {
    AGENT: Expected(
        parent=None,
        openinference_kind="AGENT",
        otel_kind="INTERNAL",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "travel-assistant",
            # Rollups computed in the core: both model calls and both tools.
            "agtrace.usage.input_tokens": 412 + 1290,
            "agtrace.usage.output_tokens": 57 + 221,
            "agtrace.usage.llm_calls": 2,
            "agtrace.usage.tool_calls": 2,
        },
    ),
    PLAN: Expected(
        parent=AGENT,
        openinference_kind="CHAIN",
        otel_kind="INTERNAL",
        attributes={"agtrace.usage.input_tokens": 412, "agtrace.usage.llm_calls": 1},
    ),
    CHAT_MINI: Expected(
        parent=PLAN,
        openinference_kind="LLM",
        otel_kind="CLIENT",
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 412,
            "gen_ai.usage.output_tokens": 57,
        },
    ),
    WEATHER: Expected(
        parent=AGENT,
        openinference_kind="TOOL",
        otel_kind="INTERNAL",
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather"},
    ),
    FLIGHTS: Expected(
        parent=AGENT,
        openinference_kind="TOOL",
        otel_kind="INTERNAL",
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search_flights"},
    ),
    RETRIEVE: Expected(
        parent=AGENT,
        openinference_kind="RETRIEVER",
        otel_kind="INTERNAL",
        attributes={"gen_ai.operation.name": "retrieval"},
    ),
    CHAT: Expected(
        parent=AGENT,
        openinference_kind="LLM",
        otel_kind="CLIENT",
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 1290,
            "gen_ai.usage.output_tokens": 221,
        },
    ),
}

# OTLP SpanKind enum: the Rust serializer writes the number, protobuf's JSON
# mapping the name; accept both.
OTEL_KINDS = {
    0: "UNSPECIFIED",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}
JSONL = "agtrace-demo.jsonl"

Span = dict[str, Any]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"], ids=["http", "grpc"])
def test_demo_trace_reaches_phoenix(phoenix, binary, tmp_path: Path, protocol: str) -> None:
    demo = binary("demo")
    conversation = f"e2e-{protocol.split('/')[0]}-{uuid.uuid4().hex}"
    endpoint = phoenix.grpc_endpoint if protocol == "grpc" else phoenix.http_endpoint

    _run_demo(demo, tmp_path, _demo_env(endpoint, protocol, conversation))

    spans = phoenix.spans(
        min_count=len(TRACE), timeout=30, attributes={"gen_ai.conversation.id": conversation}
    )
    by_name = _check_tree(spans)
    _check_kinds_and_attributes(by_name, conversation)
    _check_timing(by_name)
    _check_jsonl(tmp_path / JSONL, conversation)


# --- running the demo ---------------------------------------------------------


def _demo_env(endpoint: str, protocol: str, conversation: str) -> dict[str, str]:
    # Drop inherited OTEL_*/AGTRACE_* settings: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    # would override the endpoint under test, OTEL_SDK_DISABLED would silence it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGTRACE_"))}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        AGTRACE_DEMO_CONVERSATION=conversation,
    )
    return env


def _run_demo(demo: Path, cwd: Path, env: dict[str, str]) -> None:
    try:
        proc = subprocess.run(
            [str(demo)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=DEMO_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(
            f"demo did not finish in {DEMO_TIMEOUT_S} s\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}"
        )
    assert proc.returncode == 0, (
        f"demo exited with {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )


# --- checks on what Phoenix stored ---------------------------------------------


def _check_tree(spans: list[Span]) -> dict[str, Span]:
    """Exactly the expected names, one trace, parent links as in TRACE."""
    names = Counter(s["name"] for s in spans)
    assert names == Counter(TRACE.keys()), (
        f"span names: got {sorted(names.elements())}, want {sorted(TRACE)}"
    )
    by_name = {s["name"]: s for s in spans}

    trace_ids = {s["context"]["trace_id"] for s in spans}
    assert len(trace_ids) == 1, f"spans are split over traces {trace_ids}"

    for name, want in TRACE.items():
        got = by_name[name]["parent_id"]
        if want.parent is None:
            assert got is None, f"{name}: the root has parent {got}"
        else:
            parent_id = by_name[want.parent]["context"]["span_id"]
            assert got == parent_id, f"{name}: parent {got}, want {want.parent} ({parent_id})"
    return by_name


def _check_kinds_and_attributes(by_name: dict[str, Span], conversation: str) -> None:
    for name, want in TRACE.items():
        span = by_name[name]
        attrs = span["attributes"]
        assert span["span_kind"] == want.openinference_kind, f"{name}: kind {span['span_kind']}"
        assert attrs.get("gen_ai.conversation.id") == conversation, f"{name}: {attrs}"
        # A subset check: Phoenix adds attributes of its own (see conftest).
        for key, value in want.attributes.items():
            assert key in attrs, f"{name}: missing {key}; attributes {attrs}"
            got = attrs[key]
            # type(), not isinstance: True is an int, and 412.0 == 412.
            assert (got, type(got)) == (value, type(value)), (
                f"{name}: {key} = {got!r} ({type(got).__name__}),"
                f" want {value!r} ({type(value).__name__})"
            )


def _interval(span: Span) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(span["start_time"]), datetime.fromisoformat(span["end_time"])


def _check_timing(by_name: dict[str, Span]) -> None:
    for name, span in by_name.items():
        start, end = _interval(span)
        assert end >= start, f"{name}: ends ({end}) before it starts ({start})"
    for name, want in TRACE.items():
        if want.parent is None:
            continue
        (start, end), (p_start, p_end) = _interval(by_name[name]), _interval(by_name[want.parent])
        assert p_start <= start and end <= p_end, (
            f"{name} ({start}..{end}) is not within its parent {want.parent} ({p_start}..{p_end})"
        )
    (w_start, w_end), (f_start, f_end) = _interval(by_name[WEATHER]), _interval(by_name[FLIGHTS])
    assert w_start < f_end and f_start < w_end, (
        f"the two tools should overlap in time: get_weather {w_start}..{w_end},"
        f" search_flights {f_start}..{f_end}"
    )


# --- checks on the demo's own OTLP/JSON file ------------------------------------


def _check_jsonl(path: Path, conversation: str) -> None:
    """What Phoenix does not keep: OTel kinds, the resource, and whether the
    demo itself wrote openinference.span.kind (Phoenix would infer it)."""
    in_file = _jsonl_spans(path, conversation)
    names = Counter(span["name"] for _, span in in_file)
    assert names == Counter(TRACE.keys()), f"{path} spans: {sorted(names.elements())}"
    for resource, span in in_file:
        name, want = span["name"], TRACE[span["name"]]
        assert resource.get("service.name") == "agtrace-demo", f"{name}: resource {resource}"
        kind = span.get("kind")
        assert _otel_kind(kind) == want.otel_kind, f"{name}: OTel kind {kind!r}"
        raw = _attrs(span.get("attributes")).get("openinference.span.kind")
        assert raw == want.openinference_kind, f"{name}: openinference.span.kind {raw!r}"


def _jsonl_spans(path: Path, conversation: str) -> list[tuple[dict[str, Any], Span]]:
    """(resource attributes, span) for each span of this conversation in the file."""
    assert path.is_file(), f"the demo wrote no {path.name} in its working directory"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    batches = []
    for n, line in enumerate(lines, 1):
        try:
            batches.append(json.loads(line))
        except json.JSONDecodeError as e:
            pytest.fail(f"{path.name} line {n} is not JSON ({e}): {line[:200]}")
    assert any(isinstance(b, dict) and "resourceSpans" in b for b in batches), (
        f"no line of {path.name} has a resourceSpans key: {lines[:3]}"
    )
    out = []
    for batch in batches:
        for resource_spans in batch.get("resourceSpans", []):
            resource = _attrs((resource_spans.get("resource") or {}).get("attributes"))
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    attrs = _attrs(span.get("attributes"))
                    if attrs.get("gen_ai.conversation.id") == conversation:
                        out.append((resource, span))
    return out


def _attrs(key_values: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {kv["key"]: _any_value(kv.get("value") or {}) for kv in key_values or []}


def _any_value(v: dict[str, Any]) -> Any:
    """Decode an OTLP/JSON AnyValue (scalars only; enough for these checks)."""
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return int(v["intValue"])  # OTLP/JSON writes int64 as a string
    return v


def _otel_kind(kind: Any) -> str:
    if isinstance(kind, int):
        return OTEL_KINDS.get(kind, str(kind))
    return str(kind).removeprefix("SPAN_KIND_")

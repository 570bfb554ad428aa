#!/usr/bin/env python3
"""Runs a demo agent (the Rust demo, or the C/C++ example) in a clean
directory with a clean environment, and optionally checks the trace it wrote
to agtrace-demo.jsonl:

* --check: the trace has the shape of core/examples/demo.rs (the same table
  as tests/e2e/test_otlp_phoenix.py, plus what the demo sets): 7 span names,
  parent links by name, OTel and OpenInference kinds, GenAI attributes, usage
  numbers and rollups, trace-level context, one trace, tools overlapping;
* --reference FILE: the same span names, parents, kinds, status, events and
  attribute keys and values as the Rust demo's own JSONL (ids, times and the
  conversation id aside).

usage: run_example.py --dir DIR [--check] [--reference JSONL] PROGRAM
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

AGENT = "invoke_agent travel-assistant"
PLAN = "plan"
CHAT_MINI = "chat gpt-4o-mini"
WEATHER = "execute_tool get_weather"
FLIGHTS = "execute_tool search_flights"
RETRIEVE = "retrieve travel-docs"
CHAT = "chat gpt-4o"

INTERNAL, CLIENT = 1, 3

# name -> (parent, OTel kind, openinference kind, exact attributes)
TRACE: dict[str, tuple[str | None, int, str, dict[str, Any]]] = {
    AGENT: (None, INTERNAL, "AGENT", {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "travel-assistant",
        "gen_ai.agent.id": "agent-42",
        "agtrace.usage.input_tokens": 412 + 1290,
        "agtrace.usage.output_tokens": 57 + 221,
        "agtrace.usage.llm_calls": 2,
        "agtrace.usage.tool_calls": 2,
    }),
    PLAN: (AGENT, INTERNAL, "CHAIN", {
        "agtrace.usage.input_tokens": 412,
        "agtrace.usage.output_tokens": 57,
        "agtrace.usage.llm_calls": 1,
    }),
    CHAT_MINI: (PLAN, CLIENT, "LLM", {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-08-06",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 512,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 412,
        "gen_ai.usage.output_tokens": 57,
    }),
    WEATHER: (AGENT, INTERNAL, "TOOL", {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call_get_weather",
        "gen_ai.tool.call.arguments": {"city": "Lisbon"},
        "gen_ai.tool.call.result": {"ok": True, "tool": "get_weather"},
    }),
    FLIGHTS: (AGENT, INTERNAL, "TOOL", {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search_flights",
        "gen_ai.tool.call.id": "call_search_flights",
        "gen_ai.tool.call.arguments": {"to": "LIS", "days": 2},
        "gen_ai.tool.call.result": {"ok": True, "tool": "search_flights"},
    }),
    RETRIEVE: (AGENT, INTERNAL, "RETRIEVER", {
        "gen_ai.operation.name": "retrieval",
        "retrieval.documents.count": 3,
    }),
    CHAT: (AGENT, CLIENT, "LLM", {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 1290,
        "gen_ai.usage.output_tokens": 221,
    }),
}

# On every span: the trace-level context the agent sets.
TRACE_WIDE = {
    "user.id": "user-7",
    "tag.tags": ["demo"],
    "deployment.environment.name": "development",
}
# Attributes whose values differ between runs (compared otherwise).
PER_RUN = {"gen_ai.response.id", "gen_ai.conversation.id"}
JSON_STRINGS = {"gen_ai.tool.call.arguments", "gen_ai.tool.call.result"}


def any_value(v: dict[str, Any]) -> Any:
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "arrayValue" in v:
        return [any_value(x) for x in v["arrayValue"].get("values", [])]
    return v


def attrs(kvs: list[dict[str, Any]] | None) -> dict[str, Any]:
    out = {}
    for kv in kvs or []:
        value = any_value(kv.get("value") or {})
        if kv["key"] in JSON_STRINGS and isinstance(value, str):
            value = json.loads(value)
        out[kv["key"]] = value
    return out


def load(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise SystemExit(f"FAIL: {path} was not written")
    spans = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as e:
            raise SystemExit(f"FAIL: {path} line {n} is not JSON: {e}")
        for rs in request.get("resourceSpans", []):
            resource = attrs((rs.get("resource") or {}).get("attributes"))
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    s["_attrs"] = attrs(s.get("attributes"))
                    s["_resource"] = resource
                    spans.append(s)
    return spans


class Checker:
    def __init__(self, label: str) -> None:
        self.label = label
        self.errors: list[str] = []

    def eq(self, what: str, got: Any, want: Any) -> None:
        # type() too: 412 must not come back as 412.0 or "412".
        if got != want or type(got) is not type(want):
            self.errors.append(f"{self.label}: {what}: got {got!r}, want {want!r}")

    def true(self, what: str, cond: bool) -> None:
        if not cond:
            self.errors.append(f"{self.label}: {what}")


def by_name(spans: list[dict[str, Any]], c: Checker) -> dict[str, dict[str, Any]]:
    names = Counter(s["name"] for s in spans)
    c.eq("span names", dict(sorted(names.items())), dict(sorted(Counter(TRACE.keys()).items())))
    return {s["name"]: s for s in spans}


def parent_name(s: dict[str, Any], spans: dict[str, dict[str, Any]]) -> str | None:
    pid = s.get("parentSpanId") or ""
    if not pid:
        return None
    for name, other in spans.items():
        if other["spanId"] == pid:
            return name
    return f"<unknown parent {pid}>"


def check_shape(spans: list[dict[str, Any]], conversation: str) -> list[str]:
    c = Checker("shape")
    named = by_name(spans, c)
    if c.errors:
        return c.errors
    c.eq("trace ids", len({s["traceId"] for s in spans}), 1)
    for name, (parent, kind, oi_kind, want) in TRACE.items():
        s = named[name]
        a = s["_attrs"]
        c.eq(f"{name}: parent", parent_name(s, named), parent)
        c.eq(f"{name}: OTel kind", s.get("kind"), kind)
        c.eq(f"{name}: openinference.span.kind", a.get("openinference.span.kind"), oi_kind)
        c.eq(f"{name}: service.name", s["_resource"].get("service.name"), "agtrace-demo")
        c.eq(f"{name}: gen_ai.conversation.id", a.get("gen_ai.conversation.id"), conversation)
        for key, value in {**TRACE_WIDE, **want}.items():
            c.eq(f"{name}: {key}", a.get(key), value)
        start, end = int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])
        c.true(f"{name}: ends before it starts", start <= end)
        if parent:
            p = named[parent]
            c.true(f"{name} is not within {parent}",
                   int(p["startTimeUnixNano"]) <= start and end <= int(p["endTimeUnixNano"]))
    for name in (CHAT_MINI, CHAT):
        s = named[name]
        c.eq(f"{name}: gen_ai.response.id", s["_attrs"].get("gen_ai.response.id"), f"chatcmpl-{s['spanId']}")
    w, f = named[WEATHER], named[FLIGHTS]
    c.true("the two tools do not overlap in time",
           int(w["startTimeUnixNano"]) < int(f["endTimeUnixNano"])
           and int(f["startTimeUnixNano"]) < int(w["endTimeUnixNano"]))
    return c.errors


def compare(spans: list[dict[str, Any]], reference: list[dict[str, Any]]) -> list[str]:
    c = Checker("vs Rust demo")
    mine, theirs = by_name(spans, c), by_name(reference, Checker("reference"))
    if c.errors:
        return c.errors
    for name in TRACE:
        a, b = mine[name], theirs.get(name)
        if b is None:
            c.errors.append(f"vs Rust demo: the reference has no span {name!r}")
            continue
        c.eq(f"{name}: parent", parent_name(a, mine), parent_name(b, theirs))
        c.eq(f"{name}: kind", a.get("kind"), b.get("kind"))
        c.eq(f"{name}: status", a.get("status", {}).get("code"), b.get("status", {}).get("code"))
        c.eq(f"{name}: events", [e["name"] for e in a.get("events", [])], [e["name"] for e in b.get("events", [])])
        ka, kb = set(a["_attrs"]), set(b["_attrs"])
        c.eq(f"{name}: attributes only in this trace", sorted(ka - kb), [])
        c.eq(f"{name}: attributes only in the Rust demo's", sorted(kb - ka), [])
        for key in sorted((ka & kb) - PER_RUN):
            c.eq(f"{name}: {key}", a["_attrs"][key], b["_attrs"][key])
    return c.errors


def clean_env(conversation: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGTRACE_", "LANGFUSE_", "PHOENIX_", "LANGWATCH_", "OPIK_"))}
    env["AGTRACE_DEMO_CONVERSATION"] = conversation
    return env


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--reference", type=Path)
    ap.add_argument("program")
    args = ap.parse_args()

    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    conversation = f"ctest-{args.dir.name}"
    try:
        proc = subprocess.run([args.program], cwd=args.dir, env=clean_env(conversation), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        print(f"FAIL: {args.program} did not finish within 60 s")
        return 1
    sys.stdout.write(proc.stdout)
    sys.stdout.write(proc.stderr)
    if proc.returncode != 0:
        print(f"FAIL: {args.program} exited with {proc.returncode}")
        return 1
    if not args.check:
        return 0
    spans = load(args.dir / "agtrace-demo.jsonl")
    errors = check_shape(spans, conversation)
    if args.reference:
        errors += compare(spans, load(args.reference))
    for e in errors:
        print("FAIL:", e)
    if not errors:
        print(f"ok: {len(spans)} spans with the demo's shape" + (" and the Rust demo's attributes" if args.reference else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""Checks the trace a README example wrote: the Kotlin and Swift examples
run the same scenario, so one check serves both.

    python3 tests/readme_trace.py TRACES.jsonl

TRACES.jsonl is the file exporter's output (OTLP/JSON, one request a line).
The agent span must be the root, the LLM call and both tool calls its
children, the session's user on every span, the LLM usage rolled up onto
the agent, and the inputs and outputs captured: each tool call's city and
answer (with the mime types and tool-call attributes the README shows), the
agent's question and joined answer. Exits non-zero, saying what was wrong, on any failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def spans(path: Path) -> list[dict[str, Any]]:
    return [
        span
        for line in path.read_text().splitlines()
        if line.strip()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]


def attributes(span: dict[str, Any]) -> dict[str, Any]:
    """Attribute values as their OTLP/JSON value (int64 is a string there)."""
    return {a["key"]: next(iter(a["value"].values()), None) for a in span.get("attributes", [])}


def problems(found: list[dict[str, Any]]) -> list[str]:
    agents = [s for s in found if s["name"] == "invoke_agent travel-assistant"]
    if len(agents) != 1:
        return [f"want one agent span, got {sorted(s['name'] for s in found)}"]
    agent = agents[0]
    out = []
    if agent.get("parentSpanId"):
        out.append("the agent span is not a root")
    llm = [s for s in found if s["name"] == "chat gpt-4o"]
    if len(llm) != 1 or llm[0].get("parentSpanId") != agent["spanId"]:
        out.append("the LLM span is not the agent's only LLM child")
    tools = [s for s in found if s["name"] == "execute_tool get_weather"]
    if len(tools) != 2 or any(t.get("parentSpanId") != agent["spanId"] for t in tools):
        out.append(f"want two tool children of the agent, got {len(tools)}")
    if any(attributes(s).get("user.id") != "user-7" for s in found):
        out.append("the session's user id is missing on some span")
    if attributes(agent).get("agtrace.usage.input_tokens") != "120":
        out.append(f"no input-token rollup on the agent: {attributes(agent)}")
    want = {"Where should I fly?": "sunny in Oslo / sunny in Rome"}
    want.update({json.dumps({"city": c}, separators=(",", ":")): f"sunny in {c}" for c in ("Oslo", "Rome")})
    got = {attributes(s).get("input.value"): attributes(s).get("output.value") for s in [agent, *tools]}
    if got != want:
        out.append(f"want the captured inputs and outputs {want}, got {got}")
    for tool in tools:
        a = attributes(tool)
        shown = {  # the README's example output for a tool span
            "input.mime_type": "application/json",
            "output.mime_type": "text/plain",
            "gen_ai.tool.call.arguments": a.get("input.value"),
            "gen_ai.tool.call.result": json.dumps(a.get("output.value")),
        }
        wrong = {k: a.get(k) for k, v in shown.items() if a.get(k) != v}
        if wrong:
            out.append(f"a tool span differs from the README's example output: {wrong}")
    return out


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    found = spans(path)
    wrong = problems(found)
    if wrong:
        print(f"readme_trace: {path}: " + "; ".join(wrong), file=sys.stderr)
        return 1
    print(f"readme_trace: {len(found)} spans in {path} as the README describes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

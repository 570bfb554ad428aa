"""The README's Python example, run as a user would copy it."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def python_section() -> str:
    return README.read_text().split("## From Python", 1)[1]


def python_example() -> str:
    match = re.search(r"```python\n(.*?)```", python_section(), re.S)
    assert match, "no python block in the README's Python section"
    return match.group(1)


def shown_tool_attributes() -> dict[str, str]:
    """The attributes the README shows for the Oslo tool span: the first
    text block after the example, one ``key  value`` a line."""
    after = python_section().split(python_example(), 1)[1]
    match = re.search(r"```text\n(.*?)```", after, re.S)
    assert match, "no text block after the README's Python example"
    return dict(line.split(None, 1) for line in match.group(1).splitlines())


def test_readme_example_runs_and_exports_the_trace(tmp_path: pathlib.Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGTRACE_"))}
    done = subprocess.run(
        [sys.executable, "-c", python_example()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "sunny in Oslo / sunny in Rome" in done.stdout
    spans = [
        span
        for line in (tmp_path / "traces.jsonl").read_text().splitlines()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]
    by_name = {s["name"]: s for s in spans}
    agent = by_name["travel-assistant"]
    assert by_name["chat gpt-4o"]["parentSpanId"] == agent["spanId"]
    tools = [s for s in spans if s["name"] == "get_weather"]
    assert len(tools) == 2 and all(t["parentSpanId"] == agent["spanId"] for t in tools)
    attrs = {a["key"]: a["value"] for a in agent["attributes"]}
    assert attrs["user.id"] == {"stringValue": "user-7"}
    assert attrs["agtrace.usage.input_tokens"] == {"intValue": "120"}
    # The input and output the README shows are the Oslo call's, as exported.
    by_input = {
        tuple(a["value"].get("stringValue") for a in t["attributes"] if a["key"] == "input.value"): t for t in tools
    }
    oslo = {a["key"]: a["value"].get("stringValue") for a in by_input[('{"city":"Oslo"}',)]["attributes"]}
    shown = shown_tool_attributes()
    assert shown and {k: oslo.get(k) for k in shown} == shown

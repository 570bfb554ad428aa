"""The README's Python example, run as a user would copy it."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def python_example() -> str:
    section = README.read_text().split("## From Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block in the README's Python section"
    return match.group(1)


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

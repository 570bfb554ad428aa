"""Helpers shared by the Python SDK's tests: reading what a file exporter
wrote (see conftest.py for the span dict's shape) and running a child
interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

import agtrace

Span = dict[str, Any]

# OTLP enums: the Rust serializer writes numbers, protobuf's JSON mapping
# names; both are accepted.
_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "unset", 1: "ok", 2: "error"}


def any_value(v: Mapping[str, Any]) -> Any:
    """An OTLP/JSON AnyValue as the Python value it stands for."""
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "intValue" in v:
        return int(v["intValue"])  # OTLP/JSON writes int64 as a string
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "arrayValue" in v:
        return [any_value(x) for x in (v["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in v:
        return attributes((v["kvlistValue"] or {}).get("values"))
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def attributes(key_values: Optional[list[Mapping[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in key_values or []:
        assert kv["key"] not in out, f"attribute {kv['key']!r} written twice: {key_values}"
        out[kv["key"]] = any_value(kv.get("value") or {})
    return out


def _kind(kind: Any) -> str:
    if isinstance(kind, int):
        return _KINDS.get(kind, str(kind))
    return str(kind).removeprefix("SPAN_KIND_")


def _status(status: Optional[Mapping[str, Any]]) -> dict[str, str]:
    status = status or {}
    code = status.get("code", 0)
    if isinstance(code, str):
        code = code.removeprefix("STATUS_CODE_").lower()
    else:
        code = _STATUS.get(code, str(code))
    return {"code": code, "message": status.get("message") or ""}


def read_spans(path: Path) -> list[Span]:
    """Every span in an OTLP/JSON lines file, in file order."""
    if not path.exists():
        return []
    spans: list[Span] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as e:
            pytest.fail(f"{path.name} line {n} is not JSON ({e}): {line[:300]}")
        for resource_spans in request.get("resourceSpans", []):
            resource = attributes((resource_spans.get("resource") or {}).get("attributes"))
            for scope_spans in resource_spans.get("scopeSpans", []):
                for s in scope_spans.get("spans", []):
                    spans.append(
                        {
                            "name": s["name"],
                            "traceId": s["traceId"],
                            "spanId": s["spanId"],
                            "parentSpanId": s.get("parentSpanId") or None,
                            "kind": _kind(s.get("kind", 0)),
                            "attributes": attributes(s.get("attributes")),
                            "events": [
                                {
                                    "name": e["name"],
                                    "attributes": attributes(e.get("attributes")),
                                    "timeUnixNano": int(e.get("timeUnixNano", 0)),
                                }
                                for e in s.get("events") or []
                            ],
                            "links": [
                                {
                                    "traceId": link["traceId"],
                                    "spanId": link["spanId"],
                                    "traceState": link.get("traceState") or "",
                                    "attributes": attributes(link.get("attributes")),
                                }
                                for link in s.get("links") or []
                            ],
                            "status": _status(s.get("status")),
                            "startTimeUnixNano": int(s.get("startTimeUnixNano", 0)),
                            "endTimeUnixNano": int(s.get("endTimeUnixNano", 0)),
                            "resource": resource,
                        }
                    )
    return spans


def one(spans: list[Span], name: str) -> Span:
    """The only span called ``name``; fails listing what there is otherwise."""
    found = [s for s in spans if s["name"] == name]
    assert len(found) == 1, (
        f"want exactly one span {name!r}, got {len(found)}; spans: {sorted(s['name'] for s in spans)}"
    )
    return found[0]


def named(spans: list[Span], name: str) -> list[Span]:
    return [s for s in spans if s["name"] == name]


@dataclass
class Traced:
    """A tracer and the file its spans go to."""

    tracer: agtrace.Tracer
    path: Path

    def spans(self, timeout: float = 10.0) -> list[Span]:
        """Flushes, then reads everything exported so far."""
        assert self.tracer.flush(timeout), f"flush did not finish within {timeout} s"
        return read_spans(self.path)

    def one(self, name: str) -> Span:
        return one(self.spans(), name)


def file_settings(path: Path, **settings: Any) -> dict[str, Any]:
    return {"exporters": "file", "file_path": str(path), "ignore_env": True, **settings}


# --- subprocesses ---------------------------------------------------------------


def child_env(**overrides: str) -> dict[str, str]:
    """The current environment for a child interpreter, without inherited
    agtrace/OTel settings (a CI's OTEL_EXPORTER_OTLP_ENDPOINT would add an
    exporter), plus ``overrides``. What locates the SDK (PYTHONPATH,
    AGTRACE_PYTHON_NATIVE_DIR, a venv) is kept."""
    env = os.environ.copy()
    for key in list(env):
        if key.startswith(("OTEL_", "LANGFUSE_", "PHOENIX_", "LANGWATCH_", "OPIK_")) or (
            key.startswith("AGTRACE_") and not key.startswith("AGTRACE_PYTHON")
        ):
            del env[key]
    env.update(overrides)
    return env


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        return f"exit {self.returncode} after {self.seconds:.1f} s\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def run_python_code(
    code: str, env: Optional[Mapping[str, str]] = None, timeout: float = 60.0, cwd: Optional[Path] = None
) -> Finished:
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=child_env(**dict(env or {})),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"child interpreter did not finish in {timeout} s\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}")
    return Finished(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)

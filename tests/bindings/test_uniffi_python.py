"""The uniffi layer of libagtrace, through the Python bindings generated from
the library by the workspace `uniffi-bindgen` (library mode, uniffi.toml).

Contract with the Makefile: `AGTRACE_UNIFFI_PYTHON_DIR` names a directory
holding the generated `agtrace_ffi.py` and `libagtrace.so`. These tests cover
the shared uniffi surface; the idiomatic Python SDK builds on it."""

from __future__ import annotations

import importlib
import os
import sys

import pytest


@pytest.fixture(scope="module")
def ffi():
    path = os.environ.get("AGTRACE_UNIFFI_PYTHON_DIR")
    if not path or not os.path.isfile(os.path.join(path, "agtrace_ffi.py")):
        pytest.fail(f"AGTRACE_UNIFFI_PYTHON_DIR={path!r} holds no generated agtrace_ffi.py")
    sys.path.insert(0, path)
    try:
        yield importlib.import_module("agtrace_ffi")
    finally:
        sys.path.remove(path)


def tracer(ffi, tmp_path, **settings):
    base = {"AGTRACE_EXPORTERS": "file", "AGTRACE_FILE_PATH": str(tmp_path / "t.jsonl")}
    base.update(settings)
    return ffi.Tracer(base, True)


def test_spans_nest_and_roll_up(ffi, tmp_path):
    t = tracer(ffi, tmp_path)
    root = t.start_span("invoke_agent py", ffi.SpanKind.AGENT, None, {})
    llm = t.start_span(
        "chat gpt-4o",
        ffi.SpanKind.LLM,
        root.context(),
        {"gen_ai.provider.name": ffi.AttributeValue.TEXT("openai"), "n": ffi.AttributeValue.INTEGER(3)},
    )
    llm.set_usage(ffi.Usage(input_tokens=10, output_tokens=2, cache_read_input_tokens=0,
                            cache_creation_input_tokens=0, reasoning_output_tokens=0))
    llm.end()
    root.end()
    assert llm.context().trace_id() == root.context().trace_id()
    t.shutdown(5000)
    s = t.stats()
    assert (s.started, s.ended, s.exported) == (2, 2, 2)
    text = (tmp_path / "t.jsonl").read_text()
    assert '"agtrace.usage.input_tokens"' in text and '"chat gpt-4o"' in text


def test_errors_are_typed_and_name_the_problem(ffi, tmp_path):
    with pytest.raises(ffi.AgtraceError.InvalidConfig, match="AGTRACE_LINKS"):
        ffi.Tracer({"AGTRACE_LINKS": "maybe"}, True)
    with pytest.raises(ffi.AgtraceError.InvalidArgument, match="NOT_A_SETTING"):
        ffi.Tracer({"NOT_A_SETTING": "1"}, True)
    t = tracer(ffi, tmp_path)
    s = t.start_span("s", ffi.SpanKind.PLAIN, None, {})
    with pytest.raises(ffi.AgtraceError.InvalidArgument, match="not JSON"):
        s.set_attributes({"args": ffi.AttributeValue.JSON("{nope")})
    s.end()
    with pytest.raises(ffi.AgtraceError.AlreadyEnded):
        s.end()
    t.shutdown(5000)
    with pytest.raises(ffi.AgtraceError.ShutDown):
        t.start_span("late", ffi.SpanKind.PLAIN, None, {})


def test_propagation_round_trip(ffi, tmp_path):
    t = tracer(ffi, tmp_path)
    parent = t.extract({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    assert parent.trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736"
    child = t.start_span("server", ffi.SpanKind.PLAIN, parent, {})
    headers = t.inject(child.context())
    assert headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    assert t.extract({}) is None
    child.end()
    t.shutdown(5000)


def test_stats_json_is_json_with_every_exporter(ffi, tmp_path):
    import json

    t = tracer(ffi, tmp_path)
    t.start_span("s", ffi.SpanKind.PLAIN, None, {}).end()
    t.flush(5000)
    stats = json.loads(t.stats().json)
    assert stats["ended"] == 1
    assert [e["name"] for e in stats["exporters"]] == ["file"]
    assert stats["exporters"][0]["exported"] == 1
    t.shutdown(5000)

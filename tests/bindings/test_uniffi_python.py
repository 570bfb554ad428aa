"""The uniffi layer of libagtrace (its cold API: tracers from settings,
errors, stats, delivery, live settings), through the Python bindings
generated from the library by the workspace `uniffi-bindgen` (library mode,
uniffi.toml). Spans do not go through uniffi: every SDK starts them through
the C ABI's span protocol, from the handle `c_handle` gives.

Contract with the Makefile: `AGTRACE_UNIFFI_PYTHON_DIR` names a directory
holding the generated `agtrace_ffi.py` and `libagtrace.so`."""

from __future__ import annotations

import ctypes
import importlib
import json
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


def test_a_tracer_is_made_from_settings_by_name(ffi, tmp_path):
    t = tracer(ffi, tmp_path, OTEL_SERVICE_NAME="uniffi-test", AGTRACE_CAPTURE_CONTENT="true")
    config = json.loads(t.config_json())
    assert config["service_name"] == "uniffi-test"
    assert config["capture_content"] is True
    assert config["exporters"] == ["file"]
    assert "AGTRACE_CAPTURE_CONTENT" in ffi.setting_names()
    t.shutdown(5000)


def test_errors_are_typed_and_name_the_setting(ffi, tmp_path):
    with pytest.raises(ffi.AgtraceError.InvalidConfig, match="AGTRACE_LINKS"):
        ffi.Tracer({"AGTRACE_LINKS": "maybe"}, True)
    with pytest.raises(ffi.AgtraceError.InvalidArgument, match="NOT_A_SETTING"):
        ffi.Tracer({"NOT_A_SETTING": "1"}, True)
    t = tracer(ffi, tmp_path)
    with pytest.raises(ffi.AgtraceError.InvalidConfig, match=r"sampling\.rate"):
        t.update_sampling('{"rate": 2}')
    with pytest.raises(ffi.AgtraceError.InvalidArgument, match='"broken"'):
        t.set_global_metadata("broken", "{nope")
    t.shutdown(5000)


def test_stats_are_one_typed_record(ffi, tmp_path):
    t = tracer(ffi, tmp_path, AGTRACE_EXPORTERS="file,none")
    s = t.stats()
    assert isinstance(s, ffi.Stats)
    assert (s.started, s.ended, s.unsampled, s.dispatched, s.pending, s.exported) == (0, 0, 0, 0, 0, 0)
    assert set(s.dropped) == {"queue_full", "queue_bytes", "shutdown"}
    assert [e.name for e in s.exporters] == ["file", "none"]
    e = s.exporters[0]
    assert isinstance(e, ffi.ExporterStats)
    assert (e.received, e.exported, e.retried, e.pending, e.breaker_open) == (0, 0, 0, 0, False)
    assert set(e.dropped) == {"queue_full", "breaker_open", "oversize", "rejected", "failed", "shutdown"}
    t.shutdown(5000)


def test_flush_and_shutdown(ffi, tmp_path):
    t = tracer(ffi, tmp_path)
    t.flush(5000)
    assert not t.is_shut_down()
    t.shutdown(5000)
    assert t.is_shut_down()
    t.shutdown(5000)  # idempotent
    t.flush(5000)


def test_sampling_rate_and_tags_are_live(ffi, tmp_path):
    t = tracer(ffi, tmp_path)
    t.set_sampling_rate(0.25)
    assert json.loads(t.config_json())["sampling"]["rate"] == 0.25
    with pytest.raises(ffi.AgtraceError.InvalidConfig):
        t.set_sampling_rate(1.5)
    t.add_tags(["beta", "eu"])
    assert json.loads(t.config_json())["global_tags"] == ["beta", "eu"]
    t.shutdown(5000)


def test_c_handle_is_a_c_abi_tracer_on_the_same_core(ffi, tmp_path):
    t = tracer(ffi, tmp_path)
    lib = ctypes.CDLL(os.path.join(os.environ["AGTRACE_UNIFFI_PYTHON_DIR"], "libagtrace.so"))
    lib.agtrace_tracer_shutdown.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p]
    lib.agtrace_tracer_free.argtypes = [ctypes.c_void_p]
    handle = t.c_handle()
    assert handle != 0
    # Shutting down through the C handle shuts down the uniffi object's tracer.
    assert lib.agtrace_tracer_shutdown(handle, 5000, None, None) == 0
    assert t.is_shut_down()
    lib.agtrace_tracer_free(handle)

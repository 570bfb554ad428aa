"""The soak workload: one process, one libagtrace, two tracers: 8 Python
threads trace through the Python SDK and 8 threads call the C ABI directly
(ctypes into the library the SDK loaded, so the GIL is released for each
call) for ``--seconds``, both exporting over OTLP to the receiver the
environment names (which the test flaps).

    python soak.py --seconds S [--threads 8] [--pause-ms 2]

Each thread pauses ``--pause-ms`` between traces, so the receiver's record
of span ids stays a few MB a minute; the pipeline still sees bursts.

Prints ``running`` once every thread has started, then at the end one JSON
line: ``{"python": Stats, "c": stats JSON, "python_shutdown": bool,
"c_shutdown": status}``. A watchdog (faulthandler) dumps every thread's
stack and exits with status 1 if the run takes 90 s longer than asked: a
deadlock fails with its stacks instead of hanging the suite.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import faulthandler
import json
import sys
import threading
import time

import agtrace
from agtrace import _native


class Str(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_char_p), ("len", ctypes.c_size_t)]


class Parent(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_uint32), ("span", ctypes.c_void_p), ("context", ctypes.c_void_p)]


class Options(ctypes.Structure):
    _fields_ = [("name", Str), ("kind", ctypes.c_uint32), ("parent", Parent),
                ("attributes", ctypes.c_void_p), ("attributes_len", ctypes.c_size_t)]


KIND_AGENT, KIND_TOOL = 1, 8


def text(s: bytes) -> Str:
    return Str(s, len(s))


def c_library() -> ctypes.CDLL:
    lib = ctypes.CDLL(_native.library_path)  # already loaded by the SDK: the same core
    p = ctypes.c_void_p
    lib.agtrace_config_new.restype = p
    lib.agtrace_config_set.argtypes = [p, Str, Str, p]
    lib.agtrace_tracer_new.argtypes = [p, ctypes.POINTER(p), p]
    lib.agtrace_span_start.argtypes = [p, ctypes.POINTER(Options), ctypes.POINTER(p), p]
    lib.agtrace_span_end.argtypes = [p, p]
    lib.agtrace_span_free.argtypes = [p]
    lib.agtrace_tracer_shutdown.argtypes = [p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint64), p]
    lib.agtrace_tracer_stats_json.argtypes = [p, ctypes.POINTER(p), p]
    lib.agtrace_string_free.argtypes = [p]
    return lib


def c_tracer(lib: ctypes.CDLL) -> ctypes.c_void_p:
    config = lib.agtrace_config_new()
    assert lib.agtrace_config_set(config, text(b"OTEL_SERVICE_NAME"), text(b"soak-c"), None) == 0
    tracer = ctypes.c_void_p()
    status = lib.agtrace_tracer_new(config, ctypes.byref(tracer), None)
    assert status == 0 and tracer.value, f"agtrace_tracer_new: {status}"
    return tracer


def c_loop(lib: ctypes.CDLL, tracer: ctypes.c_void_p, stop: threading.Event, pause: float) -> None:
    root = Options(name=text(b"invoke_agent soak-c"), kind=KIND_AGENT)
    child = Options(name=text(b"execute_tool soak-c"), kind=KIND_TOOL)
    span, sub = ctypes.c_void_p(), ctypes.c_void_p()
    while not stop.is_set():
        # The zero parent: under the thread's current span, so the tool is
        # the agent's child only if start entered it; either way both end.
        if lib.agtrace_span_start(tracer, ctypes.byref(root), ctypes.byref(span), None) != 0:
            continue
        if lib.agtrace_span_start(tracer, ctypes.byref(child), ctypes.byref(sub), None) == 0:
            lib.agtrace_span_end(sub, None)
            lib.agtrace_span_free(sub)
        lib.agtrace_span_end(span, None)
        lib.agtrace_span_free(span)
        time.sleep(pause)


def python_loop(tracer: agtrace.Tracer, stop: threading.Event, pause: float) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        with tracer.span("invoke_agent soak-py", kind="agent", attributes={"n": n}):
            with tracer.span("chat model", kind="llm") as llm:
                llm.set_usage(input_tokens=10, output_tokens=2)
            with tracer.span("execute_tool lookup", kind="tool", attributes={"query": "x" * 200}):
                pass
        time.sleep(pause)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--pause-ms", type=float, default=2.0)
    a = p.parse_args()
    faulthandler.dump_traceback_later(a.seconds + 90, exit=True)

    py_tracer = agtrace.Tracer("soak-py", exit_timeout=0.0)
    lib = c_library()
    tracer = c_tracer(lib)
    stop = threading.Event()
    threads = [threading.Thread(target=python_loop, args=(py_tracer, stop, a.pause_ms / 1000), name=f"py-{i}") for i in range(a.threads)]
    threads += [threading.Thread(target=c_loop, args=(lib, tracer, stop, a.pause_ms / 1000), name=f"c-{i}") for i in range(a.threads)]
    for t in threads:
        t.start()
    print("running", flush=True)
    time.sleep(a.seconds)
    stop.set()
    for t in threads:
        t.join()

    py_ok = py_tracer.shutdown(timeout=15)
    undelivered = ctypes.c_uint64()
    c_status = lib.agtrace_tracer_shutdown(tracer, 15_000, ctypes.byref(undelivered), None)
    raw = ctypes.c_void_p()
    assert lib.agtrace_tracer_stats_json(tracer, ctypes.byref(raw), None) == 0
    c_stats = json.loads(ctypes.string_at(raw.value).decode())
    lib.agtrace_string_free(raw)
    print(json.dumps({
        "python": dataclasses.asdict(py_tracer.stats()), "c": c_stats,
        "python_shutdown": py_ok, "c_shutdown": c_status, "c_undelivered": undelivered.value,
    }), flush=True)
    faulthandler.cancel_dump_traceback_later()
    return 0


if __name__ == "__main__":
    sys.exit(main())

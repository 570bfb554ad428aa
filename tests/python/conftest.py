"""Fixtures for the Python SDK's tests (tests/python).

The SDK is imported as ``agtrace`` however it is found (a dev tree through
``AGTRACE_PYTHON_NATIVE_DIR`` + ``PYTHONPATH``, or an installed wheel); these
tests do not care which.

What a tracer exported is read from its file exporter: OTLP/JSON, one
``ExportTraceServiceRequest`` per line (core/src/exporter/file.rs), each span
flattened into a plain dict by ``sdk_support.read_spans``::

    {"name": "chat gpt-4o",
     "traceId": "4bd0...61aa",          # 32 lowercase hex
     "spanId": "3b3beb1e8faf11f0",      # 16 lowercase hex
     "parentSpanId": "ee99...6253",     # None at a root
     "kind": "CLIENT",                  # OTel SpanKind name
     "attributes": {"gen_ai.request.model": "gpt-4o", "n": 3, ...},
     "events": [{"name": "exception", "attributes": {...}, "timeUnixNano": 17...}],
     "links": [{"traceId": "...", "spanId": "...", "traceState": "", "attributes": {...}}],
     "status": {"code": "error", "message": "bad"},   # code: unset / ok / error
     "startTimeUnixNano": 17..., "endTimeUnixNano": 17...,
     "resource": {"service.name": "...", ...}}

Fixtures:

* ``make_tracer(service_name=..., **settings)``: an ``agtrace.Tracer``
  exporting to its own file under ``tmp_path`` (environment ignored), as a
  ``Traced`` (``.tracer``, ``.path``, ``.spans()`` flushes and reads,
  ``.one(name)``); every tracer made is shut down at teardown.
* ``traced``: ``make_tracer()`` with default settings.
* ``initialized``: ``agtrace.init(...)`` with a file exporter, for the
  module-level API (``agtrace.span``, the decorators, ...); a ``Traced`` over
  the default tracer, shut down at teardown. ``init`` replaces the default
  tracer, so each test using it gets a fresh one.
* autouse ``isolated_current_span``: each test starts with no current span,
  and a span a test leaves current (a with block whose exit failed) does not
  leak into the next test.
* ``run_python(code, env=..., timeout=...)``: runs ``code`` in a fresh
  interpreter with the current environment (less inherited agtrace/OTel
  settings, so the child sees only what the test sets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sdk_support import Finished, Traced, file_settings, run_python_code

import agtrace


@pytest.fixture(autouse=True)
def isolated_current_span() -> Iterator[None]:
    # Resetting use_span's token restores "no current span" whatever the
    # test set in between.
    with agtrace.use_span(None):
        yield


@pytest.fixture
def make_tracer(tmp_path: Path) -> Iterator[Callable[..., Traced]]:
    made: list[agtrace.Tracer] = []

    def make(service_name: str = "agtrace-python-tests", **settings: Any) -> Traced:
        path = tmp_path / f"spans-{len(made)}.jsonl"
        t = agtrace.Tracer(service_name, **file_settings(path, **settings))
        made.append(t)
        return Traced(t, path)

    yield make
    for t in made:
        t.shutdown(5.0)


@pytest.fixture
def traced(make_tracer: Callable[..., Traced]) -> Traced:
    return make_tracer()


@pytest.fixture
def initialized(tmp_path: Path) -> Iterator[Traced]:
    path = tmp_path / "default.jsonl"
    t = agtrace.init("agtrace-python-tests", **file_settings(path))
    yield Traced(t, path)
    agtrace.shutdown()


@pytest.fixture
def run_python() -> Callable[..., Finished]:
    return run_python_code

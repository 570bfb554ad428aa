"""Shared pytest fixtures for agtrace's Python-driven tests.

Run pytest from the venv made by tests/python-env.sh; the `phoenix` fixture
starts Phoenix with that same interpreter.

Fixtures:

* ``phoenix`` (session): a real Arize Phoenix server -- an OTLP trace receiver
  with a REST API to read spans back -- on 127.0.0.1, with an empty SQLite
  database in a fresh temporary directory. Yields a `Phoenix` object with
  ``http_endpoint`` (``http://127.0.0.1:PORT``; OTLP/HTTP is at
  ``/v1/traces`` under it, so it is a valid ``OTEL_EXPORTER_OTLP_ENDPOINT``),
  ``grpc_endpoint`` (``http://127.0.0.1:GRPC_PORT``), ``log_path`` and
  ``spans()``. Startup takes ~25 s on the 2-core machines; the server is
  shared by the whole session and stopped (SIGTERM, then SIGKILL) at its end.
  Startup failure fails (never skips) every test using it, with the server's
  log tail in the message.
* ``binary``: ``binary("demo")`` returns the path in ``AGTRACE_DEMO_BIN``
  (generally ``AGTRACE_<NAME>_BIN``), and fails the test when the variable is
  unset or does not name an executable file -- a missing build must be a red
  test, not a silent skip.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import phoenix_server
import pytest
import requests


class Phoenix(phoenix_server.Server):
    """A running server (see phoenix_server.Server) and how to read its spans."""

    def fetch_spans(
        self, project: str = "default", attributes: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """All spans of ``project`` right now (every page), oldest start first.

        ``attributes`` are exact-match filters applied by Phoenix, key = the
        dotted attribute name. A project that does not exist yet (Phoenix
        creates it with its first span) reads as no spans.
        """
        params: dict[str, Any] = {"limit": 1000, "sort": "start_time", "order": "asc"}
        if attributes:
            # Phoenix JSON-parses the value after the first ':'; json.dumps
            # keeps a string a string even when it looks like a number.
            params["attribute"] = [f"{k}:{json.dumps(v)}" for k, v in attributes.items()]
        url = f"{self.http_endpoint}/v1/projects/{project}/spans"
        out: list[dict[str, Any]] = []
        while True:
            r = requests.get(url, params=params, timeout=10)
            if r.status_code == 404:
                return []
            r.raise_for_status()
            body = r.json()
            out.extend(body["data"])
            if not body.get("next_cursor"):
                return out
            params["cursor"] = body["next_cursor"]

    def spans(
        self,
        project: str = "default",
        min_count: int = 1,
        timeout: float = 30.0,
        attributes: Mapping[str, Any] | None = None,
        settle: float = 1.0,
    ) -> list[dict[str, Any]]:
        """Poll ``GET /v1/projects/{project}/spans`` until at least
        ``min_count`` spans match, then wait ``settle`` seconds and read once
        more (so a test asserting an exact count also sees late extras).
        Fails the test after ``timeout`` seconds with what was seen.

        Returns Phoenix's span objects, oldest start first. Shape (Phoenix
        20.26.1, observed from spans sent by the Python OTel SDK over both
        OTLP/HTTP and gRPC)::

            {"id": "U3BhbjoxMw==",                      # Phoenix row id, not OTel
             "name": "chat gpt-4o",
             "context": {"trace_id": "b5e2...9596",     # 32 lowercase hex
                         "span_id": "f4908b601eaac55a"}, # 16 lowercase hex
             "parent_id": "d797a228ca28df5d",            # hex span id; null at a root
             "span_kind": "LLM",                         # = openinference.span.kind
             "start_time": "2026-11-22T02:13:31.731640+00:00",  # ISO 8601, UTC,
             "end_time":   "2026-11-22T02:13:31.736813+00:00",  # microseconds only
             "status_code": "UNSET", "status_message": "",
             "attributes": {"gen_ai.request.model": "gpt-4o",   # flat dotted keys
                            "gen_ai.usage.input_tokens": 1290,  # ints stay JSON ints
                            "llm.token_count.prompt": 1290, ...},
             "events": []}

        Caveats for assertions:

        * The OTel SpanKind (INTERNAL/CLIENT/...) is not stored at all; the
          ``/spans/otlpv1`` variant reports every span as SPAN_KIND_INTERNAL.
        * ``openinference.span.kind`` is moved out of ``attributes`` into
          ``span_kind`` ("UNKNOWN" when absent). When a span lacks it, Phoenix
          infers it from ``gen_ai.operation.name`` (chat->LLM, execute_tool->
          TOOL, retrieval->RETRIEVER, invoke_agent->AGENT), so ``span_kind``
          alone does not prove the sender wrote it.
        * Phoenix adds OpenInference attributes synthesized from ``gen_ai.*``
          (``session.id`` from the conversation id, ``llm.model_name``,
          ``llm.provider``, ``llm.system``, ``llm.token_count.*``,
          ``tool.name``): compare attributes as a subset, never for equality.
        * Resource attributes (``service.name``) are not returned; the project
          comes from the resource attribute ``openinference.project.name``,
          else "default".
        * Times are truncated to microseconds (monotonically, so ordering and
          containment of intervals are preserved, ties aside).
        """
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"Phoenix exited (code {self.process.returncode}) while waiting for spans;"
                    f" log {self.log_path}:\n{self.log_tail()}"
                )
            found = self.fetch_spans(project, attributes)
            if len(found) >= min_count:
                time.sleep(settle)
                return self.fetch_spans(project, attributes)
            if time.monotonic() >= deadline:
                break
            time.sleep(0.25)
        names = sorted(s.get("name", "?") for s in found)
        pytest.fail(
            f"Phoenix has {len(found)} span(s) in project {project!r} matching {attributes!r}"
            f" after {timeout:.0f} s, wanted at least {min_count}: {names}\n"
            f"Phoenix log {self.log_path} (tail):\n{self.log_tail()}"
        )


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    workdir = tmp_path_factory.mktemp("phoenix")
    started = time.monotonic()
    try:
        server = phoenix_server.start(workdir)
    except phoenix_server.PhoenixError as e:
        pytest.fail(str(e))
    sys.stderr.write(
        f"\nphoenix: ready in {time.monotonic() - started:.1f} s at {server.http_endpoint}"
        f" ({server.grpc_endpoint}), log {server.log_path}\n"
    )
    try:
        yield Phoenix(**vars(server))
    finally:
        phoenix_server.stop(server)


@pytest.fixture
def binary() -> Callable[[str], Path]:
    """``binary("demo")`` -> the executable named by ``AGTRACE_DEMO_BIN``."""

    def resolve(name: str) -> Path:
        var = f"AGTRACE_{name.upper().replace('-', '_')}_BIN"
        value = os.environ.get(var)
        if not value:
            pytest.fail(f"{var} is not set: build the {name} binary and export its path in {var}")
        path = Path(value)
        if not path.is_file() or not os.access(path, os.X_OK):
            pytest.fail(f"{var}={value} is not an executable file (not built yet?)")
        return path.resolve()

    return resolve

"""One trace with OpenTelemetry (agtrace/_otel.py): agtrace's spans and the
application's OpenTelemetry spans see each other's context, both ways.

Real components throughout: the OpenTelemetry SDK (a TracerProvider whose
spans go to an InMemorySpanExporter), the httpx client instrumentation, and a
FastAPI app instrumented by opentelemetry-instrumentation-fastapi, served by
uvicorn on 127.0.0.1 in a thread. agtrace's spans are read from its file
exporter, OpenTelemetry's from the in-memory exporter; each test checks trace
ids and parent ids across the two."""

from __future__ import annotations

import asyncio
import pathlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanKind, TraceFlags, TraceState, format_span_id, format_trace_id
from opentelemetry.trace import SpanContext as OtelSpanContext
from sdk_support import Span, Traced, one

import agtrace

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
OTEL = PROVIDER.get_tracer("agtrace-tests")


def ids(span: Any) -> tuple[str, str]:
    """An OpenTelemetry span's (trace id, span id) in hex."""
    c = span.get_span_context()
    return format_trace_id(c.trace_id), format_span_id(c.span_id)


def parent_id(span: ReadableSpan) -> str | None:
    return format_span_id(span.parent.span_id) if span.parent else None


def current_otel_ids() -> tuple[str, str]:
    return ids(trace.get_current_span())


def agtrace_ids(span: agtrace.Span) -> tuple[str, str]:
    c = span.context
    assert c is not None
    return c.trace_id, c.span_id


def exported(span: Span) -> tuple[str, str]:
    return span["traceId"], span["spanId"]


def otel_spans(until: Callable[[list[ReadableSpan]], bool] = lambda spans: True) -> list[ReadableSpan]:
    """OpenTelemetry's finished spans, once ``until`` holds for them (a server
    span ends after the client has its response)."""
    deadline = time.monotonic() + 10
    while True:
        spans = list(EXPORTER.get_finished_spans())
        if until(spans) or time.monotonic() > deadline:
            return spans
        time.sleep(0.01)


def otel_one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"want one OpenTelemetry span {name!r}; spans: {[s.name for s in spans]}"
    return found[0]


@pytest.fixture(autouse=True)
def clean_otel() -> Iterator[None]:
    EXPORTER.clear()
    token = otel_context.attach(otel_context.Context())
    yield
    otel_context.detach(token)


# --- the app: FastAPI instrumented by OpenTelemetry, on a local socket ----------

app = FastAPI()
FastAPIInstrumentor.instrument_app(app, tracer_provider=PROVIDER)


@app.get("/weather")
async def weather(request: Request, city: str) -> dict[str, Any]:
    with agtrace.span("lookup weather", kind="tool") as s:
        s.set_attribute("city", city)
        await asyncio.sleep(0)
    return {"traceparent": request.headers.get("traceparent"), "forecast": "sunny"}


@app.get("/echo")
def echo(request: Request) -> dict[str, Any]:
    with agtrace.span("sync handler"):
        pass
    return {"traceparent": request.headers.get("traceparent")}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    uv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        HTTPXClientInstrumentor.instrument_client(c, tracer_provider=PROVIDER)
        yield c


# --- one trace through a real request ---------------------------------------


def test_agtrace_root_httpx_fastapi_and_agtrace_in_the_handler_are_one_trace(initialized: Traced, server, client):
    with agtrace.span("plan trip", kind="agent") as root:
        answer = client.get(f"{server}/weather", params={"city": "Oslo"}).json()

    spans = initialized.spans()
    agent, lookup = one(spans, "plan trip"), one(spans, "lookup weather")
    trace_id, root_id = exported(agent)
    assert (trace_id, root_id) == agtrace_ids(root)
    assert agent["parentSpanId"] is None

    otel = otel_spans(lambda s: any(x.kind == SpanKind.SERVER for x in s))
    http_client = otel_one(otel, "GET")
    [http_server] = [s for s in otel if s.kind == SpanKind.SERVER]
    assert http_client.kind == SpanKind.CLIENT
    # agtrace root -> httpx client span -> FastAPI server span -> agtrace span
    assert ids(http_client)[0] == trace_id and parent_id(http_client) == root_id
    assert ids(http_server)[0] == trace_id and parent_id(http_server) == ids(http_client)[1]
    assert http_server.parent is not None and http_server.parent.is_remote
    assert lookup["traceId"] == trace_id and lookup["parentSpanId"] == ids(http_server)[1]
    assert lookup["attributes"]["city"] == "Oslo"
    # What went over the wire: the client span's traceparent, in agtrace's trace.
    assert answer["traceparent"] == f"00-{trace_id}-{ids(http_client)[1]}-01"


def test_a_request_without_client_instrumentation_carries_the_agtrace_spans_traceparent(initialized, server):
    with agtrace.span("call the api") as s:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        answer = httpx.get(f"{server}/echo", headers=headers, timeout=10).json()

    trace_id, span_id = agtrace_ids(s)
    assert headers["traceparent"] == answer["traceparent"] == f"00-{trace_id}-{span_id}-01"
    handler = initialized.one("sync handler")
    [http_server] = [x for x in otel_spans(lambda o: any(x.kind == SpanKind.SERVER for x in o)) if x.kind == SpanKind.SERVER]
    assert ids(http_server)[0] == trace_id and parent_id(http_server) == span_id
    # A sync handler runs in a worker thread: the context goes with it.
    assert handler["traceId"] == trace_id and handler["parentSpanId"] == ids(http_server)[1]


# --- each direction on its own ------------------------------------------------


def test_opentelemetry_sees_the_current_agtrace_span(initialized):
    assert not trace.get_current_span().get_span_context().is_valid
    with agtrace.span("outer") as outer:
        assert current_otel_ids() == agtrace_ids(outer)
        assert trace.get_current_span().get_span_context().trace_flags.sampled
        with agtrace.span("inner") as inner:
            assert current_otel_ids() == agtrace_ids(inner)
        assert current_otel_ids() == agtrace_ids(outer)
    assert not trace.get_current_span().get_span_context().is_valid


def test_an_agtrace_span_under_an_opentelemetry_span_is_its_child(initialized):
    with OTEL.start_as_current_span("http request") as request:
        with agtrace.span("agent", kind="agent"):
            with agtrace.span("tool", kind="tool"):
                pass
        with agtrace.span("new trace", parent=None):
            pass

    spans = initialized.spans()
    trace_id, request_id = ids(request)
    agent, tool = one(spans, "agent"), one(spans, "tool")
    assert agent["traceId"] == trace_id and agent["parentSpanId"] == request_id
    assert tool["traceId"] == trace_id and tool["parentSpanId"] == agent["spanId"]
    assert one(spans, "new trace")["traceId"] != trace_id, "parent=None starts a new trace"


def test_the_opentelemetry_parents_sampled_flag_and_trace_state_are_inherited(initialized):
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("agtrace-tests")
    with unsampled.start_as_current_span("not sampled"):
        with agtrace.span("under it") as s:
            assert s.context is not None and not s.context.sampled
            assert not s.is_recording()

    remote = OtelSpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "opaque")]),
    )
    with trace.use_span(NonRecordingSpan(remote)):
        with agtrace.span("continued") as s:
            headers = agtrace.inject()
            with agtrace.span("child"):
                child_headers = agtrace.inject()
            # and back to OpenTelemetry, trace state included
            otel_headers: dict[str, str] = {}
            propagate.inject(otel_headers)

    spans = initialized.spans()
    assert [x["name"] for x in spans if x["name"] == "under it"] == []
    continued = one(spans, "continued")
    assert continued["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert continued["parentSpanId"] == "00f067aa0ba902b7"
    assert headers["tracestate"] == child_headers["tracestate"] == "vendor=opaque"
    assert otel_headers["traceparent"] == headers["traceparent"]
    assert otel_headers["tracestate"] == "vendor=opaque"


# --- whichever is innermost -----------------------------------------------------


def test_spans_nest_by_whichever_is_innermost(initialized):
    with agtrace.span("a1") as a1:
        with OTEL.start_as_current_span("o1") as o1:
            with agtrace.span("a2") as a2:
                assert current_otel_ids() == agtrace_ids(a2)
                with OTEL.start_as_current_span("o2") as o2:
                    assert current_otel_ids() == ids(o2)
                    with agtrace.span("a3"):
                        pass
                with agtrace.span("a4"):
                    pass
            assert current_otel_ids() == ids(o1)
            with agtrace.span("a5"):
                pass
        # o1 ended: agtrace's a1 is innermost again.
        assert current_otel_ids() == agtrace_ids(a1)
        with OTEL.start_as_current_span("o3") as o3:
            pass
        with agtrace.span("a6"):
            pass

    spans = initialized.spans()
    otel = otel_spans()
    parent = {s["name"]: s["parentSpanId"] for s in spans}
    trace_ids = {s["traceId"] for s in spans} | {ids(s)[0] for s in otel}
    assert trace_ids == {agtrace_ids(a1)[0]}, "one trace"
    assert parent_id(otel_one(otel, "o1")) == agtrace_ids(a1)[1]
    assert parent["a2"] == ids(o1)[1]
    assert parent_id(otel_one(otel, "o2")) == agtrace_ids(a2)[1]
    assert parent["a3"] == ids(o2)[1]
    assert parent["a4"] == agtrace_ids(a2)[1]
    assert parent["a5"] == ids(o1)[1]
    assert parent_id(otel_one(otel, "o3")) == agtrace_ids(a1)[1]
    assert parent["a6"] == agtrace_ids(a1)[1]


def test_decorated_functions_and_use_span_take_part(initialized):
    @agtrace.tool(name="search")
    def search(query: str) -> str:
        with OTEL.start_as_current_span("db query"):
            pass
        return "found"

    with OTEL.start_as_current_span("request") as request:
        search("weather")
        with agtrace.use_span(agtrace.extract({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})):
            assert current_otel_ids() == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")

    spans = initialized.spans()
    tool = one(spans, "search")
    assert tool["traceId"] == ids(request)[0] and tool["parentSpanId"] == ids(request)[1]
    assert parent_id(otel_one(otel_spans(), "db query")) == tool["spanId"]


# --- threads and asyncio ------------------------------------------------------


def test_threads_carry_the_bridged_context(initialized):
    with agtrace.span("fan out") as root:
        with agtrace.ContextThreadPoolExecutor(2) as pool:
            pool.submit(lambda: OTEL.start_span("in agtrace's pool").end()).result()
        # OpenTelemetry's context, captured here and attached in a plain thread
        # (as OpenTelemetry's threading instrumentation does).
        captured = otel_context.get_current()

        def worker() -> None:
            token = otel_context.attach(captured)
            try:
                with agtrace.span("in a plain thread"):
                    with OTEL.start_as_current_span("below it"):
                        pass
            finally:
                otel_context.detach(token)

        with ThreadPoolExecutor(1) as plain:
            plain.submit(worker).result()
            plain.submit(lambda: OTEL.start_span("unrelated").end()).result()

    spans = initialized.spans()
    otel = otel_spans()
    trace_id, root_id = agtrace_ids(root)
    pooled = otel_one(otel, "in agtrace's pool")
    assert ids(pooled)[0] == trace_id and parent_id(pooled) == root_id
    in_thread = one(spans, "in a plain thread")
    assert in_thread["traceId"] == trace_id and in_thread["parentSpanId"] == root_id
    assert parent_id(otel_one(otel, "below it")) == in_thread["spanId"]
    unrelated = otel_one(otel, "unrelated")
    assert unrelated.parent is None and ids(unrelated)[0] != trace_id


def test_asyncio_tasks_each_see_their_own_innermost_span(initialized):
    async def task(n: int) -> tuple[str, str]:
        with agtrace.span(f"task {n}") as mine:
            await asyncio.sleep(0)
            with OTEL.start_as_current_span(f"call {n}"):
                await asyncio.sleep(0)
                with agtrace.span(f"after call {n}"):
                    await asyncio.sleep(0)
            await asyncio.sleep(0)
            assert current_otel_ids() == agtrace_ids(mine)
            return agtrace_ids(mine)

    async def main() -> list[tuple[str, str]]:
        with agtrace.span("gather"):
            return await asyncio.gather(*(task(n) for n in range(3)))

    tasks = asyncio.run(main())
    spans = initialized.spans()
    otel = otel_spans()
    for n, (trace_id, span_id) in enumerate(tasks):
        call = otel_one(otel, f"call {n}")
        assert ids(call)[0] == trace_id and parent_id(call) == span_id
        assert one(spans, f"after call {n}")["parentSpanId"] == ids(call)[1]


# --- off ----------------------------------------------------------------------


def test_the_bridge_is_off_when_disabled(make_tracer, monkeypatch):
    off = make_tracer(otel_bridge=False)
    assert off.tracer.get_config()["otel_bridge"] is False
    with OTEL.start_as_current_span("otel") as o:
        with off.tracer.span("apart") as s:
            assert current_otel_ids() == ids(o)
    with off.tracer.span("alone"):
        assert not trace.get_current_span().get_span_context().is_valid
    apart = off.one("apart")
    assert apart["parentSpanId"] is None and apart["traceId"] != ids(o)[0]
    assert agtrace_ids(s)[0] == apart["traceId"]

    monkeypatch.setenv("AGTRACE_OTEL_BRIDGE", "false")
    assert agtrace.Tracer("from-env", exporters="none").get_config()["otel_bridge"] is False


def test_the_readme_example_runs(run_python):
    section = README.read_text().split("## From Python", 1)[1].split("### OpenTelemetry", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block under the Python section's OpenTelemetry heading"
    done = run_python(match.group(1))
    assert done.returncode == 0, done.describe()
    printed = [line for line in done.stdout.splitlines() if line in ("True", "False")]
    assert printed == ["True", "True"], done.describe()


def test_opentelemetry_installed_but_unused_is_not_imported(run_python, tmp_path):
    done = run_python(
        f"""
        import sys
        import agtrace
        agtrace.init(exporters="file", file_path={str(tmp_path / "t.jsonl")!r})
        with agtrace.span("a"):
            with agtrace.span("b"):
                pass
        loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
        assert not loaded, loaded
        print("ok")
        """
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.describe()

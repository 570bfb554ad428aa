"""Process lifecycle, each scenario in a child interpreter: the exit hook
delivers what a script never flushed, within ``exit_timeout`` even when the
collector is dead, keeping the exit code; ``os.fork`` and ``multiprocessing``
(fork start method) leave both processes tracing, each span exported once,
without deadlock.

The scripts read their parameters from environment variables; spans come
back through the file exporter (both processes of a fork append to the same
file, so the scripts keep their writes apart in time: a long schedule delay
and a batch size above the span count mean a process writes only when it
flushes)."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections import Counter

import pytest
from sdk_support import named, one, read_spans

import agtrace

# Only flushes (and the exit hook) write: see the module docstring.
QUIET_PIPELINE = "schedule_delay=60000, max_export_batch_size=16384"


def test_exit_hook_exports_spans_of_a_script_that_never_shuts_down(run_python, tmp_path):
    done = run_python(
        f"""
        import os, sys, agtrace
        agtrace.init("exit-hook", exporters="file", file_path=os.environ["SPANS"], ignore_env=True, {QUIET_PIPELINE})
        explicit = agtrace.Tracer("explicit", exporters="file", file_path=os.environ["EXPLICIT"], ignore_env=True, {QUIET_PIPELINE})

        @agtrace.tool
        def step(i):
            return i

        with agtrace.span("main") as main:
            for i in range(200):
                step(i)
        with explicit.span("from explicit tracer"):
            pass
        assert agtrace.stats().exported == 0, "nothing is delivered before exit"
        sys.exit(3)
        """,
        env={"SPANS": str(tmp_path / "default.jsonl"), "EXPLICIT": str(tmp_path / "explicit.jsonl")},
    )
    assert done.returncode == 3, done.describe()
    spans = read_spans(tmp_path / "default.jsonl")
    main = one(spans, "main")
    steps = [s for s in spans if s["name"].endswith("step")]
    assert len(steps) == 200
    assert {s["parentSpanId"] for s in steps} == {main["spanId"]}
    assert [s["name"] for s in read_spans(tmp_path / "explicit.jsonl")] == ["from explicit tracer"]


def test_exit_hook_after_an_unhandled_exception(run_python, tmp_path):
    done = run_python(
        f"""
        import os, agtrace
        agtrace.init("crash", exporters="file", file_path=os.environ["SPANS"], ignore_env=True, {QUIET_PIPELINE})
        with agtrace.span("crashing"):
            raise RuntimeError("fatal")
        """,
        env={"SPANS": str(tmp_path / "spans.jsonl")},
    )
    assert done.returncode == 1, done.describe()
    assert "RuntimeError: fatal" in done.stderr
    span = one(read_spans(tmp_path / "spans.jsonl"), "crashing")
    assert span["status"] == {"code": "error", "message": "fatal"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _startup_seconds(run_python) -> float:
    """How long a child interpreter takes to import agtrace and exit."""
    done = run_python("import agtrace")
    assert done.returncode == 0, done.describe()
    return done.seconds


EXIT_TIMEOUT = 1.0
MARGIN = 2.5

DEAD_COLLECTOR_SCRIPT = """
import os, sys, agtrace
agtrace.init(
    "dead-collector",
    exporters=["otlp", "file"],
    endpoint=os.environ["ENDPOINT"],
    protocol="http/protobuf",
    file_path=os.environ["SPANS"],
    ignore_env=True,
    exit_timeout=float(os.environ["EXIT_TIMEOUT"]),
)
for i in range(50):
    with agtrace.span("doomed", attributes={"i": i}):
        pass
sys.exit(7)
"""


def test_exit_is_prompt_when_the_collector_port_is_closed(run_python, tmp_path):
    baseline = _startup_seconds(run_python)
    done = run_python(
        DEAD_COLLECTOR_SCRIPT,
        env={
            "ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
            "SPANS": str(tmp_path / "spans.jsonl"),
            "EXIT_TIMEOUT": str(EXIT_TIMEOUT),
        },
        timeout=30,
    )
    assert done.returncode == 7, done.describe()
    assert done.seconds <= baseline + EXIT_TIMEOUT + MARGIN, (
        f"exit took {done.seconds:.1f} s (startup alone {baseline:.1f} s, exit_timeout {EXIT_TIMEOUT} s)"
    )
    # The dead collector does not hold up the other exporter.
    assert len(named(read_spans(tmp_path / "spans.jsonl"), "doomed")) == 50


def test_exit_is_prompt_when_the_collector_never_answers(run_python, tmp_path):
    # Accepts connections (the kernel completes the handshake) and never
    # reads or answers: an export hangs until its own timeout.
    with socket.socket() as sink:
        sink.bind(("127.0.0.1", 0))
        sink.listen(64)
        baseline = _startup_seconds(run_python)
        done = run_python(
            DEAD_COLLECTOR_SCRIPT,
            env={
                "ENDPOINT": f"http://127.0.0.1:{sink.getsockname()[1]}",
                "SPANS": str(tmp_path / "spans.jsonl"),
                "EXIT_TIMEOUT": str(EXIT_TIMEOUT),
            },
            timeout=30,
        )
    assert done.returncode == 7, done.describe()
    assert done.seconds <= baseline + EXIT_TIMEOUT + MARGIN, (
        f"exit took {done.seconds:.1f} s (startup alone {baseline:.1f} s, exit_timeout {EXIT_TIMEOUT} s)"
    )


def test_flush_and_shutdown_return_within_their_timeout_when_the_collector_hangs(caplog):
    with socket.socket() as sink:
        sink.bind(("127.0.0.1", 0))
        sink.listen(64)
        t = agtrace.Tracer(
            "hanging-collector", "otlp", endpoint=f"http://127.0.0.1:{sink.getsockname()[1]}", ignore_env=True
        )
        for _ in range(10):
            with t.span("undeliverable"):
                pass
        with caplog.at_level(logging.WARNING, logger="agtrace"):
            started = time.monotonic()
            assert t.flush(0.5) is False
            assert time.monotonic() - started < 0.5 + MARGIN
            started = time.monotonic()
            assert t.shutdown(0.5) is False
            assert time.monotonic() - started < 0.5 + MARGIN
    assert "flush" in caplog.text and "shutdown" in caplog.text
    (exporter,) = t.stats().exporters
    assert exporter.exported == 0
    assert exporter.received == exporter.exported + sum(exporter.dropped.values()) + exporter.pending == 10


# --- fork ----------------------------------------------------------------------

# Waits for a child without trusting it to exit: a deadlocked child is killed
# and reported instead of hanging the test.
WAIT_CHILD = """
import os, signal, time

def wait_child(pid, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.02)
"""


def test_fork_with_an_open_span_and_a_busy_thread(run_python, tmp_path):
    path, report = tmp_path / "spans.jsonl", tmp_path / "report.json"
    done = run_python(
        WAIT_CHILD
        + f"""
import json, sys, threading, agtrace
from dataclasses import asdict

agtrace.init("fork", exporters="file", file_path=os.environ["SPANS"], ignore_env=True, {QUIET_PIPELINE})
report = {{}}

# Another thread creates spans before, during and after the fork.
stop, running, made = threading.Event(), threading.Event(), [0]
def busy():
    while not stop.is_set() and made[0] < 5000:
        with agtrace.span("thread span"):
            pass
        made[0] += 1
        if made[0] == 20:
            running.set()
worker = threading.Thread(target=busy)
worker.start()
assert running.wait(30)

with agtrace.span("parent open") as outer:
    pid = os.fork()
    if pid == 0:
        # The child: its spans nest under the inherited open span.
        for i in range(20):
            with agtrace.span("child span", attributes={{"i": i}}):
                pass
        with agtrace.span("child root", parent=None):
            pass
        report["child_current_is_outer"] = agtrace.current_span() is outer
if pid == 0:
    # Leaving the with block ended the inherited span here too: the child
    # must not export it. The exit hook delivers the child's own spans.
    report["child_stats"] = asdict(agtrace.stats())
    with open(os.environ["REPORT"] + ".child", "w") as f:
        json.dump(report, f)
    sys.exit(0)

stop.set()
worker.join()
report["child_exit"] = wait_child(pid)
report["thread_spans"] = made[0]
agtrace.shutdown()
report["parent_stats"] = asdict(agtrace.stats())
with open(os.environ["REPORT"], "w") as f:
    json.dump(report, f)
""",
        env={"SPANS": str(path), "REPORT": str(report)},
        timeout=60,
    )
    assert done.returncode == 0, done.describe()
    parent = json.loads(report.read_text())
    child = json.loads((tmp_path / "report.json.child").read_text())
    assert parent["child_exit"] == 0, done.describe()
    assert child["child_current_is_outer"] is True

    spans = read_spans(path)
    counts = Counter(s["name"] for s in spans)
    made = parent["thread_spans"]
    assert counts == {"parent open": 1, "child span": 20, "child root": 1, "thread span": made}, counts
    assert len({s["spanId"] for s in spans}) == len(spans), "a span was exported twice"
    outer = one(spans, "parent open")
    for s in named(spans, "child span"):
        assert s["parentSpanId"] == outer["spanId"]
        assert s["traceId"] == outer["traceId"]
    assert one(spans, "child root")["parentSpanId"] is None

    # Each process counts its own spans (the child's, read before its exit
    # hook delivered them: the file shows they were).
    c = child["child_stats"]
    assert (c["started"], c["ended"], c["unsampled"]) == (21, 21, 0), c
    p = parent["parent_stats"]
    assert (p["started"], p["ended"]) == (1 + made, 1 + made), p
    assert sum(e["exported"] for e in p["exporters"]) == 1 + made, p


def test_repeated_forks_while_export_is_busy(run_python, tmp_path):
    # The export thread is kept busy (short delay, small batches) while the
    # main thread forks again and again: no fork may deadlock, and every
    # span is exported once. Batches stay under the file exporter's 8 KiB
    # buffer, so each line is one write and processes cannot interleave. The
    # queue holds every span the busy thread makes (it outruns four-span
    # batches), so none is dropped for a full queue.
    path, report = tmp_path / "spans.jsonl", tmp_path / "report.json"
    forks = 8
    done = run_python(
        WAIT_CHILD
        + f"""
import json, threading, agtrace
agtrace.init("forks", exporters="file", file_path=os.environ["SPANS"], ignore_env=True,
             schedule_delay=5, max_export_batch_size=4, max_queue_size=32768)
stop, made = threading.Event(), [0]
def busy():
    while not stop.is_set() and made[0] < 20000:
        with agtrace.span("busy"):
            pass
        made[0] += 1
worker = threading.Thread(target=busy)
worker.start()
exits = []
for n in range({forks}):
    pid = os.fork()
    if pid == 0:
        for i in range(3):
            with agtrace.span("forked", attributes={{"fork": n, "i": i}}):
                pass
        ok = agtrace.shutdown(10)
        os._exit(0 if ok else 5)
    exits.append(wait_child(pid))
stop.set()
worker.join()
agtrace.shutdown()
json.dump({{"exits": exits, "busy": made[0]}}, open(os.environ["REPORT"], "w"))
""",
        env={"SPANS": str(path), "REPORT": str(report)},
        timeout=90,
    )
    assert done.returncode == 0, done.describe()
    result = json.loads(report.read_text())
    assert result["exits"] == [0] * forks, done.describe()
    spans = read_spans(path)
    assert len({s["spanId"] for s in spans}) == len(spans), "a span was exported twice"
    forked = Counter((s["attributes"]["fork"], s["attributes"]["i"]) for s in named(spans, "forked"))
    assert forked == Counter({(n, i): 1 for n in range(forks) for i in range(3)})
    assert len(named(spans, "busy")) == result["busy"]


MULTIPROCESSING_SCRIPT = f"""
import json, os, sys, multiprocessing, agtrace
agtrace.init("mp", exporters="file", file_path=os.environ["SPANS"], ignore_env=True, {QUIET_PIPELINE})
FLUSH = os.environ["FLUSH"] == "1"

@agtrace.tool(name="in worker")
def work(i):
    with agtrace.span("worker inner", attributes={{"i": i}}):
        pass

def target(i):
    work(i)
    if FLUSH:
        agtrace.flush()

ctx = multiprocessing.get_context("fork")
with agtrace.span("dispatcher"):
    workers = [ctx.Process(target=target, args=(i,)) for i in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(30)
print(json.dumps([p.exitcode for p in workers]))
"""


@pytest.mark.parametrize("flush", [True, False], ids=["worker-flushes", "exit-hook"])
def test_multiprocessing_fork_workers(run_python, tmp_path, flush):
    # A multiprocessing child leaves through os._exit, which skips atexit:
    # the SDK must still deliver what it traced (the exit-hook case), as it
    # does when the worker flushes itself.
    path = tmp_path / "spans.jsonl"
    done = run_python(MULTIPROCESSING_SCRIPT, env={"SPANS": str(path), "FLUSH": "1" if flush else "0"}, timeout=60)
    assert done.returncode == 0, done.describe()
    assert json.loads(done.stdout) == [0, 0, 0], done.describe()
    spans = read_spans(path)
    dispatcher = one(spans, "dispatcher")
    workers = named(spans, "in worker")
    assert len(workers) == 3, f"spans: {sorted(s['name'] for s in spans)}"
    assert {s["parentSpanId"] for s in workers} == {dispatcher["spanId"]}
    inner = named(spans, "worker inner")
    assert sorted(s["attributes"]["i"] for s in inner) == [0, 1, 2]
    assert {s["parentSpanId"] for s in inner} == {s["spanId"] for s in workers}


def test_a_dead_collector_s_batches_go_to_the_spool_named_in_the_settings(tmp_path):
    spool = tmp_path / "spool"
    t = agtrace.Tracer(
        "spool-test",
        ignore_env=True,
        exporters="otlp",
        endpoint=f"http://127.0.0.1:{_closed_port()}",
        max_retries=0,
        spool_dir=str(spool),
    )
    try:
        for i in range(5):
            with t.span(f"kept {i}"):
                pass
        assert t.flush(5.0) is False, "spooled is not delivered"
        (e,) = t.stats().exporters
        assert (e.spooled, e.exported, sum(e.dropped.values())) == (5, 0, 0), e
        assert e.received == e.exported + sum(e.dropped.values()) + e.spooled + e.pending
        assert list(spool.rglob("*.seg")), "the batch is on disk"
    finally:
        t.shutdown(1.0)
    with pytest.raises(agtrace.InvalidConfig, match="AGTRACE_SPOOL_DIR"):
        agtrace.Tracer("spool-test", ignore_env=True, exporters="otlp", spool_dir="/proc/version/spool")

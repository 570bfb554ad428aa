"""The fault suite: the workload (workload.py, the Python SDK over the core)
against a real OTLP receiver process that each test breaks in one way
(receiver/main.go), over OTLP/HTTP and OTLP/gRPC.

Each case asserts exact accounting from the workload's own stats() after
its shutdown (every ended span exported or dropped by a named reason,
nothing pending) and what the receiver accepted, deduplicated by span id:
the exporter's `exported` count is checked against the receiver, not
against itself. Loops are bounded (a few traces); the delivery settings in
fault_support.settings keep every case to seconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fault_support import (
    SPANS_PER_TRACE,
    Receiver,
    finish,
    run_workload,
    settings,
    start_workload,
    stop,
    wait_for_line,
)

PROTOCOLS = ["http", "grpc"]


@pytest.fixture
def receiver(binary, tmp_path: Path):
    r = Receiver(binary("fault_receiver"), tmp_path)
    yield r
    r.close()


def delivered_all(outcome, receiver: Receiver) -> None:
    """Every span exported, and the receiver holds each of them (a
    duplicate only where a request was accepted but its answer lost)."""
    outcome.check_accounting()
    e = outcome.exporter
    assert e["exported"] == outcome.stats["ended"] == len(outcome.span_ids), e
    assert set(receiver.accepted()) == set(outcome.span_ids)
    assert outcome.shutdown is True


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_receiver_down_the_whole_run_drops_every_span_counted(receiver, tmp_path, protocol):
    receiver.kill()  # its ports are known and now closed
    outcome = run_workload(settings(receiver, protocol), tmp_path, traces=3, shutdown=15)
    outcome.check_accounting()
    e = outcome.exporter
    assert e["exported"] == 0
    assert e["dropped"]["failed"] == outcome.stats["ended"] == 3 * SPANS_PER_TRACE, e
    assert e["retried"] > 0, "a refused connection is retried"
    assert outcome.shutdown is False, "shutdown reports the spans it could not deliver"
    assert not receiver.accepted()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_receiver_killed_mid_run_and_restarted_on_the_same_port_gets_every_span(receiver, tmp_path, protocol):
    env = settings(receiver, protocol, AGTRACE_MAX_RETRIES="30", AGTRACE_RETRY_MAX_BACKOFF_MS="100")
    workload = start_workload(env, tmp_path, traces=40, pause_ms=50)
    try:
        wait_for_line(workload, "trace 10")
        receiver.kill()
        wait_for_line(workload, "trace 20")  # spans keep ending while it is down
        receiver.restart()
        outcome = finish(workload, tmp_path)
    finally:
        stop(workload)
    assert outcome.returncode == 0, outcome.output[-3000:]
    delivered_all(outcome, receiver)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_blackholed_receiver_times_out_every_attempt_and_drops_counted(receiver, tmp_path, protocol):
    receiver.mode("blackhole")
    outcome = run_workload(settings(receiver, protocol, AGTRACE_MAX_RETRIES="2"), tmp_path, traces=2, shutdown=20)
    outcome.check_accounting()
    e = outcome.exporter
    assert e["exported"] == 0 and e["dropped"]["failed"] == outcome.stats["ended"], e
    assert e["retried"] >= 2
    assert outcome.shutdown is False
    assert not receiver.accepted()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_slow_receiver_answering_after_the_timeout_gets_every_span_once_counted(receiver, tmp_path, protocol):
    # The receiver stores each request but answers after the client's
    # 500 ms timeout: the client retries what the receiver already has.
    receiver.mode("slow", delay_ms=1500)
    env = settings(receiver, protocol, AGTRACE_MAX_RETRIES="30", AGTRACE_RETRY_MAX_BACKOFF_MS="100")
    workload = start_workload(env, tmp_path, traces=5, pause_ms=100)
    try:
        wait_for_line(workload, "trace 4")
        time.sleep(1.5)  # a few attempts time out
        receiver.mode("ok")
        outcome = finish(workload, tmp_path)
    finally:
        stop(workload)
    assert outcome.returncode == 0, outcome.output[-3000:]
    delivered_all(outcome, receiver)
    assert outcome.exporter["retried"] > 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("code", [429, 503])
def test_throttled_with_retry_after_then_accepted_delivers_every_span_once(receiver, tmp_path, protocol, code):
    receiver.mode("status", code=code, retry_after="1", times=2)
    outcome = run_workload(settings(receiver, protocol), tmp_path, traces=3)
    delivered_all(outcome, receiver)
    assert outcome.exporter["retried"] >= 2, outcome.exporter
    assert max(receiver.accepted().values()) == 1, "refused requests store nothing, so nothing arrives twice"


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("code", [400, 500])
def test_rejected_batches_are_not_retried_and_are_counted(receiver, tmp_path, protocol, code):
    receiver.mode("status", code=code)
    outcome = run_workload(settings(receiver, protocol), tmp_path, traces=2)
    outcome.check_accounting()
    e = outcome.exporter
    assert e["retried"] == 0, e
    assert e["exported"] == 0
    assert sum(e["dropped"].values()) == outcome.stats["ended"], e
    assert outcome.shutdown is False
    assert not receiver.accepted()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_connection_resets_for_a_while_then_every_span_arrives(receiver, tmp_path, protocol):
    receiver.mode("reset")
    env = settings(receiver, protocol, AGTRACE_MAX_RETRIES="30", AGTRACE_RETRY_MAX_BACKOFF_MS="100")
    workload = start_workload(env, tmp_path, traces=20, pause_ms=50)
    try:
        wait_for_line(workload, "trace 10")
        receiver.mode("ok")
        outcome = finish(workload, tmp_path)
    finally:
        stop(workload)
    assert outcome.returncode == 0, outcome.output[-3000:]
    delivered_all(outcome, receiver)
    assert outcome.exporter["retried"] > 0


def test_batches_over_the_receivers_4_mib_grpc_limit_are_split_and_delivered(receiver, tmp_path):
    # 100 traces with two 30 KB tool attributes each, in one batch of up to
    # 16 MiB: the receiver refuses anything over gRPC's 4 MiB default.
    env = settings(receiver, "grpc", OTEL_BSP_MAX_EXPORT_BATCH_SIZE="512", AGTRACE_BATCH_MAX_BYTES=str(16 << 20),
                   OTEL_BSP_SCHEDULE_DELAY="5000", OTEL_EXPORTER_OTLP_TIMEOUT="5000")
    outcome = run_workload(env, tmp_path, traces=100, attribute_bytes=30_000, shutdown=30)
    delivered_all(outcome, receiver)
    assert outcome.exporter["dropped"]["oversize"] == 0

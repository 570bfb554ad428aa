"""The fault suite: the workload (workload.py, the Python SDK over the core)
against a real OTLP receiver process that each test breaks in one way
(receiver/main.go), over OTLP/HTTP and OTLP/gRPC.

Each case asserts exact accounting from the workload's own stats() after
its shutdown (every ended span exported, spooled or dropped by a named
reason, nothing pending) and what the receiver accepted, deduplicated by
span id: the exporter's `exported` count is checked against the receiver,
not against itself. Loops are bounded (a few traces); the delivery settings
in fault_support.settings keep every case to seconds.

The disk spool is on by default (under the workload's HOME, which is the
test's directory); the spool cases share one directory between two
workload processes to check the replay.
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
    """Every span delivered (directly, or spooled and replayed within the
    run), and the receiver holds each of them (a duplicate only where a
    request was accepted but its answer lost)."""
    outcome.check_accounting()
    e = outcome.exporter
    assert e["exported"] + e["spooled"] == outcome.stats["ended"] == len(outcome.span_ids), e
    assert e["replayed"] == e["spooled"] and e["lost_from_spool"] == 0, e
    assert set(receiver.accepted()) == set(outcome.span_ids)
    assert outcome.shutdown is True


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_receiver_down_the_whole_run_without_a_spool_drops_every_span_counted(receiver, tmp_path, protocol):
    receiver.kill()  # its ports are known and now closed
    env = settings(receiver, protocol, AGTRACE_SPOOL_DIR="off")
    outcome = run_workload(env, tmp_path, traces=3, shutdown=15)
    outcome.check_accounting()
    e = outcome.exporter
    assert e["exported"] == 0 and e["spooled"] == 0
    assert e["dropped"]["failed"] == outcome.stats["ended"] == 3 * SPANS_PER_TRACE, e
    assert e["retried"] > 0, "a refused connection is retried"
    assert outcome.shutdown is False, "shutdown reports the spans it could not deliver"
    assert not receiver.accepted()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_receiver_down_the_whole_run_spools_and_the_next_process_replays_every_span_once(receiver, tmp_path,
                                                                                         protocol):
    receiver.kill()
    env = settings(receiver, protocol, AGTRACE_SPOOL_DIR=str(tmp_path / "spool"))
    first = run_workload(env, tmp_path / "first", traces=3, shutdown=15)
    first.check_accounting()
    e = first.exporter
    assert e["exported"] == 0 and sum(e["dropped"].values()) == 0, e
    assert e["spooled"] == first.stats["ended"] == 3 * SPANS_PER_TRACE, e
    assert first.shutdown is False, "spooled is not delivered: shutdown says so"

    receiver.restart()
    second = run_workload(env, tmp_path / "second", traces=1)
    second.check_accounting()
    assert second.exporter["replayed"] == e["spooled"], second.exporter
    accepted = receiver.accepted()
    assert set(accepted) == set(first.span_ids) | set(second.span_ids)
    assert max(accepted.values()) == 1, "each span once"
    assert not list((tmp_path / "spool").rglob("*.seg")), "replayed segments are deleted"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_process_killed_mid_outage_leaves_a_spool_the_next_one_replays(receiver, tmp_path, protocol):
    receiver.kill()
    env = settings(receiver, protocol, AGTRACE_SPOOL_DIR=str(tmp_path / "spool"), AGTRACE_MAX_RETRIES="0")
    first = start_workload(env, tmp_path / "first", traces=200, pause_ms=20)
    try:
        wait_for_line(first, "trace 60")
    finally:
        stop(first)  # SIGKILL: no shutdown, no exit hook
    first_ids = set((tmp_path / "first" / "span-ids").read_text().split())
    assert list((tmp_path / "spool").rglob("*.seg")), "batches that failed before the kill are on disk"

    receiver.restart()
    second = run_workload(env, tmp_path / "second", traces=1)
    second.check_accounting()
    e = second.exporter
    assert e["replayed"] > 0, e
    accepted = receiver.accepted()
    from_first = set(accepted) - set(second.span_ids)
    assert from_first <= first_ids, "only spans the first process ended"
    # A record torn by the kill is skipped and counted, never sent.
    assert len(from_first) == e["replayed"], (len(from_first), e)
    assert max(accepted.values()) == 1, "each span once"
    assert not list((tmp_path / "spool").rglob("*.seg"))


def test_a_full_disk_while_spooling_counts_what_it_could_not_keep(receiver, tmp_path):
    receiver.kill()
    env = settings(receiver, "http", AGTRACE_SPOOL_DIR=str(tmp_path / "spool"), OTEL_BSP_MAX_EXPORT_BATCH_SIZE="8")
    # Every file the process writes is capped at 48 KiB (RLIMIT_FSIZE):
    # the spool's writes past it fail as on a full disk (a segment holds
    # a few 12 KB batches; the one that does not fit is lost, and the
    # spool goes on in a new segment).
    process = start_workload(env, tmp_path / "first", traces=30, attribute_bytes=3000, shutdown=15,
                             file_size_limit=48 << 10)
    first = finish(process, tmp_path / "first")
    assert first.returncode == 0 and first.stats, first.output[-3000:]
    first.check_accounting()
    e = first.exporter
    assert e["lost_from_spool"] > 0 and e["spooled"] > 0, e
    assert e["exported"] == 0
    # A batch the spool could not keep is dropped under its own reason.
    assert e["spooled"] + sum(e["dropped"].values()) == first.stats["ended"], e
    assert e["lost_from_spool"] == sum(e["dropped"].values()), e

    receiver.restart()
    second = run_workload(env, tmp_path / "second", traces=1)
    assert second.exporter["replayed"] == e["spooled"], (second.exporter, e)
    accepted = receiver.accepted()
    assert len(set(accepted) - set(second.span_ids)) == e["spooled"]
    assert max(accepted.values()) == 1


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
def test_blackholed_receiver_times_out_every_attempt_and_spools_counted(receiver, tmp_path, protocol):
    receiver.mode("blackhole")
    outcome = run_workload(settings(receiver, protocol, AGTRACE_MAX_RETRIES="2"), tmp_path, traces=2, shutdown=20)
    outcome.check_accounting()
    e = outcome.exporter
    assert e["exported"] == 0 and e["spooled"] == outcome.stats["ended"], e
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
    assert e["exported"] == 0 and e["spooled"] == 0, "a refused batch would be refused again"
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


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_exit_hook_retries_within_its_budget(receiver, tmp_path, protocol):
    # One 503 for the batch in flight at exit: the hook's 5 s budget leaves
    # room for the retry (it used to give up at once and drop the batch).
    receiver.mode("status", code=503, retry_after="1", times=1)
    env = settings(receiver, protocol, AGTRACE_SPOOL_DIR="off", OTEL_BSP_SCHEDULE_DELAY="60000",
                   OTEL_BSP_MAX_EXPORT_BATCH_SIZE="2048")
    process = start_workload(env, tmp_path, traces=250, exit_hook=5.0)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out[-3000:]
    ids = (tmp_path / "span-ids").read_text().split()
    assert len(ids) == 1000
    assert set(receiver.accepted()) == set(ids)

"""What the fault suite's tests share: a real OTLP receiver whose faults
they control (``Receiver``, over ``receiver/``'s fault-receiver) and the
workload process (``run_workload``/``start_workload``, over workload.py).

The receiver's ids file outlives every incarnation of it, so ``accepted()``
is what the receiver accepted across kills and restarts, with duplicates.
"""

from __future__ import annotations

import collections
import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import requests

WORKLOAD = Path(__file__).with_name("workload.py")
SPANS_PER_TRACE = 4


class Receiver:
    """One fault-receiver process at a time on fixed ports (``restart``
    reuses them). Stopped by ``kill``; ``close`` at the end of a test."""

    def __init__(self, binary: "str | os.PathLike[str]", directory: Path) -> None:
        self.binary = binary
        self.ids_path = directory / "accepted-ids"
        self.log_path = directory / "receiver.log"
        self.http = self.grpc = self.control = "127.0.0.1:0"
        self.process: Optional[subprocess.Popen[str]] = None
        self.start()

    def start(self) -> None:
        assert self.process is None
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [self.binary, "-http", self.http, "-grpc", self.grpc, "-control", self.control, "-ids", str(self.ids_path)],
            stdout=subprocess.PIPE, stderr=log, text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        fields = dict(part.split("=", 1) for part in line.split())
        if set(fields) != {"http", "grpc", "control"}:
            self.kill()
            raise RuntimeError(f"fault-receiver did not start: {line!r}; log: {self.log_path.read_text()[-2000:]}")
        self.http, self.grpc, self.control = fields["http"], fields["grpc"], fields["control"]

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed or answered."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart(self) -> None:
        self.kill()
        deadline = time.monotonic() + 10
        while True:  # the port may still be held briefly after the kill
            try:
                self.start()
                return
            except RuntimeError:
                self.process = None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        self.kill()

    def endpoint(self, protocol: str) -> str:
        return f"http://{self.grpc if protocol == 'grpc' else self.http}"

    def mode(self, mode: str, **options: Any) -> None:
        r = requests.post(f"http://{self.control}/mode", json={"mode": mode, **options}, timeout=5)
        r.raise_for_status()

    def accepted(self) -> collections.Counter[str]:
        """Span id -> how many times the receiver accepted it, across every
        incarnation."""
        if not self.ids_path.exists():
            return collections.Counter()
        return collections.Counter(self.ids_path.read_text().split())


def settings(receiver: Receiver, protocol: str, **overrides: str) -> dict[str, str]:
    """The workload's environment: OTLP to the receiver, fast delivery
    settings so each case runs in seconds, the spool under test control."""
    env = {
        "AGTRACE_EXPORTERS": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint(protocol),
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc" if protocol == "grpc" else "http/protobuf",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "500",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "64",
        "AGTRACE_MAX_RETRIES": "4",
        "AGTRACE_RETRY_INITIAL_BACKOFF_MS": "50",
        "AGTRACE_RETRY_MAX_BACKOFF_MS": "200",
        "AGTRACE_BREAKER_THRESHOLD": "1000",
    }
    env.update(overrides)
    return env


@dataclass
class Outcome:
    """What one workload process reported, and the ids of its spans."""

    returncode: int
    shutdown: Optional[bool]
    stats: dict[str, Any]
    span_ids: list[str]
    output: str
    lines: list[str] = field(default_factory=list)

    @property
    def exporter(self) -> dict[str, Any]:
        (only,) = self.stats["exporters"]
        return dict(only)

    def check_accounting(self) -> None:
        """Every span ended is in exactly one final counter: nothing pending
        after shutdown, and the pipeline's and the exporter's sums agree."""
        s, e = self.stats, self.exporter
        assert s["ended"] == len(self.span_ids), (s, len(self.span_ids))
        assert s["ended"] == s["dispatched"] + sum(s["dropped"].values()) + s["pending"], s
        assert s["pending"] == 0 and e["pending"] == 0, f"left pending after shutdown: {s}"
        assert e["received"] == s["dispatched"], s
        assert e["received"] == e["exported"] + sum(e["dropped"].values()) + e["spooled"] + e["pending"], e


def environment(env: dict[str, str], home: Path) -> dict[str, str]:
    """A workload process's environment: this one's without any agtrace or
    OpenTelemetry setting, then ``env``, with ``home`` as HOME (so default
    state directories are the test's)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AGTRACE_", "OTEL_", "XDG_", "LANGFUSE_", "PHOENIX_", "LANGWATCH_", "OPIK_"))}
    base.update(env)
    base["HOME"] = str(home)
    return base


def start_workload(env: dict[str, str], directory: Path, traces: int, pause_ms: float = 0, shutdown: float = 10,
                   attribute_bytes: int = 0, file_size_limit: Optional[int] = None,
                   exit_hook: Optional[float] = None) -> subprocess.Popen[str]:
    """Starts workload.py; ``file_size_limit`` (bytes) caps every file it
    writes (RLIMIT_FSIZE, with SIGXFSZ ignored so a write past it fails with
    EFBIG, as on a full disk)."""
    directory.mkdir(parents=True, exist_ok=True)

    def limit_files() -> None:
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.Popen(
        [sys.executable, str(WORKLOAD), "--traces", str(traces), "--pause-ms", str(pause_ms),
         "--ids", str(directory / "span-ids"), "--shutdown", str(shutdown), "--attribute-bytes", str(attribute_bytes)]
        + (["--exit-hook", str(exit_hook)] if exit_hook is not None else []),
        env=environment(env, directory), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=limit_files,
    )


def finish(process: subprocess.Popen[str], directory: Path, timeout: float = 120) -> Outcome:
    out, _ = process.communicate(timeout=timeout)
    lines = out.splitlines()
    result = None
    for line in reversed(lines):
        if line.startswith('{"shutdown"'):
            result = json.loads(line)
            break
    ids_path = directory / "span-ids"
    span_ids = ids_path.read_text().split() if ids_path.exists() else []
    if result is None:
        return Outcome(process.returncode, None, {}, span_ids, out, lines)
    return Outcome(process.returncode, result["shutdown"], result["stats"], span_ids, out, lines)


def run_workload(env: dict[str, str], directory: Path, traces: int, **kw: Any) -> Outcome:
    outcome = finish(start_workload(env, directory, traces, **kw), directory)
    assert outcome.returncode == 0 and outcome.stats, outcome.output[-3000:]
    return outcome


def wait_for_line(process: subprocess.Popen[str], prefix: str, timeout: float = 60) -> list[str]:
    """Reads the workload's output until a line starting with ``prefix``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if line.startswith(prefix):
            return seen
    raise AssertionError(f"no line {prefix!r} from the workload: {seen[-20:]}")


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait()

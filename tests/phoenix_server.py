"""Start and stop a real Arize Phoenix server (an OTLP trace receiver with a
REST API to read spans back) on 127.0.0.1, for the end-to-end tests of every
language.

Two ways in:

* ``start(workdir)`` / ``stop(server)`` from Python (the ``phoenix`` fixture
  in tests/conftest.py). ``start`` raises ``PhoenixError``, with the server's
  log tail, when it does not come up.
* ``python tests/phoenix_server.py CMD [ARG...]`` from the Makefile: starts a
  server with an empty database in a fresh temporary directory, runs CMD with
  ``AGTRACE_TEST_PHOENIX_HTTP`` (``http://127.0.0.1:PORT``; OTLP/HTTP is at
  ``/v1/traces`` under it) and ``AGTRACE_TEST_PHOENIX_GRPC``
  (``http://127.0.0.1:PORT``) in its environment, stops the server and exits
  with CMD's exit code. Used by the Kotlin and Swift test suites.

Run it with the interpreter of the venv made by tests/python-env.sh, which
has Phoenix installed. Startup takes ~25 s on the 2-core machines.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT_S = 120.0
LOG_TAIL_LINES = 60

# Phoenix binds its HTTP server to PHOENIX_HOST, but its OTLP gRPC server to
# "[::]:PORT" unconditionally (phoenix/server/grpc_server.py, 20.26.1), i.e. on
# every interface. These tests keep every server on loopback, so Phoenix is
# started through this shim, which rewrites that one address before handing
# over to Phoenix's own entry point (the same one the `phoenix` script runs).
# It can go when Phoenix takes a gRPC bind address.
_LAUNCHER = """
import sys
import grpc.aio._server as _grpc_server

_add_insecure_port = _grpc_server.Server.add_insecure_port

def _loopback_only(self, address):
    if address.startswith("[::]:"):
        address = "127.0.0.1:" + address[len("[::]:"):]
    return _add_insecure_port(self, address)

_grpc_server.Server.add_insecure_port = _loopback_only

from phoenix.server.main import main
sys.argv[0] = "phoenix"
sys.exit(main())
"""


class PhoenixError(RuntimeError):
    """Phoenix did not start (or exited); the message carries its log tail."""


@dataclass
class Server:
    http_endpoint: str
    grpc_endpoint: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return tail(self.log_path, lines)


def free_port() -> int:
    # The port is released before Phoenix binds it; a collision in that window
    # is possible but rare, and shows up as a startup failure with the log.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(text.splitlines()[-lines:])


def _env(workdir: Path, port: int, grpc_port: int) -> dict[str, str]:
    # Inherited PHOENIX_*/OTEL_* settings (a Postgres URL, auth, a collector
    # endpoint) would change what server we get, so none are passed through.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "OTEL_"))}
    env.update(
        PHOENIX_HOST="127.0.0.1",
        PHOENIX_PORT=str(port),
        # Read by phoenix.config.get_env_grpc_port (checked in 20.26.1).
        PHOENIX_GRPC_PORT=str(grpc_port),
        # Fresh dir per server: the SQLite database lives here, so it starts empty.
        PHOENIX_WORKING_DIR=str(workdir),
        # No telemetry pixels, web fonts or sandbox downloads: the machines have
        # no network beyond the package registries.
        PHOENIX_TELEMETRY_ENABLED="false",
        PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
        PHOENIX_DISABLE_AGENT_ASSISTANT="true",
        # The migration log is thousands of SQL lines that bury the useful tail.
        PHOENIX_LOG_MIGRATIONS="false",
        # The log is a file: unbuffered so its tail is current when we report
        # it; UTF-8 because the banner prints emoji.
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    return env


def _healthy(http: str) -> bool:
    try:
        with urllib.request.urlopen(f"{http}/healthz", timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(server: Server, grpc_port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            raise PhoenixError(
                f"Phoenix exited with code {code} during startup;"
                f" log {server.log_path}:\n{server.log_tail()}"
            )
        if _healthy(server.http_endpoint):
            # The gRPC server starts in the app's lifespan hook, before
            # /healthz answers; checking the socket too costs nothing.
            try:
                socket.create_connection(("127.0.0.1", grpc_port), timeout=2).close()
                return
            except OSError:
                pass
        time.sleep(0.5)
    raise PhoenixError(
        f"Phoenix was not ready after {STARTUP_TIMEOUT_S:.0f} s ({server.http_endpoint}/healthz,"
        f" gRPC port {grpc_port}); log {server.log_path}:\n{server.log_tail()}"
    )


def start(workdir: Path) -> Server:
    """Starts Phoenix with its database and log (``phoenix.log``) in
    ``workdir`` and waits until it serves HTTP and gRPC. Blocks up to
    ``STARTUP_TIMEOUT_S``; on failure the server is stopped and
    ``PhoenixError`` raised."""
    log_path = workdir / "phoenix.log"
    port = free_port()
    grpc_port = free_port()
    while grpc_port == port:
        grpc_port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, "serve"],
            cwd=workdir,
            env=_env(workdir, port, grpc_port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(
        http_endpoint=f"http://127.0.0.1:{port}",
        grpc_endpoint=f"http://127.0.0.1:{grpc_port}",
        log_path=log_path,
        process=proc,
    )
    try:
        _wait_ready(server, grpc_port)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: Server) -> None:
    """SIGTERM, then SIGKILL, to Phoenix's process group; idempotent."""
    proc = server.process
    if proc.poll() is not None:
        return
    # Phoenix runs in its own session (process group == its pid), so this
    # reaches any worker it spawned and nothing else.
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: phoenix_server.py CMD [ARG...]", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="agtrace-phoenix-"))
    started = time.monotonic()
    try:
        server = start(workdir)
    except PhoenixError as e:
        print(f"phoenix_server: {e}", file=sys.stderr)
        return 1
    print(
        f"phoenix_server: ready in {time.monotonic() - started:.1f} s at {server.http_endpoint}"
        f" (gRPC {server.grpc_endpoint}), log {server.log_path}",
        file=sys.stderr,
    )
    env = dict(os.environ)
    env["AGTRACE_TEST_PHOENIX_HTTP"] = server.http_endpoint
    env["AGTRACE_TEST_PHOENIX_GRPC"] = server.grpc_endpoint
    try:
        code = subprocess.call(argv, env=env)
    finally:
        stop(server)
    if code == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"phoenix_server: kept {workdir} (log {server.log_path})", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

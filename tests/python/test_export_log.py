"""What an exporter logs when an export fails: the reason names the
endpoint, never its credentials (``http://user:password@host`` is logged as
``http://user:***@host``)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

import agtrace


class _Refuses(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(400)
        self.send_header("content-length", "3")
        self.end_headers()
        self.wfile.write(b"bad")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    thread.join()


def test_a_failed_export_logs_the_endpoint_without_its_password(refusing_server, capfd):
    endpoint = f"http://admin:S3cr3t@127.0.0.1:{refusing_server}"
    tracer = agtrace.Tracer("log-test", "otlp", endpoint=endpoint, ignore_env=True)
    with tracer.span("refused"):
        pass
    assert tracer.flush(10.0) is False
    tracer.shutdown(5.0)
    err = capfd.readouterr().err
    logged = [line for line in err.splitlines() if "HTTP 400" in line]
    assert logged, err
    assert f"http://admin:***@127.0.0.1:{refusing_server}/v1/traces: HTTP 400" in logged[0]
    assert "S3cr3t" not in err

#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (fuzz/corpus/<target>/) from the
protocol test vectors and real header and config values. Run it after the
vectors change; the corpus is committed so `make fuzz` needs nothing else."""

import hashlib
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"


def write(target: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def end_record(handle: int, items: bytes = b"") -> bytes:
    body = struct.pack("<QQ", handle, 2**64 - 1) + items
    return bytes([2]) + struct.pack("<I", len(body)) + body


def protocol() -> None:
    vectors = json.loads((ROOT.parent / "ffi/protocol/vectors.json").read_text())["vectors"]
    messages = [bytes.fromhex(v["hex"]) for v in vectors]
    for m in messages:
        write("protocol", b"\x00" + m)
        write("protocol", b"\x01" + m)
    # A session: each BEGIN's span ended by the next message.
    begins = [m for m in messages if m[:1] == b"\x01"]
    write("protocol", b"\x00" + b"".join(b + end_record(1) for b in begins))


def propagation() -> None:
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    samples = [
        f"traceparent: {tp}\ntracestate: congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
        "traceparent: 01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-extra",
        f"traceparent: {tp}\nbaggage: userId=alice,serverNode=DF%2028;prop=1,isProduction=false",
        "baggage: key1=value1;property1;property2, key2 = value2, k%C3%A9=v%E2%82%AC",
        "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
        "b3: 64fe8b2a57d3eff7-e457b5a2e4d86bd1-d",
        "x-b3-traceid: 80f198ee56343ba864fe8b2a57d3eff7\nx-b3-spanid: e457b5a2e4d86bd1\nx-b3-sampled: true",
        "X-B3-TraceId: 463ac35c9f6413ad\nX-B3-SpanId: a2fb4a1d1a96d312\nX-B3-Flags: 1",
        f"propagators: b3multi, tracecontext,none\ntraceparent: {tp}",
        "tracestate: a@b=1,c=2,d=3\ntraceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    ]
    for s in samples:
        write("propagation", s.encode())


def config_file() -> None:
    toml = """service_name = "support-agent"
exporters = ["console", "otlp", "langfuse"]
capture_content = true
propagators = ["tracecontext", "baggage"]
global_tags = ["prod"]
global_metadata = { team = "search", shard = 3 }
conversation_attribute = "gen_ai.conversation.id"

[otlp]
endpoint = "http://collector:4318/v1/traces"
headers = { "x-tenant" = "acme" }

[sampling]
rate = 0.25
rules = [{ kind = "llm", rate = 1.0 }]

[redaction]
redact_tool_results = true

[batch]
flush_interval_ms = 2000

[delivery]
max_retries = 3

[[prices]]
model = "my-finetune"
input = 3.0
output = 12.0
"""
    yaml = """service_name: yaml-agent
exporters: [file]
file_path: /dev/null
resource: {deployment.environment: prod}
sampling: {rate: 0.5, parent_based: true}
batch: {queue_capacity: 100, batch_size: 10}
"""
    write("config_file", b"\x00" + toml.encode())
    write("config_file", b"\x01" + yaml.encode())


if __name__ == "__main__":
    protocol()
    propagation()
    config_file()

"""The extension's span protocol encoder against the shared test vectors
(ffi/protocol/vectors.json, ffi/PROTOCOL.md): every vector that can be
encoded must come out as exactly its ``hex``. Each JSON record and item is
mapped onto the encoder's entry point ``agtrace._fastpath._encode`` (records
as tuples of the generated protocol codes), which writes them with the same
writers the span path uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agtrace import _codes as codes
from agtrace._native import fastpath

VECTORS = Path(__file__).resolve().parents[2] / "ffi" / "protocol" / "vectors.json"
_DOC = json.loads(VECTORS.read_text(encoding="utf-8"))

STATUS = {"unset": codes.STATUS_UNSET, "ok": codes.STATUS_OK, "error": codes.STATUS_ERROR}
PARENT = {"local": codes.PARENT_LOCAL, "span": codes.PARENT_SPAN}
RECORD = {"end": codes.RECORD_END, "abandon": codes.RECORD_ABANDON}
# Items whose JSON form is a list of their fields, in order.
POSITIONAL = {
    "string": codes.ITEM_STRING,
    "int": codes.ITEM_INT,
    "double": codes.ITEM_DOUBLE,
    "bool": codes.ITEM_BOOL,
    "string_array": codes.ITEM_STRING_ARRAY,
    "int_array": codes.ITEM_INT_ARRAY,
    "double_array": codes.ITEM_DOUBLE_ARRAY,
    "bool_array": codes.ITEM_BOOL_ARRAY,
    "json": codes.ITEM_JSON,
    "error": codes.ITEM_ERROR,
    "usage": codes.ITEM_USAGE,
    "tool": codes.ITEM_TOOL,
    "agent": codes.ITEM_AGENT,
    "messages": codes.ITEM_MESSAGES,
}
LLM_FIELDS = ("provider", "request_model", "response_model", "response_id", "finish_reasons")
TRACE_FIELDS = ("user_id", "session_id", "conversation_id", "environment", "release", "tags", "metadata")


def item(spec: dict[str, Any]) -> tuple[Any, ...]:
    ((kind, value),) = spec.items()
    if kind in POSITIONAL:
        return (POSITIONAL[kind], *value)
    if kind == "status":
        return (codes.ITEM_STATUS, STATUS[value[0]], value[1])
    if kind == "llm":
        return (codes.ITEM_LLM, *(value[f] for f in LLM_FIELDS))
    if kind == "trace":
        return (codes.ITEM_TRACE, *(value[f] for f in TRACE_FIELDS))
    if kind == "event":
        return (codes.ITEM_EVENT, value["name"], value["offset_ns"], [item(a) for a in value["attributes"]])
    if kind == "first_chunk":
        return (codes.ITEM_FIRST_CHUNK, value)
    if kind == "name":
        return (codes.ITEM_NAME, value)
    if kind == "link":
        ids = (bytes.fromhex(value["trace_id"]), bytes.fromhex(value["span_id"]))
        return (codes.ITEM_LINK, *ids, value["flags"], value["trace_state"], [item(a) for a in value["attributes"]])
    raise AssertionError(f"vectors.json has an item this test does not map: {kind}")


def parent(spec: Any) -> tuple[Any, ...]:
    if spec == "root":
        return (codes.PARENT_ROOT,)
    ((form, value),) = spec.items()
    if form == "context":
        return (codes.PARENT_CONTEXT, value)
    ids = (bytes.fromhex(value["trace_id"]), bytes.fromhex(value["span_id"]), value["flags"])
    return (PARENT[form], *ids, value.get("inherit"))


def record(spec: dict[str, Any]) -> tuple[Any, ...]:
    ((kind, value),) = spec.items()
    items = [item(i) for i in value["items"]]
    if kind == "begin":
        kind_code = getattr(codes, "KIND_" + value["kind"].upper())
        return (codes.RECORD_BEGIN, kind_code, parent(value["parent"]), value["name"], items)
    return (RECORD[kind], value["handle"], value["duration_ns"], items)


ENCODABLE = [v for v in _DOC["vectors"] if v.get("encode", True)]


def test_the_vectors_are_for_this_protocol_version():
    assert _DOC["version"] == codes.PROTOCOL_VERSION == fastpath.PROTOCOL_VERSION
    assert len(ENCODABLE) >= 9, "vectors.json lost its encodable vectors"


@pytest.mark.parametrize("vector", ENCODABLE, ids=[v["name"] for v in ENCODABLE])
def test_encoder_writes_the_vector_bytes(vector):
    message = fastpath._encode([record(r) for r in vector["records"]])
    assert message.hex() == vector["hex"]

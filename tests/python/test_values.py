"""Attribute values of any type: every setter (``attributes=`` at start,
``set_attribute``, ``set_attributes``, event attributes) accepts anything and
never raises. Values other than str, bool, int, float and uniform lists are
converted (agtrace/_record.py): structures are exported as compact JSON
text, scalars as typed values. An attribute with a bad key is dropped,
counted as misuse (logged once), or raised in strict mode.
Everything is checked on what the file exporter wrote."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import hashlib
import json
import uuid

import pytest

import agtrace


class Color(enum.Enum):
    RED = "red"
    PAIR = (1, "two")
    WHEN = datetime.date(2024, 5, 6)


@dataclasses.dataclass
class Point:
    x: int
    label: str
    exact: decimal.Decimal
    tags: frozenset[str]


class Dumps:
    """Pydantic's shape without pydantic: a callable model_dump."""

    def model_dump(self, mode: str = "python") -> dict:
        return {"mode": mode, "when": datetime.date(2024, 1, 2)}


class DumpFails:
    def model_dump(self, mode: str = "python") -> dict:
        raise RuntimeError("no dump")

    def __repr__(self) -> str:
        return "DumpFails()"


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque thing>"


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr is broken")


class HugeRepr:
    def __repr__(self) -> str:
        return "x" * 100_000


UID = uuid.UUID("12345678-1234-5678-1234-567812345678")
WHEN = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc)

# (value given, value exported); the exported type is checked too, and JSON
# text ("[...", "{...") as the value it stands for.
CONVERTED = {
    "datetime": (WHEN, "2024-05-06T07:08:09.123456+00:00"),
    "naive datetime": (datetime.datetime(2024, 5, 6, 7, 8), "2024-05-06T07:08:00"),
    "date": (datetime.date(2024, 5, 6), "2024-05-06"),
    "time": (datetime.time(7, 8, 9), "07:08:09"),
    "decimal": (decimal.Decimal("0.1000000000000000000000000001"), "0.1000000000000000000000000001"),
    "uuid": (UID, "12345678-1234-5678-1234-567812345678"),
    "enum": (Color.RED, "red"),
    "enum of a tuple": (Color.PAIR, '[1,"two"]'),
    "enum of a date": (Color.WHEN, "2024-05-06"),
    "set": ({3, 1, 2}, [1, 2, 3]),
    "frozenset": (frozenset({"b", "c", "a"}), ["a", "b", "c"]),
    "dataclass": (
        Point(1, "p", decimal.Decimal("2.50"), frozenset({"y", "x"})),
        '{"x":1,"label":"p","exact":"2.50","tags":["x","y"]}',
    ),
    "model_dump": (Dumps(), '{"mode":"json","when":"2024-01-02"}'),
    "model_dump that raises": (DumpFails(), "DumpFails()"),
    "nested": ({"at": WHEN, "ids": [UID], "color": Color.RED}, '{"at":"2024-05-06T07:08:09.123456+00:00",'
               '"ids":["12345678-1234-5678-1234-567812345678"],"color":"red"}'),
    "mixed list": ([1, datetime.date(2024, 5, 6)], '[1,"2024-05-06"]'),
    "non-str keys": ({1: "one", (2, 3): "pair", Color.RED: "enum"}, '{"1":"one","[2,3]":"pair","red":"enum"}'),
    "object": (Opaque(), "<Opaque thing>"),
    "object in a dict": ({"o": Opaque()}, '{"o":"<Opaque thing>"}'),
    "repr raises": (BadRepr(), "<unrepresentable BadRepr>"),
    "repr raises, nested": ([1, BadRepr()], '[1,"<unrepresentable BadRepr>"]'),
    "nested nan": ({"x": float("nan")}, '{"x":"nan"}'),
}


def _cycles() -> dict[str, tuple[object, str]]:
    looped_list: list = [1]
    looped_list.append(looped_list)
    looped_dict: dict = {"a": 1}
    looped_dict["self"] = looped_dict
    shared = ["s"]
    return {
        "list cycle": (looped_list, '[1,"<cycle>"]'),
        "dict cycle": (looped_dict, '{"a":1,"self":"<cycle>"}'),
        # The same list twice is no cycle.
        "shared": ([shared, shared], '[["s"],["s"]]'),
    }


def _every_setter(traced, values: dict[str, object]) -> dict:
    """Records ``values`` through every setter; returns the span's
    attributes (prefixes start., late., one.) and its event's."""
    with traced.tracer.span("values", attributes={f"start.{k}": v for k, v in values.items()}) as s:
        s.set_attributes({f"late.{k}": v for k, v in values.items()})
        for k, v in values.items():
            s.set_attribute(f"one.{k}", v)
        s.add_event("ev", {f"event.{k}": v for k, v in values.items()})
    span = traced.one("values")
    assert "agtrace.abandoned" not in span["attributes"]
    (event,) = span["events"]
    return {**span["attributes"], **event["attributes"]}


@pytest.mark.parametrize("values", [CONVERTED, _cycles()], ids=["types", "cycles"])
def test_values_are_converted_by_every_setter(traced, values):
    attrs = _every_setter(traced, {k: v for k, (v, _) in values.items()})
    for key, (_, want) in values.items():
        for prefix in ("start.", "late.", "one.", "event."):
            got = attrs.get(prefix + key)
            assert type(got) is type(want), f"{prefix}{key}: got {got!r}, want {want!r}"
            if isinstance(want, str) and want[:1] in "[{":
                # JSON text; the exporter writes object keys sorted.
                assert json.loads(got) == json.loads(want), f"{prefix}{key}: got {got!r}, want {want!r}"
            else:
                assert got == want, f"{prefix}{key}: got {got!r}, want {want!r}"


def test_pydantic_model_is_dumped_as_json(traced):
    pydantic = pytest.importorskip("pydantic")

    class Order(pydantic.BaseModel):
        id: uuid.UUID
        at: datetime.datetime
        total: decimal.Decimal

    with traced.tracer.span("model") as s:
        s.set_attribute("order", Order(id=UID, at=WHEN, total=decimal.Decimal("9.99")))
        s.set_attribute("model class", Order)  # a class is no model: its repr
    attrs = traced.one("model")["attributes"]
    assert json.loads(attrs["order"]) == {"id": str(UID), "at": "2024-05-06T07:08:09.123456Z", "total": "9.99"}
    assert "Order" in attrs["model class"]


def test_mixed_set_is_a_list_in_some_order(traced):
    with traced.tracer.span("mixed set") as s:
        s.set_attribute("set", {1, "a", None})
    assert sorted(json.loads(traced.one("mixed set")["attributes"]["set"]), key=str) == [1, None, "a"]


def test_bytes_are_never_exported_raw(traced):
    secret = b"s3cret-token-bytes"
    digest = hashlib.sha256(secret).hexdigest()[:12]
    with traced.tracer.span("bytes", attributes={"b": secret}) as s:
        s.set_attribute("ba", bytearray(secret))
        s.set_attribute("mv", memoryview(secret))
        s.set_attribute("strided", memoryview(secret)[::2])
        s.set_attribute("nested", {"blob": secret})
        s.add_event("ev", {"b": secret})
    span = traced.one("bytes")
    attrs = span["attributes"]
    assert attrs["b"] == f"<bytes len=18 sha256={digest}>"
    assert attrs["ba"] == f"<bytearray len=18 sha256={digest}>"
    assert attrs["mv"] == f"<memoryview len=18 sha256={digest}>"
    assert attrs["strided"].startswith("<memoryview len=9 sha256=")
    assert json.loads(attrs["nested"]) == {"blob": f"<bytes len=18 sha256={digest}>"}
    assert span["events"][0]["attributes"]["b"] == attrs["b"]
    text = traced.path.read_text(encoding="utf-8")
    assert "s3cret" not in text
    assert "czNjcmV0" not in text  # nor as base64


def test_huge_repr_is_bounded(traced):
    with traced.tracer.span("huge") as s:
        s.set_attribute("obj", HugeRepr())
        s.set_attribute("in a list", [HugeRepr(), 1])
    attrs = traced.one("huge")["attributes"]
    assert attrs["obj"].startswith("x" * 1024)
    assert len(attrs["obj"]) < 1100
    assert attrs["obj"].endswith("...<98976 more chars>")
    assert len(json.loads(attrs["in a list"])[0]) < 1100


def test_deep_nesting_is_cut_counted_and_raises_no_recursion_error(traced):
    values = {}
    for depth in (200, 10_000):
        deep_list: list = []
        deep_dict: dict = {}
        for _ in range(depth):
            deep_list = [deep_list]
            deep_dict = {"k": deep_dict}
        values[f"list {depth}"] = deep_list
        values[f"dict {depth}"] = deep_dict
    with traced.tracer.span("deep") as s:
        for key, value in values.items():
            s.set_attribute(key, value)
    attrs = traced.one("deep")["attributes"]
    for key in values:
        # Kept down to the SDK's depth limit, with the marker below it.
        text = attrs[key]
        assert text.count("<too deep>") == 1, key
        assert text.count("[" if key.startswith("list") else "{") == agtrace._record.MAX_DEPTH, key
    assert traced.tracer.stats().misuse["bad_value"] == len(values)


def test_huge_values_are_capped_when_recorded(traced):
    # 50 spans of 10 MiB each would be 500 MiB queued: capped when set,
    # they stay far under the queue's byte budget (64 MiB).
    big = "x" * (10 << 20)
    for _ in range(50):
        with traced.tracer.span("big") as s:
            s.set_attribute("big", big)
            s.add_event("ev", {"big": big})
    spans = traced.spans()
    assert len(spans) == 50
    stats = traced.tracer.stats()
    assert stats.dropped["queue_bytes"] == 0, stats.dropped
    for span in spans:
        for value in (span["attributes"]["big"], span["events"][0]["attributes"]["big"]):
            assert len(value.encode()) <= 32 * 1024
            # One marker, counting every byte cut (at record time and at export).
            kept, _, removed = value.partition("…[truncated ")
            assert len(kept) + int(removed.removesuffix(" bytes]")) == len(big)


def test_common_values_are_unchanged(traced):
    # Typed on the C path, as before: big ints and non-uniform lists go
    # through the conversion as JSON text.
    with traced.tracer.span("common") as s:
        s.set_attribute("int enum", agtrace.SpanKind.LLM)
        s.set_attribute("mixed", [1, "two", None])
        s.set_attribute("empty", [])
        s.set_attribute("none", None)
    attrs = traced.one("common")["attributes"]
    assert attrs["int enum"] == int(agtrace.SpanKind.LLM)
    assert attrs["mixed"] == '[1,"two",null]'
    assert attrs["empty"] == []
    assert "none" not in attrs


BAD_KEYS = [1, None, "", "nul\0key", "bell\x07key", "c1\x85key", BadRepr()]


def test_bad_keys_are_dropped_counted_and_logged_once(traced, capfd):
    bad = {k: "dropped" for k in BAD_KEYS}
    with traced.tracer.span("keys", attributes={"first": 1, **bad, "last": 2}) as s:
        for k in BAD_KEYS:
            s.set_attribute(k, "dropped")
        s.set_attributes({**bad, "late": 3})
        s.add_event("ev", {**bad, "kept": 4})
        s.set_attribute("after", 5)
    assert agtrace.current_span() is None
    span = traced.one("keys")
    assert span["attributes"] == {"first": 1, "last": 2, "late": 3, "after": 5}
    assert span["events"][0]["attributes"] == {"kept": 4}
    assert traced.tracer.stats().misuse == {
        "bad_name": 4 * len(BAD_KEYS), "bad_value": 0, "ended_twice": 0, "bad_call": 0, "mask_failed": 0
    }
    # Logged once, naming the first bad key and what was wrong with it.
    logged = [line for line in capfd.readouterr().err.splitlines() if "misuse: bad_name" in line]
    assert len(logged) == 1, logged
    assert "attribute 1 dropped: keys must be non-empty strings" in logged[0]


def test_strict_mode_raises_instead(make_tracer):
    traced = make_tracer(strict=True)
    assert traced.tracer.strict
    with pytest.raises(agtrace.InvalidArgument, match="keys must be non-empty strings"):
        traced.tracer.span("strict start", attributes={1: "x"})
    with traced.tracer.span("strict") as s:
        with pytest.raises(agtrace.InvalidArgument, match="NUL"):
            s.set_attribute("a\0b", 1)
        with pytest.raises(agtrace.InvalidArgument, match="event 'ev'.*control character"):
            s.add_event("ev", {"bell\x07": 1})
        # Values still convert: they are no misuse.
        s.set_attribute("when", WHEN)
        s.set_attribute("obj", BadRepr())
    attrs = traced.one("strict")["attributes"]
    assert attrs["when"] == "2024-05-06T07:08:09.123456+00:00"
    assert attrs["obj"] == "<unrepresentable BadRepr>"
    assert "a\0b" not in attrs


def test_keyboard_interrupt_in_a_repr_propagates(traced):
    class Interrupting:
        def __repr__(self) -> str:
            raise KeyboardInterrupt

    with traced.tracer.span("interrupted") as s:
        with pytest.raises(KeyboardInterrupt):
            s.set_attribute("obj", Interrupting())
        s.set_attribute("after", 1)
    assert traced.one("interrupted")["attributes"] == {"after": 1}

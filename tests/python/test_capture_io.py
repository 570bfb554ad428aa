"""Decorated functions record their inputs and outputs (``input.value``,
``output.value`` and their MIME types; tool spans also
``gen_ai.tool.call.arguments``/``result``), unless turned off per decorator
or by ``AGTRACE_CAPTURE_IO``."""

from __future__ import annotations

import asyncio
import json

import pytest

import agtrace
from agtrace._decorators import MAX_YIELDS

DECORATORS = [agtrace.trace, agtrace.agent, agtrace.tool, agtrace.llm, agtrace.workflow]
IDS = ["trace", "agent", "tool", "llm", "workflow"]


def io(span):
    """The captured attributes of an exported span."""
    a = span["attributes"]
    keys = ("input.value", "input.mime_type", "output.value", "output.mime_type")
    return {k: a[k] for k in keys if k in a}


def inputs(span):
    assert span["attributes"]["input.mime_type"] == "application/json"
    return json.loads(span["attributes"]["input.value"])


@pytest.mark.parametrize("decorator", DECORATORS, ids=IDS)
def test_sync_function_records_arguments_by_name_and_result(traced, decorator):
    @decorator(tracer=traced.tracer)
    def lookup(city, units="metric", *rest, **extra):
        return {"city": city, "temp": 21.5}

    assert lookup("Paris", flag=True) == {"city": "Paris", "temp": 21.5}
    span = traced.one(lookup.__qualname__)
    assert inputs(span) == {"city": "Paris", "units": "metric", "rest": [], "extra": {"flag": True}}
    assert span["attributes"]["output.mime_type"] == "application/json"
    assert json.loads(span["attributes"]["output.value"]) == {"city": "Paris", "temp": 21.5}


@pytest.mark.parametrize("decorator", DECORATORS, ids=IDS)
def test_async_function_records_input_and_output(traced, decorator):
    @decorator(tracer=traced.tracer)
    async def fetch(url):
        await asyncio.sleep(0)
        return "page text"

    assert asyncio.run(fetch("https://example.com")) == "page text"
    span = traced.one(fetch.__qualname__)
    assert inputs(span) == {"url": "https://example.com"}
    assert span["attributes"]["output.value"] == "page text"
    assert span["attributes"]["output.mime_type"] == "text/plain"


@pytest.mark.parametrize("decorator", DECORATORS, ids=IDS)
def test_generator_output_is_what_it_yielded(traced, decorator):
    @decorator(tracer=traced.tracer)
    def count(n):
        yield from range(n)

    assert list(count(3)) == [0, 1, 2]
    span = traced.one(count.__qualname__)
    assert inputs(span) == {"n": 3}
    assert json.loads(span["attributes"]["output.value"]) == [0, 1, 2]
    assert span["attributes"]["output.mime_type"] == "application/json"


@pytest.mark.parametrize("decorator", DECORATORS, ids=IDS)
def test_async_generator_output_is_what_it_yielded(traced, decorator):
    @decorator(tracer=traced.tracer)
    async def words(text):
        for w in text.split():
            yield w

    async def main():
        return [w async for w in words("a b")]

    assert asyncio.run(main()) == ["a", "b"]
    span = traced.one(words.__qualname__)
    assert inputs(span) == {"text": "a b"}
    assert json.loads(span["attributes"]["output.value"]) == ["a", "b"]


def test_generator_output_is_bounded(traced):
    @agtrace.trace(tracer=traced.tracer)
    def many():
        yield from range(MAX_YIELDS + 5)

    assert sum(1 for _ in many()) == MAX_YIELDS + 5
    output = json.loads(traced.one("test_generator_output_is_bounded.<locals>.many")["attributes"]["output.value"])
    assert output == [*range(MAX_YIELDS), "<5 more items>"]


def test_generator_closed_early_records_what_it_yielded(traced):
    @agtrace.trace(tracer=traced.tracer)
    def endless():
        i = 0
        while True:
            yield i
            i += 1

    for i in endless():
        if i == 2:
            break
    span = traced.one("test_generator_closed_early_records_what_it_yielded.<locals>.endless")
    assert json.loads(span["attributes"]["output.value"]) == [0, 1, 2]


def test_self_and_cls_are_left_out(traced):
    class Weather:
        @agtrace.tool(name="method", tracer=traced.tracer)
        def forecast(self, city):
            return city

        @classmethod
        @agtrace.tool(name="classmethod", tracer=traced.tracer)
        def create(cls, region):
            return region

    Weather().forecast("Oslo")
    Weather.create("north")
    assert inputs(traced.one("method")) == {"city": "Oslo"}
    assert inputs(traced.one("classmethod")) == {"region": "north"}


def test_tool_span_carries_the_tool_call_arguments_and_result(traced):
    @agtrace.tool(tracer=traced.tracer)
    def lookup(city):
        return "sunny"

    lookup("Lima")
    a = traced.one("test_tool_span_carries_the_tool_call_arguments_and_result.<locals>.lookup")["attributes"]
    assert json.loads(a["gen_ai.tool.call.arguments"]) == {"city": "Lima"}
    assert json.loads(a["gen_ai.tool.call.result"]) == "sunny", "the result as JSON, even a string"
    assert a["output.value"] == "sunny"


def test_other_kinds_do_not_get_tool_call_fields(traced):
    @agtrace.agent(tracer=traced.tracer)
    def plan(goal):
        return goal

    plan("x")
    a = traced.one("test_other_kinds_do_not_get_tool_call_fields.<locals>.plan")["attributes"]
    assert "gen_ai.tool.call.arguments" not in a and "gen_ai.tool.call.result" not in a


def test_values_are_converted_like_attribute_values(traced):
    class Opaque:
        def __repr__(self):
            return "<Opaque>"

    @agtrace.trace(tracer=traced.tracer)
    def handle(data, blob, thing):
        return thing

    handle({"k": (1, 2)}, b"secret", Opaque())
    span = traced.one("test_values_are_converted_like_attribute_values.<locals>.handle")
    got = inputs(span)
    assert got["data"] == {"k": [1, 2]}
    assert got["blob"].startswith("<bytes len=6 sha256=") and "secret" not in got["blob"]
    assert got["thing"] == "<Opaque>"
    assert io(span)["output.value"] == "<Opaque>"


def test_unbindable_call_falls_back_to_positional_and_keyword_lists(traced):
    @agtrace.trace(tracer=traced.tracer)
    def one_arg(a):
        return a

    with pytest.raises(TypeError):
        one_arg(1, 2, b=3)
    span = traced.one("test_unbindable_call_falls_back_to_positional_and_keyword_lists.<locals>.one_arg")
    assert inputs(span) == {"args": [1, 2], "kwargs": {"b": 3}}


def test_exception_is_reraised_unchanged_with_its_input_recorded(traced):
    error = ValueError("no such city")

    @agtrace.tool(tracer=traced.tracer)
    def lookup(city):
        raise error

    with pytest.raises(ValueError) as caught:
        lookup("Atlantis")
    assert caught.value is error
    span = traced.one("test_exception_is_reraised_unchanged_with_its_input_recorded.<locals>.lookup")
    assert inputs(span) == {"city": "Atlantis"}
    assert "output.value" not in span["attributes"]
    assert span["status"]["code"] == "error"


def test_capture_never_raises_into_the_application(traced):
    class Hostile:
        def __repr__(self):
            raise RuntimeError("repr fails")

        def __eq__(self, other):
            raise AssertionError("capture must not compare arguments")

        __hash__ = object.__hash__

    @agtrace.trace(tracer=traced.tracer)
    def handle(x):
        return x

    h = Hostile()
    assert handle(h) is h
    span = traced.one("test_capture_never_raises_into_the_application.<locals>.handle")
    assert inputs(span) == {"x": "<unrepresentable test_capture_never_raises_into_the_application.<locals>.Hostile>"}


def test_capture_input_false(traced):
    @agtrace.tool(tracer=traced.tracer, capture_input=False)
    def lookup(city):
        return "sunny"

    lookup("Lima")
    a = traced.one("test_capture_input_false.<locals>.lookup")["attributes"]
    assert "input.value" not in a and "gen_ai.tool.call.arguments" not in a
    assert a["output.value"] == "sunny"


def test_capture_output_false(traced):
    @agtrace.tool(tracer=traced.tracer, capture_output=False)
    def lookup(city):
        yield "sunny"

    list(lookup("Lima"))
    a = traced.one("test_capture_output_false.<locals>.lookup")["attributes"]
    assert "output.value" not in a and "gen_ai.tool.call.result" not in a
    assert json.loads(a["input.value"]) == {"city": "Lima"}


def test_wrap_function_records_and_takes_the_same_switches(traced):
    def add(a, b):
        return a + b

    wrapped = agtrace.wrap_function(add, name="add", tracer=traced.tracer)
    quiet = agtrace.wrap_function(add, name="quiet", tracer=traced.tracer, capture_input=False, capture_output=False)
    assert wrapped(1, b=2) == 3 and quiet(1, 2) == 3
    assert inputs(traced.one("add")) == {"a": 1, "b": 2}
    assert traced.one("add")["attributes"]["output.value"] == "3"
    assert io(traced.one("quiet")) == {}


def test_capture_io_setting_false_turns_both_off(make_tracer):
    t = make_tracer(capture_io=False)
    assert t.tracer.get_config()["capture_io"] is False

    @agtrace.tool(tracer=t.tracer)
    def lookup(city):
        return "sunny"

    lookup("Lima")
    a = t.one("test_capture_io_setting_false_turns_both_off.<locals>.lookup")["attributes"]
    assert io(t.one("test_capture_io_setting_false_turns_both_off.<locals>.lookup")) == {}
    assert "gen_ai.tool.call.arguments" not in a and "gen_ai.tool.call.result" not in a


def test_capture_io_is_on_by_default(traced):
    assert traced.tracer.get_config()["capture_io"] is True
    assert traced.tracer.capture_io is True


def test_capture_io_from_the_environment(run_python, tmp_path):
    code = "import agtrace; print(agtrace.init(exporters='none').capture_io)"
    assert run_python(code, env={"AGTRACE_CAPTURE_IO": "false"}).stdout.strip() == "False"


def test_bad_capture_io_value_fails_init_naming_the_setting(make_tracer):
    with pytest.raises(agtrace.InvalidConfig, match="AGTRACE_CAPTURE_IO"):
        make_tracer(capture_io="sometimes")


def test_default_tracer_decorators_use_its_setting(initialized):
    @agtrace.workflow
    def run(task):
        return None

    run("t")
    span = initialized.one("test_default_tracer_decorators_use_its_setting.<locals>.run")
    assert io(span) == {
        "input.value": '{"task":"t"}',
        "input.mime_type": "application/json",
        "output.value": "null",
        "output.mime_type": "application/json",
    }


def test_arguments_bind_by_name_however_they_are_passed(traced):
    @agtrace.trace(tracer=traced.tracer, name="f")
    def f(a, b, c=3):
        return None

    f(1, 2)
    f(1, c=5, b=4)
    f(b=2, a=1)
    with pytest.raises(TypeError):
        f(1)  # the call fails; its span records what it was given
    with pytest.raises(TypeError):
        f(1, 2, d=4)
    recorded = [inputs(s) for s in sorted(traced.spans(), key=lambda s: s["startTimeUnixNano"])]
    assert recorded == [
        {"a": 1, "b": 2, "c": 3},
        {"a": 1, "b": 4, "c": 5},
        {"a": 1, "b": 2, "c": 3},
        {"args": [1], "kwargs": {}},
        {"args": [1, 2], "kwargs": {"d": 4}},
    ]
    assert [list(r) for r in recorded[:3]] == [["a", "b", "c"]] * 3, "in parameter order"

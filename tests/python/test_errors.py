"""Errors: telemetry never raises at run time. A wrong argument to a span's
start or methods is misuse: skipped, counted in ``stats().misuse`` by kind
and logged once; in strict mode it raises ``agtrace.InvalidArgument`` (an
``AgtraceError``) naming what was wrong, at the call that passed it. Either
way nothing else breaks (other spans still export, the current span is
restored); after shutdown, spans record nothing and never raise. Attribute
values of any type, and attributes with bad keys (dropped), raise nothing:
see test_values.py."""

from __future__ import annotations

import logging

import pytest

import agtrace


def test_error_hierarchy():
    assert issubclass(agtrace.InvalidArgument, agtrace.AgtraceError)
    assert issubclass(agtrace.InvalidArgument, ValueError)
    assert issubclass(agtrace.InvalidArgument, TypeError)
    assert issubclass(agtrace.InvalidConfig, agtrace.AgtraceError)
    for name in ("AlreadyEnded", "ShutDown", "Timeout", "ExporterError", "InternalError"):
        assert issubclass(getattr(agtrace, name), agtrace.AgtraceError)
    assert issubclass(agtrace.Timeout, TimeoutError)


NO_MISUSE = {"bad_name": 0, "bad_value": 0, "ended_twice": 0, "bad_call": 0, "mask_failed": 0}

# (arguments, what strict mode's message says, the misuse kind counted)
START_ERRORS = [
    pytest.param({"name": 123}, "name", "bad_name", id="name-int"),
    pytest.param({"name": None}, "name", "bad_name", id="name-none"),
    pytest.param({"name": b"bytes"}, "name", "bad_name", id="name-bytes"),
    pytest.param({"name": ""}, "name", "bad_name", id="name-empty"),
    pytest.param({"name": "nul\0name"}, "NUL", "bad_name", id="name-nul"),
    pytest.param({"attributes": [("key", "value")]}, "mapping", "bad_call", id="attributes-list"),
    pytest.param({"attributes": "key=value"}, "mapping", "bad_call", id="attributes-str"),
    # Falsy, but still not mappings.
    pytest.param({"attributes": []}, "mapping", "bad_call", id="attributes-empty-list"),
    pytest.param({"attributes": 0}, "mapping", "bad_call", id="attributes-zero"),
    pytest.param({"kind": "robot"}, "robot", "bad_call", id="kind-unknown-name"),
    pytest.param({"kind": 99}, "99", "bad_call", id="kind-unknown-number"),
    pytest.param({"kind": True}, "True", "bad_call", id="kind-bool"),
    pytest.param({"kind": 1.5}, "1.5", "bad_call", id="kind-float"),
    pytest.param({"parent": "00-abc"}, "parent.*str", "bad_call", id="parent-str"),
    pytest.param({"parent": 7}, "parent.*int", "bad_call", id="parent-int"),
    pytest.param({"parent": object()}, "parent.*object", "bad_call", id="parent-object"),
    pytest.param({"links": 5}, "links", "bad_call", id="links-int"),
    pytest.param({"links": ["00-abc"]}, "link", "bad_call", id="links-str-element"),
]


@pytest.mark.parametrize("bad, fragment, kind", START_ERRORS)
def test_bad_span_arguments_raise_invalid_argument_in_strict_mode(make_tracer, bad, fragment, kind):
    traced = make_tracer(strict=True)
    args = {"name": "fine", **bad}
    with pytest.raises(agtrace.InvalidArgument, match=fragment):
        traced.tracer.span(args.pop("name"), **args)
    # Nothing was started, and the tracer goes on.
    assert agtrace.current_span() is None
    with traced.tracer.span("after the error"):
        pass
    assert [s["name"] for s in traced.spans()] == ["after the error"]
    stats = traced.tracer.stats()
    assert stats.started == 1
    assert stats.misuse == {**NO_MISUSE, kind: 1}, "counted as well as raised"


@pytest.mark.parametrize("bad, fragment, kind", START_ERRORS)
def test_bad_span_arguments_are_counted_and_skipped(traced, bad, fragment, kind):
    args = {"name": "fine", **bad}
    with traced.tracer.span("parent"):
        with traced.tracer.span(args.pop("name"), **args) as s:
            s.set_attribute("recorded", True)
    assert agtrace.current_span() is None
    by_name = {s["name"]: s for s in traced.spans()}
    if kind == "bad_name":
        # A span with a bad name starts nothing.
        assert set(by_name) == {"parent"}
        assert not s.is_recording()
    else:
        # The rest starts a span without what it could not use: kind PLAIN,
        # no attributes or links, the current span as its parent.
        fine = by_name["fine"]
        assert fine["attributes"] == {"recorded": True}
        assert fine["parentSpanId"] == by_name["parent"]["spanId"]
        assert fine["kind"] == "INTERNAL" and fine["links"] == []
    assert traced.tracer.stats().misuse == {**NO_MISUSE, kind: 1}


def test_module_level_span_checks_arguments_too(tmp_path):
    from sdk_support import Traced, file_settings

    traced = Traced(agtrace.init("strict", strict=True, **file_settings(tmp_path / "s.jsonl")), tmp_path / "s.jsonl")
    try:
        with pytest.raises(agtrace.InvalidArgument, match="name"):
            agtrace.span(42)
        with pytest.raises(agtrace.InvalidArgument, match="robot"):
            agtrace.span("x", kind="robot")
        with agtrace.span("still works"):
            pass
        assert traced.one("still works")
        assert agtrace.stats().misuse == {**NO_MISUSE, "bad_name": 1, "bad_call": 1}
    finally:
        agtrace.shutdown()


def test_misuse_is_logged_once_per_kind(traced, capfd):
    for _ in range(3):
        traced.tracer.span("")
        traced.tracer.span("x", kind="robot").end()
    lines = capfd.readouterr().err.splitlines()
    assert len([line for line in lines if "misuse: bad_name" in line]) == 1, lines
    assert len([line for line in lines if "misuse: bad_call" in line]) == 1, lines
    assert traced.tracer.stats().misuse == {**NO_MISUSE, "bad_name": 3, "bad_call": 3}


def _span_method_errors():
    return [
        pytest.param(lambda s: s.set_attributes(["not", "a", "mapping"]), "mapping", id='set_attributes([not,a,mapping])'),
        pytest.param(lambda s: s.set_status("maybe"), "status", id='set_status(maybe)'),
        pytest.param(lambda s: s.set_status(2), "status", id='set_status(2)'),
        pytest.param(lambda s: s.set_status("error", 500), "description", id='set_status(error,500)'),
        pytest.param(lambda s: s.record_exception("not an exception"), "exception", id='record_exception(notanexception)'),
        pytest.param(lambda s: s.set_usage(-1), "non-negative", id='set_usage(-1)'),
        pytest.param(lambda s: s.set_usage(1, output_tokens=-5), "-5", id='set_usage(1,output_tokens=-5)'),
        pytest.param(lambda s: s.set_usage(1.5), "1.5", id='set_usage(1.5)'),
        pytest.param(lambda s: s.set_usage(True), "True", id='set_usage(True)'),
        pytest.param(lambda s: s.set_usage(cache_read_input_tokens="10"), "'10'", id='set_usage(cache_read_input_tokens=10)'),
        pytest.param(lambda s: s.set_llm(provider=1), "provider", id='set_llm(provider=1)'),
        pytest.param(lambda s: s.set_llm(request_model=b"gpt"), "request_model", id='set_llm(request_model=bgpt)'),
        pytest.param(lambda s: s.set_llm(finish_reasons="stop"), "finish_reasons", id='set_llm(finish_reasons=stop)'),
        pytest.param(lambda s: s.set_llm(finish_reasons=["stop", 1]), "finish_reasons", id='set_llm(finish_reasons=[stop,1])'),
        pytest.param(lambda s: s.set_messages(input=[{"role": "user", "content": object()}]), "messages", id='set_messages(input=[{role:user,content:object()}])'),
        pytest.param(lambda s: s.add_link("00-abc"), "link", id='add_link(str)'),
        pytest.param(lambda s: s.set_tool(None), "name", id='set_tool(None)'),
        pytest.param(lambda s: s.set_agent(7), "name", id='set_agent(7)'),
        pytest.param(lambda s: s.update_name(None), "name", id='update_name(None)'),
        pytest.param(lambda s: s.add_event(3), "name", id='add_event(3)'),
    ]


@pytest.mark.parametrize("call, fragment", _span_method_errors())
def test_bad_span_method_arguments_raise_in_strict_mode_and_the_span_survives(make_tracer, call, fragment):
    traced = make_tracer(strict=True)
    with traced.tracer.span("survivor") as s:
        s.set_attribute("before", 1)
        with pytest.raises(agtrace.InvalidArgument, match=fragment):
            call(s)
        s.set_attribute("after", 2)
    assert agtrace.current_span() is None
    attrs = traced.one("survivor")["attributes"]
    assert (attrs["before"], attrs["after"]) == (1, 2)
    assert "agtrace.abandoned" not in attrs


@pytest.mark.parametrize("call, fragment", _span_method_errors())
def test_bad_span_method_arguments_are_counted_and_ignored(traced, call, fragment):
    with traced.tracer.span("survivor") as s:
        s.set_attribute("before", 1)
        call(s)
        s.set_attribute("after", 2)
    span = traced.one("survivor")
    assert span["attributes"] == {"before": 1, "after": 2}, "the bad call recorded nothing"
    assert span["status"]["code"] == "unset" and span["events"] == [] and span["links"] == []
    assert sum(traced.tracer.stats().misuse.values()) == 1


@pytest.mark.parametrize(
    "call",
    [lambda s: s.update_name("chat\0gpt"), lambda s: s.set_status("error", "bad\0thing")],
    ids=["update_name", "set_status"],
)
def test_nul_in_a_name_or_description_is_rejected_like_at_start(make_tracer, call):
    # agtrace.span("a\0b") is misuse; renaming to such a name must be too,
    # not export an altered text.
    traced = make_tracer(strict=True)
    with traced.tracer.span("nul text") as s:
        with pytest.raises(agtrace.InvalidArgument, match="NUL"):
            call(s)
    span = traced.one("nul text")
    assert "\\u0000" not in span["status"]["message"]


def test_bad_timeouts_raise(traced):
    for bad in (-1, "1", None, True):
        with pytest.raises(agtrace.InvalidArgument, match="timeout"):
            traced.tracer.flush(bad)
        with pytest.raises(agtrace.InvalidArgument, match="timeout"):
            traced.tracer.shutdown(bad)
    assert not traced.tracer.is_shut_down()


def test_bad_use_span_argument(traced):
    with pytest.raises(agtrace.InvalidArgument, match="use_span"):
        with agtrace.use_span("span"):
            pass
    assert agtrace.current_span() is None


def test_after_shutdown_spans_record_nothing_and_never_raise(initialized, caplog):
    open_before = agtrace.span("open at shutdown")
    with agtrace.span("exported"):
        pass
    assert agtrace.shutdown()
    assert not agtrace.is_active()

    @agtrace.tool
    def still_runs(x):
        return x + 1

    with caplog.at_level(logging.WARNING, logger="agtrace"):
        with agtrace.span("late", kind="llm", attributes={"k": 1}) as s:
            assert not s.is_recording()
            assert s.context is None
            s.set_attribute("more", 2)
            s.set_usage(1, 2)
            s.add_event("ev")
            s.set_status("ok")
            with agtrace.span("late child"):
                pass
        assert still_runs(1) == 2
        with pytest.raises(KeyError):
            with agtrace.span("late failure"):
                raise KeyError("still propagates")
        manual = agtrace.start_span("late manual")
        manual.end()
        open_before.set_attribute("after shutdown", True)
        open_before.end()
        assert agtrace.inject() == {}
        assert agtrace.flush()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert [s["name"] for s in initialized.spans()] == ["exported"]
    stats = agtrace.stats()
    assert stats.started == 2, "spans after shutdown are not started"
    assert stats.exported == 1


def test_explicit_tracer_after_shutdown(traced):
    t = traced.tracer
    assert t.shutdown()
    s = t.span("after", attributes={"k": "v"})
    assert not s.is_recording()
    s.end()
    assert t.extract({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}) is not None
    assert traced.spans() == []

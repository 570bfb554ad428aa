"""``agtrace.session(...)``: trace-level context (user, session, conversation,
tags, metadata, environment, release) on every span of the traces started
inside the block, under the names the core writes (core/src/semconv.rs:
``user.id``, ``session.id``, ``tag.tags``, ``metadata`` as JSON text,
``deployment.environment.name``, ``agtrace.release``; the conversation id
under ``gen_ai.conversation.id``)."""

from __future__ import annotations

import json
import threading

import pytest
from sdk_support import one

import agtrace

TRACE_KEYS = (
    "user.id",
    "session.id",
    "gen_ai.conversation.id",
    "tag.tags",
    "metadata",
    "deployment.environment.name",
    "agtrace.release",
)


def test_session_puts_trace_context_on_spans(traced):
    t = traced.tracer
    with agtrace.session(
        user_id="u-42",
        session_id="s-7",
        conversation_id="c-1",
        tags=["beta", "eu"],
        metadata={"plan": "pro", "seats": 3},
        environment="staging",
        release="2.1.0",
    ):
        with t.span("root"):
            with t.span("child"):
                pass
    spans = traced.spans()
    for name in ("root", "child"):
        attrs = one(spans, name)["attributes"]
        assert attrs["user.id"] == "u-42"
        assert attrs["session.id"] == "s-7"
        assert attrs["gen_ai.conversation.id"] == "c-1"
        assert attrs["tag.tags"] == ["beta", "eu"]
        assert json.loads(attrs["metadata"]) == {"plan": "pro", "seats": 3}
        assert attrs["deployment.environment.name"] == "staging"
        assert attrs["agtrace.release"] == "2.1.0"


def test_spans_outside_the_session_do_not_get_it(traced):
    t = traced.tracer
    with t.span("before"):
        pass
    with agtrace.session(user_id="u-1", tags=["x"], metadata={"a": 1}):
        with t.span("inside"):
            pass
    with t.span("after"):
        pass
    spans = traced.spans()
    assert one(spans, "inside")["attributes"]["user.id"] == "u-1"
    for name in ("before", "after"):
        attrs = one(spans, name)["attributes"]
        assert not set(TRACE_KEYS) & set(attrs), f"{name}: {attrs}"


def test_nested_sessions_merge(traced):
    t = traced.tracer
    with agtrace.session(user_id="u-1", session_id="outer", tags=["a", "b"], metadata={"x": 1, "y": 1}):
        with t.span("outer span"):
            pass
        with agtrace.session(session_id="inner", tags=["b", "c"], metadata={"y": 2, "z": 3}):
            with t.span("inner span"):
                pass
        with t.span("outer again"):
            pass
    spans = traced.spans()
    inner = one(spans, "inner span")["attributes"]
    assert inner["user.id"] == "u-1", "inherited from the outer scope"
    assert inner["session.id"] == "inner", "the inner scope's value wins"
    assert inner["tag.tags"] == ["a", "b", "c"], "tags merged, no repeats"
    assert json.loads(inner["metadata"]) == {"x": 1, "y": 2, "z": 3}
    for name in ("outer span", "outer again"):
        attrs = one(spans, name)["attributes"]
        assert attrs["session.id"] == "outer"
        assert attrs["tag.tags"] == ["a", "b"]
        assert json.loads(attrs["metadata"]) == {"x": 1, "y": 1}


def test_session_applies_to_a_trace_continued_inside_it(traced):
    t = traced.tracer
    # The trace started before the session; its next span is started inside.
    with t.span("request") as request:
        with agtrace.session(user_id="late-user"):
            with t.span("inside session"):
                pass
    spans = traced.spans()
    assert one(spans, "inside session")["attributes"]["user.id"] == "late-user"
    # Trace-level: the whole trace carries it, its root included.
    assert one(spans, "request")["attributes"]["user.id"] == "late-user"
    assert one(spans, "request")["spanId"] == request.context.span_id


def test_a_spans_own_attribute_wins_over_the_session(traced):
    with agtrace.session(user_id="from-session", session_id="s"):
        with traced.tracer.span("own", attributes={"user.id": "from-span"}):
            pass
    attrs = traced.one("own")["attributes"]
    assert attrs["user.id"] == "from-span"
    assert attrs["session.id"] == "s"


def test_global_tags_combine_with_session_tags(traced):
    t = traced.tracer
    t.add_tags("global")
    with agtrace.session(tags=["scoped"]):
        with t.span("tagged"):
            pass
    assert traced.one("tagged")["attributes"]["tag.tags"] == ["global", "scoped"]


def test_session_follows_bind_into_threads_only(traced):
    t = traced.tracer

    def work(name):
        with t.span(name):
            pass

    with agtrace.session(user_id="threaded"):
        bound = threading.Thread(target=agtrace.bind(work), args=("bound",))
        plain = threading.Thread(target=work, args=("plain",))
        for th in (bound, plain):
            th.start()
            th.join()
    spans = traced.spans()
    assert one(spans, "bound")["attributes"]["user.id"] == "threaded"
    assert "user.id" not in one(spans, "plain")["attributes"]


def test_session_with_module_level_spans(initialized):
    with agtrace.session(user_id="u-mod", tags=["m"]):
        with agtrace.span("module span"):
            pass
    attrs = initialized.one("module span")["attributes"]
    assert attrs["user.id"] == "u-mod"
    assert attrs["tag.tags"] == ["m"]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"user_id": 42}, "user_id"),
        ({"session_id": b"s"}, "session_id"),
        ({"tags": "one-string"}, "tags"),
        ({"tags": ["ok", 1]}, "tags"),
        ({"metadata": ["not", "a", "mapping"]}, "metadata"),
        ({"metadata": {"when": object()}}, "metadata"),
    ],
)
def test_bad_session_arguments_raise(kwargs, fragment):
    with pytest.raises(agtrace.InvalidArgument, match=fragment):
        with agtrace.session(**kwargs):
            pass

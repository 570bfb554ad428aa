"""Text that crosses into the core: a str holding lone surrogates (what
``os.fsdecode`` makes of undecodable bytes) has no UTF-8 form; each
surrogate is recorded as U+FFFD and the call is never dropped, whichever
entry point took the string. Checked on what the file exporter wrote."""

from __future__ import annotations

import os

import pytest

BAD = os.fsdecode(b"report-\xff.txt")
FIXED = "report-\ufffd.txt"


def test_an_exception_message_with_lone_surrogates_is_recorded(traced):
    assert BAD != FIXED
    with pytest.raises(FileNotFoundError):
        with traced.tracer.span("open"):
            raise FileNotFoundError(f"cannot open {BAD}")
    span = traced.one("open")
    assert span["status"] == {"code": "error", "message": f"cannot open {FIXED}"}
    (event,) = span["events"]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == "FileNotFoundError"
    assert event["attributes"]["exception.message"] == f"cannot open {FIXED}"
    assert f"cannot open {FIXED}" in event["attributes"]["exception.stacktrace"]


def test_every_entry_point_taking_text_replaces_lone_surrogates(traced):
    t = traced.tracer
    with t.span(f"start {BAD}", attributes={f"start {BAD}": BAD}) as s:
        s.set_attribute(f"key {BAD}", BAD)
        s.set_attribute("list", [BAD, "ok"])
        s.set_attribute("nested", {"file": BAD, BAD: [1]})
        s.set_attributes({f"many {BAD}": BAD})
        s.add_event(f"event {BAD}", {f"ev {BAD}": BAD})
        s.set_tool(BAD, BAD)
        s.set_agent(BAD, BAD)
        s.record_exception(ValueError(BAD))
        s.set_status("error", BAD)
    with t.span("renamed") as s:
        s.update_name(f"renamed {BAD}")

    spans = traced.spans()
    span = next(x for x in spans if x["name"] == f"start {FIXED}")
    attrs = span["attributes"]
    assert attrs[f"start {FIXED}"] == FIXED
    assert attrs[f"key {FIXED}"] == FIXED
    assert attrs["list"] == [FIXED, "ok"]
    assert attrs["nested"] == '{"file":"' + FIXED + '","' + FIXED + '":[1]}'
    assert attrs[f"many {FIXED}"] == FIXED
    assert attrs["gen_ai.tool.name"] == attrs["gen_ai.tool.call.id"] == FIXED
    assert attrs["gen_ai.agent.name"] == attrs["gen_ai.agent.id"] == FIXED
    event, exception = span["events"]
    assert event["name"] == f"event {FIXED}"
    assert event["attributes"] == {f"ev {FIXED}": FIXED}
    assert exception["attributes"]["exception.message"] == FIXED
    assert span["status"] == {"code": "error", "message": FIXED}
    assert any(x["name"] == f"renamed {FIXED}" for x in spans)
    # Nothing was misuse: every call was recorded.
    assert sum(t.stats().misuse.values()) == 0

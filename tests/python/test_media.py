"""Inline media that a decorated function receives (a base64 data URL in its
arguments, captured as ``input.value``) is exported as a placeholder by the
core (``AGTRACE_MEDIA``: ``placeholder`` by default, ``drop``, ``keep``);
the setting passes through ``init``/``Tracer`` keywords, the environment and
``set_config``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from sdk_support import read_spans

import agtrace

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
PAYLOAD = base64.b64encode(PNG).decode()
URL = f"data:image/png;base64,{PAYLOAD}"
PLACEHOLDER = f"<media image/png {len(PNG)} bytes sha256:{hashlib.sha256(PNG).hexdigest()[:16]}>"
DROPPED = f"<media image/png {len(PNG)} bytes dropped>"


def image_input(path: Path) -> str:
    """The ``image`` argument of the one span in ``path``, checking that no
    piece of the payload is in the file when it was replaced."""
    text = path.read_text(encoding="utf-8")
    (span,) = read_spans(path)
    image: str = json.loads(span["attributes"]["input.value"])["image"]
    if image != URL:
        assert not any(PAYLOAD[i : i + 24] in text for i in range(0, len(PAYLOAD), 24))
    return image


def test_a_data_url_argument_is_exported_as_a_placeholder(traced):
    @agtrace.tool(tracer=traced.tracer)
    def describe(question, image):
        return "a test pattern"

    describe("what is this?", URL)
    traced.tracer.flush(5.0)
    assert image_input(traced.path) == PLACEHOLDER
    assert traced.tracer.get_config()["redaction"]["media"] == "placeholder"


def test_agtrace_media_from_the_environment(run_python, tmp_path):
    path = tmp_path / "spans.jsonl"
    code = f"""
        import agtrace
        agtrace.init(exporters="file", file_path={str(path)!r})

        @agtrace.tool
        def describe(question, image):
            return None

        describe("what is this?", {URL!r})
        agtrace.shutdown()
    """
    run_python(code, env={"AGTRACE_MEDIA": "drop"})
    assert image_input(path) == DROPPED


def test_the_media_keyword_and_live_changes(make_tracer):
    t = make_tracer(media="keep")

    @agtrace.tool(tracer=t.tracer)
    def describe(question, image):
        return None

    describe("what is this?", URL)
    t.tracer.flush(5.0)
    assert image_input(t.path) == URL
    t.tracer.set_config(media="drop")
    describe("what is this?", URL)
    t.tracer.flush(5.0)
    last = read_spans(t.path)[-1]
    assert json.loads(last["attributes"]["input.value"])["image"] == DROPPED


def test_a_bad_media_value_fails_naming_the_setting(make_tracer):
    with pytest.raises(agtrace.InvalidConfig, match=re.escape("AGTRACE_MEDIA")):
        make_tracer(media="strip")

"""Configuration: from the environment (in a child interpreter), from keyword
settings named after the variables, errors naming the setting, and the live
configuration of a running tracer (get/set, redaction rules, tags)."""

from __future__ import annotations

import gc
import json
import sys

import pytest
from sdk_support import one, read_spans

import agtrace


def test_init_from_environment(run_python, tmp_path):
    path = tmp_path / "env.jsonl"
    done = run_python(
        """
        import json, agtrace
        t = agtrace.init()
        assert agtrace.is_active()
        with agtrace.span("from env"):
            pass
        print(json.dumps(agtrace.get_config()))
        # No shutdown: the exit hook delivers.
        """,
        env={
            "OTEL_SERVICE_NAME": "svc-from-env",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci,team=search%2Cranking",
            "AGTRACE_EXPORTERS": "file",
            "AGTRACE_FILE_PATH": str(path),
            "AGTRACE_CAPTURE_CONTENT": "true",
            "AGTRACE_TAGS": "nightly,py",
            "OTEL_PROPAGATORS": "b3multi",
            "OTEL_BSP_SCHEDULE_DELAY": "250",
        },
    )
    assert done.returncode == 0, done.describe()
    config = json.loads(done.stdout)
    assert config["service_name"] == "svc-from-env"
    assert config["exporters"] == ["file"]
    assert config["capture_content"] is True
    assert config["global_tags"] == ["nightly", "py"]
    assert config["propagators"] == ["b3multi"]
    assert config["batch"]["flush_interval_ms"] == 250
    (span,) = read_spans(path)
    assert span["name"] == "from env"
    assert span["resource"]["service.name"] == "svc-from-env"
    assert span["resource"]["deployment.environment"] == "ci"
    assert span["resource"]["team"] == "search,ranking"
    assert span["attributes"]["tag.tags"] == ["nightly", "py"]


def test_code_wins_over_environment_and_ignore_env(run_python, tmp_path):
    done = run_python(
        f"""
        import agtrace
        a = agtrace.Tracer("from-code", "none")
        b = agtrace.Tracer(exporters="none", ignore_env=True)
        c = agtrace.Tracer(exporters="none", capture_content=False)
        print(a.get_config()["service_name"], b.get_config()["service_name"],
              b.get_config()["capture_content"], c.get_config()["capture_content"])
        """,
        env={"OTEL_SERVICE_NAME": "from-env", "AGTRACE_CAPTURE_CONTENT": "true"},
    )
    assert done.returncode == 0, done.describe()
    assert done.stdout.split() == ["from-code", "unknown_service", "False", "False"]


def test_sdk_disabled_from_environment(run_python, tmp_path):
    path = tmp_path / "disabled.jsonl"
    done = run_python(
        """
        import agtrace
        agtrace.init()
        with agtrace.span("dropped") as s:
            assert not s.is_recording()
        agtrace.shutdown()
        print(agtrace.get_config()["disabled"], agtrace.get_config()["exporters"])
        """,
        env={"OTEL_SDK_DISABLED": "true", "AGTRACE_EXPORTERS": "file", "AGTRACE_FILE_PATH": str(path)},
    )
    assert done.returncode == 0, done.describe()
    assert done.stdout.split() == ["True", "[]"]
    assert read_spans(path) == []


def test_keyword_settings_map_to_setting_names(make_tracer):
    traced = make_tracer(
        capture_content=True,
        tags=["a", "b"],
        metadata={"team": "search"},
        propagators="b3",
        schedule_delay=200,
        max_retries=2,
        redact_tool_results=True,
        resource_attributes={"deployment.environment": "test", "odd": "x,y%z"},
    )
    config = traced.tracer.get_config()
    assert config["service_name"] == "agtrace-python-tests"
    assert config["capture_content"] is True
    assert config["global_tags"] == ["a", "b"]
    assert config["global_metadata"] == {"team": "search"}
    assert config["propagators"] == ["b3"]
    assert config["batch"]["flush_interval_ms"] == 200
    assert config["delivery"]["max_retries"] == 2
    assert config["redaction"]["redact_tool_results"] is True
    with traced.tracer.span("configured"):
        pass
    span = traced.one("configured")
    assert span["resource"]["deployment.environment"] == "test"
    assert span["resource"]["odd"] == "x,y%z"
    assert json.loads(span["attributes"]["metadata"]) == {"team": "search"}


def test_exporters_as_a_list(make_tracer):
    traced = make_tracer(exporters=["file", "none"])
    assert traced.tracer.get_config()["exporters"] == ["file", "none"]
    with traced.tracer.span("to both"):
        pass
    assert [e.name for e in traced.tracer.stats().exporters] == ["file", "none"]
    assert traced.one("to both")


def test_sampling_rate_keyword(make_tracer):
    traced = make_tracer(sampling_rate=0.0)
    assert traced.tracer.get_config()["sampling"]["rate"] == 0.0
    with traced.tracer.span("never sampled") as s:
        assert not s.is_recording()
    assert traced.spans() == []
    assert traced.tracer.stats().unsampled == 1


def test_unknown_keyword_raises_naming_it():
    with pytest.raises(agtrace.InvalidConfig, match="unknown setting 'colour'"):
        agtrace.Tracer(exporters="none", colour="red", ignore_env=True)
    with pytest.raises(agtrace.InvalidConfig, match="capture_contents.*did you mean capture_content"):
        agtrace.init(exporters="none", capture_contents=True, ignore_env=True)


@pytest.mark.parametrize(
    "settings, fragment",
    [
        ({"links": "maybe"}, "AGTRACE_LINKS"),
        ({"sampling_rate": 2}, "OTEL_TRACES_SAMPLER_ARG"),
        ({"propagators": "carrier-pigeon"}, "OTEL_PROPAGATORS"),
        ({"max_message_chars": 10}, "AGTRACE_MAX_MESSAGE_CHARS"),
        ({"metadata": "not json"}, "AGTRACE_METADATA"),
        ({"exporters": "bogus"}, "AGTRACE_EXPORTERS"),
        ({"capture_content": object()}, "AGTRACE_CAPTURE_CONTENT"),
        ({"service_name": 123}, "service_name"),
        ({"exporters": "otlp", "endpoint": "http://[::1"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ({"max_queue_size": 100_000_000_000}, "OTEL_BSP_MAX_QUEUE_SIZE.*between 1 and 1048576"),
        ({"schedule_delay": 0}, "OTEL_BSP_SCHEDULE_DELAY"),
        ({"capture_content": "maybe"}, "AGTRACE_CAPTURE_CONTENT.*true/false, 1/0, yes/no or on/off"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_bad_value_raises_naming_the_setting(settings, fragment):
    settings = {"exporters": "none", **settings}
    with pytest.raises(agtrace.InvalidConfig, match=fragment):
        agtrace.Tracer(ignore_env=True, **settings)


def test_init_raises_naming_the_setting():
    with pytest.raises(agtrace.InvalidConfig, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        agtrace.init(exporters="otlp", endpoint="http://[::1", ignore_env=True)
    with pytest.raises(agtrace.InvalidConfig, match="OTEL_BSP_MAX_QUEUE_SIZE"):
        agtrace.init(exporters="none", max_queue_size=100_000_000_000, ignore_env=True)


@pytest.mark.parametrize("exit_timeout", [-1, "5"])
def test_bad_exit_timeout_is_a_config_error_raised_before_anything_starts(tmp_path, exit_timeout):
    # Like every other bad setting: InvalidConfig, and nothing created (the
    # file exporter would create its file).
    path = tmp_path / "never.jsonl"
    with pytest.raises(agtrace.InvalidConfig, match="exit_timeout"):
        agtrace.Tracer(exporters="file", file_path=str(path), exit_timeout=exit_timeout, ignore_env=True)
    assert not path.exists()


def test_failed_construction_leaves_no_error_behind(monkeypatch):
    # A Tracer whose settings are rejected is collected; collecting it must
    # not raise inside __del__ (Python prints such errors on stderr).
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    for bad in ({"colour": "red"}, {"capture_content": object()}, {"links": "maybe"}):
        try:
            agtrace.Tracer(exporters="none", ignore_env=True, **bad)
        except agtrace.InvalidConfig:
            pass
    gc.collect()
    assert [f"{u.exc_type.__name__}: {u.exc_value} in {u.object!r}" for u in unraisable] == []


def test_exporter_that_cannot_be_created(tmp_path):
    with pytest.raises(agtrace.ExporterError, match="missing-dir"):
        agtrace.Tracer(exporters="file", file_path=str(tmp_path / "missing-dir" / "x.jsonl"), ignore_env=True)


def test_is_active_follows_init_and_shutdown(tmp_path):
    t = agtrace.init("lifecycle", exporters="none", ignore_env=True)
    try:
        assert agtrace.is_active()
        assert not t.is_shut_down()
    finally:
        assert agtrace.shutdown()
    assert not agtrace.is_active()
    assert t.is_shut_down()
    assert agtrace.shutdown(), "shutdown is idempotent"


def test_init_replaces_and_shuts_down_the_previous_default(tmp_path):
    first = agtrace.init("first", exporters="file", file_path=str(tmp_path / "first.jsonl"), ignore_env=True)
    with agtrace.span("to first"):
        pass
    second = agtrace.init("second", exporters="file", file_path=str(tmp_path / "second.jsonl"), ignore_env=True)
    try:
        assert first.is_shut_down(), "the replaced tracer is shut down (and flushed)"
        assert [s["name"] for s in read_spans(tmp_path / "first.jsonl")] == ["to first"]
        with agtrace.span("to second"):
            pass
        assert agtrace.get_config()["service_name"] == "second"
        assert agtrace.flush()
        assert [s["name"] for s in read_spans(tmp_path / "second.jsonl")] == ["to second"]
    finally:
        second.shutdown()


def test_get_config_of_the_default_tracer(initialized):
    config = agtrace.get_config()
    assert config["service_name"] == "agtrace-python-tests"
    assert config["exporters"] == ["file"]
    assert config["capture_content"] is False
    assert config["sampling"] == {"rate": 1.0, "parent_based": True, "rules": []}
    for section in ("redaction", "batch", "delivery"):
        assert isinstance(config[section], dict)
    assert config == initialized.tracer.get_config()


def test_set_config_sampling_rate(initialized):
    with agtrace.span("sampled before"):
        pass
    agtrace.set_config(sampling_rate=0.0)
    assert agtrace.get_config()["sampling"]["rate"] == 0.0
    with agtrace.span("not exported") as s:
        assert not s.is_recording()
        with agtrace.span("child of unsampled"):
            pass
    agtrace.set_config(sampling_rate=1.0)
    with agtrace.span("sampled after"):
        pass
    names = sorted(s["name"] for s in initialized.spans())
    assert names == ["sampled after", "sampled before"]
    assert agtrace.stats().unsampled == 2


def test_set_config_tags_metadata_and_links(initialized):
    agtrace.set_config(tags=["live"], metadata={"build": 7, "owner": {"team": "ml"}})
    with agtrace.span("after set_config"):
        pass
    config = agtrace.get_config()
    assert config["global_tags"] == ["live"]
    assert config["global_metadata"] == {"build": 7, "owner": {"team": "ml"}}
    attrs = initialized.one("after set_config")["attributes"]
    assert attrs["tag.tags"] == ["live"]
    assert json.loads(attrs["metadata"]) == {"build": 7, "owner": {"team": "ml"}}
    agtrace.set_config(links=False)


def test_set_config_redaction_rule(initialized):
    agtrace.set_config(max_attribute_bytes=100)
    assert agtrace.get_config()["redaction"]["max_attribute_bytes"] == 100
    with agtrace.span("long") as s:
        s.set_attribute("essay", "x" * 1000)
    essay = initialized.one("long")["attributes"]["essay"]
    assert len(essay.encode()) <= 100
    assert "truncated" in essay


def test_set_config_rejects_fixed_and_bad_settings(initialized):
    before = agtrace.get_config()
    with pytest.raises(agtrace.InvalidConfig, match="'service_name' cannot be changed"):
        agtrace.set_config(service_name="other")
    with pytest.raises(agtrace.InvalidConfig, match="sampling.rate"):
        agtrace.set_config(sampling_rate=1.5)
    with pytest.raises(agtrace.InvalidConfig, match="redact_messages"):
        agtrace.set_config(redact_messages="yes")
    assert agtrace.get_config() == before


def test_update_redaction_rules_redacts_messages(make_tracer):
    traced = make_tracer(capture_content=True)
    t = traced.tracer
    messages = [{"role": "user", "content": "my card is 4111"}]
    with t.span("before", kind="llm") as s:
        s.set_messages(input=messages)
    # Rules apply when a span is exported: deliver the first one before.
    assert t.flush()
    t.update_redaction_rules(redact_messages=True)
    assert t.get_config()["redaction"]["redact_messages"] is True
    with t.span("after", kind="llm") as s:
        s.set_messages(input=messages, output=[{"role": "assistant", "content": "noted"}])
    spans = traced.spans()
    assert json.loads(one(spans, "before")["attributes"]["gen_ai.input.messages"]) == messages
    after = one(spans, "after")["attributes"]
    assert after["gen_ai.input.messages"] == "[REDACTED]"
    assert after["gen_ai.output.messages"] == "[REDACTED]"


def test_module_update_redaction_rules(initialized):
    agtrace.update_redaction_rules(sensitive_keys=["customer_ssn"])
    assert "customer_ssn" in agtrace.get_config()["redaction"]["sensitive_keys"]
    with agtrace.span("masked", attributes={"customer_ssn": "123-45-6789", "plain": "kept"}):
        pass
    attrs = initialized.one("masked")["attributes"]
    assert attrs["customer_ssn"] == "[REDACTED]"
    assert attrs["plain"] == "kept"


def test_update_redaction_rules_rejects_bad_rules(traced):
    before = traced.tracer.get_config()["redaction"]
    with pytest.raises(agtrace.InvalidConfig, match="redact_everything"):
        traced.tracer.update_redaction_rules(redact_everything=True)
    with pytest.raises(agtrace.InvalidConfig, match="max_message_chars"):
        traced.tracer.update_redaction_rules(max_message_chars=10)
    with pytest.raises(agtrace.InvalidConfig, match="scrub_patterns"):
        traced.tracer.update_redaction_rules(scrub_patterns=["(unclosed"])
    assert traced.tracer.get_config()["redaction"] == before


def test_add_tags(initialized):
    with agtrace.span("untagged"):
        pass
    assert initialized.tracer.flush()
    agtrace.add_tags("canary", "eu-west")
    agtrace.add_tags("canary")
    with agtrace.span("tagged"):
        pass
    spans = initialized.spans()
    assert "tag.tags" not in one(spans, "untagged")["attributes"]
    assert one(spans, "tagged")["attributes"]["tag.tags"] == ["canary", "eu-west"]
    assert agtrace.get_config()["global_tags"] == ["canary", "eu-west"]
    with pytest.raises(agtrace.InvalidArgument, match="tags"):
        agtrace.add_tags(1)


def test_module_functions_before_init_need_init(run_python):
    done = run_python(
        """
        import agtrace
        assert not agtrace.is_active()
        assert agtrace.flush() and agtrace.shutdown()
        assert agtrace.inject() == {} and agtrace.extract({"traceparent": "x"}) is None
        for call in (agtrace.stats, agtrace.get_config):
            try:
                call()
            except agtrace.AgtraceError as e:
                assert "init" in str(e), e
            else:
                raise AssertionError(call)
        print("ok")
        """
    )
    assert done.returncode == 0, done.describe()
    assert done.stdout.strip() == "ok"

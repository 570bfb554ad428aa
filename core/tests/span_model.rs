//! The span model through the public API: attributes, events, errors, status,
//! links, kinds, GenAI helpers, trace-level context, end and abandon.

mod common;
use agtrace_core::semconv as sc;
use agtrace_core::*;
use common::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn attributes_of_every_type_last_value_wins() {
    let (tracer, mem) = memory_tracer();
    let mut s = tracer.span("attrs").attribute("from.builder", "b").start();
    s.set_attribute("s", "x");
    s.set_attribute("b", true);
    s.set_attribute("i", 42i64);
    s.set_attribute("f", 1.5);
    s.set_attribute("sa", vec!["a", "b"]);
    s.set_attribute("ia", vec![1i64, 2]);
    s.set_attribute("fa", vec![0.5f64]);
    s.set_attribute("ba", vec![true, false]);
    s.set_attribute("i", 43i64);
    s.set_attribute("json", Value::json(&json!({"k": [1, 2]})));
    s.end();
    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "attrs");
    assert_eq!(r.attribute("from.builder"), Some(&Value::from("b")));
    assert_eq!(r.attribute("s"), Some(&Value::from("x")));
    assert_eq!(r.attribute("b"), Some(&Value::Bool(true)));
    assert_eq!(r.attribute("i"), Some(&Value::I64(43)));
    assert_eq!(r.attributes.iter().filter(|a| a.key == "i").count(), 1);
    assert_eq!(r.attribute("f"), Some(&Value::F64(1.5)));
    assert_eq!(r.attribute("sa"), Some(&Value::from(vec!["a", "b"])));
    assert_eq!(r.attribute("ia"), Some(&Value::I64Array(vec![1, 2])));
    assert_eq!(r.attribute("fa"), Some(&Value::F64Array(vec![0.5])));
    assert_eq!(
        r.attribute("ba"),
        Some(&Value::BoolArray(vec![true, false]))
    );
    assert_eq!(
        r.attribute("json").and_then(Value::as_str),
        Some(r#"{"k":[1,2]}"#)
    );
}

#[test]
fn events_errors_status_and_links() {
    let (tracer, mem) = memory_tracer();
    let other = tracer.span("earlier").root().start();
    let other_ctx = other.context().clone();
    drop(other);
    let mut s = tracer
        .span("work")
        .link(
            other_ctx.clone(),
            vec![Attribute::new("link.kind", "previous_turn")],
        )
        .start();
    s.add_event("checkpoint", vec![Attribute::new("step", 1)]);
    s.record_error("ValueError", "bad input", Some("trace line".into()));
    s.end();
    let mut ok = tracer.span("ok").start();
    ok.set_status(Status::Ok);
    ok.set_status(Status::Error("ignored".into()));
    ok.end();

    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "work");
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.events[0].name, "checkpoint");
    assert!(r.events[0].time_unix_nanos >= r.start_unix_nanos);
    let ex = &r.events[1];
    assert_eq!(ex.name, sc::EXCEPTION_EVENT);
    let get = |k: &str| {
        ex.attributes
            .iter()
            .find(|a| a.key == k)
            .map(|a| a.value.clone())
    };
    assert_eq!(get(sc::EXCEPTION_TYPE), Some(Value::from("ValueError")));
    assert_eq!(get(sc::EXCEPTION_MESSAGE), Some(Value::from("bad input")));
    assert_eq!(
        get(sc::EXCEPTION_STACKTRACE),
        Some(Value::from("trace line"))
    );
    assert_eq!(r.status, Status::Error("bad input".into()));
    assert_eq!(r.links.len(), 1);
    assert_eq!(r.links[0].context.span_id, other_ctx.span_id);
    assert_eq!(r.links[0].attributes[0].key, "link.kind");
    assert_eq!(by_name(&spans, "ok").status, Status::Ok, "Ok is final");
}

#[test]
fn kinds_map_to_otel_kind_operation_and_openinference() {
    let (tracer, mem) = memory_tracer();
    for kind in SpanKind::ALL {
        tracer.span(kind.as_str()).kind(kind).root().start().end();
    }
    let spans = flushed(&tracer, &mem);
    for kind in SpanKind::ALL {
        let r = by_name(&spans, kind.as_str());
        assert_eq!(r.kind, kind);
        assert_eq!(r.otel_kind, kind.otel_kind());
        assert_eq!(
            r.attribute(sc::GEN_AI_OPERATION_NAME)
                .and_then(Value::as_str),
            kind.operation_name(),
            "{kind}"
        );
        assert_eq!(
            r.attribute(sc::OPENINFERENCE_SPAN_KIND)
                .and_then(Value::as_str),
            kind.openinference_kind(),
            "{kind}"
        );
    }
    assert_eq!(by_name(&spans, "llm").otel_kind, OtelKind::Client);
    assert_eq!(by_name(&spans, "tool").otel_kind, OtelKind::Internal);
}

#[test]
fn genai_helpers_write_the_conventions() {
    let (tracer, mem) = memory_tracer();
    let mut llm = tracer.span("chat gpt-4o").kind(SpanKind::Llm).start();
    llm.set_provider("openai");
    llm.set_request_model("gpt-4o");
    llm.set_response_model("gpt-4o-2024-08-06");
    llm.set_response_id("chatcmpl-1");
    llm.set_finish_reasons(vec!["stop".into()]);
    llm.set_request_params(&RequestParams {
        temperature: Some(0.5),
        max_tokens: Some(100),
        top_p: Some(0.9),
        stop_sequences: vec!["END".into()],
        ..Default::default()
    });
    llm.set_usage(Usage {
        input_tokens: 10,
        output_tokens: 5,
        cache_read_input_tokens: 3,
        cache_creation_input_tokens: 0,
        reasoning_output_tokens: 2,
    });
    llm.set_input_messages(&json!([{"role": "user", "content": "secret prompt"}]));
    llm.mark_first_chunk();
    llm.end();
    let mut tool = tracer
        .span("execute_tool search")
        .kind(SpanKind::Tool)
        .start();
    tool.set_tool("search", Some("call_1".into()));
    tool.set_tool_arguments(&json!({"q": "lisbon"}));
    tool.set_tool_result(&json!(["a"]));
    tool.end();
    let mut agent = tracer.span("agent").kind(SpanKind::Agent).start();
    agent.set_agent("planner", Some("a-1".into()));
    agent.set_conversation_id("conv-1");
    agent.end();

    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "chat gpt-4o");
    let s = |k| r.attribute(k).cloned();
    assert_eq!(s(sc::GEN_AI_PROVIDER_NAME), Some(Value::from("openai")));
    assert_eq!(s(sc::GEN_AI_REQUEST_MODEL), Some(Value::from("gpt-4o")));
    assert_eq!(
        s(sc::GEN_AI_RESPONSE_MODEL),
        Some(Value::from("gpt-4o-2024-08-06"))
    );
    assert_eq!(s(sc::GEN_AI_RESPONSE_ID), Some(Value::from("chatcmpl-1")));
    assert_eq!(
        s(sc::GEN_AI_RESPONSE_FINISH_REASONS),
        Some(Value::from(vec!["stop"]))
    );
    assert_eq!(s(sc::GEN_AI_REQUEST_TEMPERATURE), Some(Value::F64(0.5)));
    assert_eq!(s(sc::GEN_AI_REQUEST_MAX_TOKENS), Some(Value::I64(100)));
    assert_eq!(
        s(sc::GEN_AI_REQUEST_STOP_SEQUENCES),
        Some(Value::from(vec!["END"]))
    );
    assert_eq!(s(sc::GEN_AI_USAGE_INPUT_TOKENS), Some(Value::I64(10)));
    assert_eq!(s(sc::GEN_AI_USAGE_OUTPUT_TOKENS), Some(Value::I64(5)));
    assert_eq!(
        s(sc::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
        Some(Value::I64(3))
    );
    assert_eq!(
        s(sc::GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS),
        None,
        "zero omitted"
    );
    assert_eq!(
        s(sc::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
        Some(Value::I64(2))
    );
    assert!(s(sc::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
        .and_then(|v| v.as_f64())
        .is_some());
    assert_eq!(
        s(sc::GEN_AI_INPUT_MESSAGES),
        None,
        "content capture is off by default"
    );
    assert_eq!(r.usage.map(|u| u.total_tokens()), Some(15));

    let t = by_name(&spans, "execute_tool search");
    assert_eq!(
        t.attribute(sc::GEN_AI_TOOL_NAME),
        Some(&Value::from("search"))
    );
    assert_eq!(
        t.attribute(sc::GEN_AI_TOOL_CALL_ID),
        Some(&Value::from("call_1"))
    );
    assert_eq!(
        t.attribute(sc::GEN_AI_TOOL_CALL_ARGUMENTS)
            .and_then(Value::as_str),
        Some(r#"{"q":"lisbon"}"#)
    );
    assert_eq!(
        t.attribute(sc::GEN_AI_TOOL_CALL_RESULT)
            .and_then(Value::as_str),
        Some(r#"["a"]"#)
    );
    let a = by_name(&spans, "agent");
    assert_eq!(
        a.attribute(sc::GEN_AI_AGENT_NAME),
        Some(&Value::from("planner"))
    );
    assert_eq!(a.attribute(sc::GEN_AI_AGENT_ID), Some(&Value::from("a-1")));
    assert_eq!(
        a.attribute(sc::GEN_AI_CONVERSATION_ID),
        Some(&Value::from("conv-1"))
    );
}

#[test]
fn content_is_recorded_when_capture_is_on() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .capture_content(true)
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    let mut llm = tracer.span("chat").kind(SpanKind::Llm).start();
    llm.set_input_messages(&json!([{"role": "user", "content": "hi"}]));
    llm.set_output_messages(&json!([{"role": "assistant", "content": "hello"}]));
    llm.set_system_instructions(&json!([{"type": "text", "content": "be brief"}]));
    llm.set_tool_definitions(&json!([{"name": "search"}]));
    llm.end();
    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "chat");
    assert_eq!(
        r.attribute(sc::GEN_AI_INPUT_MESSAGES)
            .and_then(Value::as_str),
        Some(r#"[{"content":"hi","role":"user"}]"#)
    );
    assert!(r.attribute(sc::GEN_AI_OUTPUT_MESSAGES).is_some());
    assert!(r.attribute(sc::GEN_AI_SYSTEM_INSTRUCTIONS).is_some());
    assert!(r.attribute(sc::GEN_AI_TOOL_DEFINITIONS).is_some());
}

#[test]
fn trace_meta_reaches_every_span_of_the_trace_only() {
    let (tracer, mem) = memory_tracer();
    let mut root = tracer.span("root").root().start();
    let child_parent = root.to_ref();
    let mut child = tracer.span("child").parent(child_parent.clone()).start();
    // Set after the child started: still applies, since it is read at export.
    root.update_trace(|m| {
        m.user_id = Some("u-1".into());
        m.session_id = Some("s-1".into());
        m.conversation_id = Some("c-1".into());
        m.tags = vec!["beta".into(), "eu".into()];
        m.metadata.insert("plan".into(), json!("pro"));
        m.environment = Some("staging".into());
        m.release = Some("1.2.3".into());
    });
    let grandchild = tracer.span("grandchild").parent(&child).start();
    drop(grandchild);
    child.set_attribute(sc::USER_ID, "own-value");
    child.end();
    root.end();
    tracer.span("other-trace").root().start().end();

    let spans = flushed(&tracer, &mem);
    for name in ["root", "grandchild"] {
        let r = by_name(&spans, name);
        assert_eq!(
            r.attribute(sc::USER_ID),
            Some(&Value::from("u-1")),
            "{name}"
        );
        assert_eq!(r.attribute(sc::SESSION_ID), Some(&Value::from("s-1")));
        assert_eq!(
            r.attribute(sc::GEN_AI_CONVERSATION_ID),
            Some(&Value::from("c-1"))
        );
        assert_eq!(
            r.attribute(sc::TAGS),
            Some(&Value::from(vec!["beta", "eu"]))
        );
        assert_eq!(
            r.attribute(sc::METADATA).and_then(Value::as_str),
            Some(r#"{"plan":"pro"}"#)
        );
        assert_eq!(
            r.attribute(sc::DEPLOYMENT_ENVIRONMENT),
            Some(&Value::from("staging"))
        );
        assert_eq!(
            r.attribute(sc::AGTRACE_RELEASE),
            Some(&Value::from("1.2.3"))
        );
    }
    let child = by_name(&spans, "child");
    assert_eq!(
        child.attribute(sc::USER_ID),
        Some(&Value::from("own-value")),
        "span's own value wins"
    );
    assert_eq!(by_name(&spans, "other-trace").attribute(sc::USER_ID), None);
}

#[test]
fn end_is_idempotent_and_dropped_spans_are_abandoned() {
    let (tracer, mem) = memory_tracer();
    let mut s = tracer.span("ended").start();
    assert!(s.is_recording());
    s.end();
    s.end();
    assert!(!s.is_recording());
    s.set_attribute("after.end", 1); // ignored, no panic
    drop(s);
    {
        let _forgotten = tracer.span("forgotten").start();
    }
    let spans = flushed(&tracer, &mem);
    assert_eq!(spans.iter().filter(|s| s.name == "ended").count(), 1);
    assert!(by_name(&spans, "ended").attribute("after.end").is_none());
    assert!(!by_name(&spans, "ended").abandoned);
    let f = by_name(&spans, "forgotten");
    assert!(f.abandoned);
    assert_eq!(f.attribute(sc::AGTRACE_ABANDONED), Some(&Value::Bool(true)));
    let stats = tracer.stats();
    assert_eq!((stats.started, stats.ended, stats.dispatched), (2, 2, 2));
}

#[test]
fn timestamps_are_wall_clock_with_monotonic_durations() {
    let (tracer, mem) = memory_tracer();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut s = tracer.span("timed").start();
    std::thread::sleep(Duration::from_millis(20));
    s.end();
    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "timed");
    // The clock anchor is taken when the tracer is built, so allow a little skew.
    assert!(r.start_unix_nanos + 50_000_000 >= before, "start near now");
    assert!(r.duration_nanos() >= 20_000_000, "{}", r.duration_nanos());
    assert!(r.duration_nanos() < 2_000_000_000);
}

#[test]
fn unsampled_parent_gives_non_recording_children_that_still_propagate() {
    let (tracer, mem) = memory_tracer();
    let parent = SpanContext::new(
        TraceId::random(),
        SpanId::random(),
        TraceFlags::NOT_SAMPLED,
        true,
    );
    let mut s = tracer
        .span("unsampled")
        .parent(Parent::Remote {
            context: parent.clone(),
            baggage: Default::default(),
        })
        .start();
    assert!(!s.is_recording());
    assert_eq!(s.context().trace_id, parent.trace_id);
    assert_ne!(s.context().span_id, parent.span_id);
    assert!(!s.context().is_sampled());
    s.set_attribute("x", 1);
    s.end();
    let child = tracer.span("child").parent(&s).start();
    assert!(!child.is_recording());
    drop(child);
    assert!(flushed(&tracer, &mem).is_empty());
    let stats = tracer.stats();
    assert_eq!((stats.started, stats.unsampled), (0, 2));
}

#[test]
fn disabled_tracer_records_nothing() {
    let tracer = Tracer::builder()
        .env_map([("OTEL_SDK_DISABLED".to_string(), "true".to_string())].into())
        .build()
        .unwrap();
    let s = tracer.span("x").start();
    assert!(!s.is_recording());
    // No ids are made for a root (nothing to propagate), and a remote
    // parent's context passes through, as OpenTelemetry's no-op tracer does.
    assert!(!s.context().is_valid());
    drop(s);
    let remote = SpanContext::new(
        TraceId::from_u128(7),
        SpanId::from_u64(9),
        TraceFlags::SAMPLED,
        true,
    );
    let child = tracer
        .span("y")
        .parent(Parent::Remote {
            context: remote.clone(),
            baggage: Default::default(),
        })
        .start();
    assert!(!child.is_recording());
    assert_eq!(
        (child.context().trace_id, child.context().span_id),
        (remote.trace_id, remote.span_id)
    );
    assert!(tracer.settings().disabled);
    assert_eq!(tracer.stats().started, 0);
    tracer.force_flush(Duration::from_secs(1)).unwrap();
    tracer.shutdown(Duration::from_secs(1)).unwrap();
}

#[test]
fn recycled_records_carry_nothing_from_earlier_spans() {
    let (tracer, mem) = memory_tracer();
    for round in 0..3 {
        let mut a = tracer
            .span(format!("full-{round}"))
            .kind(SpanKind::Llm)
            .root()
            .start();
        a.set_attribute("leak", "yes");
        a.add_event("e", vec![]);
        a.add_link(a.context().clone(), vec![]);
        a.set_usage(Usage::new(1, 1));
        a.update_trace(|m| m.user_id = Some("u".into()));
        a.record_error("E", "boom", None);
        a.end();
        tracer.force_flush(Duration::from_secs(5)).unwrap();
        tracer.span(format!("empty-{round}")).root().start().end();
        let spans = flushed(&tracer, &mem);
        let e = by_name(&spans, &format!("empty-{round}"));
        assert!(e.attributes.is_empty(), "{:?}", e.attributes);
        assert!(e.events.is_empty() && e.links.is_empty());
        assert_eq!(
            (e.status.clone(), e.usage, e.kind),
            (Status::Unset, None, SpanKind::Plain)
        );
        assert!(!e.abandoned);
    }
}

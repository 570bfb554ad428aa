//! Trace-level scopes: global tags and metadata on every span (changeable on a
//! live tracer), the conversation-id attribute name, and span links on/off.

mod common;
use agtrace_core::semconv as sc;
use agtrace_core::*;
use common::*;
use serde_json::json;

#[test]
fn global_tags_and_metadata_reach_every_span_and_change_live() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .global_tags(["prod"])
        .global_metadata("region", json!("eu"))
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    let mut root = tracer.span("first").root().start();
    root.update_trace(|m| {
        m.tags = vec!["beta".into()];
        m.metadata.insert("region".into(), json!("us"));
    });
    root.end();
    // Live changes apply to spans exported afterwards.
    tracer
        .force_flush(std::time::Duration::from_secs(5))
        .unwrap();
    tracer.add_tags(["canary"]);
    tracer.set_global_metadata("build", json!(42));
    tracer.span("second").root().start().end();
    let spans = flushed(&tracer, &mem);
    let first = by_name(&spans, "first");
    assert_eq!(
        first.attribute(sc::TAGS),
        Some(&Value::from(vec!["prod", "beta"]))
    );
    assert_eq!(
        first.attribute(sc::METADATA).and_then(Value::as_str),
        Some(r#"{"region":"us"}"#),
        "the trace's metadata wins over the global"
    );
    let second = by_name(&spans, "second");
    assert_eq!(
        second.attribute(sc::TAGS),
        Some(&Value::from(vec!["prod", "canary"]))
    );
    assert_eq!(
        second.attribute(sc::METADATA).and_then(Value::as_str),
        Some(r#"{"build":42,"region":"eu"}"#)
    );
    assert_eq!(tracer.global_context().tags, vec!["prod", "canary"]);
}

#[test]
fn conversation_attribute_is_configurable() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .conversation_attribute("session.thread_id")
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    let mut s = tracer.span("turn").root().start();
    s.update_trace(|m| m.conversation_id = Some("c-9".into()));
    s.end();
    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "turn");
    assert_eq!(r.attribute("session.thread_id"), Some(&Value::from("c-9")));
    assert_eq!(r.attribute(sc::GEN_AI_CONVERSATION_ID), None);
}

#[test]
fn links_to_previous_turns_can_be_switched_off() {
    let (tracer, mem) = memory_tracer();
    let turn1 = tracer.span("turn-1").root().start();
    let previous = turn1.context().clone();
    drop(turn1);
    tracer
        .span("turn-2")
        .root()
        .link(
            previous.clone(),
            vec![Attribute::new("link.type", "previous_turn")],
        )
        .start()
        .end();
    tracer
        .force_flush(std::time::Duration::from_secs(5))
        .unwrap();
    tracer.set_links_enabled(false);
    tracer
        .span("turn-3")
        .root()
        .link(previous, vec![])
        .start()
        .end();
    let spans = flushed(&tracer, &mem);
    assert_eq!(by_name(&spans, "turn-2").links.len(), 1);
    assert_eq!(
        by_name(&spans, "turn-2").links[0].context.span_id,
        by_name(&spans, "turn-1").span_id
    );
    assert!(by_name(&spans, "turn-3").links.is_empty());
}

#[test]
fn trace_context_reaches_spans_continued_from_extracted_headers() {
    let (tracer, mem) = memory_tracer();
    let mut root = tracer.span("request").root().start();
    root.update_trace(|m| {
        m.user_id = Some("u-1".into());
        m.session_id = Some("s-1".into());
    });
    // The same trace continued in this process from propagation headers,
    // as a server handler behind a client in the same process would.
    let mut headers = std::collections::HashMap::new();
    tracer.inject(&root.to_ref(), &mut headers);
    let continued = tracer.extract(&headers);
    let mut handler = tracer.span("handler").parent(continued).start();
    handler.end();
    root.end();
    let spans = flushed(&tracer, &mem);
    for name in ["request", "handler"] {
        let s = by_name(&spans, name);
        assert_eq!(
            s.attribute(sc::USER_ID),
            Some(&Value::from("u-1")),
            "{name}"
        );
        assert_eq!(
            s.attribute(sc::SESSION_ID),
            Some(&Value::from("s-1")),
            "{name}"
        );
    }
}

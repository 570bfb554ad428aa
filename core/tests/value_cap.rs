//! The size cap applied when a value is recorded (policy/cap.rs): huge
//! values never sit in the queue at full size, and redaction still sees
//! enough to scrub and mask before the final cut.

mod common;
use agtrace_core::*;
use common::*;
use serde_json::{json, Value as Json};

const CAP: usize = 32 * 1024;

#[test]
fn huge_values_are_capped_when_set_and_cut_once_more_at_export() {
    let (tracer, mem) = memory_tracer();
    let big = "x".repeat(10 << 20);
    for _ in 0..50 {
        let mut s = tracer.span("big").start();
        s.set_attribute("big", big.clone());
        s.add_event("ev", vec![Attribute::new("big", big.clone())]);
        s.set_status(Status::Error(big.clone().into()));
        s.end();
    }
    let spans = flushed(&tracer, &mem);
    assert_eq!(spans.len(), 50);
    assert_eq!(tracer.stats().dropped.queue_bytes, 0);
    for r in &spans {
        let Status::Error(msg) = &r.status else {
            panic!("status {:?}", r.status)
        };
        for v in [
            r.attribute("big").and_then(Value::as_str).unwrap(),
            r.events[0].attributes[0].value.as_str().unwrap(),
            msg,
        ] {
            assert!(v.len() <= CAP, "{}", v.len());
            let (kept, removed) = v.split_once("…[truncated ").unwrap();
            let removed: usize = removed.trim_end_matches(" bytes]").parse().unwrap();
            assert_eq!(kept.len() + removed, big.len());
        }
    }
}

#[test]
fn huge_json_keeps_its_structure_and_its_keys_masked() {
    let (tracer, mem) = memory_tracer();
    let value = json!({
        "api_key": "hunter2",
        "doc": "y".repeat(10 << 20),
        "note": "short",
    });
    let mut s = tracer.span("json").start();
    s.set_attribute("payload", Value::json(&value));
    s.end();
    let spans = flushed(&tracer, &mem);
    let text = spans[0]
        .attribute("payload")
        .and_then(Value::as_str)
        .unwrap();
    assert!(text.len() <= CAP);
    let v: Json = serde_json::from_str(text).expect("still JSON");
    assert_eq!(v["api_key"], "[REDACTED]");
    assert_eq!(v["note"], "short");
    assert!(v["doc"].as_str().unwrap().contains("…[truncated "));
}

#[test]
fn a_huge_image_becomes_a_placeholder_for_the_whole_payload() {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(8 << 20, 7);
    let (tracer, mem) = memory_tracer();
    let mut s = tracer.span("image").start();
    s.set_attribute(
        "input.value",
        format!("data:image/png;base64,{}", STANDARD.encode(&png)),
    );
    s.end();
    let spans = flushed(&tracer, &mem);
    let v = spans[0]
        .attribute("input.value")
        .and_then(Value::as_str)
        .unwrap();
    assert!(
        v.starts_with(&format!("<media image/png {} bytes sha256:", png.len())) && v.ends_with('>'),
        "{v}"
    );
    assert_eq!(tracer.redaction_stats().get("media"), 1);
}

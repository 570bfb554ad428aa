//! Parent selection: explicit parents, the thread-local current span, and
//! parents across threads and processes.

mod common;
use agtrace_core::*;
use common::*;
use std::collections::HashMap;

#[test]
fn current_span_nests_and_unwinds() {
    let (tracer, mem) = memory_tracer();
    assert!(current_span().is_none());
    let root = tracer.span("root").start();
    {
        let _g = root.enter();
        assert_eq!(
            current_span().unwrap().context().span_id,
            root.context().span_id
        );
        let mid = tracer.span("mid").start();
        {
            let _g2 = mid.enter();
            tracer.span("leaf").start().end();
        }
        assert_eq!(
            current_span().unwrap().context().span_id,
            root.context().span_id
        );
        tracer.span("sibling").start().end();
        tracer.span("explicit-root").root().start().end();
        drop(mid);
    }
    assert!(current_span().is_none());
    drop(root);
    tracer.span("after").start().end();

    let spans = flushed(&tracer, &mem);
    let id = |n: &str| by_name(&spans, n).span_id;
    assert_eq!(by_name(&spans, "mid").parent_span_id, id("root"));
    assert_eq!(by_name(&spans, "leaf").parent_span_id, id("mid"));
    assert_eq!(by_name(&spans, "sibling").parent_span_id, id("root"));
    assert!(by_name(&spans, "explicit-root").is_root());
    assert!(by_name(&spans, "after").is_root());
    let trace = by_name(&spans, "root").trace_id;
    assert!(["mid", "leaf", "sibling"]
        .iter()
        .all(|n| by_name(&spans, n).trace_id == trace));
    assert_ne!(by_name(&spans, "explicit-root").trace_id, trace);
}

#[test]
fn explicit_parent_across_threads_and_after_parent_ended() {
    let (tracer, mem) = memory_tracer();
    let mut root = tracer.span("root").root().start();
    let parent = root.to_ref();
    root.end();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (tracer, parent) = (tracer.clone(), parent.clone());
            std::thread::spawn(move || {
                assert!(
                    current_span().is_none(),
                    "thread-locals do not leak across threads"
                );
                tracer
                    .span(format!("worker-{i}"))
                    .parent(parent)
                    .start()
                    .end();
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let spans = flushed(&tracer, &mem);
    let root = by_name(&spans, "root");
    for i in 0..4 {
        let w = by_name(&spans, &format!("worker-{i}"));
        assert_eq!(
            (w.trace_id, w.parent_span_id),
            (root.trace_id, root.span_id)
        );
    }
}

#[test]
fn remote_parent_from_headers_continues_the_trace_and_keeps_baggage() {
    let (tracer, mem) = memory_tracer();
    let headers: HashMap<String, String> = [
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        ("tracestate", "vendor=abc"),
        ("baggage", "tenant=acme"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let extracted = tracer.extract(&headers);
    let server = tracer
        .span("handle")
        .parent(Parent::from(extracted))
        .start();
    let mut out = HashMap::new();
    tracer.inject(&server.to_ref(), &mut out);
    let child = tracer.span("child").parent(&server).start();
    let mut out_child = HashMap::new();
    tracer.inject(&child.to_ref(), &mut out_child);
    drop(child);
    drop(server);

    let spans = flushed(&tracer, &mem);
    let s = by_name(&spans, "handle");
    assert_eq!(s.trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(s.parent_span_id.to_hex(), "00f067aa0ba902b7");
    assert!(s.parent_is_remote);
    assert_eq!(s.trace_state.get("vendor"), Some("abc"));
    assert_eq!(
        out["traceparent"],
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", s.span_id)
    );
    assert_eq!(out["tracestate"], "vendor=abc");
    assert_eq!(out["baggage"], "tenant=acme");
    assert_eq!(
        out_child["baggage"], "tenant=acme",
        "baggage reaches descendants"
    );
}

#[test]
fn baggage_passes_through_unsampled_and_ended_spans() {
    let (tracer, _mem) = memory_tracer();
    for flags in ["00", "01"] {
        let headers: HashMap<String, String> = [
            (
                "traceparent".to_string(),
                format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"),
            ),
            ("baggage".to_string(), "tenant=acme".to_string()),
        ]
        .into();
        let mut span = tracer
            .span("s")
            .parent(Parent::from(tracer.extract(&headers)))
            .start();
        let mut live = HashMap::new();
        tracer.inject(&span.to_ref(), &mut live);
        span.end();
        let mut ended = HashMap::new();
        tracer.inject(&span.to_ref(), &mut ended);
        let child = tracer.span("child").parent(&span).start();
        let mut from_child = HashMap::new();
        tracer.inject(&child.to_ref(), &mut from_child);
        for (what, h) in [("live", &live), ("ended", &ended), ("child", &from_child)] {
            assert_eq!(
                h.get("baggage").map(String::as_str),
                Some("tenant=acme"),
                "{what}, flags {flags}"
            );
            assert!(
                h["traceparent"].ends_with(&format!("-{flags}")),
                "{what}: {}",
                h["traceparent"]
            );
        }
    }
}

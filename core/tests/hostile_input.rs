//! Regression tests for inputs the fuzz targets (`fuzz/`) found: each test
//! is one crash, reduced, with the behaviour the fix guarantees.

mod common;

use agtrace_core::codes::{item, parent, record};
use agtrace_core::protocol::{self, Begun};
use common::{flushed, memory_tracer};

fn str_field(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn rec(code: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![code];
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out
}

fn begin_root(name: &str) -> Vec<u8> {
    let mut body = vec![0, parent::ROOT];
    str_field(&mut body, name);
    rec(record::BEGIN, &body)
}

/// Found by `fuzz/fuzz_targets/protocol.rs`: a binding's END record may
/// carry any u64 duration, and event and first-chunk offsets likewise. The
/// collector added them to the start time and overflowed (a panic with
/// overflow checks, an end before the start without). Times past the end
/// of u64 nanoseconds now saturate there.
#[test]
fn huge_protocol_offsets_saturate() {
    let (tracer, mem) = memory_tracer();
    let mut begun = Begun::default();
    let none = |_: u64| None;
    // SAFETY: no END record.
    unsafe { protocol::apply(&tracer, &begin_root("far"), &none, &mut begun) }.unwrap();
    assert_ne!(begun.handle, 0);

    let huge = u64::MAX - 1; // u64::MAX is NOW
    let mut body = Vec::new();
    body.extend_from_slice(&begun.handle.to_le_bytes());
    body.extend_from_slice(&huge.to_le_bytes());
    body.push(item::EVENT);
    str_field(&mut body, "late");
    body.extend_from_slice(&huge.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body.push(item::FIRST_CHUNK);
    body.extend_from_slice(&huge.to_le_bytes());
    // SAFETY: the handle came from the BEGIN above and is named once.
    unsafe {
        protocol::apply(
            &tracer,
            &rec(record::END, &body),
            &none,
            &mut Begun::default(),
        )
    }
    .unwrap();

    let spans = flushed(&tracer, &mem);
    let span = common::by_name(&spans, "far");
    assert_eq!(span.end_unix_nanos, u64::MAX);
    assert!(span.start_unix_nanos > 0 && span.start_unix_nanos < span.end_unix_nanos);
    assert_eq!(span.events.len(), 1);
    assert!(span.events[0].time_unix_nanos >= span.start_unix_nanos);
    assert_eq!(tracer.stats().collector.spans, 1);
}

/// Found by `fuzz/fuzz_targets/protocol.rs`: token counts are the caller's
/// u64s, and the rollup summed two children's into their parent with
/// overflow. Sums saturate (and an attribute holds at most `i64::MAX`).
#[test]
fn huge_token_counts_saturate_in_rollups() {
    use agtrace_core::{semconv, SpanKind, Usage, Value};
    let (tracer, mem) = memory_tracer();
    let mut agent = tracer.span("agent").kind(SpanKind::Agent).root().start();
    for _ in 0..2 {
        let mut llm = tracer
            .span("chat")
            .kind(SpanKind::Llm)
            .parent(&agent)
            .start();
        llm.set_usage(Usage::new(u64::MAX, 1));
        llm.end();
    }
    agent.end();
    let spans = flushed(&tracer, &mem);
    let agent = common::by_name(&spans, "agent");
    let int = |key| agent.attribute(key).and_then(Value::as_i64);
    assert_eq!(int(semconv::AGTRACE_USAGE_INPUT_TOKENS), Some(i64::MAX));
    assert_eq!(int(semconv::AGTRACE_USAGE_OUTPUT_TOKENS), Some(2));
    assert_eq!(int(semconv::AGTRACE_USAGE_LLM_CALLS), Some(2));
}

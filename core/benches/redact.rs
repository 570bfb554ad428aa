//! Redaction on the collector thread: the cost of `Redactor::apply` for one
//! finished span with the default rules.
//!
//! The records come from a real tracer (exporting to memory with rules that
//! change nothing), so they carry exactly the attributes the core derives:
//! kind in both dialects, usage, cost and rollups. Each iteration redacts a
//! fresh clone; cloning and dropping are outside the timing.
//!
//! - `typical`: an LLM span with 5 short user attributes plus the derived ones;
//! - `messages_1_3kb`: the same with a 1.3 KB JSON `gen_ai.input.messages`;
//! - `secret`: the typical span with an OpenAI key in one attribute;
//! - `image_48kb`: the typical span whose input messages hold a 48 KB PNG
//!   as a data URL, which becomes a placeholder (decoded and hashed).
//!
//! After criterion's report, prints one `BENCH` row per scenario for
//! `bench/run.py` (see report.rs).

use agtrace_core::{
    ExporterConfig, InMemoryExporter, MediaPolicy, RedactionConfig, Redactor, SpanKind, SpanRecord,
    Tracer, Usage,
};
use criterion::{BatchSize, Criterion};
use serde_json::json;
use std::time::Duration;

#[path = "report.rs"]
mod report;
use report::{emit, Row};

/// Rules under which `apply` leaves every attribute as it is, so the tracer
/// hands the bench unredacted records.
fn pass_through() -> RedactionConfig {
    RedactionConfig {
        sensitive_keys: vec!["agtrace.bench.unused".into()],
        replace_sensitive_keys: true,
        scrub_default_patterns: false,
        media: MediaPolicy::Keep,
        max_attribute_bytes: 1 << 20,
        ..RedactionConfig::default()
    }
}

fn llm_span(tracer: &Tracer, extra: impl FnOnce(&mut agtrace_core::Span)) {
    let mut s = tracer.span("chat gpt-4o").kind(SpanKind::Llm).start();
    s.set_provider("openai");
    s.set_request_model("gpt-4o");
    s.set_response_model("gpt-4o-2024-08-06");
    s.set_attribute("app.user_tier", "pro");
    s.set_attribute("app.retry", 0i64);
    s.set_usage(Usage::new(1200, 340));
    extra(&mut s);
    s.end();
}

/// About 1.3 KB of chat history as OpenTelemetry GenAI messages.
fn messages() -> serde_json::Value {
    let turn = |role: &str, text: &str| json!({"role": role, "parts": [{"type": "text", "content": text}]});
    json!([
        turn("system", "You are a travel assistant. Answer briefly and cite the booking reference when one is given."),
        turn("user", "I booked a flight from Lisbon to Oslo for next Tuesday, reference QX7R2P. Can I still add a checked bag, and how much would it cost?"),
        turn("assistant", "Yes. For reference QX7R2P you can add one checked bag of up to 23 kg until 24 hours before departure. Online it costs 45 EUR; at the airport desk it costs 70 EUR."),
        turn("user", "And if I also want to change the return date to the Sunday after, is there a fee? My partner is travelling with me on the same booking."),
        turn("assistant", "Changing the return date on a standard fare costs 60 EUR per passenger plus any fare difference. Both passengers on QX7R2P would need to change together."),
        turn("user", "OK, please summarise the total for two bags and the date change for both of us, assuming no fare difference."),
        turn("assistant", "Two bags online: 90 EUR. Date change for two: 120 EUR. Total: 210 EUR."),
    ])
}

/// A user turn with a 48 KB PNG, as OpenAI's chat API takes an image.
fn image_message() -> serde_json::Value {
    use base64::Engine;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((8..48 * 1024).map(|i| (i * 31 + i / 97) as u8));
    let url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    );
    json!([{"role": "user", "parts": [
        {"type": "text", "content": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": url}},
    ]}])
}

fn records() -> [(&'static str, SpanRecord); 4] {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .service_name("bench")
        .capture_content(true)
        .redaction(pass_through())
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    llm_span(&tracer, |_| {});
    llm_span(&tracer, |s| s.set_input_messages(&messages()));
    llm_span(&tracer, |s| {
        s.set_attribute(
            "app.note",
            "retried with key sk-proj-Ab12Cd34Ef56Gh78Ij90KlMnOp after a 401",
        )
    });
    llm_span(&tracer, |s| s.set_input_messages(&image_message()));
    tracer.shutdown(Duration::from_secs(10)).unwrap();
    let mut spans = mem.take().into_iter();
    let mut next = || spans.next().expect("four spans");
    let typical = next();
    let with_messages = next();
    let with_secret = next();
    let with_image = next();
    let bytes = with_messages
        .attribute(agtrace_core::semconv::GEN_AI_INPUT_MESSAGES)
        .and_then(agtrace_core::Value::as_str)
        .map_or(0, str::len);
    assert!((1200..1400).contains(&bytes), "messages are {bytes} bytes");
    let image = with_image
        .attribute(agtrace_core::semconv::GEN_AI_INPUT_MESSAGES)
        .and_then(agtrace_core::Value::as_str)
        .map_or(0, str::len);
    assert!(image > 64 * 1024, "the image is exported whole ({image})");
    [
        ("typical", typical),
        ("messages_1_3kb", with_messages),
        ("secret", with_secret),
        ("image_48kb", with_image),
    ]
}

fn main() {
    let (warm, measure) = if report::smoke() {
        (Duration::from_millis(100), Duration::from_millis(200))
    } else {
        (Duration::from_secs(1), Duration::from_secs(3))
    };
    let mut c = Criterion::default()
        .warm_up_time(warm)
        .measurement_time(measure)
        .configure_from_args();
    let redactor = Redactor::new(&RedactionConfig::default()).unwrap();
    let mut group = c.benchmark_group("redact");
    for (name, record) in records() {
        group.bench_function(name, |b| {
            b.iter_batched(
                || record.clone(),
                |mut r| {
                    redactor.apply(&mut r);
                    r
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    c.final_summary();
    for (name, label) in [
        ("typical", "typical LLM span (5 user + derived attributes)"),
        ("messages_1_3kb", "LLM span with 1.3 KB of messages"),
        ("secret", "LLM span with an API key in an attribute"),
        (
            "image_48kb",
            "LLM span with a 48 KB image (data URL) in its messages",
        ),
    ] {
        let Some(ns) = estimate_ns("redact", name) else {
            println!("{label}: not run");
            continue;
        };
        println!("{label}: {ns:.0} ns");
        emit(Row {
            section: "Redaction (collector thread, per span)",
            scenario: label,
            unit: "ns",
            agtrace: ns,
            peer: None,
            target: None,
            note: "default rules",
        });
    }
}

/// Criterion's estimate for one benchmark, in nanoseconds: the slope, as its
/// report prints, or the mean when it has none.
fn estimate_ns(group: &str, name: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = format!("{dir}/criterion/{group}/{name}/new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| v["mean"]["point_estimate"].as_f64())
}

//! Span start+end on the caller's thread: agtrace beside `opentelemetry_sdk`
//! (its tracer and batch processor, discarding exporter), in the same run.
//!
//! Both pipelines are real: spans cross a bounded queue to an export thread
//! that discards them. After criterion's report, prints per-span times and the
//! ratio to `opentelemetry_sdk`, plus how many spans each dropped (a saturated
//! queue drops instead of exporting, which is cheaper, so drops are shown).
//! The target (TARGETS.md): agtrace at most 1/4 of `opentelemetry_sdk`.
//! Also: an unsampled span and a span of a disabled tracer
//! (`OTEL_SDK_DISABLED`), each beside OpenTelemetry's no-op tracer (what an
//! OpenTelemetry application gets when no SDK is installed; targets 10 ns and
//! 5 ns), and 2 threads making spans at once through one tracer each side.
//! Rows go to `bench/run.py` (see report.rs).

use agtrace_core::{ExporterConfig, SpanKind, Tracer};
use criterion::Criterion;
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "report.rs"]
mod report;
use report::{emit, Row};

#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    fn export(
        &self,
        _batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(Ok(()))
    }
}

fn agtrace() -> Tracer {
    Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::None)
        .build()
        .unwrap()
}

fn otel() -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(Discard).build())
        .build()
}

/// The 5 attributes of the attribute scenarios, then the end.
fn five_attributes(mut s: agtrace_core::Span) {
    s.set_attribute("k1", "v1");
    s.set_attribute("k2", 2i64);
    s.set_attribute("k3", true);
    s.set_attribute("k4", 4.5);
    s.set_attribute("k5", "v5");
    s.end()
}

/// The same for `opentelemetry_sdk`.
fn otel_five_attributes(mut s: impl opentelemetry::trace::Span) {
    s.set_attribute(KeyValue::new("k1", "v1"));
    s.set_attribute(KeyValue::new("k2", 2i64));
    s.set_attribute(KeyValue::new("k3", true));
    s.set_attribute(KeyValue::new("k4", 4.5));
    s.set_attribute(KeyValue::new("k5", "v5"));
    s.end()
}

const GROUPS: [(&str, &str); 5] = [
    ("span_no_attributes", "root span, no attributes"),
    ("span_5_attributes", "root span, 5 attributes"),
    ("span_child_5_attributes", "child span, 5 attributes"),
    ("span_unsampled", "unsampled span (OTel: no-op tracer)"),
    (
        "span_disabled",
        "span while tracing is disabled (OTEL_SDK_DISABLED; OTel: no-op tracer)",
    ),
];

fn bench(c: &mut Criterion) -> (Tracer, SdkTracerProvider) {
    let tracer = agtrace();
    let provider = otel();
    let ot = provider.tracer("bench");

    let mut g = c.benchmark_group(GROUPS[0].0);
    g.bench_function("agtrace", |b| {
        b.iter(|| tracer.span("span").root().start().end())
    });
    g.bench_function("opentelemetry_sdk", |b| b.iter(|| ot.start("span").end()));
    g.finish();

    let mut g = c.benchmark_group(GROUPS[1].0);
    g.bench_function("agtrace", |b| {
        b.iter(|| five_attributes(tracer.span("span").kind(SpanKind::Tool).root().start()))
    });
    g.bench_function("opentelemetry_sdk", |b| {
        b.iter(|| otel_five_attributes(ot.start("span")))
    });
    g.finish();

    let mut g = c.benchmark_group(GROUPS[2].0);
    let root = tracer.span("root").root().start();
    let parent = root.to_ref();
    g.bench_function("agtrace", |b| {
        b.iter(|| five_attributes(tracer.span("span").parent(parent.clone()).start()))
    });
    let ot_root = ot.start("root");
    let cx = opentelemetry::Context::current_with_span(ot_root);
    g.bench_function("opentelemetry_sdk", |b| {
        b.iter(|| otel_five_attributes(ot.start_with_context("span", &cx)))
    });
    g.finish();
    black_box(root);

    let off = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::None)
        .set("OTEL_TRACES_SAMPLER", "always_off")
        .unwrap()
        .build()
        .unwrap();
    let noop = opentelemetry::trace::noop::NoopTracer::new();
    let mut g = c.benchmark_group(GROUPS[3].0);
    g.bench_function("agtrace", |b| {
        b.iter(|| off.span("span").root().start().end())
    });
    g.bench_function("opentelemetry_sdk", |b| b.iter(|| noop.start("span").end()));
    g.finish();

    // opentelemetry_sdk 0.33 does not read OTEL_SDK_DISABLED, so its
    // disabled state is the no-op tracer too.
    let disabled = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::None)
        .set("OTEL_SDK_DISABLED", "true")
        .unwrap()
        .build()
        .unwrap();
    let mut g = c.benchmark_group(GROUPS[4].0);
    g.bench_function("agtrace", |b| {
        b.iter(|| disabled.span("span").root().start().end())
    });
    g.bench_function("opentelemetry_sdk", |b| b.iter(|| noop.start("span").end()));
    g.finish();
    (tracer, provider)
}

/// Per-span time with `threads` threads each making `spans` spans with 5
/// attributes at once, through one shared tracer (provider), in ns.
fn threaded(threads: usize, spans: usize) -> (f64, f64) {
    let tracer = agtrace();
    let ours = time_threads(threads, || {
        for _ in 0..spans {
            five_attributes(tracer.span("span").kind(SpanKind::Tool).root().start())
        }
    });
    tracer.shutdown(Duration::from_secs(30)).unwrap();
    let provider = otel();
    let ot = provider.tracer("bench");
    let theirs = time_threads(threads, || {
        for _ in 0..spans {
            otel_five_attributes(ot.start("span"))
        }
    });
    let _ = provider.shutdown();
    (ours / spans as f64, theirs / spans as f64)
}

/// Wall time, in ns, of `threads` threads running `body` at once.
fn time_threads(threads: usize, body: impl Fn() + Sync) -> f64 {
    body(); // warm-up
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(&body);
        }
    });
    start.elapsed().as_nanos() as f64
}

/// Criterion's mean estimate for one benchmark, in nanoseconds.
fn mean_ns(group: &str, name: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = format!("{dir}/criterion/{group}/{name}/new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
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
    let (tracer, provider) = bench(&mut c);
    c.final_summary();

    let stats = tracer.stats();
    tracer.shutdown(Duration::from_secs(30)).unwrap();
    let _ = provider.shutdown();
    for (group, label) in GROUPS {
        let (Some(a), Some(o)) = (
            mean_ns(group, "agtrace"),
            mean_ns(group, "opentelemetry_sdk"),
        ) else {
            println!("{label}: not run");
            continue;
        };
        let (peer, target) = match group {
            "span_unsampled" => ("opentelemetry no-op", ("<= 10 ns", a <= 10.0)),
            "span_disabled" => ("opentelemetry no-op", ("<= 5 ns", a <= 5.0)),
            _ => ("opentelemetry_sdk 0.33", ("<= 0.25 x peer", a / o <= 0.25)),
        };
        emit(Row {
            section: "Rust core",
            scenario: label,
            unit: "ns",
            agtrace: a,
            peer: Some((peer, o)),
            target: Some(target),
            note: "",
        });
    }
    let spans = if report::smoke() { 20_000 } else { 1_000_000 };
    for threads in [1, 2] {
        let (a, o) = threaded(threads, spans);
        emit(Row {
            section: "Rust core",
            scenario: &format!("root span, 5 attributes, {threads} thread(s) at once"),
            unit: "ns",
            agtrace: a,
            peer: Some(("opentelemetry_sdk 0.33", o)),
            target: Some(("<= 0.25 x peer", a / o <= 0.25)),
            note: "wall time per span per thread",
        });
    }
    println!(
        "\nagtrace spans: {} ended, {} dispatched, {} dropped (queue full)",
        stats.ended, stats.dispatched, stats.dropped.queue_full
    );
}

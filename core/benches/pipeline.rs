//! What the pipeline costs beyond one span: export throughput to an OTLP
//! receiver, memory with the exporter stalled, and allocations per span on
//! the calling thread; agtrace beside `opentelemetry_sdk` 0.33 with
//! `opentelemetry-otlp` (batch processor) in the same run. Rows go to
//! `bench/run.py` (see report.rs).
//!
//! - **Throughput.** Spans with 3 attributes sent over loopback to
//!   `bench/otlp-sink` (the OpenTelemetry Collector's OTLP decoding, counting
//!   and discarding; its path in `AGTRACE_OTLP_SINK`), over HTTP/protobuf and
//!   gRPC. Queues are sized so that nothing drops; the rate is the spans the
//!   receiver counted over the time from the first span to the end of the
//!   flush. Producer, exporter and receiver share the machine's cores.
//! - **Memory.** Each side in a child process of its own (so peak RSS is its
//!   own) creates 1M spans while its exporter is stalled on a TCP peer that
//!   accepts and never answers, with default queue bounds. Reported: peak
//!   RSS, and for agtrace that every span is accounted for (created =
//!   exported + dropped, by reason).
//! - **Allocations.** A counting global allocator, per thread: heap
//!   allocations on the thread that starts and ends the span.

use agtrace_core::{SpanKind, Tracer};
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "report.rs"]
mod report;
use report::{emit, Row};

// -- allocation counting -----------------------------------------------------

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

// -- the two sides -----------------------------------------------------------

fn agtrace_span(tracer: &Tracer, attributes: usize) {
    let mut s = tracer.span("span").kind(SpanKind::Tool).root().start();
    if attributes >= 3 {
        s.set_attribute("tool", "search");
        s.set_attribute("step", 3i64);
        s.set_attribute("cached", true);
    }
    if attributes >= 5 {
        s.set_attribute("score", 4.5);
        s.set_attribute("query", "weather in Oslo");
    }
    s.end()
}

fn otel_span(tracer: &opentelemetry_sdk::trace::SdkTracer, attributes: usize) {
    let mut s = tracer.start("span");
    if attributes >= 3 {
        s.set_attribute(KeyValue::new("tool", "search"));
        s.set_attribute(KeyValue::new("step", 3i64));
        s.set_attribute(KeyValue::new("cached", true));
    }
    if attributes >= 5 {
        s.set_attribute(KeyValue::new("score", 4.5));
        s.set_attribute(KeyValue::new("query", "weather in Oslo"));
    }
    s.end()
}

fn agtrace_otlp(endpoint: &str, protocol: &str, queue: Option<usize>) -> Tracer {
    let mut b = Tracer::builder()
        .ignore_env()
        .service_name("bench")
        .set("AGTRACE_EXPORTERS", "otlp")
        .and_then(|b| b.set("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint))
        .and_then(|b| b.set("OTEL_EXPORTER_OTLP_PROTOCOL", protocol))
        .expect("settings");
    if let Some(n) = queue {
        b = b.queue_capacity(n).queue_max_bytes(n * 2048);
    }
    b.build().expect("agtrace tracer")
}

/// The peer's provider and, for gRPC, the tokio runtime its tonic channel
/// lives on (the thread-based batch processor has none of its own; see
/// open-telemetry/opentelemetry-rust#2673).
fn otel_otlp(
    endpoint: &str,
    protocol: &str,
    queue: Option<usize>,
) -> (SdkTracerProvider, Option<tokio::runtime::Runtime>) {
    let (exporter, runtime) = if protocol == "grpc" {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let exporter = {
            let _entered = rt.enter();
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .expect("tonic exporter")
        };
        (exporter, Some(rt))
    } else {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(format!("{endpoint}/v1/traces"))
            .build()
            .expect("http exporter");
        (exporter, None)
    };
    let mut config = BatchConfigBuilder::default();
    if let Some(n) = queue {
        config = config.with_max_queue_size(n);
    }
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(config.build())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    (provider, runtime)
}

// -- throughput --------------------------------------------------------------

struct Sink {
    child: Child,
    http: String,
    grpc: String,
}

impl Sink {
    fn start() -> Sink {
        let path = std::env::var("AGTRACE_OTLP_SINK")
            .expect("AGTRACE_OTLP_SINK must name the built bench/otlp-sink (make bench builds it)");
        let mut child = Command::new(&path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = |key: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("otlp-sink said {line:?}"))
                .to_string()
        };
        Sink {
            http: format!("http://{}", addr("http=")),
            grpc: format!("http://{}", addr("grpc=")),
            child,
        }
    }

    /// Spans received so far.
    fn count(&self) -> u64 {
        let host = self.http.trim_start_matches("http://");
        let mut s = TcpStream::connect(host).unwrap();
        write!(s, "GET /count HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body.rsplit("\r\n\r\n")
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spans per second the sink received, from the first span until the flush returned.
fn throughput(sink: &Sink, agtrace: bool, protocol: &str, spans: usize) -> (f64, u64) {
    let endpoint = if protocol == "grpc" {
        &sink.grpc
    } else {
        &sink.http
    };
    let before = sink.count();
    let start;
    if agtrace {
        let tracer = agtrace_otlp(endpoint, protocol, Some(spans));
        start = Instant::now();
        for _ in 0..spans {
            agtrace_span(&tracer, 3);
        }
        tracer.force_flush(Duration::from_secs(300)).expect("flush");
        let stats = tracer.stats();
        assert_eq!(
            stats.dropped.total(),
            0,
            "the queue was sized not to drop: {stats:?}"
        );
    } else {
        let (provider, _runtime) = otel_otlp(endpoint, protocol, Some(spans));
        let tracer = provider.tracer("bench");
        start = Instant::now();
        for _ in 0..spans {
            otel_span(&tracer, 3);
        }
        provider.force_flush().expect("flush");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let received = sink.count() - before;
    (received as f64 / elapsed, received)
}

// -- memory ------------------------------------------------------------------

/// A TCP peer that accepts connections and never answers: a stalled collector.
fn blackhole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    format!("http://{addr}")
}

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The child process: prints `MEMORY {json}`.
fn memory_child(side: &str, spans: usize) {
    let endpoint = blackhole();
    let tenth = spans / 10;
    let mut rss_at_tenth = 0;
    let json = if side == "agtrace" {
        let tracer = agtrace_otlp(&endpoint, "http/protobuf", None);
        for i in 0..spans {
            agtrace_span(&tracer, 3);
            if i + 1 == tenth {
                rss_at_tenth = rss_kib("VmRSS:");
            }
        }
        let rss_end = rss_kib("VmRSS:");
        let _ = tracer.shutdown(Duration::from_millis(200));
        let s = tracer.stats();
        let exported: u64 = s.exporters.iter().map(|e| e.exported).sum();
        let exporter_dropped: u64 = s.exporters.iter().map(|e| e.dropped.total()).sum();
        let exporter_pending: u64 = s.exporters.iter().map(|e| e.pending).sum();
        let accounted = s.started == spans as u64
            && s.ended
                == exported + s.dropped.total() + exporter_dropped + exporter_pending + s.pending;
        serde_json::json!({
            "peak_kib": rss_kib("VmHWM:"), "rss_tenth_kib": rss_at_tenth, "rss_end_kib": rss_end,
            "created": s.started, "exported": exported,
            "dropped_queue_full": s.dropped.queue_full, "dropped_queue_bytes": s.dropped.queue_bytes,
            "dropped_shutdown": s.dropped.shutdown, "dropped_exporter": exporter_dropped,
            "pending": s.pending + exporter_pending, "accounted": accounted,
        })
    } else {
        let (provider, _runtime) = otel_otlp(&endpoint, "http/protobuf", None);
        let tracer = provider.tracer("bench");
        for i in 0..spans {
            otel_span(&tracer, 3);
            if i + 1 == tenth {
                rss_at_tenth = rss_kib("VmRSS:");
            }
        }
        let rss_end = rss_kib("VmRSS:");
        serde_json::json!({
            "peak_kib": rss_kib("VmHWM:"), "rss_tenth_kib": rss_at_tenth, "rss_end_kib": rss_end,
        })
        // The provider is not shut down: its exporter would wait out the
        // stalled request; the process exits instead.
    };
    println!("MEMORY {json}");
    std::process::exit(0);
}

fn memory(side: &str, spans: usize) -> serde_json::Value {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--child", "memory", side, &spans.to_string()])
        .stderr(Stdio::null())
        .output()
        .expect("memory child");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("MEMORY "))
        .unwrap_or_else(|| panic!("memory child ({side}) printed {text:?}"));
    serde_json::from_str(line).unwrap()
}

// -- allocations -------------------------------------------------------------

fn allocations(attributes: usize, spans: u64) -> (f64, f64) {
    let tracer = Tracer::builder()
        .ignore_env()
        .exporter(agtrace_core::ExporterConfig::None)
        .build()
        .unwrap();
    for _ in 0..1000 {
        agtrace_span(&tracer, attributes);
    }
    let a0 = allocs();
    for _ in 0..spans {
        agtrace_span(&tracer, attributes);
    }
    let ours = (allocs() - a0) as f64 / spans as f64;
    let _ = tracer.shutdown(Duration::from_secs(10));

    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(Discard).build())
        .build();
    let ot = provider.tracer("bench");
    for _ in 0..1000 {
        otel_span(&ot, attributes);
    }
    let a0 = allocs();
    for _ in 0..spans {
        otel_span(&ot, attributes);
    }
    let theirs = (allocs() - a0) as f64 / spans as f64;
    let _ = provider.shutdown();
    (ours, theirs)
}

#[derive(Debug)]
struct Discard;

impl opentelemetry_sdk::trace::SpanExporter for Discard {
    fn export(
        &self,
        _batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        std::future::ready(Ok(()))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let _ = rustls::crypto::ring::default_provider().install_default();
        memory_child(&args[3], args[4].parse().unwrap());
        return;
    }
    let smoke = report::smoke();
    // The peer's reqwest is built with reqwest's `rustls-no-provider` (as
    // agtrace's is), so a crypto provider must be installed first.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let sink = Sink::start();
    let spans = if smoke { 5_000 } else { 200_000 };
    for (protocol, label) in [("http/protobuf", "HTTP/protobuf"), ("grpc", "gRPC")] {
        let (ours, got) = throughput(&sink, true, protocol, spans);
        let (theirs, got_theirs) = throughput(&sink, false, protocol, spans);
        emit(Row {
            section: "Export throughput",
            scenario: &format!("{spans} spans to a local OTLP receiver, {label}"),
            unit: "spans/s",
            agtrace: ours,
            peer: Some(("opentelemetry-otlp 0.33 (batch processor)", theirs)),
            target: Some((">= 250k spans/s", ours >= 250_000.0)),
            note: &format!("received: agtrace {got}, peer {got_theirs} of {spans}"),
        });
    }
    drop(sink);

    let spans = if smoke { 20_000 } else { 1_000_000 };
    let ours = memory("agtrace", spans);
    let theirs = memory("otel", spans);
    let mib = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(0.0) / 1024.0;
    let flat = mib(&ours, "rss_end_kib") <= mib(&ours, "rss_tenth_kib") * 1.25 + 8.0;
    let accounted = ours["accounted"].as_bool() == Some(true);
    emit(Row {
        section: "Memory",
        scenario: &format!("peak RSS, {spans} spans, exporter stalled"),
        unit: "MiB",
        agtrace: mib(&ours, "peak_kib"),
        peer: Some(("opentelemetry_sdk 0.33 + otlp", mib(&theirs, "peak_kib"))),
        target: Some(("flat, every span accounted for", flat && accounted)),
        note: &format!(
            "agtrace RSS {:.0} MiB at {} spans, {:.0} MiB at {spans}; created {} = exported {} + dropped \
             (queue full {}, queue bytes {}, shutdown {}, exporter {}) + pending {}",
            mib(&ours, "rss_tenth_kib"),
            spans / 10,
            mib(&ours, "rss_end_kib"),
            ours["created"],
            ours["exported"],
            ours["dropped_queue_full"],
            ours["dropped_queue_bytes"],
            ours["dropped_shutdown"],
            ours["dropped_exporter"],
            ours["pending"],
        ),
    });

    let spans = if smoke { 10_000 } else { 200_000 };
    for attributes in [0, 5] {
        let (ours, theirs) = allocations(attributes, spans);
        emit(Row {
            section: "Allocations",
            scenario: &format!(
                "heap allocations per span on the calling thread, {attributes} attributes"
            ),
            unit: "allocs",
            agtrace: ours,
            peer: Some(("opentelemetry_sdk 0.33", theirs)),
            target: if attributes == 5 {
                Some(("<= 1", ours <= 1.0))
            } else {
                None
            },
            note: "",
        });
    }
}

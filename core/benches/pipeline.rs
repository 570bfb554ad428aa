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
//! - **The receiver's ceiling.** One 512-span request shaped like those
//!   batches, encoded once, sent again and again as fast as the receiver
//!   answers from 2 client threads (raw HTTP/1.1 keep-alive; tonic with a
//!   codec that writes the encoded bytes): the most spans/s the receiver can
//!   count here, so a throughput figure near it measures the receiver.
//! - **Memory.** Each side in a child process of its own (so peak RSS is its
//!   own) creates 1M spans while its exporter is stalled on a TCP peer that
//!   accepts and never answers, with default queue bounds. Judged: peak RSS
//!   against the peer's, RSS flat from the first 100k spans to 1M, and every
//!   span accounted for (created = ended = exported + dropped, by reason, +
//!   pending).
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
    if attributes >= 8 {
        s.set_attribute("model", "gpt-4o");
        s.set_attribute("tokens", 160i64);
        s.set_attribute("retried", false);
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
    if attributes >= 8 {
        s.set_attribute(KeyValue::new("model", "gpt-4o"));
        s.set_attribute(KeyValue::new("tokens", 160i64));
        s.set_attribute(KeyValue::new("retried", false));
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
    // Both queues hold every span with room to spare: the span cap counts
    // a chunk's spans for a moment in two places as they move, so a cap of
    // exactly `spans` could drop a few at the end of a burst.
    let queue = Some(spans * 2);
    let start;
    if agtrace {
        let tracer = agtrace_otlp(endpoint, protocol, queue);
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
        let (provider, _runtime) = otel_otlp(endpoint, protocol, queue);
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

// -- the receiver's ceiling --------------------------------------------------

/// One encoded `ExportTraceServiceRequest` of `spans` spans shaped like the
/// throughput scenario's as agtrace exports them: its resource and scope,
/// the 3 attributes and the 3 the collector derives from the kind.
fn sample_request(spans: usize) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{
        any_value::Value as V, AnyValue, InstrumentationScope, KeyValue as Kv,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, ResourceSpans, ScopeSpans, Span};
    use prost::Message as _;

    let kv = |key: &str, value: V| Kv {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    };
    let s = |v: &str| V::StringValue(v.into());
    let resource = Resource {
        attributes: vec![
            kv("service.name", s("bench")),
            kv("telemetry.sdk.name", s("agtrace")),
            kv("telemetry.sdk.language", s("rust")),
            kv("telemetry.sdk.version", s(env!("CARGO_PKG_VERSION"))),
        ],
        ..Default::default()
    };
    let start = 1_767_225_600_000_000_000u64;
    let spans = (0..spans as u64)
        .map(|i| {
            let id = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            Span {
                trace_id: [id.to_le_bytes(), (!id).to_le_bytes()].concat(),
                span_id: id.to_be_bytes().to_vec(),
                flags: 0x101,
                name: "span".into(),
                kind: SpanKind::Internal as i32,
                start_time_unix_nano: start + i * 1_000,
                end_time_unix_nano: start + i * 1_000 + 850,
                attributes: vec![
                    kv("tool", s("search")),
                    kv("step", V::IntValue(3)),
                    kv("cached", V::BoolValue(true)),
                    kv("agtrace.kind", s("tool")),
                    kv("gen_ai.operation.name", s("execute_tool")),
                    kv("openinference.span.kind", s("TOOL")),
                ],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "agtrace".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// Posts `body` over one keep-alive HTTP/1.1 connection until `until`,
/// each request after the previous answer.
fn post_until(addr: &str, body: &[u8], until: Instant) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut request = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = String::new();
    let mut answer = Vec::new();
    while Instant::now() < until {
        writer.write_all(&request).unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(
            line.starts_with("HTTP/1.1 200"),
            "otlp-sink answered {line:?}"
        );
        let mut length = 0;
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        answer.resize(length, 0);
        reader.read_exact(&mut answer).unwrap();
    }
}

/// Passes an already encoded request through tonic untouched, so the
/// client does no protobuf work; the answer is skipped.
#[derive(Clone, Copy)]
struct Encoded;

impl tonic::codec::Codec for Encoded {
    type Encode = bytes::Bytes;
    type Decode = ();
    type Encoder = Encoded;
    type Decoder = Encoded;

    fn encoder(&mut self) -> Encoded {
        Encoded
    }

    fn decoder(&mut self) -> Encoded {
        Encoded
    }
}

impl tonic::codec::Encoder for Encoded {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: bytes::Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut as _;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for Encoded {
    type Item = ();
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<()>, tonic::Status> {
        use bytes::Buf as _;
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

/// Sends `body` as TraceService/Export calls over one gRPC connection until
/// `until`, each call after the previous answer.
fn export_until(url: &str, body: bytes::Bytes, until: Instant) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(url.to_string())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut grpc = tonic::client::Grpc::new(channel);
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        );
        while Instant::now() < until {
            grpc.ready().await.unwrap();
            grpc.unary::<_, (), _>(tonic::Request::new(body.clone()), path.clone(), Encoded)
                .await
                .unwrap();
        }
    });
}

/// Spans per second the sink counted while 2 client threads sent it the
/// same encoded `spans`-span request for `duration`.
fn ceiling(sink: &Sink, protocol: &str, body: &[u8], spans: usize, duration: Duration) -> f64 {
    let before = sink.count();
    let start = Instant::now();
    let until = start + duration;
    let body = bytes::Bytes::copy_from_slice(body);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let body = body.clone();
            scope.spawn(move || {
                if protocol == "grpc" {
                    export_until(&sink.grpc, body, until)
                } else {
                    post_until(sink.http.trim_start_matches("http://"), &body, until)
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let received = sink.count() - before;
    assert_eq!(
        received % spans as u64,
        0,
        "the sink counted part of a request"
    );
    received as f64 / elapsed
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
            && s.ended == s.started
            && s.ended
                == exported + s.dropped.total() + exporter_dropped + exporter_pending + s.pending;
        serde_json::json!({
            "peak_kib": rss_kib("VmHWM:"), "rss_tenth_kib": rss_at_tenth, "rss_end_kib": rss_end,
            "created": s.started, "ended": s.ended, "exported": exported,
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

/// Heap allocations on the calling thread in `spans` spans (after a
/// warm-up), agtrace's and the peer's.
fn allocations(attributes: usize, spans: u64) -> (u64, u64) {
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
    let ours = allocs() - a0;
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
    let theirs = allocs() - a0;
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
    let request = sample_request(512);
    let ceiling_time = Duration::from_millis(if smoke { 300 } else { 3_000 });
    for (protocol, label) in [("http/protobuf", "HTTP/protobuf"), ("grpc", "gRPC")] {
        let (ours, got) = throughput(&sink, true, protocol, spans);
        let (theirs, got_theirs) = throughput(&sink, false, protocol, spans);
        let most = ceiling(&sink, protocol, &request, 512, ceiling_time);
        emit(Row {
            section: "Export throughput",
            scenario: &format!("{spans} spans to a local OTLP receiver, {label}"),
            unit: "spans/s",
            agtrace: ours,
            peer: Some(("opentelemetry-otlp 0.33 (batch processor)", theirs)),
            target: Some((">= 2 x peer", ours >= 2.0 * theirs)),
            note: &format!(
                "received: agtrace {got}, peer {got_theirs} of {spans}; the receiver's ceiling \
                 {:.0}k spans/s (agtrace at {:.0}% of it{})",
                most / 1000.0,
                100.0 * ours / most,
                if 2.0 * theirs > most {
                    "; 2 x peer is above it, so this receiver cannot show the target"
                } else {
                    ""
                }
            ),
        });
        emit(Row {
            section: "Export throughput",
            scenario: &format!("the receiver's ceiling, {label}"),
            unit: "spans/s",
            agtrace: most,
            peer: None,
            target: None,
            note: &format!(
                "one {}-byte request of 512 spans, encoded once, sent back to back by 2 client \
                 threads for {:.1} s; what otlp-sink counted",
                request.len(),
                ceiling_time.as_secs_f64()
            ),
        });
    }
    drop(sink);

    let spans = if smoke { 20_000 } else { 1_000_000 };
    let ours = memory("agtrace", spans);
    let theirs = memory("otel", spans);
    let mib = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(0.0) / 1024.0;
    let peak = mib(&ours, "peak_kib");
    let peer_peak = mib(&theirs, "peak_kib");
    let within = peak <= 1.5 * peer_peak;
    // Flat: what 1M spans add over the first 100k is noise (a quarter, or
    // 8 MiB of allocator and page-cache slack), not growth with the count.
    let flat = mib(&ours, "rss_end_kib") <= mib(&ours, "rss_tenth_kib") * 1.25 + 8.0;
    let accounted = ours["accounted"].as_bool() == Some(true);
    let verdict = |ok: bool| if ok { "yes" } else { "NO" };
    emit(Row {
        section: "Memory",
        scenario: &format!("peak RSS, {spans} spans, exporter stalled"),
        unit: "MiB",
        agtrace: peak,
        peer: Some(("opentelemetry_sdk 0.33 + otlp", peer_peak)),
        target: Some((
            "<= 1.5 x peer, flat, accounted",
            within && flat && accounted,
        )),
        note: &format!(
            "within 1.5 x peer: {}; flat: {}, RSS {:.0} MiB at {} spans, {:.0} MiB at {spans}; \
             accounted: {}, created {} = ended {} = exported {} + dropped (queue full {}, queue \
             bytes {}, shutdown {}, exporter {}) + pending {}",
            verdict(within),
            verdict(flat),
            mib(&ours, "rss_tenth_kib"),
            spans / 10,
            mib(&ours, "rss_end_kib"),
            verdict(accounted),
            ours["created"],
            ours["ended"],
            ours["exported"],
            ours["dropped_queue_full"],
            ours["dropped_queue_bytes"],
            ours["dropped_shutdown"],
            ours["dropped_exporter"],
            ours["pending"],
        ),
    });

    let spans = if smoke { 10_000 } else { 200_000 };
    for attributes in [0, 5, 8] {
        let (ours, theirs) = allocations(attributes, spans);
        emit(Row {
            section: "Allocations",
            scenario: &format!(
                "heap allocations per span on the calling thread, {attributes} attributes"
            ),
            unit: "allocs",
            agtrace: ours as f64 / spans as f64,
            peer: Some(("opentelemetry_sdk 0.33", theirs as f64 / spans as f64)),
            target: Some(("0", ours == 0)),
            note: &format!("agtrace {ours}, peer {theirs} allocations in {spans} spans"),
        });
    }
}

//! Exporters: the console tree, OTLP/JSON lines in a file, and OTLP over HTTP
//! (protobuf and JSON, with headers and gzip) to a receiver on loopback.

mod common;
use agtrace_core::exporter::ConsoleExporter;
use agtrace_core::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn small_trace(tracer: &Tracer) {
    let mut root = tracer
        .span("invoke_agent a")
        .kind(SpanKind::Agent)
        .root()
        .start();
    let mut llm = tracer
        .span("chat m")
        .kind(SpanKind::Llm)
        .parent(&root)
        .start();
    llm.set_usage(Usage::new(100, 20));
    llm.set_provider("openai");
    llm.end();
    let mut tool = tracer
        .span("execute_tool t")
        .kind(SpanKind::Tool)
        .parent(&root)
        .start();
    tool.record_error("Timeout", "tool timed out", None);
    tool.end();
    root.set_attribute("answer.len", 3);
    root.end();
}

#[test]
fn console_prints_each_trace_as_a_tree_when_its_root_ends() {
    let buf = Buffer::default();
    let tracer = Tracer::builder()
        .ignore_env()
        .custom_exporter(Box::new(ConsoleExporter::to_writer(Box::new(buf.clone()))))
        .build()
        .unwrap();
    small_trace(&tracer);
    tracer.force_flush(Duration::from_secs(5)).unwrap();
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("trace "), "{text}");
    assert!(lines[1].starts_with("invoke_agent a [agent]"), "{text}");
    assert!(
        lines[1].contains("tokens in=100 out=20"),
        "root shows the tree's totals: {text}"
    );
    assert!(
        lines[2].starts_with("├─ chat m [llm]") && lines[2].contains("provider=openai"),
        "{text}"
    );
    assert!(lines[3].starts_with("└─ execute_tool t [tool]"), "{text}");
    assert!(lines[3].contains("ERROR: tool timed out"), "{text}");
    assert!(lines[1].contains(" ms"), "{text}");
}

#[test]
fn console_prints_orphans_on_flush() {
    let buf = Buffer::default();
    let tracer = Tracer::builder()
        .ignore_env()
        .custom_exporter(Box::new(ConsoleExporter::to_writer(Box::new(buf.clone()))))
        .build()
        .unwrap();
    let root = tracer.span("still-open").root().start();
    tracer.span("finished-child").parent(&root).start().end();
    tracer.force_flush(Duration::from_secs(5)).unwrap();
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("finished-child"), "{text}");
    drop(root);
}

#[test]
fn file_exporter_writes_otlp_json_lines() {
    let path = std::env::temp_dir().join(format!("agtrace-file-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let tracer = Tracer::builder()
        .ignore_env()
        .service_name("file-test")
        .exporter(ExporterConfig::File(path.clone()))
        .build()
        .unwrap();
    small_trace(&tracer);
    tracer.shutdown(Duration::from_secs(5)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut spans = Vec::new();
    for line in text.lines() {
        // Every line is one OTLP/JSON ExportTraceServiceRequest.
        let req: ExportTraceServiceRequest = serde_json::from_str(line).unwrap();
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let rs = &v["resourceSpans"][0];
        assert!(rs["resource"]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["key"] == "service.name" && a["value"]["stringValue"] == "file-test"));
        assert_eq!(rs["scopeSpans"][0]["scope"]["name"], "agtrace");
        for s in rs["scopeSpans"][0]["spans"].as_array().unwrap() {
            // OTLP/JSON: hex ids, integer enums, 64-bit integers as strings.
            assert_eq!(s["traceId"].as_str().unwrap().len(), 32);
            assert!(s["startTimeUnixNano"].is_string());
            spans.push(s.clone());
        }
        assert!(!req.resource_spans.is_empty());
    }
    assert_eq!(spans.len(), 3);
    let find = |n: &str| spans.iter().find(|s| s["name"] == n).unwrap();
    let root = find("invoke_agent a");
    assert_eq!(find("chat m")["parentSpanId"], root["spanId"]);
    assert_eq!(find("chat m")["kind"], 3, "CLIENT");
    assert_eq!(find("execute_tool t")["status"]["code"], 2, "ERROR");
    assert_eq!(find("execute_tool t")["events"][0]["name"], "exception");
    let usage = find("chat m")["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "gen_ai.usage.input_tokens")
        .unwrap()
        .clone();
    assert_eq!(usage["value"]["intValue"], "100");
    let _ = std::fs::remove_file(&path);
}

/// One HTTP request as received: headers (lowercased names) and body.
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Accepts HTTP/1.1 requests on loopback, answers 200, and hands each to the
/// test.
fn http_receiver() -> (String, std::sync::mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut headers = Vec::new();
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap();
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                    }
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .map(|(_, v)| v.parse().unwrap())
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).unwrap();
                    stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
                        .unwrap();
                    let _ = tx.send(Received {
                        path,
                        headers,
                        body,
                    });
                }
            });
        }
    });
    (format!("http://{addr}"), rx)
}

fn header<'a>(r: &'a Received, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn spans_of(req: &ExportTraceServiceRequest) -> Vec<&opentelemetry_proto::tonic::trace::v1::Span> {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect()
}

#[test]
fn otlp_http_protobuf_with_headers_from_env_and_code() {
    let (base, rx) = http_receiver();
    let tracer = Tracer::builder()
        .env_map(
            [
                ("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), base.clone()),
                (
                    "OTEL_EXPORTER_OTLP_HEADERS".to_string(),
                    "x-env=a%20b".to_string(),
                ),
                ("OTEL_SERVICE_NAME".to_string(), "otlp-test".to_string()),
                ("AGTRACE_EXPORTERS".to_string(), "otlp".to_string()),
            ]
            .into(),
        )
        .build()
        .unwrap();
    small_trace(&tracer);
    tracer.shutdown(Duration::from_secs(10)).unwrap();
    let r = rx.recv_timeout(Duration::from_secs(10)).expect("a request");
    assert_eq!(
        r.path, "/v1/traces",
        "/v1/traces is appended to the base endpoint"
    );
    assert_eq!(header(&r, "content-type"), Some("application/x-protobuf"));
    assert_eq!(header(&r, "x-env"), Some("a b"));
    let req = ExportTraceServiceRequest::decode(&r.body[..]).unwrap();
    let spans = spans_of(&req);
    assert_eq!(spans.len(), 3);
    let res = req.resource_spans[0].resource.as_ref().unwrap();
    assert!(res
        .attributes
        .iter()
        .any(|a| a.key == "service.name" && format!("{:?}", a.value).contains("otlp-test")));
    let root = spans.iter().find(|s| s.name == "invoke_agent a").unwrap();
    let llm = spans.iter().find(|s| s.name == "chat m").unwrap();
    assert_eq!(llm.parent_span_id, root.span_id);
    assert_eq!(llm.trace_id, root.trace_id);
    assert!(llm.end_time_unix_nano >= llm.start_time_unix_nano);
    let s = tracer.stats();
    assert_eq!(s.exporters[0].exported, 3);
}

#[test]
fn otlp_http_json_and_gzip_from_code() {
    let (base, rx) = http_receiver();
    let tracer = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some(format!("{base}/custom/traces")),
            protocol: Some(OtlpProtocol::HttpJson),
            headers: vec![("authorization".into(), "Bearer t0k3n".into())],
            timeout: Some(Duration::from_secs(5)),
            compression: Some(OtlpCompression::Gzip),
            ..Default::default()
        }))
        .build()
        .unwrap();
    small_trace(&tracer);
    tracer.shutdown(Duration::from_secs(10)).unwrap();
    let r = rx.recv_timeout(Duration::from_secs(10)).expect("a request");
    assert_eq!(
        r.path, "/custom/traces",
        "a configured endpoint is used as is"
    );
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    assert_eq!(header(&r, "content-encoding"), Some("gzip"));
    assert_eq!(header(&r, "authorization"), Some("Bearer t0k3n"));
    assert_eq!(&r.body[..2], &[0x1f, 0x8b], "gzip magic");
}

#[test]
fn otlp_to_a_dead_endpoint_is_counted_not_raised() {
    // Bind then drop: nothing listens on this port.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tracer = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some(format!("http://127.0.0.1:{port}/v1/traces")),
            timeout: Some(Duration::from_secs(2)),
            ..Default::default()
        }))
        .delivery(DeliveryConfig {
            max_retries: 2,
            initial_backoff: Duration::from_millis(10),
            ..Default::default()
        })
        .build()
        .unwrap();
    tracer.span("lost").start().end();
    assert_eq!(
        tracer.force_flush(Duration::from_secs(30)),
        Err(Error::Undelivered {
            operation: "flush",
            dropped: 1,
            spooled: 0
        }),
        "the flush reports the span it lost"
    );
    let s = tracer.stats();
    assert_eq!(
        (s.exporters[0].exported, s.exporters[0].dropped.failed),
        (0, 1)
    );
    assert_eq!(s.exporters[0].retried, 2, "connection refused is retryable");
    assert_eq!(s.dispatched, 1, "handed to the exporter, which failed");
}

/// A gRPC export whose connection fails (refused, or closed by the peer
/// before any answer) is retried: only a status the server sent can be final.
fn grpc_export_over_a_failing_connection(endpoint: String) -> agtrace_core::Stats {
    let tracer = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some(endpoint),
            protocol: Some(OtlpProtocol::Grpc),
            timeout: Some(Duration::from_secs(2)),
            ..Default::default()
        }))
        .delivery(DeliveryConfig {
            max_retries: 2,
            initial_backoff: Duration::from_millis(10),
            ..Default::default()
        })
        .build()
        .unwrap();
    tracer.span("lost").start().end();
    assert_eq!(
        tracer.force_flush(Duration::from_secs(30)),
        Err(Error::Undelivered {
            operation: "flush",
            dropped: 1,
            spooled: 0
        }),
        "the flush reports the span it lost"
    );
    tracer.stats()
}

#[test]
fn otlp_grpc_connection_refused_is_retried_then_counted_failed() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = grpc_export_over_a_failing_connection(format!("http://127.0.0.1:{port}"));
    let e = &s.exporters[0];
    assert_eq!(
        (e.exported, e.dropped.failed, e.dropped.rejected),
        (0, 1, 0)
    );
    assert_eq!(e.retried, 2, "connection refused is retryable");
}

#[test]
fn otlp_grpc_connection_closed_by_the_peer_is_retried_then_counted_failed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts each connection and closes it at once, before HTTP/2 starts.
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    let s = grpc_export_over_a_failing_connection(format!("http://127.0.0.1:{port}"));
    let e = &s.exporters[0];
    assert_eq!(
        (e.exported, e.dropped.failed, e.dropped.rejected),
        (0, 1, 0)
    );
    assert_eq!(e.retried, 2, "a closed connection is retryable");
}

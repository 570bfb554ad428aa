//! What the OTLP exporter puts on the wire, decoded by `opentelemetry-proto`
//! (an independent decoder: prost for protobuf over HTTP and gRPC, serde for
//! OTLP/JSON) and compared, span by span, with the records the same tracer
//! handed to an in-memory exporter: ids, names, kinds, times, flags, every
//! attribute value type, events, links, status, resource and scope. Also for
//! a batch split to fit the size limit and a batch sent again after a
//! retryable failure, which are sent from the spans encoded the first time.

mod common;
use agtrace_core::propagation::Baggage;
use agtrace_core::*;
use common::scripted::{Received, Reply, ScriptedOtlp};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1 as otlp;
use std::collections::HashMap;
use std::time::Duration;

const PROTOCOLS: [OtlpProtocol; 3] = [
    OtlpProtocol::HttpProtobuf,
    OtlpProtocol::HttpJson,
    OtlpProtocol::Grpc,
];

fn server(protocol: OtlpProtocol, script: Vec<Reply>) -> ScriptedOtlp {
    match protocol {
        OtlpProtocol::Grpc => ScriptedOtlp::grpc(script),
        _ => ScriptedOtlp::http(script),
    }
}

fn tracer(
    server: &ScriptedOtlp,
    protocol: OtlpProtocol,
    max_request_bytes: Option<usize>,
) -> (Tracer, InMemoryExporter) {
    tracer_with_batches(server, protocol, max_request_bytes, 512)
}

fn tracer_with_batches(
    server: &ScriptedOtlp,
    protocol: OtlpProtocol,
    max_request_bytes: Option<usize>,
    batch_size: usize,
) -> (Tracer, InMemoryExporter) {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .batch_size(batch_size)
        .service_name("encoding-test")
        .resource_attribute(Attribute::new("deployment.environment", "ci"))
        .resource_attribute(Attribute::new("host.cores", 2i64))
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some(server.endpoint()),
            protocol: Some(protocol),
            timeout: Some(Duration::from_secs(5)),
            max_request_bytes,
            ..Default::default()
        }))
        .exporter(ExporterConfig::Memory(mem.clone()))
        .delivery(DeliveryConfig {
            max_retries: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            ..Default::default()
        })
        .build()
        .unwrap();
    (tracer, mem)
}

/// Finite values only: OTLP/JSON has no NaN (the unit tests cover it).
fn every_value_type() -> Vec<Attribute> {
    vec![
        Attribute::new("bool", true),
        Attribute::new("bool.false", false),
        Attribute::new("int", -42i64),
        Attribute::new("int.max", i64::MAX),
        Attribute::new("int.min", i64::MIN),
        Attribute::new("double", 2.5),
        Attribute::new("double.small", -1e-9),
        Attribute::new("string", "héllo \"wörld\"\n\t🎉"),
        Attribute::new("string.empty", ""),
        Attribute::new("string.long", "z".repeat(500)),
        Attribute::new("array.bool", vec![true, false]),
        Attribute::new("array.int", vec![1i64, -2, 300]),
        Attribute::new("array.double", vec![0.5, 1e21]),
        Attribute::new("array.string", vec!["a", "", "ü\u{1}"]),
        Attribute::new("array.empty", Vec::<i64>::new()),
    ]
}

/// A trace with every shape: a remote parent with trace state, attribute
/// types, events, links, each status, each OTLP kind.
fn trace(tracer: &Tracer, tag: &str) {
    let remote = SpanContext {
        trace_id: TraceId::random(),
        span_id: SpanId::random(),
        flags: TraceFlags::SAMPLED,
        trace_state: TraceState::from_entries(vec![
            ("congo".into(), "t61rcWkgMzE".into()),
            ("rojo".into(), "00f067aa0ba902b7".into()),
        ]),
        is_remote: true,
    };
    let mut root = tracer
        .span(format!("{tag} agent"))
        .kind(SpanKind::Agent)
        .otel_kind(OtelKind::Server)
        .parent(Parent::Remote {
            context: remote.clone(),
            baggage: Baggage::default(),
        })
        .attributes(every_value_type())
        .start();
    let mut llm = tracer
        .span(format!("{tag} chat"))
        .kind(SpanKind::Llm)
        .parent(&root)
        .link(remote, vec![Attribute::new("link.reason", "caused by")])
        .start();
    llm.set_usage(Usage::new(100, 20));
    llm.add_event("first token", vec![Attribute::new("at.ms", 42i64)]);
    llm.add_event("empty", vec![]);
    llm.set_status(Status::Ok);
    llm.end();
    for (i, kind) in [OtelKind::Producer, OtelKind::Consumer, OtelKind::Internal]
        .into_iter()
        .enumerate()
    {
        let mut s = tracer
            .span(format!("{tag} step {i}"))
            .kind(SpanKind::Tool)
            .otel_kind(kind)
            .parent(&root)
            .start();
        s.add_link(llm.context().clone(), every_value_type());
        if i == 0 {
            s.record_error("Timeout", "tool timed out", None);
        }
        s.end();
    }
    root.end();
}

fn any(v: &Value) -> AnyValue {
    use any_value::Value as V;
    let array = |values: Vec<AnyValue>| V::ArrayValue(ArrayValue { values });
    let scalar = |v| AnyValue { value: Some(v) };
    let value = match v {
        Value::Bool(b) => V::BoolValue(*b),
        Value::I64(i) => V::IntValue(*i),
        Value::F64(f) => V::DoubleValue(*f),
        Value::String(s) => V::StringValue(s.to_string()),
        Value::BoolArray(a) => array(a.iter().map(|b| scalar(V::BoolValue(*b))).collect()),
        Value::I64Array(a) => array(a.iter().map(|i| scalar(V::IntValue(*i))).collect()),
        Value::F64Array(a) => array(a.iter().map(|f| scalar(V::DoubleValue(*f))).collect()),
        Value::StringArray(a) => array(
            a.iter()
                .map(|s| scalar(V::StringValue(s.to_string())))
                .collect(),
        ),
    };
    scalar(value)
}

fn key_values(attributes: &[Attribute]) -> Vec<KeyValue> {
    attributes
        .iter()
        .map(|a| KeyValue {
            key: a.key.to_string(),
            value: Some(any(&a.value)),
            key_strindex: 0,
        })
        .collect()
}

fn trace_state(ts: &TraceState) -> String {
    ts.header_value()
}

fn flags(f: TraceFlags, remote: bool) -> u32 {
    u32::from(f.0) | 0x100 | if remote { 0x200 } else { 0 }
}

/// The span the record should have become.
fn expected(r: &SpanRecord) -> otlp::Span {
    let (code, message) = match &r.status {
        Status::Unset => (0, String::new()),
        Status::Ok => (1, String::new()),
        Status::Error(m) => (2, m.to_string()),
    };
    otlp::Span {
        trace_id: r.trace_id.0.to_vec(),
        span_id: r.span_id.0.to_vec(),
        trace_state: trace_state(&r.trace_state),
        parent_span_id: if r.is_root() {
            vec![]
        } else {
            r.parent_span_id.0.to_vec()
        },
        flags: flags(r.flags, r.parent_is_remote),
        name: r.name.to_string(),
        kind: match r.otel_kind {
            OtelKind::Internal => 1,
            OtelKind::Server => 2,
            OtelKind::Client => 3,
            OtelKind::Producer => 4,
            OtelKind::Consumer => 5,
        },
        start_time_unix_nano: r.start_unix_nanos,
        end_time_unix_nano: r.end_unix_nanos,
        attributes: key_values(&r.attributes),
        dropped_attributes_count: 0,
        events: r
            .events
            .iter()
            .map(|e| otlp::span::Event {
                time_unix_nano: e.time_unix_nanos,
                name: e.name.to_string(),
                attributes: key_values(&e.attributes),
                dropped_attributes_count: 0,
            })
            .collect(),
        dropped_events_count: 0,
        links: r
            .links
            .iter()
            .map(|l| otlp::span::Link {
                trace_id: l.context.trace_id.0.to_vec(),
                span_id: l.context.span_id.0.to_vec(),
                trace_state: trace_state(&l.context.trace_state),
                attributes: key_values(&l.attributes),
                dropped_attributes_count: 0,
                flags: flags(l.context.flags, l.context.is_remote),
            })
            .collect(),
        dropped_links_count: 0,
        status: Some(otlp::Status { message, code }),
    }
}

/// Checks every request's framing and every span in it against the records;
/// returns the names of the spans received, in order.
fn check(received: &[Received], records: &[SpanRecord]) -> Vec<String> {
    let by_id: HashMap<SpanId, &SpanRecord> = records.iter().map(|r| (r.span_id, r)).collect();
    let resource = key_values(&[
        Attribute::new("service.name", "encoding-test"),
        Attribute::new("telemetry.sdk.name", "agtrace"),
        Attribute::new("telemetry.sdk.language", "rust"),
        Attribute::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        Attribute::new("deployment.environment", "ci"),
        Attribute::new("host.cores", 2i64),
    ]);
    let mut names = Vec::new();
    for req in received {
        let [rs] = &req.request.resource_spans[..] else {
            panic!("one ResourceSpans per request: {:?}", req.request)
        };
        assert_eq!(rs.resource.as_ref().unwrap().attributes, resource);
        assert_eq!(rs.schema_url, "");
        let [ss] = &rs.scope_spans[..] else {
            panic!("one ScopeSpans per request: {rs:?}")
        };
        let scope = ss.scope.as_ref().unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            ("agtrace", env!("CARGO_PKG_VERSION"))
        );
        for span in &ss.spans {
            let id = SpanId(span.span_id[..].try_into().unwrap());
            let record = by_id[&id];
            assert_eq!(*span, expected(record), "span {}", span.name);
            names.push(span.name.clone());
        }
    }
    names
}

fn flushed(tracer: &Tracer, mem: &InMemoryExporter) -> Vec<SpanRecord> {
    tracer.force_flush(Duration::from_secs(20)).unwrap();
    let s = tracer.stats();
    assert_eq!(s.exporters[0].exported, s.exporters[1].exported, "{s:?}");
    mem.spans()
}

#[test]
fn every_span_shape_decodes_to_its_record() {
    for protocol in PROTOCOLS {
        let server = server(protocol, vec![]);
        let (tracer, mem) = tracer(&server, protocol, None);
        trace(&tracer, "t");
        let records = flushed(&tracer, &mem);
        assert_eq!(records.len(), 5);
        let got = server.wait_for(1, Duration::from_secs(5));
        let mut names = check(&got, &records);
        names.sort();
        let mut want: Vec<String> = records.iter().map(|r| r.name.to_string()).collect();
        want.sort();
        assert_eq!(names, want, "{protocol:?}");
        // The shapes are all there.
        let kinds: Vec<_> = records.iter().map(|r| r.otel_kind).collect();
        for kind in [
            OtelKind::Server,
            OtelKind::Client,
            OtelKind::Producer,
            OtelKind::Consumer,
            OtelKind::Internal,
        ] {
            assert!(kinds.contains(&kind), "{kind:?}");
        }
        assert!(records
            .iter()
            .any(|r| r.parent_is_remote && !r.trace_state.is_empty()));
        assert!(records
            .iter()
            .any(|r| r.links.len() == 1 && r.events.len() == 2));
        assert!(records.iter().any(|r| matches!(r.status, Status::Error(_))));
    }
}

#[test]
fn a_split_batch_sends_every_span_once_in_order() {
    for protocol in PROTOCOLS {
        let server = server(protocol, vec![]);
        let (tracer, mem) = tracer(&server, protocol, Some(6 * 1024));
        for i in 0..4 {
            trace(&tracer, &format!("t{i}"));
        }
        let records = flushed(&tracer, &mem);
        let got = server.received();
        assert!(got.len() >= 4, "{protocol:?}: split into {}", got.len());
        let names = check(&got, &records);
        // Halves, in order: the spans arrive in the order they were batched.
        let want: Vec<String> = records.iter().map(|r| r.name.to_string()).collect();
        assert_eq!(names, want, "{protocol:?}");
    }
}

#[test]
fn a_retried_batch_is_sent_again_unchanged() {
    for protocol in PROTOCOLS {
        let failure = match protocol {
            OtlpProtocol::Grpc => Reply::grpc(tonic::Code::Unavailable),
            _ => Reply::http(503),
        };
        // A split batch whose first half fails twice, then everything passes.
        let server = server(protocol, vec![failure.clone(), failure]);
        let (tracer, mem) = tracer(&server, protocol, Some(8 * 1024));
        for i in 0..4 {
            trace(&tracer, &format!("t{i}"));
        }
        let records = flushed(&tracer, &mem);
        let got = server.received();
        assert_eq!(got[0].request, got[1].request, "{protocol:?}");
        assert_eq!(got[1].request, got[2].request, "{protocol:?}");
        assert_eq!(got[0].body_bytes, got[2].body_bytes, "{protocol:?}");
        let names = check(&got[2..], &records);
        let want: Vec<String> = records.iter().map(|r| r.name.to_string()).collect();
        assert_eq!(names, want, "{protocol:?}");
        assert_eq!(tracer.stats().exporters[0].retried, 2, "{protocol:?}");
    }
}

#[test]
fn batches_queued_behind_a_slow_export_are_sent_from_their_encoding() {
    for protocol in PROTOCOLS {
        let failure = match protocol {
            OtlpProtocol::Grpc => Reply::grpc(tonic::Code::Unavailable),
            _ => Reply::http(503),
        };
        // The first request takes a while, so the batches after it wait in
        // the exporter's queue (encoded there); the next one fails once
        // and is retried, and a small request limit splits them.
        let server = server(
            protocol,
            vec![Reply::delay(Duration::from_millis(300), Reply::Ok), failure],
        );
        let (tracer, mem) = tracer_with_batches(&server, protocol, Some(4 * 1024), 5);
        for i in 0..10 {
            trace(&tracer, &format!("t{i}"));
        }
        let records = flushed(&tracer, &mem);
        let s = tracer.stats();
        let otlp = &s.exporters[0];
        assert_eq!(
            otlp.exported as usize,
            records.len(),
            "{protocol:?}: {otlp:?}"
        );
        assert_eq!(otlp.retried, 1, "{protocol:?}");
        // Every span arrives once, in the order it was batched, decoding to
        // its record, whichever form it waited in.
        // The failed attempt is the request just before its identical retry.
        let mut got = server.received();
        let failed = (0..got.len() - 1).find(|&i| got[i].request == got[i + 1].request);
        got.remove(failed.expect("a retried request"));
        let names = check(&got, &records);
        let want: Vec<String> = records.iter().map(|r| r.name.to_string()).collect();
        assert_eq!(names, want, "{protocol:?}");
    }
}

//! The direct encoders against the encoding they replace: records converted
//! to the OpenTelemetry SDK's `SpanData`, grouped by `opentelemetry-proto`
//! and written by prost (protobuf) or serde_json (OTLP/JSON with
//! `with-serde`). Both must give the same bytes for every span shape; and the
//! encoder must allocate nothing per span once its buffers have grown.

use super::{json, proto, EncodedSpans, Format};
use crate::exporter::Resource;
use crate::model::id::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use crate::model::kind::OtelKind;
use crate::model::record::{Event, Link, SpanRecord, Status};
use crate::model::value::{Attribute, Value};
use opentelemetry::trace as ot;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message;
use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// -- the reference: the conversion the exporters used before ------------------

fn to_otel(resource: &Resource) -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder_empty()
        .with_attributes(resource.attributes.iter().map(key_value))
        .build()
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("agtrace")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

fn time(unix_nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nanos)
}

fn key_value(a: &Attribute) -> KeyValue {
    KeyValue::new(a.key.clone(), value(&a.value))
}

fn value(v: &Value) -> opentelemetry::Value {
    use opentelemetry::{Array, StringValue, Value as O};
    match v {
        Value::Bool(b) => O::Bool(*b),
        Value::I64(i) => O::I64(*i),
        Value::F64(f) => O::F64(*f),
        Value::String(s) => O::String(StringValue::from(s.clone())),
        Value::BoolArray(a) => O::Array(Array::Bool(a.clone())),
        Value::I64Array(a) => O::Array(Array::I64(a.clone())),
        Value::F64Array(a) => O::Array(Array::F64(a.clone())),
        Value::StringArray(a) => O::Array(Array::String(
            a.iter().map(|s| StringValue::from(s.clone())).collect(),
        )),
    }
}

fn context(c: &SpanContext) -> ot::SpanContext {
    let state = ot::TraceState::from_key_value(
        c.trace_state
            .entries()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .unwrap_or_default();
    ot::SpanContext::new(
        ot::TraceId::from_bytes(c.trace_id.0),
        ot::SpanId::from_bytes(c.span_id.0),
        ot::TraceFlags::new(c.flags.0),
        c.is_remote,
        state,
    )
}

fn span_data(r: &SpanRecord, scope: &InstrumentationScope) -> SpanData {
    let mut events = SpanEvents::default();
    events.events = r
        .events
        .iter()
        .map(|e| {
            ot::Event::new(
                e.name.clone(),
                time(e.time_unix_nanos),
                e.attributes.iter().map(key_value).collect(),
                0,
            )
        })
        .collect();
    let mut links = SpanLinks::default();
    links.links = r
        .links
        .iter()
        .map(|l| {
            ot::Link::new(
                context(&l.context),
                l.attributes.iter().map(key_value).collect(),
                0,
            )
        })
        .collect();
    SpanData {
        span_context: context(&r.context()),
        parent_span_id: ot::SpanId::from_bytes(r.parent_span_id.0),
        parent_span_is_remote: r.parent_is_remote,
        span_kind: match r.otel_kind {
            OtelKind::Internal => ot::SpanKind::Internal,
            OtelKind::Server => ot::SpanKind::Server,
            OtelKind::Client => ot::SpanKind::Client,
            OtelKind::Producer => ot::SpanKind::Producer,
            OtelKind::Consumer => ot::SpanKind::Consumer,
        },
        name: r.name.clone(),
        start_time: time(r.start_unix_nanos),
        end_time: time(r.end_unix_nanos),
        attributes: r.attributes.iter().map(key_value).collect(),
        dropped_attributes_count: 0,
        events,
        links,
        status: match &r.status {
            Status::Unset => ot::Status::Unset,
            Status::Ok => ot::Status::Ok,
            Status::Error(d) => ot::Status::Error {
                description: d.clone(),
            },
        },
        instrumentation_scope: scope.clone(),
    }
}

fn reference(batch: &[Box<SpanRecord>], resource: &Resource) -> ExportTraceServiceRequest {
    let resource: ResourceAttributesWithSchema = (&to_otel(resource)).into();
    let scope = scope();
    let spans = batch.iter().map(|r| span_data(r, &scope)).collect();
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans, &resource),
    }
}

// -- span shapes ---------------------------------------------------------------

fn attr(key: &str, value: impl Into<Value>) -> Attribute {
    Attribute::new(key.to_string(), value)
}

/// Strings that need escaping, or several bytes per character, or a length
/// that takes a two-byte varint.
const AWKWARD: [&str; 6] = [
    "",
    "héllo 世界 🎉",
    "quote \" backslash \\ slash / nl \n cr \r tab \t bs \u{8} ff \u{c}",
    "controls \u{0} \u{1} \u{1f} del \u{7f} nbsp \u{a0} ls \u{2028}",
    "{\"json\": [1, 2.5, null]}",
    "",
];

fn every_value_type() -> Vec<Attribute> {
    let long = "x".repeat(300);
    vec![
        attr("bool.true", true),
        attr("bool.false", false),
        attr("int.zero", 0i64),
        attr("int.negative", -1i64),
        attr("int.max", i64::MAX),
        attr("int.min", i64::MIN),
        attr("double.zero", 0.0),
        attr("double.negative_zero", -0.0),
        attr("double.fraction", 1.5),
        attr("double.tiny", 1e-7),
        attr("double.huge", 1e300),
        attr("double.third", 1.0 / 3.0),
        attr("double.nan", f64::NAN),
        attr("double.inf", f64::INFINITY),
        attr("double.neg_inf", f64::NEG_INFINITY),
        attr("string.empty", ""),
        attr("string.unicode", AWKWARD[1]),
        attr("string.escapes", AWKWARD[2]),
        attr("string.controls", AWKWARD[3]),
        attr("string.json", AWKWARD[4]),
        attr("string.long", long.clone()),
        attr("", "empty key"),
        attr("array.bool", vec![true, false, true]),
        attr("array.int", vec![0i64, -5, i64::MAX, i64::MIN, 300]),
        attr(
            "array.double",
            vec![0.5, -2.0, f64::NAN, f64::INFINITY, 1e21],
        ),
        attr("array.string", AWKWARD.to_vec()),
        attr("array.string.long", vec![long]),
        attr("array.bool.empty", Vec::<bool>::new()),
        attr("array.int.empty", Vec::<i64>::new()),
        attr("array.double.empty", Vec::<f64>::new()),
        attr("array.string.empty", Vec::<&'static str>::new()),
    ]
}

fn record(name: &str, span: u64) -> Box<SpanRecord> {
    let mut r = Box::new(SpanRecord::blank());
    r.trace_id = TraceId::from_u128(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c);
    r.span_id = SpanId::from_u64(span);
    r.flags = TraceFlags::SAMPLED;
    r.name = name.to_string().into();
    r.start_unix_nanos = 1_700_000_000_123_456_789;
    r.end_unix_nanos = 1_700_000_000_223_456_789;
    r
}

fn state(entries: &[(&str, &str)]) -> TraceState {
    TraceState::from_entries(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn link(span: u64, remote: bool, trace_state: TraceState, attributes: Vec<Attribute>) -> Link {
    Link {
        context: SpanContext {
            trace_id: TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            span_id: SpanId::from_u64(span),
            flags: TraceFlags(if remote { 0x01 } else { 0x00 }),
            trace_state,
            is_remote: remote,
        },
        attributes,
    }
}

/// One span of every shape the records can take.
fn shapes() -> Vec<Box<SpanRecord>> {
    let mut out = Vec::new();

    // A root with nothing on it.
    let mut r = record("root", 1);
    r.flags = TraceFlags::NOT_SAMPLED;
    out.push(r);

    // A child with every value type, more than fit inline.
    let mut r = record("chat gpt-4o", 2);
    r.parent_span_id = SpanId::from_u64(1);
    r.otel_kind = OtelKind::Client;
    r.attributes = every_value_type().into_iter().collect();
    r.status = Status::Ok;
    out.push(r);

    // Events, including an empty one and one at time zero.
    let mut r = record("with events", 3);
    r.parent_span_id = SpanId::from_u64(1);
    r.otel_kind = OtelKind::Server;
    r.events = vec![
        Event {
            name: "exception".into(),
            time_unix_nanos: 1_700_000_000_200_000_000,
            attributes: vec![
                attr("exception.type", "Timeout"),
                attr("exception.message", AWKWARD[2]),
                attr("exception.escaped", false),
            ],
        },
        Event {
            name: "".into(),
            time_unix_nanos: 0,
            attributes: vec![],
        },
        Event {
            name: AWKWARD[1].into(),
            time_unix_nanos: 1,
            attributes: every_value_type(),
        },
    ];
    r.status = Status::Error("tool timed out \"hard\"\n".into());
    out.push(r);

    // Links with and without trace state, remote and local; a remote parent.
    let mut r = record("with links", 4);
    r.parent_span_id = SpanId::from_u64(0xffff_ffff_ffff_ffff);
    r.parent_is_remote = true;
    r.otel_kind = OtelKind::Producer;
    r.trace_state = state(&[("congo", "t61rcWkgMzE"), ("rojo", "00f067aa0ba902b7")]);
    r.links = vec![
        link(7, true, state(&[("vendor@tenant", "x y")]), vec![]),
        link(
            8,
            false,
            TraceState::EMPTY,
            vec![attr("link.kind", "follows")],
        ),
        link(9, true, state(&[("a", "\"quoted\"\\")]), every_value_type()),
    ];
    out.push(r);

    // Trace states the SDK drops whole: an invalid key, an invalid value.
    let mut r = record("invalid trace state", 5);
    r.otel_kind = OtelKind::Consumer;
    r.trace_state = state(&[("ok", "1"), ("Upper", "2")]);
    r.links = vec![link(10, false, state(&[("k", "a=b")]), vec![])];
    r.status = Status::Error("".into());
    out.push(r);

    // More trace-state entries than the SDK keeps (32).
    let mut r = record("long trace state", 6);
    let many: Vec<(String, String)> = (0..40)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    r.trace_state = TraceState::from_entries(many);
    out.push(r);

    // Unusual flags and times, an empty name, a long name.
    let mut r = record("", 7);
    r.flags = TraceFlags(0xff);
    r.start_unix_nanos = 0;
    r.end_unix_nanos = u64::MAX;
    out.push(r);
    let mut r = record(&"n".repeat(200), 8);
    r.attributes = (0..20).map(|i| attr(&format!("k{i}"), i as i64)).collect();
    out.push(r);
    out
}

fn resource() -> Resource {
    // One key, given twice: the SDK's resource keeps its keys in a hash map,
    // so only a single key has an order the reference can reproduce.
    Resource {
        attributes: vec![
            attr("service.name", "first"),
            attr("service.name", "svc \"ü\""),
        ],
    }
}

fn encode(format: &Format, batch: &[Box<SpanRecord>]) -> Vec<u8> {
    let mut spans = Vec::new();
    for r in batch {
        format.span(r, &mut spans);
    }
    let mut out = Vec::new();
    format.write_request(&spans, &mut out);
    assert_eq!(out.len(), format.request_len(&spans), "request_len");
    out
}

fn batches() -> Vec<Vec<Box<SpanRecord>>> {
    let mut batches: Vec<Vec<Box<SpanRecord>>> = shapes().into_iter().map(|r| vec![r]).collect();
    batches.push(shapes());
    batches.push(Vec::new());
    batches
}

// -- byte for byte -------------------------------------------------------------

#[test]
fn protobuf_is_what_prost_wrote_from_span_data() {
    let resource = resource();
    let format = Format::Protobuf(proto::Framing::new(&resource));
    for batch in batches() {
        let expected = reference(&batch, &resource).encode_to_vec();
        let got = encode(&format, &batch);
        assert!(
            got == expected,
            "spans {:?}:\n got {got:02x?}\nwant {expected:02x?}",
            batch.iter().map(|r| &r.name).collect::<Vec<_>>()
        );
    }
}

#[test]
fn json_is_what_serde_wrote_from_span_data() {
    let resource = resource();
    let format = Format::Json(json::Framing::new(&resource));
    for batch in batches() {
        let expected = serde_json::to_vec(&reference(&batch, &resource)).unwrap();
        let got = encode(&format, &batch);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }
}

#[test]
fn resources_with_several_keys_hold_the_same_attributes() {
    // The reference's order is its hash map's; compare as sets.
    let resource = Resource {
        attributes: vec![
            attr("service.name", "svc"),
            attr("telemetry.sdk.name", "agtrace"),
            attr("deployment.environment", "test"),
            attr("service.name", "svc2"),
            attr("host.cores", 2i64),
        ],
    };
    // Spans without NaN, which compares unequal to itself.
    let batch = vec![record("a", 1), record("b", 2)];
    let sorted = |mut r: ExportTraceServiceRequest| {
        for rs in &mut r.resource_spans {
            if let Some(res) = rs.resource.as_mut() {
                res.attributes.sort_by(|a, b| a.key.cmp(&b.key));
            }
        }
        r
    };
    let expected = sorted(reference(&batch, &resource));
    assert_eq!(
        expected.resource_spans[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes
            .len(),
        4
    );
    let got = encode(&Format::Protobuf(proto::Framing::new(&resource)), &batch);
    let got = sorted(ExportTraceServiceRequest::decode(&got[..]).unwrap());
    assert_eq!(got, expected);
    let got = encode(&Format::Json(json::Framing::new(&resource)), &batch);
    let got = sorted(serde_json::from_slice(&got).unwrap());
    assert_eq!(got, expected);
}

// -- reuse ---------------------------------------------------------------------

/// Encodes through the cache, counting the spans it had to encode.
fn pieces(cache: &mut EncodedSpans, batch: &[Box<SpanRecord>], encoded: &Cell<usize>) -> Vec<u8> {
    cache
        .pieces(batch, |r, out| {
            encoded.set(encoded.get() + 1);
            proto::span(r, out)
        })
        .to_vec()
}

#[test]
fn retries_and_halves_reuse_the_encoded_spans() {
    let batch = shapes();
    let mut cache = EncodedSpans::new();
    let encoded = Cell::new(0);
    let whole = pieces(&mut cache, &batch, &encoded);
    assert_eq!(encoded.get(), batch.len());
    // A retry, then halves and quarters, as delivery splits.
    assert_eq!(pieces(&mut cache, &batch, &encoded), whole);
    let (a, b) = batch.split_at(batch.len() / 2);
    let (a1, a2) = a.split_at(a.len() / 2);
    for part in [a, a1, a2, b] {
        let mut fresh = Vec::new();
        part.iter().for_each(|r| proto::span(r, &mut fresh));
        assert_eq!(pieces(&mut cache, part, &encoded), fresh);
    }
    assert_eq!(encoded.get(), batch.len(), "nothing encoded twice");
    // Records in another order are not a run of the cached ones.
    let reordered = [&batch[1..3], &batch[..1]].concat();
    pieces(&mut cache, &reordered, &encoded);
    assert_eq!(encoded.get(), batch.len() + 3);
}

#[test]
fn a_new_span_in_a_cached_records_memory_is_encoded_again() {
    let mut batch = shapes();
    let mut cache = EncodedSpans::new();
    let encoded = Cell::new(0);
    pieces(&mut cache, &batch, &encoded);
    // Same boxes, same addresses, new spans (as a reused record would be).
    for (i, r) in batch.iter_mut().enumerate() {
        r.span_id = SpanId::from_u64(1000 + i as u64);
    }
    let got = pieces(&mut cache, &batch, &encoded);
    assert_eq!(encoded.get(), 2 * batch.len());
    let mut fresh = Vec::new();
    batch.iter().for_each(|r| proto::span(r, &mut fresh));
    assert_eq!(got, fresh);
}

// -- allocations ---------------------------------------------------------------

/// Counts heap allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a const-initialised
// thread local without a destructor, so touching it never allocates.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn encoding_allocates_nothing_per_span_once_warm() {
    let resource = resource();
    for format in [
        Format::Protobuf(proto::Framing::new(&resource)),
        Format::Json(json::Framing::new(&resource)),
    ] {
        let mut cache = EncodedSpans::new();
        let mut body = Vec::new();
        let mut send = |batch: &[Box<SpanRecord>], cache: &mut EncodedSpans| {
            let spans = cache.pieces(batch, |r, out| format.span(r, out));
            body.clear();
            format.write_request(spans, &mut body);
        };
        // 512 spans per batch, of every shape: the first batch grows the buffers.
        let batch = |n: u64| -> Vec<Box<SpanRecord>> {
            (0..512)
                .map(|i| {
                    let mut r = shapes().swap_remove(i % 8);
                    r.span_id = SpanId::from_u64(n * 1000 + i as u64 + 1);
                    r
                })
                .collect()
        };
        let (first, second) = (batch(1), batch(2));
        send(&first, &mut cache);
        let before = allocations();
        send(&second, &mut cache);
        send(&second[..256], &mut cache);
        let during = allocations() - before;
        assert_eq!(during, 0, "allocations encoding 512 spans");
    }
}

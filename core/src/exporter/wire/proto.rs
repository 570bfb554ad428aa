//! OTLP protobuf, written directly from records.
//!
//! Field numbers are those of the OTLP `.proto` files
//! (`opentelemetry/proto/{trace,common,resource}/v1/*.proto` and
//! `collector/trace/v1/trace_service.proto`). The bytes are those prost
//! writes for the same messages: fields in field-number order, proto3 default
//! values (empty strings and bytes, zero numbers) left out, `oneof` values
//! and present sub-messages always written.
//!
//! A nested message is preceded by its length, so every message has a
//! `*_len` function beside its `put_*` function; lengths are computed, never
//! patched in afterwards, so the output buffer is written once, front to back.

use super::{
    flags, kind, put_trace_state, status, trace_state, trace_state_len, unique, SCOPE_NAME,
    SCOPE_VERSION,
};
use crate::exporter::Resource;
use crate::model::record::{Event, Link, SpanRecord};
use crate::model::value::{Attribute, Value};
use prost::encoding::{encode_varint, encoded_len_varint};

/// A field key: field number and wire type (numbers below 16 fit one byte).
const fn key(field: u8, wire_type: u8) -> u8 {
    field << 3 | wire_type
}
const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

// ExportTraceServiceRequest
const REQUEST_RESOURCE_SPANS: u8 = key(1, LEN);
// ResourceSpans
const RESOURCE_SPANS_RESOURCE: u8 = key(1, LEN);
const RESOURCE_SPANS_SCOPE_SPANS: u8 = key(2, LEN);
// Resource
const RESOURCE_ATTRIBUTES: u8 = key(1, LEN);
// ScopeSpans
const SCOPE_SPANS_SCOPE: u8 = key(1, LEN);
const SCOPE_SPANS_SPANS: u8 = key(2, LEN);
// InstrumentationScope
const SCOPE_NAME_FIELD: u8 = key(1, LEN);
const SCOPE_VERSION_FIELD: u8 = key(2, LEN);
// Span
const SPAN_TRACE_ID: u8 = key(1, LEN);
const SPAN_SPAN_ID: u8 = key(2, LEN);
const SPAN_TRACE_STATE: u8 = key(3, LEN);
const SPAN_PARENT_SPAN_ID: u8 = key(4, LEN);
const SPAN_NAME: u8 = key(5, LEN);
const SPAN_KIND: u8 = key(6, VARINT);
const SPAN_START: u8 = key(7, I64);
const SPAN_END: u8 = key(8, I64);
const SPAN_ATTRIBUTES: u8 = key(9, LEN);
const SPAN_EVENTS: u8 = key(11, LEN);
const SPAN_LINKS: u8 = key(13, LEN);
const SPAN_STATUS: u8 = key(15, LEN);
/// `Span.flags`, field 16, fixed32: its key, `16 << 3 | 5`, is a two-byte varint.
const SPAN_FLAGS: [u8; 2] = [0x85, 0x01];
// Span.Event
const EVENT_TIME: u8 = key(1, I64);
const EVENT_NAME: u8 = key(2, LEN);
const EVENT_ATTRIBUTES: u8 = key(3, LEN);
// Span.Link
const LINK_TRACE_ID: u8 = key(1, LEN);
const LINK_SPAN_ID: u8 = key(2, LEN);
const LINK_TRACE_STATE: u8 = key(3, LEN);
const LINK_ATTRIBUTES: u8 = key(4, LEN);
const LINK_FLAGS: u8 = key(6, I32);
// Status
const STATUS_MESSAGE: u8 = key(2, LEN);
const STATUS_CODE: u8 = key(3, VARINT);
// KeyValue
const KV_KEY: u8 = key(1, LEN);
const KV_VALUE: u8 = key(2, LEN);
// AnyValue
const ANY_STRING: u8 = key(1, LEN);
const ANY_BOOL: u8 = key(2, VARINT);
const ANY_INT: u8 = key(3, VARINT);
const ANY_DOUBLE: u8 = key(4, I64);
const ANY_ARRAY: u8 = key(5, LEN);
// ArrayValue
const ARRAY_VALUES: u8 = key(1, LEN);

/// The resource and scope of every request an exporter sends, encoded once.
pub(crate) struct Framing {
    /// `ResourceSpans.resource`, key and length included.
    resource: Vec<u8>,
    /// `ScopeSpans.scope`, key and length included.
    scope: Vec<u8>,
}

impl Framing {
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut body = Vec::new();
        for a in unique(&resource.attributes) {
            put_message(&mut body, RESOURCE_ATTRIBUTES, key_value_len(a));
            put_key_value(&mut body, a);
        }
        let mut field = Vec::with_capacity(body.len() + 6);
        put_message(&mut field, RESOURCE_SPANS_RESOURCE, body.len());
        field.extend_from_slice(&body);

        let scope_len = string_len(SCOPE_NAME) + string_len(SCOPE_VERSION);
        let mut scope = Vec::with_capacity(scope_len + 2);
        put_message(&mut scope, SCOPE_SPANS_SCOPE, scope_len);
        put_string(&mut scope, SCOPE_NAME_FIELD, SCOPE_NAME);
        put_string(&mut scope, SCOPE_VERSION_FIELD, SCOPE_VERSION);
        Framing {
            resource: field,
            scope,
        }
    }

    /// `ScopeSpans` holding `spans`; none when there are no spans (prost
    /// writes no `ScopeSpans` for an empty batch).
    fn scope_spans_len(&self, spans: &[u8]) -> usize {
        if spans.is_empty() {
            0
        } else {
            self.scope.len() + spans.len()
        }
    }

    fn resource_spans_len(&self, spans: &[u8]) -> usize {
        let scope_spans = self.scope_spans_len(spans);
        self.resource.len()
            + if spans.is_empty() {
                0
            } else {
                field_len(scope_spans)
            }
    }

    pub(crate) fn request_len(&self, spans: &[u8]) -> usize {
        field_len(self.resource_spans_len(spans))
    }

    pub(crate) fn write_request(&self, spans: &[u8], out: &mut Vec<u8>) {
        out.reserve(self.request_len(spans));
        put_message(out, REQUEST_RESOURCE_SPANS, self.resource_spans_len(spans));
        out.extend_from_slice(&self.resource);
        if !spans.is_empty() {
            put_message(out, RESOURCE_SPANS_SCOPE_SPANS, self.scope_spans_len(spans));
            out.extend_from_slice(&self.scope);
            out.extend_from_slice(spans);
        }
    }
}

/// Appends one span as a `ScopeSpans.spans` field (key, length, `Span`).
pub(crate) fn span(r: &SpanRecord, out: &mut Vec<u8>) {
    let len = span_len(r);
    out.reserve(field_len(len));
    put_message(out, SCOPE_SPANS_SPANS, len);
    let start = out.len();
    put_bytes(out, SPAN_TRACE_ID, &r.trace_id.0);
    put_bytes(out, SPAN_SPAN_ID, &r.span_id.0);
    let ts = trace_state(&r.trace_state);
    if !ts.is_empty() {
        put_message(out, SPAN_TRACE_STATE, trace_state_len(ts));
        put_trace_state(ts, out);
    }
    if r.parent_span_id.is_valid() {
        put_bytes(out, SPAN_PARENT_SPAN_ID, &r.parent_span_id.0);
    }
    put_string(out, SPAN_NAME, &r.name);
    out.push(SPAN_KIND);
    out.push(kind(r.otel_kind));
    put_fixed64(out, SPAN_START, r.start_unix_nanos);
    put_fixed64(out, SPAN_END, r.end_unix_nanos);
    for a in &r.attributes {
        put_message(out, SPAN_ATTRIBUTES, key_value_len(a));
        put_key_value(out, a);
    }
    for e in &r.events {
        put_message(out, SPAN_EVENTS, event_len(e));
        put_event(out, e);
    }
    for l in &r.links {
        put_message(out, SPAN_LINKS, link_len(l));
        put_link(out, l);
    }
    let (code, message) = status(&r.status);
    put_message(out, SPAN_STATUS, status_len(code, message));
    put_string(out, STATUS_MESSAGE, message);
    if code != 0 {
        out.push(STATUS_CODE);
        out.push(code);
    }
    out.extend_from_slice(&SPAN_FLAGS);
    out.extend_from_slice(&flags(r.flags, r.parent_is_remote).to_le_bytes());
    debug_assert_eq!(out.len() - start, len, "span_len disagrees with span");
}

fn span_len(r: &SpanRecord) -> usize {
    let ts = trace_state(&r.trace_state);
    let (code, message) = status(&r.status);
    field_len(16)
        + field_len(8)
        + if ts.is_empty() {
            0
        } else {
            field_len(trace_state_len(ts))
        }
        + if r.parent_span_id.is_valid() {
            field_len(8)
        } else {
            0
        }
        + string_len(&r.name)
        + 2
        + fixed64_len(r.start_unix_nanos)
        + fixed64_len(r.end_unix_nanos)
        + r.attributes
            .iter()
            .map(|a| field_len(key_value_len(a)))
            .sum::<usize>()
        + r.events
            .iter()
            .map(|e| field_len(event_len(e)))
            .sum::<usize>()
        + r.links
            .iter()
            .map(|l| field_len(link_len(l)))
            .sum::<usize>()
        + field_len(status_len(code, message))
        + SPAN_FLAGS.len()
        + 4
}

fn status_len(code: u8, message: &str) -> usize {
    string_len(message) + if code != 0 { 2 } else { 0 }
}

fn event_len(e: &Event) -> usize {
    fixed64_len(e.time_unix_nanos)
        + string_len(&e.name)
        + e.attributes
            .iter()
            .map(|a| field_len(key_value_len(a)))
            .sum::<usize>()
}

fn put_event(out: &mut Vec<u8>, e: &Event) {
    put_fixed64(out, EVENT_TIME, e.time_unix_nanos);
    put_string(out, EVENT_NAME, &e.name);
    for a in &e.attributes {
        put_message(out, EVENT_ATTRIBUTES, key_value_len(a));
        put_key_value(out, a);
    }
}

fn link_len(l: &Link) -> usize {
    let ts = trace_state(&l.context.trace_state);
    field_len(16)
        + field_len(8)
        + if ts.is_empty() {
            0
        } else {
            field_len(trace_state_len(ts))
        }
        + l.attributes
            .iter()
            .map(|a| field_len(key_value_len(a)))
            .sum::<usize>()
        + 5
}

fn put_link(out: &mut Vec<u8>, l: &Link) {
    let c = &l.context;
    put_bytes(out, LINK_TRACE_ID, &c.trace_id.0);
    put_bytes(out, LINK_SPAN_ID, &c.span_id.0);
    let ts = trace_state(&c.trace_state);
    if !ts.is_empty() {
        put_message(out, LINK_TRACE_STATE, trace_state_len(ts));
        put_trace_state(ts, out);
    }
    for a in &l.attributes {
        put_message(out, LINK_ATTRIBUTES, key_value_len(a));
        put_key_value(out, a);
    }
    out.push(LINK_FLAGS);
    out.extend_from_slice(&flags(c.flags, c.is_remote).to_le_bytes());
}

fn key_value_len(a: &Attribute) -> usize {
    string_len(&a.key) + field_len(any_value_len(&a.value))
}

fn put_key_value(out: &mut Vec<u8>, a: &Attribute) {
    put_string(out, KV_KEY, &a.key);
    put_message(out, KV_VALUE, any_value_len(&a.value));
    put_any_value(out, &a.value);
}

/// An `AnyValue` holding one scalar; `oneof` members are written even when
/// they hold a default value.
enum Scalar<'a> {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(&'a str),
}

impl Scalar<'_> {
    fn encoded_len(&self) -> usize {
        match self {
            Scalar::Bool(_) => 2,
            Scalar::Int(i) => 1 + encoded_len_varint(*i as u64),
            Scalar::Double(_) => 9,
            Scalar::Str(s) => field_len(s.len()),
        }
    }

    fn put(&self, out: &mut Vec<u8>) {
        match *self {
            Scalar::Bool(b) => {
                out.push(ANY_BOOL);
                out.push(u8::from(b));
            }
            Scalar::Int(i) => {
                out.push(ANY_INT);
                // int64: negative numbers are their two's complement, ten bytes.
                encode_varint(i as u64, out);
            }
            Scalar::Double(d) => {
                out.push(ANY_DOUBLE);
                out.extend_from_slice(&d.to_le_bytes());
            }
            Scalar::Str(s) => {
                put_message(out, ANY_STRING, s.len());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

fn scalar(v: &Value) -> Option<Scalar<'_>> {
    Some(match v {
        Value::Bool(b) => Scalar::Bool(*b),
        Value::I64(i) => Scalar::Int(*i),
        Value::F64(f) => Scalar::Double(*f),
        Value::String(s) => Scalar::Str(s),
        _ => return None,
    })
}

/// Calls `f` with each element of an array value.
fn each_element(v: &Value, mut f: impl FnMut(Scalar<'_>)) {
    match v {
        Value::BoolArray(a) => a.iter().for_each(|b| f(Scalar::Bool(*b))),
        Value::I64Array(a) => a.iter().for_each(|i| f(Scalar::Int(*i))),
        Value::F64Array(a) => a.iter().for_each(|d| f(Scalar::Double(*d))),
        Value::StringArray(a) => a.iter().for_each(|s| f(Scalar::Str(s))),
        Value::Bool(_) | Value::I64(_) | Value::F64(_) | Value::String(_) => {}
    }
}

fn array_value_len(v: &Value) -> usize {
    let mut len = 0;
    each_element(v, |s| len += field_len(s.encoded_len()));
    len
}

fn any_value_len(v: &Value) -> usize {
    match scalar(v) {
        Some(s) => s.encoded_len(),
        None => field_len(array_value_len(v)),
    }
}

fn put_any_value(out: &mut Vec<u8>, v: &Value) {
    match scalar(v) {
        Some(s) => s.put(out),
        None => {
            put_message(out, ANY_ARRAY, array_value_len(v));
            each_element(v, |s| {
                put_message(out, ARRAY_VALUES, s.encoded_len());
                s.put(out);
            });
        }
    }
}

/// Key, length and body of a length-delimited field whose body is `len` bytes.
fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// A string field: left out when empty (the proto3 default).
fn string_len(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        field_len(s.len())
    }
}

fn fixed64_len(v: u64) -> usize {
    if v == 0 {
        0
    } else {
        9
    }
}

/// Writes the key and length of a length-delimited field; the caller writes
/// the `len` bytes of its body next.
fn put_message(out: &mut Vec<u8>, key: u8, len: usize) {
    out.push(key);
    encode_varint(len as u64, out);
}

fn put_string(out: &mut Vec<u8>, key: u8, s: &str) {
    if !s.is_empty() {
        put_message(out, key, s.len());
        out.extend_from_slice(s.as_bytes());
    }
}

fn put_bytes(out: &mut Vec<u8>, key: u8, b: &[u8]) {
    put_message(out, key, b.len());
    out.extend_from_slice(b);
}

fn put_fixed64(out: &mut Vec<u8>, key: u8, v: u64) {
    if v != 0 {
        out.push(key);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

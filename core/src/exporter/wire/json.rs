//! OTLP/JSON, written directly from records.
//!
//! The output is what `opentelemetry-proto`'s serde support (`with-serde`)
//! writes with `serde_json`, byte for byte, and the OTLP/JSON encoding asks
//! for: field names in lowerCamelCase, in the order the Rust structs declare
//! them (not field-number order), every field present (empty arrays, zero
//! counts, empty strings) except `KeyValue.keyStrindex`; trace and span ids
//! as lowercase hex; 64-bit integers (`intValue`, times) as decimal strings;
//! enums as numbers; non-finite doubles as `null`, as `serde_json` writes
//! them.

use super::{flags, kind, status, trace_state, unique, SCOPE_NAME, SCOPE_VERSION};
use crate::exporter::Resource;
use crate::model::record::{Event, Link, SpanRecord};
use crate::model::value::{Attribute, Value};

/// The resource and scope of every request an exporter sends, encoded once.
pub(crate) struct Framing {
    /// Everything before the first span.
    head: Vec<u8>,
    /// The whole request when there are no spans.
    empty: Vec<u8>,
}

/// Everything after the last span.
const TAIL: &[u8] = br#"],"schemaUrl":""}],"schemaUrl":""}]}"#;

impl Framing {
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut res = Vec::new();
        res.extend_from_slice(br#"{"resourceSpans":[{"resource":{"attributes":["#);
        for (i, a) in unique(&resource.attributes).enumerate() {
            if i > 0 {
                res.push(b',');
            }
            put_key_value(&mut res, a);
        }
        res.extend_from_slice(br#"],"droppedAttributesCount":0,"entityRefs":[]},"scopeSpans":["#);
        let mut empty = res.clone();
        empty.extend_from_slice(br#"],"schemaUrl":""}]}"#);
        let mut head = res;
        head.extend_from_slice(br#"{"scope":{"name":"#);
        put_str(&mut head, SCOPE_NAME);
        head.extend_from_slice(br#","version":"#);
        put_str(&mut head, SCOPE_VERSION);
        head.extend_from_slice(br#","attributes":[],"droppedAttributesCount":0},"spans":["#);
        Framing { head, empty }
    }

    /// `spans` are pieces from [`span`], each ending in a separator; the
    /// last one's is dropped.
    pub(crate) fn request_len(&self, spans: &[u8]) -> usize {
        if spans.is_empty() {
            self.empty.len()
        } else {
            self.head.len() + spans.len() - 1 + TAIL.len()
        }
    }

    pub(crate) fn write_request(&self, spans: &[u8], out: &mut Vec<u8>) {
        out.reserve(self.request_len(spans));
        match spans.split_last() {
            None => out.extend_from_slice(&self.empty),
            Some((_separator, spans)) => {
                out.extend_from_slice(&self.head);
                out.extend_from_slice(spans);
                out.extend_from_slice(TAIL);
            }
        }
    }
}

/// Appends one `Span` object followed by a `,`, so that the pieces of any
/// run of spans are a JSON array's elements once the last `,` is dropped.
pub(crate) fn span(r: &SpanRecord, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"traceId":""#);
    put_hex(out, &r.trace_id.0);
    out.extend_from_slice(br#"","spanId":""#);
    put_hex(out, &r.span_id.0);
    out.extend_from_slice(br#"","traceState":""#);
    put_escaped_trace_state(out, trace_state(&r.trace_state));
    out.extend_from_slice(br#"","parentSpanId":""#);
    if r.parent_span_id.is_valid() {
        put_hex(out, &r.parent_span_id.0);
    }
    out.extend_from_slice(br#"","flags":"#);
    put_u64(out, u64::from(flags(r.flags, r.parent_is_remote)));
    out.extend_from_slice(br#","name":"#);
    put_str(out, &r.name);
    out.extend_from_slice(br#","kind":"#);
    put_u64(out, u64::from(kind(r.otel_kind)));
    out.extend_from_slice(br#","startTimeUnixNano":"#);
    put_u64_string(out, r.start_unix_nanos);
    out.extend_from_slice(br#","endTimeUnixNano":"#);
    put_u64_string(out, r.end_unix_nanos);
    out.extend_from_slice(br#","attributes":"#);
    put_attributes(out, &r.attributes);
    out.extend_from_slice(br#","droppedAttributesCount":0,"events":["#);
    for (i, e) in r.events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_event(out, e);
    }
    out.extend_from_slice(br#"],"droppedEventsCount":0,"links":["#);
    for (i, l) in r.links.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_link(out, l);
    }
    let (code, message) = status(&r.status);
    out.extend_from_slice(br#"],"droppedLinksCount":0,"status":{"message":"#);
    put_str(out, message);
    out.extend_from_slice(br#","code":"#);
    put_u64(out, u64::from(code));
    out.extend_from_slice(b"}},");
}

fn put_event(out: &mut Vec<u8>, e: &Event) {
    out.extend_from_slice(br#"{"timeUnixNano":"#);
    put_u64_string(out, e.time_unix_nanos);
    out.extend_from_slice(br#","name":"#);
    put_str(out, &e.name);
    out.extend_from_slice(br#","attributes":"#);
    put_attributes(out, &e.attributes);
    out.extend_from_slice(br#","droppedAttributesCount":0}"#);
}

fn put_link(out: &mut Vec<u8>, l: &Link) {
    let c = &l.context;
    out.extend_from_slice(br#"{"traceId":""#);
    put_hex(out, &c.trace_id.0);
    out.extend_from_slice(br#"","spanId":""#);
    put_hex(out, &c.span_id.0);
    out.extend_from_slice(br#"","traceState":""#);
    put_escaped_trace_state(out, trace_state(&c.trace_state));
    out.extend_from_slice(br#"","attributes":"#);
    put_attributes(out, &l.attributes);
    out.extend_from_slice(br#","droppedAttributesCount":0,"flags":"#);
    put_u64(out, u64::from(flags(c.flags, c.is_remote)));
    out.push(b'}');
}

fn put_attributes(out: &mut Vec<u8>, attributes: &[Attribute]) {
    out.push(b'[');
    for (i, a) in attributes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_key_value(out, a);
    }
    out.push(b']');
}

fn put_key_value(out: &mut Vec<u8>, a: &Attribute) {
    out.extend_from_slice(br#"{"key":"#);
    put_str(out, &a.key);
    out.extend_from_slice(br#","value":"#);
    match &a.value {
        Value::Bool(b) => put_bool(out, *b),
        Value::I64(i) => put_int(out, *i),
        Value::F64(f) => put_double(out, *f),
        Value::String(s) => put_string_value(out, s),
        Value::BoolArray(a) => put_array(out, a, |out, b| put_bool(out, *b)),
        Value::I64Array(a) => put_array(out, a, |out, i| put_int(out, *i)),
        Value::F64Array(a) => put_array(out, a, |out, f| put_double(out, *f)),
        Value::StringArray(a) => put_array(out, a, |out, s| put_string_value(out, s)),
    }
    out.push(b'}');
}

// One `AnyValue` each.

fn put_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b {
        br#"{"boolValue":true}"#
    } else {
        br#"{"boolValue":false}"#
    });
}

fn put_int(out: &mut Vec<u8>, i: i64) {
    out.extend_from_slice(br#"{"intValue":""#);
    if i < 0 {
        out.push(b'-');
    }
    put_u64(out, i.unsigned_abs());
    out.extend_from_slice(br#""}"#);
}

fn put_double(out: &mut Vec<u8>, f: f64) {
    out.extend_from_slice(br#"{"doubleValue":"#);
    // serde_json's own float formatting (and `null` for NaN and infinities),
    // so the digits are those the serde output had. Writing to a Vec cannot
    // fail.
    let _ = serde_json::to_writer(&mut *out, &f);
    out.push(b'}');
}

fn put_string_value(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(br#"{"stringValue":"#);
    put_str(out, s);
    out.push(b'}');
}

fn put_array<T>(out: &mut Vec<u8>, items: &[T], put: impl Fn(&mut Vec<u8>, &T)) {
    out.extend_from_slice(br#"{"arrayValue":{"values":["#);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put(out, item);
    }
    out.extend_from_slice(b"]}}");
}

/// A JSON string, quoted and escaped.
fn put_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    put_escaped(out, s);
    out.push(b'"');
}

/// `k1=v1,k2=v2`, escaped as one JSON string's contents would be.
fn put_escaped_trace_state(out: &mut Vec<u8>, entries: &[(String, String)]) {
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_escaped(out, k);
        out.push(b'=');
        put_escaped(out, v);
    }
}

/// The escapes `serde_json` writes: `"` and `\`, the short forms of
/// backspace, tab, line feed, form feed and carriage return, `\u00XX`
/// (lowercase hex) for the other control characters; everything else as is.
fn put_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            b'\t' => b't',
            b'\n' => b'n',
            0x0c => b'f',
            b'\r' => b'r',
            0x00..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain..i]);
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            out.extend_from_slice(&[
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        }
        plain = i + 1;
    }
    out.extend_from_slice(&bytes[plain..]);
}

const HEX: [u8; 16] = *b"0123456789abcdef";

fn put_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
}

fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A 64-bit integer as the decimal string OTLP/JSON asks for.
fn put_u64_string(out: &mut Vec<u8>, v: u64) {
    out.push(b'"');
    put_u64(out, v);
    out.push(b'"');
}

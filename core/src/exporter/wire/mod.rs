//! The OTLP wire formats, written straight from finished records: protobuf
//! ([`proto`]) and OTLP/JSON ([`json`]), and the cache that lets a retried or
//! split batch be sent from the bytes encoded the first time ([`EncodedSpans`]).
//!
//! Both formats are built the same way: each span is encoded once into a
//! piece that stands on its own (a protobuf `ScopeSpans.spans` field; a JSON
//! `Span` object and its separator), and a request is the pieces of any run
//! of spans with the `ExportTraceServiceRequest` / `ResourceSpans` /
//! `ScopeSpans` framing written around them. The framing (resource and scope)
//! is encoded once per exporter.
//!
//! Contract: encoders only append to the caller's buffer; they allocate
//! nothing else, take no lock and never block. Framings are immutable once
//! built; the cache belongs to one exporter. The output is what
//! `opentelemetry-proto` (prost, and serde with `with-serde`) produced from
//! the same records through the OpenTelemetry SDK's `SpanData`, byte for byte
//! (the tests encode both ways and compare), with one difference: resource
//! attributes come in the order given, where the SDK's hash map left their
//! order unspecified.

mod cache;
pub(crate) mod json;
pub(crate) mod proto;
#[cfg(test)]
mod tests;

pub(crate) use cache::EncodedSpans;

/// The pieces of spans `range` from pieces laid back to back in `bytes`,
/// piece `i` ending at `ends[i]`.
pub(crate) fn pieces<'a>(
    bytes: &'a [u8],
    ends: &[usize],
    range: std::ops::Range<usize>,
) -> &'a [u8] {
    let end_of = |i: usize| if i == 0 { 0 } else { ends[i - 1] };
    &bytes[end_of(range.start)..end_of(range.end)]
}

use crate::model::id::{TraceFlags, TraceState};
use crate::model::kind::OtelKind;
use crate::model::record::{SpanRecord, Status};
use crate::model::value::Attribute;

/// The instrumentation scope every span is reported under.
const SCOPE_NAME: &str = "agtrace";
const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The encoding of a request body, with its framing.
pub(crate) enum Format {
    Protobuf(proto::Framing),
    Json(json::Framing),
}

impl Format {
    /// Appends the piece for one span.
    pub(crate) fn span(&self, r: &SpanRecord, out: &mut Vec<u8>) {
        match self {
            Format::Protobuf(_) => proto::span(r, out),
            Format::Json(_) => json::span(r, out),
        }
    }

    /// The size of the request holding `spans` (pieces back to back).
    pub(crate) fn request_len(&self, spans: &[u8]) -> usize {
        match self {
            Format::Protobuf(f) => f.request_len(spans),
            Format::Json(f) => f.request_len(spans),
        }
    }

    /// Appends the request holding `spans` (pieces back to back).
    pub(crate) fn write_request(&self, spans: &[u8], out: &mut Vec<u8>) {
        match self {
            Format::Protobuf(f) => f.write_request(spans, out),
            Format::Json(f) => f.write_request(spans, out),
        }
    }
}

/// Resource attributes as the OpenTelemetry SDK's `Resource` keeps them: one
/// value per key, the last one given.
fn unique(attributes: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attributes
        .iter()
        .enumerate()
        .filter(|(i, a)| !attributes[i + 1..].iter().any(|b| b.key == a.key))
        .map(|(_, a)| a)
}

/// `SpanKind` in OTLP (`Span.SpanKind`).
fn kind(k: OtelKind) -> u8 {
    match k {
        OtelKind::Internal => 1,
        OtelKind::Server => 2,
        OtelKind::Client => 3,
        OtelKind::Producer => 4,
        OtelKind::Consumer => 5,
    }
}

/// `Status.StatusCode` and message (the message only for errors).
fn status(s: &Status) -> (u8, &str) {
    match s {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error(d) => (2, d),
    }
}

/// `Span.flags` / `Link.flags`: the W3C trace flags, and the bits that say
/// whether the parent (or linked) context is remote (`SpanFlags`).
fn flags(f: TraceFlags, remote: bool) -> u32 {
    const HAS_IS_REMOTE: u32 = 0x100;
    const IS_REMOTE: u32 = 0x200;
    u32::from(f.0) | HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 }
}

/// The entries of a trace state that go on the wire. The SDK's `TraceState`
/// keeps the first 32 entries and is empty when any of them is not valid
/// W3C; the same rule here keeps the output what it was.
fn trace_state(ts: &TraceState) -> &[(String, String)] {
    const MAX_LIST_MEMBERS: usize = 32;
    let entries = ts.entries();
    let entries = &entries[..entries.len().min(MAX_LIST_MEMBERS)];
    if entries
        .iter()
        .all(|(k, v)| valid_trace_state_key(k) && valid_trace_state_value(v))
    {
        entries
    } else {
        &[]
    }
}

/// The length of `k1=v1,k2=v2` for these entries.
fn trace_state_len(entries: &[(String, String)]) -> usize {
    entries
        .iter()
        .map(|(k, v)| k.len() + 1 + v.len())
        .sum::<usize>()
        + entries.len().saturating_sub(1)
}

/// Appends `k1=v1,k2=v2` (the `tracestate` header form OTLP carries).
fn put_trace_state(entries: &[(String, String)], out: &mut Vec<u8>) {
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_bytes());
    }
}

/// `opentelemetry::trace::TraceState`'s key rule (0.33), kept as is,
/// including its vendor-suffix length check.
fn valid_trace_state_key(key: &str) -> bool {
    if key.len() > 256 {
        return false;
    }
    let allowed_special = |b: u8| b == b'_' || b == b'-' || b == b'*' || b == b'/';
    let mut vendor_start = None;
    for (i, &b) in key.as_bytes().iter().enumerate() {
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || allowed_special(b) || b == b'@') {
            return false;
        }
        if i == 0 && (!b.is_ascii_lowercase() && !b.is_ascii_digit()) {
            return false;
        } else if b == b'@' {
            if vendor_start.is_some() || i + 14 < key.len() {
                return false;
            }
            vendor_start = Some(i);
        } else if let Some(start) = vendor_start {
            if i == start + 1 && !(b.is_ascii_lowercase() || b.is_ascii_digit()) {
                return false;
            }
        }
    }
    true
}

fn valid_trace_state_value(value: &str) -> bool {
    value.len() <= 256 && !value.contains([',', '='])
}

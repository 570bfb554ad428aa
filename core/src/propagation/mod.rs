//! Context propagation: writing a span context and baggage into a string-keyed
//! carrier (such as HTTP headers) and reading them back in another process.
//!
//! Formats: W3C Trace Context (`traceparent`, `tracestate`), W3C Baggage
//! (`baggage`), B3 single header (`b3`) and B3 multiple headers (`x-b3-*`).
//!
//! The contract:
//! - Injection writes every format in the set, with lowercase header names. An
//!   invalid span context writes no trace headers; baggage is written whenever it
//!   is non-empty and the set holds [`Format::Baggage`].
//! - Extraction never fails: a missing or malformed header counts as absent. The
//!   first format, in set order, that yields a valid context wins, and that
//!   context is marked remote. Header names match case-insensitively.
//! - Ids on the wire are lowercase hex in every format, as both W3C and B3
//!   specify; uppercase hex is malformed, so two producers never disagree on
//!   whether two ids are the same. Surrounding spaces and tabs are ignored.
//! - Only `tracestate` carries trace state; B3 formats extract an empty one.
//! - In B3 a deferred sampling decision (none sent) and the debug flag are both
//!   read as sampled. B3 is written as `1` or `0`, never as debug or deferred.
//! - Baggage values, and keys where they are not plain HTTP tokens, are
//!   percent-encoded on output and decoded on input; `+` is a literal on input
//!   and written as `%2B`. Properties after `;` are dropped. At most 180 members
//!   and 8192 bytes are written; at most 180 members are read.

use crate::model::id::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const BAGGAGE: &str = "baggage";
const B3_SINGLE: &str = "b3";
const B3_TRACE_ID: &str = "x-b3-traceid";
const B3_SPAN_ID: &str = "x-b3-spanid";
const B3_SAMPLED: &str = "x-b3-sampled";
const B3_FLAGS: &str = "x-b3-flags";

const MAX_TRACESTATE_MEMBERS: usize = 32;
const MAX_BAGGAGE_MEMBERS: usize = 180;
const MAX_BAGGAGE_BYTES: usize = 8192;

/// One propagation format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    TraceContext,
    Baggage,
    B3Single,
    B3Multi,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::TraceContext,
        Format::Baggage,
        Format::B3Single,
        Format::B3Multi,
    ];

    /// The name `OTEL_PROPAGATORS` uses for this format.
    pub fn name(self) -> &'static str {
        match self {
            Format::TraceContext => "tracecontext",
            Format::Baggage => "baggage",
            Format::B3Single => "b3",
            Format::B3Multi => "b3multi",
        }
    }
}

/// An ordered set of formats. The default is `[TraceContext, Baggage]`, as in
/// OpenTelemetry.
#[derive(Clone, Debug, PartialEq)]
pub struct Propagators {
    formats: Vec<Format>,
}

impl Default for Propagators {
    fn default() -> Self {
        Propagators::new(&[Format::TraceContext, Format::Baggage])
    }
}

impl Propagators {
    /// A repeated format is kept once, at its first position.
    pub fn new(formats: &[Format]) -> Self {
        let mut unique = Vec::with_capacity(formats.len());
        for &format in formats {
            if !unique.contains(&format) {
                unique.push(format);
            }
        }
        Propagators { formats: unique }
    }

    pub fn formats(&self) -> &[Format] {
        &self.formats
    }

    /// Parses an `OTEL_PROPAGATORS` value: comma-separated `tracecontext`,
    /// `baggage`, `b3`, `b3multi` and `none`, case-insensitive, whitespace
    /// ignored. `none` adds nothing, so `none` alone is the empty set. An empty
    /// value gives the default set, because OpenTelemetry reads an empty variable
    /// as an unset one.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.trim().is_empty() {
            return Ok(Propagators::default());
        }
        let mut formats = Vec::new();
        for item in value.split(',') {
            let name = item.trim();
            if name.is_empty() || name.eq_ignore_ascii_case("none") {
                continue;
            }
            match Format::ALL
                .iter()
                .find(|f| name.eq_ignore_ascii_case(f.name()))
            {
                Some(&format) => formats.push(format),
                None => {
                    let accepted: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                    return Err(format!(
                        "unknown propagator {name:?} in OTEL_PROPAGATORS; accepted: {}, none",
                        accepted.join(", ")
                    ));
                }
            }
        }
        Ok(Propagators::new(&formats))
    }

    /// Writes the headers of every format in the set.
    pub fn inject(&self, ctx: &SpanContext, baggage: &Baggage, carrier: &mut dyn Injector) {
        for &format in &self.formats {
            match format {
                Format::Baggage => {
                    let header = encode_baggage(baggage);
                    if !header.is_empty() {
                        carrier.set(BAGGAGE, header);
                    }
                }
                _ if !ctx.is_valid() => {}
                Format::TraceContext => {
                    carrier.set(
                        TRACEPARENT,
                        format!("00-{}-{}-{:02x}", ctx.trace_id, ctx.span_id, ctx.flags.0),
                    );
                    let state = encode_tracestate(&ctx.trace_state);
                    if !state.is_empty() {
                        carrier.set(TRACESTATE, state);
                    }
                }
                Format::B3Single => carrier.set(
                    B3_SINGLE,
                    format!(
                        "{}-{}-{}",
                        ctx.trace_id,
                        ctx.span_id,
                        b3_sampled(ctx.is_sampled())
                    ),
                ),
                Format::B3Multi => {
                    carrier.set(B3_TRACE_ID, ctx.trace_id.to_hex());
                    carrier.set(B3_SPAN_ID, ctx.span_id.to_hex());
                    carrier.set(B3_SAMPLED, b3_sampled(ctx.is_sampled()).to_owned());
                }
            }
        }
    }

    /// Reads the span context from the first format, in set order, that holds a
    /// valid one, and the baggage when the set holds [`Format::Baggage`].
    pub fn extract(&self, carrier: &dyn Extractor) -> Extracted {
        let span_context = self.formats.iter().find_map(|format| match format {
            Format::TraceContext => extract_trace_context(carrier),
            Format::B3Single => extract_b3_single(carrier),
            Format::B3Multi => extract_b3_multi(carrier),
            Format::Baggage => None,
        });
        let baggage = match header(carrier, BAGGAGE) {
            Some(value) if self.formats.contains(&Format::Baggage) => parse_baggage(value),
            _ => Baggage::default(),
        };
        Extracted {
            span_context,
            baggage,
        }
    }
}

/// What [`Propagators::extract`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extracted {
    /// The remote parent, if any format held a valid one.
    pub span_context: Option<SpanContext>,
    pub baggage: Baggage,
}

/// W3C baggage: ordered key/value pairs, each key at most once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Baggage {
    entries: Vec<(String, String)>,
}

impl Baggage {
    /// A later entry replaces an earlier one with the same key.
    pub fn new(entries: Vec<(String, String)>) -> Self {
        let mut baggage = Baggage::default();
        for (key, value) in entries {
            baggage.insert(key, value);
        }
        baggage
    }

    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets `key`: an existing entry keeps its position and takes the new value;
    /// a new key goes last.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }
}

/// Where injection writes headers.
pub trait Injector {
    fn set(&mut self, key: &str, value: String);
}

/// Where extraction reads headers. Lookup must ignore ASCII case, as HTTP
/// header names do.
pub trait Extractor {
    fn get(&self, key: &str) -> Option<&str>;
}

impl<S: BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_owned(), value);
    }
}

impl<S: BuildHasher> Extractor for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        HashMap::get(self, key)
            .or_else(|| find_ignoring_case(self.iter(), key))
            .map(String::as_str)
    }
}

impl Injector for BTreeMap<String, String> {
    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_owned(), value);
    }
}

impl Extractor for BTreeMap<String, String> {
    fn get(&self, key: &str) -> Option<&str> {
        BTreeMap::get(self, key)
            .or_else(|| find_ignoring_case(self.iter(), key))
            .map(String::as_str)
    }
}

fn find_ignoring_case<'a>(
    mut entries: impl Iterator<Item = (&'a String, &'a String)>,
    key: &str,
) -> Option<&'a String> {
    entries
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// A header value without the optional whitespace HTTP allows around it.
fn header<'a>(carrier: &'a dyn Extractor, key: &str) -> Option<&'a str> {
    carrier.get(key).map(trim_ows)
}

fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// A valid (non-zero) trace id written as 32 lowercase hex digits.
fn lower_hex_trace_id(s: &str) -> Option<TraceId> {
    Some(s)
        .filter(|s| is_lower_hex(s))
        .and_then(TraceId::from_hex)
        .filter(|id| id.is_valid())
}

/// A valid (non-zero) span id written as 16 lowercase hex digits.
fn lower_hex_span_id(s: &str) -> Option<SpanId> {
    Some(s)
        .filter(|s| is_lower_hex(s))
        .and_then(SpanId::from_hex)
        .filter(|id| id.is_valid())
}

fn remote(trace_id: TraceId, span_id: SpanId, flags: TraceFlags) -> SpanContext {
    SpanContext::new(trace_id, span_id, flags, true)
}

// ---- W3C Trace Context ----

fn extract_trace_context(carrier: &dyn Extractor) -> Option<SpanContext> {
    let (trace_id, span_id, flags) = parse_traceparent(header(carrier, TRACEPARENT)?)?;
    let mut ctx = remote(trace_id, span_id, flags);
    if let Some(state) = header(carrier, TRACESTATE) {
        ctx.trace_state = parse_tracestate(state);
    }
    Some(ctx)
}

/// Version `00` must be exactly `00-<32 hex>-<16 hex>-<2 hex>`. A later version
/// is read the way W3C prescribes for versions not yet written: the same first
/// 55 characters, then either the end or a `-` starting fields this code does
/// not know. Version `ff` is forbidden.
fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let version = value.get(..2).filter(|v| is_lower_hex(v))?;
    if version == "ff" || value.len() < 55 {
        return None;
    }
    let dash_at = |i: usize| value.as_bytes()[i] == b'-';
    if !(dash_at(2) && dash_at(35) && dash_at(52)) {
        return None;
    }
    let trace_id = lower_hex_trace_id(value.get(3..35)?)?;
    let span_id = lower_hex_span_id(value.get(36..52)?)?;
    let flags = value
        .get(53..55)
        .filter(|f| is_lower_hex(f))
        .and_then(|f| u8::from_str_radix(f, 16).ok())?;
    let flags = if version == "00" {
        if value.len() != 55 {
            return None;
        }
        flags
    } else {
        if value.len() > 55 && !dash_at(55) {
            return None;
        }
        // A later version may give the other bits meanings of its own; W3C says
        // to read only the sampled bit.
        flags & TraceFlags::SAMPLED.0
    };
    Some((trace_id, span_id, TraceFlags(flags)))
}

/// Keeps the valid members, in order, the first of each key, at most 32.
/// Invalid members are skipped rather than failing the whole list, so one bad
/// vendor entry does not cost the others theirs.
fn valid_tracestate_members<'a>(
    members: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let mut kept: Vec<(&str, &str)> = Vec::new();
    for (key, value) in members {
        if kept.len() == MAX_TRACESTATE_MEMBERS {
            break;
        }
        if is_tracestate_key(key)
            && is_tracestate_value(value)
            && !kept.iter().any(|(k, _)| *k == key)
        {
            kept.push((key, value));
        }
    }
    kept
}

pub(crate) fn parse_tracestate(value: &str) -> TraceState {
    let members = value
        .split(',')
        .filter_map(|member| trim_ows(member).split_once('='));
    TraceState::from_entries(
        valid_tracestate_members(members)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// Only valid members are written: a peer may drop the whole header over a
/// single bad one.
fn encode_tracestate(state: &TraceState) -> String {
    let members = state
        .entries()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()));
    valid_tracestate_members(members)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Trace Context Level 1 key grammar: `simple-key` or
/// `tenant-id@system-id`. Level 2 accepts more; Level 1 is what deployed
/// tracers check, so keys valid here are valid everywhere.
fn is_tracestate_key(key: &str) -> bool {
    fn rest_ok(s: &[u8]) -> bool {
        s.iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/')
        })
    }
    match key.split_once('@') {
        None => {
            let k = key.as_bytes();
            (1..=256).contains(&k.len()) && k[0].is_ascii_lowercase() && rest_ok(k)
        }
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            (1..=241).contains(&t.len())
                && (t[0].is_ascii_lowercase() || t[0].is_ascii_digit())
                && rest_ok(t)
                && (1..=14).contains(&s.len())
                && s[0].is_ascii_lowercase()
                && rest_ok(s)
        }
    }
}

/// Up to 256 printable ASCII characters except `,` and `=`, not ending in a
/// space.
fn is_tracestate_value(value: &str) -> bool {
    let v = value.as_bytes();
    (1..=256).contains(&v.len())
        && v.last() != Some(&b' ')
        && v.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
}

// ---- B3 ----

fn b3_sampled(sampled: bool) -> &'static str {
    if sampled {
        "1"
    } else {
        "0"
    }
}

/// B3 trace ids are 128-bit (32 hex) or 64-bit (16 hex, widened with leading
/// zeros).
fn b3_trace_id(s: &str) -> Option<TraceId> {
    if s.len() == 16 {
        lower_hex_span_id(s).map(|id| TraceId::from_u128(id.to_u64().into()))
    } else {
        lower_hex_trace_id(s)
    }
}

fn b3_flags(sampled: bool) -> TraceFlags {
    TraceFlags::default().with_sampled(sampled)
}

/// `{TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]`. A value holding
/// only a sampling state (such as `0`) carries no ids and so no context.
fn extract_b3_single(carrier: &dyn Extractor) -> Option<SpanContext> {
    let mut fields = header(carrier, B3_SINGLE)?.split('-');
    let trace_id = b3_trace_id(fields.next()?)?;
    let span_id = lower_hex_span_id(fields.next()?)?;
    let sampled = match fields.next() {
        None | Some("1" | "d") => true,
        Some("0") => false,
        Some(_) => return None,
    };
    // The parent id is not part of a span context, but a malformed one makes the
    // whole value suspect.
    if let Some(parent) = fields.next() {
        if parent.len() != 16 || !is_lower_hex(parent) {
            return None;
        }
    }
    if fields.next().is_some() {
        return None;
    }
    Some(remote(trace_id, span_id, b3_flags(sampled)))
}

/// `X-B3-ParentSpanId` is not read: a span context has no parent field.
fn extract_b3_multi(carrier: &dyn Extractor) -> Option<SpanContext> {
    let trace_id = b3_trace_id(header(carrier, B3_TRACE_ID)?)?;
    let span_id = lower_hex_span_id(header(carrier, B3_SPAN_ID)?)?;
    let debug = header(carrier, B3_FLAGS) == Some("1");
    // `true`/`false` predate the B3 spec, which asks readers to accept them.
    let sampled = debug
        || match header(carrier, B3_SAMPLED) {
            None | Some("1" | "true") => true,
            Some("0" | "false") => false,
            Some(_) => return None,
        };
    Some(remote(trace_id, span_id, b3_flags(sampled)))
}

// ---- W3C Baggage ----

/// RFC 7230 `tchar`: what a baggage key may hold unencoded.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// W3C `baggage-octet`: printable ASCII except space, `"`, `,`, `;` and `\`.
fn is_baggage_octet(c: u8) -> bool {
    matches!(c, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// Percent-encodes every byte that `allowed` rejects, and always `%` and `+`.
/// `+` is legal as-is in W3C baggage, but some tracers (OpenTelemetry Python
/// among them) decode it as a space; `%2B` reads the same everywhere.
fn percent_encode(s: &str, allowed: fn(u8) -> bool, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for c in s.bytes() {
        if allowed(c) && c != b'%' && c != b'+' {
            out.push(char::from(c));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(c >> 4)]));
            out.push(char::from(HEX[usize::from(c & 0x0f)]));
        }
    }
}

/// `None` for a `%` not followed by two hex digits. Decoded bytes that are not
/// UTF-8 become U+FFFD, as W3C baggage asks.
fn percent_decode(s: &str) -> Option<String> {
    let hex = |c: Option<&u8>| c.and_then(|&c| char::from(c).to_digit(16));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex(bytes.get(i + 1))?;
            let lo = hex(bytes.get(i + 2))?;
            // Two hex digits are at most 0xff.
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Members are written in order; one that would push the header past 8192
/// bytes is dropped whole (W3C forbids partial members), and later, shorter
/// ones may still fit. Keys that are empty cannot be represented and are
/// dropped.
fn encode_baggage(baggage: &Baggage) -> String {
    let mut header = String::new();
    let mut member = String::new();
    let mut count = 0;
    for (key, value) in baggage.entries() {
        if count == MAX_BAGGAGE_MEMBERS {
            break;
        }
        if key.is_empty() {
            continue;
        }
        member.clear();
        percent_encode(key, is_tchar, &mut member);
        member.push('=');
        percent_encode(value, is_baggage_octet, &mut member);
        let separator = usize::from(count > 0);
        if header.len() + separator + member.len() > MAX_BAGGAGE_BYTES {
            continue;
        }
        if separator == 1 {
            header.push(',');
        }
        header.push_str(&member);
        count += 1;
    }
    header
}

/// Members are `key=value[;properties]`, with optional whitespace around each
/// part. A member whose key is not a token, whose value holds characters
/// baggage forbids, or whose escapes are broken is skipped. Reading stops at 180
/// members so a hostile header costs bounded work.
fn parse_baggage(header: &str) -> Baggage {
    let mut baggage = Baggage::default();
    for member in header.split(',') {
        if baggage.entries.len() == MAX_BAGGAGE_MEMBERS {
            break;
        }
        let pair = member.split_once(';').map_or(member, |(pair, _)| pair);
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let (key, value) = (trim_ows(key), trim_ows(value));
        if key.is_empty() || !key.bytes().all(is_tchar) || !value.bytes().all(is_baggage_octet) {
            continue;
        }
        if let (Some(key), Some(value)) = (percent_decode(key), percent_decode(value)) {
            baggage.insert(key, value);
        }
    }
    baggage
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";
    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn carrier(headers: &[(&str, &str)]) -> HashMap<String, String> {
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn only(format: Format) -> Propagators {
        Propagators::new(&[format])
    }

    fn extract_one(format: Format, headers: &[(&str, &str)]) -> Option<SpanContext> {
        only(format).extract(&carrier(headers)).span_context
    }

    fn traceparent(value: &str) -> Option<SpanContext> {
        extract_one(Format::TraceContext, &[("traceparent", value)])
    }

    fn sample_ctx(sampled: bool) -> SpanContext {
        SpanContext::new(
            TraceId::from_hex(TRACE).unwrap(),
            SpanId::from_hex(SPAN).unwrap(),
            TraceFlags::default().with_sampled(sampled),
            false,
        )
    }

    fn inject(
        propagators: &Propagators,
        ctx: &SpanContext,
        baggage: &Baggage,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        propagators.inject(ctx, baggage, &mut out);
        out
    }

    fn baggage_of(pairs: &[(&str, &str)]) -> Baggage {
        Baggage::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn baggage_from_header(value: &str) -> Baggage {
        only(Format::Baggage)
            .extract(&carrier(&[("baggage", value)]))
            .baggage
    }

    // ---- Trace Context ----

    #[test]
    fn w3c_spec_examples() {
        let ctx = traceparent(TP).unwrap();
        assert_eq!(ctx.trace_id.to_hex(), TRACE);
        assert_eq!(ctx.span_id.to_hex(), SPAN);
        assert!(ctx.is_sampled());
        assert!(ctx.is_remote);

        let ctx = traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
        assert!(!ctx.is_sampled());

        let ctx = extract_one(
            Format::TraceContext,
            &[
                (
                    "traceparent",
                    "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",
                ),
                ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            ],
        )
        .unwrap();
        assert_eq!(
            ctx.trace_state.entries(),
            &[
                ("rojo".to_string(), "00f067aa0ba902b7".to_string()),
                ("congo".to_string(), "t61rcWkgMzE".to_string()),
            ]
        );
    }

    #[test]
    fn trace_context_round_trip() {
        let mut ctx = sample_ctx(true);
        ctx.trace_state = TraceState::from_entries(vec![
            ("congo".into(), "t61rcWkgMzE".into()),
            ("tenant@vendor".into(), " leading space kept".into()),
        ]);
        let p = only(Format::TraceContext);
        let headers = inject(&p, &ctx, &Baggage::default());
        assert_eq!(headers["traceparent"], TP);
        assert_eq!(
            headers["tracestate"],
            "congo=t61rcWkgMzE,tenant@vendor= leading space kept"
        );
        let back = p.extract(&headers).span_context.unwrap();
        assert_eq!(
            back,
            SpanContext {
                is_remote: true,
                ..ctx
            }
        );

        let headers = inject(&p, &sample_ctx(false), &Baggage::default());
        assert!(headers["traceparent"].ends_with("-00"));
        assert!(!headers.contains_key("tracestate"));
        assert!(!p.extract(&headers).span_context.unwrap().is_sampled());
    }

    #[test]
    fn version_00_carries_all_flag_bits() {
        let ctx = traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03").unwrap();
        assert_eq!(ctx.flags, TraceFlags(0x03));
        let headers = inject(&only(Format::TraceContext), &ctx, &Baggage::default());
        assert!(headers["traceparent"].ends_with("-03"));
    }

    #[test]
    fn traceparent_rejects_version_ff() {
        assert_eq!(
            traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            None
        );
    }

    #[test]
    fn traceparent_rejects_short_ids() {
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01"),
            None
        );
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"),
            None
        );
        assert_eq!(
            traceparent("0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            None
        );
    }

    #[test]
    fn traceparent_rejects_long_ids() {
        // Same total length as a valid value, so only the dash positions catch it.
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01"),
            None
        );
    }

    #[test]
    fn traceparent_rejects_zero_ids() {
        assert_eq!(
            traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
            None
        );
    }

    #[test]
    fn traceparent_rejects_non_hex() {
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01"),
            None
        );
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x"),
            None
        );
        assert_eq!(
            traceparent("0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736+00f067aa0ba902b7-01"),
            None
        );
    }

    #[test]
    fn traceparent_rejects_uppercase_hex() {
        assert_eq!(
            traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"),
            None
        );
        assert_eq!(
            traceparent("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A"),
            None
        );
    }

    #[test]
    fn traceparent_version_00_rejects_extra_fields() {
        assert_eq!(traceparent(&format!("{TP}-what")), None);
        assert_eq!(traceparent(&format!("{TP}0")), None);
        assert_eq!(traceparent(&format!("{TP}-")), None);
    }

    #[test]
    fn traceparent_future_version() {
        let ctx = traceparent(
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future-holds",
        )
        .unwrap();
        assert_eq!(ctx.trace_id.to_hex(), TRACE);
        // Only the sampled bit is read from a version this code does not know.
        assert_eq!(ctx.flags, TraceFlags::SAMPLED);
        assert!(traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").is_some());
        // After the flags there must be the end or a dash.
        assert_eq!(
            traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what"),
            None
        );
        assert_eq!(
            traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0"),
            None
        );
        // And the known prefix must still be valid.
        assert_eq!(
            traceparent("cc-00000000000000000000000000000000-00f067aa0ba902b7-01-x"),
            None
        );
        // A future version is re-emitted as 00.
        let headers = inject(&only(Format::TraceContext), &ctx, &Baggage::default());
        assert_eq!(headers["traceparent"], TP);
    }

    #[test]
    fn traceparent_malformed_shapes_do_not_panic() {
        for value in [
            "",
            "00",
            "00-",
            "-------------------------------------------------------",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "é0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473é-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0é",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01é",
        ] {
            assert_eq!(traceparent(value), None, "{value:?}");
        }
    }

    #[test]
    fn traceparent_surrounding_whitespace_is_ignored() {
        assert!(traceparent(&format!(" \t{TP}\t ")).is_some());
        assert_eq!(traceparent(&format!("{TP} x")), None);
    }

    #[test]
    fn tracestate_skips_garbage_members() {
        let ctx = extract_one(
            Format::TraceContext,
            &[
                ("traceparent", TP),
                (
                    "tracestate",
                    " ,a=1, Upper=2,b=x=y,=3,c,d=, e=ok ,1abc=4,t@v=5,t@9v=6,x@y@z=7,g=tab\tin,h=é,a=dup,\t",
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            ctx.trace_state.entries(),
            &[
                ("a".to_string(), "1".to_string()),
                ("e".to_string(), "ok".to_string()),
                ("t@v".to_string(), "5".to_string()),
            ]
        );
    }

    #[test]
    fn tracestate_key_and_value_lengths() {
        let long_key = format!("a{}", "b".repeat(255));
        let too_long_key = format!("{long_key}b");
        let long_value = "v".repeat(256);
        let value = format!("{long_key}=1,{too_long_key}=2,k={long_value},l={long_value}v");
        let ctx = extract_one(
            Format::TraceContext,
            &[("traceparent", TP), ("tracestate", &value)],
        )
        .unwrap();
        let keys: Vec<&str> = ctx
            .trace_state
            .entries()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, [long_key.as_str(), "k"]);
    }

    #[test]
    fn tracestate_keeps_at_most_32_members() {
        let value: Vec<String> = (0..40).map(|i| format!("k{i}=v{i}")).collect();
        let ctx = extract_one(
            Format::TraceContext,
            &[("traceparent", TP), ("tracestate", &value.join(","))],
        )
        .unwrap();
        assert_eq!(ctx.trace_state.entries().len(), 32);
        assert_eq!(ctx.trace_state.get("k31"), Some("v31"));
        assert_eq!(ctx.trace_state.get("k32"), None);
    }

    #[test]
    fn tracestate_is_ignored_without_valid_traceparent() {
        let extracted = only(Format::TraceContext).extract(&carrier(&[
            (
                "traceparent",
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("tracestate", "a=1"),
        ]));
        assert_eq!(extracted.span_context, None);
    }

    #[test]
    fn invalid_tracestate_members_are_not_written() {
        let mut ctx = sample_ctx(true);
        ctx.trace_state = TraceState::from_entries(vec![
            ("Bad".into(), "1".into()),
            ("good".into(), "2".into()),
            ("bad2".into(), "a,b".into()),
            ("good".into(), "dup".into()),
        ]);
        let headers = inject(&only(Format::TraceContext), &ctx, &Baggage::default());
        assert_eq!(headers["tracestate"], "good=2");
    }

    // ---- B3 ----

    #[test]
    fn b3_single_round_trip() {
        let p = only(Format::B3Single);
        for sampled in [true, false] {
            let headers = inject(&p, &sample_ctx(sampled), &Baggage::default());
            let flag = if sampled { "1" } else { "0" };
            assert_eq!(headers["b3"], format!("{TRACE}-{SPAN}-{flag}"));
            assert_eq!(headers.len(), 1);
            let back = p.extract(&headers).span_context.unwrap();
            assert_eq!(
                back,
                SpanContext {
                    is_remote: true,
                    ..sample_ctx(sampled)
                }
            );
        }
    }

    fn b3(value: &str) -> Option<SpanContext> {
        extract_one(Format::B3Single, &[("b3", value)])
    }

    #[test]
    fn b3_single_spec_examples() {
        let ctx =
            b3("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90").unwrap();
        assert_eq!(ctx.trace_id.to_hex(), "80f198ee56343ba864fe8b2a57d3eff7");
        assert_eq!(ctx.span_id.to_hex(), "e457b5a2e4d86bd1");
        assert!(ctx.is_sampled());
        assert!(ctx.is_remote);
        assert!(ctx.trace_state.is_empty());

        let ctx = b3("80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-d").unwrap();
        assert!(ctx.is_sampled(), "debug implies sampled");
        let ctx = b3("80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-0").unwrap();
        assert!(!ctx.is_sampled());
        let ctx = b3("80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90").unwrap();
        assert!(ctx.is_sampled(), "deferred is read as sampled");
    }

    #[test]
    fn b3_single_sampling_state_alone_is_no_context() {
        assert_eq!(b3("0"), None);
        assert_eq!(b3("1"), None);
        assert_eq!(b3("d"), None);
    }

    #[test]
    fn b3_single_64_bit_trace_id_is_left_padded() {
        let ctx = b3("a3ce929d0e0e4736-00f067aa0ba902b7-1").unwrap();
        assert_eq!(ctx.trace_id.to_hex(), "0000000000000000a3ce929d0e0e4736");
        let headers = inject(&only(Format::B3Single), &ctx, &Baggage::default());
        assert_eq!(
            headers["b3"],
            "0000000000000000a3ce929d0e0e4736-00f067aa0ba902b7-1"
        );
    }

    #[test]
    fn b3_single_rejects_malformed() {
        for value in [
            "",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "4bf92f3577b34da6a3ce929d0e0e4736-",
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-2",
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-true",
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-",
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-05e3ac9a4f6e3b9",
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-05e3ac9a4f6e3b90-x",
            "4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-1",
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-1",
            "4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-1",
            "4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-1",
            "00000000000000000000000000000000-00f067aa0ba902b7-1",
            "0000000000000000-00f067aa0ba902b7-1",
            "4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-1",
            "4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-1",
            "4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-1",
        ] {
            assert_eq!(b3(value), None, "{value:?}");
        }
    }

    fn b3_multi(headers: &[(&str, &str)]) -> Option<SpanContext> {
        extract_one(Format::B3Multi, headers)
    }

    #[test]
    fn b3_multi_round_trip() {
        let p = only(Format::B3Multi);
        for sampled in [true, false] {
            let headers = inject(&p, &sample_ctx(sampled), &Baggage::default());
            assert_eq!(headers["x-b3-traceid"], TRACE);
            assert_eq!(headers["x-b3-spanid"], SPAN);
            assert_eq!(headers["x-b3-sampled"], if sampled { "1" } else { "0" });
            assert_eq!(headers.len(), 3);
            let back = p.extract(&headers).span_context.unwrap();
            assert_eq!(
                back,
                SpanContext {
                    is_remote: true,
                    ..sample_ctx(sampled)
                }
            );
        }
    }

    #[test]
    fn b3_multi_sampling_states() {
        let ids = [
            ("X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124"),
            ("X-B3-SpanId", "a2fb4a1d1a96d312"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut headers = ids.to_vec();
            headers.extend_from_slice(extra);
            b3_multi(&headers).map(|ctx| ctx.is_sampled())
        };
        assert_eq!(with(&[]), Some(true), "deferred is read as sampled");
        assert_eq!(with(&[("X-B3-Sampled", "1")]), Some(true));
        assert_eq!(with(&[("X-B3-Sampled", "true")]), Some(true));
        assert_eq!(with(&[("X-B3-Sampled", "0")]), Some(false));
        assert_eq!(with(&[("X-B3-Sampled", "false")]), Some(false));
        assert_eq!(
            with(&[("X-B3-Flags", "1")]),
            Some(true),
            "debug implies sampled"
        );
        assert_eq!(
            with(&[("X-B3-Sampled", "0"), ("X-B3-Flags", "1")]),
            Some(true)
        );
        assert_eq!(
            with(&[("X-B3-Sampled", "0"), ("X-B3-Flags", "0")]),
            Some(false)
        );
        assert_eq!(with(&[("X-B3-Sampled", "yes")]), None);
        assert_eq!(
            with(&[("X-B3-ParentSpanId", "0020000000000001")]),
            Some(true)
        );
    }

    #[test]
    fn b3_multi_64_bit_trace_id() {
        let ctx = b3_multi(&[("X-B3-TraceId", "a3ce929d0e0e4736"), ("X-B3-SpanId", SPAN)]).unwrap();
        assert_eq!(ctx.trace_id.to_u128(), 0xa3ce_929d_0e0e_4736);
    }

    #[test]
    fn b3_multi_rejects_malformed() {
        let cases: &[&[(&str, &str)]] = &[
            &[("X-B3-TraceId", TRACE)],
            &[("X-B3-SpanId", SPAN)],
            &[
                ("X-B3-TraceId", "4bf92f3577b34da6a3ce929d0e0e47"),
                ("X-B3-SpanId", SPAN),
            ],
            &[("X-B3-TraceId", TRACE), ("X-B3-SpanId", "00f067aa0ba902b")],
            &[
                ("X-B3-TraceId", "4BF92F3577B34DA6A3CE929D0E0E4736"),
                ("X-B3-SpanId", SPAN),
            ],
            &[("X-B3-TraceId", TRACE), ("X-B3-SpanId", "0000000000000000")],
            &[("X-B3-TraceId", "0000000000000000"), ("X-B3-SpanId", SPAN)],
            &[("X-B3-TraceId", TRACE), ("X-B3-SpanId", "00f067aa0ba902bx")],
        ];
        for headers in cases {
            assert_eq!(b3_multi(headers), None, "{headers:?}");
        }
    }

    // ---- Carriers and combinations ----

    #[test]
    fn header_lookup_ignores_case() {
        let mut hash = carrier(&[
            ("TraceParent", TP),
            ("TRACESTATE", "a=1"),
            ("Baggage", "k=v"),
        ]);
        let extracted = Propagators::default().extract(&hash);
        let ctx = extracted.span_context.unwrap();
        assert_eq!(ctx.trace_id.to_hex(), TRACE);
        assert_eq!(ctx.trace_state.get("a"), Some("1"));
        assert_eq!(extracted.baggage.get("k"), Some("v"));

        // An exact match wins over a case-insensitive one.
        hash.insert(
            "traceparent".into(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
        );
        assert_eq!(
            Extractor::get(&hash, "traceparent"),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        );

        let tree: BTreeMap<String, String> = [
            ("X-B3-TraceId".to_string(), TRACE.to_string()),
            ("x-B3-SPANID".to_string(), SPAN.to_string()),
        ]
        .into();
        assert!(only(Format::B3Multi).extract(&tree).span_context.is_some());
        assert_eq!(Extractor::get(&tree, "X-B3-SAMPLED"), None);
    }

    #[test]
    fn first_format_in_set_order_wins() {
        let other_trace = "0af7651916cd43dd8448eb211c80319c";
        let headers = carrier(&[
            ("traceparent", TP),
            ("tracestate", "a=1"),
            ("b3", "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0"),
        ]);
        let tc_first =
            Propagators::new(&[Format::TraceContext, Format::B3Single]).extract(&headers);
        assert_eq!(tc_first.span_context.unwrap().trace_id.to_hex(), TRACE);

        let b3_first =
            Propagators::new(&[Format::B3Single, Format::TraceContext]).extract(&headers);
        let ctx = b3_first.span_context.unwrap();
        assert_eq!(ctx.trace_id.to_hex(), other_trace);
        assert!(!ctx.is_sampled());
        assert!(
            ctx.trace_state.is_empty(),
            "trace state travels only in tracestate"
        );

        // A malformed earlier format falls through to the next valid one.
        let headers = carrier(&[
            ("b3", "garbage"),
            ("X-B3-TraceId", other_trace),
            ("X-B3-SpanId", SPAN),
            ("traceparent", TP),
        ]);
        let p = Propagators::new(&[Format::B3Single, Format::B3Multi, Format::TraceContext]);
        assert_eq!(
            p.extract(&headers).span_context.unwrap().trace_id.to_hex(),
            other_trace
        );
    }

    #[test]
    fn inject_writes_every_format_in_the_set() {
        let p = Propagators::new(&Format::ALL);
        let mut ctx = sample_ctx(true);
        ctx.trace_state = TraceState::from_entries(vec![("a".into(), "1".into())]);
        let headers = inject(&p, &ctx, &baggage_of(&[("k", "v")]));
        let names: Vec<&str> = headers.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "b3",
                "baggage",
                "traceparent",
                "tracestate",
                "x-b3-sampled",
                "x-b3-spanid",
                "x-b3-traceid"
            ]
        );
        let extracted = p.extract(&headers);
        assert_eq!(
            extracted.span_context,
            Some(SpanContext {
                is_remote: true,
                ..ctx
            })
        );
        assert_eq!(extracted.baggage.get("k"), Some("v"));
    }

    #[test]
    fn invalid_context_writes_only_baggage() {
        let p = Propagators::new(&Format::ALL);
        let headers = inject(&p, &SpanContext::default(), &baggage_of(&[("k", "v")]));
        assert_eq!(headers.keys().collect::<Vec<_>>(), ["baggage"]);
        assert!(inject(&p, &SpanContext::default(), &Baggage::default()).is_empty());
        let no_baggage = only(Format::TraceContext);
        let headers = inject(&no_baggage, &sample_ctx(true), &baggage_of(&[("k", "v")]));
        assert!(!headers.contains_key("baggage"));
    }

    #[test]
    fn baggage_is_read_only_when_in_the_set() {
        let headers = carrier(&[("traceparent", TP), ("baggage", "k=v")]);
        let extracted = only(Format::TraceContext).extract(&headers);
        assert!(extracted.span_context.is_some());
        assert!(extracted.baggage.is_empty());
        let extracted = only(Format::Baggage).extract(&headers);
        assert_eq!(extracted.span_context, None);
        assert_eq!(extracted.baggage.get("k"), Some("v"));
    }

    // ---- Baggage ----

    #[test]
    fn baggage_round_trip() {
        let baggage = baggage_of(&[
            ("userId", "alice"),
            ("serverNode", "DF 28"),
            ("isProduction", "false"),
        ]);
        let headers = inject(&only(Format::Baggage), &SpanContext::default(), &baggage);
        assert_eq!(
            headers["baggage"],
            "userId=alice,serverNode=DF%2028,isProduction=false"
        );
        assert_eq!(baggage_from_header(&headers["baggage"]), baggage);
    }

    #[test]
    fn baggage_encodes_special_characters() {
        let baggage = baggage_of(&[
            ("space", "a b"),
            ("comma", "a,b"),
            ("equals", "a=b"),
            ("semicolon", "a;b"),
            ("unicode", "héllo ☃"),
            ("percent", "100%"),
            ("plus", "1+1"),
            ("quote", "\"q\"\\"),
            ("key with,special;chars=é", "v"),
        ]);
        let header = encode_baggage(&baggage);
        assert_eq!(
            header,
            "space=a%20b,comma=a%2Cb,equals=a=b,semicolon=a%3Bb,unicode=h%C3%A9llo%20%E2%98%83,\
             percent=100%25,plus=1%2B1,quote=%22q%22%5C,key%20with%2Cspecial%3Bchars%3D%C3%A9=v"
        );
        assert_eq!(baggage_from_header(&header), baggage);
    }

    #[test]
    fn baggage_spec_example_with_properties_and_whitespace() {
        let baggage = baggage_from_header(
            "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue",
        );
        assert_eq!(
            baggage,
            baggage_of(&[("key1", "value1"), ("key2", "value2"), ("key3", "value3")])
        );
    }

    #[test]
    fn baggage_decoding() {
        let baggage = baggage_from_header("a=%e2%98%83,b=1+1,c=,d=%FF,e=x=y");
        assert_eq!(baggage.get("a"), Some("☃"), "lowercase escapes decode");
        assert_eq!(baggage.get("b"), Some("1+1"), "+ is a literal, not a space");
        assert_eq!(baggage.get("c"), Some(""));
        assert_eq!(
            baggage.get("d"),
            Some("\u{FFFD}"),
            "invalid UTF-8 is replaced"
        );
        assert_eq!(baggage.get("e"), Some("x=y"));
    }

    #[test]
    fn baggage_skips_malformed_members() {
        let baggage = baggage_from_header(
            "ok=1,noequals,=novalue,bad key=2,k=a b,k2=\"q\",k3=bad%zz,k4=bad%2,k5=back\\slash,,;,ké=3,ok2=2",
        );
        assert_eq!(baggage, baggage_of(&[("ok", "1"), ("ok2", "2")]));
    }

    #[test]
    fn baggage_duplicate_key_keeps_last_value() {
        let baggage = baggage_from_header("a=1,b=2,a=3");
        assert_eq!(
            baggage.entries(),
            baggage_of(&[("a", "3"), ("b", "2")]).entries()
        );
    }

    #[test]
    fn baggage_output_limits() {
        let many: Vec<(String, String)> = (0..200).map(|i| (format!("k{i}"), "v".into())).collect();
        let header = encode_baggage(&Baggage::new(many));
        assert_eq!(header.split(',').count(), 180);

        // 3 members of 3000 bytes would make 9002 bytes; the third is dropped
        // whole and the short one after it still fits.
        let big = "x".repeat(2998);
        let baggage = baggage_of(&[("a", &big), ("b", &big), ("c", &big), ("d", "1")]);
        let header = encode_baggage(&baggage);
        assert!(header.len() <= 8192);
        let back = baggage_from_header(&header);
        let keys: Vec<&str> = back.entries().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "d"]);

        assert_eq!(encode_baggage(&baggage_of(&[("", "v")])), "");
    }

    #[test]
    fn baggage_input_is_capped_at_180_members() {
        let header: Vec<String> = (0..300).map(|i| format!("k{i}=v")).collect();
        assert_eq!(baggage_from_header(&header.join(",")).entries().len(), 180);
    }

    #[test]
    fn baggage_insert_replaces_in_place() {
        let mut baggage = Baggage::default();
        assert!(baggage.is_empty());
        baggage.insert("a", "1");
        baggage.insert("b", "2");
        baggage.insert("a", "3");
        assert_eq!(
            baggage.entries(),
            baggage_of(&[("a", "3"), ("b", "2")]).entries()
        );
        assert_eq!(baggage.get("a"), Some("3"));
        assert_eq!(baggage.get("z"), None);
    }

    // ---- OTEL_PROPAGATORS ----

    #[test]
    fn parse_accepts_names_case_and_whitespace() {
        let p = Propagators::parse(" TraceContext , b3multi,B3,baggage ").unwrap();
        assert_eq!(
            p.formats(),
            [
                Format::TraceContext,
                Format::B3Multi,
                Format::B3Single,
                Format::Baggage
            ]
        );
        assert_eq!(
            Propagators::parse("tracecontext,tracecontext")
                .unwrap()
                .formats(),
            [Format::TraceContext]
        );
        assert_eq!(Propagators::parse("none").unwrap().formats(), []);
        assert_eq!(
            Propagators::parse("b3,none").unwrap().formats(),
            [Format::B3Single]
        );
        assert_eq!(Propagators::parse("").unwrap(), Propagators::default());
        assert_eq!(Propagators::parse("  ").unwrap(), Propagators::default());
        assert_eq!(
            Propagators::default().formats(),
            [Format::TraceContext, Format::Baggage]
        );
    }

    #[test]
    fn parse_errors_name_the_bad_value_and_the_accepted_ones() {
        let err = Propagators::parse("tracecontext, xray ,baggage").unwrap_err();
        assert!(err.contains("\"xray\""), "{err}");
        for name in ["tracecontext", "baggage", "b3", "b3multi", "none"] {
            assert!(err.contains(name), "{err}");
        }
        assert!(Propagators::parse("b3 multi")
            .unwrap_err()
            .contains("\"b3 multi\""));
    }
}

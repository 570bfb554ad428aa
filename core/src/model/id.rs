//! Trace and span identity, compatible with OpenTelemetry and W3C Trace Context.
//!
//! Ids are random and never zero (zero means "invalid" in W3C). They come from a
//! per-thread generator seeded once from the OS, so creating an id takes no lock
//! and no system call.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

/// A 16-byte trace id. The all-zero id is invalid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id. The all-zero id is invalid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    pub const INVALID: TraceId = TraceId([0; 16]);

    /// A new random, valid trace id.
    pub fn random() -> Self {
        loop {
            let v = (u128::from(random_u64()) << 64) | u128::from(random_u64());
            if v != 0 {
                return TraceId(v.to_be_bytes());
            }
        }
    }

    pub fn from_u128(v: u128) -> Self {
        TraceId(v.to_be_bytes())
    }

    pub fn to_u128(self) -> u128 {
        u128::from_be_bytes(self.0)
    }

    pub fn is_valid(self) -> bool {
        self != Self::INVALID
    }

    /// Parses 32 lowercase or uppercase hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 16];
        decode_hex(s, &mut out)?;
        Some(TraceId(out))
    }

    /// 32 lowercase hex digits.
    pub fn to_hex(self) -> String {
        encode_hex(&self.0)
    }
}

impl SpanId {
    pub const INVALID: SpanId = SpanId([0; 8]);

    /// A new random, valid span id.
    pub fn random() -> Self {
        loop {
            let v = random_u64();
            if v != 0 {
                return SpanId(v.to_be_bytes());
            }
        }
    }

    pub fn from_u64(v: u64) -> Self {
        SpanId(v.to_be_bytes())
    }

    pub fn to_u64(self) -> u64 {
        u64::from_be_bytes(self.0)
    }

    pub fn is_valid(self) -> bool {
        self != Self::INVALID
    }

    /// Parses 16 lowercase or uppercase hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 8];
        decode_hex(s, &mut out)?;
        Some(SpanId(out))
    }

    /// 16 lowercase hex digits.
    pub fn to_hex(self) -> String {
        encode_hex(&self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// W3C trace flags. Only the sampled bit (0x01) has a meaning today; the other
/// bits are carried through unchanged.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct TraceFlags(pub u8);

impl TraceFlags {
    pub const SAMPLED: TraceFlags = TraceFlags(0x01);
    pub const NOT_SAMPLED: TraceFlags = TraceFlags(0x00);

    pub fn is_sampled(self) -> bool {
        self.0 & 0x01 == 0x01
    }

    pub fn with_sampled(self, sampled: bool) -> Self {
        if sampled {
            TraceFlags(self.0 | 0x01)
        } else {
            TraceFlags(self.0 & !0x01)
        }
    }
}

/// W3C `tracestate`: an ordered list of vendor key/value pairs, shared by every
/// span of a trace. Cloning is a reference-count increment.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct TraceState(Option<Arc<[(String, String)]>>);

impl TraceState {
    pub const EMPTY: TraceState = TraceState(None);

    /// Builds a trace state from ordered entries (leftmost is the most recent).
    pub fn from_entries(entries: Vec<(String, String)>) -> Self {
        if entries.is_empty() {
            TraceState(None)
        } else {
            TraceState(Some(entries.into()))
        }
    }

    pub fn entries(&self) -> &[(String, String)] {
        self.0.as_deref().unwrap_or(&[])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The header value: `k1=v1,k2=v2`.
    pub fn header_value(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.entries().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
        out
    }
}

/// The identity of a span as it propagates: what a child needs to know about its
/// parent, and what crosses process boundaries in headers.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SpanContext {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub flags: TraceFlags,
    pub trace_state: TraceState,
    /// True when this context was extracted from another process.
    pub is_remote: bool,
}

impl SpanContext {
    /// A local (not remote) context with a trace state.
    #[inline]
    pub(crate) fn new_with_state(
        trace_id: TraceId,
        span_id: SpanId,
        flags: TraceFlags,
        trace_state: TraceState,
    ) -> Self {
        SpanContext {
            trace_id,
            span_id,
            flags,
            trace_state,
            is_remote: false,
        }
    }

    pub fn new(trace_id: TraceId, span_id: SpanId, flags: TraceFlags, is_remote: bool) -> Self {
        SpanContext {
            trace_id,
            span_id,
            flags,
            trace_state: TraceState::EMPTY,
            is_remote,
        }
    }

    /// Valid when both ids are non-zero.
    pub fn is_valid(&self) -> bool {
        self.trace_id.is_valid() && self.span_id.is_valid()
    }

    pub fn is_sampled(&self) -> bool {
        self.flags.is_sampled()
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

/// One splitmix64 step over a per-thread state: statistically good 64-bit
/// output with no lock; ids need uniqueness, not secrecy.
pub(crate) fn random_u64() -> u64 {
    RNG.with(next)
}

#[inline]
fn next(s: &Cell<u64>) -> u64 {
    let x = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    s.set(x);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A new span id, and a new trace id when `new_trace` (else invalid): the
/// span start path, with one thread-local access.
#[inline]
pub(crate) fn random_ids(new_trace: bool) -> (TraceId, SpanId) {
    RNG.with(|s| {
        let trace = if new_trace {
            let mut v = 0u128;
            while v == 0 {
                v = (u128::from(next(s)) << 64) | u128::from(next(s));
            }
            TraceId(v.to_be_bytes())
        } else {
            TraceId::INVALID
        };
        let mut span = 0;
        while span == 0 {
            span = next(s);
        }
        (trace, SpanId(span.to_be_bytes()))
    })
}

/// Seeds from the standard library's per-process random keys, mixed with the
/// thread id and time, so threads (and forked children, which re-seed on their
/// first new thread) draw from different streams.
fn seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.write(format!("{:?}", std::thread::current().id()).as_bytes());
    h.write_u32(std::process::id());
    h.finish()
}

/// Reseeds the calling thread's id generator. Call in a forked child so it does
/// not repeat the parent's ids.
pub fn reseed_thread_rng() {
    RNG.with(|s| s.set(seed()));
}

fn decode_hex(s: &str, out: &mut [u8]) -> Option<()> {
    let b = s.as_bytes();
    if b.len() != out.len() * 2 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = (hex_val(b[2 * i])? << 4) | hex_val(b[2 * i + 1])?;
    }
    Some(())
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn encode_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_valid_and_distinct() {
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let t = TraceId::random();
            assert!(t.is_valid());
            assert!(seen.insert(t));
        }
        let s = SpanId::random();
        assert!(s.is_valid());
    }

    #[test]
    fn threads_draw_different_ids() {
        let a = std::thread::spawn(SpanId::random).join().unwrap();
        let b = std::thread::spawn(SpanId::random).join().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn hex_round_trip_and_rejects_bad_input() {
        let t = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        assert_eq!(t.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736"),
            Some(t)
        );
        assert!(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e473").is_none());
        assert!(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e473g").is_none());
        let s = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        assert_eq!(s.to_u64(), 0x00f0_67aa_0ba9_02b7);
        assert_eq!(SpanId::from_u64(s.to_u64()), s);
        assert_eq!(TraceId::from_u128(t.to_u128()), t);
    }

    #[test]
    fn flags_and_state() {
        assert!(TraceFlags::SAMPLED.is_sampled());
        assert!(!TraceFlags(0x02).is_sampled());
        assert_eq!(TraceFlags(0x02).with_sampled(true), TraceFlags(0x03));
        let ts = TraceState::from_entries(vec![
            ("congo".into(), "t61rcWkgMzE".into()),
            ("rojo".into(), "00f067aa0ba902b7".into()),
        ]);
        assert_eq!(ts.get("rojo"), Some("00f067aa0ba902b7"));
        assert_eq!(ts.header_value(), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        assert!(TraceState::from_entries(vec![]).is_empty());
    }
}

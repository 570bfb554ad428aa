//! The encoded spans of the batch an exporter last saw, kept so that a retry
//! or a part of a split batch is sent from the bytes encoded the first time.
//!
//! The delivery rules (`pipeline::delivery`) call `export` again with the
//! same slice to retry, and with its halves (then their halves) when the
//! request was too large. Such a call is recognised by its records being a
//! run, in order, of the cached ones: the same addresses and the same ids.
//! Addresses alone would not do: a record's memory can hold a new span once
//! the old one is exported, and ids are random per span. Any other batch is
//! encoded and replaces the cache.
//!
//! Owned by one exporter and used from its thread only. Buffers are kept
//! across batches, so encoding allocates only when a batch is larger than
//! every one before it (up to [`RETAINED_BYTES`]).

use crate::model::id::{SpanId, TraceId};
use crate::model::record::SpanRecord;
use std::ops::Range;

/// The largest encoding kept between batches; a larger one is freed once the
/// next batch is encoded, so one huge batch does not pin its memory.
const RETAINED_BYTES: usize = 16 << 20;

/// What identifies a record across calls; never dereferenced.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Identity {
    address: usize,
    trace_id: TraceId,
    span_id: SpanId,
}

impl Identity {
    fn of(r: &SpanRecord) -> Self {
        Identity {
            address: r as *const SpanRecord as usize,
            trace_id: r.trace_id,
            span_id: r.span_id,
        }
    }
}

/// Encoded pieces of the last batch encoded, back to back, with where each
/// one ends.
#[derive(Default)]
pub(crate) struct EncodedSpans {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    spans: Vec<Identity>,
}

impl EncodedSpans {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The pieces of `batch`, back to back: the cached ones when `batch` is
    /// a run of the cached records, otherwise freshly encoded with `encode`
    /// (which appends one record's piece to the buffer it is given).
    pub(crate) fn pieces(
        &mut self,
        batch: &[Box<SpanRecord>],
        encode: impl Fn(&SpanRecord, &mut Vec<u8>),
    ) -> &[u8] {
        let range = match self.find(batch) {
            Some(range) => range,
            None => self.encode(batch, encode),
        };
        super::pieces(&self.bytes, &self.ends, range)
    }

    /// Where `batch` sits among the cached records, if it is a run of them.
    fn find(&self, batch: &[Box<SpanRecord>]) -> Option<Range<usize>> {
        let first = Identity::of(batch.first()?);
        let start = self.spans.iter().position(|s| *s == first)?;
        let end = start + batch.len();
        let cached = self.spans.get(start..end)?;
        cached
            .iter()
            .zip(batch)
            .all(|(c, r)| *c == Identity::of(r))
            .then_some(start..end)
    }

    fn encode(
        &mut self,
        batch: &[Box<SpanRecord>],
        encode: impl Fn(&SpanRecord, &mut Vec<u8>),
    ) -> Range<usize> {
        if self.bytes.capacity() > RETAINED_BYTES {
            self.bytes = Vec::new();
        }
        self.bytes.clear();
        self.ends.clear();
        self.spans.clear();
        for r in batch {
            encode(r, &mut self.bytes);
            self.ends.push(self.bytes.len());
            self.spans.push(Identity::of(r));
        }
        0..batch.len()
    }
}

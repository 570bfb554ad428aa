//! The data of one span: built up while the span is live, then handed, as an
//! immutable record, to the pipeline when it ends.

use crate::model::id::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use crate::model::kind::{OtelKind, SpanKind};
use crate::model::usage::Usage;
use crate::model::value::{Attribute, Attributes, Str};
use crate::policy::rollup::Totals;
use crate::util::clock::Clock;

/// Span status, with the OpenTelemetry rule that `Ok` is final.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Status {
    #[default]
    Unset,
    Ok,
    Error(Str),
}

/// A timestamped event on a span; errors are `exception` events.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub name: Str,
    pub time_unix_nanos: u64,
    pub attributes: Vec<Attribute>,
}

/// A link to another span (in this trace or another), with attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub context: SpanContext,
    pub attributes: Vec<Attribute>,
}

/// Everything about a span but its attributes, as the caller's thread
/// records it and moves it to the collector (see `pipeline::entry`).
#[derive(Debug)]
pub(crate) struct SpanHead {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) parent_span_id: SpanId,
    pub(crate) flags: TraceFlags,
    pub(crate) parent_is_remote: bool,
    /// The parent is a live local span that counted this child (a `Child`
    /// entry), so it waits for this span's totals.
    pub(crate) counted_by_parent: bool,
    /// The parent is a live local span but could not count this child (no
    /// buffer room at its start): the parent's totals miss it.
    pub(crate) uncounted_child: bool,
    pub(crate) kind: SpanKind,
    pub(crate) otel_kind: OtelKind,
    pub(crate) abandoned: bool,
    /// Clock ticks (see `util::clock`), converted by the collector.
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// Nanoseconds from start to end as the caller measured them (a
    /// binding's own clock), exported as they are: converting them to
    /// ticks at the rate known at the end could be off while the rate
    /// settles (see `util::clock`). `end` then holds the same instant in
    /// ticks, approximately.
    pub(crate) duration: Option<u64>,
    pub(crate) trace_state: TraceState,
    pub(crate) name: Str,
    pub(crate) status: Status,
    pub(crate) usage: Option<Usage>,
    /// Their `time_unix_nanos` hold clock ticks here; `SpanRecord::fill`
    /// converts them with the span's start and end, so a span's times keep
    /// their order.
    pub(crate) events: Vec<Event>,
    pub(crate) links: Vec<Link>,
    /// Payload bytes the span owns on the heap (strings, arrays, events).
    pub(crate) approx_bytes: usize,
}

/// Everything recorded about one span, as exporters see it.
///
/// Built by the collector from what the caller's thread recorded, then
/// completed there once for every exporter (derived attributes, rollups,
/// trace-level context, redaction). Exporters see finished records only;
/// `Clone` is for exporters that keep spans (in-memory).
#[derive(Clone, Debug)]
pub struct SpanRecord {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub flags: TraceFlags,
    pub trace_state: TraceState,
    /// `SpanId::INVALID` for a root span.
    pub parent_span_id: SpanId,
    pub parent_is_remote: bool,
    pub name: Str,
    pub kind: SpanKind,
    pub otel_kind: OtelKind,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub attributes: Attributes,
    pub events: Vec<Event>,
    pub links: Vec<Link>,
    pub status: Status,
    /// Token usage reported on this span (LLM and embedding spans).
    pub usage: Option<Usage>,
    /// The span was dropped without `end` (also written as `agtrace.abandoned`).
    pub abandoned: bool,
    /// Payload size estimate for the byte budget and batch splitting.
    pub(crate) approx_bytes: usize,
    /// Its parent waits for its totals (see `SpanHead::counted_by_parent`).
    pub(crate) counted_by_parent: bool,
    pub(crate) uncounted_child: bool,
    /// Subtree totals (rollups), set on the collector before exporters see
    /// the record; `None` when the subtree has no usage, calls or errors.
    pub totals: Option<Totals>,
}

impl SpanRecord {
    pub(crate) fn blank() -> Self {
        SpanRecord {
            trace_id: TraceId::INVALID,
            span_id: SpanId::INVALID,
            flags: TraceFlags::default(),
            trace_state: TraceState::EMPTY,
            parent_span_id: SpanId::INVALID,
            parent_is_remote: false,
            name: Str::Borrowed(""),
            kind: SpanKind::Plain,
            otel_kind: OtelKind::Internal,
            start_unix_nanos: 0,
            end_unix_nanos: 0,
            attributes: Attributes::new(),
            events: Vec::new(),
            links: Vec::new(),
            status: Status::Unset,
            usage: None,
            abandoned: false,
            approx_bytes: 0,
            counted_by_parent: false,
            uncounted_child: false,
            totals: None,
        }
    }

    /// Fills a (pooled, cleared) record from what the caller recorded.
    pub(crate) fn fill(&mut self, h: SpanHead, attributes: Attributes, clock: &Clock) {
        self.trace_id = h.trace_id;
        self.span_id = h.span_id;
        self.flags = h.flags;
        self.trace_state = h.trace_state;
        self.parent_span_id = h.parent_span_id;
        self.parent_is_remote = h.parent_is_remote;
        self.name = h.name;
        self.kind = h.kind;
        self.otel_kind = h.otel_kind;
        self.start_unix_nanos = clock.unix_nanos(h.start);
        // A duration comes from the caller (a binding's END record may hold
        // any u64): past the end of time it ends at the end of time.
        self.end_unix_nanos = self.start_unix_nanos.saturating_add(
            h.duration
                .unwrap_or_else(|| clock.nanos_between(h.start, h.end)),
        );
        self.attributes = attributes;
        self.events = h.events;
        for e in &mut self.events {
            e.time_unix_nanos = clock.unix_nanos(e.time_unix_nanos);
        }
        self.links = h.links;
        self.status = h.status;
        self.usage = h.usage;
        self.abandoned = h.abandoned;
        self.approx_bytes = RECORD_BASE_BYTES + h.approx_bytes;
        self.counted_by_parent = h.counted_by_parent;
        self.uncounted_child = h.uncounted_child;
        self.totals = None;
    }

    /// Clears a record for reuse. Large buffers are released rather than
    /// kept in the pool.
    pub(crate) fn reset(&mut self) {
        self.attributes.clear();
        if self.attributes.spilled() {
            self.attributes = Attributes::new();
        }
        self.events = Vec::new();
        self.links = Vec::new();
        self.name = Str::Borrowed("");
        self.trace_state = TraceState::EMPTY;
        self.status = Status::Unset;
        self.usage = None;
        self.totals = None;
    }
}

/// Fixed per-span overhead counted towards the byte cap.
pub(crate) const RECORD_BASE_BYTES: usize = 64;

impl SpanRecord {
    pub fn context(&self) -> SpanContext {
        SpanContext {
            trace_id: self.trace_id,
            span_id: self.span_id,
            flags: self.flags,
            trace_state: self.trace_state.clone(),
            is_remote: false,
        }
    }

    pub fn is_root(&self) -> bool {
        !self.parent_span_id.is_valid()
    }

    /// The last value set for `key`.
    pub fn attribute(&self, key: &str) -> Option<&crate::Value> {
        self.attributes
            .iter()
            .rev()
            .find(|a| a.key == key)
            .map(|a| &a.value)
    }

    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }
}

impl SpanRecord {
    /// Adds the derived attributes every exporter writes: the kind in both
    /// dialects, usage, the abandoned mark and trace-level context. Runs once
    /// per span on the export thread, never on the caller's thread.
    pub(crate) fn finalize(
        &mut self,
        meta: &crate::model::trace::TraceMeta,
        conversation_attribute: &str,
    ) {
        use crate::model::semconv as sc;
        let has = |attrs: &Attributes, k: &str| attrs.iter().any(|a| a.key == k);
        crate::model::value::dedup_last_wins(&mut self.attributes);
        if self.kind != SpanKind::Plain {
            self.attributes
                .push(Attribute::new(sc::AGTRACE_KIND, self.kind.as_str()));
        }
        if let Some(op) = self.kind.operation_name() {
            if !has(&self.attributes, sc::GEN_AI_OPERATION_NAME) {
                self.attributes
                    .push(Attribute::new(sc::GEN_AI_OPERATION_NAME, op));
            }
        }
        if let Some(k) = self.kind.openinference_kind() {
            if !has(&self.attributes, sc::OPENINFERENCE_SPAN_KIND) {
                self.attributes
                    .push(Attribute::new(sc::OPENINFERENCE_SPAN_KIND, k));
            }
        }
        if let Some(u) = self.usage {
            for a in u.attributes() {
                if !has(&self.attributes, &a.key) {
                    self.attributes.push(a);
                }
            }
        }
        if self.abandoned {
            self.attributes
                .push(Attribute::new(sc::AGTRACE_ABANDONED, true));
        }
        meta.apply(&mut self.attributes, conversation_attribute);
    }
}

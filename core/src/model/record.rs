//! The data of one span: built up while the span is live, then handed, as an
//! immutable record, to the pipeline when it ends.

use crate::model::id::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use crate::model::kind::{OtelKind, SpanKind};
use crate::model::trace::TraceShared;
use crate::model::usage::Usage;
use crate::model::value::{Attribute, Attributes, Str};
use crate::policy::rollup::{Node, Totals};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

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

/// Everything recorded about one span.
///
/// While the span is live, only its [`crate::Span`] handle can change it. Once
/// ended, the record is immutable except for the pipeline's finishing step,
/// which adds derived attributes (kind, usage, trace-level context) once for
/// every exporter. Exporters see finished records only.
#[derive(Debug)]
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
    pub(crate) start_instant: Instant,
    /// Payload size estimate for the queue's byte cap and batch splitting.
    pub(crate) approx_bytes: usize,
    /// The pipeline generation the span started in (see `pipeline`).
    pub(crate) generation: u32,
    /// Subtree totals (rollups), set on the export thread before exporters
    /// see the record; `None` when the subtree has no usage, calls or errors.
    pub totals: Option<Totals>,
    /// Shared with the other spans of this trace in this process; created on
    /// first need (a child, an `enter`, trace-level context).
    pub(crate) trace: OnceLock<Arc<TraceShared>>,
    /// Counts this span's open children; created when it becomes a parent.
    pub(crate) node: OnceLock<Arc<Node>>,
    /// The parent's node, when the parent is a local recording span.
    pub(crate) parent_node: Option<Arc<Node>>,
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
            start_instant: Instant::now(),
            approx_bytes: 0,
            generation: 0,
            totals: None,
            trace: OnceLock::new(),
            node: OnceLock::new(),
            parent_node: None,
        }
    }

    /// Clears a record for reuse. Fields not cleared here are overwritten at
    /// span start. Large buffers are released rather than kept in the pool.
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
        self.abandoned = false;
        self.end_unix_nanos = 0;
        self.totals = None;
        self.trace = OnceLock::new();
        self.node = OnceLock::new();
        self.parent_node = None;
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

    pub(crate) fn push_attribute(&mut self, attr: Attribute) {
        self.approx_bytes += attr.approx_size();
        self.attributes.push(attr);
    }

    pub(crate) fn trace_shared(&self) -> &Arc<TraceShared> {
        self.trace.get_or_init(|| Arc::new(TraceShared::default()))
    }

    pub(crate) fn node(&self) -> &Arc<Node> {
        self.node.get_or_init(Arc::default)
    }
}

/// A copy of a finished record, for exporters that keep spans (in-memory).
impl Clone for SpanRecord {
    fn clone(&self) -> Self {
        let trace = OnceLock::new();
        if let Some(t) = self.trace.get() {
            let _ = trace.set(t.clone());
        }
        SpanRecord {
            trace_id: self.trace_id,
            span_id: self.span_id,
            flags: self.flags,
            trace_state: self.trace_state.clone(),
            parent_span_id: self.parent_span_id,
            parent_is_remote: self.parent_is_remote,
            name: self.name.clone(),
            kind: self.kind,
            otel_kind: self.otel_kind,
            start_unix_nanos: self.start_unix_nanos,
            end_unix_nanos: self.end_unix_nanos,
            attributes: self.attributes.clone(),
            events: self.events.clone(),
            links: self.links.clone(),
            status: self.status.clone(),
            usage: self.usage,
            abandoned: self.abandoned,
            start_instant: self.start_instant,
            approx_bytes: self.approx_bytes,
            generation: self.generation,
            totals: self.totals,
            trace,
            // Copies are for reading; they take no part in rollups.
            node: OnceLock::new(),
            parent_node: None,
        }
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

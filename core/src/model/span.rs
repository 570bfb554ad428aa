//! Live spans: starting, recording, ending.
//!
//! A [`Span`] is owned by one caller at a time (`Send`, not `Sync`; methods take
//! `&mut self`). Bindings that share a span between threads wrap it in a lock.
//! The record is a box recycled by the pipeline (no allocation for a span with
//! up to eight attributes once the pipeline is warm); ending moves it onto the
//! pipeline's bounded queue without blocking;
//! a span dropped without `end` is ended then, marked abandoned.

use crate::model::context;
use crate::model::id::{SpanContext, SpanId, TraceFlags, TraceId};
use crate::model::kind::{OtelKind, SpanKind};
use crate::model::record::{Event, Link, SpanRecord, Status, RECORD_BASE_BYTES};
use crate::model::semconv;
use crate::model::trace::{TraceMeta, TraceShared};
use crate::model::value::{Attribute, Str, Value};
use crate::policy::rollup::Node;
use crate::propagation::Baggage;
use crate::tracer::TracerShared;
use std::sync::Arc;
use std::time::Instant;

/// What a child needs from its parent: its context and the trace it belongs to.
/// Cheap to clone, `Send + Sync`, and valid after the parent ended.
#[derive(Clone, Debug, Default)]
pub struct SpanRef {
    pub(crate) context: SpanContext,
    pub(crate) trace: Option<Arc<TraceShared>>,
    /// The parent's rollup node, while the span is live.
    pub(crate) node: Option<Arc<Node>>,
}

impl SpanRef {
    /// A reference to a span known only by its context (for example, one
    /// created in another process or by another tracer).
    pub fn from_context(context: SpanContext) -> Self {
        SpanRef {
            context,
            trace: None,
            node: None,
        }
    }

    pub fn context(&self) -> &SpanContext {
        &self.context
    }

    /// Baggage carried by the trace (received with a remote parent).
    pub fn baggage(&self) -> Option<&Baggage> {
        self.trace.as_deref().map(|t| &t.baggage)
    }
}

/// Where a new span sits in the tree.
#[derive(Clone, Debug, Default)]
pub enum Parent {
    /// The calling thread's current span (see [`Span::enter`]), or a new root
    /// when there is none.
    #[default]
    Current,
    /// A new trace.
    Root,
    /// A child of this span.
    Span(SpanRef),
    /// A child of a context extracted from another process, with its baggage.
    Remote {
        context: SpanContext,
        baggage: Baggage,
    },
}

impl From<&Span> for Parent {
    fn from(s: &Span) -> Parent {
        Parent::Span(s.to_ref())
    }
}

impl From<SpanRef> for Parent {
    fn from(r: SpanRef) -> Parent {
        Parent::Span(r)
    }
}

impl From<crate::propagation::Extracted> for Parent {
    /// A remote child when a context was extracted, otherwise a new root that
    /// still carries the extracted baggage.
    fn from(e: crate::propagation::Extracted) -> Parent {
        match e.span_context {
            Some(context) => Parent::Remote {
                context,
                baggage: e.baggage,
            },
            None if e.baggage.is_empty() => Parent::Root,
            None => Parent::Remote {
                context: SpanContext::default(),
                baggage: e.baggage,
            },
        }
    }
}

/// Options for a span about to start. Obtained from [`crate::Tracer::span`].
#[must_use = "a span builder does nothing until `start` is called"]
pub struct SpanBuilder<'t> {
    pub(crate) tracer: &'t crate::Tracer,
    pub(crate) name: Str,
    pub(crate) kind: SpanKind,
    pub(crate) otel_kind: Option<OtelKind>,
    pub(crate) parent: Parent,
    pub(crate) attributes: Vec<Attribute>,
    pub(crate) links: Vec<Link>,
}

impl<'t> SpanBuilder<'t> {
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Overrides the OpenTelemetry span kind derived from [`SpanKind`].
    pub fn otel_kind(mut self, kind: OtelKind) -> Self {
        self.otel_kind = Some(kind);
        self
    }

    /// Sets the parent explicitly (default: the thread's current span).
    pub fn parent(mut self, parent: impl Into<Parent>) -> Self {
        self.parent = parent.into();
        self
    }

    /// Starts a new trace, ignoring the thread's current span.
    pub fn root(mut self) -> Self {
        self.parent = Parent::Root;
        self
    }

    pub fn attribute(mut self, key: impl Into<Str>, value: impl Into<Value>) -> Self {
        self.attributes.push(Attribute::new(key, value));
        self
    }

    pub fn attributes(mut self, attrs: impl IntoIterator<Item = Attribute>) -> Self {
        self.attributes.extend(attrs);
        self
    }

    pub fn link(mut self, context: SpanContext, attributes: Vec<Attribute>) -> Self {
        self.links.push(Link {
            context,
            attributes,
        });
        self
    }

    pub fn start(self) -> Span {
        let tracer = self.tracer;
        tracer.start_span(self)
    }
}

pub(crate) struct Live {
    pub(crate) record: Box<SpanRecord>,
    pub(crate) tracer: Arc<TracerShared>,
}

/// A span being recorded, or a non-recording span that only carries a context
/// (unsampled, or the tracer is disabled or shut down).
pub struct Span {
    context: SpanContext,
    pub(crate) live: Option<Live>,
    /// The trace's shared state when not recording (unsampled, or ended), so
    /// children still get its baggage and trace-level context.
    trace: Option<Arc<TraceShared>>,
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Span")
            .field("context", &self.context)
            .field("recording", &self.live.is_some())
            .finish()
    }
}

pub(crate) struct StartArgs {
    pub(crate) trace_id: TraceId,
    pub(crate) flags: TraceFlags,
    pub(crate) parent: Option<SpanContext>,
    pub(crate) trace: Option<Arc<TraceShared>>,
    pub(crate) parent_node: Option<Arc<Node>>,
    pub(crate) start_instant: Instant,
    pub(crate) start_unix_nanos: u64,
}

impl Span {
    pub(crate) fn non_recording(context: SpanContext, trace: Option<Arc<TraceShared>>) -> Span {
        Span {
            context,
            live: None,
            trace,
        }
    }

    pub(crate) fn recording(b: SpanBuilder<'_>, a: StartArgs, tracer: Arc<TracerShared>) -> Span {
        let (parent_span_id, parent_is_remote, trace_state) = match &a.parent {
            Some(p) => (p.span_id, p.is_remote, p.trace_state.clone()),
            None => (SpanId::INVALID, false, Default::default()),
        };
        let context = SpanContext {
            trace_id: a.trace_id,
            span_id: SpanId::random(),
            flags: a.flags,
            trace_state,
            is_remote: false,
        };
        let mut record = tracer.take_record();
        let r = &mut *record;
        r.approx_bytes = RECORD_BASE_BYTES
            + b.name.len()
            + b.attributes
                .iter()
                .map(Attribute::approx_size)
                .sum::<usize>();
        if let Some(t) = a.trace {
            let _ = r.trace.set(t);
        }
        r.parent_node = crate::policy::rollup::register_child(a.parent_node);
        r.trace_id = context.trace_id;
        r.span_id = context.span_id;
        r.flags = context.flags;
        r.trace_state = context.trace_state.clone();
        r.parent_span_id = parent_span_id;
        r.parent_is_remote = parent_is_remote;
        r.otel_kind = b.otel_kind.unwrap_or(b.kind.otel_kind());
        r.name = b.name;
        r.kind = b.kind;
        r.start_unix_nanos = a.start_unix_nanos;
        r.start_instant = a.start_instant;
        r.attributes.extend(b.attributes);
        r.links = b.links;
        Span {
            context,
            live: Some(Live { record, tracer }),
            trace: None,
        }
    }

    /// This span's identity, valid before and after `end`.
    pub fn context(&self) -> &SpanContext {
        &self.context
    }

    /// True when the span records and its tracer was shut down: ending it
    /// will drop it (counted).
    pub fn tracer_is_shut_down(&self) -> bool {
        self.live.as_ref().is_some_and(|l| l.tracer.is_shut_down())
    }

    /// False for unsampled spans, spans of a disabled tracer, and ended spans.
    pub fn is_recording(&self) -> bool {
        self.live.is_some()
    }

    /// A reference for starting children, valid after this span ends.
    pub fn to_ref(&self) -> SpanRef {
        SpanRef {
            context: self.context.clone(),
            trace: match &self.live {
                Some(l) => Some(l.record.trace_shared().clone()),
                None => self.trace.clone(),
            },
            node: self.live.as_ref().map(|l| l.record.node().clone()),
        }
    }

    /// Makes this span the calling thread's current span until the guard drops.
    pub fn enter(&self) -> context::EnterGuard {
        context::enter(self.to_ref())
    }

    pub(crate) fn record_mut(&mut self) -> Option<&mut SpanRecord> {
        self.live.as_mut().map(|l| &mut *l.record)
    }

    pub(crate) fn capture_content(&self) -> bool {
        self.live
            .as_ref()
            .is_some_and(|l| l.tracer.settings.capture_content)
    }

    /// Sets an attribute; a later value for the same key wins.
    pub fn set_attribute(&mut self, key: impl Into<Str>, value: impl Into<Value>) {
        if let Some(r) = self.record_mut() {
            r.push_attribute(Attribute::new(key, value));
        }
    }

    pub fn set_attributes(&mut self, attrs: impl IntoIterator<Item = Attribute>) {
        if let Some(r) = self.record_mut() {
            for a in attrs {
                r.push_attribute(a);
            }
        }
    }

    pub fn update_name(&mut self, name: impl Into<Str>) {
        if let Some(r) = self.record_mut() {
            r.name = name.into();
        }
    }

    pub fn add_event(&mut self, name: impl Into<Str>, attributes: Vec<Attribute>) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        let time_unix_nanos = live.tracer.clock.now_unix_nanos();
        let r = &mut *live.record;
        r.approx_bytes += 16 + attributes.iter().map(Attribute::approx_size).sum::<usize>();
        r.events.push(Event {
            name: name.into(),
            time_unix_nanos,
            attributes,
        });
    }

    /// Records an error as an OpenTelemetry `exception` event and sets the
    /// status to error (unless it was already set to `Ok`).
    pub fn record_error(
        &mut self,
        error_type: impl Into<Str>,
        message: impl Into<Str>,
        stacktrace: Option<String>,
    ) {
        let message = message.into();
        let mut attrs = vec![
            Attribute::new(semconv::EXCEPTION_TYPE, error_type.into()),
            Attribute::new(semconv::EXCEPTION_MESSAGE, message.clone()),
        ];
        if let Some(st) = stacktrace {
            attrs.push(Attribute::new(semconv::EXCEPTION_STACKTRACE, st));
        }
        self.add_event(semconv::EXCEPTION_EVENT, attrs);
        self.set_status(Status::Error(message));
    }

    /// Sets the status. `Ok` is final: later calls cannot change it.
    pub fn set_status(&mut self, status: Status) {
        if let Some(r) = self.record_mut() {
            if r.status != Status::Ok {
                r.status = status;
            }
        }
    }

    pub fn add_link(&mut self, context: SpanContext, attributes: Vec<Attribute>) {
        if let Some(r) = self.record_mut() {
            r.approx_bytes += 32 + attributes.iter().map(Attribute::approx_size).sum::<usize>();
            r.links.push(Link {
                context,
                attributes,
            });
        }
    }

    /// Changes the trace-level context (user, session, tags, ...) shared by every
    /// span of this trace in this process.
    pub fn update_trace(&mut self, f: impl FnOnce(&mut TraceMeta)) {
        if let Some(r) = self.record_mut() {
            r.trace_shared().update(f);
        }
    }

    /// Ends the span. Idempotent: later calls do nothing.
    pub fn end(&mut self) {
        self.finish(false);
    }

    fn finish(&mut self, abandoned: bool) {
        let Some(Live { mut record, tracer }) = self.live.take() else {
            return;
        };
        let elapsed = record.start_instant.elapsed().as_nanos() as u64;
        record.end_unix_nanos = record.start_unix_nanos + elapsed;
        if abandoned {
            record.abandoned = true;
        }
        self.trace = record.trace.get().cloned();
        tracer.submit(record);
    }
}

impl Drop for Span {
    /// A span nobody ended is still exported, marked abandoned, so a stream the
    /// caller broke out of does not lose its span.
    fn drop(&mut self) {
        self.finish(true);
    }
}

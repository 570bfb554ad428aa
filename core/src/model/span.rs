//! Live spans: starting, recording, ending.
//!
//! A [`Span`] is owned by one caller at a time (`Send`, not `Sync`; methods take
//! `&mut self`). Bindings that share a span between threads wrap it in a lock.
//! Its data lives in a box recycled through a per-thread spare list (up to
//! eight attributes inline, so a typical span allocates nothing once the
//! thread is warm, and a `Span` is small to move); `end` takes the time and
//! moves the data into the calling thread's buffer (see `pipeline::local`):
//! no lock, no shared atomic, never blocking. A span dropped without `end`
//! is ended then, marked abandoned.

use crate::model::context;
use crate::model::id::SpanContext;
use crate::model::kind::{OtelKind, SpanKind};
use crate::model::record::{Event, Link, SpanHead, Status};
use crate::model::semconv;
use crate::model::trace::TraceMeta;
use crate::model::value::{Attribute, Attributes, Str, Value};
use crate::pipeline::local::Local;
use crate::policy::{cap, Policies};
use crate::propagation::Baggage;
use std::sync::Arc;

/// What a child needs from its parent: its context and the trace it belongs to.
/// Cheap to clone, `Send + Sync`, and valid after the parent ended.
#[derive(Clone, Debug, Default)]
pub struct SpanRef {
    pub(crate) context: SpanContext,
    /// Baggage received with the trace's remote parent.
    pub(crate) baggage: Option<Arc<Baggage>>,
    /// Taken from a span recording in this process: its children are
    /// counted for its rollups.
    pub(crate) local: bool,
}

impl SpanRef {
    /// A reference to a span known only by its context (for example, one
    /// created in another process or by another tracer).
    pub fn from_context(context: SpanContext) -> Self {
        SpanRef {
            context,
            baggage: None,
            local: false,
        }
    }

    /// A reference to a span known by its context, carrying `baggage`
    /// (for bindings that keep spans' identities themselves).
    pub fn with_baggage(context: SpanContext, baggage: Baggage) -> Self {
        SpanRef {
            context,
            baggage: (!baggage.is_empty()).then(|| Arc::new(baggage)),
            local: false,
        }
    }

    pub fn context(&self) -> &SpanContext {
        &self.context
    }

    /// Baggage carried by the trace (received with a remote parent).
    pub fn baggage(&self) -> Option<&Baggage> {
        self.baggage.as_deref()
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
    #[inline]
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Overrides the OpenTelemetry span kind derived from [`SpanKind`].
    #[inline]
    pub fn otel_kind(mut self, kind: OtelKind) -> Self {
        self.otel_kind = Some(kind);
        self
    }

    /// Sets the parent explicitly (default: the thread's current span).
    #[inline]
    pub fn parent(mut self, parent: impl Into<Parent>) -> Self {
        self.parent = parent.into();
        self
    }

    /// Starts a new trace, ignoring the thread's current span.
    #[inline]
    pub fn root(mut self) -> Self {
        self.parent = Parent::Root;
        self
    }

    #[inline]
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

    #[inline]
    pub fn start(mut self) -> Span {
        let tracer = self.tracer;
        tracer.start_span(&mut self)
    }
}

/// A recording span's data, moved to the collector at `end`.
pub(crate) struct Draft {
    pub(crate) head: SpanHead,
    pub(crate) attributes: Attributes,
}

impl Draft {
    #[inline]
    pub(crate) fn push_attribute(&mut self, attr: Attribute) {
        self.head.approx_bytes += attr.approx_size();
        self.attributes.push(attr);
    }
}

pub(crate) struct Live {
    pub(crate) draft: Draft,
    /// The buffer of the thread the span started on; keeps the pipeline's
    /// intake alive (never the pipeline's threads).
    pub(crate) local: Arc<Local>,
}

/// A span being recorded, or a non-recording span that only carries a context
/// (unsampled, or the tracer is disabled or shut down).
pub struct Span {
    context: SpanContext,
    pub(crate) live: Option<Box<Live>>,
    /// Baggage of the trace, for children and `inject`.
    baggage: Option<Arc<Baggage>>,
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Span")
            .field("context", &self.context)
            .field("recording", &self.live.is_some())
            .finish()
    }
}

impl Span {
    pub(crate) fn non_recording(context: SpanContext, baggage: Option<Arc<Baggage>>) -> Span {
        Span {
            context,
            live: None,
            baggage,
        }
    }

    /// A recording span whose data is written straight into a (recycled)
    /// box: `head`, then `attributes`, then `local`, without building the
    /// whole `Live` on the stack first.
    #[inline(always)]
    pub(crate) fn recording(
        context: SpanContext,
        head: SpanHead,
        attributes: Vec<Attribute>,
        local: Arc<Local>,
        baggage: Option<Arc<Baggage>>,
    ) -> Span {
        let mut b = spare::take();
        let p = b.as_mut_ptr();
        // SAFETY: every field of `Live` is written before `assume_init`; the
        // box is valid and unaliased.
        let live = unsafe {
            std::ptr::addr_of_mut!((*p).draft.head).write(head);
            let attrs = std::ptr::addr_of_mut!((*p).draft.attributes);
            attrs.write(Attributes::new());
            let policies = &local.sink.policies;
            for mut a in attributes {
                cap::cap_value(&mut a.value, policies);
                (*p).draft.push_attribute(a);
            }
            std::ptr::addr_of_mut!((*p).local).write(local);
            b.assume_init()
        };
        Span {
            context,
            live: Some(live),
            baggage,
        }
    }

    /// This span's identity, valid before and after `end`.
    pub fn context(&self) -> &SpanContext {
        &self.context
    }

    /// True when the span records and its tracer was shut down: ending it
    /// will drop it (counted).
    pub fn tracer_is_shut_down(&self) -> bool {
        self.live.as_ref().is_some_and(|l| l.local.sink.is_closed())
    }

    /// False for unsampled spans, spans of a disabled tracer, and ended spans.
    pub fn is_recording(&self) -> bool {
        self.live.is_some()
    }

    /// A reference for starting children, valid after this span ends.
    pub fn to_ref(&self) -> SpanRef {
        SpanRef {
            context: self.context.clone(),
            baggage: self.baggage.clone(),
            local: self.live.is_some(),
        }
    }

    /// Makes this span the calling thread's current span until the guard drops.
    pub fn enter(&self) -> context::EnterGuard {
        context::enter(self.to_ref())
    }

    pub(crate) fn record_mut(&mut self) -> Option<&mut Draft> {
        self.live.as_mut().map(|l| &mut l.draft)
    }

    /// The draft, with the policies the record-time cap needs (see
    /// `policy::cap`).
    fn capped(&mut self) -> Option<(&mut Draft, &Policies)> {
        self.live
            .as_mut()
            .map(|l| (&mut l.draft, &*l.local.sink.policies))
    }

    pub(crate) fn capture_content(&self) -> bool {
        self.live
            .as_ref()
            .is_some_and(|l| l.local.sink.capture_content)
    }

    /// Sets an attribute; a later value for the same key wins.
    #[inline]
    pub fn set_attribute(&mut self, key: impl Into<Str>, value: impl Into<Value>) {
        if let Some((r, policies)) = self.capped() {
            let mut value = value.into();
            cap::cap_value(&mut value, policies);
            r.push_attribute(Attribute::new(key, value));
        }
    }

    pub fn set_attributes(&mut self, attrs: impl IntoIterator<Item = Attribute>) {
        if let Some((r, policies)) = self.capped() {
            for mut a in attrs {
                cap::cap_value(&mut a.value, policies);
                r.push_attribute(a);
            }
        }
    }

    pub fn update_name(&mut self, name: impl Into<Str>) {
        if let Some((r, policies)) = self.capped() {
            let mut name = name.into();
            cap::cap_owned(&mut name, policies);
            r.head.name = name;
        }
    }

    pub fn add_event(&mut self, name: impl Into<Str>, attributes: Vec<Attribute>) {
        self.add_event_at(name, attributes, None);
    }

    /// Adds an event `offset` nanoseconds after the span's start (now when
    /// `None`).
    pub fn add_event_at(
        &mut self,
        name: impl Into<Str>,
        mut attributes: Vec<Attribute>,
        offset: Option<u64>,
    ) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        let policies = &*live.local.sink.policies;
        let mut name = name.into();
        cap::cap_owned(&mut name, policies);
        for a in &mut attributes {
            cap::cap_value(&mut a.value, policies);
        }
        // Clock ticks until the collector converts the span's times, all
        // with one scale (see `SpanHead::events`).
        let clock = &live.local.sink.clock;
        let time_unix_nanos = match offset {
            None => clock.now(),
            Some(n) => clock.after(live.draft.head.start, n),
        };
        let r = &mut live.draft.head;
        r.approx_bytes += 16 + attributes.iter().map(Attribute::approx_size).sum::<usize>();
        r.events.push(Event {
            name,
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
    pub fn set_status(&mut self, mut status: Status) {
        if let Some((r, policies)) = self.capped() {
            if r.head.status != Status::Ok {
                if let Status::Error(msg) = &mut status {
                    cap::cap_owned(msg, policies);
                }
                r.head.status = status;
            }
        }
    }

    pub fn add_link(&mut self, context: SpanContext, mut attributes: Vec<Attribute>) {
        if let Some((r, policies)) = self.capped() {
            for a in &mut attributes {
                cap::cap_value(&mut a.value, policies);
            }
            let r = &mut r.head;
            r.approx_bytes += 32 + attributes.iter().map(Attribute::approx_size).sum::<usize>();
            r.links.push(Link {
                context,
                attributes,
            });
        }
    }

    /// Sets trace-level context (user, session, tags, ...) for every span
    /// of this trace that this process exports from now on, including spans
    /// continued here from extracted headers. `f` edits an empty
    /// [`TraceMeta`]: the fields it sets replace the trace's, tags it sets
    /// replace the trace's tags, metadata entries are added. Never blocks; the
    /// update travels to the collector with the thread's spans.
    pub fn update_trace(&mut self, f: impl FnOnce(&mut TraceMeta)) {
        let Some(live) = self.live.as_ref() else {
            return;
        };
        let mut meta = TraceMeta::default();
        f(&mut meta);
        crate::pipeline::submit_trace_meta(&live.local, self.context.trace_id, meta);
    }

    /// Ends the span. Idempotent: later calls do nothing.
    #[inline]
    pub fn end(&mut self) {
        self.finish(None, false);
    }

    /// Ends the span `duration` nanoseconds after its start (now when
    /// `None`), marked abandoned when its owner dropped it unended: for
    /// bindings that time spans themselves and hand their ends over later.
    #[inline]
    pub fn end_after(&mut self, duration: Option<u64>, abandoned: bool) {
        self.finish(duration, abandoned);
    }

    /// Moves the span's start to now: for a binding that times the span
    /// from the moment its start call returns, after the work this call did
    /// on the span (its start items), so the two clocks agree on the start.
    #[inline]
    pub(crate) fn restart_now(&mut self) {
        if let Some(live) = self.live.as_mut() {
            let now = live.local.sink.clock.now();
            live.draft.head.start = now;
            live.draft.head.end = now;
        }
    }

    /// Gives up the span's data as a handle (0 for a non-recording span),
    /// owned by the caller until [`Span::from_handle`] takes it back: no
    /// allocation, no lock. The span's context and baggage stay with the
    /// caller (`context()` before this call).
    #[inline]
    pub fn into_handle(mut self) -> u64 {
        self.live.take().map_or(0, |l| Box::into_raw(l) as u64)
    }

    /// The span whose data `handle` holds, to record on and end. Its
    /// context carries the ids and flags only.
    ///
    /// # Safety
    /// `handle` is non-zero, came from [`Span::into_handle`] in this process,
    /// and was not taken back before.
    #[inline]
    pub unsafe fn from_handle(handle: u64) -> Span {
        // SAFETY: the caller's contract: a box leaked by `into_handle`.
        let live = unsafe { Box::from_raw(handle as *mut Live) };
        let h = &live.draft.head;
        Span {
            context: SpanContext::new(h.trace_id, h.span_id, h.flags, false),
            live: Some(live),
            baggage: None,
        }
    }

    fn finish(&mut self, duration: Option<u64>, abandoned: bool) {
        let Some(live) = self.live.take() else {
            return;
        };
        let live = Box::into_raw(live);
        // The span's data moves out field by field (only the used part is
        // copied), and its box goes back to this thread's spare list.
        // SAFETY: `live` is a valid box, read here only. `submit` takes
        // ownership of the head (moved into the buffer or dropped) and moves
        // the attributes out (the vector is left empty, then dropped);
        // `local` is read once. The box is then recycled as uninitialised
        // memory, so nothing in it is dropped again. `submit` does not
        // unwind (no allocation failure unwinds, and it calls no user code).
        unsafe {
            let l = &mut *live;
            let clock = &l.local.sink.clock;
            l.draft.head.end = match duration {
                None => clock.now(),
                Some(n) => clock.after(l.draft.head.start, n),
            };
            l.draft.head.duration = duration;
            l.draft.head.abandoned = abandoned;
            let local = std::ptr::read(&l.local);
            let attributes = &mut l.draft.attributes;
            crate::pipeline::submit(&local, &mut l.draft.head, attributes);
            std::ptr::drop_in_place(attributes);
            drop(local);
            spare::recycle(Box::from_raw(live.cast()));
        }
    }
}

impl Drop for Span {
    /// A span nobody ended is still exported, marked abandoned, so a stream the
    /// caller broke out of does not lose its span.
    fn drop(&mut self) {
        self.finish(None, true);
    }
}

/// Spare boxes for live spans, per thread: taken at start, given back at
/// end (on whichever thread ends the span), so a warm thread allocates
/// nothing per span and touches memory it used last.
mod spare {
    use super::Live;
    use std::cell::RefCell;
    use std::mem::MaybeUninit;

    /// Most spare boxes a thread keeps (about 700 bytes each).
    const PER_THREAD: usize = 64;

    type Spare = Box<MaybeUninit<Live>>;

    thread_local! {
        static SPARE: RefCell<Vec<Spare>> = const { RefCell::new(Vec::new()) };
    }

    /// A spare box, or a new one.
    #[inline]
    pub(super) fn take() -> Spare {
        SPARE
            .try_with(|s| s.try_borrow_mut().ok()?.pop())
            .ok()
            .flatten()
            .unwrap_or_else(Box::new_uninit)
    }

    /// Keeps an emptied box (its contents moved out or dropped).
    #[inline]
    pub(super) fn recycle(b: Spare) {
        let _ = SPARE.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                if s.len() < PER_THREAD {
                    s.push(b);
                }
            }
        });
    }
}

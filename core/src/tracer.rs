//! The tracer: starts spans and owns the pipeline behind them.

use crate::config::{Settings, TracerBuilder};
use crate::error::Error;
use crate::exporter::Exporter;
use crate::misuse::{Misuse, MisuseReporter};
use crate::model::context;
use crate::model::id::{SpanContext, SpanId, TraceFlags};
use crate::model::kind::SpanKind;
use crate::model::record::{SpanHead, Status};
use crate::model::span::{Parent, Span, SpanBuilder, SpanRef};
use crate::model::value::Str;
use crate::pipeline::stats::Stats;
use crate::pipeline::Pipeline;
use crate::policy::redact::{RedactionConfig, RedactionStats, Redactor};
use crate::policy::sample::{Sampler, SamplingConfig};
use crate::policy::Policies;
use crate::propagation::Baggage;
use crate::propagation::{Extracted, Extractor, Injector};
use crate::util::clock::Clock;
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::Arc;
use std::time::Duration;

/// Starts spans and delivers them to the configured exporters.
///
/// Cheap to clone (a reference count); thread-safe. The pipeline's threads
/// stop when `shutdown` is called, or when the last tracer handle is dropped
/// (which then waits up to the shutdown timeout for the final export, on the
/// dropping thread). Live spans do not keep the pipeline alive: one ended
/// after that is dropped, and ending it never blocks.
#[derive(Clone)]
pub struct Tracer {
    pub(crate) shared: Arc<TracerShared>,
}

pub(crate) struct TracerShared {
    /// The pipeline, boxed; null when the tracer is disabled. Replaced only
    /// in a forked child (see `fork`), and a replaced pipeline is leaked, so
    /// a reference read from here stays valid as long as `self`: the hot path
    /// pays one atomic load and takes no lock.
    pipeline: AtomicPtr<Pipeline>,
    pub(crate) policies: Arc<Policies>,
    pub(crate) clock: Clock,
    pub(crate) settings: Settings,
    misuse: MisuseReporter,
}

// `AtomicPtr` is `Send + Sync` whatever it points to: keep the pipeline so.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Pipeline>();
};

impl TracerShared {
    pub(crate) fn pipeline(&self) -> Option<&Pipeline> {
        // SAFETY: null or from `Box::into_raw`. Freed only by `drop`, which
        // has `&mut self`; a pipeline replaced by `replace_pipeline` is never
        // freed. So the pointee outlives this borrow of `self`.
        unsafe { self.pipeline.load(Acquire).as_ref() }
    }

    /// Installs `new` (none: acts as disabled) in place of `old`, unless
    /// another caller replaced `old` first (then `new` is stopped). `old` is
    /// leaked: in a forked child its threads are gone and its locks may be
    /// held, so it is never dropped.
    pub(crate) fn replace_pipeline(&self, old: &Pipeline, new: Option<Pipeline>) {
        let new = new.map_or(std::ptr::null_mut(), |p| Box::into_raw(Box::new(p)));
        let old = std::ptr::from_ref(old).cast_mut();
        if self
            .pipeline
            .compare_exchange(old, new, AcqRel, Acquire)
            .is_err()
            && !new.is_null()
        {
            // SAFETY: from `Box::into_raw` just above, and not published.
            drop(unsafe { Box::from_raw(new) });
        }
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.pipeline().is_none_or(Pipeline::is_shut_down)
    }
}

impl Drop for TracerShared {
    fn drop(&mut self) {
        let p = *self.pipeline.get_mut();
        if p.is_null() {
            return;
        }
        // SAFETY: from `Box::into_raw` and still installed, so owned here (a
        // replaced pipeline is no longer in this field).
        let p = unsafe { Box::from_raw(p) };
        // Inherited through a fork without `after_fork_child`: its threads
        // are gone and its locks may be held, so it is leaked, not stopped.
        if p.pid() != std::process::id() {
            std::mem::forget(p);
            return;
        }
        let _ = p.shutdown(self.settings.shutdown_timeout);
    }
}

/// Starts a pipeline from the settings, with `custom` exporters after the
/// configured ones.
pub(crate) fn start_pipeline(
    settings: &Settings,
    custom: Vec<Box<dyn Exporter>>,
    policies: &Arc<Policies>,
    clock: Clock,
) -> Result<Pipeline, Error> {
    let mut exporters = settings.create_exporters()?;
    exporters.extend(custom);
    Pipeline::start(
        settings.batch.clone(),
        settings.delivery.clone(),
        exporters,
        policies.clone(),
        clock,
        settings.capture_content,
    )
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("service_name", &self.shared.settings.service_name)
            .field("exporters", &self.shared.settings.exporter_names())
            .finish()
    }
}

impl Tracer {
    pub fn builder() -> TracerBuilder {
        TracerBuilder::default()
    }

    /// A tracer configured from environment variables only.
    pub fn from_env() -> Result<Tracer, Error> {
        TracerBuilder::default().build()
    }

    pub(crate) fn from_builder(b: TracerBuilder) -> Result<Tracer, Error> {
        let mut settings = Settings::resolve(&b)?;
        let redactor = Redactor::new(&settings.redaction)?;
        // The resource is encoded once, with the exporters: later rule
        // changes (`set_redaction`) apply to spans only.
        redactor.apply_to_attributes(&mut settings.resource.attributes);
        let clock = Clock::new();
        let policies = Arc::new(Policies::new(
            Sampler::new(&settings.sampling)?,
            redactor,
            settings.prices.clone(),
            settings.global.clone(),
            settings.links,
            settings.conversation_attribute.clone(),
        ));
        let pipeline = if settings.disabled {
            std::ptr::null_mut()
        } else {
            let p = start_pipeline(&settings, b.custom_exporters, &policies, clock.clone())?;
            Box::into_raw(Box::new(p))
        };
        Ok(Tracer {
            shared: Arc::new(TracerShared {
                pipeline: AtomicPtr::new(pipeline),
                policies,
                clock,
                settings,
                misuse: MisuseReporter::default(),
            }),
        })
    }

    /// The settings in effect, after code, environment and defaults.
    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// Prepares a span; `start` it when ready.
    #[inline]
    pub fn span(&self, name: impl Into<Str>) -> SpanBuilder<'_> {
        SpanBuilder {
            tracer: self,
            name: name.into(),
            kind: SpanKind::Plain,
            otel_kind: None,
            parent: Parent::Current,
            attributes: Vec::new(),
            links: Vec::new(),
        }
    }

    /// Starts a span of `kind` under `parent` (shorthand for the builder).
    pub fn start(&self, name: impl Into<Str>, kind: SpanKind, parent: impl Into<Parent>) -> Span {
        self.span(name).kind(kind).parent(parent).start()
    }

    /// The span start path: time, ids and the sampling decision, then a
    /// `Child` entry when the parent is a live local span. No lock, no
    /// shared atomic, no allocation.
    #[inline]
    /// Takes what it needs out of `b` (borrowed, so the builder is not
    /// copied on the way).
    pub(crate) fn start_span(&self, b: &mut SpanBuilder<'_>) -> Span {
        match std::mem::take(&mut b.parent) {
            Parent::Current => context::with_current(|r| match r {
                Some(r) => self.start_under(b, Some(&r.context), r.baggage.clone(), r.local),
                None => self.start_under(b, None, None, false),
            }),
            Parent::Root => self.start_under(b, None, None, false),
            Parent::Span(r) => self.start_under(b, Some(&r.context), r.baggage, r.local),
            Parent::Remote { context, baggage } => {
                let baggage = (!baggage.is_empty()).then(|| Arc::new(baggage));
                self.start_under(b, Some(&context), baggage, false)
            }
        }
    }

    #[inline]
    fn start_under(
        &self,
        b: &mut SpanBuilder<'_>,
        parent: Option<&SpanContext>,
        baggage: Option<Arc<Baggage>>,
        local_parent: bool,
    ) -> Span {
        let shared = &*self.shared;
        let Some(pipeline) = shared.pipeline() else {
            // Disabled: nothing recorded or counted, no ids made; the
            // parent's context passes through (as OpenTelemetry's no-op
            // tracer does), so propagation still carries the caller's trace.
            return Span::non_recording(parent.cloned().unwrap_or_default(), baggage);
        };
        let parent = parent.filter(|p| p.is_valid());
        let (new_trace_id, span_id) = crate::model::id::random_ids(parent.is_none());
        let trace_id = parent.map_or(new_trace_id, |p| p.trace_id);
        let trace_state = parent.map(|p| p.trace_state.clone()).unwrap_or_default();
        let sampled = shared
            .policies
            .should_sample(parent, trace_id, &b.name, b.kind);
        let flags = parent
            .map_or(TraceFlags::default(), |p| p.flags)
            .with_sampled(sampled);
        let context = SpanContext::new_with_state(trace_id, span_id, flags, trace_state);
        if !sampled {
            pipeline.count_unsampled();
            return Span::non_recording(context, baggage);
        }
        let start = shared.clock.now();
        let parent_span_id = parent.map_or(SpanId::INVALID, |p| p.span_id);
        let Some((local, counted)) =
            pipeline.start_recording(local_parent.then_some(parent_span_id))
        else {
            return Span::non_recording(context, baggage);
        };
        let trace_state = context.trace_state.clone();
        Span::recording(
            context,
            SpanHead {
                trace_id,
                span_id,
                parent_span_id,
                flags,
                parent_is_remote: parent.is_some_and(|p| p.is_remote),
                counted_by_parent: counted,
                uncounted_child: local_parent && !counted,
                kind: b.kind,
                otel_kind: b.otel_kind.unwrap_or(b.kind.otel_kind()),
                abandoned: false,
                start,
                end: start,
                duration: None,
                trace_state,
                approx_bytes: b.name.len(),
                name: std::mem::replace(&mut b.name, Str::Borrowed("")),
                status: Status::Unset,
                usage: None,
                events: Vec::new(),
                links: std::mem::take(&mut b.links),
            },
            std::mem::take(&mut b.attributes),
            local,
            baggage,
        )
    }

    /// Writes propagation headers for `span` (its context and its trace's
    /// baggage) in the configured formats.
    pub fn inject(&self, span: &SpanRef, carrier: &mut dyn Injector) {
        let empty = Default::default();
        let baggage = span.baggage().unwrap_or(&empty);
        self.shared
            .settings
            .propagators
            .inject(span.context(), baggage, carrier);
    }

    /// Reads a remote parent from propagation headers; use the result as a
    /// [`Parent`] (`Parent::from(extracted)`).
    pub fn extract(&self, carrier: &dyn Extractor) -> Extracted {
        self.shared.settings.propagators.extract(carrier)
    }

    /// Blocks until every span ended before this call has been handed to the
    /// exporters and they have flushed, or `timeout` passes
    /// (`Error::Timeout` then says how many spans were not handed over).
    /// Safe to call from any thread, including inside an async runtime.
    pub fn force_flush(&self, timeout: Duration) -> Result<(), Error> {
        match self.shared.pipeline() {
            Some(p) => p.flush(timeout),
            None => Ok(()),
        }
    }

    /// Flushes, shuts the exporters down and stops the export thread, within
    /// `timeout` even if an exporter hangs. Idempotent. Spans ended afterwards
    /// are dropped and counted.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        match self.shared.pipeline() {
            Some(p) => p.shutdown(timeout),
            None => Ok(()),
        }
    }

    pub fn is_shut_down(&self) -> bool {
        self.shared.is_shut_down()
    }

    /// Replaces the sampling settings; spans started afterwards use them.
    pub fn update_sampling(&self, cfg: SamplingConfig) -> Result<(), Error> {
        self.shared.policies.set_sampler(Sampler::new(&cfg)?);
        Ok(())
    }

    /// Changes only the default sampling rate (rules stay).
    pub fn set_sampling_rate(&self, rate: f64) -> Result<(), Error> {
        let mut cfg = self.shared.policies.sampler().config().clone();
        cfg.rate = rate;
        self.update_sampling(cfg)
    }

    /// The sampling settings in effect.
    pub fn sampling(&self) -> SamplingConfig {
        self.shared.policies.sampler().config().clone()
    }

    /// Replaces the redaction rules; spans exported afterwards use them.
    /// Counters restart with the new rules.
    pub fn update_redaction(&self, cfg: RedactionConfig) -> Result<(), Error> {
        self.shared.policies.set_redactor(Redactor::new(&cfg)?);
        Ok(())
    }

    /// The redaction rules in effect.
    pub fn redaction(&self) -> RedactionConfig {
        self.shared.policies.redactor().config().clone()
    }

    /// What redaction did, by rule, since the rules were last set.
    pub fn redaction_stats(&self) -> RedactionStats {
        self.shared.policies.redactor().stats()
    }

    /// Adds tags to every span exported from now on.
    pub fn add_tags(&self, tags: impl IntoIterator<Item = impl Into<String>>) {
        let tags: Vec<String> = tags.into_iter().map(Into::into).collect();
        self.shared.policies.update_global(|g| {
            for t in tags {
                if !g.tags.contains(&t) {
                    g.tags.push(t);
                }
            }
        });
    }

    /// Sets a metadata entry on every span exported from now on.
    pub fn set_global_metadata(&self, key: impl Into<String>, value: serde_json::Value) {
        let key = key.into();
        self.shared.policies.update_global(|g| {
            g.metadata.insert(key, value);
        });
    }

    /// The global tags and metadata in effect.
    pub fn global_context(&self) -> crate::policy::GlobalContext {
        crate::policy::GlobalContext::clone(&self.shared.policies.global())
    }

    /// Whether span links are exported (live; see `set_links_enabled`).
    pub fn links_enabled(&self) -> bool {
        self.shared.policies.links()
    }

    /// Turns the export of span links on or off (for spans exported from now
    /// on).
    pub fn set_links_enabled(&self, on: bool) {
        self.shared.policies.set_links(on);
    }

    /// A snapshot of the counters; see [`Stats`] for the accounting invariant.
    pub fn stats(&self) -> Stats {
        let mut stats = self
            .shared
            .pipeline()
            .map_or_else(Stats::default, Pipeline::stats);
        stats.misuse = self.shared.misuse.0.snapshot();
        stats
    }

    /// Counts a misuse of the API (see [`Misuse`]) and logs `detail` to
    /// stderr the first time this tracer sees the kind. Never raises and
    /// takes no lock: the SDKs call it for misuse they detect, and raise
    /// instead only when [`Tracer::strict`] is on.
    pub fn report_misuse(&self, kind: Misuse, detail: &str) {
        self.shared.misuse.report(kind, detail);
    }

    /// Counts misuse for this tracer without keeping its pipeline alive.
    pub fn misuse_reporter(&self) -> MisuseReporter {
        self.shared.misuse.clone()
    }

    /// Whether the SDKs should raise on misuse (the `strict` setting).
    pub fn strict(&self) -> bool {
        self.shared.settings.strict
    }
}

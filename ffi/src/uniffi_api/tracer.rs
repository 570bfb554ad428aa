//! Tracers for the bindings.

use super::error::AgtraceError;
use super::span::{attributes, Span, SpanContext, SpanKind};
use crate::context::agtrace_context_t;
use agtrace_core::{Parent, TracerBuilder};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Starts spans and delivers them. Thread-safe.
#[derive(uniffi::Object)]
pub struct Tracer {
    pub(super) inner: agtrace_core::Tracer,
}

/// Counters: `ended == dispatched + dropped + pending`.
#[derive(uniffi::Record)]
pub struct Stats {
    pub started: u64,
    pub ended: u64,
    pub unsampled: u64,
    pub dispatched: u64,
    pub dropped: u64,
    pub pending: u64,
    /// Summed over exporters.
    pub exported: u64,
    /// Every per-exporter counter, as JSON.
    pub json: String,
}

#[uniffi::export]
impl Tracer {
    /// A tracer from settings by name (the environment variables of the
    /// README's table) over the environment, unless `ignore_env`. Fails
    /// naming a bad setting; does no network I/O.
    #[uniffi::constructor]
    pub fn new(
        settings: HashMap<String, String>,
        ignore_env: bool,
    ) -> Result<Arc<Self>, AgtraceError> {
        let mut b = TracerBuilder::default();
        if ignore_env {
            b = b.ignore_env();
        }
        let mut sorted: Vec<_> = settings.into_iter().collect();
        sorted.sort();
        for (k, v) in sorted {
            b = b.set(&k, &v)?;
        }
        Ok(Arc::new(Tracer { inner: b.build()? }))
    }

    /// Starts a span under `parent` (a new trace when absent). Never blocks.
    pub fn start_span(
        &self,
        name: String,
        kind: SpanKind,
        parent: Option<Arc<SpanContext>>,
        attributes_by_key: HashMap<String, super::span::AttributeValue>,
    ) -> Result<Arc<Span>, AgtraceError> {
        if self.inner.is_shut_down() {
            return Err(agtrace_core::Error::ShutDown.into());
        }
        let parent = parent.map_or(Parent::Root, |p| p.inner.parent());
        let s = self
            .inner
            .span(agtrace_core::intern(&name))
            .kind(kind.into())
            .parent(parent)
            .attributes(attributes(attributes_by_key)?)
            .start();
        Ok(Arc::new(Span::wrap(s)))
    }

    /// Waits until spans ended before the call are delivered, or the timeout.
    pub fn flush(&self, timeout_ms: u32) -> Result<(), AgtraceError> {
        Ok(self
            .inner
            .force_flush(Duration::from_millis(timeout_ms.into()))?)
    }

    /// Flushes and stops the export threads within the timeout. Idempotent.
    pub fn shutdown(&self, timeout_ms: u32) -> Result<(), AgtraceError> {
        Ok(self
            .inner
            .shutdown(Duration::from_millis(timeout_ms.into()))?)
    }

    pub fn stats(&self) -> Stats {
        let s = self.inner.stats();
        Stats {
            started: s.started,
            ended: s.ended,
            unsampled: s.unsampled,
            dispatched: s.dispatched,
            dropped: s.dropped.total(),
            pending: s.pending,
            exported: s.exporters.iter().map(|e| e.exported).sum(),
            json: crate::tracer::stats_json(&s).to_string(),
        }
    }

    /// Propagation headers for `context` in the tracer's formats.
    pub fn inject(&self, context: Arc<SpanContext>) -> HashMap<String, String> {
        let mut out = HashMap::new();
        context.inner.inject(&self.inner, &mut out);
        out
    }

    /// A remote parent from headers, or none when they carry neither a valid
    /// context nor baggage.
    pub fn extract(&self, headers: HashMap<String, String>) -> Option<Arc<SpanContext>> {
        let e = self.inner.extract(&headers);
        (e.span_context.is_some() || !e.baggage.is_empty()).then(|| {
            Arc::new(SpanContext {
                inner: agtrace_context_t::remote(e),
            })
        })
    }

    pub fn set_sampling_rate(&self, rate: f64) -> Result<(), AgtraceError> {
        Ok(self.inner.set_sampling_rate(rate)?)
    }

    /// True once `shutdown` was called; spans started afterwards record
    /// nothing.
    pub fn is_shut_down(&self) -> bool {
        self.inner.is_shut_down()
    }

    /// A C ABI handle (`agtrace_tracer_t *`, as an integer) on this same
    /// tracer, for bindings that take their hot path through the C ABI's
    /// packed calls. The caller owns it and releases it with
    /// `agtrace_tracer_free`; it stays usable after this object is dropped.
    pub fn c_handle(&self) -> u64 {
        let handle = Box::new(crate::tracer::agtrace_tracer_t {
            inner: self.inner.clone(),
        });
        Box::into_raw(handle) as u64
    }

    pub fn add_tags(&self, tags: Vec<String>) {
        self.inner.add_tags(tags);
    }
}

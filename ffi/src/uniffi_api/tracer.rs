//! Tracers for the bindings.

use super::error::AgtraceError;
use agtrace_core::TracerBuilder;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Starts spans and delivers them. Thread-safe.
#[derive(uniffi::Object)]
pub struct Tracer {
    pub(super) inner: agtrace_core::Tracer,
}

/// A tracer's counters, the one shape every SDK exposes. Invariant:
/// `ended == dispatched + sum(dropped) + pending`; each exporter accounts
/// for what it received the same way.
#[derive(uniffi::Record)]
pub struct Stats {
    pub started: u64,
    pub ended: u64,
    /// Spans not recorded by the sampler.
    pub unsampled: u64,
    /// Handed to the exporters.
    pub dispatched: u64,
    /// Ended, not yet dispatched.
    pub pending: u64,
    /// Dropped before reaching the exporters, by reason (`queue_full`,
    /// `queue_bytes`, `shutdown`).
    pub dropped: HashMap<String, u64>,
    /// Exported, summed over exporters.
    pub exported: u64,
    pub exporters: Vec<ExporterStats>,
    /// Telemetry calls made wrongly, by kind (`bad_name`, `bad_value`,
    /// `ended_twice`, `bad_call`, `mask_failed`): counted, never raised.
    pub misuse: HashMap<String, u64>,
}

/// One exporter's counters: `received == exported + sum(dropped) + spooled
/// + pending`.
#[derive(uniffi::Record)]
pub struct ExporterStats {
    pub name: String,
    pub received: u64,
    pub exported: u64,
    pub retried: u64,
    pub pending: u64,
    /// Written to the disk spool instead of dropped.
    pub spooled: u64,
    /// From the spool (any process's), accepted by the backend.
    pub replayed: u64,
    /// What the spool could not keep or deliver (disk full, evicted at its
    /// cap, corrupt, rejected on replay).
    pub lost_from_spool: u64,
    /// Corrupt spool records skipped.
    pub spool_corrupt: u64,
    pub breaker_open: bool,
    /// Not delivered, by reason (`queue_full`, `breaker_open`, `oversize`,
    /// `rejected`, `failed`, `shutdown`).
    pub dropped: HashMap<String, u64>,
}

impl From<agtrace_core::Stats> for Stats {
    fn from(s: agtrace_core::Stats) -> Self {
        let map = |pairs: &[(&str, u64)]| -> HashMap<String, u64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let exporters: Vec<ExporterStats> = s
            .exporters
            .iter()
            .map(|e| ExporterStats {
                name: e.name.to_string(),
                received: e.received,
                exported: e.exported,
                retried: e.retried,
                pending: e.pending,
                spooled: e.spooled,
                replayed: e.replayed,
                lost_from_spool: e.lost_from_spool,
                spool_corrupt: e.spool_corrupt,
                breaker_open: e.breaker == agtrace_core::BreakerState::Open,
                dropped: map(&[
                    ("queue_full", e.dropped.queue_full),
                    ("breaker_open", e.dropped.breaker_open),
                    ("oversize", e.dropped.oversize),
                    ("rejected", e.dropped.rejected),
                    ("failed", e.dropped.failed),
                    ("shutdown", e.dropped.shutdown),
                ]),
            })
            .collect();
        Stats {
            started: s.started,
            ended: s.ended,
            unsampled: s.unsampled,
            dispatched: s.dispatched,
            pending: s.pending,
            dropped: map(&[
                ("queue_full", s.dropped.queue_full),
                ("queue_bytes", s.dropped.queue_bytes),
                ("shutdown", s.dropped.shutdown),
            ]),
            exported: exporters.iter().map(|e| e.exported).sum(),
            exporters,
            misuse: agtrace_core::Misuse::ALL
                .into_iter()
                .map(|k| (k.name().to_string(), s.misuse.get(k)))
                .collect(),
        }
    }
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
        self.inner.stats().into()
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
    /// span protocol. The caller owns it and releases it with
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

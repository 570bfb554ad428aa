//! Counters: every span started is accounted for.
//!
//! Invariant, readable at any time from [`Stats`]:
//! `ended == exported + dropped.total() + pending`, and per exporter,
//! `exported + failed` equals the spans handed to it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Keeps a hot counter on its own cache line, so app threads bumping it do
/// not contend with the export thread's counters.
#[derive(Default, Debug)]
#[repr(align(64))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

#[derive(Default, Debug)]
pub(crate) struct Counters {
    pub(crate) started: Padded<AtomicU64>,
    pub(crate) enqueued: Padded<AtomicU64>,
    pub(crate) queued_bytes: Padded<AtomicU64>,
    pub(crate) unsampled: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_queue_bytes: AtomicU64,
    pub(crate) dropped_shutdown: AtomicU64,
    /// Written by the export thread only.
    pub(crate) processed: Padded<AtomicU64>,
}

#[derive(Default, Debug)]
pub(crate) struct ExporterCounters {
    pub(crate) exported: AtomicU64,
    pub(crate) failed: AtomicU64,
}

/// Spans dropped before reaching the exporters, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    /// The queue held its maximum number of spans.
    pub queue_full: u64,
    /// The queue held its maximum number of bytes.
    pub queue_bytes: u64,
    /// Ended after (or while) the tracer shut down.
    pub shutdown: u64,
}

impl Dropped {
    pub fn total(&self) -> u64 {
        self.queue_full + self.queue_bytes + self.shutdown
    }
}

/// One exporter's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExporterStats {
    pub name: String,
    /// Spans this exporter delivered.
    pub exported: u64,
    /// Spans this exporter failed to deliver (counted, logged, not retried here).
    pub failed: u64,
}

/// A snapshot of the tracer's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Recording spans started.
    pub started: u64,
    /// Recording spans ended (explicitly or abandoned).
    pub ended: u64,
    /// Spans started but not recorded (unsampled or disabled).
    pub unsampled: u64,
    /// Ended spans handed to the exporters.
    pub exported: u64,
    pub dropped: Dropped,
    /// Ended spans still queued or batching.
    pub pending: u64,
    pub exporters: Vec<ExporterStats>,
}

impl Counters {
    pub(crate) fn snapshot(&self, exporters: Vec<ExporterStats>, shut_down: bool) -> Stats {
        let exported = self.processed.load(Relaxed);
        let enqueued = self.enqueued.load(Relaxed);
        let mut dropped = Dropped {
            queue_full: self.dropped_queue_full.load(Relaxed),
            queue_bytes: self.dropped_queue_bytes.load(Relaxed),
            shutdown: self.dropped_shutdown.load(Relaxed),
        };
        let mut pending = enqueued.saturating_sub(exported);
        if shut_down {
            // After shutdown nothing queued will ever be exported.
            dropped.shutdown += pending;
            pending = 0;
        }
        Stats {
            started: self.started.load(Relaxed),
            ended: enqueued
                + dropped.queue_full
                + dropped.queue_bytes
                + self.dropped_shutdown.load(Relaxed),
            unsampled: self.unsampled.load(Relaxed),
            exported,
            dropped,
            pending,
            exporters,
        }
    }
}

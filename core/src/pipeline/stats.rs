//! Counters: every span started is accounted for.
//!
//! Invariants, readable at any time from [`Stats`]:
//! `ended == dispatched + dropped.total() + pending` for the pipeline, and for
//! each exporter `received == exported + dropped.total() + spooled + pending`.

use crate::pipeline::local::ThreadCounts;
use std::sync::atomic::{
    AtomicU64,
    Ordering::{Acquire, Relaxed},
};

/// The collector's counters (app threads count in their own buffers, see
/// `local::LocalCounts`). Written by the collector thread only.
#[derive(Default, Debug)]
pub(crate) struct Counters {
    /// Spans handed to the exporters.
    pub(crate) dispatched: AtomicU64,
    /// Batches that did not fit the byte budget on their way to the
    /// exporters.
    pub(crate) dropped_queue_bytes: AtomicU64,
    /// Spans the collector finished and the time it spent on them.
    pub(crate) collected: AtomicU64,
    pub(crate) collector_busy_nanos: AtomicU64,
}

/// One reading of [`Counters`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CollectorCounts {
    pub(crate) dispatched: u64,
    pub(crate) dropped_queue_bytes: u64,
    pub(crate) collected: u64,
    pub(crate) busy_nanos: u64,
}

impl CollectorCounts {
    pub(crate) fn dropped_total(&self) -> u64 {
        self.dropped_queue_bytes
    }
}

impl Counters {
    pub(crate) fn snapshot(&self) -> CollectorCounts {
        CollectorCounts {
            dispatched: self.dispatched.load(Acquire),
            dropped_queue_bytes: self.dropped_queue_bytes.load(Acquire),
            collected: self.collected.load(Relaxed),
            busy_nanos: self.collector_busy_nanos.load(Relaxed),
        }
    }
}

#[derive(Default, Debug)]
pub(crate) struct ExporterCounters {
    pub(crate) received: AtomicU64,
    pub(crate) exported: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_breaker_open: AtomicU64,
    pub(crate) dropped_oversize: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) dropped_shutdown: AtomicU64,
    /// The spool's counters (see `spool`).
    pub(crate) spooled: AtomicU64,
    pub(crate) replayed: AtomicU64,
    pub(crate) lost_from_spool: AtomicU64,
    pub(crate) spool_corrupt: AtomicU64,
    breaker_open: std::sync::atomic::AtomicBool,
    /// Set by the worker around an export (retries included) of an exporter
    /// a fork need not wait for (`Exporter::fork_safe_while_exporting`).
    pub(crate) exporting: std::sync::atomic::AtomicBool,
}

impl ExporterCounters {
    pub(crate) fn set_breaker(&self, state: BreakerState) {
        self.breaker_open
            .store(state == BreakerState::Open, Relaxed);
    }

    pub(crate) fn snapshot(&self, name: &str) -> ExporterStats {
        let dropped = ExporterDropped {
            queue_full: self.dropped_queue_full.load(Relaxed),
            breaker_open: self.dropped_breaker_open.load(Relaxed),
            oversize: self.dropped_oversize.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            failed: self.failed.load(Relaxed),
            shutdown: self.dropped_shutdown.load(Relaxed),
        };
        let received = self.received.load(Relaxed);
        let exported = self.exported.load(Relaxed);
        let spooled = self.spooled.load(Relaxed);
        ExporterStats {
            name: name.to_string(),
            received,
            exported,
            retried: self.retried.load(Relaxed),
            pending: received.saturating_sub(exported + dropped.total() + spooled),
            dropped,
            spooled,
            replayed: self.replayed.load(Relaxed),
            lost_from_spool: self.lost_from_spool.load(Relaxed),
            spool_corrupt: self.spool_corrupt.load(Relaxed),
            breaker: if self.breaker_open.load(Relaxed) {
                BreakerState::Open
            } else {
                BreakerState::Closed
            },
        }
    }
}

/// An exporter's circuit breaker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BreakerState {
    #[default]
    Closed,
    /// Failing: spans are dropped (counted) until a probe succeeds.
    Open,
}

/// Spans an exporter did not deliver, by reason. With a spool, a batch that
/// failed, met an open breaker or was left at shutdown is spooled instead
/// and counted here only if the spool could not keep it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExporterDropped {
    /// Its queue was full (the exporter is slower than the app).
    pub queue_full: u64,
    /// Its circuit breaker was open.
    pub breaker_open: u64,
    /// A single span larger than the request size limit.
    pub oversize: u64,
    /// The backend refused them (not retried: 4xx, 500, partial success).
    pub rejected: u64,
    /// Retryable failures that did not succeed within the retries or deadline.
    pub failed: u64,
    /// Still undelivered when the tracer shut down.
    pub shutdown: u64,
}

impl ExporterDropped {
    pub fn total(&self) -> u64 {
        self.queue_full
            + self.breaker_open
            + self.oversize
            + self.rejected
            + self.failed
            + self.shutdown
    }
}

/// One exporter's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExporterStats {
    pub name: String,
    /// Spans handed to this exporter.
    pub received: u64,
    /// Spans it delivered.
    pub exported: u64,
    /// Retry attempts (not spans).
    pub retried: u64,
    pub dropped: ExporterDropped,
    /// Spans queued or in flight.
    pub pending: u64,
    /// Spans written to the disk spool instead of being dropped (see
    /// `DeliveryConfig::spool_dir`).
    pub spooled: u64,
    /// Spans from the spool the backend accepted, whichever process wrote
    /// them.
    pub replayed: u64,
    /// Spans the spool could not keep or deliver: failed writes (disk
    /// full), segments evicted at the size cap, corrupt records, and
    /// records the backend rejected on replay.
    pub lost_from_spool: u64,
    /// Corrupt or torn spool records skipped on replay.
    pub spool_corrupt: u64,
    pub breaker: BreakerState,
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

/// A snapshot of the tracer's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Recording spans started.
    pub started: u64,
    /// Recording spans ended (explicitly or abandoned).
    pub ended: u64,
    /// Spans started but not recorded (unsampled or disabled).
    pub unsampled: u64,
    /// Ended spans handed to the exporters (each exporter's own counts are in
    /// `exporters`).
    pub dispatched: u64,
    pub dropped: Dropped,
    /// Ended spans still queued or batching.
    pub pending: u64,
    pub exporters: Vec<ExporterStats>,
    /// The collector thread's own work.
    pub collector: CollectorStats,
    /// Telemetry calls the application made wrongly, by kind (counted, never
    /// raised; see `Tracer::report_misuse`).
    pub misuse: crate::MisuseCounts,
}

/// What the collector (the thread that finishes spans before the exporters)
/// did: spans finished and the time spent finishing them, so
/// `spans / busy` is its throughput whatever the exporters cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollectorStats {
    pub spans: u64,
    pub busy_nanos: u64,
}

impl Stats {
    /// Puts the three readings together (see `Pipeline::stats` for the
    /// order they must be read in).
    pub(crate) fn assemble(
        c: CollectorCounts,
        threads: ThreadCounts,
        exporters: Vec<ExporterStats>,
        shut_down: bool,
    ) -> Stats {
        let mut dropped = Dropped {
            queue_full: threads.dropped_full,
            queue_bytes: threads.dropped_bytes + c.dropped_queue_bytes,
            shutdown: threads.dropped_shutdown,
        };
        let mut pending = threads.ended.saturating_sub(c.dispatched + dropped.total());
        if shut_down {
            // After shutdown nothing still buffered will ever be exported.
            dropped.shutdown += pending;
            pending = 0;
        }
        Stats {
            started: threads.started,
            ended: threads.ended,
            unsampled: threads.unsampled,
            dispatched: c.dispatched,
            dropped,
            pending,
            exporters,
            collector: CollectorStats {
                spans: c.collected,
                busy_nanos: c.busy_nanos,
            },
            misuse: crate::MisuseCounts::default(),
        }
    }
}

//! The batching pipeline: a bounded queue filled by app threads and drained by
//! one export thread owned by the core.
//!
//! Contract:
//! - `submit` never blocks and never allocates: when the queue is full (in
//!   spans or bytes) or the tracer is shut down, the span is dropped and
//!   counted.
//! - The export thread batches by count, bytes and delay, and hands each batch
//!   to every exporter in turn. It needs no runtime from the host; exporters
//!   that need tokio own their runtime.
//! - `flush` and `shutdown` return within their timeout whatever the exporters
//!   do; on timeout they report how many spans were not handed over.

use crate::error::Error;
use crate::exporter::Exporter;
use crate::record::SpanRecord;
use crate::stats::{Counters, ExporterCounters, ExporterStats, Stats};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Queue and batch limits.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchConfig {
    /// Most spans waiting in the queue.
    pub queue_capacity: usize,
    /// Most payload bytes waiting in the queue.
    pub queue_max_bytes: usize,
    /// Spans per export call.
    pub batch_size: usize,
    /// Payload bytes per export call.
    pub batch_max_bytes: usize,
    /// Longest time an ended span waits before export.
    pub flush_interval: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            queue_capacity: 16_384,
            queue_max_bytes: 64 << 20,
            batch_size: 512,
            batch_max_bytes: 3 << 20,
            flush_interval: Duration::from_secs(1),
        }
    }
}

/// Most spare records kept for reuse.
const POOL_CAPACITY: usize = 4096;

enum Control {
    /// The queue holds at least a batch.
    Wake,
    Flush(flume::Sender<()>),
    Shutdown(flume::Sender<()>),
}

pub(crate) struct Pipeline {
    tx: flume::Sender<Box<SpanRecord>>,
    /// Exported records, cleared, for reuse by new spans: spans are then
    /// allocated and freed on the same thread only when the pool runs dry.
    pool: flume::Receiver<Box<SpanRecord>>,
    ctl: flume::Sender<Control>,
    counters: Arc<Counters>,
    exporter_counters: Vec<(String, Arc<ExporterCounters>)>,
    wake_pending: Arc<AtomicBool>,
    closed: AtomicBool,
    worker: Mutex<Option<JoinHandle<()>>>,
    cfg: BatchConfig,
}

impl Pipeline {
    /// Starts the export thread. Does no I/O on the caller's thread.
    pub(crate) fn start(
        cfg: BatchConfig,
        exporters: Vec<Box<dyn Exporter>>,
        counters: Arc<Counters>,
    ) -> Result<Pipeline, Error> {
        let (tx, rx) = flume::bounded(cfg.queue_capacity);
        let (ctl, ctl_rx) = flume::unbounded();
        let (pool_tx, pool) = flume::bounded(cfg.queue_capacity.min(POOL_CAPACITY));
        let slots: Vec<Slot> = exporters
            .into_iter()
            .map(|exporter| Slot {
                name: exporter.name().to_string(),
                exporter,
                counters: Arc::default(),
                last_log: None,
            })
            .collect();
        let exporter_counters = slots
            .iter()
            .map(|s| (s.name.clone(), s.counters.clone()))
            .collect();
        let wake_pending = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            rx,
            ctl: ctl_rx,
            slots,
            counters: counters.clone(),
            wake_pending: wake_pending.clone(),
            batch: Vec::with_capacity(cfg.batch_size),
            batch_bytes: 0,
            pool: pool_tx,
            cfg: cfg.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("agtrace-export".into())
            .spawn(move || worker.run())
            .map_err(|e| Error::Exporter {
                exporter: "pipeline".into(),
                reason: format!("cannot start the export thread: {e}"),
            })?;
        Ok(Pipeline {
            tx,
            pool,
            ctl,
            counters,
            exporter_counters,
            wake_pending,
            closed: AtomicBool::new(false),
            worker: Mutex::new(Some(handle)),
            cfg,
        })
    }

    /// A cleared record from the pool, or a new one.
    pub(crate) fn take_record(&self) -> Box<SpanRecord> {
        self.pool
            .try_recv()
            .unwrap_or_else(|_| Box::new(SpanRecord::blank()))
    }

    /// Queues an ended span. Never blocks.
    pub(crate) fn submit(&self, record: Box<SpanRecord>) {
        let c = &*self.counters;
        if self.closed.load(Relaxed) {
            c.dropped_shutdown.fetch_add(1, Relaxed);
            return;
        }
        let bytes = record.approx_bytes as u64;
        let queued = c.queued_bytes.fetch_add(bytes, Relaxed) + bytes;
        if queued > self.cfg.queue_max_bytes as u64 {
            c.queued_bytes.fetch_sub(bytes, Relaxed);
            c.dropped_queue_bytes.fetch_add(1, Relaxed);
            return;
        }
        match self.tx.try_send(record) {
            Ok(()) => {
                let n = c.enqueued.fetch_add(1, Relaxed) + 1;
                let waiting = n.saturating_sub(c.processed.load(Relaxed));
                if waiting >= self.cfg.batch_size as u64
                    && !self.wake_pending.load(Relaxed)
                    && !self.wake_pending.swap(true, AcqRel)
                {
                    let _ = self.ctl.send(Control::Wake);
                }
            }
            Err(e) => {
                c.queued_bytes.fetch_sub(bytes, Relaxed);
                match e {
                    flume::TrySendError::Full(_) => c.dropped_queue_full.fetch_add(1, Relaxed),
                    flume::TrySendError::Disconnected(_) => {
                        c.dropped_shutdown.fetch_add(1, Relaxed)
                    }
                };
            }
        }
    }

    /// Waits until every span queued before the call has been handed to the
    /// exporters and the exporters have flushed, or `timeout` passes.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if self.closed.load(Acquire) {
            return Ok(());
        }
        let target = self.counters.enqueued.load(Acquire);
        let (tx, rx) = flume::bounded(1);
        if self.ctl.send(Control::Flush(tx)).is_err() {
            return Err(Error::ShutDown);
        }
        rx.recv_timeout(timeout).map_err(|_| Error::Timeout {
            operation: "flush",
            undelivered: target.saturating_sub(self.counters.processed.load(Acquire)),
        })
    }

    /// Flushes, shuts the exporters down and stops the export thread.
    /// Idempotent; returns within `timeout` even if an exporter hangs (the
    /// thread is then left to finish on its own).
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        if self.closed.swap(true, AcqRel) {
            return Ok(());
        }
        let (tx, rx) = flume::bounded(1);
        let sent = self.ctl.send(Control::Shutdown(tx)).is_ok();
        let done = sent && rx.recv_timeout(timeout).is_ok();
        let handle = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if done {
            if let Some(h) = handle {
                let _ = h.join();
            }
            Ok(())
        } else {
            let enqueued = self.counters.enqueued.load(Acquire);
            Err(Error::Timeout {
                operation: "shutdown",
                undelivered: enqueued.saturating_sub(self.counters.processed.load(Acquire)),
            })
        }
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.closed.load(Acquire)
    }

    pub(crate) fn stats(&self) -> Stats {
        let exporters = self
            .exporter_counters
            .iter()
            .map(|(name, c)| ExporterStats {
                name: name.clone(),
                exported: c.exported.load(Relaxed),
                failed: c.failed.load(Relaxed),
            })
            .collect();
        self.counters.snapshot(exporters, self.is_shut_down())
    }
}

struct Slot {
    name: String,
    exporter: Box<dyn Exporter>,
    counters: Arc<ExporterCounters>,
    last_log: Option<Instant>,
}

/// At most one failure log line per exporter per interval, so a dead backend
/// does not flood the application's stderr.
const LOG_INTERVAL: Duration = Duration::from_secs(30);

impl Slot {
    fn report(&mut self, what: &str, reason: &str) {
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= LOG_INTERVAL)
        {
            self.last_log = Some(now);
            eprintln!("agtrace: {} exporter {what}: {reason}", self.name);
        }
    }
}

struct Worker {
    rx: flume::Receiver<Box<SpanRecord>>,
    ctl: flume::Receiver<Control>,
    slots: Vec<Slot>,
    counters: Arc<Counters>,
    wake_pending: Arc<AtomicBool>,
    // Records stay boxed from span start to export and back to the pool:
    // only the pointer moves, never the (large) record.
    #[allow(clippy::vec_box)]
    batch: Vec<Box<SpanRecord>>,
    pool: flume::Sender<Box<SpanRecord>>,
    batch_bytes: usize,
    cfg: BatchConfig,
}

impl Worker {
    fn run(mut self) {
        let mut deadline = Instant::now() + self.cfg.flush_interval;
        loop {
            match self.ctl.recv_deadline(deadline) {
                Ok(Control::Wake) => {
                    self.wake_pending.store(false, Release);
                    self.drain(false);
                }
                Ok(Control::Flush(ack)) => {
                    self.drain(true);
                    self.each_exporter("flush", |e| e.flush());
                    let _ = ack.send(());
                }
                Ok(Control::Shutdown(ack)) => {
                    self.stop();
                    let _ = ack.send(());
                    return;
                }
                Err(flume::RecvTimeoutError::Timeout) => {
                    self.drain(true);
                    deadline = Instant::now() + self.cfg.flush_interval;
                }
                // Every tracer handle is gone without a shutdown: deliver what
                // is queued, then stop.
                Err(flume::RecvTimeoutError::Disconnected) => {
                    self.stop();
                    return;
                }
            }
        }
    }

    fn stop(&mut self) {
        self.drain(true);
        self.each_exporter("flush", |e| e.flush());
        self.each_exporter("shutdown", |e| e.shutdown());
        // Spans that raced with shutdown are counted, not exported.
        let late = self.rx.drain().count() as u64;
        self.counters.dropped_shutdown.fetch_add(late, Relaxed);
        self.counters.enqueued.fetch_sub(late, Relaxed);
    }

    /// Moves queued spans into batches; exports every full batch, and the
    /// partial one too when `all`.
    fn drain(&mut self, all: bool) {
        loop {
            // One lock for everything queued, not one per span.
            let taken: Vec<Box<SpanRecord>> = self.rx.drain().collect();
            if taken.is_empty() {
                break;
            }
            let bytes: usize = taken.iter().map(|r| r.approx_bytes).sum();
            self.counters.queued_bytes.fetch_sub(bytes as u64, Relaxed);
            for rec in taken {
                let bytes = rec.approx_bytes;
                if !self.batch.is_empty() && self.batch_bytes + bytes > self.cfg.batch_max_bytes {
                    self.export();
                }
                self.batch_bytes += bytes;
                self.batch.push(rec);
                if self.batch.len() >= self.cfg.batch_size {
                    self.export();
                }
            }
        }
        if all && !self.batch.is_empty() {
            self.export();
        }
    }

    fn export(&mut self) {
        for rec in self.batch.iter_mut() {
            rec.finalize();
        }
        let n = self.batch.len() as u64;
        let batch = &self.batch;
        for slot in self.slots.iter_mut() {
            let result = catch_unwind(AssertUnwindSafe(|| slot.exporter.export(batch)));
            match result {
                Ok(Ok(())) => {
                    slot.counters.exported.fetch_add(n, Relaxed);
                }
                Ok(Err(e)) => {
                    slot.counters.failed.fetch_add(n, Relaxed);
                    slot.report("export failed", &e.reason);
                }
                Err(_) => {
                    slot.counters.failed.fetch_add(n, Relaxed);
                    slot.report("export failed", "the exporter panicked");
                }
            }
        }
        self.counters.processed.fetch_add(n, Release);
        for mut rec in self.batch.drain(..) {
            rec.reset();
            // A full pool means enough spare records: free this one.
            let _ = self.pool.try_send(rec);
        }
        self.batch_bytes = 0;
    }

    fn each_exporter(
        &mut self,
        what: &str,
        f: impl Fn(&mut dyn Exporter) -> Result<(), crate::ExportError>,
    ) {
        for slot in self.slots.iter_mut() {
            match catch_unwind(AssertUnwindSafe(|| f(&mut *slot.exporter))) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => slot.report(&format!("{what} failed"), &e.reason),
                Err(_) => slot.report(&format!("{what} failed"), "the exporter panicked"),
            }
        }
    }
}

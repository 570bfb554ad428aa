//! The pipeline: a bounded queue filled by app threads, one batching thread,
//! and one delivery worker per exporter (see `delivery`).
//!
//! Contract:
//! - `submit` never blocks and never allocates: when the queue is full (in
//!   spans or bytes) or the tracer is shut down, the span is dropped and
//!   counted.
//! - The batching thread computes rollups, adds derived attributes, applies
//!   redaction, batches by count, bytes and delay, and offers each batch to
//!   every exporter's own queue. It needs no runtime from the host.
//! - `flush` and `shutdown` return within their timeout whatever the exporters
//!   do; on timeout they report how many spans were not delivered yet.
//! - Each pipeline has a generation (0, then one more in each forked child)
//!   stamped on the records it hands out; a record of another generation was
//!   started before a fork and is dropped silently, uncounted (see `fork`).

pub(crate) mod delivery;
pub(crate) mod fork;
mod pool;
pub(crate) mod stats;

use crate::error::Error;
use crate::exporter::Exporter;
use crate::model::record::SpanRecord;
use crate::pipeline::delivery::{Batch, DeliveryConfig, Worker};
use crate::pipeline::fork::Pause;
use crate::pipeline::pool::RecordPool;
use crate::pipeline::stats::{Counters, ExporterCounters, Stats};
use crate::policy::rollup::Rollups;
use crate::policy::Policies;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Queue and batch limits.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchConfig {
    /// Most ended spans inside the pipeline (queued, batching, or held for
    /// rollups), and about the most each exporter's queue holds.
    pub queue_capacity: usize,
    /// Most payload bytes waiting in the queue.
    pub queue_max_bytes: usize,
    /// Spans per export call.
    pub batch_size: usize,
    /// Payload bytes per export call (estimated; exporters split further if
    /// the encoded request is over their limit).
    pub batch_max_bytes: usize,
    /// Longest time an ended span waits before export.
    pub flush_interval: Duration,
    /// Longest time a parent span is held back for its children's rollups.
    pub rollup_hold: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            queue_capacity: 16_384,
            queue_max_bytes: 64 << 20,
            batch_size: 512,
            batch_max_bytes: 3 << 20,
            flush_interval: Duration::from_secs(1),
            rollup_hold: Duration::from_secs(300),
        }
    }
}

/// Most spare records kept for reuse.
const POOL_CAPACITY: usize = 4096;

enum Control {
    /// The queue holds at least a batch.
    Wake,
    /// Acknowledged once by the batching thread and once by every exporter.
    Flush(flume::Sender<()>),
    Shutdown(flume::Sender<()>),
    /// Park for a fork, with every exporter.
    Pause(Pause),
}

pub(crate) struct Pipeline {
    tx: flume::Sender<Box<SpanRecord>>,
    pool: Arc<RecordPool>,
    ctl: flume::Sender<Control>,
    counters: Arc<Counters>,
    exporters: Vec<(String, Arc<ExporterCounters>)>,
    wake_pending: Arc<AtomicBool>,
    closed: AtomicBool,
    batcher: Mutex<Option<JoinHandle<()>>>,
    cfg: BatchConfig,
    generation: u32,
    /// The process whose threads run this pipeline.
    pid: u32,
    pauses: Mutex<Pauses>,
}

/// Pauses in effect for forks; the threads go on when the last one ends.
#[derive(Default)]
struct Pauses {
    depth: usize,
    /// Dropped to resume the parked threads.
    resume: Option<flume::Sender<()>>,
}

impl Pipeline {
    /// Starts the batching thread and one worker per exporter. Does no I/O
    /// on the caller's thread.
    pub(crate) fn start(
        cfg: BatchConfig,
        delivery: DeliveryConfig,
        exporters: Vec<Box<dyn Exporter>>,
        counters: Arc<Counters>,
        policies: Arc<Policies>,
        generation: u32,
    ) -> Result<Pipeline, Error> {
        let thread_error = |e: std::io::Error| Error::Exporter {
            exporter: "pipeline".into(),
            reason: format!("cannot start a thread: {e}"),
        };
        let (tx, rx) = flume::bounded(cfg.queue_capacity);
        let (ctl, ctl_rx) = flume::unbounded();
        let pool = Arc::new(RecordPool::new(cfg.queue_capacity.min(POOL_CAPACITY)));
        // Each exporter may hold about a queue's worth of spans.
        let per_exporter = cfg.queue_capacity.div_ceil(cfg.batch_size).max(2);
        let workers = exporters
            .into_iter()
            .map(|e| Worker::start(e, per_exporter, delivery.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(thread_error)?;
        let exporter_counters = workers
            .iter()
            .map(|w| (w.name.clone(), w.counters.clone()))
            .collect();
        let wake_pending = Arc::new(AtomicBool::new(false));
        let batcher = Batcher {
            rx,
            ctl: ctl_rx,
            workers,
            counters: counters.clone(),
            wake_pending: wake_pending.clone(),
            rollups: Rollups::new(cfg.rollup_hold),
            policies,
            batch: Vec::with_capacity(cfg.batch_size),
            batch_bytes: 0,
            ready: Vec::new(),
            pool: pool.clone(),
            cfg: cfg.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("agtrace-batch".into())
            .spawn(move || batcher.run())
            .map_err(thread_error)?;
        Ok(Pipeline {
            tx,
            pool,
            ctl,
            counters,
            exporters: exporter_counters,
            wake_pending,
            closed: AtomicBool::new(false),
            batcher: Mutex::new(Some(handle)),
            cfg,
            generation,
            pid: std::process::id(),
            pauses: Mutex::default(),
        })
    }

    /// A cleared record from the pool, or a new one, of this generation.
    pub(crate) fn take_record(&self) -> Box<SpanRecord> {
        let mut record = self.pool.take();
        record.generation = self.generation;
        record
    }

    /// Queues an ended span. Never blocks.
    pub(crate) fn submit(&self, mut record: Box<SpanRecord>) {
        if record.generation != self.generation {
            // Started before a fork: the other process exports it.
            if let Some(parent) = record.parent_node.take() {
                parent.child_finished();
            }
            return;
        }
        let c = &*self.counters;
        if self.closed.load(Relaxed) {
            return Self::reject(&mut record, &c.dropped_shutdown);
        }
        // The cap covers every span inside the pipeline (queued, being
        // batched, or held for rollups), not only the channel: the batching
        // thread drains the channel in one go.
        let inside = c
            .enqueued
            .load(Relaxed)
            .saturating_sub(c.dispatched.load(Relaxed));
        if inside >= self.cfg.queue_capacity as u64 {
            return Self::reject(&mut record, &c.dropped_queue_full);
        }
        let bytes = record.approx_bytes as u64;
        let queued = c.queued_bytes.fetch_add(bytes, Relaxed) + bytes;
        if queued > self.cfg.queue_max_bytes as u64 {
            c.queued_bytes.fetch_sub(bytes, Relaxed);
            return Self::reject(&mut record, &c.dropped_queue_bytes);
        }
        match self.tx.try_send(record) {
            Ok(()) => {
                let n = c.enqueued.fetch_add(1, Relaxed) + 1;
                let waiting = n.saturating_sub(c.dispatched.load(Relaxed));
                if waiting >= self.cfg.batch_size as u64
                    && !self.wake_pending.load(Relaxed)
                    && !self.wake_pending.swap(true, AcqRel)
                {
                    let _ = self.ctl.send(Control::Wake);
                }
            }
            Err(e) => {
                c.queued_bytes.fetch_sub(bytes, Relaxed);
                let (mut record, counter) = match e {
                    flume::TrySendError::Full(r) => (r, &c.dropped_queue_full),
                    flume::TrySendError::Disconnected(r) => (r, &c.dropped_shutdown),
                };
                Self::reject(&mut record, counter);
            }
        }
    }

    /// Counts a dropped span, and tells its parent not to wait for it.
    fn reject(record: &mut SpanRecord, counter: &std::sync::atomic::AtomicU64) {
        counter.fetch_add(1, Relaxed);
        if let Some(parent) = record.parent_node.take() {
            parent.child_finished();
        }
    }

    /// Waits until every span queued before the call has been delivered (or
    /// given up on) by every exporter and the exporters have flushed, or
    /// `timeout` passes.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if self.closed.load(Acquire) {
            return Ok(());
        }
        let target = self.counters.enqueued.load(Acquire);
        self.request(Control::Flush, timeout)
            .or_else(|()| self.timed_out("flush", target))
    }

    /// Flushes, shuts the exporters down and stops the threads. Idempotent;
    /// returns within `timeout` even if an exporter hangs (its thread is then
    /// left to finish on its own).
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        if self.closed.swap(true, AcqRel) {
            return Ok(());
        }
        let target = self.counters.enqueued.load(Acquire);
        let done = self.request(Control::Shutdown, timeout);
        let handle = self
            .batcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match done {
            Ok(()) => {
                if let Some(h) = handle {
                    let _ = h.join();
                }
                Ok(())
            }
            Err(()) => self.timed_out("shutdown", target),
        }
    }

    /// Parks the batching thread and every exporter's worker for a fork,
    /// waiting up to `timeout` for them; nested pauses count. Does nothing
    /// once shut down.
    pub(crate) fn pause(&self, timeout: Duration) {
        if self.closed.load(Acquire) {
            return;
        }
        let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        pauses.depth += 1;
        if pauses.depth > 1 {
            return;
        }
        let (resume_tx, resume) = flume::bounded(0);
        pauses.resume = Some(resume_tx);
        // A thread that does not answer in time is busy (a slow export); the
        // fork goes ahead without it.
        let _ = self.request(|ack| Control::Pause(Pause { ack, resume }), timeout);
    }

    /// Ends one `pause`; the last one lets the threads go on.
    pub(crate) fn resume(&self) {
        let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        pauses.depth = pauses.depth.saturating_sub(1);
        if pauses.depth == 0 {
            pauses.resume = None;
        }
    }

    /// Sends a request and waits for the batching thread's and every
    /// exporter's acknowledgement.
    fn request(
        &self,
        make: impl FnOnce(flume::Sender<()>) -> Control,
        timeout: Duration,
    ) -> Result<(), ()> {
        let deadline = Instant::now() + timeout;
        let expected = self.exporters.len() + 1;
        let (ack, acks) = flume::bounded(expected);
        self.ctl.send(make(ack)).map_err(|_| ())?;
        for _ in 0..expected {
            acks.recv_deadline(deadline).map_err(|_| ())?;
        }
        Ok(())
    }

    /// A wait that ran out of time is a failure only if spans are still
    /// undelivered (a zero timeout with nothing pending succeeds).
    fn timed_out(&self, operation: &'static str, target: u64) -> Result<(), Error> {
        match self.timeout_error(operation, target) {
            Error::Timeout { undelivered: 0, .. } => Ok(()),
            e => Err(e),
        }
    }

    fn timeout_error(&self, operation: &'static str, target: u64) -> Error {
        // A batch dispatched between reading `dispatched` and the exporters'
        // pending counts would be counted twice: read until `dispatched`
        // holds still around the exporters' read (a few tries suffice).
        let mut dispatched = self.counters.dispatched.load(Acquire);
        let mut in_exporters;
        let mut tries = 0;
        loop {
            in_exporters = self
                .exporters
                .iter()
                .map(|(n, c)| c.snapshot(n).pending)
                .max()
                .unwrap_or(0);
            let again = self.counters.dispatched.load(Acquire);
            tries += 1;
            if again == dispatched || tries == 8 {
                break;
            }
            dispatched = again;
        }
        let not_dispatched = target.saturating_sub(dispatched);
        Error::Timeout {
            operation,
            undelivered: not_dispatched + in_exporters,
        }
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.closed.load(Acquire)
    }

    pub(crate) fn generation(&self) -> u32 {
        self.generation
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Every exporter's name, configured ones first, then custom ones.
    pub(crate) fn exporter_names(&self) -> Vec<String> {
        self.exporters.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Pipeline counters are read before the exporters': a batch is counted
    /// as received by the exporters before it is counted as dispatched, so
    /// in one snapshot no exporter can look behind the pipeline.
    pub(crate) fn stats(&self) -> Stats {
        let mut stats = self.counters.snapshot(Vec::new(), self.is_shut_down());
        stats.exporters = self
            .exporters
            .iter()
            .map(|(name, c)| c.snapshot(name))
            .collect();
        stats
    }
}

struct Batcher {
    rx: flume::Receiver<Box<SpanRecord>>,
    ctl: flume::Receiver<Control>,
    workers: Vec<Worker>,
    counters: Arc<Counters>,
    wake_pending: Arc<AtomicBool>,
    rollups: Rollups,
    policies: Arc<Policies>,
    batch: Vec<Box<SpanRecord>>,
    batch_bytes: usize,
    /// Spans whose rollups are final, waiting to be finished and batched.
    ready: Vec<Box<SpanRecord>>,
    pool: Arc<RecordPool>,
    cfg: BatchConfig,
}

impl Batcher {
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
                    for w in &self.workers {
                        w.flush(ack.clone());
                    }
                    let _ = ack.send(());
                }
                Ok(Control::Shutdown(ack)) => return self.stop(Some(ack)),
                // Parked between two steps, holding nothing the app's
                // threads lock.
                Ok(Control::Pause(pause)) => {
                    for w in &self.workers {
                        w.pause(pause.clone());
                    }
                    pause.hold();
                }
                Err(flume::RecvTimeoutError::Timeout) => {
                    self.expire();
                    self.drain(false);
                    self.dispatch();
                    deadline = Instant::now() + self.cfg.flush_interval;
                }
                // Every tracer handle is gone without a shutdown: deliver what
                // is queued, then stop.
                Err(flume::RecvTimeoutError::Disconnected) => return self.stop(None),
            }
        }
    }

    fn stop(&mut self, ack: Option<flume::Sender<()>>) {
        self.drain(true);
        let ack = ack.unwrap_or_else(|| flume::bounded(self.workers.len() + 1).0);
        for w in &self.workers {
            w.shutdown(ack.clone());
        }
        // Spans that raced with shutdown are counted, not exported.
        let late = self.rx.drain().count() as u64;
        self.counters.dropped_shutdown.fetch_add(late, Relaxed);
        self.counters.enqueued.fetch_sub(late, Relaxed);
        let _ = ack.send(());
        for w in &mut self.workers {
            w.join_if_finished();
        }
    }

    /// Moves queued spans through rollups into batches; dispatches every full
    /// batch, and with `all` also held spans and the partial batch.
    fn drain(&mut self, all: bool) {
        let prices = self.policies.prices();
        loop {
            // One lock for everything queued, not one per span.
            let taken: Vec<Box<SpanRecord>> = self.rx.drain().collect();
            if taken.is_empty() {
                break;
            }
            let bytes: usize = taken.iter().map(|r| r.approx_bytes).sum();
            self.counters.queued_bytes.fetch_sub(bytes as u64, Relaxed);
            let ready = &mut self.ready;
            for rec in taken {
                self.rollups.process(rec, &prices, &mut |r| ready.push(r));
            }
            self.finish_ready();
        }
        if all {
            let ready = &mut self.ready;
            self.rollups.release_all(&prices, &mut |r| ready.push(r));
            self.finish_ready();
            self.dispatch();
        }
    }

    fn expire(&mut self) {
        let prices = self.policies.prices();
        let ready = &mut self.ready;
        self.rollups.expire(&prices, &mut |r| ready.push(r));
        self.finish_ready();
    }

    /// Adds derived attributes, redacts, and batches the spans in `ready`.
    fn finish_ready(&mut self) {
        if self.ready.is_empty() {
            return;
        }
        let started = Instant::now();
        let finish = self.policies.finisher();
        let n = self.ready.len() as u64;
        for mut rec in std::mem::take(&mut self.ready) {
            finish.apply(&mut rec);
            let bytes = rec.approx_bytes;
            if !self.batch.is_empty() && self.batch_bytes + bytes > self.cfg.batch_max_bytes {
                self.dispatch();
            }
            self.batch_bytes += bytes;
            self.batch.push(rec);
            if self.batch.len() >= self.cfg.batch_size {
                self.dispatch();
            }
        }
        let c = &self.counters;
        c.collected.fetch_add(n, Relaxed);
        c.collector_busy_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Relaxed);
    }

    /// Offers the current batch to every exporter.
    fn dispatch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let records = std::mem::replace(&mut self.batch, Vec::with_capacity(self.cfg.batch_size));
        let n = records.len() as u64;
        self.batch_bytes = 0;
        let batch = Arc::new(Batch {
            records,
            pool: self.pool.clone(),
        });
        for w in &mut self.workers {
            w.offer(&batch);
        }
        self.counters.dispatched.fetch_add(n, Release);
    }
}

//! The pipeline: per-thread span buffers filled by app threads (see
//! `local`), one collector thread that finishes spans (see `collector`), and
//! one delivery worker per exporter (see `delivery`).
//!
//! Contract:
//! - Recording a span takes no lock, touches no atomic another thread writes
//!   and allocates nothing (up to eight attributes): its data moves into the
//!   calling thread's buffer at `end`. When the byte budget is spent, or the
//!   tracer is shut down, the span is dropped and counted; nothing waits.
//! - The collector reads every thread's buffer on a wake (a chunk filled), on
//!   its timer, and on flush and shutdown; it computes rollups, adds derived
//!   attributes and trace-level context, applies redaction, batches by
//!   count, bytes and delay, and offers each batch to every exporter's own
//!   queue. It needs no runtime from the host.
//! - `flush` and `shutdown` return within their timeout whatever the exporters
//!   do; on timeout they report how many spans were not delivered yet.
//! - A forked child gets a new pipeline (see `fork`); spans of the inherited
//!   one belong to the parent and are dropped silently in the child.

mod collector;
pub(crate) mod delivery;
mod entry;
pub(crate) mod fork;
pub(crate) mod local;
mod pool;
mod spool;
pub(crate) mod stats;
mod traces;

use crate::error::Error;
use crate::exporter::Exporter;
use crate::model::id::{SpanId, TraceId};
use crate::model::record::SpanHead;
use crate::model::trace::TraceMeta;
use crate::model::value::Attributes;
use crate::pipeline::delivery::{DeliveryConfig, Worker};
use crate::pipeline::fork::Pause;
use crate::pipeline::local::{bump, with_local, Local, Refused, Sink};
use crate::pipeline::pool::RecordPool;
use crate::pipeline::stats::{Counters, ExporterCounters, Stats};
use crate::policy::Policies;
use crate::util::clock::Clock;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Queue and batch limits.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchConfig {
    /// The span cap: most ended spans inside the pipeline (thread buffers,
    /// the collector, every exporter's queue), plus each recording thread's
    /// open buffer chunk (counted when it fills); also the most parents the
    /// rollups hold back at once.
    pub queue_capacity: usize,
    /// The byte budget: most bytes held by spans anywhere in the pipeline
    /// (thread buffers, the collector, every exporter's queue), counted at
    /// their real size.
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

/// Most spare records kept for reuse (two default batches).
const POOL_CAPACITY: usize = 1024;

pub(crate) enum Control {
    /// A thread buffer filled a chunk.
    Wake,
    /// Acknowledged once by the collector and once by every exporter.
    Flush(flume::Sender<()>),
    /// With the deadline the exporters retry until.
    Shutdown(flume::Sender<()>, Instant),
    /// Park for a fork, with every exporter.
    Pause(Pause),
}

pub(crate) struct Pipeline {
    pub(crate) sink: Arc<Sink>,
    ctl: flume::Sender<Control>,
    counters: Arc<Counters>,
    exporters: Vec<(String, Arc<ExporterCounters>)>,
    closed: AtomicBool,
    collector: Mutex<Option<JoinHandle<()>>>,
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
    /// Starts the collector and one worker per exporter. Does no I/O on the
    /// caller's thread.
    pub(crate) fn start(
        cfg: BatchConfig,
        delivery: DeliveryConfig,
        exporters: Vec<Box<dyn Exporter>>,
        policies: Arc<Policies>,
        clock: Clock,
        capture_content: bool,
    ) -> Result<Pipeline, Error> {
        let thread_error = |e: std::io::Error| Error::Exporter {
            exporter: "pipeline".into(),
            reason: format!("cannot start a thread: {e}"),
        };
        let (ctl, ctl_rx) = flume::unbounded();
        let sink = Arc::new(Sink::new(
            cfg.queue_max_bytes,
            cfg.queue_capacity,
            clock,
            capture_content,
            policies.clone(),
            ctl.clone(),
        ));
        let counters = Arc::new(Counters::default());
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
        let collector = collector::Collector::new(
            sink.clone(),
            ctl_rx,
            workers,
            counters.clone(),
            policies,
            pool,
            cfg,
        );
        let handle = std::thread::Builder::new()
            .name("agtrace-collect".into())
            .spawn(move || collector.run())
            .map_err(thread_error)?;
        Ok(Pipeline {
            sink,
            ctl,
            counters,
            exporters: exporter_counters,
            closed: AtomicBool::new(false),
            collector: Mutex::new(Some(handle)),
            pid: std::process::id(),
            pauses: Mutex::default(),
        })
    }

    /// Counts an unsampled span on the calling thread.
    #[inline]
    pub(crate) fn count_unsampled(&self) {
        with_local(&self.sink, |l| bump(&l.counts.unsampled));
    }

    /// Starts recording on the calling thread: counts the span, and when its
    /// parent is a live local span, tells the rollups about the child.
    /// Returns the thread's buffer and whether the parent counted the child;
    /// `None` (counted) when the thread has no buffer and none can be made.
    #[inline]
    pub(crate) fn start_recording(&self, parent: Option<SpanId>) -> Option<(Arc<Local>, bool)> {
        let r = with_local(&self.sink, |l| {
            bump(&l.counts.started);
            let counted = parent.is_some_and(|p| {
                // SAFETY: `with_local` runs on the buffer's owner thread; the
                // writer fills exactly `CHILD_SIZE` bytes.
                unsafe {
                    l.append(entry::CHILD_SIZE, 0, false, |dst| {
                        entry::write_child(dst, p)
                    })
                }
                .is_ok()
            });
            (l.share(), counted)
        });
        if r.is_none() {
            self.sink.count_unbuffered(true);
        }
        r
    }

    /// Waits until every span queued before the call has been delivered (or
    /// given up on) by every exporter and the exporters have flushed, or
    /// `timeout` passes.
    /// Fails with `Error::Undelivered` when an exporter dropped spans while
    /// it waited (rejected, failed after retries, ...), and with
    /// `Error::Timeout` when spans were still on their way at the deadline.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if self.closed.load(Acquire) {
            return self.await_settled("flush", timeout);
        }
        let target = self.sink.counts().ended;
        let dropped = self.exporters_dropped();
        self.request(Control::Flush, timeout)
            .or_else(|()| self.timed_out("flush", target))?;
        self.dropped_since("flush", dropped)
    }

    /// Flushes, shuts the exporters down and stops the threads. Returns
    /// within `timeout` even if an exporter hangs (its thread is then left
    /// to finish its current attempt on its own, starting no other). The
    /// exporters retry until shortly before `timeout` ends; what they could
    /// not deliver is counted as dropped and reported (`Error::Undelivered`,
    /// or `Error::Timeout` when spans were still on their way). A second
    /// call waits, up to its own timeout, for the first to settle, and
    /// reports the same way (the drops of the whole run).
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        if self.closed.swap(true, AcqRel) {
            self.await_settled("shutdown", timeout)?;
            return self.dropped_since("shutdown", (0, 0));
        }
        self.sink.close();
        let target = self.sink.counts().ended;
        let dropped = self.exporters_dropped();
        // The exporters stop retrying a little before the caller's
        // deadline, so that their acknowledgements arrive within it.
        let margin = (timeout / 10).min(Duration::from_millis(100));
        let deadline = Instant::now() + timeout;
        let done = self.request(|ack| Control::Shutdown(ack, deadline - margin), timeout);
        let handle = self
            .collector
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match done {
            Ok(()) => {
                if let Some(h) = handle {
                    let _ = h.join();
                }
                self.dropped_since("shutdown", dropped)
            }
            Err(()) => self.timed_out("shutdown", target),
        }
    }

    /// After shutdown: waits up to `timeout` until no span is on its way
    /// (`Error::Timeout` if some still are).
    fn await_settled(&self, operation: &'static str, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let target = self.sink.counts().ended;
        loop {
            match self.timeout_error(operation, target) {
                Error::Timeout { undelivered: 0, .. } => return Ok(()),
                e if Instant::now() >= deadline => return Err(e),
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    /// Spans every exporter dropped and spooled so far, summed.
    fn exporters_dropped(&self) -> (u64, u64) {
        self.exporters
            .iter()
            .map(|(n, c)| c.snapshot(n))
            .fold((0, 0), |(d, s), e| (d + e.dropped.total(), s + e.spooled))
    }

    fn dropped_since(&self, operation: &'static str, before: (u64, u64)) -> Result<(), Error> {
        let (dropped, spooled) = self.exporters_dropped();
        match (
            dropped.saturating_sub(before.0),
            spooled.saturating_sub(before.1),
        ) {
            (0, 0) => Ok(()),
            (dropped, spooled) => Err(Error::Undelivered {
                operation,
                dropped,
                spooled,
            }),
        }
    }

    /// Parks the collector and every exporter's worker for a fork,
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
        let deadline = Instant::now() + timeout;
        let (ack, acks) = flume::bounded(self.exporters.len() + 1);
        if self
            .ctl
            .send(Control::Pause(Pause { ack, resume }))
            .is_err()
        {
            return;
        }
        // The collector and every idle worker park promptly. A worker inside
        // an export of a fork-safe exporter (on the network, perhaps for its
        // whole timeout) is not waited for: it holds none of the
        // application's locks, and the child builds exporters of its own; it
        // parks when the export ends. Other exports are waited for, up to
        // `timeout`.
        let mut parked = 0;
        loop {
            let busy = self
                .exporters
                .iter()
                .filter(|(_, c)| c.exporting.load(Acquire))
                .count();
            if parked + busy > self.exporters.len() {
                return;
            }
            let slice = (Instant::now() + Duration::from_millis(2)).min(deadline);
            match acks.recv_deadline(slice) {
                Ok(()) => parked += 1,
                Err(flume::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(_) => return,
            }
        }
    }

    /// Ends one `pause`; the last one lets the threads go on.
    pub(crate) fn resume(&self) {
        let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        pauses.depth = pauses.depth.saturating_sub(1);
        if pauses.depth == 0 {
            pauses.resume = None;
        }
    }

    /// Sends a request and waits for the collector's and every exporter's
    /// acknowledgement.
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
        let dropped = self.counters.snapshot().dropped_total() + self.sink.counts().dropped_total();
        let not_dispatched = target.saturating_sub(dispatched + dropped);
        Error::Timeout {
            operation,
            undelivered: not_dispatched + in_exporters,
            in_exporters,
        }
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.closed.load(Acquire)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Every exporter's name, configured ones first, then custom ones.
    pub(crate) fn exporter_names(&self) -> Vec<String> {
        self.exporters.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Read in this order so that the invariants hold in every snapshot:
    /// what the collector dispatched or dropped first, then the exporters'
    /// counts (a batch is counted as received before it is counted as
    /// dispatched), then what app threads ended (a span is ended before the
    /// collector can see it).
    pub(crate) fn stats(&self) -> Stats {
        let c = self.counters.snapshot();
        let exporters = self
            .exporters
            .iter()
            .map(|(name, c)| c.snapshot(name))
            .collect();
        let threads = self.sink.counts();
        Stats::assemble(c, threads, exporters, self.is_shut_down())
    }
}

impl Drop for Pipeline {
    /// Lets go of the thread buffers (they refer to the sink, which lists
    /// them), so nothing of the pipeline outlives it but what live spans and
    /// threads still hold.
    fn drop(&mut self) {
        self.sink.close();
        self.sink.clear_registry();
    }
}

/// Moves an ended span into the calling thread's buffer; counts it, and
/// drops it (counted) when the budget is spent or the tracer is shut down.
/// Never blocks.
///
/// # Safety
/// `head` is valid and owned by this call: it is moved into the buffer or
/// dropped, and must not be used or dropped by the caller afterwards. The
/// attributes are moved out of `attributes` when the span is kept.
#[inline]
pub(crate) unsafe fn submit(origin: &Arc<Local>, head: *mut SpanHead, attributes: &mut Attributes) {
    let sink = &origin.sink;
    // Dropped on every path that does not move the head into the buffer.
    struct Owned(*mut SpanHead);
    impl Drop for Owned {
        fn drop(&mut self) {
            if !self.0.is_null() {
                // SAFETY: owned by this call (`submit`'s contract).
                unsafe { std::ptr::drop_in_place(self.0) }
            }
        }
    }
    let mut owned = Owned(head);
    if sink.is_closed() {
        // Inherited through a fork: the parent process exports it.
        if !sink.is_forsaken() {
            sink.count_after_close();
        }
        return;
    }
    // SAFETY: valid (the contract).
    let h = unsafe { &*head };
    let size = entry::span_size(attributes.len());
    let heap = h.approx_bytes;
    let lost_parent = h.counted_by_parent.then_some(h.parent_span_id);
    let owned = &mut owned;
    let done = with_local(sink, move |l| {
        bump(&l.counts.ended);
        // SAFETY: `with_local` runs on the buffer's owner thread; the writer
        // fills exactly `span_size(attributes.len())` bytes.
        let written = unsafe {
            l.append(size, heap, true, |dst| {
                // The head moves into the buffer: not ours to drop any more.
                owned.0 = std::ptr::null_mut();
                entry::write_span(dst, head, attributes)
            })
        };
        if let Err(why) = written {
            bump(match why {
                Refused::Bytes => &l.counts.dropped_bytes,
                Refused::Full => &l.counts.dropped_full,
            });
            if let Some(p) = lost_parent {
                l.lose_child(p);
            }
        }
    });
    if done.is_none() {
        sink.count_unbuffered(false);
    }
}

/// Sends trace-level context to the collector with the calling thread's
/// spans. Lost (with nothing to count) only when the budget is spent.
pub(crate) fn submit_trace_meta(origin: &Arc<Local>, trace_id: TraceId, meta: TraceMeta) {
    let sink = &origin.sink;
    if sink.is_closed() {
        return;
    }
    let meta = Box::new(meta);
    with_local(sink, move |l| {
        // SAFETY: on the owner thread; the writer fills `TRACE_SIZE` bytes.
        let _ = unsafe {
            l.append(entry::TRACE_SIZE, 0, false, |dst| {
                entry::write_trace(dst, trace_id, meta)
            })
        };
    });
}

//! Delivery to one exporter: its own bounded queue and thread, so a slow or
//! dead backend never delays the others or the application.
//!
//! Contract, per exporter:
//! - Retries only what can succeed later (`ExportErrorKind::Retryable`), with
//!   exponential backoff and full jitter, or exactly the backend's
//!   `Retry-After`; never past the export deadline. A shutdown keeps retrying
//!   within its own deadline: no attempt starts after it, and what is left
//!   then is counted as dropped at shutdown (so a shutdown that timed out
//!   stops exporting instead of going on in the background).
//! - A batch the exporter finds too large is split in halves until each part
//!   fits; a single span that cannot fit is dropped as oversize.
//! - A circuit breaker opens after `threshold` consecutive failed batches,
//!   drops (and counts) batches while open, lets one batch through after
//!   `reset`, and closes when that succeeds. One log line when it opens, one
//!   when it recovers.
//! - With a spool (`DeliveryConfig::spool_dir`, for exporters that have a
//!   `spool_destination`), a batch that failed after its retries, met an
//!   open breaker or was left at the shutdown's deadline is written to disk
//!   instead of dropped, and replayed when the exporter is delivering
//!   again: after a success, while the worker is idle, when the worker
//!   starts (spools of earlier processes) and at shutdown while the backend
//!   answers. See `spool`.
//! - Every span handed to the exporter ends in exactly one counter:
//!   exported, spooled, or dropped by reason (see `ExporterStats`).

use crate::error::{ExportError, ExportErrorKind};
use crate::exporter::{Encoded, Exporter, PieceEncoder};
use crate::model::record::SpanRecord;
use crate::pipeline::fork::Pause;
use crate::pipeline::spool::{self, Replay, Spool};
use crate::pipeline::stats::{BreakerState, ExporterCounters};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Retry and circuit-breaker settings, the same for every exporter. Serializes
/// to the keys it deserializes from (a config file's `[delivery]` section).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Retries of one batch after its first attempt.
    pub max_retries: u32,
    /// First backoff ceiling; doubles each retry up to `max_backoff`.
    #[serde(with = "crate::util::parse::millis", rename = "initial_backoff_ms")]
    pub initial_backoff: Duration,
    #[serde(with = "crate::util::parse::millis", rename = "max_backoff_ms")]
    pub max_backoff: Duration,
    /// Longest time one batch may take, retries included.
    #[serde(with = "crate::util::parse::millis", rename = "export_deadline_ms")]
    pub export_deadline: Duration,
    /// Consecutive failed batches that open the breaker.
    pub breaker_threshold: u32,
    /// How long the breaker stays open before one batch may probe.
    #[serde(with = "crate::util::parse::millis", rename = "breaker_reset_ms")]
    pub breaker_reset: Duration,
    /// The disk spool's directory (see `spool`): batches an OTLP exporter
    /// could not deliver are kept there and replayed. `None`: no spool.
    pub spool_dir: Option<std::path::PathBuf>,
    /// The most bytes the spool keeps per exporter; the oldest segments go
    /// first.
    pub spool_max_bytes: u64,
}

/// `DeliveryConfig::spool_max_bytes` by default.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 128 << 20;

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            max_retries: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            export_deadline: Duration::from_secs(60),
            breaker_threshold: 5,
            breaker_reset: Duration::from_secs(60),
            spool_dir: None,
            spool_max_bytes: DEFAULT_SPOOL_MAX_BYTES,
        }
    }
}

/// Ended spans handed from the collector to every exporter. Shared by all
/// exporters; when the last one is done the records go back to the pool and
/// their bytes back to the budget.
pub(crate) struct Batch {
    pub(crate) records: Vec<Box<SpanRecord>>,
    pub(crate) pool: Arc<crate::pipeline::pool::RecordPool>,
    /// Bytes reserved from the budget for these records.
    pub(crate) reserved: usize,
    pub(crate) sink: Arc<crate::pipeline::local::Sink>,
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.sink.queued(self.records.len(), false);
        self.pool.give_back(&mut self.records);
        self.sink.budget.release(self.reserved);
    }
}

pub(crate) enum Control {
    /// Acknowledge once every batch up to sequence `upto` is settled and the
    /// exporter has flushed.
    Flush { upto: u64, ack: flume::Sender<()> },
    /// Settle every batch up to `upto`, retrying only while the next
    /// attempt can start before `deadline`, shut the exporter down,
    /// acknowledge and stop.
    Shutdown {
        upto: u64,
        ack: flume::Sender<()>,
        deadline: Instant,
    },
    /// Park for a fork between two batches.
    Pause(Pause),
}

/// A batch waiting in one exporter's queue: the shared records, or, behind
/// a slow export, this exporter's own encoding of them (several times
/// smaller; see `Exporter::piece_encoder`).
enum Job {
    Records(Arc<Batch>),
    Encoded {
        batch: Encoded,
        /// Held for its drop (the span cap's count).
        _counted: Queued,
    },
}

/// Keeps an encoded job's spans counted against the span cap while it waits
/// (the records' batch, which counted them, is gone).
struct Queued {
    sink: Arc<crate::pipeline::local::Sink>,
    spans: usize,
}

impl Queued {
    fn new(sink: &Arc<crate::pipeline::local::Sink>, spans: usize) -> Queued {
        sink.queued(spans, true);
        Queued {
            sink: sink.clone(),
            spans,
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.sink.queued(self.spans, false);
    }
}

/// Spans of a job handed to the exporter: all of them, or a part of a split.
#[derive(Clone, Copy)]
enum Part<'a> {
    Records(&'a [Box<SpanRecord>]),
    Encoded(&'a Encoded, usize, usize),
}

impl<'a> Part<'a> {
    fn of(job: &'a Job) -> Part<'a> {
        match job {
            Job::Records(b) => Part::Records(&b.records),
            Job::Encoded { batch: e, .. } => Part::Encoded(e, 0, e.len()),
        }
    }

    fn len(&self) -> usize {
        match *self {
            Part::Records(r) => r.len(),
            Part::Encoded(_, start, end) => end - start,
        }
    }

    fn halves(self) -> (Part<'a>, Part<'a>) {
        match self {
            Part::Records(r) => {
                let (a, b) = r.split_at(r.len() / 2);
                (Part::Records(a), Part::Records(b))
            }
            Part::Encoded(e, start, end) => {
                let mid = start + (end - start) / 2;
                (Part::Encoded(e, start, mid), Part::Encoded(e, mid, end))
            }
        }
    }

    fn export(self, exporter: &mut dyn Exporter) -> Result<(), ExportError> {
        match self {
            Part::Records(r) => exporter.export(r),
            Part::Encoded(e, start, end) => exporter.export_encoded(e, start..end),
        }
    }

    fn body(self, exporter: &mut dyn Exporter) -> Result<Vec<u8>, ExportError> {
        match self {
            Part::Records(r) => exporter.request_body(r),
            Part::Encoded(e, start, end) => exporter.request_body_encoded(e, start..end),
        }
    }
}

/// Spool records one replay pass sends before the worker looks at its
/// queue again.
const REPLAY_BATCH: usize = 8;

/// Longest wait before a failed replay is tried again (shorter when the
/// breaker's reset is).
const REPLAY_RETRY: Duration = Duration::from_secs(5);

/// The collector's handle on one exporter's worker.
pub(crate) struct Worker {
    pub(crate) name: String,
    jobs: flume::Sender<(u64, Job)>,
    /// Set when the exporter takes encoded spans.
    encoder: Option<PieceEncoder>,
    ctl: flume::Sender<Control>,
    pub(crate) counters: Arc<ExporterCounters>,
    /// Sequence number of the last batch queued to this worker.
    queued: u64,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    pub(crate) fn start(
        exporter: Box<dyn Exporter>,
        capacity_batches: usize,
        cfg: DeliveryConfig,
    ) -> std::io::Result<Worker> {
        let name = exporter.name().to_string();
        let spool_dir = cfg
            .spool_dir
            .as_ref()
            .zip(exporter.spool_destination())
            .map(|(root, to)| spool::directory(root, &name, &to));
        let encoder = exporter.piece_encoder();
        let fork_safe = exporter.fork_safe_while_exporting();
        let (jobs, jobs_rx) = flume::bounded(capacity_batches.max(1));
        let (ctl, ctl_rx) = flume::unbounded();
        let counters = Arc::new(ExporterCounters::default());
        let mut delivery = Delivery {
            exporter,
            name: name.clone(),
            cfg,
            counters: counters.clone(),
            breaker: Breaker::default(),
            stopping: None,
            fork_safe,
            spool_dir,
            spool: None,
            replay_at: None,
            last_log: None,
            jobs: jobs_rx,
            ctl: ctl_rx,
            settled: 0,
            pending: Vec::new(),
            shutdown: None,
        };
        let thread = std::thread::Builder::new()
            .name(format!("agtrace-{name}"))
            .spawn(move || delivery.run())?;
        Ok(Worker {
            name,
            jobs,
            encoder,
            ctl,
            counters,
            queued: 0,
            thread: Some(thread),
        })
    }

    /// Queues a batch without blocking; a full queue drops it, counted.
    /// Behind a batch already waiting, an exporter that takes encoded spans
    /// gets its own encoding instead of the records (encoded here, on the
    /// collector, only then: a keeping-up exporter costs nothing more).
    pub(crate) fn offer(&mut self, batch: &Arc<Batch>) {
        let n = batch.records.len() as u64;
        self.counters.received.fetch_add(n, Relaxed);
        if self.jobs.is_full() {
            self.counters.dropped_queue_full.fetch_add(n, Relaxed);
            return;
        }
        let job = match self.encoder {
            Some(encode) if !self.jobs.is_empty() => Job::Encoded {
                batch: Encoded::new(&batch.records, encode),
                _counted: Queued::new(&batch.sink, batch.records.len()),
            },
            _ => Job::Records(batch.clone()),
        };
        match self.jobs.try_send((self.queued + 1, job)) {
            Ok(()) => self.queued += 1,
            Err(_) => {
                self.counters.dropped_queue_full.fetch_add(n, Relaxed);
            }
        }
    }

    pub(crate) fn flush(&self, ack: flume::Sender<()>) {
        let _ = self.ctl.send(Control::Flush {
            upto: self.queued,
            ack,
        });
    }

    pub(crate) fn shutdown(&self, ack: flume::Sender<()>, deadline: Instant) {
        let _ = self.ctl.send(Control::Shutdown {
            upto: self.queued,
            ack,
            deadline,
        });
    }

    pub(crate) fn pause(&self, pause: Pause) {
        let _ = self.ctl.send(Control::Pause(pause));
    }

    /// Waits for the worker thread if it has stopped; a hung exporter's
    /// thread is left to finish on its own.
    pub(crate) fn join_if_finished(&mut self) {
        if self.thread.as_ref().is_some_and(|t| t.is_finished()) {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

#[derive(Default)]
struct Breaker {
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    probing: bool,
}

/// At most one failure log line per exporter per interval, so a dead backend
/// does not flood the application's stderr.
const LOG_INTERVAL: Duration = Duration::from_secs(30);

enum Outcome {
    Delivered,
    Partial(u64, String),
    TooLarge(String),
    Rejected(String),
    Failed(String),
    Interrupted,
}

struct Delivery {
    exporter: Box<dyn Exporter>,
    name: String,
    cfg: DeliveryConfig,
    counters: Arc<ExporterCounters>,
    breaker: Breaker,
    /// The shutdown's deadline, once one arrived: no attempt starts after it.
    stopping: Option<Instant>,
    /// `Exporter::fork_safe_while_exporting`: exports are flagged in
    /// `ExporterCounters::exporting`, so a fork goes ahead without them.
    fork_safe: bool,
    /// The spool's directory, until the worker's thread opens it.
    spool_dir: Option<PathBuf>,
    spool: Option<Spool>,
    /// When to replay the spool next.
    replay_at: Option<Instant>,
    last_log: Option<Instant>,
    jobs: flume::Receiver<(u64, Job)>,
    ctl: flume::Receiver<Control>,
    /// Sequence number of the last batch settled.
    settled: u64,
    /// Flush requests waiting for earlier batches.
    pending: Vec<(u64, flume::Sender<()>)>,
    /// A shutdown received while waiting to retry.
    shutdown: Option<(u64, flume::Sender<()>)>,
}

impl Delivery {
    fn run(&mut self) {
        self.open_spool();
        loop {
            if let Some((upto, ack)) = self.shutdown.take() {
                return self.finish(upto, ack);
            }
            enum Ev {
                Job(Result<(u64, Job), flume::RecvError>),
                Ctl(Result<Control, flume::RecvError>),
            }
            let select = flume::Selector::new()
                .recv(&self.ctl, Ev::Ctl)
                .recv(&self.jobs, Ev::Job);
            let ev = match self.replay_at {
                None => select.wait(),
                Some(at) => match select.wait_deadline(at) {
                    Ok(ev) => ev,
                    Err(_) => {
                        self.replay();
                        continue;
                    }
                },
            };
            match ev {
                Ev::Job(Ok((seq, batch))) => {
                    self.deliver(Part::of(&batch));
                    self.settled = seq;
                    drop(batch);
                    self.answer_flushes();
                }
                Ev::Ctl(Ok(Control::Flush { upto, ack })) => {
                    self.pending.push((upto, ack));
                    self.answer_flushes();
                }
                Ev::Ctl(Ok(Control::Shutdown {
                    upto,
                    ack,
                    deadline,
                })) => {
                    self.stopping = Some(deadline);
                    self.shutdown = Some((upto, ack));
                }
                Ev::Ctl(Ok(Control::Pause(pause))) => pause.hold(),
                // The pipeline is gone without a shutdown (its thread
                // panicked or the process is tearing down): stop.
                Ev::Job(Err(_)) | Ev::Ctl(Err(_)) => {
                    self.call("shutdown", |e| e.shutdown());
                    return;
                }
            }
        }
    }

    /// Settles the batches queued before the shutdown (retrying within its
    /// deadline; after it, counted as dropped at shutdown without an
    /// attempt), flushes and shuts the exporter down, then acknowledges.
    fn finish(&mut self, upto: u64, ack: flume::Sender<()>) {
        while self.settled < upto {
            match self.jobs.recv() {
                Ok((seq, batch)) => {
                    self.deliver(Part::of(&batch));
                    self.settled = seq;
                }
                Err(_) => break,
            }
        }
        self.settled = self.settled.max(upto);
        // Replays while the backend answers, within the deadline.
        while self.replay_at.is_some()
            && self.breaker.consecutive_failures == 0
            && !self.past_shutdown_deadline(Instant::now())
        {
            if self.replay() != Replay::More {
                break;
            }
        }
        if let Some(spool) = self.spool.as_mut() {
            spool.close();
        }
        self.answer_flushes();
        self.call("flush", |e| e.flush());
        self.call("shutdown", |e| e.shutdown());
        let _ = ack.send(());
    }

    fn answer_flushes(&mut self) {
        if self.pending.iter().all(|(upto, _)| *upto > self.settled) {
            return;
        }
        self.call("flush", |e| e.flush());
        let settled = self.settled;
        self.pending.retain(|(upto, ack)| {
            if *upto <= settled {
                let _ = ack.send(());
                false
            } else {
                true
            }
        });
    }

    fn deliver(&mut self, spans: Part<'_>) {
        let n = spans.len() as u64;
        let c = self.counters.clone();
        if self.past_shutdown_deadline(Instant::now())
            || (self.stopping.is_some() && self.breaker.opened_at.is_some())
        {
            return self.spool_or_drop(spans, |c| &c.dropped_shutdown);
        }
        if let Some(at) = self.breaker.opened_at {
            if at.elapsed() < self.cfg.breaker_reset {
                return self.spool_or_drop(spans, |c| &c.dropped_breaker_open);
            }
            self.breaker.probing = true;
        }
        c.exporting.store(self.fork_safe, Relaxed);
        let outcome = self.send_with_retries(spans);
        c.exporting.store(false, Relaxed);
        match outcome {
            Outcome::Delivered => {
                c.exported.fetch_add(n, Relaxed);
                self.succeeded();
            }
            Outcome::Partial(rejected, reason) => {
                let rejected = rejected.min(n);
                c.exported.fetch_add(n - rejected, Relaxed);
                c.rejected.fetch_add(rejected, Relaxed);
                self.succeeded();
                self.log("rejected part of a batch", &reason);
            }
            Outcome::TooLarge(_) if n > 1 => {
                let (a, b) = spans.halves();
                self.deliver(a);
                self.deliver(b);
            }
            Outcome::TooLarge(reason) => {
                c.dropped_oversize.fetch_add(1, Relaxed);
                self.log("dropped an oversize span", &reason);
            }
            Outcome::Rejected(reason) => {
                c.rejected.fetch_add(n, Relaxed);
                self.failed(&reason);
            }
            Outcome::Failed(reason) => {
                self.spool_or_drop(spans, |c| &c.failed);
                self.failed(&reason);
            }
            Outcome::Interrupted => self.spool_or_drop(spans, |c| &c.dropped_shutdown),
        }
    }

    fn open_spool(&mut self) {
        let Some(dir) = self.spool_dir.take() else {
            return;
        };
        match Spool::open(dir.clone(), self.cfg.spool_max_bytes, self.counters.clone()) {
            Ok(spool) => {
                if spool.has_backlog() {
                    self.replay_at = Some(Instant::now());
                }
                self.spool = Some(spool);
            }
            Err(e) => eprintln!(
                "agtrace: {} exporter cannot open its spool {}: {e}; spans it cannot deliver are dropped",
                self.name,
                dir.display()
            ),
        }
    }

    /// Writes undelivered spans to the spool; what it cannot keep (or all of
    /// them, without a spool) is counted in the `dropped` counter.
    fn spool_or_drop(&mut self, spans: Part<'_>, dropped: fn(&ExporterCounters) -> &AtomicU64) {
        let lost = match self.spool.is_some() {
            true => self.spool_part(spans),
            false => spans.len() as u64,
        };
        dropped(&self.counters).fetch_add(lost, Relaxed);
    }

    /// Spools `spans` as request bodies (split until each fits the
    /// exporter's request limit); returns how many it could not keep.
    fn spool_part(&mut self, spans: Part<'_>) -> u64 {
        let n = spans.len() as u64;
        let body = catch_unwind(AssertUnwindSafe(|| spans.body(&mut *self.exporter)))
            .unwrap_or_else(|_| Err(ExportError::new("the exporter panicked")));
        let kept = match body {
            Ok(body) => self.spool.as_mut().is_some_and(|s| s.write(n, &body)),
            Err(e) if matches!(e.kind, ExportErrorKind::TooLarge) && n > 1 => {
                let (a, b) = spans.halves();
                return self.spool_part(a) + self.spool_part(b);
            }
            Err(e) => {
                self.counters.lost_from_spool.fetch_add(n, Relaxed);
                self.log("could not spool a batch", &e.reason);
                false
            }
        };
        if kept && self.stopping.is_none() {
            // Replayed after the next success, or after a pause if none
            // comes.
            let retry = Instant::now() + REPLAY_RETRY.min(self.cfg.breaker_reset);
            self.replay_at = Some(self.replay_at.map_or(retry, |at| at.min(retry)));
        }
        if kept {
            0
        } else {
            n
        }
    }

    /// One replay pass (see `Spool::replay`); schedules the next.
    fn replay(&mut self) -> Replay {
        let Some(spool) = self.spool.as_mut() else {
            self.replay_at = None;
            return Replay::Done;
        };
        let exporter = &mut self.exporter;
        let stopping = self.stopping;
        self.counters.exporting.store(self.fork_safe, Relaxed);
        let result = spool.replay(
            REPLAY_BATCH,
            || stopping.is_none_or(|deadline| Instant::now() < deadline),
            |body| {
                catch_unwind(AssertUnwindSafe(|| exporter.send_body(body)))
                    .unwrap_or_else(|_| Err(ExportError::new("the exporter panicked")))
            },
        );
        self.counters.exporting.store(false, Relaxed);
        self.replay_at = match &result {
            Replay::Done | Replay::Stopped => None,
            Replay::More => Some(Instant::now()),
            Replay::Failed(reason) => {
                let reason = reason.clone();
                self.log("replay from the spool failed", &reason);
                Some(Instant::now() + REPLAY_RETRY.min(self.cfg.breaker_reset))
            }
        };
        result
    }

    fn send_with_retries(&mut self, spans: Part<'_>) -> Outcome {
        let deadline = Instant::now() + self.cfg.export_deadline;
        let mut retries = 0u32;
        loop {
            let result = catch_unwind(AssertUnwindSafe(|| spans.export(&mut *self.exporter)))
                .unwrap_or_else(|_| Err(ExportError::new("the exporter panicked")));
            let err = match result {
                Ok(()) => return Outcome::Delivered,
                Err(e) => e,
            };
            let retry_after = match err.kind {
                ExportErrorKind::PartialSuccess { rejected } => {
                    return Outcome::Partial(rejected, err.reason)
                }
                ExportErrorKind::TooLarge => return Outcome::TooLarge(err.reason),
                ExportErrorKind::Rejected => return Outcome::Rejected(err.reason),
                ExportErrorKind::Retryable { retry_after } => retry_after,
            };
            // A probe through a half-open breaker gets one attempt.
            if self.breaker.probing || retries >= self.cfg.max_retries {
                return Outcome::Failed(err.reason);
            }
            let delay = retry_after.unwrap_or_else(|| self.backoff(retries));
            if Instant::now() + delay > deadline {
                return Outcome::Failed(format!(
                    "{} (next retry would pass the export deadline)",
                    err.reason
                ));
            }
            if self.past_shutdown_deadline(Instant::now() + delay) {
                return Outcome::Interrupted;
            }
            retries += 1;
            self.counters.retried.fetch_add(1, Relaxed);
            if !self.wait(delay) {
                return Outcome::Interrupted;
            }
        }
    }

    /// Full jitter: uniform in [0, min(max, initial * 2^retries)].
    fn backoff(&self, retries: u32) -> Duration {
        let ceiling = self
            .cfg
            .initial_backoff
            .saturating_mul(1u32.checked_shl(retries).unwrap_or(u32::MAX))
            .min(self.cfg.max_backoff);
        let unit = (crate::model::id::random_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(unit)
    }

    /// Whether a shutdown's deadline passes before `at`.
    fn past_shutdown_deadline(&self, at: Instant) -> bool {
        self.stopping.is_some_and(|deadline| at > deadline)
    }

    /// Sleeps for `delay`; false when a shutdown arrives whose deadline the
    /// wait would pass (the retry could not start in time). Flush requests
    /// arriving meanwhile are kept for later.
    fn wait(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            match self.ctl.recv_deadline(until) {
                Ok(Control::Flush { upto, ack }) => self.pending.push((upto, ack)),
                Ok(Control::Pause(pause)) => pause.hold(),
                Ok(Control::Shutdown {
                    upto,
                    ack,
                    deadline,
                }) => {
                    // Finished by the main loop once this batch is settled.
                    self.stopping = Some(deadline);
                    self.shutdown = Some((upto, ack));
                    if until > deadline {
                        return false;
                    }
                }
                Err(flume::RecvTimeoutError::Timeout) => return true,
                Err(flume::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(until.saturating_duration_since(Instant::now()));
                    return true;
                }
            }
        }
    }

    fn succeeded(&mut self) {
        if self.spool.as_ref().is_some_and(Spool::has_backlog) {
            self.replay_at = Some(Instant::now());
        }
        if self.breaker.opened_at.take().is_some() {
            self.counters.set_breaker(BreakerState::Closed);
            eprintln!(
                "agtrace: {} exporter recovered; delivering again",
                self.name
            );
        }
        self.breaker.probing = false;
        self.breaker.consecutive_failures = 0;
    }

    fn failed(&mut self, reason: &str) {
        let b = &mut self.breaker;
        b.consecutive_failures += 1;
        if b.probing {
            b.probing = false;
            b.opened_at = Some(Instant::now());
            return;
        }
        if b.opened_at.is_none() && b.consecutive_failures >= self.cfg.breaker_threshold {
            b.opened_at = Some(Instant::now());
            self.counters.set_breaker(BreakerState::Open);
            eprintln!(
                "agtrace: {} exporter failed {} times in a row ({reason}); dropping its spans for {:?}, then retrying",
                self.name, b.consecutive_failures, self.cfg.breaker_reset
            );
            return;
        }
        self.log("export failed", reason);
    }

    fn log(&mut self, what: &str, reason: &str) {
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= LOG_INTERVAL)
        {
            self.last_log = Some(now);
            eprintln!("agtrace: {} exporter {what}: {reason}", self.name);
        }
    }

    fn call(&mut self, what: &str, f: impl Fn(&mut dyn Exporter) -> Result<(), ExportError>) {
        match catch_unwind(AssertUnwindSafe(|| f(&mut *self.exporter))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.log(&format!("{what} failed"), &e.reason),
            Err(_) => self.log(&format!("{what} failed"), "the exporter panicked"),
        }
    }
}

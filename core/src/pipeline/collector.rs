//! The collector: the one thread that turns what app threads recorded into
//! finished spans and hands them to the exporters.
//!
//! Each pass reads the thread buffers (see `local`): a partial pass (on a
//! wake, when a chunk filled) reads sealed chunks only, which app threads no
//! longer write, so reading them costs the writers nothing; a full pass, at
//! most every `FULL_EVERY` and on flush, shutdown and the timer, also reads
//! the chunks threads are still filling. Then:
//! - `Child` entries and lost children go to the rollups, `Trace` entries to
//!   the trace table, spans become records;
//! - a full pass decides the spans read before it started: released
//!   (rolled up, finished, batched) or held until their children are in.
//!   Deciding after a later full pass is what makes rollups exact across
//!   threads: a child started before its parent ended wrote its `Child`
//!   entry before the parent's end was written, so a full pass that starts
//!   after the end was read has read it, whichever thread wrote it;
//! - finished spans get derived attributes, trace-level context and
//!   redaction, and are batched by count, bytes and delay.
//!
//! The timer (the batch delay) runs whatever the load: held spans and stale
//! rollup state expire on it, and a partial batch is dispatched on it.

use super::delivery::{Batch, Worker};
use super::entry::Entry;
use super::local::{Local, Sink};
use super::pool::RecordPool;
use super::stats::Counters;
use super::traces::Traces;
use super::{BatchConfig, Control};
use crate::model::record::SpanRecord;
use crate::policy::rollup::Rollups;
use crate::policy::Policies;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most time between two full passes while spans wait for a decision.
const FULL_EVERY: Duration = Duration::from_millis(1);

/// Real memory of one record beside its payload, for the byte budget.
const RECORD_BYTES: usize = std::mem::size_of::<SpanRecord>() + 8;

pub(crate) struct Collector {
    sink: Arc<Sink>,
    ctl: flume::Receiver<Control>,
    workers: Vec<Worker>,
    counters: Arc<Counters>,
    policies: Arc<Policies>,
    pool: Arc<RecordPool>,
    cfg: BatchConfig,
    rollups: Rollups,
    traces: Traces,
    /// The sink's registry as last seen, and its version.
    locals: Vec<Arc<Local>>,
    seen: u64,
    /// Spans read since the last full pass, decided in the next.
    undecided: Vec<Box<SpanRecord>>,
    last_full: Instant,
    /// The last pass stopped at its read limit: buffers hold more.
    more: bool,
    /// Where the next pass starts reading, so every thread gets its turn.
    first: usize,
    /// Spans whose rollups are final, waiting to be finished and batched.
    ready: Vec<Box<SpanRecord>>,
    batch: Vec<Box<SpanRecord>>,
    batch_bytes: usize,
}

impl Collector {
    pub(crate) fn new(
        sink: Arc<Sink>,
        ctl: flume::Receiver<Control>,
        workers: Vec<Worker>,
        counters: Arc<Counters>,
        policies: Arc<Policies>,
        pool: Arc<RecordPool>,
        cfg: BatchConfig,
    ) -> Collector {
        Collector {
            rollups: Rollups::new(cfg.rollup_hold, cfg.queue_capacity),
            traces: Traces::new(cfg.rollup_hold),
            batch: Vec::with_capacity(cfg.batch_size),
            sink,
            ctl,
            workers,
            counters,
            policies,
            pool,
            cfg,
            locals: Vec::new(),
            seen: u64::MAX,
            undecided: Vec::new(),
            last_full: Instant::now(),
            more: false,
            first: 0,
            ready: Vec::new(),
            batch_bytes: 0,
        }
    }

    pub(crate) fn run(mut self) {
        let mut tick = Instant::now() + self.cfg.flush_interval;
        loop {
            // More to read: another pass now; spans awaiting their
            // decision: a full pass when one is due.
            let until = if self.more {
                Instant::now()
            } else if self.undecided.is_empty() {
                tick
            } else {
                tick.min(self.last_full + FULL_EVERY)
            };
            match self.ctl.recv_deadline(until) {
                Ok(Control::Wake) => {
                    self.sink.woken();
                    self.pass(false);
                }
                Ok(Control::Flush(ack)) => {
                    self.settle();
                    for w in &self.workers {
                        w.flush(ack.clone());
                    }
                    let _ = ack.send(());
                }
                Ok(Control::Shutdown(ack, deadline)) => return self.stop(Some(ack), deadline),
                // Parked between two passes, holding nothing the app's
                // threads lock.
                Ok(Control::Pause(pause)) => {
                    for w in &self.workers {
                        w.pause(pause.clone());
                    }
                    pause.hold();
                }
                Err(flume::RecvTimeoutError::Timeout) => {
                    self.sink.reading();
                    self.pass(false);
                }
                // Every handle on the pipeline is gone without a shutdown:
                // deliver what is buffered, then stop.
                Err(flume::RecvTimeoutError::Disconnected) => {
                    return self.stop(None, Instant::now())
                }
            }
            let now = Instant::now();
            if now >= tick {
                self.expire(now);
                self.dispatch();
                tick = now + self.cfg.flush_interval;
            }
        }
    }

    /// Reads the buffers (a full pass when `full` or one is due), and in a
    /// full pass decides the spans read before it and batches what is ready.
    fn pass(&mut self, full: bool) {
        let started = Instant::now();
        let full = full || started >= self.last_full + FULL_EVERY;
        if let Some(locals) = self.sink.locals_since(&mut self.seen) {
            self.locals = locals;
        }
        let deciding = if full {
            std::mem::take(&mut self.undecided)
        } else {
            Vec::new()
        };
        let mut finished = Vec::new();
        // A partial pass reads at most a few batches, so the collector gets
        // back to its work soon. A full pass reads every buffer to its end,
        // so that every `Child` entry written before a span it decides ended
        // has been read (at most the span cap and each thread's open chunk).
        let mut budget = if full {
            usize::MAX
        } else {
            self.cfg.batch_size * 2
        };
        let n = self.locals.len();
        self.first = if n == 0 { 0 } else { (self.first + 1) % n };
        let order = (0..n).map(|i| (self.first + i) % n);
        for local in order.map(|i| &self.locals[i]) {
            for parent in local.take_lost_children() {
                self.rollups.lost(parent);
            }
            let Collector {
                rollups,
                traces,
                undecided,
                pool,
                sink,
                ..
            } = self;
            let mut read = |e: Entry| match e {
                Entry::Span(head, attributes) => {
                    let mut rec = pool.take();
                    rec.fill(head, attributes, &sink.clock);
                    undecided.push(rec);
                }
                Entry::Child(parent) => rollups.child(parent),
                Entry::Trace(trace_id, meta) => traces.merge(trace_id, *meta),
            };
            // SAFETY: only this thread drains.
            unsafe { local.drain(full, &mut budget, &mut read) };
            if local.is_finished() {
                finished.push(local.clone());
            }
        }
        self.more = budget == 0;
        if full {
            self.last_full = started;
            self.sink.clock.calibrate();
        }
        self.sink.refill();
        if !finished.is_empty() {
            self.sink.retire(&finished);
            self.locals
                .retain(|l| !finished.iter().any(|f| Arc::ptr_eq(f, l)));
        }
        if !deciding.is_empty() {
            let prices = self.policies.prices();
            let ready = &mut self.ready;
            for rec in deciding {
                self.rollups.decide(rec, &prices, &mut |r| ready.push(r));
            }
            self.finish_ready(started);
        }
        // What this thread holds counts against the span cap, so producers
        // stop at the cap while spans wait here for a decision.
        self.sink
            .set_holding(self.undecided.len() + self.batch.len() + self.rollups.held());
    }

    /// Makes everything ended before the call final: passes until the
    /// buffers are read (bounded by what the span cap and one chunk per
    /// thread can hold, so producers cannot keep it here), one more pass to
    /// decide what the last one read, then held spans are released.
    fn settle(&mut self) {
        let most = 2 + self.cfg.queue_capacity / (self.cfg.batch_size * 2) + self.locals.len();
        for _ in 0..most {
            self.pass(true);
            if !self.more {
                break;
            }
        }
        self.pass(true);
        let prices = self.policies.prices();
        let ready = &mut self.ready;
        for rec in std::mem::take(&mut self.undecided) {
            self.rollups.decide(rec, &prices, &mut |r| ready.push(r));
        }
        self.rollups.release_all(&prices, &mut |r| ready.push(r));
        self.finish_ready(Instant::now());
        self.dispatch();
    }

    /// Settles what is buffered and shuts every worker down; they retry
    /// until `deadline` (see `delivery`).
    fn stop(&mut self, ack: Option<flume::Sender<()>>, deadline: Instant) {
        self.settle();
        let ack = ack.unwrap_or_else(|| flume::bounded(self.workers.len() + 1).0);
        for w in &self.workers {
            w.shutdown(ack.clone(), deadline);
        }
        let _ = ack.send(());
        for w in &mut self.workers {
            w.join_if_finished();
        }
    }

    fn expire(&mut self, now: Instant) {
        let prices = self.policies.prices();
        let ready = &mut self.ready;
        self.rollups.expire(now, &prices, &mut |r| ready.push(r));
        self.traces.expire(now);
        self.finish_ready(now);
    }

    /// Adds derived attributes and trace-level context, redacts, and batches
    /// the spans in `ready`; counts the work done since `started`.
    fn finish_ready(&mut self, started: Instant) {
        if self.ready.is_empty() {
            return;
        }
        let finish = self.policies.finisher();
        let n = self.ready.len() as u64;
        let now = Instant::now();
        for mut rec in std::mem::take(&mut self.ready) {
            let trace_id = rec.trace_id;
            finish.apply(&mut rec, self.traces.get(&trace_id, now));
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

    /// Offers the current batch to every exporter, if the byte budget has
    /// room for it; otherwise drops it, counted.
    fn dispatch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mut records =
            std::mem::replace(&mut self.batch, Vec::with_capacity(self.cfg.batch_size));
        let n = records.len() as u64;
        let reserved = self.batch_bytes + records.len() * RECORD_BYTES;
        self.batch_bytes = 0;
        let c = &self.counters;
        if !self.sink.budget.try_reserve(reserved) {
            self.pool.give_back(&mut records);
            c.dropped_queue_bytes.fetch_add(n, Release);
            return;
        }
        self.sink.queued(records.len(), true);
        let batch = Arc::new(Batch {
            records,
            pool: self.pool.clone(),
            reserved,
            sink: self.sink.clone(),
        });
        for w in &mut self.workers {
            w.offer(&batch);
        }
        c.dispatched.fetch_add(n, Release);
    }
}

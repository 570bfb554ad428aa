//! Per-thread span buffers: how an ended span reaches the collector without
//! a lock, a shared atomic or an allocation on the caller's thread.
//!
//! Each thread that records spans for a pipeline owns a [`Local`]: a chain of
//! fixed-size chunks it appends entries to (single producer), which the
//! collector thread reads (single consumer). Contract:
//! - Appending is the owner thread's alone: it writes the entry, then
//!   publishes it with one release store of the chunk's `committed` length
//!   (a plain store to a line only this thread writes; no read-modify-write).
//!   A new chunk is taken once per chunk (from the sink's spare list, under a
//!   lock taken once per ~100 spans), never per span.
//! - The collector may read every committed entry at any moment (its timer,
//!   a flush, a shutdown), including a chunk the owner is still filling, so a
//!   thread that goes idle delays nothing past the batch delay. Each entry is
//!   read exactly once and owns what it points to: its bytes are the moved
//!   span (strings and vectors move by pointer, nothing is copied).
//! - Memory is bounded by one byte budget (see [`Budget`]): a chunk is
//!   counted when taken, with the heap its entries own when it is sealed, and
//!   released when the collector is done with it. When the budget is spent
//!   the span is dropped and counted; the owner never waits.
//! - A thread that exits loses nothing: its chunks stay readable until the
//!   collector has drained them. A span that ends on another thread than it
//!   started appends to that thread's buffer.

use super::entry::{self, Entry};
use super::Control;
use crate::model::id::SpanId;
use crate::util::clock::Clock;
use crate::util::padded::Padded;
use std::alloc::{self, Layout};
use std::cell::{Cell, RefCell, UnsafeCell};
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};

/// Bytes per chunk: about a hundred typical spans.
pub(crate) const CHUNK_BYTES: usize = 16 * 1024;
/// Spare chunks kept for reuse by all threads, and how many the collector
/// keeps ready (allocating on its own thread, so app threads allocate only
/// when it falls behind).
const SPARE_CHUNKS: usize = 128;
const SPARE_READY: usize = 64;
/// Children lost without an entry (see `Local::lose_child`) remembered per
/// thread until the collector reads them.
const LOST_CHILDREN: usize = 1024;

/// The one byte budget of a pipeline: thread buffers, the collector's held
/// spans and every exporter's queue draw from it. Reservations are made per
/// chunk or per batch, never per span.
#[derive(Debug)]
pub(crate) struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    pub(crate) fn new(max: usize) -> Self {
        Budget {
            used: AtomicUsize::new(0),
            max,
        }
    }

    /// Reserves `n` bytes if they fit.
    pub(crate) fn try_reserve(&self, n: usize) -> bool {
        let mut used = self.used.load(Relaxed);
        loop {
            if used + n > self.max {
                return false;
            }
            match self
                .used
                .compare_exchange_weak(used, used + n, AcqRel, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => used = now,
            }
        }
    }

    /// Counts `n` bytes already in memory (heap owned by sealed entries),
    /// even past the maximum: later reservations then fail.
    pub(crate) fn add(&self, n: usize) {
        self.used.fetch_add(n, Relaxed);
    }

    pub(crate) fn release(&self, n: usize) {
        self.used.fetch_sub(n, Relaxed);
    }
}

/// A fixed-size run of entries. `data` is 8-byte aligned; entries are padded
/// to 8 bytes.
struct Chunk {
    data: NonNull<u8>,
    cap: usize,
    /// Bytes of entries the consumer may read. Written by the producer only.
    committed: AtomicUsize,
    /// The next chunk, set once by the producer after its last commit here.
    next: AtomicPtr<Chunk>,
    /// Heap bytes owned by entries here, and the spans among them; written
    /// by the producer before it links `next`, read by the consumer after it
    /// sees `next`.
    heap: UnsafeCell<usize>,
    spans: UnsafeCell<usize>,
}

impl Chunk {
    fn layout(cap: usize) -> Layout {
        Layout::from_size_align(cap, 8).expect("chunk layout")
    }

    fn new(cap: usize) -> Box<Chunk> {
        // SAFETY: `cap` is non-zero (at least one entry header).
        let data = unsafe { alloc::alloc(Chunk::layout(cap)) };
        let data =
            NonNull::new(data).unwrap_or_else(|| alloc::handle_alloc_error(Chunk::layout(cap)));
        Box::new(Chunk {
            data,
            cap,
            committed: AtomicUsize::new(0),
            next: AtomicPtr::new(ptr::null_mut()),
            heap: UnsafeCell::new(0),
            spans: UnsafeCell::new(0),
        })
    }

    fn reset(&mut self) {
        *self.committed.get_mut() = 0;
        *self.next.get_mut() = ptr::null_mut();
        *self.heap.get_mut() = 0;
        *self.spans.get_mut() = 0;
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { alloc::dealloc(self.data.as_ptr(), Chunk::layout(self.cap)) }
    }
}

// SAFETY: a chunk's bytes are written by one producer and read by one
// consumer, ordered by `committed` and `next` (see the module docs).
unsafe impl Send for Chunk {}

/// The owner thread's end of a [`Local`].
struct Producer {
    tail: *mut Chunk,
    pos: usize,
    /// Heap owned by the tail's entries (released with the chunk).
    heap: usize,
    /// The part of `heap` not yet counted in the budget (small payloads are
    /// counted when the chunk is sealed, large ones when appended).
    heap_uncounted: usize,
    /// Span entries in the tail.
    spans: usize,
}

/// Why an entry was not appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The byte budget is spent.
    Bytes,
    /// The pipeline holds its maximum number of spans.
    Full,
}

/// Heap payloads from this size up are counted in the budget when they are
/// appended (one atomic operation, small beside the payload), so a few large
/// spans cannot pass the budget inside one chunk.
const COUNT_NOW: usize = 1024;

/// The collector's end of a [`Local`].
struct Consumer {
    head: *mut Chunk,
    pos: usize,
}

/// What an app thread counts, written only by that thread (a load and a
/// store, no read-modify-write) and summed by `stats`.
#[derive(Default, Debug)]
pub(crate) struct LocalCounts {
    pub(crate) started: AtomicU64,
    pub(crate) unsampled: AtomicU64,
    /// Recording spans ended here (appended or dropped).
    pub(crate) ended: AtomicU64,
    pub(crate) dropped_bytes: AtomicU64,
    pub(crate) dropped_full: AtomicU64,
    pub(crate) dropped_shutdown: AtomicU64,
}

/// Adds one to a counter only its owner thread writes.
#[inline]
pub(crate) fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed) + 1, Relaxed);
}

/// One thread's buffer for one pipeline. The producer's and the
/// consumer's state sit on cache lines of their own.
pub(crate) struct Local {
    pub(crate) sink: Arc<Sink>,
    producer: Padded<UnsafeCell<Producer>>,
    consumer: Padded<UnsafeCell<Consumer>>,
    pub(crate) counts: Padded<LocalCounts>,
    /// Parents of children dropped without an entry, for the rollups.
    lost_children: Mutex<Vec<SpanId>>,
    /// False once the owner thread has exited.
    owner_alive: AtomicBool,
}

// SAFETY: `producer` is touched only by the owner thread (the thread whose
// thread-local list holds this `Local`, checked by `with_local`), `consumer`
// only by the collector thread; the rest is atomic or locked.
unsafe impl Send for Local {}
unsafe impl Sync for Local {}

impl Local {
    fn new(sink: Arc<Sink>) -> Option<Local> {
        let first = sink.take_chunk(CHUNK_BYTES)?;
        let first = Box::into_raw(first);
        Some(Local {
            sink,
            producer: Padded(UnsafeCell::new(Producer {
                tail: first,
                pos: 0,
                heap: 0,
                heap_uncounted: 0,
                spans: 0,
            })),
            consumer: Padded(UnsafeCell::new(Consumer {
                head: first,
                pos: 0,
            })),
            counts: Padded(LocalCounts::default()),
            lost_children: Mutex::new(Vec::new()),
            owner_alive: AtomicBool::new(true),
        })
    }

    /// Appends one entry of `size` bytes (a multiple of 8) written by
    /// `write`, owning `heap` bytes elsewhere (`span`: the entry is a span,
    /// counted against the span cap). Owner thread only. Refused, without
    /// calling `write`, when the budget or the span cap has no room.
    ///
    /// # Safety
    /// Must be called from the owner thread; `write` must initialise exactly
    /// `size` bytes at the pointer it gets, in `entry`'s format.
    #[inline]
    pub(crate) unsafe fn append(
        &self,
        size: usize,
        heap: usize,
        span: bool,
        write: impl FnOnce(*mut u8),
    ) -> Result<(), Refused> {
        // SAFETY: owner thread only (the caller's contract).
        let p = unsafe { &mut *self.producer.get() };
        // SAFETY: `tail` is live: the consumer frees a chunk only after the
        // producer linked a successor.
        let mut tail = unsafe { &*p.tail };
        if p.pos + size > tail.cap {
            self.seal_and_grow(p, size)?;
            // SAFETY: just installed by `seal_and_grow`.
            tail = unsafe { &*p.tail };
        }
        if heap >= COUNT_NOW {
            if !self.sink.budget.try_reserve(heap) {
                return Err(Refused::Bytes);
            }
        } else {
            p.heap_uncounted += heap;
        }
        // SAFETY: in bounds (checked above); not yet visible to the consumer.
        write(unsafe { tail.data.as_ptr().add(p.pos) });
        p.pos += size;
        p.heap += heap;
        p.spans += usize::from(span);
        tail.committed.store(p.pos, Release);
        Ok(())
    }

    /// Links a new chunk big enough for `size` after the tail, and tells the
    /// collector a full chunk is waiting. Refused while the pipeline holds
    /// its maximum of spans (the tail stays as it is) or the budget is spent.
    #[cold]
    fn seal_and_grow(&self, p: &mut Producer, size: usize) -> Result<(), Refused> {
        let sink = &*self.sink;
        let f = &sink.flow;
        let inside = f.buffered.load(Relaxed) + f.holding.load(Relaxed) + f.queued.load(Relaxed);
        if inside + p.spans > sink.capacity {
            return Err(Refused::Full);
        }
        let next = sink
            .take_chunk(size.max(CHUNK_BYTES))
            .ok_or(Refused::Bytes)?;
        let next = Box::into_raw(next);
        sink.flow.buffered.fetch_add(p.spans, Relaxed);
        // SAFETY: the tail is live (see `append`) and `heap` and `spans` are
        // the producer's until `next` is published below.
        unsafe {
            *(*p.tail).heap.get() = p.heap;
            *(*p.tail).spans.get() = p.spans;
            sink.budget.add(p.heap_uncounted);
            (*p.tail).next.store(next, Release);
        }
        p.tail = next;
        p.pos = 0;
        p.heap = 0;
        p.heap_uncounted = 0;
        p.spans = 0;
        sink.wake();
        Ok(())
    }

    /// Another strong reference to this buffer.
    pub(crate) fn share(&self) -> Arc<Local> {
        // SAFETY: every `Local` is made inside an `Arc` (`Sink::register`,
        // the only caller of `Local::new`) and never moved out of it, so
        // `self` points into a live `Arc` allocation.
        unsafe {
            Arc::increment_strong_count(self);
            Arc::from_raw(self)
        }
    }

    /// Remembers that a child of `parent` was dropped without reaching the
    /// collector, so its parent's totals are marked incomplete. Never waits:
    /// when the list is busy or full the mark is lost (the parent is then
    /// released by the rollups' time limit instead).
    pub(crate) fn lose_child(&self, parent: SpanId) {
        if let Ok(mut l) = self.lost_children.try_lock() {
            if l.len() < LOST_CHILDREN {
                l.push(parent);
            }
        }
    }

    /// Reads committed entries, oldest first, until `spans` span entries
    /// were read (counted down) or none is left; the chunk the owner is
    /// filling only with `tail` (reading it makes the owner's next writes
    /// miss the cache, so the collector mostly reads sealed chunks).
    /// Collector thread only.
    ///
    /// # Safety
    /// Must be called from one thread at a time (the collector).
    pub(crate) unsafe fn drain(&self, tail: bool, spans: &mut usize, out: &mut impl FnMut(Entry)) {
        // SAFETY: the collector's alone (the caller's contract).
        let c = unsafe { &mut *self.consumer.get() };
        loop {
            // SAFETY: `head` is live until this function frees it below.
            let head = unsafe { &*c.head };
            // `next` first: when it is set, `committed` read after it is
            // final.
            let next = head.next.load(Acquire);
            if next.is_null() && !tail {
                return;
            }
            let committed = head.committed.load(Acquire);
            while c.pos < committed {
                if *spans == 0 {
                    return;
                }
                // SAFETY: committed entries are initialised, and each is
                // read once (`pos` moves past it).
                let (e, size) = unsafe { entry::read(head.data.as_ptr().add(c.pos)) };
                c.pos += size;
                if matches!(e, Entry::Span(..)) {
                    *spans -= 1;
                }
                out(e);
            }
            if next.is_null() {
                return;
            }
            // SAFETY: the producer no longer touches it (it linked `next`),
            // and every entry in it was read.
            let done = unsafe { Box::from_raw(c.head) };
            c.head = next;
            c.pos = 0;
            self.sink.give_back(done);
        }
    }

    /// Parents of children lost since the last call.
    pub(crate) fn take_lost_children(&self) -> Vec<SpanId> {
        let mut l = self.lost_children.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *l)
    }

    /// True when the owner thread has exited and nothing is left to read.
    pub(crate) fn is_finished(&self) -> bool {
        if self.owner_alive.load(Acquire) {
            return false;
        }
        // SAFETY: collector thread only (callers are the collector).
        let c = unsafe { &*self.consumer.get() };
        // SAFETY: `head` is live while `self` is.
        let head = unsafe { &*c.head };
        head.next.load(Acquire).is_null() && head.committed.load(Acquire) == c.pos
    }
}

impl Drop for Local {
    /// Drops entries nobody read (a pipeline torn down with spans in flight)
    /// and frees the chunks.
    fn drop(&mut self) {
        let p = self.producer.get_mut();
        // The tail's heap is recorded in the producer; the counted part of it
        // goes back to the budget with the chunk below.
        // SAFETY: `&mut self`: the tail is live and no one else touches it.
        unsafe { *(*p.tail).heap.get() = p.heap - p.heap_uncounted };
        let c = self.consumer.get_mut();
        let mut chunk = c.head;
        let mut pos = c.pos;
        while !chunk.is_null() {
            // SAFETY: `&mut self`: no producer or consumer is left.
            let mut boxed = unsafe { Box::from_raw(chunk) };
            let end = *boxed.committed.get_mut();
            while pos < end {
                // SAFETY: committed and unread entries, each read once.
                let (e, size) = unsafe { entry::read(boxed.data.as_ptr().add(pos)) };
                drop(e);
                pos += size;
            }
            chunk = *boxed.next.get_mut();
            pos = 0;
            self.sink.budget.release(boxed.cap + *boxed.heap.get_mut());
            self.sink
                .flow
                .buffered
                .fetch_sub(*boxed.spans.get_mut(), Relaxed);
        }
    }
}

/// A pipeline's intake: the registry of thread buffers, the byte budget,
/// and what spans need from their tracer after start (clock, settings).
/// Shared by app threads (through their `Local`s and live spans) and the
/// collector. Holding it never keeps the pipeline's threads alive.
///
/// Layout: what every span reads (the flags, the clock, the settings) is
/// kept apart from what the collector and chunk hand-overs write (`Padded`),
/// so app threads do not miss the cache on every span.
pub(crate) struct Sink {
    registry: Mutex<Vec<Arc<Local>>>,
    /// Bumped on every registration, so the collector refreshes its copy.
    version: AtomicU64,
    pub(crate) budget: Padded<Budget>,
    flow: Padded<Flow>,
    capacity: usize,
    spare: Padded<Mutex<Vec<Box<Chunk>>>>,
    /// No more spans are accepted (shutdown, or a forked child's inherited
    /// pipeline).
    closed: AtomicBool,
    /// Set in a forked child: spans of this pipeline are dropped uncounted.
    forsaken: AtomicBool,
    wake: flume::Sender<Control>,
    pub(crate) clock: Clock,
    pub(crate) capture_content: bool,
    /// The tracer's policies, for the record-time value cap.
    pub(crate) policies: Arc<crate::policy::Policies>,
    /// Counts of threads that exited (folded in by the collector).
    retired: Mutex<ThreadCounts>,
    /// Spans recorded without a thread buffer (none could be made: the
    /// budget was spent, or the thread was exiting), at start and at end.
    unbuffered_start: AtomicU64,
    unbuffered_end: AtomicU64,
    /// Spans ended after the tracer shut down.
    after_close: AtomicU64,
}

/// The span cap's counts, written per chunk and per pass: spans in sealed
/// chunks not yet read, the spans the collector holds (published after each
/// pass; raised before a chunk's spans leave `buffered`, so the sum never
/// reads low), and the spans in batches some exporter still holds. The cap
/// bounds the three together (each thread's open chunk is counted when it
/// is sealed).
#[derive(Default)]
struct Flow {
    buffered: AtomicUsize,
    holding: AtomicUsize,
    queued: AtomicUsize,
    wake_pending: AtomicBool,
    /// Chunks sealed since the collector last woke.
    sealed: AtomicUsize,
}

/// The collector is woken once this many chunks wait (or by its timer):
/// waking it per chunk cost the app thread a futex wake (a few
/// microseconds on a VM) every few dozen spans.
const WAKE_EVERY_CHUNKS: usize = 4;

/// Totals of [`LocalCounts`] over threads.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct ThreadCounts {
    pub(crate) started: u64,
    pub(crate) unsampled: u64,
    pub(crate) ended: u64,
    pub(crate) dropped_bytes: u64,
    pub(crate) dropped_full: u64,
    pub(crate) dropped_shutdown: u64,
}

impl ThreadCounts {
    pub(crate) fn dropped_total(&self) -> u64 {
        self.dropped_bytes + self.dropped_full + self.dropped_shutdown
    }

    pub(crate) fn add(&mut self, c: &LocalCounts) {
        self.started += c.started.load(Relaxed);
        self.unsampled += c.unsampled.load(Relaxed);
        self.ended += c.ended.load(Relaxed);
        self.dropped_bytes += c.dropped_bytes.load(Relaxed);
        self.dropped_full += c.dropped_full.load(Relaxed);
        self.dropped_shutdown += c.dropped_shutdown.load(Relaxed);
    }
}

impl Sink {
    pub(crate) fn new(
        max_bytes: usize,
        capacity: usize,
        clock: Clock,
        capture_content: bool,
        policies: Arc<crate::policy::Policies>,
        wake: flume::Sender<Control>,
    ) -> Sink {
        Sink {
            registry: Mutex::new(Vec::new()),
            version: AtomicU64::new(0),
            budget: Padded(Budget::new(max_bytes)),
            flow: Padded(Flow::default()),
            capacity,
            spare: Padded(Mutex::new(Vec::new())),
            closed: AtomicBool::new(false),
            forsaken: AtomicBool::new(false),
            wake,
            clock,
            capture_content,
            policies,
            retired: Mutex::new(ThreadCounts::default()),
            unbuffered_start: AtomicU64::new(0),
            unbuffered_end: AtomicU64::new(0),
            after_close: AtomicU64::new(0),
        }
    }

    fn take_chunk(&self, size: usize) -> Option<Box<Chunk>> {
        let cap = size.next_multiple_of(8);
        if !self.budget.try_reserve(cap) {
            return None;
        }
        if cap == CHUNK_BYTES {
            let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
            if let Some(c) = spare {
                return Some(c);
            }
        }
        Some(Chunk::new(cap))
    }

    fn give_back(&self, mut chunk: Box<Chunk>) {
        self.budget.release(chunk.cap + *chunk.heap.get_mut());
        let spans = *chunk.spans.get_mut();
        self.flow.holding.fetch_add(spans, Relaxed);
        self.flow.buffered.fetch_sub(spans, Relaxed);
        if chunk.cap != CHUNK_BYTES {
            return;
        }
        chunk.reset();
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        if spare.len() < SPARE_CHUNKS {
            spare.push(chunk);
        }
    }

    /// Spans in batches some exporter holds: counted when a batch is
    /// dispatched (`add`), uncounted when the last exporter is done with it.
    pub(crate) fn queued(&self, spans: usize, add: bool) {
        if add {
            self.flow.queued.fetch_add(spans, Relaxed);
        } else {
            self.flow.queued.fetch_sub(spans, Relaxed);
        }
    }

    /// Publishes how many spans the collector holds (collector only).
    pub(crate) fn set_holding(&self, spans: usize) {
        self.flow.holding.store(spans, Relaxed);
    }

    /// Tops the spare chunks up to `SPARE_READY` (collector only).
    pub(crate) fn refill(&self) {
        let have = self.spare.lock().unwrap_or_else(|e| e.into_inner()).len();
        if have >= SPARE_READY * 3 / 4 {
            return;
        }
        let fresh: Vec<Box<Chunk>> = (have..SPARE_READY)
            .map(|_| Chunk::new(CHUNK_BYTES))
            .collect();
        self.spare
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(fresh);
    }

    /// Tells the collector full chunks wait, once [`WAKE_EVERY_CHUNKS`] of
    /// them do (at most one message pending).
    fn wake(&self) {
        let f = &self.flow;
        if f.sealed.fetch_add(1, Relaxed) + 1 < WAKE_EVERY_CHUNKS {
            return;
        }
        if !f.wake_pending.load(Relaxed) && !f.wake_pending.swap(true, AcqRel) {
            let _ = self.wake.send(Control::Wake);
        }
    }

    /// Called by the collector when it starts reading after a wake.
    pub(crate) fn woken(&self) {
        self.reading();
        self.flow.wake_pending.store(false, Release);
    }

    /// Called by the collector when it starts reading on its own (timer).
    pub(crate) fn reading(&self) {
        self.flow.sealed.store(0, Relaxed);
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Acquire)
    }

    /// Marks an inherited pipeline in a forked child: its spans belong to
    /// the parent process and are dropped silently. Takes no lock.
    pub(crate) fn forsake(&self) {
        self.forsaken.store(true, Release);
        self.closed.store(true, Release);
    }

    pub(crate) fn is_forsaken(&self) -> bool {
        self.forsaken.load(Relaxed)
    }

    /// The registered buffers if they changed since `seen` (collector only).
    pub(crate) fn locals_since(&self, seen: &mut u64) -> Option<Vec<Arc<Local>>> {
        let v = self.version.load(Acquire);
        if v == *seen {
            return None;
        }
        let r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        *seen = self.version.load(Acquire);
        Some(r.clone())
    }

    /// Removes finished buffers (exited threads, drained), folding their
    /// counts into `retired`, under one lock so `stats` never sees a thread
    /// counted twice or not at all.
    pub(crate) fn retire(&self, finished: &[Arc<Local>]) {
        let mut r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let mut retired = self.retired.lock().unwrap_or_else(|e| e.into_inner());
        r.retain(|l| {
            let gone = finished.iter().any(|f| Arc::ptr_eq(f, l));
            if gone {
                retired.add(&l.counts);
            }
            !gone
        });
        self.version.fetch_add(1, Release);
    }

    /// Every thread's counts, exited threads included.
    pub(crate) fn counts(&self) -> ThreadCounts {
        let r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let mut total = *self.retired.lock().unwrap_or_else(|e| e.into_inner());
        for l in r.iter() {
            total.add(&l.counts);
        }
        drop(r);
        // A span with no buffer started (and ends) unrecorded, counted as
        // ended and dropped; one that lost its buffer at end was counted at
        // start.
        let at_start = self.unbuffered_start.load(Relaxed);
        let at_end = self.unbuffered_end.load(Relaxed);
        let after_close = self.after_close.load(Relaxed);
        total.started += at_start;
        total.ended += at_start + at_end + after_close;
        total.dropped_bytes += at_start + at_end;
        total.dropped_shutdown += after_close;
        total
    }

    /// Counts a span that found no thread buffer (`at_start`: it does not
    /// record; otherwise it ended without one). Rare, so a shared counter.
    pub(crate) fn count_unbuffered(&self, at_start: bool) {
        let c = if at_start {
            &self.unbuffered_start
        } else {
            &self.unbuffered_end
        };
        c.fetch_add(1, Relaxed);
    }

    /// Counts a span ended after shutdown (dropped).
    pub(crate) fn count_after_close(&self) {
        self.after_close.fetch_add(1, Relaxed);
    }

    /// Forgets every thread buffer (the pipeline is gone): breaks the cycle
    /// sink -> buffer -> sink.
    pub(crate) fn clear_registry(&self) {
        self.registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn register(self: &Arc<Sink>) -> Option<Arc<Local>> {
        let local = Arc::new(Local::new(self.clone())?);
        self.registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(local.clone());
        self.version.fetch_add(1, Release);
        Some(local)
    }
}

/// The calling thread's buffers, one per pipeline it recorded spans for.
struct Locals(Vec<Arc<Local>>);

impl Drop for Locals {
    fn drop(&mut self) {
        forget_last();
        for l in &self.0 {
            l.owner_alive.store(false, Release);
        }
    }
}

thread_local! {
    static LOCALS: RefCell<Locals> = const { RefCell::new(Locals(Vec::new())) };
    /// The buffer used last on this thread and its sink, so the spans of one
    /// tracer skip the list. It names a buffer `LOCALS` holds, and is cleared
    /// before any buffer leaves `LOCALS`.
    static LAST: Cell<(*const Sink, *const Local)> =
        const { Cell::new((ptr::null(), ptr::null())) };
}

fn forget_last() {
    let _ = LAST.try_with(|c| c.set((ptr::null(), ptr::null())));
}

/// Runs `f` with the calling thread's buffer for `sink`, registering one on
/// first use. `None` when there is none and none can be made (the budget is
/// spent, or the thread is exiting and its thread-locals are gone).
#[inline]
pub(crate) fn with_local<R>(sink: &Arc<Sink>, f: impl FnOnce(&Local) -> R) -> Option<R> {
    let want = Arc::as_ptr(sink);
    if let Ok((s, l)) = LAST.try_with(Cell::get) {
        if s == want {
            // SAFETY: `LAST` names a buffer that `LOCALS` keeps alive (see
            // `LAST`).
            return Some(f(unsafe { &*l }));
        }
    }
    let held = LOCALS
        .try_with(|cell| {
            let mut locals = cell.try_borrow_mut().ok()?;
            let found = locals.0.iter().position(|l| Arc::ptr_eq(&l.sink, sink));
            let local = match found {
                Some(i) => &locals.0[i],
                None => {
                    // Forget buffers of pipelines that are gone (shut down,
                    // or replaced in a forked child).
                    forget_last();
                    locals.0.retain(|l| !l.sink.is_closed());
                    let l = sink.register()?;
                    locals.0.push(l);
                    locals.0.last()?
                }
            };
            let _ = LAST.try_with(|c| c.set((want, Arc::as_ptr(local))));
            Some(local.clone())
        })
        .ok()
        .flatten();
    match held {
        Some(local) => Some(f(&local)),
        None => {
            // The thread's buffers are gone (its thread-local destructors
            // ran: an exit handler on the main thread, a destructor that ends
            // a span) or in use: a buffer for this call only, drained like
            // an exited thread's.
            let local = sink.register()?;
            let r = f(&local);
            local.owner_alive.store(false, Release);
            Some(r)
        }
    }
}

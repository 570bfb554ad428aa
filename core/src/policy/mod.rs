//! Settings users change on a live tracer (sampling, redaction, global tags
//! and metadata, prices, links), shared by the app threads and the batching
//! thread.
//!
//! Readers take a snapshot (an `Arc`) per span start or per batch; writers
//! swap it. The common "sample everything" case is one atomic load on the
//! hot path, no lock.

pub(crate) mod cap;
pub(crate) mod media;
pub(crate) mod price;
pub(crate) mod redact;
pub(crate) mod rollup;
pub(crate) mod sample;

use crate::model::id::{SpanContext, TraceId};
use crate::model::kind::SpanKind;
use crate::model::record::SpanRecord;
use crate::model::trace::TraceMeta;
use crate::policy::price::PriceTable;
use crate::policy::redact::Redactor;
use crate::policy::sample::Sampler;
use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed},
};
use std::sync::{Arc, Mutex, RwLock};

/// Tags and metadata added to every span of every trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GlobalContext {
    pub tags: Vec<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

pub(crate) struct Policies {
    /// The sampler in effect, read on every span start without a lock or a
    /// reference count: replaced samplers are kept (in `retired`) until the
    /// policies are dropped, so a pointer read here stays valid. Replacing
    /// the sampler is rare (a live settings change), so that memory is small.
    sampler: AtomicPtr<Sampler>,
    retired: Mutex<Vec<Box<Sampler>>>,
    /// The sampler keeps every span a parent does not veto.
    sample_all: AtomicBool,
    redactor: RwLock<Arc<Redactor>>,
    prices: RwLock<Arc<PriceTable>>,
    global: RwLock<Arc<GlobalContext>>,
    links: AtomicBool,
    conversation_attribute: String,
    /// The record-time cap on strings: the redactor's `max_attribute_bytes`
    /// plus [`cap::RECORD_MARGIN`].
    value_cap: AtomicUsize,
}

fn record_cap(redactor: &Redactor) -> usize {
    redactor.config().max_attribute_bytes + cap::RECORD_MARGIN
}

fn read<T>(lock: &RwLock<Arc<T>>) -> Arc<T> {
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn write<T>(lock: &RwLock<Arc<T>>, value: T) {
    *lock.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(value);
}

impl Policies {
    pub(crate) fn new(
        sampler: Sampler,
        redactor: Redactor,
        prices: PriceTable,
        global: GlobalContext,
        links: bool,
        conversation_attribute: String,
    ) -> Self {
        Policies {
            value_cap: AtomicUsize::new(record_cap(&redactor)),
            sample_all: AtomicBool::new(keeps_all(&sampler)),
            sampler: AtomicPtr::new(Box::into_raw(Box::new(sampler))),
            retired: Mutex::new(Vec::new()),
            redactor: RwLock::new(Arc::new(redactor)),
            prices: RwLock::new(Arc::new(prices)),
            global: RwLock::new(Arc::new(global)),
            links: AtomicBool::new(links),
            conversation_attribute,
        }
    }

    /// The head-sampling decision for a new span (hot path).
    pub(crate) fn should_sample(
        &self,
        parent: Option<&SpanContext>,
        trace_id: TraceId,
        name: &str,
        kind: SpanKind,
    ) -> bool {
        if self.sample_all.load(Relaxed) {
            return parent.is_none_or(SpanContext::is_sampled);
        }
        self.sampler().should_sample(parent, trace_id, name, kind)
    }

    pub(crate) fn sampler(&self) -> &Sampler {
        // SAFETY: from `Box::into_raw`, freed only by `drop` (`&mut self`);
        // replaced samplers are kept in `retired` until then.
        unsafe { &*self.sampler.load(Acquire) }
    }

    pub(crate) fn set_sampler(&self, sampler: Sampler) {
        let all = keeps_all(&sampler);
        let mut retired = self.retired.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.sampler.swap(Box::into_raw(Box::new(sampler)), AcqRel);
        // SAFETY: from `Box::into_raw`, and no longer installed.
        retired.push(unsafe { Box::from_raw(old) });
        self.sample_all.store(all, Relaxed);
    }

    pub(crate) fn redactor(&self) -> Arc<Redactor> {
        read(&self.redactor)
    }

    pub(crate) fn set_redactor(&self, redactor: Redactor) {
        self.value_cap.store(record_cap(&redactor), Relaxed);
        write(&self.redactor, redactor);
    }

    /// Bytes a recorded string may keep (see [`cap`]).
    pub(crate) fn value_cap(&self) -> usize {
        self.value_cap.load(Relaxed)
    }

    pub(crate) fn prices(&self) -> Arc<PriceTable> {
        read(&self.prices)
    }

    pub(crate) fn global(&self) -> Arc<GlobalContext> {
        read(&self.global)
    }

    pub(crate) fn update_global(&self, f: impl FnOnce(&mut GlobalContext)) {
        let mut lock = self.global.write().unwrap_or_else(|e| e.into_inner());
        let mut g = GlobalContext::clone(&lock);
        f(&mut g);
        *lock = Arc::new(g);
    }

    pub(crate) fn set_links(&self, on: bool) {
        self.links.store(on, Relaxed);
    }

    pub(crate) fn links(&self) -> bool {
        self.links.load(Relaxed)
    }

    /// What the collector applies to each finished span, fixed for one
    /// batch.
    pub(crate) fn finisher(&self) -> Finisher {
        Finisher {
            redactor: self.redactor(),
            global: self.global(),
            links: self.links.load(Relaxed),
            conversation_attribute: self.conversation_attribute.clone(),
        }
    }
}

impl Drop for Policies {
    fn drop(&mut self) {
        // SAFETY: from `Box::into_raw`; `&mut self` means no reader is left.
        drop(unsafe { Box::from_raw(*self.sampler.get_mut()) });
    }
}

/// True when the sampler keeps every span its parent does not veto, so the
/// hot path can skip it.
fn keeps_all(sampler: &Sampler) -> bool {
    let c = sampler.config();
    c.rate >= 1.0 && c.rules.is_empty() && c.parent_based
}

pub(crate) struct Finisher {
    redactor: Arc<Redactor>,
    global: Arc<GlobalContext>,
    links: bool,
    conversation_attribute: String,
}

impl Finisher {
    /// Finishes one span: derived attributes, the trace's context (`meta`)
    /// over the global one, links on or off, redaction.
    pub(crate) fn apply(&self, rec: &mut SpanRecord, meta: Option<&TraceMeta>) {
        let meta = merged(&self.global, meta.cloned().unwrap_or_default());
        rec.finalize(&meta, &self.conversation_attribute);
        if !self.links {
            rec.links.clear();
        }
        self.redactor.apply(rec);
    }
}

/// Trace-level context over the global one: tags from both, the trace's
/// metadata winning over the global metadata.
fn merged(global: &GlobalContext, mut meta: TraceMeta) -> TraceMeta {
    if !global.tags.is_empty() {
        let mut tags = global.tags.clone();
        tags.extend(meta.tags.into_iter().filter(|t| !global.tags.contains(t)));
        meta.tags = tags;
    }
    for (k, v) in &global.metadata {
        meta.metadata.entry(k.clone()).or_insert_with(|| v.clone());
    }
    meta
}

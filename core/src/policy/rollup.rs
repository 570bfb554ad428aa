//! Usage and cost rollups: every span carries the totals of its subtree
//! (tokens, cost, LLM calls, tool calls, errors), computed once in the core for
//! every language.
//!
//! How it stays exact with children on other threads, or ending after their
//! parent: a span that becomes a parent gets a [`Node`] whose counter its
//! recording children increment when they start. The batching thread adds
//! each finished span's totals to its parent's accumulator and decrements the
//! counter; a parent that ends while the counter is above zero is held back
//! until its last child is in. Held spans are released anyway after a time
//! limit and on flush or shutdown (their totals are then what had arrived),
//! so a child that never ends cannot hold its parent forever.
//!
//! No double counting: a span's own usage counts only when no descendant
//! reported usage (a framework LLM span wrapping a provider LLM span counts
//! once, the innermost).

use crate::model::id::SpanId;
use crate::model::kind::SpanKind;
use crate::model::record::{SpanRecord, Status};
use crate::model::semconv as sc;
use crate::model::usage::Usage;
use crate::model::value::{Attribute, Value};
use crate::policy::price::PriceTable;
use crate::util::fasthash::FxHashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shared by a parent span and its recording children: how many of them have
/// not reached the batching thread yet.
#[derive(Debug, Default)]
pub(crate) struct Node {
    open_children: AtomicU32,
}

impl Node {
    pub(crate) fn child_started(&self) {
        self.open_children.fetch_add(1, Ordering::Relaxed);
    }

    /// Returns how many children are still open.
    pub(crate) fn child_finished(&self) -> u32 {
        self.open_children
            .fetch_sub(1, Ordering::AcqRel)
            .saturating_sub(1)
    }

    fn open(&self) -> u32 {
        self.open_children.load(Ordering::Acquire)
    }
}

/// The totals of a span's subtree, itself included.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    pub usage: Usage,
    /// USD, from the price table; 0 when no model in the subtree has a price.
    pub cost_usd: f64,
    pub llm_calls: u64,
    pub tool_calls: u64,
    pub errors: u64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        let (u, v) = (&mut self.usage, &o.usage);
        u.input_tokens += v.input_tokens;
        u.output_tokens += v.output_tokens;
        u.cache_read_input_tokens += v.cache_read_input_tokens;
        u.cache_creation_input_tokens += v.cache_creation_input_tokens;
        u.reasoning_output_tokens += v.reasoning_output_tokens;
        self.cost_usd += o.cost_usd;
        self.llm_calls += o.llm_calls;
        self.tool_calls += o.tool_calls;
        self.errors += o.errors;
    }

    pub fn is_empty(&self) -> bool {
        *self == Totals::default()
    }

    fn has_model_usage(&self) -> bool {
        self.llm_calls > 0 || self.usage != Usage::default()
    }

    /// `agtrace.usage.*`; zero counts are omitted.
    fn attributes(&self) -> impl Iterator<Item = Attribute> {
        let u = &self.usage;
        let ints = [
            (sc::AGTRACE_USAGE_INPUT_TOKENS, u.input_tokens),
            (sc::AGTRACE_USAGE_OUTPUT_TOKENS, u.output_tokens),
            (
                sc::AGTRACE_USAGE_CACHE_READ_INPUT_TOKENS,
                u.cache_read_input_tokens,
            ),
            (
                sc::AGTRACE_USAGE_CACHE_CREATION_INPUT_TOKENS,
                u.cache_creation_input_tokens,
            ),
            (
                sc::AGTRACE_USAGE_REASONING_OUTPUT_TOKENS,
                u.reasoning_output_tokens,
            ),
            (sc::AGTRACE_USAGE_LLM_CALLS, self.llm_calls),
            (sc::AGTRACE_USAGE_TOOL_CALLS, self.tool_calls),
            (sc::AGTRACE_USAGE_ERRORS, self.errors),
        ];
        let cost = (self.cost_usd > 0.0)
            .then(|| Attribute::new(sc::AGTRACE_USAGE_COST_USD, round_usd(self.cost_usd)));
        ints.into_iter()
            .filter(|(_, v)| *v > 0)
            .map(|(k, v)| Attribute::new(k, v))
            .chain(cost)
    }
}

/// Cost values are kept to a millionth of a cent, so sums print cleanly.
fn round_usd(v: f64) -> f64 {
    (v * 1e8).round() / 1e8
}

struct Held {
    record: Box<SpanRecord>,
    since: Instant,
}

struct Acc {
    totals: Totals,
    touched: Instant,
}

/// The batching thread's rollup state. Not shared.
pub(crate) struct Rollups {
    acc: FxHashMap<SpanId, Acc>,
    held: FxHashMap<SpanId, Held>,
    hold_limit: Duration,
}

impl Rollups {
    pub(crate) fn new(hold_limit: Duration) -> Self {
        Rollups {
            acc: FxHashMap::default(),
            held: FxHashMap::default(),
            hold_limit,
        }
    }

    /// Takes a finished span; passes it (and any parent it completes) to
    /// `out` once its totals are final, or holds it.
    pub(crate) fn process(
        &mut self,
        rec: Box<SpanRecord>,
        prices: &PriceTable,
        out: &mut dyn FnMut(Box<SpanRecord>),
    ) {
        if rec.node.get().is_some_and(|n| n.open() > 0) {
            self.held.insert(
                rec.span_id,
                Held {
                    record: rec,
                    since: Instant::now(),
                },
            );
            return;
        }
        self.release(rec, prices, out);
    }

    fn release(
        &mut self,
        mut rec: Box<SpanRecord>,
        prices: &PriceTable,
        out: &mut dyn FnMut(Box<SpanRecord>),
    ) {
        // Only a span that became a parent can have children's totals.
        let children = if rec.node.get().is_some() {
            self.acc
                .remove(&rec.span_id)
                .map(|a| a.totals)
                .unwrap_or_default()
        } else {
            Totals::default()
        };
        let mut totals = children;
        totals.add(&own_contribution(&mut rec, &children, prices));
        if !totals.is_empty() {
            rec.attributes.extend(totals.attributes());
            rec.totals = Some(totals);
        }
        if let Some(parent) = rec.parent_node.take() {
            let acc = self.acc.entry(rec.parent_span_id).or_insert(Acc {
                totals: Totals::default(),
                touched: Instant::now(),
            });
            acc.totals.add(&totals);
            acc.touched = Instant::now();
            if parent.child_finished() == 0 {
                if let Some(h) = self.held.remove(&rec.parent_span_id) {
                    out(rec);
                    return self.release(h.record, prices, out);
                }
            }
        }
        out(rec);
    }

    /// Releases spans held longer than the limit (or whose last child was
    /// dropped before reaching this thread), and forgets stale accumulators.
    pub(crate) fn expire(&mut self, prices: &PriceTable, out: &mut dyn FnMut(Box<SpanRecord>)) {
        let limit = self.hold_limit;
        let due: Vec<SpanId> = self
            .held
            .iter()
            .filter(|(_, h)| {
                h.since.elapsed() >= limit || h.record.node.get().is_none_or(|n| n.open() == 0)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(h) = self.held.remove(&id) {
                self.release(h.record, prices, out);
            }
        }
        self.acc.retain(|_, a| a.touched.elapsed() < limit);
    }

    /// Releases every held span (flush and shutdown), children first.
    pub(crate) fn release_all(
        &mut self,
        prices: &PriceTable,
        out: &mut dyn FnMut(Box<SpanRecord>),
    ) {
        let mut held: Vec<Held> = self.held.drain().map(|(_, h)| h).collect();
        // Later-started spans are deeper in the tree: release them first so
        // their totals reach the ancestors released after them.
        held.sort_by_key(|h| std::cmp::Reverse(h.record.start_unix_nanos));
        for h in held {
            self.release(h.record, prices, out);
        }
    }
}

/// This span's own part of its totals, and its own cost attribute.
fn own_contribution(rec: &mut SpanRecord, children: &Totals, prices: &PriceTable) -> Totals {
    let mut own = Totals::default();
    if matches!(rec.status, Status::Error(_)) {
        own.errors = 1;
    }
    if rec.kind == SpanKind::Tool {
        own.tool_calls = 1;
    }
    // An LLM span around other model calls is a wrapper: its usage is theirs.
    if children.has_model_usage() {
        return own;
    }
    if rec.kind == SpanKind::Llm {
        own.llm_calls = 1;
    }
    if let Some(usage) = rec.usage {
        own.usage = usage;
        let text = |k: &str| rec.attribute(k).and_then(Value::as_str).map(str::to_owned);
        let model = text(sc::GEN_AI_RESPONSE_MODEL).or_else(|| text(sc::GEN_AI_REQUEST_MODEL));
        let provider = text(sc::GEN_AI_PROVIDER_NAME);
        if let Some(model) = model {
            if let Some(cost) = prices.cost(provider.as_deref(), &model, &usage) {
                own.cost_usd = cost;
                rec.attributes
                    .push(Attribute::new(sc::AGTRACE_COST_USD, round_usd(cost)));
            }
        }
    }
    own
}

/// Registers a new recording child with its parent's node.
pub(crate) fn register_child(parent: Option<Arc<Node>>) -> Option<Arc<Node>> {
    parent.inspect(|n| n.child_started())
}

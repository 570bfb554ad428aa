//! Usage and cost rollups: every span carries the totals of its subtree
//! (tokens, cost, LLM calls, tool calls, errors), computed once in the core for
//! every language, on the collector thread.
//!
//! How it stays exact with children on other threads, or ending after their
//! parent, without the app threads sharing a counter: a recording child of a
//! live local span writes a `Child` entry naming its parent when it starts
//! (see `pipeline::entry`). The collector counts a parent's open children
//! from those entries, adds each released child's totals to its parent's
//! node, and holds a parent that ends with children still open until the
//! last one is in. A span is decided one collector pass after it was read,
//! so every `Child` entry written before its end has been read (see
//! `pipeline::collector`).
//!
//! Bounded: a held parent is released after the hold limit, and on flush or
//! shutdown; a parent whose totals miss a child (dropped, never ended, or not
//! counted for lack of buffer room) is marked `agtrace.usage.incomplete`.
//! Nodes of parents that never arrive expire with the hold limit, and the
//! table stays within twice `max_nodes`: the oldest nodes of parents not yet
//! seen are forgotten first (such a parent, if it arrives, is marked
//! incomplete), then the longest-held spans are released. Release is
//! iterative: a deep tree cannot overflow the stack.
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
use crate::util::fasthash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

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
    /// Counts saturate: token counts come from the caller, and a hostile
    /// or corrupt one must not wrap a subtree's sum.
    fn add(&mut self, o: &Totals) {
        let (u, v) = (&mut self.usage, &o.usage);
        u.input_tokens = u.input_tokens.saturating_add(v.input_tokens);
        u.output_tokens = u.output_tokens.saturating_add(v.output_tokens);
        u.cache_read_input_tokens = u
            .cache_read_input_tokens
            .saturating_add(v.cache_read_input_tokens);
        u.cache_creation_input_tokens = u
            .cache_creation_input_tokens
            .saturating_add(v.cache_creation_input_tokens);
        u.reasoning_output_tokens = u
            .reasoning_output_tokens
            .saturating_add(v.reasoning_output_tokens);
        self.cost_usd += o.cost_usd;
        self.llm_calls = self.llm_calls.saturating_add(o.llm_calls);
        self.tool_calls = self.tool_calls.saturating_add(o.tool_calls);
        self.errors = self.errors.saturating_add(o.errors);
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

/// What the collector knows of a parent: its children still open, their
/// totals so far, and the parent itself while it waits for them.
struct Node {
    open: i64,
    acc: Totals,
    /// A child's totals are missing (dropped or never counted).
    incomplete: bool,
    held: Option<(Box<SpanRecord>, Instant)>,
    touched: Instant,
}

impl Node {
    fn new(now: Instant) -> Node {
        Node {
            open: 0,
            acc: Totals::default(),
            incomplete: false,
            held: None,
            touched: now,
        }
    }
}

/// Span ids released recently: a `Child` entry or a child's totals for one
/// of them arrive too late to count (the parent was already exported).
struct Released {
    set: FxHashSet<SpanId>,
    order: VecDeque<SpanId>,
    cap: usize,
}

impl Released {
    fn new(cap: usize) -> Released {
        Released {
            set: FxHashSet::default(),
            order: VecDeque::new(),
            cap,
        }
    }

    fn insert(&mut self, id: SpanId) {
        if self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        if self.set.insert(id) {
            self.order.push_back(id);
        }
    }
}

/// The collector's rollup state. Not shared.
pub(crate) struct Rollups {
    nodes: FxHashMap<SpanId, Node>,
    /// Parents whose node was forgotten to keep the table bounded: if one
    /// arrives, its totals are marked incomplete.
    evicted: Released,
    /// Nodes holding their span.
    held: usize,
    released: Released,
    hold_limit: Duration,
    max_nodes: usize,
}

impl Rollups {
    pub(crate) fn new(hold_limit: Duration, max_nodes: usize) -> Self {
        Rollups {
            nodes: FxHashMap::default(),
            held: 0,
            released: Released::new(max_nodes.max(1024)),
            evicted: Released::new(max_nodes.max(1024)),
            hold_limit,
            max_nodes: max_nodes.max(16),
        }
    }

    /// Spans held back for their children.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// A recording child of `parent` started.
    pub(crate) fn child(&mut self, parent: SpanId) {
        if self.released.set.contains(&parent) {
            return;
        }
        let now = Instant::now();
        let n = self.nodes.entry(parent).or_insert_with(|| Node::new(now));
        n.open += 1;
        n.touched = now;
        if self.nodes.len() > 2 * self.max_nodes {
            self.evict_waiting();
        }
    }

    /// Forgets the oldest nodes of parents not yet seen, down to the bound
    /// (amortised: only once the table holds twice the bound). Held spans
    /// are left to `expire`, which can release them.
    fn evict_waiting(&mut self) {
        let mut waiting: Vec<(Instant, SpanId)> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.held.is_none())
            .map(|(id, n)| (n.touched, *id))
            .collect();
        let excess = self.nodes.len().saturating_sub(self.max_nodes);
        if excess == 0 {
            return;
        }
        let cut = excess.min(waiting.len());
        if cut == 0 {
            return;
        }
        waiting.select_nth_unstable(cut - 1);
        for (_, id) in waiting.into_iter().take(cut) {
            self.nodes.remove(&id);
            self.evicted.insert(id);
        }
    }

    /// A counted child of `parent` was dropped before the collector read it.
    pub(crate) fn lost(&mut self, parent: SpanId) {
        if let Some(n) = self.nodes.get_mut(&parent) {
            n.open -= 1;
            n.incomplete = true;
        }
    }

    /// Takes a span read at least one pass ago: passes it (and every parent
    /// it completes) to `out` once its totals are final, or holds it.
    pub(crate) fn decide(
        &mut self,
        rec: Box<SpanRecord>,
        prices: &PriceTable,
        out: &mut dyn FnMut(Box<SpanRecord>),
    ) {
        if let Some(n) = self.nodes.get_mut(&rec.span_id) {
            if n.open > 0 {
                n.held = Some((rec, Instant::now()));
                self.held += 1;
                return;
            }
        }
        self.release(rec, prices, out);
    }

    /// Releases `first`, then every held parent whose last child that was.
    fn release(
        &mut self,
        first: Box<SpanRecord>,
        prices: &PriceTable,
        out: &mut dyn FnMut(Box<SpanRecord>),
    ) {
        let mut next = Some(first);
        while let Some(mut rec) = next.take() {
            let (children, mut incomplete) = match self.nodes.remove(&rec.span_id) {
                Some(n) => (n.acc, n.incomplete || n.open > 0),
                None => (Totals::default(), self.evicted.set.remove(&rec.span_id)),
            };
            self.released.insert(rec.span_id);
            let mut totals = children;
            totals.add(&own_contribution(&mut rec, &children, prices));
            if !totals.is_empty() {
                rec.attributes.extend(totals.attributes());
                rec.totals = Some(totals);
            }
            if rec.uncounted_child {
                self.mark_incomplete(rec.parent_span_id);
            }
            if rec.counted_by_parent && !self.released.set.contains(&rec.parent_span_id) {
                let now = Instant::now();
                let parent = self
                    .nodes
                    .entry(rec.parent_span_id)
                    .or_insert_with(|| Node::new(now));
                parent.acc.add(&totals);
                parent.open -= 1;
                parent.touched = now;
                if parent.open <= 0 {
                    next = parent.held.take().map(|(r, _)| r);
                    self.held -= usize::from(next.is_some());
                }
            }
            if std::mem::take(&mut incomplete) {
                rec.attributes
                    .push(Attribute::new(sc::AGTRACE_USAGE_INCOMPLETE, true));
            }
            out(rec);
        }
    }

    fn mark_incomplete(&mut self, parent: SpanId) {
        if self.released.set.contains(&parent) {
            return;
        }
        let now = Instant::now();
        self.nodes
            .entry(parent)
            .or_insert_with(|| Node::new(now))
            .incomplete = true;
    }

    /// Releases spans held longer than the limit, forgets nodes of parents
    /// that never arrived, and keeps the table within its bound.
    pub(crate) fn expire(
        &mut self,
        now: Instant,
        prices: &PriceTable,
        out: &mut dyn FnMut(Box<SpanRecord>),
    ) {
        let limit = self.hold_limit;
        let stale = |since: Instant| now.saturating_duration_since(since) >= limit;
        let mut due: Vec<Box<SpanRecord>> = Vec::new();
        self.nodes.retain(|_, n| match &n.held {
            Some((_, since)) if stale(*since) => {
                due.extend(n.held.take().map(|(r, _)| r));
                // Kept (without the span) so its release below sees its
                // children's totals.
                true
            }
            Some(_) => true,
            None => !stale(n.touched),
        });
        if self.nodes.len() > self.max_nodes {
            self.evict_waiting();
        }
        if self.nodes.len() > self.max_nodes {
            // Still over: the longest-held spans go now, incomplete.
            let mut held: Vec<(Instant, SpanId)> = self
                .nodes
                .iter()
                .filter_map(|(id, n)| n.held.as_ref().map(|(_, since)| (*since, *id)))
                .collect();
            held.sort_unstable();
            let excess = self.nodes.len() - self.max_nodes;
            for (_, id) in held.into_iter().take(excess) {
                if let Some(r) = self.nodes.get_mut(&id).and_then(|n| n.held.take()) {
                    due.push(r.0);
                }
            }
        }
        self.held -= due.len();
        for rec in due {
            self.release(rec, prices, out);
        }
    }

    /// Releases every held span (flush and shutdown), children first.
    pub(crate) fn release_all(
        &mut self,
        prices: &PriceTable,
        out: &mut dyn FnMut(Box<SpanRecord>),
    ) {
        let mut held: Vec<Box<SpanRecord>> = self
            .nodes
            .values_mut()
            .filter_map(|n| n.held.take().map(|(r, _)| r))
            .collect();
        // Later-started spans are deeper in the tree: release them first so
        // their totals reach the ancestors released after them.
        self.held = 0;
        held.sort_by_key(|r| std::cmp::Reverse(r.start_unix_nanos));
        for rec in held {
            self.release(rec, prices, out);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64) -> Box<SpanRecord> {
        let mut r = Box::new(SpanRecord::blank());
        r.span_id = SpanId::from_u64(id);
        r
    }

    #[test]
    fn the_table_stays_bounded_when_parents_never_arrive() {
        let max = 16;
        let mut r = Rollups::new(Duration::from_secs(300), max);
        // Children of 10,000 parents that are never seen (dropped, or
        // never ended): the table does not grow with them.
        for p in 1..=10_000u64 {
            r.child(SpanId::from_u64(p));
            assert!(r.nodes.len() <= 2 * max + 1, "{} nodes", r.nodes.len());
        }
        // One of the recently forgotten turns up after all: released at
        // once, marked incomplete (its children's totals were forgotten).
        let prices = PriceTable::builtin();
        let mut out = Vec::new();
        r.decide(record(9_500), &prices, &mut |rec| out.push(rec));
        let [rec] = &out[..] else {
            panic!("{} released", out.len())
        };
        assert_eq!(
            rec.attribute(sc::AGTRACE_USAGE_INCOMPLETE),
            Some(&Value::Bool(true))
        );
    }
}

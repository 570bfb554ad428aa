//! The console exporter: each finished trace printed as a readable tree.
//!
//! Spans are held until their trace's local root ends, then the whole tree is
//! printed at once (kind, duration, status, token and cost totals). Spans whose root has
//! not ended by flush or shutdown are printed then, so nothing is lost.

use super::Exporter;
use crate::error::ExportError;
use crate::model::id::{SpanId, TraceId};
use crate::model::record::{SpanRecord, Status};
use crate::model::semconv as sc;
use crate::model::usage::Usage;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

/// Most spans held waiting for their root; beyond it, the oldest traces are
/// printed early, so a root that never ends cannot grow memory.
const MAX_HELD_SPANS: usize = 10_000;

/// Prints trace trees to a writer (stdout by default).
pub struct ConsoleExporter {
    out: Box<dyn Write + Send>,
    held: HashMap<TraceId, Vec<SpanRecord>>,
    order: Vec<TraceId>,
    held_count: usize,
}

impl ConsoleExporter {
    pub fn stdout() -> Self {
        Self::to_writer(Box::new(std::io::stdout()))
    }

    pub fn stderr() -> Self {
        Self::to_writer(Box::new(std::io::stderr()))
    }

    pub fn to_writer(out: Box<dyn Write + Send>) -> Self {
        ConsoleExporter {
            out,
            held: HashMap::new(),
            order: Vec::new(),
            held_count: 0,
        }
    }

    fn print_trace(&mut self, trace_id: TraceId) -> Result<(), ExportError> {
        let Some(spans) = self.held.remove(&trace_id) else {
            return Ok(());
        };
        self.order.retain(|t| *t != trace_id);
        self.held_count -= spans.len();
        let text = render(trace_id, &spans);
        self.out
            .write_all(text.as_bytes())
            .and_then(|_| self.out.flush())
            .map_err(|e| ExportError::new(format!("console: {e}")))
    }

    fn print_all(&mut self) -> Result<(), ExportError> {
        for t in std::mem::take(&mut self.order) {
            self.print_trace(t)?;
        }
        Ok(())
    }
}

impl Exporter for ConsoleExporter {
    fn name(&self) -> &str {
        "console"
    }

    fn export(&mut self, batch: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        let mut complete = Vec::new();
        for r in batch {
            if !self.held.contains_key(&r.trace_id) {
                self.order.push(r.trace_id);
            }
            self.held.entry(r.trace_id).or_default().push((**r).clone());
            self.held_count += 1;
            if r.is_root() || r.parent_is_remote {
                complete.push(r.trace_id);
            }
        }
        for t in complete {
            self.print_trace(t)?;
        }
        while self.held_count > MAX_HELD_SPANS && !self.order.is_empty() {
            let oldest = self.order[0];
            self.print_trace(oldest)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        self.print_all()
    }
}

/// Renders one trace. Spans whose parent is not among `spans` are shown as
/// roots of their own subtree.
fn render(trace_id: TraceId, spans: &[SpanRecord]) -> String {
    let ids: std::collections::HashSet<SpanId> = spans.iter().map(|s| s.span_id).collect();
    let mut children: HashMap<SpanId, Vec<&SpanRecord>> = HashMap::new();
    let mut roots = Vec::new();
    for s in spans {
        if ids.contains(&s.parent_span_id) {
            children.entry(s.parent_span_id).or_default().push(s);
        } else {
            roots.push(s);
        }
    }
    for v in children.values_mut() {
        v.sort_by_key(|s| s.start_unix_nanos);
    }
    roots.sort_by_key(|s| s.start_unix_nanos);
    let mut out = format!("trace {trace_id}\n");
    for root in roots {
        line(&mut out, root, "", "");
        walk(&mut out, root, &children, "");
    }
    out
}

fn walk(
    out: &mut String,
    s: &SpanRecord,
    children: &HashMap<SpanId, Vec<&SpanRecord>>,
    indent: &str,
) {
    let Some(kids) = children.get(&s.span_id) else {
        return;
    };
    for (i, k) in kids.iter().enumerate() {
        let last = i + 1 == kids.len();
        let (branch, next) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        line(out, k, indent, branch);
        walk(out, k, children, &format!("{indent}{next}"));
    }
}

fn line(out: &mut String, s: &SpanRecord, indent: &str, branch: &str) {
    let ms = s.duration_nanos() as f64 / 1e6;
    let _ = write!(out, "{indent}{branch}{} [{}] {ms:.1} ms", s.name, s.kind);
    match &s.status {
        Status::Error(msg) => {
            let _ = write!(out, " ERROR: {msg}");
        }
        Status::Ok => out.push_str(" ok"),
        Status::Unset => {}
    }
    // Subtree totals from the core's rollups: a parent shows its children's sum.
    let usage = s.totals.map(|t| t.usage).or(s.usage);
    if let Some(u) = usage.filter(|u| *u != Usage::default()) {
        let _ = write!(out, " tokens in={} out={}", u.input_tokens, u.output_tokens);
    }
    if let Some(cost) = s.totals.map(|t| t.cost_usd).filter(|c| *c > 0.0) {
        let _ = write!(out, " cost=${cost:.4}");
    }
    for (label, key) in [
        ("provider", sc::GEN_AI_PROVIDER_NAME),
        ("model", sc::GEN_AI_REQUEST_MODEL),
        ("tool", sc::GEN_AI_TOOL_NAME),
    ] {
        if let Some(v) = s.attribute(key) {
            let _ = write!(out, " {label}={}", v.display());
        }
    }
    if s.abandoned {
        out.push_str(" (abandoned: dropped without end)");
    }
    out.push('\n');
}

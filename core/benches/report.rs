//! One result row for `bench/run.py`, which collects every benchmark's rows
//! into `bench/RESULTS.md`: a line `BENCH {json}` on stdout. Shared by the
//! Rust benchmarks through `#[path]`.

use serde_json::json;

/// What a row compares; `peer` is None where no peer applies.
pub struct Row<'a> {
    pub section: &'a str,
    pub scenario: &'a str,
    /// `ns`, `spans/s`, `spans`, `MiB`, `allocs`.
    pub unit: &'a str,
    pub agtrace: f64,
    pub peer: Option<(&'a str, f64)>,
    /// The target in words (TARGETS.md), and whether it was met; None when
    /// the row has no target.
    pub target: Option<(&'a str, bool)>,
    pub note: &'a str,
}

pub fn emit(row: Row<'_>) {
    let v = json!({
        "section": row.section,
        "scenario": row.scenario,
        "unit": row.unit,
        "agtrace": row.agtrace,
        "peer": row.peer.map(|p| p.0),
        "peer_value": row.peer.map(|p| p.1),
        "target": row.target.map(|t| t.0),
        "met": row.target.map(|t| t.1),
        "note": row.note,
    });
    println!("BENCH {v}");
}

/// True when `AGTRACE_BENCH_SMOKE` is set: a quick run that checks the
/// benchmark works (CI), with numbers not worth reading.
pub fn smoke() -> bool {
    std::env::var_os("AGTRACE_BENCH_SMOKE").is_some()
}

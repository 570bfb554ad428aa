//! Prints agtrace's trace-id ratio sampling decisions: the agtrace side of the
//! sampling interop test against OpenTelemetry Python
//! (tests/interop/test_sampling_otel.py).
//!
//! Usage: `sample_decisions < lines`
//!
//! Reads lines `<32 hex digit trace id> <rate>` on stdin and prints, per
//! line, `1` when `agtrace_core::trace_id_ratio` samples the trace at that
//! rate and `0` when not. Blank lines are skipped; a malformed line stops the
//! run with exit code 2.

use agtrace_core::{trace_id_ratio, TraceId};
use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sample_decisions: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| format!("reading stdin: {e}"))?;
        let mut fields = line.split_whitespace();
        let (id, rate) = match (fields.next(), fields.next(), fields.next()) {
            (None, ..) => continue,
            (Some(id), Some(rate), None) => (id, rate),
            _ => return Err(format!("line {}: expected '<trace id> <rate>'", n + 1)),
        };
        let id = TraceId::from_hex(id)
            .ok_or_else(|| format!("line {}: '{id}' is not 32 hex digits", n + 1))?;
        let rate: f64 = rate
            .parse()
            .map_err(|_| format!("line {}: '{rate}' is not a number", n + 1))?;
        let decision = if trace_id_ratio(id, rate) { "1" } else { "0" };
        writeln!(out, "{decision}").map_err(|e| format!("writing stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("writing stdout: {e}"))
}

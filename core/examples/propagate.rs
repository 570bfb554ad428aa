//! Continues a trace received in headers: the agtrace side of the propagation
//! interop tests against other tracers.
//!
//! Usage: `propagate continue [FORMATS] < headers.json`
//!
//! Reads a JSON object of header names to values on stdin and extracts with all
//! four formats (tracecontext, b3, b3multi, baggage). It then starts a child of
//! the extracted context (same trace id, flags and trace state, new span id), or
//! a new sampled trace when nothing valid was found, and injects it with
//! FORMATS, an `OTEL_PROPAGATORS`-style list defaulting to
//! `tracecontext,baggage`. Prints one JSON object:
//!
//! ```text
//! {"extracted": {"trace_id", "span_id", "sampled"} or null,  // the remote parent
//!  "span": {"trace_id", "span_id", "sampled"},               // the child
//!  "baggage": {key: value},                                  // extracted baggage
//!  "headers": {name: value}}                                 // what was injected
//! ```

use agtrace_core::id::{SpanContext, SpanId, TraceFlags, TraceId};
use agtrace_core::propagation::{Format, Propagators};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;

const USAGE: &str = "usage: propagate continue [FORMATS] < headers.json";

fn main() -> ExitCode {
    match run() {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("propagate: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<Value, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("continue") || args.len() > 2 {
        return Err(USAGE.to_owned());
    }
    let outgoing = match args.get(1) {
        Some(list) => Propagators::parse(list)?,
        None => Propagators::default(),
    };

    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("reading stdin: {e}"))?;
    let headers: BTreeMap<String, String> = serde_json::from_str(&input)
        .map_err(|e| format!("stdin must be a JSON object of string values: {e}"))?;

    let incoming = Propagators::new(&[
        Format::TraceContext,
        Format::B3Single,
        Format::B3Multi,
        Format::Baggage,
    ]);
    let extracted = incoming.extract(&headers);
    let child = match &extracted.span_context {
        Some(parent) => SpanContext {
            span_id: SpanId::random(),
            is_remote: false,
            ..parent.clone()
        },
        None => SpanContext::new(
            TraceId::random(),
            SpanId::random(),
            TraceFlags::SAMPLED,
            false,
        ),
    };

    let mut injected = BTreeMap::new();
    outgoing.inject(&child, &extracted.baggage, &mut injected);

    let baggage: Map<String, Value> = extracted
        .baggage
        .entries()
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    Ok(json!({
        "extracted": extracted.span_context.as_ref().map(describe),
        "span": describe(&child),
        "baggage": baggage,
        "headers": injected,
    }))
}

fn describe(ctx: &SpanContext) -> Value {
    json!({
        "trace_id": ctx.trace_id.to_hex(),
        "span_id": ctx.span_id.to_hex(),
        "sampled": ctx.is_sampled(),
    })
}

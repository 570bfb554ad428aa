//! Continues a trace received in headers: the agtrace side of the propagation
//! interop tests against other tracers.
//!
//! Usage: `propagate continue [FORMATS] < headers.json`
//!
//! Reads a JSON object of header names to values on stdin and extracts with all
//! four formats (tracecontext, b3, b3multi, baggage). It then starts a real
//! agtrace span under the extracted context (a new sampled trace when nothing
//! valid was found), ends and exports it (in memory), and injects its context
//! with FORMATS, an `OTEL_PROPAGATORS`-style list defaulting to
//! `tracecontext,baggage`. Prints one JSON object:
//!
//! ```text
//! {"extracted": {"trace_id", "span_id", "sampled"} or null,  // the remote parent
//!  "span": {"trace_id", "span_id", "sampled",                // the child
//!           "parent_span_id"},                               // as exported (null: not recorded)
//!  "baggage": {key: value},                                  // extracted baggage
//!  "headers": {name: value}}                                 // what was injected
//! ```

use agtrace_core::propagation::{Format, Propagators};
use agtrace_core::{ExporterConfig, InMemoryExporter, Parent, SpanContext, Tracer};
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

    let memory = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .propagators(Propagators::new(&[
            Format::TraceContext,
            Format::B3Single,
            Format::B3Multi,
            Format::Baggage,
        ]))
        .exporter(ExporterConfig::Memory(memory.clone()))
        .build()
        .map_err(|e| e.to_string())?;
    let extracted = tracer.extract(&headers);
    let mut span = tracer
        .span("continued")
        .parent(Parent::from(extracted.clone()))
        .start();
    let child = span.to_ref();
    span.end();
    tracer
        .shutdown(std::time::Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let exported_parent = memory
        .spans()
        .first()
        .map(|r| Value::from(r.parent_span_id.to_hex()));

    let mut injected = BTreeMap::new();
    let baggage = child.baggage().cloned().unwrap_or_default();
    outgoing.inject(child.context(), &baggage, &mut injected);

    let baggage: Map<String, Value> = extracted
        .baggage
        .entries()
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    let mut span_json = describe(child.context());
    span_json["parent_span_id"] = exported_parent.unwrap_or(Value::Null);
    Ok(json!({
        "extracted": extracted.span_context.as_ref().map(describe),
        "span": span_json,
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

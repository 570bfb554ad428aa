//! The span protocol: how a language binding's hot path hands spans to the
//! core, as bytes (specified in `ffi/PROTOCOL.md`, with the test vectors in
//! `ffi/protocol/vectors.json` that this module and every binding's encoder
//! check). One message per crossing: the END records of spans the binding
//! ended since its last crossing, then at most one BEGIN, whose span's
//! identity comes back in a [`Begun`].
//!
//! A span started here lives in the core as a handle (the address of its
//! recycled data box) that the binding owns until an END or ABANDON record
//! consumes it: no lock, no allocation and no registry per span.
//!
//! Thread-safety: [`apply`] may run on any thread; a handle is used by one
//! message at a time (the binding's contract). Never blocks.

mod read;
#[cfg(test)]
mod vectors;

pub use read::{Fault, NOW};

use crate::codes::{record, status};
use crate::id::{SpanContext, TraceFlags, TraceState};
use crate::model::span::{Parent, Span, SpanRef};
use crate::model::trace::TraceMeta;
use crate::util::json_depth::{cut_json_depth, MAX_JSON_DEPTH};
use crate::{Attribute, Misuse, Status, Str, Tracer, Usage, Value};
use read::{Begin, End, Item, Items, ParentRef, Read, Val};

/// The protocol version this core speaks. A binding checks it once, at
/// load, and refuses to start on a mismatch.
pub const VERSION: u32 = 2;

/// The span a BEGIN record started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Begun {
    /// The span's handle, for its END record; 0 when the span records
    /// nothing (unsampled, or the tracer is disabled or shut down).
    pub handle: u64,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// W3C trace flags (bit 0: sampled).
    pub flags: u8,
}

/// Where a BEGIN's context handles come from (the C ABI's context objects):
/// the parent a handle names, or `None` when it names nothing usable.
pub type Contexts<'a> = &'a dyn Fn(u64) -> Option<Parent>;

/// Applies a message: every END/ABANDON record ends its span, then a final
/// BEGIN starts one and fills `out` (left as it was when there is none).
/// Returns the first fault; every record and item that is not at fault is
/// still applied, so a bad value never loses a span, and an END whose items
/// are bad still ends its span. Each record's first fault is counted as
/// misuse (`Stats::misuse`).
///
/// # Safety
/// Every handle in an END or ABANDON record must come from a [`Begun`] of
/// this process and not have been consumed by an earlier END or ABANDON.
pub unsafe fn apply(
    tracer: &Tracer,
    msg: &[u8],
    contexts: Contexts<'_>,
    out: &mut Begun,
) -> Result<(), Fault> {
    let mut first: Option<Box<Fault>> = None;
    let mut note = |r: Read<()>| {
        if let Err(f) = r {
            tracer.report_misuse(
                misuse_of(&f),
                &format!("span protocol message refused: {f}"),
            );
            first.get_or_insert(f);
        }
    };
    for rec in read::records(msg) {
        let mut rec = match rec {
            Ok(rec) => rec,
            Err(f) => {
                note(Err(f));
                break;
            }
        };
        match rec.code {
            record::END | record::ABANDON => match End::read(&mut rec.body, rec.code) {
                // SAFETY: the handle's contract is the caller's.
                Ok(end) => note(unsafe { finish(tracer, end, Items::new(rec.body)) }),
                Err(f) => note(Err(f)),
            },
            record::BEGIN if rec.last => {
                note(begin(tracer, &mut rec.body, contexts, out));
            }
            record::BEGIN => note(Err(rec.fault("BEGIN must be the message's last record"))),
            other => note(Err(rec.fault(format!("unknown record {other}")))),
        }
    }
    first.map_or(Ok(()), |f| Err(*f))
}

/// What kind of misuse a fault is: a bad name or key, a value that could
/// not be read, or (anything else) a message the core cannot use.
fn misuse_of(f: &Fault) -> Misuse {
    let field = f.field.as_str();
    if field == "name" || field == "event name" || field.starts_with("attribute key") {
        Misuse::BadName
    } else if field.starts_with("attribute") {
        Misuse::BadValue
    } else {
        Misuse::BadCall
    }
}

/// # Safety
/// As for [`apply`].
unsafe fn finish(tracer: &Tracer, end: End, items: Items<'_>) -> Read<()> {
    if end.handle == 0 {
        return items
            .map(|i| i.map(drop))
            .find(Result::is_err)
            .unwrap_or(Ok(()));
    }
    // SAFETY: a live handle from `begin`, consumed here (caller's contract).
    let mut span = unsafe { Span::from_handle(end.handle) };
    let result = record_items(tracer, &mut span, items);
    span.end_after(end.duration, end.abandoned);
    result
}

fn begin(
    tracer: &Tracer,
    body: &mut read::Reader<'_>,
    contexts: Contexts<'_>,
    out: &mut Begun,
) -> Read<()> {
    let b = Begin::read(body)?;
    if tracer.is_shut_down() {
        // Nothing to record, and nothing for the binding to end.
        return Ok(());
    }
    let parent = parent(b.parent, contexts).map_err(|reason| {
        Box::new(Fault {
            at: body.at(),
            field: "parent".into(),
            reason,
            utf8: false,
        })
    })?;
    let mut span = tracer
        .span(crate::intern(b.name))
        .kind(b.kind)
        .parent(parent)
        .start();
    let result = record_items(tracer, &mut span, Items::new(body.clone()));
    // The binding times the span from when this call returns (its END
    // carries the duration since): the start is taken last, so that a
    // child's end never lands after its parent's because one start did
    // more work inside this call than the other.
    span.restart_now();
    let c = span.context();
    *out = Begun {
        handle: 0,
        trace_id: c.trace_id.0,
        span_id: c.span_id.0,
        flags: c.flags.0,
    };
    out.handle = span.into_handle();
    result
}

fn parent(p: ParentRef, contexts: Contexts<'_>) -> Result<Parent, String> {
    let resolve = |h: u64| contexts(h).ok_or_else(|| format!("context handle {h:#x} is unusable"));
    Ok(match p {
        ParentRef::Root => Parent::Root,
        ParentRef::Context(h) => resolve(h)?,
        ParentRef::Ids {
            trace_id,
            span_id,
            flags,
            local,
            inherit,
        } => {
            let (trace_state, baggage) = match inherit.map(resolve).transpose()? {
                Some(Parent::Span(r)) => (r.context.trace_state, r.baggage),
                Some(Parent::Remote { context, baggage }) => (
                    context.trace_state,
                    (!baggage.is_empty()).then(|| std::sync::Arc::new(baggage)),
                ),
                _ => (TraceState::EMPTY, None),
            };
            Parent::Span(SpanRef {
                context: SpanContext {
                    trace_id,
                    span_id,
                    flags: TraceFlags(flags),
                    trace_state,
                    is_remote: false,
                },
                baggage,
                local,
            })
        }
    })
}

/// Applies items in order; returns the first fault (the faulty items are
/// skipped, the rest applied).
fn record_items(tracer: &Tracer, span: &mut Span, items: Items<'_>) -> Read<()> {
    let mut first = Ok(());
    for i in items {
        match i {
            Ok(i) => record_item(tracer, span, i),
            Err(f) => {
                if first.is_ok() {
                    first = Err(f);
                }
            }
        }
    }
    first
}

fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn json_text(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_string()))
}

#[inline]
fn record_item(tracer: &Tracer, span: &mut Span, i: Item<'_>) {
    match i {
        Item::Attr(key, Val::Json(s)) => {
            let (v, too_deep) = json_value(s);
            if too_deep {
                // Recorded with the marker: misuse all the same, as part of
                // the value is lost.
                tracer.report_misuse(
                    Misuse::BadValue,
                    &format!(
                        "attribute {}: nested deeper than {MAX_JSON_DEPTH} levels, recorded with \"<too deep>\" there",
                        key.escape_debug()
                    ),
                );
            }
            span.set_attribute(crate::intern(key), v)
        }
        Item::Attr(key, val) => span.set_attribute(crate::intern(key), value(val)),
        Item::Status(code, description) => span.set_status(match code {
            status::OK => Status::Ok,
            status::ERROR => Status::Error(description.to_string().into()),
            _ => Status::Unset,
        }),
        Item::Error {
            error_type,
            message,
            stacktrace,
        } => span.record_error(
            error_type.to_string(),
            message.to_string(),
            text(stacktrace),
        ),
        Item::Usage(n) => span.set_usage(Usage {
            input_tokens: n[0],
            output_tokens: n[1],
            cache_read_input_tokens: n[2],
            cache_creation_input_tokens: n[3],
            reasoning_output_tokens: n[4],
        }),
        Item::Llm(llm) => {
            let read::Llm {
                provider,
                request_model,
                response_model,
                response_id,
                finish_reasons,
            } = *llm;
            if !provider.is_empty() {
                span.set_provider(crate::intern(provider));
            }
            if !request_model.is_empty() {
                span.set_request_model(crate::intern(request_model));
            }
            if !response_model.is_empty() {
                span.set_response_model(crate::intern(response_model));
            }
            if !response_id.is_empty() {
                span.set_response_id(response_id.to_string());
            }
            if !finish_reasons.is_empty() {
                span.set_finish_reasons(finish_reasons.iter().map(|s| s.to_string()).collect());
            }
        }
        Item::Tool { name, call_id } => span.set_tool(crate::intern(name), text(call_id)),
        Item::Agent { name, id } => span.set_agent(crate::intern(name), text(id)),
        Item::Messages { input, output } => {
            if !input.is_empty() {
                span.set_input_messages(&json_text(input));
            }
            if !output.is_empty() {
                span.set_output_messages(&json_text(output));
            }
        }
        Item::Trace(trace) => {
            let read::Trace {
                fields,
                tags,
                metadata,
            } = *trace;
            let [user_id, session_id, conversation_id, environment, release] = fields.map(text);
            let metadata = match serde_json::from_str(metadata) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => Default::default(),
            };
            let update = TraceMeta {
                user_id,
                session_id,
                conversation_id,
                tags: tags.iter().map(|s| s.to_string()).collect(),
                metadata,
                environment,
                release,
            };
            span.update_trace(|t| *t = update);
        }
        Item::Event {
            name,
            offset,
            attributes: attrs,
        } => span.add_event_at(crate::intern(name), attributes(attrs), offset),
        Item::FirstChunk(offset) => span.mark_first_chunk_at(offset),
        Item::Name(name) => span.update_name(crate::intern(name)),
        Item::Link(link) => {
            let read::LinkRef {
                trace_id,
                span_id,
                flags,
                trace_state,
                attributes: attrs,
            } = *link;
            let context = SpanContext {
                trace_id,
                span_id,
                flags: TraceFlags(flags),
                trace_state: if trace_state.is_empty() {
                    TraceState::EMPTY
                } else {
                    crate::propagation::parse_tracestate(trace_state)
                },
                is_remote: false,
            };
            span.add_link(context, attributes(attrs));
        }
    }
}

fn attributes(attrs: Vec<(&str, Val<'_>)>) -> Vec<Attribute> {
    attrs
        .into_iter()
        .map(|(k, v)| Attribute::new(crate::intern(k), value(v)))
        .collect()
}

#[inline]
fn value(v: Val<'_>) -> Value {
    let owned = |s: &str| -> Str { s.to_string().into() };
    match v {
        Val::Str(s) => Value::String(crate::intern_value(s)),
        Val::Int(i) => Value::I64(i),
        Val::Double(f) => Value::F64(f),
        Val::Bool(b) => Value::Bool(b),
        Val::StrArray(a) => Value::StringArray(a.into_iter().map(owned).collect()),
        Val::IntArray(a) => Value::I64Array(a),
        Val::DoubleArray(a) => Value::F64Array(a),
        Val::BoolArray(a) => Value::BoolArray(a),
        Val::Json(s) => json_value(s).0,
    }
}

/// A JSON item's value, and whether parts nested deeper than
/// [`MAX_JSON_DEPTH`] were replaced by a marker to parse it. Text that does
/// not parse otherwise is kept as a string.
fn json_value(s: &str) -> (Value, bool) {
    match serde_json::from_str(s) {
        Ok(j) => (Value::from_json(j), false),
        Err(_) => match cut_json_depth(s, MAX_JSON_DEPTH)
            .and_then(|cut| serde_json::from_str(&cut).ok())
        {
            Some(j) => (Value::from_json(j), true),
            None => (Value::String(s.to_string().into()), false),
        },
    }
}

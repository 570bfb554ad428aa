//! The packed span path for language bindings: one call starts a span with
//! its name and attributes, one call applies everything recorded on it and
//! ends it. Two crossings per span, whatever it holds (handles are freed in
//! batches, off the span's path).
//!
//! A record is UTF-8 text of NUL-separated fields; bindings build it with a
//! single string join and one encode, which is what makes it cheap from
//! Python (a per-attribute call costs microseconds there). The start record
//! begins with the span name; after that, and in the end record, fields come
//! in key/value pairs:
//!
//! - `key` then `text`: a string attribute.
//! - `"\x01" key` then JSON: a typed attribute. A JSON string, boolean,
//!   integer (fitting `i64`) or number becomes that scalar; an array whose
//!   items are all strings, all booleans, all integers or all numbers becomes
//!   a typed array; anything else (objects, mixed arrays, null) is stored as
//!   its JSON text.
//! - `"\x02" op` then its argument: something recorded on the span
//!   (see [`Op`]): `status`, `error`, `usage`, `llm`, `tool`, `agent`,
//!   `messages`, `trace`, `event`, `first_chunk`, `name`.

use crate::context::{agtrace_context_t, context};
use crate::error::{agtrace_error_t, agtrace_status_t, guard, FfiError, FfiResult};
use crate::span::{agtrace_kind_t, agtrace_span_t, kind, span};
use crate::tracer::agtrace_tracer_t;
use agtrace_core::{Attribute, Parent, Span, Status, TraceMeta, Usage, Value};
use serde_json::Value as Json;

const TYPED: char = '\x01';
const OP: char = '\x02';

/// Starts a span from a packed record (name, then attribute and op pairs)
/// under `parent` when not NULL, else under `remote_parent` when not NULL,
/// else as a new trace (the thread's current span is not consulted: bindings
/// keep their own). Returns the new span, released with `agtrace_span_free`
/// or `agtrace_span_free_many`; on failure returns NULL and, when `out_error`
/// is not NULL, an error naming the offending field (a failed call has no
/// effect, so a binding may pass NULL and repeat the call to get the error).
/// Meant for language bindings; C code is better served by
/// `agtrace_span_start`.
///
/// Thread-safe; never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_start_packed(
    tracer: *const agtrace_tracer_t,
    parent: *const agtrace_span_t,
    remote_parent: *const agtrace_context_t,
    kind_code: agtrace_kind_t,
    record: *const u8,
    record_len: usize,
    out_error: *mut *mut agtrace_error_t,
) -> *mut agtrace_span_t {
    let mut started = std::ptr::null_mut();
    guard(out_error, || {
        let t = crate::tracer::tracer(tracer)?;
        if t.is_shut_down() {
            return Err(agtrace_core::Error::ShutDown.into());
        }
        let text = record_text(record, record_len)?;
        let mut fields = text.split('\0');
        let name = fields.next().unwrap_or_default();
        if name.is_empty() {
            return Err(FfiError::invalid("record", "the span name is empty"));
        }
        let parent = if !parent.is_null() {
            let p = span(parent)?;
            Parent::from(&*p.span.lock().unwrap_or_else(|e| e.into_inner()))
        } else if !remote_parent.is_null() {
            context(remote_parent)?.parent()
        } else {
            Parent::Root
        };
        let kind = kind(kind_code)?;
        let mut attrs = Vec::new();
        let mut ops = Vec::new();
        decode_pairs(fields, &mut attrs, &mut ops)?;
        let mut s = t
            .span(agtrace_core::intern(name))
            .kind(kind)
            .parent(parent)
            .attributes(attrs)
            .start();
        for op in ops {
            op.apply(&mut s);
        }
        started = Box::into_raw(Box::new(agtrace_span_t::new(s)));
        Ok(())
    });
    started
}

/// Applies a packed record of attribute and op pairs (may be empty) to a
/// live span, without ending it. Events and first-chunk marks go through
/// here, since they carry the time of the call. Errors name the offending
/// field; every other pair is applied. Thread-safe; never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_record_packed(
    span: *const agtrace_span_t,
    record: *const u8,
    record_len: usize,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        apply_record(crate::span::span(span)?, record, record_len)
    })
}

/// Applies a packed record like `agtrace_span_record_packed`, then ends the
/// span. The span is ended even when the record is invalid (the error then
/// names the offending field), so a bad value never loses a span. Ending
/// twice gives `AGTRACE_ERR_ALREADY_ENDED`; after shutdown,
/// `AGTRACE_ERR_SHUT_DOWN`. The handle stays valid until freed, so the span
/// can still parent later spans. Thread-safe; never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_finish_packed(
    span: *const agtrace_span_t,
    record: *const u8,
    record_len: usize,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let s = crate::span::span(span)?;
        let applied = if record_len == 0 {
            Ok(())
        } else {
            apply_record(s, record, record_len)
        };
        let ended = s.end();
        applied.and(ended)
    })
}

/// Frees `len` span handles (NULL entries are skipped), as
/// `agtrace_span_free` does for each; one call for many lets a garbage
/// collected binding release handles in batches.
///
/// # Safety
/// `spans` must point to `len` handles, each NULL or from this library, not
/// freed and not in use by another thread.
///
/// Does not block.
#[no_mangle]
pub unsafe extern "C" fn agtrace_span_free_many(spans: *const *mut agtrace_span_t, len: usize) {
    if spans.is_null() || len == 0 {
        return;
    }
    // SAFETY: `len` readable handles (documented).
    for &s in unsafe { std::slice::from_raw_parts(spans, len) } {
        // SAFETY: as documented for each handle.
        unsafe { crate::span::agtrace_span_free(s) };
    }
}

/// Applies every pair; the first error is returned after the rest are
/// applied, so one bad value does not lose the others.
fn apply_record(target: &agtrace_span_t, record: *const u8, len: usize) -> FfiResult {
    let text = record_text(record, len)?;
    if text.is_empty() {
        return Ok(());
    }
    let mut attrs = Vec::new();
    let mut ops = Vec::new();
    let first_error = decode_pairs(text.split('\0'), &mut attrs, &mut ops).err();
    target.with(|s| {
        s.set_attributes(attrs);
        for op in ops {
            op.apply(s);
        }
        Ok(())
    })?;
    first_error.map_or(Ok(()), Err)
}

fn record_text<'a>(ptr: *const u8, len: usize) -> FfiResult<&'a str> {
    if len == 0 {
        return Ok("");
    }
    if ptr.is_null() {
        return Err(FfiError::null("record"));
    }
    // SAFETY: `len` readable bytes, live for the call (documented).
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    std::str::from_utf8(bytes).map_err(|e| {
        FfiError::new(
            crate::error::agtrace_status_t::AGTRACE_ERR_INVALID_UTF8,
            format!("`record` is not UTF-8 ({e})"),
        )
    })
}

/// Splits key/value pairs into attributes and ops, in order. A bad pair is
/// skipped and the first such error returned after the rest are decoded, so
/// one bad value does not lose the others.
fn decode_pairs<'a>(
    mut fields: impl Iterator<Item = &'a str>,
    attrs: &mut Vec<Attribute>,
    ops: &mut Vec<Op>,
) -> FfiResult {
    let mut first_error = None;
    while let Some(key) = fields.next() {
        let Some(value) = fields.next() else {
            return Err(first_error.unwrap_or_else(|| {
                FfiError::invalid("record", format!("`{}` has no value", printable(key)))
            }));
        };
        let decoded = if let Some(op) = key.strip_prefix(OP) {
            Op::parse(op, value).map(|o| ops.push(o))
        } else if let Some(key) = key.strip_prefix(TYPED) {
            serde_json::from_str(value)
                .map_err(|e| {
                    FfiError::invalid(format!("attribute {key}"), format!("not JSON ({e})"))
                })
                .and_then(|json| {
                    attrs.push(Attribute::new(checked_key(key)?, typed(json)));
                    Ok(())
                })
        } else {
            checked_key(key).map(|k| attrs.push(Attribute::new(k, value.to_string())))
        };
        if let Err(e) = decoded {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn checked_key(key: &str) -> FfiResult<agtrace_core::Str> {
    if key.is_empty() {
        return Err(FfiError::invalid("attribute key", "empty"));
    }
    if key.chars().any(char::is_control) {
        return Err(FfiError::invalid(
            format!("attribute key {}", printable(key)),
            "contains a control character",
        ));
    }
    Ok(agtrace_core::intern(key))
}

/// A key with control characters made visible, for error messages.
fn printable(s: &str) -> String {
    s.escape_debug().to_string()
}

/// The attribute value a JSON value stands for.
fn typed(json: Json) -> Value {
    match json {
        Json::String(s) => Value::from(s),
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::I64(i),
            None => n
                .as_f64()
                .map_or_else(|| Value::from(n.to_string()), Value::F64),
        },
        Json::Array(items) => typed_array(items),
        other => Value::json(&other),
    }
}

fn typed_array(items: Vec<Json>) -> Value {
    if items.iter().all(Json::is_string) {
        return Value::StringArray(
            items
                .into_iter()
                .map(|v| match v {
                    Json::String(s) => s.into(),
                    _ => unreachable!("checked above"),
                })
                .collect(),
        );
    }
    if let Some(v) = items.iter().map(Json::as_bool).collect::<Option<Vec<_>>>() {
        return Value::BoolArray(v);
    }
    if let Some(v) = items.iter().map(Json::as_i64).collect::<Option<Vec<_>>>() {
        return Value::I64Array(v);
    }
    if items.iter().all(Json::is_number) {
        if let Some(v) = items.iter().map(Json::as_f64).collect::<Option<Vec<_>>>() {
            return Value::F64Array(v);
        }
    }
    Value::json(&Json::Array(items))
}

/// What an op records, parsed and checked before anything is applied (so a
/// bad op at start starts nothing). Arguments:
/// - `status`: `0` unset, `1` ok, `2` followed by the error description.
/// - `error`: JSON `{"type", "message", "stacktrace"?}`; an `exception` event
///   and error status.
/// - `usage`: five comma-separated token counts: input, output, cache read,
///   cache creation, reasoning (empty means zero).
/// - `llm`: JSON `{"provider"?, "request_model"?, "response_model"?,
///   "response_id"?, "finish_reasons"?}`.
/// - `tool`: JSON `{"name", "call_id"?}`; `agent`: JSON `{"name", "id"?}`.
/// - `messages`: JSON `{"input"?, "output"?}` (recorded only when content
///   capture is on, then redacted).
/// - `trace`: JSON trace-level context `{"user_id"?, "session_id"?,
///   "conversation_id"?, "environment"?, "release"?, "tags"?, "metadata"?}`,
///   merged into the trace's.
/// - `event`: JSON `{"name", "attributes"?: {key: value}}`, timed now.
/// - `first_chunk`: the first chunk of a streamed response arrived now
///   (the argument is ignored).
/// - `name`: the span's new name.
enum Op {
    Status(Status),
    Usage(Usage),
    Name(String),
    Error {
        error_type: String,
        message: String,
        stacktrace: Option<String>,
    },
    Llm {
        provider: Option<String>,
        request_model: Option<String>,
        response_model: Option<String>,
        response_id: Option<String>,
        finish_reasons: Vec<String>,
    },
    Tool {
        name: String,
        call_id: Option<String>,
    },
    Agent {
        name: String,
        id: Option<String>,
    },
    Messages {
        input: Option<Json>,
        output: Option<Json>,
    },
    Event {
        name: String,
        attributes: Vec<Attribute>,
    },
    FirstChunk,
    Trace(TraceUpdate),
}

impl Op {
    fn parse(op: &str, arg: &str) -> FfiResult<Op> {
        Ok(match op {
            "status" => Op::Status(status(arg)?),
            "usage" => Op::Usage(usage(arg)?),
            "name" => Op::Name(arg.to_string()),
            "error" => {
                let o = object(op, arg)?;
                Op::Error {
                    error_type: text(&o, op, "type")?.unwrap_or_default(),
                    message: text(&o, op, "message")?.unwrap_or_default(),
                    stacktrace: text(&o, op, "stacktrace")?,
                }
            }
            "llm" => {
                let o = object(op, arg)?;
                Op::Llm {
                    provider: text(&o, op, "provider")?,
                    request_model: text(&o, op, "request_model")?,
                    response_model: text(&o, op, "response_model")?,
                    response_id: text(&o, op, "response_id")?,
                    finish_reasons: texts(&o, op, "finish_reasons")?,
                }
            }
            "tool" => {
                let o = object(op, arg)?;
                Op::Tool {
                    name: text(&o, op, "name")?.ok_or_else(|| missing(op, "name"))?,
                    call_id: text(&o, op, "call_id")?,
                }
            }
            "agent" => {
                let o = object(op, arg)?;
                Op::Agent {
                    name: text(&o, op, "name")?.ok_or_else(|| missing(op, "name"))?,
                    id: text(&o, op, "id")?,
                }
            }
            "messages" => {
                let mut o = object(op, arg)?;
                let mut take = |k: &str| o.remove(k).filter(|v| !v.is_null());
                Op::Messages {
                    input: take("input"),
                    output: take("output"),
                }
            }
            "event" => {
                let o = object(op, arg)?;
                let name = text(&o, op, "name")?.ok_or_else(|| missing(op, "name"))?;
                let attributes = match o.get("attributes") {
                    None | Some(Json::Null) => Vec::new(),
                    Some(Json::Object(m)) => m
                        .iter()
                        .map(|(k, v)| Ok(Attribute::new(checked_key(k)?, typed(v.clone()))))
                        .collect::<FfiResult<_>>()?,
                    Some(_) => {
                        return Err(FfiError::invalid("event.attributes", "not a JSON object"))
                    }
                };
                Op::Event { name, attributes }
            }
            "first_chunk" => Op::FirstChunk,
            "trace" => Op::Trace(trace_update(op, arg)?),
            other => {
                return Err(FfiError::invalid(
                    "record",
                    format!("unknown op `{}`", printable(other)),
                ))
            }
        })
    }

    fn apply(self, s: &mut Span) {
        match self {
            Op::Status(status) => s.set_status(status),
            Op::Usage(usage) => s.set_usage(usage),
            Op::Name(name) => s.update_name(name),
            Op::Error {
                error_type,
                message,
                stacktrace,
            } => s.record_error(error_type, message, stacktrace),
            Op::Llm {
                provider,
                request_model,
                response_model,
                response_id,
                finish_reasons,
            } => {
                if let Some(v) = provider {
                    s.set_provider(v);
                }
                if let Some(v) = request_model {
                    s.set_request_model(v);
                }
                if let Some(v) = response_model {
                    s.set_response_model(v);
                }
                if let Some(v) = response_id {
                    s.set_response_id(v);
                }
                if !finish_reasons.is_empty() {
                    s.set_finish_reasons(finish_reasons);
                }
            }
            Op::Tool { name, call_id } => s.set_tool(name, call_id),
            Op::Agent { name, id } => s.set_agent(name, id),
            Op::Messages { input, output } => {
                if let Some(v) = &input {
                    s.set_input_messages(v);
                }
                if let Some(v) = &output {
                    s.set_output_messages(v);
                }
            }
            Op::Event { name, attributes } => s.add_event(agtrace_core::intern(&name), attributes),
            Op::FirstChunk => s.mark_first_chunk(),
            Op::Trace(update) => s.update_trace(|t| update.apply(t)),
        }
    }
}

fn status(arg: &str) -> FfiResult<Status> {
    match arg.split_at_checked(1) {
        Some(("0", "")) => Ok(Status::Unset),
        Some(("1", "")) => Ok(Status::Ok),
        Some(("2", description)) => Ok(Status::Error(description.to_string().into())),
        _ => Err(FfiError::invalid(
            "status",
            format!("`{}` is not 0, 1 or 2<description>", printable(arg)),
        )),
    }
}

fn usage(arg: &str) -> FfiResult<Usage> {
    let mut n = [0u64; 5];
    let parts: Vec<&str> = arg.split(',').collect();
    if parts.len() != n.len() {
        return Err(FfiError::invalid(
            "usage",
            format!(
                "expected 5 comma-separated counts, got `{}`",
                printable(arg)
            ),
        ));
    }
    for (slot, part) in n.iter_mut().zip(parts) {
        if !part.is_empty() {
            *slot = part.parse().map_err(|_| {
                FfiError::invalid(
                    "usage",
                    format!("`{}` is not a token count", printable(part)),
                )
            })?;
        }
    }
    Ok(Usage {
        input_tokens: n[0],
        output_tokens: n[1],
        cache_read_input_tokens: n[2],
        cache_creation_input_tokens: n[3],
        reasoning_output_tokens: n[4],
    })
}

type Object = serde_json::Map<String, Json>;

fn object(op: &str, arg: &str) -> FfiResult<Object> {
    match serde_json::from_str(arg) {
        Ok(Json::Object(o)) => Ok(o),
        Ok(_) => Err(FfiError::invalid(op, "not a JSON object")),
        Err(e) => Err(FfiError::invalid(op, format!("not JSON ({e})"))),
    }
}

fn missing(op: &str, field: &str) -> FfiError {
    FfiError::invalid(format!("{op}.{field}"), "required")
}

fn text(o: &Object, op: &str, field: &str) -> FfiResult<Option<String>> {
    match o.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(FfiError::invalid(format!("{op}.{field}"), "not a string")),
    }
}

fn texts(o: &Object, op: &str, field: &str) -> FfiResult<Vec<String>> {
    match o.get(field) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| FfiError::invalid(format!("{op}.{field}"), "not a string list"))
            })
            .collect(),
        Some(_) => Err(FfiError::invalid(
            format!("{op}.{field}"),
            "not a string list",
        )),
    }
}

/// A change to a trace's context: absent fields are left as they are;
/// metadata is merged; tags, when given, replace the trace's tags.
pub(crate) struct TraceUpdate {
    pub(crate) user_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) conversation_id: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) metadata: Option<Object>,
}

impl TraceUpdate {
    pub(crate) fn apply(self, t: &mut TraceMeta) {
        t.user_id = self.user_id.or(t.user_id.take());
        t.session_id = self.session_id.or(t.session_id.take());
        t.conversation_id = self.conversation_id.or(t.conversation_id.take());
        t.environment = self.environment.or(t.environment.take());
        t.release = self.release.or(t.release.take());
        if !self.tags.is_empty() {
            t.tags = self.tags;
        }
        if let Some(m) = self.metadata {
            t.metadata.extend(m);
        }
    }
}

fn trace_update(op: &str, arg: &str) -> FfiResult<TraceUpdate> {
    let o = object(op, arg)?;
    let metadata = match o.get("metadata") {
        None | Some(Json::Null) => None,
        Some(Json::Object(m)) => Some(m.clone()),
        Some(_) => {
            return Err(FfiError::invalid(
                format!("{op}.metadata"),
                "not a JSON object",
            ))
        }
    };
    Ok(TraceUpdate {
        user_id: text(&o, op, "user_id")?,
        session_id: text(&o, op, "session_id")?,
        conversation_id: text(&o, op, "conversation_id")?,
        environment: text(&o, op, "environment")?,
        release: text(&o, op, "release")?,
        tags: texts(&o, op, "tags")?,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_map_to_typed_attributes() {
        assert_eq!(typed(serde_json::json!("x")), Value::from("x".to_string()));
        assert_eq!(typed(serde_json::json!(3)), Value::I64(3));
        assert_eq!(typed(serde_json::json!(2.5)), Value::F64(2.5));
        assert_eq!(typed(serde_json::json!(true)), Value::Bool(true));
        assert_eq!(
            typed(serde_json::json!([1, 2])),
            Value::I64Array(vec![1, 2])
        );
        assert_eq!(
            typed(serde_json::json!([1, 2.5])),
            Value::F64Array(vec![1.0, 2.5])
        );
        assert_eq!(
            typed(serde_json::json!([true])),
            Value::BoolArray(vec![true])
        );
        assert_eq!(
            typed(serde_json::json!(["a", "b"])),
            Value::StringArray(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            typed(serde_json::json!(["a", 1])),
            Value::from(r#"["a",1]"#.to_string())
        );
        assert_eq!(
            typed(serde_json::json!({"k": 1})),
            Value::from(r#"{"k":1}"#.to_string())
        );
        assert_eq!(
            typed(serde_json::json!(u64::MAX)),
            Value::F64(u64::MAX as f64)
        );
    }

    #[test]
    fn pairs_split_into_attributes_and_ops() {
        let mut attrs = Vec::new();
        let mut ops = Vec::new();
        let text = "a\0x\0\x01n\x007\0\x02usage\x001,2,,,";
        decode_pairs(text.split('\0'), &mut attrs, &mut ops).unwrap();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].value, Value::from("x".to_string()));
        assert_eq!(attrs[1].value, Value::I64(7));
        assert!(matches!(
            ops[..],
            [Op::Usage(Usage {
                input_tokens: 1,
                output_tokens: 2,
                ..
            })]
        ));
    }

    #[test]
    fn a_bad_pair_does_not_lose_the_others() {
        let mut attrs = Vec::new();
        let mut ops = Vec::new();
        let text = "a\x07b\0v\0ok\0yes\0\x01n\0{bad\0\x01m\x002";
        let e = decode_pairs(text.split('\0'), &mut attrs, &mut ops).unwrap_err();
        assert!(e.message.contains("control character"), "{e:?}");
        let keys: Vec<&str> = attrs.iter().map(|a| &*a.key).collect();
        assert_eq!(keys, ["ok", "m"]);
    }

    #[test]
    fn bad_records_name_what_is_wrong() {
        let mut attrs = Vec::new();
        let mut ops = Vec::new();
        let e = decode_pairs("lonely".split('\0'), &mut attrs, &mut ops).unwrap_err();
        assert!(e.message.contains("`lonely` has no value"), "{e:?}");
        let e = decode_pairs("\x01k\0{bad".split('\0'), &mut attrs, &mut ops).unwrap_err();
        assert!(e.message.contains("attribute k"), "{e:?}");
        let e = decode_pairs("a\x07b\0v".split('\0'), &mut attrs, &mut ops).unwrap_err();
        assert!(e.message.contains("control character"), "{e:?}");
        assert!(usage("1,2").unwrap_err().message.contains("usage"));
        assert!(usage("1,x,,,").unwrap_err().message.contains("`x`"));
        assert!(status("3").is_err());
        assert_eq!(status("2boom").unwrap(), Status::Error("boom".into()));
    }
}

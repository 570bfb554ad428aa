//! Spans: start with options, record, end, free.

use crate::context::{agtrace_context_t, context};
use crate::error::{agtrace_error_t, agtrace_status_t, guard, guard_value, FfiError, FfiResult};
use crate::string::agtrace_str_t;
use crate::tracer::agtrace_tracer_t;
use crate::value::{agtrace_attribute_t, attributes};
use agtrace_core::{Parent, Span, SpanKind, Status, Usage};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// What a span is in an agent's run (`agtrace_span_options_t.kind`).
#[allow(non_camel_case_types)]
pub type agtrace_kind_t = u32;
pub const AGTRACE_KIND_PLAIN: agtrace_kind_t = 0;
pub const AGTRACE_KIND_AGENT: agtrace_kind_t = 1;
pub const AGTRACE_KIND_WORKFLOW: agtrace_kind_t = 2;
pub const AGTRACE_KIND_TASK: agtrace_kind_t = 3;
pub const AGTRACE_KIND_LLM: agtrace_kind_t = 4;
pub const AGTRACE_KIND_EMBEDDING: agtrace_kind_t = 5;
pub const AGTRACE_KIND_RETRIEVER: agtrace_kind_t = 6;
pub const AGTRACE_KIND_RERANKER: agtrace_kind_t = 7;
pub const AGTRACE_KIND_TOOL: agtrace_kind_t = 8;
pub const AGTRACE_KIND_GUARDRAIL: agtrace_kind_t = 9;
pub const AGTRACE_KIND_EVALUATOR: agtrace_kind_t = 10;

/// Where a new span sits (`agtrace_parent_t.kind`).
#[allow(non_camel_case_types)]
pub type agtrace_parent_kind_t = u32;
/// The calling thread's current span (see `agtrace_span_enter`), or a new
/// trace when there is none. The zero value.
pub const AGTRACE_PARENT_CURRENT: agtrace_parent_kind_t = 0;
/// A new trace.
pub const AGTRACE_PARENT_ROOT: agtrace_parent_kind_t = 1;
/// A child of `span`.
pub const AGTRACE_PARENT_SPAN: agtrace_parent_kind_t = 2;
/// A child of `context` (from `agtrace_extract` or `agtrace_span_context`).
pub const AGTRACE_PARENT_CONTEXT: agtrace_parent_kind_t = 3;

/// The parent of a new span.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct agtrace_parent_t {
    pub kind: agtrace_parent_kind_t,
    pub span: *const agtrace_span_t,
    pub context: *const agtrace_context_t,
}

/// Everything a span starts with. Zero-initialize, then set what you need:
/// the zero value is a plain span under the thread's current span.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct agtrace_span_options_t {
    /// Required.
    pub name: agtrace_str_t,
    pub kind: agtrace_kind_t,
    pub parent: agtrace_parent_t,
    pub attributes: *const agtrace_attribute_t,
    pub attributes_len: usize,
}

/// Status codes for `agtrace_span_set_status`.
#[allow(non_camel_case_types)]
pub type agtrace_status_code_t = u32;
pub const AGTRACE_STATUS_UNSET: agtrace_status_code_t = 0;
pub const AGTRACE_STATUS_OK: agtrace_status_code_t = 1;
pub const AGTRACE_STATUS_ERROR: agtrace_status_code_t = 2;

/// A model call's identity; absent strings (`{NULL, 0}`) are not set.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct agtrace_llm_t {
    pub provider: agtrace_str_t,
    pub request_model: agtrace_str_t,
    pub response_model: agtrace_str_t,
    pub response_id: agtrace_str_t,
    pub finish_reasons: *const agtrace_str_t,
    pub finish_reasons_len: usize,
}

/// Token usage of a model call; zero means not reported.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct agtrace_usage_t {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub reasoning_output_tokens: u64,
}

/// Trace-level context, applied to every span of the span's trace. Absent
/// strings are left unchanged; `tags` (when `tags_len` > 0) replace the tags.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct agtrace_trace_meta_t {
    pub user_id: agtrace_str_t,
    pub session_id: agtrace_str_t,
    pub conversation_id: agtrace_str_t,
    pub environment: agtrace_str_t,
    pub release: agtrace_str_t,
    pub tags: *const agtrace_str_t,
    pub tags_len: usize,
    /// A JSON object merged into the trace's metadata.
    pub metadata_json: agtrace_str_t,
}

/// A span. Opaque; thread-safe (calls on one span are serialized). Create
/// with `agtrace_span_start`; end with `agtrace_span_end`; release with
/// `agtrace_span_free` (which ends it, marked abandoned, if needed).
#[allow(non_camel_case_types)]
pub struct agtrace_span_t {
    /// Unique for the life of the process (addresses are reused after free).
    pub(crate) id: u64,
    state: Mutex<State>,
    /// Counts use after end (without keeping the tracer alive).
    misuse: agtrace_core::MisuseReporter,
}

struct State {
    span: Span,
    ended: bool,
}

pub(crate) fn span<'a>(s: *const agtrace_span_t) -> FfiResult<&'a agtrace_span_t> {
    // SAFETY: NULL or a live span from this library (documented).
    unsafe { s.as_ref() }.ok_or_else(|| FfiError::null("span"))
}

/// A process-unique span id without a shared atomic per span: each thread
/// takes a block of 2^32 ids once.
fn next_id() -> u64 {
    static BLOCKS: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static NEXT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    NEXT.with(|n| {
        let mut id = n.get();
        if id & 0xffff_ffff == 0 {
            id = BLOCKS.fetch_add(1, Ordering::Relaxed) << 32 | 1;
        }
        n.set(id + 1);
        id
    })
}

impl agtrace_span_t {
    pub(crate) fn new(span: Span, misuse: agtrace_core::MisuseReporter) -> Self {
        agtrace_span_t {
            id: next_id(),
            state: Mutex::new(State { span, ended: false }),
            misuse,
        }
    }

    fn ended_twice(&self) -> FfiError {
        const DETAIL: &str = "the span was already ended";
        self.misuse.report(agtrace_core::Misuse::EndedTwice, DETAIL);
        FfiError::new(agtrace_status_t::AGTRACE_ERR_ALREADY_ENDED, DETAIL)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the span, ended or not (reading its context).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Span) -> R) -> R {
        f(&self.lock().span)
    }

    /// Ends the span once; after shutdown it is ended (and counted as
    /// dropped) but reported.
    pub(crate) fn end(&self) -> FfiResult {
        let mut s = self.lock();
        if std::mem::replace(&mut s.ended, true) {
            return Err(self.ended_twice());
        }
        let shut_down = s.span.tracer_is_shut_down();
        s.span.end();
        if shut_down {
            return Err(FfiError::new(
                agtrace_status_t::AGTRACE_ERR_SHUT_DOWN,
                "the tracer was shut down; the span was ended but will not be exported",
            ));
        }
        Ok(())
    }

    /// Runs `f` on a live span of a running tracer.
    pub(crate) fn with(&self, f: impl FnOnce(&mut Span) -> FfiResult) -> FfiResult {
        let mut s = self.lock();
        if s.ended {
            return Err(self.ended_twice());
        }
        if s.span.tracer_is_shut_down() {
            return Err(FfiError::new(
                agtrace_status_t::AGTRACE_ERR_SHUT_DOWN,
                "the tracer was shut down; the span will not be exported",
            ));
        }
        f(&mut s.span)
    }
}

pub(crate) fn kind(k: agtrace_kind_t) -> FfiResult<SpanKind> {
    u8::try_from(k)
        .ok()
        .and_then(SpanKind::from_code)
        .ok_or_else(|| FfiError::invalid("kind", format!("unknown span kind {k}")))
}

fn parent(p: &agtrace_parent_t) -> FfiResult<Parent> {
    Ok(match p.kind {
        AGTRACE_PARENT_CURRENT => Parent::Current,
        AGTRACE_PARENT_ROOT => Parent::Root,
        AGTRACE_PARENT_SPAN => {
            let s = span(p.span).map_err(|_| FfiError::null("parent.span"))?;
            s.read(|s| Parent::from(s))
        }
        AGTRACE_PARENT_CONTEXT => context(p.context)
            .map_err(|_| FfiError::null("parent.context"))?
            .parent(),
        other => {
            return Err(FfiError::invalid(
                "parent.kind",
                format!("unknown parent kind {other}"),
            ))
        }
    })
}

/// Starts a span. On success `*out_span` is a new span the caller frees with
/// `agtrace_span_free`; on failure it is NULL. After shutdown this fails with
/// `AGTRACE_ERR_SHUT_DOWN`. Thread-safe; never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_start(
    tracer: *const agtrace_tracer_t,
    options: *const agtrace_span_options_t,
    out_span: *mut *mut agtrace_span_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        if out_span.is_null() {
            return Err(FfiError::null("out_span"));
        }
        // SAFETY: checked non-NULL; writable (documented).
        unsafe { *out_span = std::ptr::null_mut() };
        let t = crate::tracer::tracer(tracer)?;
        // SAFETY: NULL or a readable options struct (documented).
        let o = unsafe { options.as_ref() }.ok_or_else(|| FfiError::null("options"))?;
        if t.is_shut_down() {
            return Err(agtrace_core::Error::ShutDown.into());
        }
        let name = o.name.get("options.name")?;
        let kind = kind(o.kind)?;
        let parent = parent(&o.parent)?;
        let s = crate::value::with_attributes(o.attributes, o.attributes_len, |attrs| {
            let mut s = t
                .span(agtrace_core::intern(name))
                .kind(kind)
                .parent(parent)
                .start();
            s.set_attributes(attrs.drain(..));
            s
        })?;
        let boxed = Box::new(agtrace_span_t::new(s, t.misuse_reporter()));
        // SAFETY: as above.
        unsafe { *out_span = Box::into_raw(boxed) };
        Ok(())
    })
}

/// Ends the span and hands it to the export pipeline; never blocks. Ending
/// twice returns `AGTRACE_ERR_ALREADY_ENDED` and changes nothing. After the
/// tracer's shutdown the span is ended, counted as dropped, and the call
/// returns `AGTRACE_ERR_SHUT_DOWN`. The handle
/// stays valid until `agtrace_span_free`. Thread-safe.
#[no_mangle]
pub extern "C" fn agtrace_span_end(
    span: *const agtrace_span_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || crate::span::span(span)?.end())
}

/// Frees the handle. A span not ended is ended now, marked abandoned
/// (`agtrace.abandoned = true`); a span entered on this thread is exited.
/// NULL is ignored.
///
/// # Safety
/// `span` must be NULL or from `agtrace_span_start`, not yet freed, and not
/// in use by another thread. Using it afterwards is undefined behaviour.
///
/// Not thread-safe for the same span; does not block (ending only queues the span).
#[no_mangle]
pub unsafe extern "C" fn agtrace_span_free(span: *mut agtrace_span_t) {
    if !span.is_null() {
        guard_value((), || {
            // SAFETY: ownership comes back from the caller (documented).
            let s = unsafe { Box::from_raw(span) };
            crate::context::forget_entered(s.id);
        });
    }
}

/// True while the span records: false once ended, and for spans not sampled.
/// NULL gives false. Thread-safe.
///
/// Does not block.
#[no_mangle]
pub extern "C" fn agtrace_span_is_recording(span: *const agtrace_span_t) -> bool {
    guard_value(false, || {
        crate::span::span(span).is_ok_and(|s| s.read(Span::is_recording))
    })
}

/// Sets `len` attributes in one call, all or nothing. Strings are copied.
/// Thread-safe; never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_set_attributes(
    span: *const agtrace_span_t,
    attributes_ptr: *const agtrace_attribute_t,
    len: usize,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let s = crate::span::span(span)?;
        crate::value::with_attributes(attributes_ptr, len, |attrs| {
            s.with(|s| {
                s.set_attributes(attrs.drain(..));
                Ok(())
            })
        })?
    })
}

/// Adds an event with attributes, timestamped now. Thread-safe.
///
/// Never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_add_event(
    span: *const agtrace_span_t,
    name: agtrace_str_t,
    attributes_ptr: *const agtrace_attribute_t,
    len: usize,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let name = agtrace_core::intern(name.get("name")?);
        let attrs = attributes(attributes_ptr, len)?;
        crate::span::span(span)?.with(|s| {
            s.add_event(name, attrs);
            Ok(())
        })
    })
}

/// Records an error as an OpenTelemetry `exception` event (type, message,
/// optional stack trace) and sets the status to error. Thread-safe.
///
/// Never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_record_error(
    span: *const agtrace_span_t,
    error_type: agtrace_str_t,
    message: agtrace_str_t,
    stacktrace: agtrace_str_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let ty = error_type.get("error_type")?.to_string();
        let msg = message.get("message")?.to_string();
        let st = stacktrace.opt("stacktrace")?.map(str::to_string);
        crate::span::span(span)?.with(|s| {
            s.record_error(ty, msg, st);
            Ok(())
        })
    })
}

/// Sets the status (`AGTRACE_STATUS_*`); the description is used for
/// errors. `OK` is final. Thread-safe.
///
/// Never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_set_status(
    span: *const agtrace_span_t,
    code: agtrace_status_code_t,
    description: agtrace_str_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let status = match code {
            AGTRACE_STATUS_UNSET => Status::Unset,
            AGTRACE_STATUS_OK => Status::Ok,
            AGTRACE_STATUS_ERROR => Status::Error(
                description
                    .opt("description")?
                    .unwrap_or_default()
                    .to_string()
                    .into(),
            ),
            other => {
                return Err(FfiError::invalid(
                    "code",
                    format!("unknown status code {other}"),
                ))
            }
        };
        crate::span::span(span)?.with(|s| {
            s.set_status(status);
            Ok(())
        })
    })
}

/// Links the span to another span's context, with attributes. Thread-safe.
///
/// Never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_add_link(
    span: *const agtrace_span_t,
    target: *const agtrace_context_t,
    attributes_ptr: *const agtrace_attribute_t,
    len: usize,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let target = context(target)?.span_context();
        let attrs = attributes(attributes_ptr, len)?;
        crate::span::span(span)?.with(|s| {
            s.add_link(target, attrs);
            Ok(())
        })
    })
}

/// Sets the GenAI attributes of a model call (provider, models, response id,
/// finish reasons). Thread-safe.
///
/// Never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_set_llm(
    span: *const agtrace_span_t,
    llm: *const agtrace_llm_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        // SAFETY: NULL or readable (documented).
        let l = unsafe { llm.as_ref() }.ok_or_else(|| FfiError::null("llm"))?;
        let owned = |v: agtrace_str_t, what: &str| v.opt(what).map(|o| o.map(str::to_string));
        let provider = owned(l.provider, "llm.provider")?;
        let request = owned(l.request_model, "llm.request_model")?;
        let response = owned(l.response_model, "llm.response_model")?;
        let id = owned(l.response_id, "llm.response_id")?;
        let reasons = strings(l.finish_reasons, l.finish_reasons_len, "llm.finish_reasons")?;
        crate::span::span(span)?.with(|s| {
            if let Some(v) = provider {
                s.set_provider(v);
            }
            if let Some(v) = request {
                s.set_request_model(v);
            }
            if let Some(v) = response {
                s.set_response_model(v);
            }
            if let Some(v) = id {
                s.set_response_id(v);
            }
            if !reasons.is_empty() {
                s.set_finish_reasons(reasons);
            }
            Ok(())
        })
    })
}

/// Sets token usage (rolled up to every ancestor when the span is
/// exported). Thread-safe.
///
/// Never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_set_usage(
    span: *const agtrace_span_t,
    usage: *const agtrace_usage_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        // SAFETY: NULL or readable (documented).
        let u = unsafe { usage.as_ref() }.ok_or_else(|| FfiError::null("usage"))?;
        crate::span::span(span)?.with(|s| {
            s.set_usage(Usage {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                cache_read_input_tokens: u.cache_read_input_tokens,
                cache_creation_input_tokens: u.cache_creation_input_tokens,
                reasoning_output_tokens: u.reasoning_output_tokens,
            });
            Ok(())
        })
    })
}

/// Sets `gen_ai.tool.name` and, when given, `gen_ai.tool.call.id`.
/// Thread-safe.
///
/// Never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_set_tool(
    span: *const agtrace_span_t,
    name: agtrace_str_t,
    call_id: agtrace_str_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let name = name.get("name")?.to_string();
        let id = call_id.opt("call_id")?.map(str::to_string);
        crate::span::span(span)?.with(|s| {
            s.set_tool(name, id);
            Ok(())
        })
    })
}

/// Sets `gen_ai.agent.name` and, when given, `gen_ai.agent.id`. Thread-safe.
///
/// Never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_set_agent(
    span: *const agtrace_span_t,
    name: agtrace_str_t,
    id: agtrace_str_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let name = name.get("name")?.to_string();
        let id = id.opt("id")?.map(str::to_string);
        crate::span::span(span)?.with(|s| {
            s.set_agent(name, id);
            Ok(())
        })
    })
}

/// Sets input and output messages (JSON arrays, either may be absent).
/// Recorded only when content capture is on (`AGTRACE_CAPTURE_CONTENT`),
/// then redacted by the tracer's rules. Thread-safe.
///
/// Never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_set_messages(
    span: *const agtrace_span_t,
    input_json: agtrace_str_t,
    output_json: agtrace_str_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let parse = |v: agtrace_str_t, what: &str| -> FfiResult<Option<serde_json::Value>> {
            v.opt(what)?
                .map(|t| {
                    serde_json::from_str(t)
                        .map_err(|e| FfiError::invalid(what, format!("not JSON ({e})")))
                })
                .transpose()
        };
        let input = parse(input_json, "input_json")?;
        let output = parse(output_json, "output_json")?;
        crate::span::span(span)?.with(|s| {
            if let Some(v) = &input {
                s.set_input_messages(v);
            }
            if let Some(v) = &output {
                s.set_output_messages(v);
            }
            Ok(())
        })
    })
}

/// Sets trace-level context (user, session, conversation, tags, metadata,
/// environment, release) for every span of this span's trace. Thread-safe.
///
/// Never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_set_trace_meta(
    span: *const agtrace_span_t,
    meta: *const agtrace_trace_meta_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        // SAFETY: NULL or readable (documented).
        let m = unsafe { meta.as_ref() }.ok_or_else(|| FfiError::null("meta"))?;
        let owned = |v: agtrace_str_t, what: &str| v.opt(what).map(|o| o.map(str::to_string));
        let metadata = match m.metadata_json.opt("meta.metadata_json")? {
            Some(t) => match serde_json::from_str(t) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => return Err(FfiError::invalid("meta.metadata_json", "not a JSON object")),
            },
            None => Default::default(),
        };
        let update = agtrace_core::TraceMeta {
            user_id: owned(m.user_id, "meta.user_id")?,
            session_id: owned(m.session_id, "meta.session_id")?,
            conversation_id: owned(m.conversation_id, "meta.conversation_id")?,
            environment: owned(m.environment, "meta.environment")?,
            release: owned(m.release, "meta.release")?,
            tags: strings(m.tags, m.tags_len, "meta.tags")?,
            metadata,
        };
        crate::span::span(span)?.with(|s| {
            s.update_trace(|t| *t = update);
            Ok(())
        })
    })
}

fn strings(ptr: *const agtrace_str_t, len: usize, what: &str) -> FfiResult<Vec<String>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: `len` readable elements (documented).
    unsafe { std::slice::from_raw_parts(ptr, len) }
        .iter()
        .map(|s| s.get(what).map(str::to_string))
        .collect()
}

/// Records that the first chunk of a streamed response arrived now
/// (`gen_ai.response.time_to_first_chunk`). Thread-safe; never blocks.
#[no_mangle]
pub extern "C" fn agtrace_span_mark_first_chunk(
    span: *const agtrace_span_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        crate::span::span(span)?.with(|s| {
            s.mark_first_chunk();
            Ok(())
        })
    })
}

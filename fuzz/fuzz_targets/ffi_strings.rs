//! The C ABI's string and JSON inputs (`ffi/src`), called through the Rust
//! functions of the ffi crate as C calls them: span names, attribute keys
//! and values (strings, string arrays, JSON), event names, error texts,
//! status descriptions, LLM/tool/agent fields, messages JSON, trace
//! metadata JSON and tags, propagation headers, settings, misuse details.
//! Every string is the fuzzer's bytes (not necessarily UTF-8), passed with
//! its length.
//!
//! Asserts: no panic (the ABI's guard would turn one into
//! `AGTRACE_ERR_PANIC`, which fails the target); a call fails only with a
//! status its documentation names for bad input.
#![no_main]

use agtrace::*;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use std::ptr::{null, null_mut};

#[derive(Arbitrary, Debug)]
enum Val {
    Str(Vec<u8>),
    Json(Vec<u8>),
    Strs(Vec<Vec<u8>>),
    Int(i64),
    Double(f64),
    /// An unknown value type.
    Other(u32),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Start {
        name: Vec<u8>,
        kind: u32,
        parent: u8,
        attrs: Vec<(Vec<u8>, Val)>,
    },
    SetAttributes(Vec<(Vec<u8>, Val)>),
    AddEvent {
        name: Vec<u8>,
        attrs: Vec<(Vec<u8>, Val)>,
    },
    RecordError {
        ty: Vec<u8>,
        message: Vec<u8>,
        stack: Option<Vec<u8>>,
    },
    SetStatus {
        code: u32,
        description: Option<Vec<u8>>,
    },
    SetLlm {
        provider: Option<Vec<u8>>,
        request: Option<Vec<u8>>,
        reasons: Vec<Vec<u8>>,
    },
    SetTool {
        name: Vec<u8>,
        call_id: Option<Vec<u8>>,
    },
    SetAgent {
        name: Vec<u8>,
        id: Option<Vec<u8>>,
    },
    SetMessages {
        input: Option<Vec<u8>>,
        output: Option<Vec<u8>>,
    },
    SetTraceMeta {
        user: Option<Vec<u8>>,
        tags: Vec<Vec<u8>>,
        metadata: Option<Vec<u8>>,
    },
    Header {
        name: Vec<u8>,
        value: Vec<u8>,
    },
    Extract,
    Setting {
        name: Vec<u8>,
        value: Vec<u8>,
    },
    Misuse {
        kind: u32,
        detail: Vec<u8>,
    },
    AddTag(Vec<u8>),
    End,
    Free,
}

fn s(bytes: &[u8]) -> agtrace_str_t {
    agtrace_str_t {
        ptr: bytes.as_ptr().cast(),
        len: bytes.len(),
    }
}

fn opt(bytes: &Option<Vec<u8>>) -> agtrace_str_t {
    bytes.as_deref().map_or(
        agtrace_str_t {
            ptr: null(),
            len: 0,
        },
        s,
    )
}

/// Checks a status: bad input may fail a call, a panic never.
fn check(status: agtrace_status_t, error: *mut agtrace_error_t) {
    use agtrace_status_t::*;
    assert!(
        matches!(
            status,
            AGTRACE_OK
                | AGTRACE_ERR_NULL_ARGUMENT
                | AGTRACE_ERR_INVALID_ARGUMENT
                | AGTRACE_ERR_INVALID_UTF8
                | AGTRACE_ERR_ALREADY_ENDED
        ),
        "{status:?}: {:?}",
        (!error.is_null())
            .then(|| unsafe { std::ffi::CStr::from_ptr(agtrace_error_message(error)).to_owned() })
    );
    // SAFETY: NULL or an error this library returned.
    unsafe { agtrace_error_free(error) };
}

/// Attributes as C lays them out; the Vecs own the bytes they point into.
struct Attrs {
    strs: Vec<Vec<agtrace_str_t>>,
    attrs: Vec<agtrace_attribute_t>,
}

fn attrs(list: &[(Vec<u8>, Val)]) -> Attrs {
    let strs: Vec<Vec<agtrace_str_t>> = list
        .iter()
        .map(|(_, v)| match v {
            Val::Strs(items) => items.iter().map(|i| s(i)).collect(),
            _ => Vec::new(),
        })
        .collect();
    let attrs = list
        .iter()
        .zip(&strs)
        .map(|((key, v), array)| {
            let mut value = agtrace_value_t {
                r#type: AGTRACE_VALUE_STRING,
                boolean: false,
                integer: 0,
                number: 0.0,
                string: agtrace_str_t {
                    ptr: null(),
                    len: 0,
                },
                array: null(),
                array_len: 0,
            };
            match v {
                Val::Str(b) => value.string = s(b),
                Val::Json(b) => {
                    value.r#type = AGTRACE_VALUE_JSON;
                    value.string = s(b);
                }
                Val::Strs(_) => {
                    value.r#type = AGTRACE_VALUE_STRING_ARRAY;
                    value.array = array.as_ptr().cast();
                    value.array_len = array.len();
                }
                Val::Int(i) => {
                    value.r#type = AGTRACE_VALUE_INT;
                    value.integer = *i;
                }
                Val::Double(d) => {
                    value.r#type = AGTRACE_VALUE_DOUBLE;
                    value.number = *d;
                }
                Val::Other(t) => value.r#type = *t,
            }
            agtrace_attribute_t { key: s(key), value }
        })
        .collect();
    Attrs { strs, attrs }
}

struct Harness {
    tracer: *mut agtrace_tracer_t,
}

thread_local! {
    static HARNESS: Harness = {
        let config = agtrace_config_new();
        let mut error = null_mut();
        for (k, v) in [("AGTRACE_EXPORTERS", "none"), ("AGTRACE_CAPTURE_CONTENT", "true")] {
            check(agtrace_config_set(config, s(k.as_bytes()), s(v.as_bytes()), &mut error), error);
        }
        check(agtrace_config_ignore_env(config, &mut error), error);
        let mut tracer = null_mut();
        assert_eq!(agtrace_tracer_new(config, &mut tracer, &mut error), agtrace_status_t::AGTRACE_OK);
        // SAFETY: from agtrace_config_new, freed once.
        unsafe { agtrace_config_free(config) };
        Harness { tracer }
    };
}

fuzz_target!(|ops: Vec<Op>| {
    HARNESS.with(|h| {
        let t = h.tracer;
        let mut spans: Vec<*mut agtrace_span_t> = Vec::new();
        let headers = agtrace_headers_new();
        let mut context: *mut agtrace_context_t = null_mut();
        let mut error = null_mut();
        for op in &ops {
            let span = spans.last().copied().unwrap_or(null_mut());
            match op {
                Op::Start {
                    name,
                    kind,
                    parent,
                    attrs: list,
                } => {
                    let a = attrs(list);
                    let options = agtrace_span_options_t {
                        name: s(name),
                        kind: *kind,
                        parent: agtrace_parent_t {
                            kind: u32::from(*parent % 5),
                            span,
                            context,
                        },
                        attributes: a.attrs.as_ptr(),
                        attributes_len: a.attrs.len(),
                    };
                    let mut out = null_mut();
                    check(agtrace_span_start(t, &options, &mut out, &mut error), error);
                    if !out.is_null() {
                        spans.push(out);
                    }
                    drop(a.strs);
                }
                Op::SetAttributes(list) => {
                    let a = attrs(list);
                    let st = agtrace_span_set_attributes(
                        span,
                        a.attrs.as_ptr(),
                        a.attrs.len(),
                        &mut error,
                    );
                    check(st, error);
                }
                Op::AddEvent { name, attrs: list } => {
                    let a = attrs(list);
                    let st = agtrace_span_add_event(
                        span,
                        s(name),
                        a.attrs.as_ptr(),
                        a.attrs.len(),
                        &mut error,
                    );
                    check(st, error);
                }
                Op::RecordError { ty, message, stack } => {
                    let st =
                        agtrace_span_record_error(span, s(ty), s(message), opt(stack), &mut error);
                    check(st, error);
                }
                Op::SetStatus { code, description } => {
                    check(
                        agtrace_span_set_status(span, *code, opt(description), &mut error),
                        error,
                    );
                }
                Op::SetLlm {
                    provider,
                    request,
                    reasons,
                } => {
                    let reasons: Vec<agtrace_str_t> = reasons.iter().map(|r| s(r)).collect();
                    let llm = agtrace_llm_t {
                        provider: opt(provider),
                        request_model: opt(request),
                        response_model: opt(&None),
                        response_id: opt(&None),
                        finish_reasons: reasons.as_ptr(),
                        finish_reasons_len: reasons.len(),
                    };
                    check(agtrace_span_set_llm(span, &llm, &mut error), error);
                }
                Op::SetTool { name, call_id } => {
                    check(
                        agtrace_span_set_tool(span, s(name), opt(call_id), &mut error),
                        error,
                    );
                }
                Op::SetAgent { name, id } => {
                    check(
                        agtrace_span_set_agent(span, s(name), opt(id), &mut error),
                        error,
                    );
                }
                Op::SetMessages { input, output } => {
                    check(
                        agtrace_span_set_messages(span, opt(input), opt(output), &mut error),
                        error,
                    );
                }
                Op::SetTraceMeta {
                    user,
                    tags,
                    metadata,
                } => {
                    let tags: Vec<agtrace_str_t> = tags.iter().map(|r| s(r)).collect();
                    let meta = agtrace_trace_meta_t {
                        user_id: opt(user),
                        session_id: opt(&None),
                        conversation_id: opt(&None),
                        environment: opt(&None),
                        release: opt(&None),
                        tags: tags.as_ptr(),
                        tags_len: tags.len(),
                        metadata_json: opt(metadata),
                    };
                    check(agtrace_span_set_trace_meta(span, &meta, &mut error), error);
                }
                Op::Header { name, value } => {
                    check(
                        agtrace_headers_set(headers, s(name), s(value), &mut error),
                        error,
                    );
                }
                Op::Extract => {
                    // SAFETY: NULL or from agtrace_extract, freed once.
                    unsafe { agtrace_context_free(context) };
                    context = null_mut();
                    check(agtrace_extract(t, headers, &mut context, &mut error), error);
                }
                Op::Setting { name, value } => {
                    let config = agtrace_config_new();
                    check(
                        agtrace_config_set(config, s(name), s(value), &mut error),
                        error,
                    );
                    // SAFETY: from agtrace_config_new, freed once.
                    unsafe { agtrace_config_free(config) };
                }
                Op::Misuse { kind, detail } => agtrace_misuse_report(t, *kind, s(detail)),
                Op::AddTag(tag) => check(agtrace_tracer_add_tag(t, s(tag), &mut error), error),
                Op::End => check(agtrace_span_end(span, &mut error), error),
                Op::Free => {
                    // SAFETY: from agtrace_span_start, removed so freed once.
                    unsafe { agtrace_span_free(spans.pop().unwrap_or(null_mut())) };
                }
            }
        }
        for span in spans.into_iter().rev() {
            // SAFETY: from agtrace_span_start, freed once.
            unsafe { agtrace_span_free(span) };
        }
        // SAFETY: each from this library, freed once.
        unsafe {
            agtrace_context_free(context);
            agtrace_headers_free(headers);
        }
    });
});

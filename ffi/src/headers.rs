//! Propagation: inject a span's context into headers, extract a remote
//! parent from them (W3C trace context and baggage, B3; the tracer's
//! `OTEL_PROPAGATORS`).

use crate::context::{agtrace_context_t, write_context};
use crate::error::{agtrace_error_t, agtrace_status_t, guard, FfiError};
use crate::string::agtrace_str_t;
use crate::tracer::agtrace_tracer_t;
use agtrace_core::propagation::{Extractor, Injector};

/// A list of header names and values (HTTP headers, gRPC metadata). Opaque;
/// not thread-safe. Lookups by name ignore case. Free with
/// `agtrace_headers_free`.
#[allow(non_camel_case_types)]
#[derive(Default)]
pub struct agtrace_headers_t {
    entries: Vec<(String, String)>,
}

impl Injector for agtrace_headers_t {
    fn set(&mut self, key: &str, value: String) {
        self.entries.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        self.entries.push((key.to_string(), value));
    }
}

impl Extractor for agtrace_headers_t {
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

fn headers<'a>(h: *mut agtrace_headers_t) -> Result<&'a mut agtrace_headers_t, FfiError> {
    // SAFETY: NULL or live headers from this library, not shared (documented).
    unsafe { h.as_mut() }.ok_or_else(|| FfiError::null("headers"))
}

/// A new, empty header list. Never NULL.
///
/// Thread-safe; does not block.
#[no_mangle]
pub extern "C" fn agtrace_headers_new() -> *mut agtrace_headers_t {
    Box::into_raw(Box::default())
}

/// Sets a header, replacing any of the same name (ignoring case). Both
/// strings are copied.
///
/// Not thread-safe for the same headers; does not block.
#[no_mangle]
pub extern "C" fn agtrace_headers_set(
    headers: *mut agtrace_headers_t,
    name: agtrace_str_t,
    value: agtrace_str_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let h = crate::headers::headers(headers)?;
        let name = name.get("name")?;
        let value = value.get("value")?;
        Injector::set(h, name, value.to_string());
        Ok(())
    })
}

/// The number of headers. NULL gives 0.
///
/// Not thread-safe with a concurrent change to the same headers; does not block.
#[no_mangle]
pub extern "C" fn agtrace_headers_count(headers: *const agtrace_headers_t) -> usize {
    // SAFETY: NULL or live headers (documented).
    unsafe { headers.as_ref() }.map_or(0, |h| h.entries.len())
}

/// Header `index` (0-based): its name and value, borrowed from the list and
/// valid until it is changed or freed (not NUL-terminated).
///
/// Not thread-safe with a concurrent change to the same headers; does not block.
#[no_mangle]
pub extern "C" fn agtrace_headers_get(
    headers: *const agtrace_headers_t,
    index: usize,
    out_name: *mut agtrace_str_t,
    out_value: *mut agtrace_str_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        // SAFETY: NULL or live headers (documented).
        let h = unsafe { headers.as_ref() }.ok_or_else(|| FfiError::null("headers"))?;
        let (k, v) = h.entries.get(index).ok_or_else(|| {
            FfiError::invalid(
                "index",
                format!("{index} is out of range ({} headers)", h.entries.len()),
            )
        })?;
        if out_name.is_null() || out_value.is_null() {
            return Err(FfiError::null("out_name/out_value"));
        }
        // SAFETY: checked non-NULL; writable (documented).
        unsafe {
            *out_name = agtrace_str_t::from_str(k);
            *out_value = agtrace_str_t::from_str(v);
        }
        Ok(())
    })
}

/// Looks a header up by name, ignoring case. Returns true and sets
/// `*out_value` (borrowed, valid until the list changes or is freed) when
/// found; false otherwise, and for NULL arguments or a name that is not
/// UTF-8. Not thread-safe with a concurrent change; does not block.
#[no_mangle]
pub extern "C" fn agtrace_headers_lookup(
    headers: *const agtrace_headers_t,
    name: agtrace_str_t,
    out_value: *mut agtrace_str_t,
) -> bool {
    crate::error::guard_value(false, || {
        // SAFETY: NULL or live headers (documented).
        let Some(h) = (unsafe { headers.as_ref() }) else {
            return false;
        };
        let (Ok(name), false) = (name.get("name"), out_value.is_null()) else {
            return false;
        };
        match Extractor::get(h, name) {
            Some(v) => {
                // SAFETY: checked non-NULL; writable (documented).
                unsafe { *out_value = agtrace_str_t::from_str(v) };
                true
            }
            None => false,
        }
    })
}

/// Frees a header list. NULL is ignored.
///
/// # Safety
/// `headers` must be NULL or from `agtrace_headers_new`, not yet freed.
///
/// Not thread-safe for the same headers; does not block.
#[no_mangle]
pub unsafe extern "C" fn agtrace_headers_free(headers: *mut agtrace_headers_t) {
    if !headers.is_null() {
        // SAFETY: ownership comes back from the caller (documented).
        drop(unsafe { Box::from_raw(headers) });
    }
}

/// Writes propagation headers for `context` (its ids, trace state and
/// baggage) in the tracer's formats. Thread-safe for distinct `headers`.
///
/// Does not block.
#[no_mangle]
pub extern "C" fn agtrace_inject(
    tracer: *const agtrace_tracer_t,
    context: *const agtrace_context_t,
    headers: *mut agtrace_headers_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let t = crate::tracer::tracer(tracer)?;
        let c = crate::context::context(context)?;
        let h = crate::headers::headers(headers)?;
        c.inject(t, h);
        Ok(())
    })
}

/// Reads a remote parent from `headers`. `*out_context` is the extracted
/// context (use it as `AGTRACE_PARENT_CONTEXT`), or NULL when the headers
/// carry neither a valid context nor baggage. Malformed headers are ignored.
///
/// Thread-safe for headers no other thread changes; does not block.
#[no_mangle]
pub extern "C" fn agtrace_extract(
    tracer: *const agtrace_tracer_t,
    headers: *const agtrace_headers_t,
    out_context: *mut *mut agtrace_context_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let t = crate::tracer::tracer(tracer)?;
        // SAFETY: NULL or live headers (documented).
        let h = unsafe { headers.as_ref() }.ok_or_else(|| FfiError::null("headers"))?;
        let e = t.extract(h);
        let found = e.span_context.is_some() || !e.baggage.is_empty();
        write_context(out_context, found.then(|| agtrace_context_t::remote(e)))
    })
}

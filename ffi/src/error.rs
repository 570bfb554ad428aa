//! The one error convention of the C ABI: every fallible function returns an
//! `agtrace_status_t` and, when the caller passes a non-NULL
//! `agtrace_error_t **out_error`, a detailed error object the caller frees
//! with `agtrace_error_free`. Every body runs under `guard`, so a Rust panic
//! becomes `AGTRACE_ERR_PANIC` instead of unwinding into C.

use agtrace_core::Error;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Result of a fallible call. `AGTRACE_OK` is zero.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum agtrace_status_t {
    AGTRACE_OK = 0,
    /// A required pointer or string was NULL.
    AGTRACE_ERR_NULL_ARGUMENT = 1,
    /// An argument had a bad value (unknown kind, bad JSON, ...).
    AGTRACE_ERR_INVALID_ARGUMENT = 2,
    /// A string was not valid UTF-8.
    AGTRACE_ERR_INVALID_UTF8 = 3,
    /// A setting had a bad value; the message names it.
    AGTRACE_ERR_INVALID_CONFIG = 4,
    /// The span was already ended (nothing was changed).
    AGTRACE_ERR_ALREADY_ENDED = 5,
    /// The tracer was shut down (the call was safe but did nothing).
    AGTRACE_ERR_SHUT_DOWN = 6,
    /// A flush or shutdown did not finish within its timeout.
    AGTRACE_ERR_TIMEOUT = 7,
    /// An exporter could not be created.
    AGTRACE_ERR_EXPORTER = 8,
    /// An internal error (a caught panic); the library stays usable.
    AGTRACE_ERR_PANIC = 9,
    /// A flush or shutdown finished, but the exporters dropped spans
    /// meanwhile (rejected, failed after retries, left at the deadline);
    /// `out_undelivered` counts them and the stats say why.
    AGTRACE_ERR_UNDELIVERED = 10,
}

use agtrace_status_t::*;

/// A detailed error: a status code and a message. Opaque; free with
/// `agtrace_error_free`.
#[allow(non_camel_case_types)]
pub struct agtrace_error_t {
    code: agtrace_status_t,
    message: CString,
}

/// An error on its way to the caller.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub(crate) code: agtrace_status_t,
    pub(crate) message: String,
}

impl FfiError {
    pub(crate) fn new(code: agtrace_status_t, message: impl Into<String>) -> Self {
        FfiError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn null(what: impl std::fmt::Display) -> Self {
        FfiError::new(AGTRACE_ERR_NULL_ARGUMENT, format!("`{what}` is NULL"))
    }

    pub(crate) fn invalid(what: impl std::fmt::Display, reason: impl std::fmt::Display) -> Self {
        FfiError::new(
            AGTRACE_ERR_INVALID_ARGUMENT,
            format!("invalid `{what}`: {reason}"),
        )
    }
}

/// The one conversion from the core's error to the C ABI's.
impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::InvalidConfig { .. } => AGTRACE_ERR_INVALID_CONFIG,
            Error::InvalidArgument { .. } => AGTRACE_ERR_INVALID_ARGUMENT,
            Error::Timeout { .. } => AGTRACE_ERR_TIMEOUT,
            Error::Undelivered { .. } => AGTRACE_ERR_UNDELIVERED,
            Error::ShutDown => AGTRACE_ERR_SHUT_DOWN,
            Error::Exporter { .. } => AGTRACE_ERR_EXPORTER,
        };
        FfiError::new(code, e.to_string())
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

/// Runs an ABI function body: catches panics, reports errors through
/// `out_error` (which may be NULL), returns the status.
pub(crate) fn guard(
    out_error: *mut *mut agtrace_error_t,
    body: impl FnOnce() -> FfiResult,
) -> agtrace_status_t {
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(FfiError::new(
            AGTRACE_ERR_PANIC,
            format!("internal error in libagtrace (caught panic: {what})"),
        ))
    });
    match result {
        Ok(()) => {
            if !out_error.is_null() {
                // SAFETY: the caller passed a writable pointer (documented).
                unsafe { *out_error = std::ptr::null_mut() };
            }
            AGTRACE_OK
        }
        Err(e) => {
            if !out_error.is_null() {
                let message = CString::new(e.message.replace('\0', "\\0"))
                    .unwrap_or_else(|_| CString::from(c"error"));
                let boxed = Box::new(agtrace_error_t {
                    code: e.code,
                    message,
                });
                // SAFETY: as above.
                unsafe { *out_error = Box::into_raw(boxed) };
            }
            e.code
        }
    }
}

/// Runs a body that cannot report an error (getters, free functions): a
/// panic is swallowed and `fallback` returned.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The error's status code. `error` may be NULL (returns `AGTRACE_OK`).
///
/// Thread-safe; does not block.
#[no_mangle]
pub extern "C" fn agtrace_error_code(error: *const agtrace_error_t) -> agtrace_status_t {
    // SAFETY: NULL or a live error from this library (documented).
    unsafe { error.as_ref() }.map_or(AGTRACE_OK, |e| e.code)
}

/// The error's message: NUL-terminated UTF-8, owned by the error and valid
/// until `agtrace_error_free`. `error` may be NULL (returns "").
///
/// Thread-safe; does not block.
#[no_mangle]
pub extern "C" fn agtrace_error_message(error: *const agtrace_error_t) -> *const c_char {
    // SAFETY: NULL or a live error from this library (documented).
    match unsafe { error.as_ref() } {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// Frees an error. NULL is accepted and ignored.
///
/// # Safety
/// `error` must be NULL or an error returned by this library and not yet
/// freed; it must not be used afterwards.
///
/// Not thread-safe for the same error; does not block.
#[no_mangle]
pub unsafe extern "C" fn agtrace_error_free(error: *mut agtrace_error_t) {
    if !error.is_null() {
        // SAFETY: ownership comes back from the caller (documented).
        drop(unsafe { Box::from_raw(error) });
    }
}

/// Always panics inside the panic guard, for testing it: returns
/// `AGTRACE_ERR_PANIC` with a message, and the library stays usable. Only
/// in libraries built with the `debug-panic` feature (not the release ABI).
///
/// Thread-safe; does not block.
#[cfg(feature = "debug-panic")]
#[no_mangle]
pub extern "C" fn agtrace_debug_panic(out_error: *mut *mut agtrace_error_t) -> agtrace_status_t {
    guard(out_error, || panic!("agtrace_debug_panic was called"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::string::agtrace_str_t;
    use crate::tracer::{agtrace_config_free, agtrace_config_new, agtrace_config_set};
    use std::ffi::CStr;

    fn message(e: *const agtrace_error_t) -> String {
        // SAFETY: a live error from `guard`.
        unsafe { CStr::from_ptr(agtrace_error_message(e)) }
            .to_str()
            .unwrap()
            .to_string()
    }

    // The release library has no function that panics on purpose (the C
    // suite's `agtrace_debug_panic` is behind the `debug-panic` feature), so
    // the guard is checked here with panicking bodies.
    #[test]
    fn a_panic_becomes_err_panic_with_a_message_and_the_next_call_works() {
        let mut err: *mut agtrace_error_t = std::ptr::null_mut();
        assert_eq!(guard(&mut err, || panic!("boom")), AGTRACE_ERR_PANIC);
        assert!(!err.is_null(), "out_error written");
        assert_eq!(agtrace_error_code(err), AGTRACE_ERR_PANIC);
        assert_eq!(
            message(err),
            "internal error in libagtrace (caught panic: boom)"
        );
        // SAFETY: from `guard`, freed once.
        unsafe { agtrace_error_free(err) };

        // A formatted payload (a `String`) is reported too.
        let n = 42;
        assert_eq!(guard(&mut err, || panic!("at {n}")), AGTRACE_ERR_PANIC);
        assert!(
            message(err).contains("caught panic: at 42"),
            "{}",
            message(err)
        );
        // SAFETY: as above.
        unsafe { agtrace_error_free(err) };

        // Without an error object the status alone says it.
        assert_eq!(
            guard(std::ptr::null_mut(), || panic!("unseen")),
            AGTRACE_ERR_PANIC
        );

        // The library stays usable: a real ABI call succeeds and clears
        // `out_error` (set to a stale value first).
        err = std::ptr::NonNull::dangling().as_ptr();
        let config = agtrace_config_new();
        let status = agtrace_config_set(
            config,
            agtrace_str_t::from_str("OTEL_SERVICE_NAME"),
            agtrace_str_t::from_str("after-a-panic"),
            &mut err,
        );
        assert_eq!(status, AGTRACE_OK);
        assert!(err.is_null(), "success sets out_error to NULL");
        // SAFETY: from `agtrace_config_new`, freed once.
        unsafe { agtrace_config_free(config) };
    }

    #[test]
    fn a_panic_in_a_value_body_gives_the_fallback() {
        assert_eq!(guard_value(7, || panic!("boom")), 7);
        assert_eq!(guard_value(7, || 8), 8);
    }
}

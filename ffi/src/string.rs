//! Strings across the ABI: a pointer and an explicit length, validated as
//! UTF-8. Nothing here is NUL-terminated unless a function says so.

use crate::error::{agtrace_status_t, FfiError, FfiResult};
use std::ffi::{c_char, CString};
use std::fmt::Display;

/// A borrowed UTF-8 string: `ptr` to `len` bytes, no terminator needed.
/// `{NULL, 0}` means "absent": an error where a string is required, "not
/// set" where it is optional. The bytes are only read during the call.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct agtrace_str_t {
    pub ptr: *const c_char,
    pub len: usize,
}

impl agtrace_str_t {
    pub(crate) const NULL: agtrace_str_t = agtrace_str_t {
        ptr: std::ptr::null(),
        len: 0,
    };

    pub(crate) fn from_str(s: &str) -> Self {
        agtrace_str_t {
            ptr: s.as_ptr().cast(),
            len: s.len(),
        }
    }

    /// A required string; `what` names the argument in errors.
    pub(crate) fn get<'a>(self, what: impl Display + Copy) -> FfiResult<&'a str> {
        self.opt(what)?.ok_or_else(|| FfiError::null(what))
    }

    /// An optional string: `None` for `{NULL, 0}`.
    pub(crate) fn opt<'a>(self, what: impl Display + Copy) -> FfiResult<Option<&'a str>> {
        if self.ptr.is_null() {
            return if self.len == 0 {
                Ok(None)
            } else {
                Err(FfiError::null(what))
            };
        }
        // SAFETY: the caller guarantees `len` readable bytes at `ptr` for the
        // duration of the call (documented on every function taking one).
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) };
        std::str::from_utf8(bytes).map(Some).map_err(|e| {
            FfiError::new(
                agtrace_status_t::AGTRACE_ERR_INVALID_UTF8,
                format!("`{what}` is not valid UTF-8 ({e})"),
            )
        })
    }
}

/// A view of a NUL-terminated string (length from `strlen`), for callers
/// holding C strings. NULL gives `{NULL, 0}`. Validation happens where the
/// string is used.
///
/// # Safety
/// `s` must be NULL or point to a NUL-terminated string.
///
/// Thread-safe; does not block (reads up to the NUL).
#[no_mangle]
pub unsafe extern "C" fn agtrace_cstr(s: *const c_char) -> agtrace_str_t {
    if s.is_null() {
        return agtrace_str_t::NULL;
    }
    // SAFETY: a NUL-terminated string (documented).
    let len = unsafe { std::ffi::CStr::from_ptr(s) }.to_bytes().len();
    agtrace_str_t { ptr: s, len }
}

/// Hands a Rust string to C as a NUL-terminated string the caller frees with
/// `agtrace_string_free`.
pub(crate) fn owned_c_string(s: String) -> *mut c_char {
    CString::new(s.replace('\0', "\\0"))
        .unwrap_or_default()
        .into_raw()
}

/// Frees a string returned by this library. NULL is ignored.
///
/// # Safety
/// `s` must be NULL or a string this library returned for freeing, not yet
/// freed.
///
/// Not thread-safe for the same string; does not block.
#[no_mangle]
pub unsafe extern "C" fn agtrace_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: ownership comes back from the caller (documented).
        drop(unsafe { CString::from_raw(s) });
    }
}

//! libagtrace: the stable C ABI of the agtrace tracing core.
//!
//! Conventions, the same for every function (the header repeats them):
//! - Opaque handles (`agtrace_*_t *`) are created by `*_new`/`*_start` and
//!   released by their `*_free`; freeing twice or using a freed handle is
//!   undefined behaviour, everything else is checked.
//! - Fallible functions return `agtrace_status_t` and take a last
//!   `agtrace_error_t **out_error` (may be NULL) that receives a detailed
//!   error on failure, freed with `agtrace_error_free`.
//! - Strings are `agtrace_str_t` (pointer and length), validated as UTF-8
//!   and copied when kept.
//! - No call blocks except flush and shutdown, which take a timeout, and the
//!   fork-prepare hook (at most 1 s); no panic crosses into C.

// Every exported function takes raw pointers from C. Each checks NULL and
// states in its doc (copied into the header) what the pointers must be; the
// remaining contract (live, writable, not freed) is C's, so marking them
// `unsafe` would only matter to Rust callers of the ABI (the benchmark).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod codes;
mod context;
mod error;
mod headers;
mod jni;
mod protocol;
mod span;
mod string;
mod tracer;
mod uniffi_api;
mod value;

uniffi::setup_scaffolding!("agtrace_ffi");

// The ABI is also usable from Rust (the benchmark calls it as C does).
pub use context::*;
pub use error::*;
pub use headers::*;
pub use protocol::*;
pub use span::*;
pub use string::*;
pub use tracer::*;
pub use value::*;

use std::ffi::c_char;

pub const AGTRACE_VERSION_MAJOR: u32 = 0;
pub const AGTRACE_VERSION_MINOR: u32 = 1;
pub const AGTRACE_VERSION_PATCH: u32 = 0;

/// The library's version, `"MAJOR.MINOR.PATCH"` (static; do not free).
/// Compare with `AGTRACE_VERSION_*` to detect a header/library mismatch.
///
/// Thread-safe; does not block.
#[no_mangle]
pub extern "C" fn agtrace_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

//! The bindings' hot path: the span protocol (`ffi/PROTOCOL.md`), one call
//! per crossing. A message carries the END records of spans the caller
//! ended since its last call, then at most one BEGIN; the started span's
//! identity comes back in an `agtrace_begun_t`. C code may use it too; the
//! typed API (`agtrace_span_start`, ...) is the friendlier one.

use crate::context::context;
use crate::error::{agtrace_error_t, agtrace_status_t, guard, FfiError};
use crate::tracer::agtrace_tracer_t;
use agtrace_core::protocol::{self, Begun};

/// The span protocol version this library speaks (`AGTRACE_PROTOCOL_VERSION`
/// in the header it was built with). A binding compares it with its own at
/// load and refuses to start on a mismatch.
///
/// Thread-safe; does not block.
#[no_mangle]
pub extern "C" fn agtrace_protocol_version() -> u32 {
    protocol::VERSION
}

/// The span a BEGIN record started: `handle` (0 when the span records
/// nothing) is what its END record names; the ids and flags are its
/// context, for children and propagation.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct agtrace_begun_t {
    pub handle: u64,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// W3C trace flags (bit 0: sampled).
    pub flags: u8,
}

/// Applies a span protocol message of `len` bytes under `tracer`: ends the
/// spans its END/ABANDON records name, then starts the span of its final
/// BEGIN record, if any. `out` (may be NULL) is always written: the started
/// span, or zeros (handle 0) when none started (no BEGIN, a faulty one, or
/// after shutdown). A message with faults is applied as far as it
/// can be (every span still ends; a faulty item is skipped); the status is
/// then `AGTRACE_ERR_INVALID_ARGUMENT` or `AGTRACE_ERR_INVALID_UTF8`, and
/// `out_error` names the first faulty field and its byte offset. After
/// shutdown, records are applied (ended spans are counted as dropped) and
/// the status is `AGTRACE_ERR_SHUT_DOWN`.
///
/// # Safety
/// `msg` points to `len` readable bytes. Every handle in an END or ABANDON
/// record came from an `agtrace_begun_t` of this process and is named by
/// one END or ABANDON only; context handles in a BEGIN are live
/// `agtrace_context_t` pointers. A handle is not tied to a thread.
///
/// Thread-safe; never blocks.
#[no_mangle]
pub unsafe extern "C" fn agtrace_spans_apply(
    tracer: *const agtrace_tracer_t,
    msg: *const u8,
    len: usize,
    out: *mut agtrace_begun_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let t = crate::tracer::tracer(tracer)?;
        if len == 0 {
            // SAFETY: NULL or writable (documented).
            if let Some(out) = unsafe { out.as_mut() } {
                *out = agtrace_begun_t::default();
            }
            return Ok(());
        }
        if msg.is_null() {
            return Err(FfiError::null("msg"));
        }
        // SAFETY: `len` readable bytes (documented).
        let bytes = unsafe { std::slice::from_raw_parts(msg, len) };
        let mut begun = Begun::default();
        let contexts = |h: u64| {
            context(h as usize as *const _)
                .ok()
                .map(|c: &crate::context::agtrace_context_t| c.parent())
        };
        // SAFETY: the handles' contract is the caller's (documented).
        let applied = unsafe { protocol::apply(t, bytes, &contexts, &mut begun) };
        // SAFETY: NULL or writable (documented).
        if let Some(out) = unsafe { out.as_mut() } {
            *out = agtrace_begun_t {
                handle: begun.handle,
                trace_id: begun.trace_id,
                span_id: begun.span_id,
                flags: begun.flags,
            };
        }
        match applied {
            Err(f) => Err(FfiError::new(
                if f.utf8 {
                    agtrace_status_t::AGTRACE_ERR_INVALID_UTF8
                } else {
                    agtrace_status_t::AGTRACE_ERR_INVALID_ARGUMENT
                },
                format!("span protocol message: {f}"),
            )),
            Ok(()) if t.is_shut_down() => Err(agtrace_core::Error::ShutDown.into()),
            Ok(()) => Ok(()),
        }
    })
}

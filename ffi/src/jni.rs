//! The Kotlin/JVM SDK's entry points (JNI, `dev.agtrace.Native`): the span
//! protocol's one crossing per span, without JNA's marshalling.
//!
//! The hot call, [`Java_dev_agtrace_Native_apply`], takes only primitives:
//! the tracer handle and the addresses of a message and of an
//! `agtrace_begun_t` inside a direct `ByteBuffer` the SDK owns (its address
//! comes once from [`Java_dev_agtrace_Native_address`]), so a crossing
//! allocates no Java object and copies nothing. It returns the status of
//! `agtrace_spans_apply`; on failure the message waits in a thread-local
//! slot for [`Java_dev_agtrace_Native_lastError`] (the cold path). No panic
//! unwinds into the JVM.
//!
//! These are not C ABI functions: cbindgen leaves them out of the header
//! (`ffi/cbindgen.toml`); the JVM binds them by name when the SDK loads this
//! same library with `System.load`.

use crate::error::{agtrace_error_free, agtrace_error_message, agtrace_error_t, agtrace_status_t};
use crate::protocol::{agtrace_begun_t, agtrace_spans_apply};
use crate::tracer::agtrace_tracer_t;
use ::jni::errors::ThrowRuntimeExAndDefault;
use ::jni::objects::{JByteBuffer, JClass, JString};
use ::jni::sys::{jint, jlong, jobject, JNIEnv};
use ::jni::EnvUnowned;
use std::cell::RefCell;
use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    /// The message of this thread's last failed [`Java_dev_agtrace_Native_apply`].
    static LAST_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// `Native.apply(tracer, msg, len, out)`: applies the `len`-byte span
/// protocol message at address `msg` under `tracer` (an
/// `agtrace_tracer_t *`), writing the BEGIN's span, if any, as an
/// `agtrace_begun_t` to address `out` (may be unaligned; 40 bytes). Returns
/// the `agtrace_status_t`; when it is not `AGTRACE_OK`, `Native.lastError()`
/// on this thread gives the message.
///
/// # Safety
/// As `agtrace_spans_apply`: `msg` is `len` readable bytes, `out` 40
/// writable bytes, the handles in the message are the SDK's to consume.
/// Thread-safe; never blocks.
#[no_mangle]
pub unsafe extern "system" fn Java_dev_agtrace_Native_apply(
    _env: *mut JNIEnv,
    _class: jobject,
    tracer: jlong,
    msg: jlong,
    len: jint,
    out: jlong,
) -> jint {
    let applied = catch_unwind(AssertUnwindSafe(|| {
        let mut begun = agtrace_begun_t::default();
        let mut error: *mut agtrace_error_t = std::ptr::null_mut();
        // SAFETY: the caller's contract (documented); `len` is non-negative
        // by the SDK's construction, and a negative one reads nothing.
        let status = unsafe {
            agtrace_spans_apply(
                tracer as usize as *const agtrace_tracer_t,
                msg as usize as *const u8,
                usize::try_from(len).unwrap_or(0),
                &mut begun,
                &mut error,
            )
        };
        // SAFETY: 40 writable bytes at `out` (documented).
        unsafe { std::ptr::write_unaligned(out as usize as *mut agtrace_begun_t, begun) };
        if status != agtrace_status_t::AGTRACE_OK {
            remember(error);
        }
        status as jint
    }));
    applied.unwrap_or(agtrace_status_t::AGTRACE_ERR_PANIC as jint)
}

/// Keeps the message of `error` (freed here) for `Native.lastError()`.
fn remember(error: *mut agtrace_error_t) {
    let message = agtrace_error_message(error);
    let text = if message.is_null() {
        "libagtrace failed without an error message".to_string()
    } else {
        // SAFETY: a NUL-terminated string owned by `error`, alive until the free below.
        unsafe { CStr::from_ptr(message) }
            .to_string_lossy()
            .into_owned()
    };
    // SAFETY: an error from agtrace_spans_apply, freed once.
    unsafe { agtrace_error_free(error) };
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(text));
}

/// `Native.lastError()`: the message of this thread's last failed
/// `Native.apply` (then forgotten), or null. Cold path.
#[no_mangle]
pub extern "system" fn Java_dev_agtrace_Native_lastError<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
) -> JString<'caller> {
    env.with_env(|env| -> ::jni::errors::Result<JString<'caller>> {
        match LAST_ERROR.with(|slot| slot.borrow_mut().take()) {
            Some(text) => JString::from_str(env, text),
            None => Ok(JString::default()),
        }
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// `Native.address(buffer)`: the address of a direct `ByteBuffer`'s memory,
/// valid while the buffer is reachable. Throws for a heap buffer.
#[no_mangle]
pub extern "system" fn Java_dev_agtrace_Native_address<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    buffer: JByteBuffer<'caller>,
) -> jlong {
    env.with_env(|env| -> ::jni::errors::Result<jlong> {
        Ok(env.get_direct_buffer_address(&buffer)? as usize as jlong)
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

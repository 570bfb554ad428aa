//! Span contexts as values (for parents, links and propagation), and the
//! calling thread's current span.

use crate::error::{agtrace_error_t, agtrace_status_t, guard, FfiError, FfiResult};
use crate::span::agtrace_span_t;
use agtrace_core::propagation::Extracted;
use agtrace_core::{current_span, EnterGuard, Parent, SpanContext, SpanRef};
use std::cell::RefCell;

/// A span's identity (and its trace's baggage), usable after the span is
/// freed: as a parent, a link target, or for `agtrace_inject`. Opaque;
/// immutable, so thread-safe. Free with `agtrace_context_free`.
#[allow(non_camel_case_types)]
pub struct agtrace_context_t {
    inner: Inner,
}

enum Inner {
    Local(SpanRef),
    Remote(Extracted),
}

impl agtrace_context_t {
    pub(crate) fn local(r: SpanRef) -> Self {
        agtrace_context_t {
            inner: Inner::Local(r),
        }
    }

    pub(crate) fn remote(e: Extracted) -> Self {
        agtrace_context_t {
            inner: Inner::Remote(e),
        }
    }

    pub(crate) fn parent(&self) -> Parent {
        match &self.inner {
            Inner::Local(r) => Parent::Span(r.clone()),
            Inner::Remote(e) => Parent::from(e.clone()),
        }
    }

    pub(crate) fn span_context(&self) -> SpanContext {
        match &self.inner {
            Inner::Local(r) => r.context().clone(),
            Inner::Remote(e) => e.span_context.clone().unwrap_or_default(),
        }
    }

    /// Writes this context's propagation headers in `tracer`'s formats.
    pub(crate) fn inject(
        &self,
        tracer: &agtrace_core::Tracer,
        carrier: &mut dyn agtrace_core::propagation::Injector,
    ) {
        let r = self.span_ref();
        tracer
            .settings()
            .propagators
            .inject(r.context(), &self.baggage(), carrier);
    }

    fn span_ref(&self) -> SpanRef {
        match &self.inner {
            Inner::Local(r) => r.clone(),
            Inner::Remote(e) => SpanRef::from_context(e.span_context.clone().unwrap_or_default()),
        }
    }

    pub(crate) fn baggage(&self) -> agtrace_core::propagation::Baggage {
        match &self.inner {
            Inner::Local(r) => r.baggage().cloned().unwrap_or_default(),
            Inner::Remote(e) => e.baggage.clone(),
        }
    }
}

pub(crate) fn context<'a>(c: *const agtrace_context_t) -> FfiResult<&'a agtrace_context_t> {
    // SAFETY: NULL or a live context from this library (documented).
    unsafe { c.as_ref() }.ok_or_else(|| FfiError::null("context"))
}

fn write_out(out: *mut *mut agtrace_context_t, ctx: Option<agtrace_context_t>) -> FfiResult {
    if out.is_null() {
        return Err(FfiError::null("out_context"));
    }
    let ptr = ctx.map_or(std::ptr::null_mut(), |c| Box::into_raw(Box::new(c)));
    // SAFETY: checked non-NULL; writable (documented).
    unsafe { *out = ptr };
    Ok(())
}

/// The span's context, valid after the span is ended or freed. The caller
/// frees it with `agtrace_context_free`. Thread-safe.
///
/// Does not block.
#[no_mangle]
pub extern "C" fn agtrace_span_context(
    span: *const agtrace_span_t,
    out_context: *mut *mut agtrace_context_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let s = crate::span::span(span)?;
        let r = s.read(agtrace_core::Span::to_ref);
        write_out(out_context, Some(agtrace_context_t::local(r)))
    })
}

/// A context from ids (16 bytes of trace id, 8 of span id) and W3C
/// `flags`: the identity of a span a binding started through the span
/// protocol, for `agtrace_inject`, links or parents. When `inherit` is not
/// NULL, the new context carries its trace state and baggage. The caller
/// frees it with `agtrace_context_free`. Thread-safe.
///
/// Does not block.
#[no_mangle]
pub extern "C" fn agtrace_context_new(
    trace_id: *const u8,
    span_id: *const u8,
    flags: u8,
    inherit: *const agtrace_context_t,
    out_context: *mut *mut agtrace_context_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        if trace_id.is_null() {
            return Err(FfiError::null("trace_id"));
        }
        if span_id.is_null() {
            return Err(FfiError::null("span_id"));
        }
        // SAFETY: 16 and 8 readable bytes (documented).
        let (t, s) = unsafe { (*trace_id.cast::<[u8; 16]>(), *span_id.cast::<[u8; 8]>()) };
        // SAFETY: NULL or a live context (documented).
        let inherit = unsafe { inherit.as_ref() };
        let mut ctx = SpanContext::new(
            agtrace_core::TraceId(t),
            agtrace_core::SpanId(s),
            agtrace_core::TraceFlags(flags),
            false,
        );
        let baggage = inherit.map(|c| {
            ctx.trace_state = c.span_context().trace_state;
            c.baggage()
        });
        let r = SpanRef::with_baggage(ctx, baggage.unwrap_or_default());
        write_out(out_context, Some(agtrace_context_t::local(r)))
    })
}

/// Copies the ids out: `trace_id` (16 bytes) and `span_id` (8 bytes), and
/// whether the context is sampled. Any output may be NULL. An extracted
/// context without ids gives zeros. Thread-safe.
///
/// Does not block.
#[no_mangle]
pub extern "C" fn agtrace_context_ids(
    context: *const agtrace_context_t,
    trace_id: *mut u8,
    span_id: *mut u8,
    sampled: *mut bool,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let c = crate::context::context(context)?.span_context();
        // SAFETY: each output is NULL or points to enough writable bytes
        // (16, 8, one bool; documented).
        unsafe {
            if !trace_id.is_null() {
                std::ptr::copy_nonoverlapping(c.trace_id.0.as_ptr(), trace_id, 16);
            }
            if !span_id.is_null() {
                std::ptr::copy_nonoverlapping(c.span_id.0.as_ptr(), span_id, 8);
            }
            if !sampled.is_null() {
                *sampled = c.is_sampled();
            }
        }
        Ok(())
    })
}

/// Frees a context. NULL is ignored.
///
/// # Safety
/// `context` must be NULL or a context from this library, not yet freed.
///
/// Not thread-safe for the same context (no other thread may use it); does not block.
#[no_mangle]
pub unsafe extern "C" fn agtrace_context_free(context: *mut agtrace_context_t) {
    if !context.is_null() {
        // SAFETY: ownership comes back from the caller (documented).
        drop(unsafe { Box::from_raw(context) });
    }
}

thread_local! {
    /// Spans entered on this thread, innermost last, with their guards.
    static ENTERED: RefCell<Vec<(u64, EnterGuard)>> = const { RefCell::new(Vec::new()) };
}

/// Makes `span` the calling thread's current span (the default parent of
/// spans started with `AGTRACE_PARENT_CURRENT`) until `agtrace_span_exit`.
/// Enter and exit on the same thread, innermost first. Freeing an entered
/// span on the thread that entered it exits it (and any span entered after
/// it); freed on another thread, it stays that thread's current parent until
/// the spans entered before it exit. Does not block.
#[no_mangle]
pub extern "C" fn agtrace_span_enter(
    span: *const agtrace_span_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let s = crate::span::span(span)?;
        let g = s.read(agtrace_core::Span::enter);
        ENTERED.with(|e| e.borrow_mut().push((s.id, g)));
        Ok(())
    })
}

/// Undoes the matching `agtrace_span_enter`. Fails with
/// `AGTRACE_ERR_INVALID_ARGUMENT` (changing nothing) when `span` is not the
/// innermost span entered on this thread.
///
/// Affects the calling thread only; does not block.
#[no_mangle]
pub extern "C" fn agtrace_span_exit(
    span: *const agtrace_span_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let id = crate::span::span(span)?.id;
        ENTERED.with(|e| {
            let mut e = e.borrow_mut();
            match e.last() {
                Some((top, _)) if *top == id => {
                    e.pop();
                    Ok(())
                }
                _ => Err(FfiError::invalid(
                    "span",
                    "not the innermost span entered on this thread",
                )),
            }
        })
    })
}

/// Called when a span handle is freed: exits it on this thread (with every
/// span entered after it) if it is entered here.
pub(crate) fn forget_entered(id: u64) {
    let _ = ENTERED.try_with(|e| {
        let mut e = e.borrow_mut();
        if let Some(pos) = e.iter().position(|(i, _)| *i == id) {
            // Innermost first, so each guard restores the stack below it.
            while e.len() > pos {
                e.pop();
            }
        }
    });
}

/// The calling thread's current span's context, or NULL in `*out_context`
/// when there is none. Free a non-NULL result with `agtrace_context_free`.
///
/// Reads the calling thread only; does not block.
#[no_mangle]
pub extern "C" fn agtrace_current_context(
    out_context: *mut *mut agtrace_context_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        write_out(out_context, current_span().map(agtrace_context_t::local))
    })
}

pub(crate) fn write_context(
    out: *mut *mut agtrace_context_t,
    ctx: Option<agtrace_context_t>,
) -> FfiResult {
    write_out(out, ctx)
}

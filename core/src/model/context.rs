//! The calling thread's current span, for Rust and C callers.
//!
//! Other languages keep the current span in their own context mechanism
//! (`contextvars`, coroutine context, `@TaskLocal`) and pass the parent
//! explicitly; this stack is only consulted by `Parent::Current`.

use crate::model::span::SpanRef;
use std::cell::RefCell;
use std::marker::PhantomData;

thread_local! {
    static STACK: RefCell<Vec<SpanRef>> = const { RefCell::new(Vec::new()) };
}

/// Keeps a span current on this thread until dropped. Not `Send`: it must be
/// dropped on the thread that created it. Dropping guards out of order pops
/// everything entered after the dropped one.
#[must_use = "the span is current only while the guard lives"]
pub struct EnterGuard {
    depth: usize,
    _not_send: PhantomData<*const ()>,
}

/// Makes `span` the thread's current span until the guard drops.
pub fn enter(span: SpanRef) -> EnterGuard {
    let depth = STACK.with(|s| {
        let mut s = s.borrow_mut();
        s.push(span);
        s.len()
    });
    EnterGuard {
        depth,
        _not_send: PhantomData,
    }
}

/// Runs `f` on the innermost span entered on this thread, without cloning it
/// (the span start path).
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&SpanRef>) -> R) -> R {
    let mut f = Some(f);
    let r = STACK.try_with(|s| match s.try_borrow() {
        Ok(s) => (f.take().expect("called once"))(s.last()),
        Err(_) => (f.take().expect("called once"))(None),
    });
    match r {
        Ok(r) => r,
        // The thread is exiting: it has no current span.
        Err(_) => (f.take().expect("not called"))(None),
    }
}

/// The innermost span entered on this thread and not yet exited.
pub fn current_span() -> Option<SpanRef> {
    STACK
        .try_with(|s| s.borrow().last().cloned())
        .ok()
        .flatten()
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // During thread teardown the stack may already be gone; nothing to pop.
        let _ = STACK.try_with(|s| s.borrow_mut().truncate(self.depth - 1));
    }
}

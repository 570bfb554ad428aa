//! The entries of a thread buffer (see `local`): what app threads tell the
//! collector, in the order they did it.
//!
//! This is an in-process format, never seen outside this crate: an entry is
//! an 8-byte header followed by values moved in by bitwise copy (strings,
//! vectors and boxes travel as pointers, so a span's content is never copied
//! and is owned by the entry until the collector reads it). Every entry is
//! padded to 8 bytes; every payload type has an alignment of at most 8.
//!
//! - `Span`: a [`SpanHead`] then its attributes, one after the other.
//! - `Child`: a recording span started under a live local span (the
//!   parent's id), so the rollups hold the parent until its children are in.
//! - `Trace`: trace-level context set on a trace (`Span::update_trace`).

use crate::model::id::{SpanId, TraceId};
use crate::model::record::SpanHead;
use crate::model::trace::TraceMeta;
use crate::model::value::{Attribute, Attributes};
use std::mem::{align_of, size_of};
use std::ptr;

const SPAN: u32 = 1;
const CHILD: u32 = 2;
const TRACE: u32 = 3;

#[repr(C)]
struct Header {
    size: u32,
    op: u32,
}

const HEADER: usize = size_of::<Header>();

const _: () = {
    assert!(align_of::<SpanHead>() <= 8 && align_of::<Attribute>() <= 8);
    assert!(size_of::<Attribute>() % 8 == 0);
};

const fn padded(n: usize) -> usize {
    n.next_multiple_of(8)
}

const HEAD: usize = padded(size_of::<SpanHead>());

/// One entry, read (and owned) by the collector.
// Read once and moved straight into a record: boxing the span would cost an
// allocation per span on the collector.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Entry {
    Span(SpanHead, Attributes),
    Child(SpanId),
    Trace(TraceId, Box<TraceMeta>),
}

/// Bytes of a span entry with `n` attributes.
#[inline]
pub(crate) fn span_size(n: usize) -> usize {
    HEADER + HEAD + n * size_of::<Attribute>()
}

pub(crate) const CHILD_SIZE: usize = HEADER + padded(size_of::<SpanId>());
pub(crate) const TRACE_SIZE: usize =
    HEADER + padded(size_of::<TraceId>()) + size_of::<*mut TraceMeta>();

/// Writes a span entry, moving `*head` and every attribute out of `attrs`
/// (left empty).
///
/// # Safety
/// `dst` is 8-aligned with `span_size(attrs.len())` writable bytes; `head` is
/// valid, and is moved: the caller must not use or drop it afterwards.
#[inline]
pub(crate) unsafe fn write_span(dst: *mut u8, head: *const SpanHead, attrs: &mut Attributes) {
    let n = attrs.len();
    // SAFETY: in bounds and aligned (the caller's contract); the attributes
    // are moved: the vector forgets them before anything can drop them.
    unsafe {
        ptr::write(
            dst.cast::<Header>(),
            Header {
                size: span_size(n) as u32,
                op: SPAN,
            },
        );
        ptr::copy_nonoverlapping(head, dst.add(HEADER).cast::<SpanHead>(), 1);
        ptr::copy_nonoverlapping(
            attrs.as_ptr(),
            dst.add(HEADER + HEAD).cast::<Attribute>(),
            n,
        );
        attrs.set_len(0);
    }
}

/// # Safety
/// `dst` is 8-aligned with `CHILD_SIZE` writable bytes.
#[inline]
pub(crate) unsafe fn write_child(dst: *mut u8, parent: SpanId) {
    // SAFETY: the caller's contract.
    unsafe {
        ptr::write(
            dst.cast::<Header>(),
            Header {
                size: CHILD_SIZE as u32,
                op: CHILD,
            },
        );
        ptr::write(dst.add(HEADER).cast::<SpanId>(), parent);
    }
}

/// # Safety
/// `dst` is 8-aligned with `TRACE_SIZE` writable bytes.
pub(crate) unsafe fn write_trace(dst: *mut u8, trace_id: TraceId, meta: Box<TraceMeta>) {
    // SAFETY: the caller's contract; the box is owned by the entry.
    unsafe {
        ptr::write(
            dst.cast::<Header>(),
            Header {
                size: TRACE_SIZE as u32,
                op: TRACE,
            },
        );
        ptr::write(dst.add(HEADER).cast::<TraceId>(), trace_id);
        ptr::write(
            dst.add(HEADER + padded(size_of::<TraceId>()))
                .cast::<*mut TraceMeta>(),
            Box::into_raw(meta),
        );
    }
}

/// Reads (moves out) the entry at `src`; returns it and its size.
///
/// # Safety
/// `src` points at a complete entry written by this module that was not
/// read before; it must not be read again.
pub(crate) unsafe fn read(src: *const u8) -> (Entry, usize) {
    // SAFETY: the caller's contract: a complete, unread entry.
    unsafe {
        let h = ptr::read(src.cast::<Header>());
        let body = src.add(HEADER);
        let e = match h.op {
            SPAN => {
                let head = ptr::read(body.cast::<SpanHead>());
                let n = (h.size as usize - HEADER - HEAD) / size_of::<Attribute>();
                let first = body.add(HEAD).cast::<Attribute>();
                let mut attrs = Attributes::with_capacity(n);
                ptr::copy_nonoverlapping(first, attrs.as_mut_ptr(), n);
                attrs.set_len(n);
                Entry::Span(head, attrs)
            }
            CHILD => Entry::Child(ptr::read(body.cast::<SpanId>())),
            _ => {
                let trace_id = ptr::read(body.cast::<TraceId>());
                let meta = ptr::read(
                    body.add(padded(size_of::<TraceId>()))
                        .cast::<*mut TraceMeta>(),
                );
                Entry::Trace(trace_id, Box::from_raw(meta))
            }
        };
        (e, h.size as usize)
    }
}

//! The span model: what a span is (ids, kinds, values, GenAI fields,
//! trace-level context), the live [`Span`](span::Span) callers record into,
//! and the thread's current span.

pub(crate) mod context;
pub(crate) mod genai;
pub mod id;
pub(crate) mod kind;
pub(crate) mod record;
pub mod semconv;
pub(crate) mod span;
pub(crate) mod trace;
pub(crate) mod usage;
pub(crate) mod value;

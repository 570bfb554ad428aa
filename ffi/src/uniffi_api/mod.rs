//! The uniffi exports: the API every generated binding (Python, Kotlin,
//! Swift) shares, compiled into the same `libagtrace` as the C ABI, so a
//! process mixing languages has one core.
//!
//! Thin by design: each object wraps the C ABI's own handle type
//! (`agtrace_span_t`, `agtrace_context_t`), so both boundaries share one
//! implementation, and errors map from the C ABI's internal error in one
//! place. Panics are caught by uniffi's scaffolding and surface as errors.
//! This path is for the cold API; a language's hot path (span start and end
//! with packed attributes) may go through the C ABI instead.

mod config;
mod error;
mod fork;
mod span;
mod tracer;

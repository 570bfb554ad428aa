//! The uniffi exports: the API every generated binding (Python, Kotlin,
//! Swift) shares, compiled into the same `libagtrace` as the C ABI, so a
//! process mixing languages has one core.
//!
//! The cold API only: configuration, flush, shutdown, stats, sampling and
//! fork hooks. Spans, contexts and propagation go through the C ABI (the
//! span protocol, `agtrace_spans_apply`, and the context functions), the
//! one surface every binding's hot path shares. Errors map from the C ABI's
//! internal error in one place; panics are caught by uniffi's scaffolding
//! and surface as errors.

mod config;
mod error;
mod fork;
mod tracer;

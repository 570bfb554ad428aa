//! agtrace-core: one tracing core for AI agents and LLM applications.
//!
//! The core owns the span model, context propagation, batching and exporters;
//! the C ABI and the language bindings are thin layers over it, so every
//! language gets the same semantics and the same wire output.
//!
//! ```no_run
//! use agtrace_core::{ExporterConfig, SpanKind, Tracer, Usage};
//! use std::time::Duration;
//!
//! let tracer = Tracer::builder()
//!     .service_name("my-agent")
//!     .exporter(ExporterConfig::Console)
//!     .build()?;
//! let mut agent = tracer.span("invoke_agent planner").kind(SpanKind::Agent).start();
//! {
//!     let _current = agent.enter(); // children below default to this parent
//!     let mut llm = tracer.span("chat gpt-4o").kind(SpanKind::Llm).start();
//!     llm.set_provider("openai");
//!     llm.set_request_model("gpt-4o");
//!     llm.set_usage(Usage::new(120, 40));
//!     llm.end();
//! }
//! agent.end();
//! tracer.shutdown(Duration::from_secs(5))?;
//! # Ok::<(), agtrace_core::Error>(())
//! ```

// Finished span records stay boxed from the collector through export and
// back to its record pool: batches move pointers, never the large record.
#![allow(clippy::vec_box)]

pub mod codes;
mod config;
mod error;
pub mod exporter;
mod misuse;
mod model;
mod pipeline;
mod policy;
pub mod propagation;
pub mod protocol;
mod tracer;
mod util;

pub use model::{id, semconv};

/// For the fuzz targets only; not part of the API.
#[doc(hidden)]
pub use config::check_config_text;
pub use config::{
    ExporterConfig, LangfuseConfig, LangwatchConfig, OpikConfig, PhoenixConfig, Settings,
    TracerBuilder, DEFAULT_FILE_PATH, SETTING_NAMES,
};
pub use error::{Error, ExportError, ExportErrorKind};
pub use exporter::{Exporter, InMemoryExporter, OtlpCompression, OtlpConfig, OtlpProtocol};
pub use id::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
pub use misuse::{Misuse, MisuseCounts, MisuseReporter};
pub use model::context::{current_span, enter, EnterGuard};
pub use model::genai::RequestParams;
pub use model::kind::{OtelKind, SpanKind};
pub use model::record::{Event, Link, SpanRecord, Status};
pub use model::span::{Parent, Span, SpanBuilder, SpanRef};
pub use model::trace::TraceMeta;
pub use model::usage::Usage;
pub use model::value::{Attribute, Attributes, Str, Value};
pub use pipeline::delivery::DeliveryConfig;
pub use pipeline::stats::{
    BreakerState, CollectorStats, Dropped, ExporterDropped, ExporterStats, Stats,
};
pub use pipeline::BatchConfig;
pub use policy::media::MediaPolicy;
pub use policy::price::{Price, PriceTable};
/// The redaction engine, exported for `benches/redact.rs` only: the
/// collector applies it; it is not part of the API.
#[doc(hidden)]
pub use policy::redact::Redactor;
pub use policy::redact::{RedactionConfig, RedactionStats};
pub use policy::rollup::Totals;
pub use policy::sample::{trace_id_ratio, SamplingConfig, SamplingRule};
pub use policy::GlobalContext;
pub use tracer::Tracer;
pub use util::intern::{intern, intern_value};

/// The README's Rust examples, compiled and run as doctests so the guide
/// keeps working when copied.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

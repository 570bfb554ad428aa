//! Exporters: where finished spans go.
//!
//! Every exporter runs on the pipeline's export thread, one call at a time, and
//! receives finished records (see [`SpanRecord`]). An exporter must return from
//! every call within its configured timeout; failures are returned, counted and
//! logged by the pipeline, never raised to the application.

mod console;
mod file;
mod memory;
mod otlp;
mod resource;
mod wire;

pub use console::ConsoleExporter;
pub use file::FileExporter;
pub use memory::InMemoryExporter;
pub use otlp::{OtlpCompression, OtlpConfig, OtlpProtocol};

use crate::error::ExportError;
use crate::model::record::SpanRecord;

/// A destination for finished spans.
pub trait Exporter: Send {
    /// A short name for stats and logs (`console`, `file`, `otlp`, ...).
    fn name(&self) -> &str;

    /// Delivers one batch. Called from the export thread only, never
    /// concurrently; must not block past the exporter's own timeout.
    fn export(&mut self, batch: &[Box<SpanRecord>]) -> Result<(), ExportError>;

    /// Pushes out anything buffered. Called by `Tracer::force_flush` and
    /// before shutdown.
    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    /// Releases resources; no export follows. Called once.
    fn shutdown(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
}

/// Discards every span (the `none` exporter): the pipeline still runs, so
/// counters and flush behave as with a real exporter.
#[derive(Debug, Default)]
pub struct NoopExporter;

impl Exporter for NoopExporter {
    fn name(&self) -> &str {
        "none"
    }

    fn export(&mut self, _batch: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        Ok(())
    }
}

pub(crate) use otlp::{OtlpExporter, OtlpSettings, DEFAULT_MAX_REQUEST_BYTES};
pub(crate) use resource::Resource;

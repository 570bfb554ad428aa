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

    /// True if, inside `export`, the exporter holds no lock that the
    /// application or a forked child uses (its waits are on its own
    /// connections), so a fork need not wait for an export in progress:
    /// the child builds exporters of its own. Default: false (a fork waits
    /// up to a second for the export to end).
    fn fork_safe_while_exporting(&self) -> bool {
        false
    }

    /// Where this exporter's requests go (protocol and endpoint), when it
    /// can keep undelivered batches in the disk spool: then it implements
    /// `request_body`, `request_body_encoded` and `send_body`. Default:
    /// none (never spooled).
    fn spool_destination(&self) -> Option<String> {
        None
    }

    /// The request body `export` would send for `batch`, for the spool.
    /// Fails as too large past the exporter's request size limit (the
    /// caller splits the batch). Called only with a `spool_destination`.
    fn request_body(&mut self, batch: &[Box<SpanRecord>]) -> Result<Vec<u8>, ExportError> {
        let _ = batch;
        Err(ExportError::new(format!(
            "{} exporter cannot spool",
            self.name()
        )))
    }

    /// `request_body` for spans `range` of a batch made with
    /// `piece_encoder`.
    fn request_body_encoded(
        &mut self,
        batch: &Encoded,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<u8>, ExportError> {
        let _ = (batch, range);
        Err(ExportError::new(format!(
            "{} exporter cannot spool",
            self.name()
        )))
    }

    /// Sends a body made by `request_body` (perhaps by an earlier process
    /// with the same `spool_destination`); the same contract as `export`.
    fn send_body(&mut self, body: &[u8]) -> Result<(), ExportError> {
        let _ = body;
        Err(ExportError::new(format!(
            "{} exporter cannot spool",
            self.name()
        )))
    }

    /// Pushes out anything buffered. Called by `Tracer::force_flush` and
    /// before shutdown.
    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    /// Releases resources; no export follows. Called once.
    fn shutdown(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    /// How to encode one span for this exporter ahead of time, when it can
    /// send spans encoded so (see `export_encoded`). The pipeline then keeps
    /// the batches that wait behind a slow export as these bytes rather than
    /// as records, which take several times the memory. Default: none.
    fn piece_encoder(&self) -> Option<PieceEncoder> {
        None
    }

    /// Delivers spans `range` of `batch`, made with `piece_encoder`; the
    /// same contract as `export`. Called only when `piece_encoder` gave one.
    fn export_encoded(
        &mut self,
        batch: &Encoded,
        range: std::ops::Range<usize>,
    ) -> Result<(), ExportError> {
        let _ = (batch, range);
        Err(ExportError::new(format!(
            "{} exporter cannot send encoded spans",
            self.name()
        )))
    }
}

/// Appends one span's encoding to a buffer (see `Exporter::piece_encoder`).
pub type PieceEncoder = fn(&SpanRecord, &mut Vec<u8>);

/// A batch encoded ahead of time for one exporter: one piece per span, back
/// to back. Owned by the queue it waits in; immutable.
pub struct Encoded {
    bytes: Vec<u8>,
    /// Where each span's piece ends.
    ends: Vec<usize>,
}

impl Encoded {
    pub(crate) fn new(records: &[Box<SpanRecord>], encode: PieceEncoder) -> Self {
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(records.len());
        for r in records {
            encode(r, &mut bytes);
            ends.push(bytes.len());
        }
        bytes.shrink_to_fit();
        Encoded { bytes, ends }
    }

    /// Spans in the batch.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The pieces of spans `range`, back to back.
    pub fn pieces(&self, range: std::ops::Range<usize>) -> &[u8] {
        wire::pieces(&self.bytes, &self.ends, range)
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

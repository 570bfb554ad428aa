//! The file exporter: JSON lines in the OTLP/JSON encoding, one
//! `ExportTraceServiceRequest` per line, so any OTLP tool can read the file.

use super::convert::{scope, span_data, Resource};
use super::Exporter;
use crate::error::{Error, ExportError};
use crate::model::record::SpanRecord;
use opentelemetry::InstrumentationScope;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends to a file; each batch becomes one line. Buffered; flushed on
/// `flush`, `shutdown` and after every batch.
pub struct FileExporter {
    path: PathBuf,
    out: BufWriter<File>,
    resource: ResourceAttributesWithSchema,
    scope: InstrumentationScope,
}

impl FileExporter {
    /// Opens (creating or appending to) `path`. Fails at init, naming the path,
    /// when the file cannot be opened.
    pub fn open(path: &Path, resource: &Resource) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::Exporter {
                exporter: "file".into(),
                reason: format!("cannot open {}: {e}", path.display()),
            })?;
        Ok(FileExporter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            resource: (&resource.to_otel()).into(),
            scope: scope(),
        })
    }
}

impl Exporter for FileExporter {
    fn name(&self) -> &str {
        "file"
    }

    fn export(&mut self, batch: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        let spans = batch.iter().map(|r| span_data(r, &self.scope)).collect();
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(spans, &self.resource),
        };
        let io = |e: std::io::Error| ExportError::new(format!("{}: {e}", self.path.display()));
        serde_json::to_writer(&mut self.out, &request)
            .map_err(|e| ExportError::new(format!("{}: {e}", self.path.display())))?;
        self.out.write_all(b"\n").map_err(io)?;
        self.out.flush().map_err(io)
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        self.out
            .flush()
            .map_err(|e| ExportError::new(format!("{}: {e}", self.path.display())))
    }
}

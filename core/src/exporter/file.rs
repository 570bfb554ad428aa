//! The file exporter: JSON lines in the OTLP/JSON encoding, one
//! `ExportTraceServiceRequest` per line, so any OTLP tool can read the file.

use super::wire::json;
use super::{Exporter, Resource};
use crate::error::{Error, ExportError};
use crate::model::record::SpanRecord;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends to a file; each batch becomes one line. Buffered; flushed on
/// `flush`, `shutdown` and after every batch.
pub struct FileExporter {
    path: PathBuf,
    out: BufWriter<File>,
    framing: json::Framing,
    /// The batch's spans, then the line written; kept so their memory is
    /// reused.
    spans: Vec<u8>,
    line: Vec<u8>,
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
            framing: json::Framing::new(resource),
            spans: Vec::new(),
            line: Vec::new(),
        })
    }
}

impl Exporter for FileExporter {
    fn name(&self) -> &str {
        "file"
    }

    fn export(&mut self, batch: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        self.spans.clear();
        for r in batch {
            json::span(r, &mut self.spans);
        }
        self.line.clear();
        self.framing.write_request(&self.spans, &mut self.line);
        self.line.push(b'\n');
        let io = |e: std::io::Error| ExportError::new(format!("{}: {e}", self.path.display()));
        self.out.write_all(&self.line).map_err(io)?;
        self.out.flush().map_err(io)
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        self.out
            .flush()
            .map_err(|e| ExportError::new(format!("{}: {e}", self.path.display())))
    }
}

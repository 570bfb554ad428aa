//! An exporter that keeps finished spans in memory, for tests.

use super::Exporter;
use crate::error::ExportError;
use crate::model::record::SpanRecord;
use std::sync::{Arc, Mutex};

/// Keeps copies of every exported span. Cloning gives another handle to the
/// same store; thread-safe.
#[derive(Clone, Debug, Default)]
pub struct InMemoryExporter {
    spans: Arc<Mutex<Vec<SpanRecord>>>,
}

impl InMemoryExporter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The spans exported so far, in export order.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.spans.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Removes and returns the spans exported so far.
    pub fn take(&self) -> Vec<SpanRecord> {
        std::mem::take(&mut *self.spans.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Exporter for InMemoryExporter {
    fn name(&self) -> &str {
        "memory"
    }

    fn export(&mut self, batch: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        self.spans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(batch.iter().map(|r| (**r).clone()));
        Ok(())
    }
}

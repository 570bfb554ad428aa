//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

pub mod scripted;

use agtrace_core::{ExportError, Exporter, ExporterConfig, InMemoryExporter, SpanRecord, Tracer};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A tracer exporting to memory, ignoring the process environment.
pub fn memory_tracer() -> (Tracer, InMemoryExporter) {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .service_name("test")
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .expect("tracer");
    (tracer, mem)
}

/// Flushes and returns everything exported so far. Spans the exporters
/// dropped meanwhile (a full queue under load) are not a failure here.
pub fn flushed(tracer: &Tracer, mem: &InMemoryExporter) -> Vec<SpanRecord> {
    match tracer.force_flush(Duration::from_secs(10)) {
        Ok(()) | Err(agtrace_core::Error::Undelivered { .. }) => {}
        Err(e) => panic!("flush: {e}"),
    }
    mem.spans()
}

pub fn by_name<'a>(spans: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span named {name:?} in {:?}", names(spans)))
}

pub fn names(spans: &[SpanRecord]) -> Vec<String> {
    spans.iter().map(|s| s.name.to_string()).collect()
}

/// An exporter that blocks every export until released: stands in for a hung
/// backend.
#[derive(Clone, Default)]
pub struct Gate {
    state: Arc<(Mutex<GateState>, Condvar)>,
}

#[derive(Default)]
struct GateState {
    open: bool,
    exported: usize,
    entered: usize,
}

impl Gate {
    pub fn open(&self) {
        let (m, c) = &*self.state;
        m.lock().unwrap().open = true;
        c.notify_all();
    }

    pub fn exported(&self) -> usize {
        self.state.0.lock().unwrap().exported
    }

    /// Waits until an export call is blocked in the gate.
    pub fn wait_entered(&self) {
        let (m, c) = &*self.state;
        let mut g = m.lock().unwrap();
        while g.entered == 0 {
            g = c.wait(g).unwrap();
        }
    }
}

impl Exporter for Gate {
    fn name(&self) -> &str {
        "gate"
    }

    fn export(&mut self, batch: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        let (m, c) = &*self.state;
        let mut g = m.lock().unwrap();
        g.entered += 1;
        c.notify_all();
        while !g.open {
            g = c.wait(g).unwrap();
        }
        g.exported += batch.len();
        Ok(())
    }
}

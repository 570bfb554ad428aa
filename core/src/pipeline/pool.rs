//! Spare span records, reused by the collector: a record's inline storage is
//! not zeroed and reallocated per span.
//!
//! The collector takes one record at a time; the exporters return a whole
//! batch under one lock. Records are cleared before they are returned.

use crate::model::record::SpanRecord;
use std::sync::Mutex;

pub(crate) struct RecordPool {
    spare: Mutex<Vec<Box<SpanRecord>>>,
    capacity: usize,
}

impl RecordPool {
    pub(crate) fn new(capacity: usize) -> Self {
        RecordPool {
            spare: Mutex::new(Vec::with_capacity(capacity)),
            capacity,
        }
    }

    /// A cleared record from the pool, or a new one.
    pub(crate) fn take(&self) -> Box<SpanRecord> {
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
        spare.unwrap_or_else(|| Box::new(SpanRecord::blank()))
    }

    /// Clears and keeps `records`, up to the capacity; the rest are freed.
    pub(crate) fn give_back(&self, records: &mut Vec<Box<SpanRecord>>) {
        for r in records.iter_mut() {
            r.reset();
        }
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.capacity.saturating_sub(spare.len());
        let keep = records.len().min(room);
        spare.extend(records.drain(..keep));
        drop(spare);
        records.clear();
    }
}

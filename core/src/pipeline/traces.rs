//! Trace-level context by trace id, kept by the collector.
//!
//! Updates (`Span::update_trace`) arrive as entries in the thread buffers;
//! the collector applies the context to every span of that trace it
//! finishes afterwards, whatever the span's local root (so a span continued
//! in this process from extracted headers gets it too, in every language).
//! An entry is forgotten when no update or span of its trace was seen for
//! the hold limit; the table never holds more than `MAX_TRACES` (the oldest
//! go first).

use crate::model::id::TraceId;
use crate::model::trace::TraceMeta;
use crate::util::fasthash::FxHashMap;
use std::time::{Duration, Instant};

const MAX_TRACES: usize = 65_536;

struct Entry {
    meta: TraceMeta,
    touched: Instant,
}

pub(crate) struct Traces {
    map: FxHashMap<TraceId, Entry>,
    limit: Duration,
}

impl Traces {
    pub(crate) fn new(limit: Duration) -> Self {
        Traces {
            map: FxHashMap::default(),
            limit,
        }
    }

    pub(crate) fn merge(&mut self, trace_id: TraceId, update: TraceMeta) {
        if self.map.len() >= MAX_TRACES && !self.map.contains_key(&trace_id) {
            self.evict_oldest();
        }
        let e = self.map.entry(trace_id).or_insert_with(|| Entry {
            meta: TraceMeta::default(),
            touched: Instant::now(),
        });
        e.meta.merge(update);
        e.touched = Instant::now();
    }

    /// The trace's context, if any was set; a trace whose spans are still
    /// arriving (`now`) keeps it.
    pub(crate) fn get(&mut self, trace_id: &TraceId, now: Instant) -> Option<&TraceMeta> {
        if self.map.is_empty() {
            return None;
        }
        self.map.get_mut(trace_id).map(|e| {
            e.touched = now;
            &e.meta
        })
    }

    /// Forgets traces not updated within the limit.
    pub(crate) fn expire(&mut self, now: Instant) {
        let limit = self.limit;
        self.map
            .retain(|_, e| now.saturating_duration_since(e.touched) < limit);
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .map
            .iter()
            .min_by_key(|(_, e)| e.touched)
            .map(|(id, _)| *id);
        if let Some(id) = oldest {
            self.map.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_merge_and_expire() {
        let mut t = Traces::new(Duration::from_millis(50));
        let id = TraceId::random();
        t.merge(
            id,
            TraceMeta {
                user_id: Some("u".into()),
                tags: vec!["a".into()],
                ..Default::default()
            },
        );
        t.merge(
            id,
            TraceMeta {
                session_id: Some("s".into()),
                ..Default::default()
            },
        );
        let m = t.get(&id, Instant::now()).unwrap();
        assert_eq!(
            (m.user_id.as_deref(), m.session_id.as_deref()),
            (Some("u"), Some("s"))
        );
        assert_eq!(m.tags, vec!["a"]);
        t.expire(Instant::now() + Duration::from_millis(60));
        assert!(t.get(&id, Instant::now()).is_none());
    }
}

//! Trace-level context: who and what a trace is about (user, session,
//! conversation, tags, metadata, environment, release), set once and carried to
//! every span of the trace in this process.

use crate::model::semconv;
use crate::model::value::{Attribute, Attributes};
use crate::propagation::Baggage;
use std::sync::Mutex;

/// Trace-level context. Applied, as attributes, to every span of the trace that
/// is exported after it is set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceMeta {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub conversation_id: Option<String>,
    pub tags: Vec<String>,
    /// Free-form metadata, written as one JSON object attribute.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub environment: Option<String>,
    pub release: Option<String>,
}

impl TraceMeta {
    pub fn is_empty(&self) -> bool {
        *self == TraceMeta::default()
    }

    /// Adds the attributes for this context unless the span set its own value.
    pub(crate) fn apply(&self, attrs: &mut Attributes, conversation_attribute: &str) {
        let mut add = |key: &str, value: crate::Value| {
            if !attrs.iter().any(|a| a.key == key) {
                attrs.push(Attribute::new(key.to_string(), value));
            }
        };
        if let Some(v) = &self.user_id {
            add(semconv::USER_ID, v.clone().into());
        }
        if let Some(v) = &self.session_id {
            add(semconv::SESSION_ID, v.clone().into());
        }
        if let Some(v) = &self.conversation_id {
            add(conversation_attribute, v.clone().into());
        }
        if !self.tags.is_empty() {
            add(semconv::TAGS, self.tags.clone().into());
        }
        if !self.metadata.is_empty() {
            add(
                semconv::METADATA,
                serde_json::Value::Object(self.metadata.clone())
                    .to_string()
                    .into(),
            );
        }
        if let Some(v) = &self.environment {
            add(semconv::DEPLOYMENT_ENVIRONMENT, v.clone().into());
        }
        if let Some(v) = &self.release {
            add(semconv::AGTRACE_RELEASE, v.clone().into());
        }
    }
}

/// State shared by the spans of one trace in this process. Thread-safe; the
/// lock is taken only when trace-level context is set or a span is exported,
/// never on span start or end.
#[derive(Debug, Default)]
pub struct TraceShared {
    pub(crate) meta: Mutex<TraceMeta>,
    /// Baggage received with the remote parent, passed on by `inject`.
    pub(crate) baggage: Baggage,
}

impl TraceShared {
    pub(crate) fn with_baggage(baggage: Baggage) -> Self {
        TraceShared {
            meta: Mutex::new(TraceMeta::default()),
            baggage,
        }
    }

    pub(crate) fn meta(&self) -> TraceMeta {
        self.meta.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut TraceMeta)) {
        f(&mut self.meta.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

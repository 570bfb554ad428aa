//! Trace-level context: who and what a trace is about (user, session,
//! conversation, tags, metadata, environment, release), set once and carried to
//! every span of the trace this process exports. The collector keeps it by
//! trace id (see `pipeline::traces`), so spans continued in this process from
//! extracted headers get it too.

use crate::model::semconv;
use crate::model::value::{Attribute, Attributes};

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

impl TraceMeta {
    /// Applies an update made by `Span::update_trace`: fields it set replace
    /// the trace's, tags it set replace the trace's tags, its metadata
    /// entries are added (replacing entries of the same key).
    pub(crate) fn merge(&mut self, update: TraceMeta) {
        let TraceMeta {
            user_id,
            session_id,
            conversation_id,
            tags,
            metadata,
            environment,
            release,
        } = update;
        for (field, new) in [
            (&mut self.user_id, user_id),
            (&mut self.session_id, session_id),
            (&mut self.conversation_id, conversation_id),
            (&mut self.environment, environment),
            (&mut self.release, release),
        ] {
            if new.is_some() {
                *field = new;
            }
        }
        if !tags.is_empty() {
            self.tags = tags;
        }
        self.metadata.extend(metadata);
    }
}

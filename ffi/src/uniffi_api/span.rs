//! Spans, contexts and attribute values for the bindings.

use super::error::AgtraceError;
use crate::context::agtrace_context_t;
use crate::error::FfiError;
use crate::span::agtrace_span_t;
use agtrace_core::{Attribute, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// What a span is in an agent's run.
#[derive(uniffi::Enum, Clone, Copy)]
pub enum SpanKind {
    Plain,
    Agent,
    Workflow,
    Task,
    Llm,
    Embedding,
    Retriever,
    Reranker,
    Tool,
    Guardrail,
    Evaluator,
}

impl From<SpanKind> for agtrace_core::SpanKind {
    fn from(k: SpanKind) -> Self {
        use agtrace_core::SpanKind as K;
        match k {
            SpanKind::Plain => K::Plain,
            SpanKind::Agent => K::Agent,
            SpanKind::Workflow => K::Workflow,
            SpanKind::Task => K::Task,
            SpanKind::Llm => K::Llm,
            SpanKind::Embedding => K::Embedding,
            SpanKind::Retriever => K::Retriever,
            SpanKind::Reranker => K::Reranker,
            SpanKind::Tool => K::Tool,
            SpanKind::Guardrail => K::Guardrail,
            SpanKind::Evaluator => K::Evaluator,
        }
    }
}

/// A typed attribute value.
#[derive(uniffi::Enum)]
pub enum AttributeValue {
    Text {
        value: String,
    },
    Boolean {
        value: bool,
    },
    Integer {
        value: i64,
    },
    Double {
        value: f64,
    },
    TextList {
        values: Vec<String>,
    },
    IntegerList {
        values: Vec<i64>,
    },
    DoubleList {
        values: Vec<f64>,
    },
    BooleanList {
        values: Vec<bool>,
    },
    /// JSON text (messages, tool arguments), checked and stored as a string.
    Json {
        json: String,
    },
}

pub(super) fn attributes(
    map: HashMap<String, AttributeValue>,
) -> Result<Vec<Attribute>, AgtraceError> {
    map.into_iter()
        .map(|(k, v)| {
            if k.is_empty() {
                return Err(FfiError::invalid("attribute key", "empty").into());
            }
            let value = match v {
                AttributeValue::Text { value } => Value::from(value),
                AttributeValue::Boolean { value } => Value::Bool(value),
                AttributeValue::Integer { value } => Value::I64(value),
                AttributeValue::Double { value } => Value::F64(value),
                AttributeValue::TextList { values } => Value::from(values),
                AttributeValue::IntegerList { values } => Value::I64Array(values),
                AttributeValue::DoubleList { values } => Value::F64Array(values),
                AttributeValue::BooleanList { values } => Value::BoolArray(values),
                AttributeValue::Json { json } => {
                    serde_json::from_str::<serde_json::Value>(&json).map_err(|e| {
                        FfiError::invalid(format!("value of {k}"), format!("not JSON ({e})"))
                    })?;
                    Value::from(json)
                }
            };
            Ok(Attribute::new(agtrace_core::intern(&k), value))
        })
        .collect()
}

/// Token usage of a model call; zero means not reported.
#[derive(uniffi::Record, Default)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub reasoning_output_tokens: u64,
}

/// A span. Thread-safe (calls are serialized). Ended by `end`, or when
/// released without it (then marked abandoned).
#[derive(uniffi::Object)]
pub struct Span {
    inner: agtrace_span_t,
}

impl Span {
    pub(super) fn wrap(s: agtrace_core::Span) -> Self {
        Span {
            inner: agtrace_span_t::new(s),
        }
    }
}

/// A span's identity (and its trace's baggage): a parent, or what to inject.
#[derive(uniffi::Object)]
pub struct SpanContext {
    pub(super) inner: agtrace_context_t,
}

#[uniffi::export]
impl SpanContext {
    /// 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        self.inner.span_context().trace_id.to_hex()
    }

    /// 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        self.inner.span_context().span_id.to_hex()
    }

    pub fn is_sampled(&self) -> bool {
        self.inner.span_context().is_sampled()
    }
}

#[uniffi::export]
impl Span {
    /// Ends the span; a second call fails with `AlreadyEnded`.
    pub fn end(&self) -> Result<(), AgtraceError> {
        Ok(self.inner.end()?)
    }

    pub fn context(&self) -> Arc<SpanContext> {
        let r = self
            .inner
            .span
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .to_ref();
        Arc::new(SpanContext {
            inner: agtrace_context_t::local(r),
        })
    }

    pub fn is_recording(&self) -> bool {
        self.inner
            .span
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_recording()
    }

    /// Sets attributes in one call, all or nothing.
    pub fn set_attributes(
        &self,
        attributes_by_key: HashMap<String, AttributeValue>,
    ) -> Result<(), AgtraceError> {
        let attrs = attributes(attributes_by_key)?;
        Ok(self.inner.with(|s| {
            s.set_attributes(attrs);
            Ok(())
        })?)
    }

    /// An OpenTelemetry `exception` event; sets the status to error.
    pub fn record_error(
        &self,
        error_type: String,
        message: String,
        stacktrace: Option<String>,
    ) -> Result<(), AgtraceError> {
        Ok(self.inner.with(|s| {
            s.record_error(error_type, message, stacktrace);
            Ok(())
        })?)
    }

    pub fn set_usage(&self, usage: Usage) -> Result<(), AgtraceError> {
        Ok(self.inner.with(|s| {
            s.set_usage(agtrace_core::Usage {
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                cache_read_input_tokens: usage.cache_read_input_tokens,
                cache_creation_input_tokens: usage.cache_creation_input_tokens,
                reasoning_output_tokens: usage.reasoning_output_tokens,
            });
            Ok(())
        })?)
    }

    /// Provider and models of a model call (absent values are not set).
    pub fn set_llm(
        &self,
        provider: Option<String>,
        request_model: Option<String>,
        response_model: Option<String>,
    ) -> Result<(), AgtraceError> {
        Ok(self.inner.with(|s| {
            if let Some(v) = provider {
                s.set_provider(v);
            }
            if let Some(v) = request_model {
                s.set_request_model(v);
            }
            if let Some(v) = response_model {
                s.set_response_model(v);
            }
            Ok(())
        })?)
    }
}

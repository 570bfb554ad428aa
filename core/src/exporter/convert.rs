//! Conversion of finished records to the OpenTelemetry SDK's `SpanData`, which
//! `opentelemetry-otlp` sends and `opentelemetry-proto` encodes.

use crate::model::id::SpanContext;
use crate::model::kind::OtelKind;
use crate::model::record::{SpanRecord, Status};
use crate::model::value::{Attribute, Value};
use opentelemetry::trace as ot;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The process's resource: `service.name` and the other resource attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub attributes: Vec<Attribute>,
}

impl Resource {
    pub(crate) fn to_otel(&self) -> opentelemetry_sdk::Resource {
        opentelemetry_sdk::Resource::builder_empty()
            .with_attributes(self.attributes.iter().map(key_value))
            .build()
    }
}

pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("agtrace")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

fn time(unix_nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nanos)
}

fn key_value(a: &Attribute) -> KeyValue {
    KeyValue::new(a.key.clone(), value(&a.value))
}

fn value(v: &Value) -> opentelemetry::Value {
    use opentelemetry::{Array, StringValue, Value as O};
    match v {
        Value::Bool(b) => O::Bool(*b),
        Value::I64(i) => O::I64(*i),
        Value::F64(f) => O::F64(*f),
        Value::String(s) => O::String(StringValue::from(s.clone())),
        Value::BoolArray(a) => O::Array(Array::Bool(a.clone())),
        Value::I64Array(a) => O::Array(Array::I64(a.clone())),
        Value::F64Array(a) => O::Array(Array::F64(a.clone())),
        Value::StringArray(a) => O::Array(Array::String(
            a.iter().map(|s| StringValue::from(s.clone())).collect(),
        )),
    }
}

fn context(c: &SpanContext) -> ot::SpanContext {
    let state = ot::TraceState::from_key_value(
        c.trace_state
            .entries()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .unwrap_or_default();
    ot::SpanContext::new(
        ot::TraceId::from_bytes(c.trace_id.0),
        ot::SpanId::from_bytes(c.span_id.0),
        ot::TraceFlags::new(c.flags.0),
        c.is_remote,
        state,
    )
}

pub(crate) fn span_data(r: &SpanRecord, scope: &InstrumentationScope) -> SpanData {
    let mut events = SpanEvents::default();
    events.events = r
        .events
        .iter()
        .map(|e| {
            ot::Event::new(
                e.name.clone(),
                time(e.time_unix_nanos),
                e.attributes.iter().map(key_value).collect(),
                0,
            )
        })
        .collect();
    let mut links = SpanLinks::default();
    links.links = r
        .links
        .iter()
        .map(|l| {
            ot::Link::new(
                context(&l.context),
                l.attributes.iter().map(key_value).collect(),
                0,
            )
        })
        .collect();
    SpanData {
        span_context: context(&r.context()),
        parent_span_id: ot::SpanId::from_bytes(r.parent_span_id.0),
        parent_span_is_remote: r.parent_is_remote,
        span_kind: match r.otel_kind {
            OtelKind::Internal => ot::SpanKind::Internal,
            OtelKind::Server => ot::SpanKind::Server,
            OtelKind::Client => ot::SpanKind::Client,
            OtelKind::Producer => ot::SpanKind::Producer,
            OtelKind::Consumer => ot::SpanKind::Consumer,
        },
        name: r.name.clone(),
        start_time: time(r.start_unix_nanos),
        end_time: time(r.end_unix_nanos),
        attributes: r.attributes.iter().map(key_value).collect(),
        dropped_attributes_count: 0,
        events,
        links,
        status: match &r.status {
            Status::Unset => ot::Status::Unset,
            Status::Ok => ot::Status::Ok,
            Status::Error(d) => ot::Status::Error {
                description: d.clone(),
            },
        },
        instrumentation_scope: scope.clone(),
    }
}

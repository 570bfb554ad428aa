//! What an OTLP receiver answers on success: `ExportTraceServiceResponse`,
//! whose `partial_success` says how many spans it rejected. Read from
//! protobuf (HTTP and gRPC) or OTLP/JSON.

use crate::error::ExportError;
use serde::Deserialize as _;

/// `opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse`, the
/// one field read.
#[derive(Clone, PartialEq, prost::Message, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct ExportTraceServiceResponse {
    #[prost(message, optional, tag = "1")]
    partial_success: Option<ExportTracePartialSuccess>,
}

#[derive(Clone, PartialEq, prost::Message, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ExportTracePartialSuccess {
    #[prost(int64, tag = "1")]
    #[serde(deserialize_with = "int64")]
    rejected_spans: i64,
    #[prost(string, tag = "2")]
    error_message: String,
}

/// OTLP/JSON writes 64-bit integers as decimal strings (receivers built on
/// protobuf's JSON mapping do), and readers take numbers too.
fn int64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Int64 {
        Number(i64),
        Text(String),
    }
    match Int64::deserialize(d)? {
        Int64::Number(n) => Ok(n),
        Int64::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

impl ExportTraceServiceResponse {
    /// Decodes a protobuf body; `None` when it is not one.
    pub(super) fn from_protobuf(body: &[u8]) -> Option<Self> {
        prost::Message::decode(body).ok()
    }

    /// Decodes an OTLP/JSON body; `None` when it is not one.
    pub(super) fn from_json(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }
}

/// Success, or the partial success the receiver reported. An answer that
/// cannot be read counts as full success: the request was accepted.
pub(super) fn partial_success(
    endpoint: &str,
    resp: Option<ExportTraceServiceResponse>,
) -> Result<(), ExportError> {
    match resp.and_then(|r| r.partial_success) {
        Some(p) if p.rejected_spans > 0 => Err(ExportError::partial(
            p.rejected_spans as u64,
            format!(
                "{endpoint}: {} span(s) rejected: {}",
                p.rejected_spans, p.error_message
            ),
        )),
        _ => Ok(()),
    }
}

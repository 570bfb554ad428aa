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

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(resp: Option<ExportTraceServiceResponse>) -> Option<u64> {
        match partial_success("e", resp) {
            Ok(()) => None,
            Err(e) => match e.kind {
                crate::ExportErrorKind::PartialSuccess { rejected } => Some(rejected),
                other => panic!("{other:?}"),
            },
        }
    }

    #[test]
    fn json_rejected_spans_as_number_or_string() {
        let number = br#"{"partialSuccess":{"rejectedSpans":2,"errorMessage":"old"}}"#;
        let string = br#"{"partialSuccess":{"rejectedSpans":"3"}}"#;
        assert_eq!(
            rejected(ExportTraceServiceResponse::from_json(number)),
            Some(2)
        );
        assert_eq!(
            rejected(ExportTraceServiceResponse::from_json(string)),
            Some(3)
        );
        assert_eq!(rejected(ExportTraceServiceResponse::from_json(b"{}")), None);
        assert_eq!(
            rejected(ExportTraceServiceResponse::from_json(b"<html>")),
            None
        );
    }

    #[test]
    fn protobuf_partial_success() {
        // partial_success { rejected_spans: 5, error_message: "x" }
        let body = [0x0a, 0x05, 0x08, 0x05, 0x12, 0x01, b'x'];
        assert_eq!(
            rejected(ExportTraceServiceResponse::from_protobuf(&body)),
            Some(5)
        );
        assert_eq!(
            rejected(ExportTraceServiceResponse::from_protobuf(&[])),
            None
        );
    }
}

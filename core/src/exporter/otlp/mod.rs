//! The OTLP exporter: HTTP/protobuf (default), HTTP/JSON or gRPC.
//!
//! Requests are encoded straight from the records (see `wire`) and sent with
//! `reqwest` (HTTP, `http`) or `tonic` (gRPC, `grpc`) from a single-threaded
//! tokio runtime this exporter owns, so the host needs no runtime and an
//! app's own runtime is never blocked or entered. Each call makes exactly one
//! request and classifies the answer the way the OTLP specification says
//! (retryable, rejected, partial success, too large); retries, backoff and
//! the circuit breaker are the pipeline's (see `delivery`), so they work
//! alike for every exporter. A retried batch, and the parts of a batch split
//! for size, are sent from the spans encoded the first time.
//!
//! Why not `opentelemetry-otlp`: its exporter retries internally, only logs
//! partial success, and cannot be interrupted by shutdown or report what it
//! did, which the delivery rules need.

mod grpc;
mod http;
mod response;

use super::wire::{json, proto, EncodedSpans, Format};
use super::{Encoded, Exporter, PieceEncoder, Resource};
use crate::error::{Error, ExportError};
use crate::model::record::SpanRecord;
use std::ops::Range;
use std::time::Duration;

/// The OTLP wire protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
pub enum OtlpProtocol {
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    #[serde(rename = "http/json")]
    HttpJson,
    #[serde(rename = "grpc")]
    Grpc,
}

impl OtlpProtocol {
    /// Parses the `OTEL_EXPORTER_OTLP_PROTOCOL` spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "http/protobuf" => Some(OtlpProtocol::HttpProtobuf),
            "http/json" => Some(OtlpProtocol::HttpJson),
            "grpc" => Some(OtlpProtocol::Grpc),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtlpCompression {
    #[default]
    None,
    Gzip,
}

/// OTLP settings. Fields left `None` (or empty) are read from the standard
/// `OTEL_EXPORTER_OTLP_*` variables when the tracer is built, then defaulted.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpConfig {
    /// The full URL spans are sent to: for HTTP the traces URL
    /// (`http://host:4318/v1/traces`), for gRPC the server
    /// (`http://host:4317`). From the environment, a per-signal endpoint is
    /// used as is and `OTEL_EXPORTER_OTLP_ENDPOINT` gets `/v1/traces` appended
    /// for HTTP, as the OTLP specification says.
    pub endpoint: Option<String>,
    pub protocol: Option<OtlpProtocol>,
    /// Extra request headers (gRPC metadata), added to those from the
    /// environment. In a config file: a table of name = value.
    #[serde(deserialize_with = "crate::util::parse::pairs")]
    pub headers: Vec<(String, String)>,
    /// Per-request timeout (default 10 s).
    #[serde(with = "crate::util::parse::millis_opt", rename = "timeout_ms")]
    pub timeout: Option<Duration>,
    pub compression: Option<OtlpCompression>,
    /// Largest request body; larger batches are split (default 4,000,000
    /// bytes, under gRPC's usual 4 MiB limit).
    pub max_request_bytes: Option<usize>,
}

/// `OtlpConfig` with every field decided.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OtlpSettings {
    /// The exporter's name in stats and logs (`otlp`, `langfuse`, `phoenix`).
    pub(crate) name: String,
    pub(crate) endpoint: String,
    pub(crate) protocol: OtlpProtocol,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) compression: OtlpCompression,
    pub(crate) max_request_bytes: usize,
}

pub(crate) const DEFAULT_MAX_REQUEST_BYTES: usize = 4_000_000;

enum Transport {
    Http(reqwest::Client),
    Grpc(tonic::transport::Channel),
}

pub(crate) struct OtlpExporter {
    runtime: tokio::runtime::Runtime,
    transport: Transport,
    settings: OtlpSettings,
    format: Format,
    encoded: EncodedSpans,
}

impl OtlpExporter {
    /// Builds the client. Connections are made lazily on the export thread:
    /// nothing here touches the network.
    pub(crate) fn new(s: &OtlpSettings, resource: &Resource) -> Result<Self, Error> {
        let fail = |reason: String| Error::Exporter {
            exporter: s.name.clone(),
            reason,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fail(format!("cannot create its runtime: {e}")))?;
        let transport = match s.protocol {
            OtlpProtocol::Grpc => Transport::Grpc(grpc::channel(s, &runtime).map_err(fail)?),
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                Transport::Http(http::client(s).map_err(fail)?)
            }
        };
        let format = match s.protocol {
            OtlpProtocol::HttpJson => Format::Json(json::Framing::new(resource)),
            OtlpProtocol::HttpProtobuf | OtlpProtocol::Grpc => {
                Format::Protobuf(proto::Framing::new(resource))
            }
        };
        Ok(OtlpExporter {
            runtime,
            transport,
            settings: s.clone(),
            format,
            encoded: EncodedSpans::new(),
        })
    }
}

impl OtlpExporter {
    /// Sends one request holding `spans` (pieces back to back).
    fn send(&self, spans: &[u8]) -> Result<(), ExportError> {
        self.post(self.body(spans)?)
    }

    /// The request holding `spans`; too large past `max_request_bytes`.
    fn body(&self, spans: &[u8]) -> Result<Vec<u8>, ExportError> {
        let format = &self.format;
        let s = &self.settings;
        // Checked before compression, as the limit is on the message.
        let size = format.request_len(spans);
        if size > s.max_request_bytes {
            return Err(ExportError::too_large(format!(
                "{}: request of {size} bytes exceeds the limit of {} bytes",
                s.endpoint, s.max_request_bytes
            )));
        }
        // One owned body per request: reqwest and tonic take the body by
        // value, and the cached pieces must outlive it for a retry.
        let mut body = Vec::with_capacity(size);
        format.write_request(spans, &mut body);
        Ok(body)
    }

    fn post(&self, body: Vec<u8>) -> Result<(), ExportError> {
        let s = &self.settings;
        match &self.transport {
            Transport::Http(client) => self.runtime.block_on(http::send(client, s, body)),
            Transport::Grpc(channel) => self.runtime.block_on(grpc::send(channel, s, body)),
        }
    }
}

impl Exporter for OtlpExporter {
    /// Its waits are on its own runtime and connections.
    fn fork_safe_while_exporting(&self) -> bool {
        true
    }

    fn name(&self) -> &str {
        &self.settings.name
    }

    fn export(&mut self, batch: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        let format = &self.format;
        let mut encoded = std::mem::take(&mut self.encoded);
        let result = self.send(encoded.pieces(batch, |r, out| format.span(r, out)));
        self.encoded = encoded;
        result
    }

    fn piece_encoder(&self) -> Option<PieceEncoder> {
        Some(match self.format {
            Format::Protobuf(_) => proto::span,
            Format::Json(_) => json::span,
        })
    }

    fn export_encoded(&mut self, batch: &Encoded, range: Range<usize>) -> Result<(), ExportError> {
        self.send(batch.pieces(range))
    }

    fn spool_destination(&self) -> Option<String> {
        let s = &self.settings;
        Some(format!("{:?} {}", s.protocol, s.endpoint))
    }

    fn request_body(&mut self, batch: &[Box<SpanRecord>]) -> Result<Vec<u8>, ExportError> {
        let format = &self.format;
        let mut encoded = std::mem::take(&mut self.encoded);
        let body = self.body(encoded.pieces(batch, |r, out| format.span(r, out)));
        self.encoded = encoded;
        body
    }

    fn request_body_encoded(
        &mut self,
        batch: &Encoded,
        range: Range<usize>,
    ) -> Result<Vec<u8>, ExportError> {
        self.body(batch.pieces(range))
    }

    fn send_body(&mut self, body: &[u8]) -> Result<(), ExportError> {
        self.post(body.to_vec())
    }
}

//! The OTLP exporter, through `opentelemetry-otlp`: HTTP/protobuf (default),
//! HTTP/JSON or gRPC.
//!
//! `opentelemetry-otlp` is async; this exporter owns a single-threaded tokio
//! runtime and drives it from the export thread, so the host needs no runtime
//! and an app's own runtime is never blocked or entered.

use super::convert::{scope, span_data, Resource};
use super::Exporter;
use crate::error::{Error, ExportError};
use crate::record::SpanRecord;
use opentelemetry::InstrumentationScope;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SpanExporter as _;
use std::collections::HashMap;
use std::time::Duration;

/// The OTLP wire protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    #[default]
    HttpProtobuf,
    HttpJson,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OtlpCompression {
    #[default]
    None,
    Gzip,
}

/// OTLP settings. Fields left `None` (or empty) are read from the standard
/// `OTEL_EXPORTER_OTLP_*` variables when the tracer is built, then defaulted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OtlpConfig {
    /// The full URL spans are sent to: for HTTP the traces URL
    /// (`http://host:4318/v1/traces`), for gRPC the server
    /// (`http://host:4317`). From the environment, a per-signal endpoint is
    /// used as is and `OTEL_EXPORTER_OTLP_ENDPOINT` gets `/v1/traces` appended
    /// for HTTP, as the OTLP specification says.
    pub endpoint: Option<String>,
    pub protocol: Option<OtlpProtocol>,
    /// Extra request headers (gRPC metadata), added to those from the
    /// environment.
    pub headers: Vec<(String, String)>,
    /// Per-export timeout (default 10 s).
    pub timeout: Option<Duration>,
    pub compression: Option<OtlpCompression>,
}

/// `OtlpConfig` with every field decided.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OtlpSettings {
    pub(crate) endpoint: String,
    pub(crate) protocol: OtlpProtocol,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) compression: OtlpCompression,
}

pub(crate) struct OtlpExporter {
    runtime: tokio::runtime::Runtime,
    inner: opentelemetry_otlp::SpanExporter,
    scope: InstrumentationScope,
    timeout: Duration,
    endpoint: String,
}

impl OtlpExporter {
    /// Builds the client. Connections are made lazily on the export thread:
    /// nothing here touches the network.
    pub(crate) fn new(s: &OtlpSettings, resource: &Resource) -> Result<Self, Error> {
        let fail = |reason: String| Error::Exporter {
            exporter: "otlp".into(),
            reason,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fail(format!("cannot create its runtime: {e}")))?;
        let compression = match s.compression {
            OtlpCompression::None => None,
            OtlpCompression::Gzip => Some(opentelemetry_otlp::Compression::Gzip),
        };
        let built = {
            // tonic's lazy channel must be created inside a runtime context.
            let _guard = runtime.enter();
            match s.protocol {
                OtlpProtocol::Grpc => {
                    let mut metadata =
                        opentelemetry_otlp::tonic_types::metadata::MetadataMap::new();
                    for (k, v) in &s.headers {
                        let key = k
                            .to_ascii_lowercase()
                            .parse::<tonic::metadata::MetadataKey<tonic::metadata::Ascii>>()
                            .map_err(|e| fail(format!("bad header name {k:?}: {e}")))?;
                        let val = v
                            .parse()
                            .map_err(|e| fail(format!("bad value for header {k:?}: {e}")))?;
                        metadata.insert(key, val);
                    }
                    let mut b = opentelemetry_otlp::SpanExporter::builder()
                        .with_tonic()
                        .with_endpoint(s.endpoint.clone())
                        .with_timeout(s.timeout)
                        .with_metadata(metadata);
                    if let Some(c) = compression {
                        b = b.with_compression(c);
                    }
                    b.build()
                }
                OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                    let mut b = opentelemetry_otlp::SpanExporter::builder()
                        .with_http()
                        .with_endpoint(s.endpoint.clone())
                        .with_protocol(if s.protocol == OtlpProtocol::HttpJson {
                            Protocol::HttpJson
                        } else {
                            Protocol::HttpBinary
                        })
                        .with_timeout(s.timeout)
                        .with_headers(s.headers.iter().cloned().collect::<HashMap<_, _>>());
                    if let Some(c) = compression {
                        b = b.with_compression(c);
                    }
                    b.build()
                }
            }
        };
        let mut inner = built.map_err(|e| fail(e.to_string()))?;
        inner.set_resource(&resource.to_otel());
        Ok(OtlpExporter {
            runtime,
            inner,
            scope: scope(),
            timeout: s.timeout,
            endpoint: s.endpoint.clone(),
        })
    }
}

impl Exporter for OtlpExporter {
    fn name(&self) -> &str {
        "otlp"
    }

    fn export(&mut self, batch: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        let spans = batch.iter().map(|r| span_data(r, &self.scope)).collect();
        let inner = &self.inner;
        // The client's own timeout bounds each request; this one also bounds
        // its retries, so one export never outlives the configured timeout by
        // more than a request.
        let limit = self.timeout * 2;
        let result = self
            .runtime
            .block_on(async { tokio::time::timeout(limit, inner.export(spans)).await });
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ExportError::new(format!("{}: {e}", self.endpoint))),
            Err(_) => Err(ExportError::new(format!(
                "{}: timed out after {limit:?}",
                self.endpoint
            ))),
        }
    }

    fn shutdown(&mut self) -> Result<(), ExportError> {
        let _guard = self.runtime.enter();
        self.inner
            .shutdown_with_timeout(self.timeout)
            .map_err(|e| ExportError::new(e.to_string()))
    }
}

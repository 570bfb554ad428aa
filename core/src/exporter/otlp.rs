//! The OTLP exporter: HTTP/protobuf (default), HTTP/JSON or gRPC.
//!
//! Requests are encoded with `opentelemetry-proto` and sent with `reqwest`
//! (HTTP) or `tonic` (gRPC) from a single-threaded tokio runtime this exporter
//! owns, so the host needs no runtime and an app's own runtime is never
//! blocked or entered. Each call makes exactly one request and classifies the
//! answer the way the OTLP specification says (retryable, rejected, partial
//! success, too large); retries, backoff and the circuit breaker are the
//! pipeline's (see `delivery`), so they work alike for every exporter.
//!
//! Why not `opentelemetry-otlp`: its exporter retries internally, only logs
//! partial success, and cannot be interrupted by shutdown or report what it
//! did, which the delivery rules need.

use super::convert::{scope, span_data, Resource};
use super::Exporter;
use crate::error::{Error, ExportError};
use crate::model::record::SpanRecord;
use opentelemetry::InstrumentationScope;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use prost::Message;
use std::io::Write;
use std::sync::Arc;
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
    resource: ResourceAttributesWithSchema,
    scope: InstrumentationScope,
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
        let https = s.endpoint.starts_with("https://");
        let transport = match s.protocol {
            OtlpProtocol::Grpc => {
                let mut endpoint = tonic::transport::Endpoint::from_shared(s.endpoint.clone())
                    .map_err(|e| fail(format!("bad endpoint {}: {e}", s.endpoint)))?
                    .timeout(s.timeout)
                    .connect_timeout(s.timeout);
                if https {
                    endpoint = endpoint
                        .tls_config(tonic::transport::ClientTlsConfig::new().with_native_roots())
                        .map_err(|e| fail(format!("TLS: {e}")))?;
                }
                // tonic's lazy channel must be created inside a runtime context.
                let _guard = runtime.enter();
                Transport::Grpc(endpoint.connect_lazy())
            }
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                let client = reqwest::Client::builder()
                    .timeout(s.timeout)
                    .connect_timeout(s.timeout)
                    // Our own rustls configuration, so nothing is installed
                    // process-wide (a host app may choose its own provider).
                    .tls_backend_preconfigured(tls_config(https).map_err(fail)?)
                    .build()
                    .map_err(|e| fail(format!("cannot build the HTTP client: {e}")))?;
                Transport::Http(client)
            }
        };
        Ok(OtlpExporter {
            runtime,
            transport,
            settings: s.clone(),
            resource: (&resource.to_otel()).into(),
            scope: scope(),
        })
    }

    fn request(&self, batch: &[Box<SpanRecord>]) -> ExportTraceServiceRequest {
        let spans = batch.iter().map(|r| span_data(r, &self.scope)).collect();
        ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(spans, &self.resource),
        }
    }

    fn too_large(&self, size: usize) -> ExportError {
        ExportError::too_large(format!(
            "{}: request of {size} bytes exceeds the limit of {} bytes",
            self.settings.endpoint, self.settings.max_request_bytes
        ))
    }

    async fn send_http(
        client: &reqwest::Client,
        s: &OtlpSettings,
        body: Vec<u8>,
    ) -> Result<(), ExportError> {
        let json = s.protocol == OtlpProtocol::HttpJson;
        let mut req = client.post(&s.endpoint).header(
            "content-type",
            if json {
                "application/json"
            } else {
                "application/x-protobuf"
            },
        );
        for (k, v) in &s.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let body = if s.compression == OtlpCompression::Gzip {
            req = req.header("content-encoding", "gzip");
            gzip(&body).map_err(|e| ExportError::new(format!("gzip: {e}")))?
        } else {
            body
        };
        let resp = match req.body(body).send().await {
            Ok(r) => r,
            // Unreachable, refused, reset, timed out: the backend may be back soon.
            Err(e) => {
                return Err(ExportError::retryable(
                    format!("{}: {}", s.endpoint, error_chain(&e)),
                    None,
                ))
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = resp.bytes().await.unwrap_or_default();
        if (200..300).contains(&status) {
            let parsed = if json {
                serde_json::from_slice::<ExportTraceServiceResponse>(&bytes).ok()
            } else {
                ExportTraceServiceResponse::decode(&bytes[..]).ok()
            };
            return partial_success(&s.endpoint, parsed);
        }
        let text = String::from_utf8_lossy(&bytes);
        let reason = format!(
            "{}: HTTP {status}: {}",
            s.endpoint,
            text.chars().take(200).collect::<String>().trim()
        );
        // The OTLP/HTTP specification's retryable codes; every other one is final.
        match status {
            429 | 502 | 503 | 504 => Err(ExportError::retryable(reason, retry_after)),
            _ => Err(ExportError::new(reason)),
        }
    }

    async fn send_grpc(
        channel: &tonic::transport::Channel,
        s: &OtlpSettings,
        msg: ExportTraceServiceRequest,
    ) -> Result<(), ExportError> {
        use tonic::Code;
        use tonic_types::StatusExt;
        let mut client = TraceServiceClient::new(channel.clone())
            .max_encoding_message_size(usize::MAX)
            .max_decoding_message_size(usize::MAX);
        if s.compression == OtlpCompression::Gzip {
            client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
        }
        let mut req = tonic::Request::new(msg);
        req.set_timeout(s.timeout);
        for (k, v) in &s.headers {
            let key = tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes());
            if let (Ok(key), Ok(val)) = (key, v.parse()) {
                req.metadata_mut().insert(key, val);
            }
        }
        match client.export(req).await {
            Ok(resp) => partial_success(&s.endpoint, Some(resp.into_inner())),
            Err(status) => {
                let retry_after = status.get_details_retry_info().and_then(|r| r.retry_delay);
                let reason = format!(
                    "{}: gRPC {:?}: {}",
                    s.endpoint,
                    status.code(),
                    status.message()
                );
                // The OTLP/gRPC specification's retryable codes; RESOURCE_EXHAUSTED
                // only when the server says when to come back.
                match status.code() {
                    Code::Cancelled
                    | Code::DeadlineExceeded
                    | Code::Aborted
                    | Code::OutOfRange
                    | Code::Unavailable
                    | Code::DataLoss => Err(ExportError::retryable(reason, retry_after)),
                    Code::ResourceExhausted if retry_after.is_some() => {
                        Err(ExportError::retryable(reason, retry_after))
                    }
                    _ => Err(ExportError::new(reason)),
                }
            }
        }
    }
}

impl Exporter for OtlpExporter {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn export(&mut self, batch: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        let msg = self.request(batch);
        let s = &self.settings;
        match &self.transport {
            Transport::Http(client) => {
                let body = if s.protocol == OtlpProtocol::HttpJson {
                    serde_json::to_vec(&msg).map_err(|e| ExportError::new(e.to_string()))?
                } else {
                    msg.encode_to_vec()
                };
                if body.len() > s.max_request_bytes {
                    return Err(self.too_large(body.len()));
                }
                self.runtime.block_on(Self::send_http(client, s, body))
            }
            Transport::Grpc(channel) => {
                let size = msg.encoded_len();
                if size > s.max_request_bytes {
                    return Err(self.too_large(size));
                }
                self.runtime.block_on(Self::send_grpc(channel, s, msg))
            }
        }
    }
}

fn partial_success(
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

fn tls_config(https: bool) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    if https {
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
        if roots.is_empty() {
            return Err("no trusted root certificates found on this system".into());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(body)?;
    enc.finish()
}

/// The error with its causes: reqwest's top-level message alone ("error
/// sending request") does not say what went wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// `Retry-After`: delay-seconds or an IMF-fixdate (RFC 9110). Capped at one
/// hour so a confused server cannot park an exporter for days.
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    const CAP: Duration = Duration::from_secs(3600);
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(CAP));
    }
    let at = parse_imf_fixdate(v)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)).min(CAP))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` to Unix seconds.
fn parse_imf_fixdate(v: &str) -> Option<u64> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: u64 = parts[1].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as u64
        + 1;
    let year: u64 = parts[3].parse().ok()?;
    let hms: Vec<u64> = parts[4]
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 || !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_imf_fixdate("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        // A date in the past means "now".
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST"), None);
    }
}

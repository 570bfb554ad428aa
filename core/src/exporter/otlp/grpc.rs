//! OTLP over gRPC with `tonic`: the request is the protobuf the exporter
//! already encoded, sent through a codec that passes the bytes through
//! (tonic frames and, when configured, gzips them), and the answer is read
//! for partial success or classified by status code.

use super::response::{partial_success, ExportTraceServiceResponse};
use super::{OtlpCompression, OtlpSettings};
use crate::error::ExportError;
use http::uri::PathAndQuery;
use prost::bytes::BufMut as _;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

const SERVICE: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The channel for `s`; connects lazily, on the first request.
pub(super) fn channel(
    s: &OtlpSettings,
    runtime: &tokio::runtime::Runtime,
) -> Result<tonic::transport::Channel, String> {
    let mut endpoint = tonic::transport::Endpoint::from_shared(s.endpoint.clone())
        .map_err(|e| format!("bad endpoint {}: {e}", s.endpoint))?
        .timeout(s.timeout)
        .connect_timeout(s.timeout);
    if s.endpoint.starts_with("https://") {
        endpoint = endpoint
            .tls_config(tonic::transport::ClientTlsConfig::new().with_native_roots())
            .map_err(|e| format!("TLS: {e}"))?;
    }
    // tonic's lazy channel must be created inside a runtime context.
    let _guard = runtime.enter();
    Ok(endpoint.connect_lazy())
}

/// Sends one encoded `ExportTraceServiceRequest`.
pub(super) async fn send(
    channel: &tonic::transport::Channel,
    s: &OtlpSettings,
    request: Vec<u8>,
) -> Result<(), ExportError> {
    use tonic_types::StatusExt;
    match export(channel, s, request).await {
        Ok(resp) => partial_success(&s.endpoint, Some(resp)),
        Err(status) => {
            let retry_after = status.get_details_retry_info().and_then(|r| r.retry_delay);
            let reason = format!(
                "{}: gRPC {:?}: {}",
                s.endpoint,
                status.code(),
                status.message()
            );
            // A failure of the connection itself (refused, reset, closed
            // mid-call: tonic gives these a source error, where a status the
            // server sent has none) may succeed on a new connection; then the
            // OTLP/gRPC specification's retryable codes; RESOURCE_EXHAUSTED
            // only when the server says when to come back.
            if std::error::Error::source(&status).is_some() {
                return Err(ExportError::retryable(reason, None));
            }
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

/// The unary `TraceService/Export` call, as tonic's generated client makes
/// it, with the pass-through codec.
async fn export(
    channel: &tonic::transport::Channel,
    s: &OtlpSettings,
    request: Vec<u8>,
) -> Result<ExportTraceServiceResponse, Status> {
    let mut client = tonic::client::Grpc::new(channel.clone())
        .max_encoding_message_size(usize::MAX)
        .max_decoding_message_size(usize::MAX);
    if s.compression == OtlpCompression::Gzip {
        client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
    }
    let mut req = tonic::Request::new(request);
    req.set_timeout(s.timeout);
    for (k, v) in &s.headers {
        let key = tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes());
        if let (Ok(key), Ok(val)) = (key, v.parse()) {
            req.metadata_mut().insert(key, val);
        }
    }
    req.extensions_mut()
        .insert(tonic::GrpcMethod::new(SERVICE, "Export"));
    client
        .ready()
        .await
        .map_err(|e| Status::from_error(e.into()))?;
    client
        .unary(req, PathAndQuery::from_static(EXPORT_PATH), Passthrough)
        .await
        .map(tonic::Response::into_inner)
}

/// Sends bytes that already are the protobuf request message, and decodes
/// the response message.
struct Passthrough;

impl Codec for Passthrough {
    type Encode = Vec<u8>;
    type Decode = ExportTraceServiceResponse;
    type Encoder = Passthrough;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        Passthrough
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

impl Encoder for Passthrough {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

struct ResponseDecoder;

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        // What tonic's prost codec answers to an undecodable message.
        prost::Message::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

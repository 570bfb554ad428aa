//! A scripted OTLP trace endpoint on loopback, for tests of the exporter's
//! delivery rules (retries, `Retry-After`, circuit breaking, size splitting,
//! partial success).
//!
//! [`ScriptedOtlp::http`] serves OTLP/HTTP (`POST`, protobuf or JSON bodies,
//! optionally gzip-compressed); [`ScriptedOtlp::grpc`] serves OTLP/gRPC
//! (`opentelemetry.proto.collector.trace.v1.TraceService/Export`, gzip
//! accepted). Every decoded export request takes the next [`Reply`] of the
//! script, in arrival order across all connections; once the script is
//! exhausted every further request gets [`Reply::Ok`].
//!
//! Each server runs on its own thread with its own single-threaded tokio
//! runtime, so tests stay plain `#[test]` functions. Dropping the
//! [`ScriptedOtlp`] stops the server: the runtime is dropped, which cancels
//! every connection, including requests held by [`Reply::Hang`] or a pending
//! [`Reply::Delay`] (their clients see the connection close).
//!
//! Requests the server cannot take (wrong method, unsupported content type or
//! encoding, undecodable body) are answered with an error status without
//! consuming a scripted reply, and listed by [`ScriptedOtlp::errors`].

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use hyper::service::service_fn;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tonic::codec::CompressionEncoding;
use tonic::codegen::Service as TowerService;
use tonic_types::{ErrorDetails, StatusExt};

/// The gRPC path of the trace export method.
pub const GRPC_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// What the server answers to one export request, in order; once the script
/// is exhausted every further request gets `Reply::Ok`.
#[derive(Clone, Debug)]
pub enum Reply {
    /// HTTP 200 with an empty `ExportTraceServiceResponse` (in the request's
    /// encoding: an empty protobuf body, or `{}` for JSON); gRPC OK.
    Ok,
    /// HTTP only: that status code, an optional `Retry-After` header value
    /// (seconds or HTTP-date, sent verbatim), a small `text/plain` body.
    Http {
        status: u16,
        retry_after: Option<String>,
    },
    /// gRPC only: that status (message "scripted <code>"); with
    /// `retry_after`, a `google.rpc.RetryInfo` detail in
    /// `grpc-status-details-bin`, as OTLP servers do for throttling.
    /// `Code::Ok` answers like `Reply::Ok`.
    Grpc {
        code: tonic::Code,
        retry_after: Option<Duration>,
    },
    /// A success response carrying
    /// `partial_success { rejected_spans, error_message }` (both protocols;
    /// JSON requests get it as OTLP/JSON).
    Partial { rejected: i64, message: String },
    /// Wait, then answer.
    Delay(Duration, Box<Reply>),
    /// Never answer (until the server is dropped, which closes the
    /// connection).
    Hang,
}

impl Reply {
    /// `Reply::Http` without `Retry-After`.
    pub fn http(status: u16) -> Reply {
        Reply::Http {
            status,
            retry_after: None,
        }
    }

    /// `Reply::Http` with a `Retry-After` header.
    pub fn http_retry_after(status: u16, retry_after: impl Into<String>) -> Reply {
        Reply::Http {
            status,
            retry_after: Some(retry_after.into()),
        }
    }

    /// `Reply::Grpc` without `RetryInfo`.
    pub fn grpc(code: tonic::Code) -> Reply {
        Reply::Grpc {
            code,
            retry_after: None,
        }
    }

    /// `Reply::Grpc` with a `RetryInfo { retry_delay }` detail.
    pub fn grpc_retry_after(code: tonic::Code, delay: Duration) -> Reply {
        Reply::Grpc {
            code,
            retry_after: Some(delay),
        }
    }

    /// `Reply::Partial`.
    pub fn partial(rejected: i64, message: impl Into<String>) -> Reply {
        Reply::Partial {
            rejected,
            message: message.into(),
        }
    }

    /// `Reply::Delay`.
    pub fn delay(wait: Duration, then: Reply) -> Reply {
        Reply::Delay(wait, Box::new(then))
    }
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// When the request's head arrived.
    pub at: Instant,
    /// HTTP headers or gRPC metadata (names lowercase, values lossily
    /// decoded as UTF-8), in wire order.
    pub headers: Vec<(String, String)>,
    /// Size of the body on the wire (compressed if it was; for gRPC the
    /// length-prefixed message, i.e. 5 bytes plus the possibly compressed
    /// message).
    pub body_bytes: usize,
    /// Names of every span in the decoded request, in request order.
    pub span_names: Vec<String>,
    /// The decoded request.
    pub request: ExportTraceServiceRequest,
    /// The request path (HTTP: as sent, e.g. `/v1/traces`; gRPC:
    /// [`GRPC_EXPORT_PATH`]).
    pub path: String,
}

impl Received {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Http,
    Grpc,
}

/// A scripted OTLP trace endpoint on `127.0.0.1`; see the module docs.
pub struct ScriptedOtlp {
    protocol: Protocol,
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for ScriptedOtlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedOtlp")
            .field("protocol", &self.protocol)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ScriptedOtlp {
    /// An OTLP/HTTP server on `127.0.0.1:0` answering with `script`. Accepts
    /// `POST` on any path, `content-type` `application/x-protobuf` (or
    /// `application/protobuf`) and `application/json`, `content-encoding`
    /// `gzip` or none. Panics if the script holds a `Reply::Grpc`.
    pub fn http(script: Vec<Reply>) -> ScriptedOtlp {
        ScriptedOtlp::start(Protocol::Http, script)
    }

    /// An OTLP/gRPC server (cleartext HTTP/2) on `127.0.0.1:0` answering with
    /// `script`; gzip-compressed requests are accepted, no message size limit.
    /// Panics if the script holds a `Reply::Http`.
    pub fn grpc(script: Vec<Reply>) -> ScriptedOtlp {
        ScriptedOtlp::start(Protocol::Grpc, script)
    }

    /// HTTP: `http://127.0.0.1:PORT/v1/traces`; gRPC: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        match self.protocol {
            Protocol::Http => format!("http://{}/v1/traces", self.addr),
            Protocol::Grpc => format!("http://{}", self.addr),
        }
    }

    /// The bound loopback address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every export request taken so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.state().received.clone()
    }

    /// Waits until at least `n` export requests have arrived and returns all
    /// received so far; panics after `timeout` with what did arrive. A request
    /// counts as soon as it is decoded, before its (maybe delayed) reply.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state();
        while state.received.len() < n {
            let now = Instant::now();
            if now >= deadline {
                let message = format!(
                    "ScriptedOtlp at {}: expected {n} export request(s) within {timeout:?}, \
                     got {}; span names per request: {:?}; rejected requests: {:?}",
                    self.endpoint(),
                    state.received.len(),
                    state
                        .received
                        .iter()
                        .map(|r| r.span_names.clone())
                        .collect::<Vec<_>>(),
                    state.errors,
                );
                drop(state);
                panic!("{message}");
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.received.clone()
    }

    /// Number of spans in all export requests taken so far.
    pub fn total_spans(&self) -> usize {
        self.shared
            .state()
            .received
            .iter()
            .map(|r| r.span_names.len())
            .sum()
    }

    /// Names of the spans of all export requests taken so far, in order.
    pub fn span_names(&self) -> Vec<String> {
        self.shared
            .state()
            .received
            .iter()
            .flat_map(|r| r.span_names.iter().cloned())
            .collect()
    }

    /// Requests answered with an error before the script (wrong method,
    /// unsupported content type or encoding, undecodable body), described.
    pub fn errors(&self) -> Vec<String> {
        self.shared.state().errors.clone()
    }

    /// TCP connections accepted so far (a client reusing its connections
    /// keeps this low).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Appends a reply to the script.
    pub fn push(&self, reply: Reply) {
        validate(self.protocol, &reply);
        self.shared.state().script.push_back(reply);
    }

    /// Drops the replies not yet used: every further request gets
    /// `Reply::Ok`.
    #[allow(dead_code)] // not every test binary uses it
    pub fn clear(&self) {
        self.shared.state().script.clear();
    }

    /// Scripted replies not yet used.
    pub fn remaining(&self) -> usize {
        self.shared.state().script.len()
    }

    fn start(protocol: Protocol, script: Vec<Reply>) -> ScriptedOtlp {
        for reply in &script {
            validate(protocol, reply);
        }
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("ScriptedOtlp: bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("ScriptedOtlp: set_nonblocking");
        let addr = listener.local_addr().expect("ScriptedOtlp: local_addr");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("ScriptedOtlp: tokio runtime");
        let shared = Arc::new(Shared {
            protocol,
            state: Mutex::new(State {
                script: script.into(),
                received: Vec::new(),
                errors: Vec::new(),
            }),
            changed: Condvar::new(),
            connections: AtomicUsize::new(0),
        });
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server_shared = Arc::clone(&shared);
        let name = match protocol {
            Protocol::Http => format!("scripted-otlp-http-{}", addr.port()),
            Protocol::Grpc => format!("scripted-otlp-grpc-{}", addr.port()),
        };
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let listener = {
                    let _context = runtime.enter();
                    tokio::net::TcpListener::from_std(listener)
                        .expect("ScriptedOtlp: register listener")
                };
                runtime.spawn(accept_loop(listener, server_shared));
                // Ends on the signal, or when the sender is dropped.
                let _ = runtime.block_on(stopped);
                // Dropping a runtime drops every task it still holds: the
                // accept loop, every connection and every hung reply.
                drop(runtime);
            })
            .expect("ScriptedOtlp: spawn server thread");
        ScriptedOtlp {
            protocol,
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }
}

impl Drop for ScriptedOtlp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Panics (in the test's thread) on a reply the protocol cannot send.
fn validate(protocol: Protocol, reply: &Reply) {
    match (protocol, reply) {
        (Protocol::Grpc, Reply::Http { .. }) => {
            panic!("ScriptedOtlp::grpc: Reply::Http is for the HTTP server: {reply:?}")
        }
        (Protocol::Http, Reply::Grpc { .. }) => {
            panic!("ScriptedOtlp::http: Reply::Grpc is for the gRPC server: {reply:?}")
        }
        (
            Protocol::Http,
            Reply::Http {
                status,
                retry_after,
            },
        ) => {
            assert!(
                (200..=599).contains(status),
                "ScriptedOtlp::http: status {status} is not a final HTTP status (200..=599)"
            );
            if let Some(value) = retry_after {
                assert!(
                    HeaderValue::from_str(value).is_ok(),
                    "ScriptedOtlp::http: Retry-After {value:?} is not a valid header value"
                );
            }
        }
        (_, Reply::Delay(_, next)) => validate(protocol, next),
        _ => {}
    }
}

struct Shared {
    protocol: Protocol,
    state: Mutex<State>,
    changed: Condvar,
    connections: AtomicUsize,
}

struct State {
    script: VecDeque<Reply>,
    received: Vec<Received>,
    errors: Vec<String>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a request and takes its reply, in one step so that replies
    /// follow the recorded order.
    fn take(&self, received: Received) -> Reply {
        let mut state = self.state();
        state.received.push(received);
        let reply = state.script.pop_front().unwrap_or(Reply::Ok);
        drop(state);
        self.changed.notify_all();
        reply
    }

    fn reject(&self, what: String) {
        self.state().errors.push(what);
        self.changed.notify_all();
    }
}

/// Sleeps through delays, never returns for `Hang`; returns the final reply.
async fn resolve(mut reply: Reply) -> Reply {
    loop {
        match reply {
            Reply::Delay(wait, next) => {
                tokio::time::sleep(wait).await;
                reply = *next;
            }
            Reply::Hang => std::future::pending::<()>().await,
            other => return other,
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    let grpc = TraceServiceServer::new(GrpcHandler {
        shared: Arc::clone(&shared),
    })
    .accept_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(usize::MAX);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // E.g. out of file descriptors: back off, keep serving.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(stream);
        match shared.protocol {
            Protocol::Http => {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle_http(Arc::clone(&shared), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
            Protocol::Grpc => {
                let grpc = grpc.clone();
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service =
                        service_fn(move |req| handle_grpc(grpc.clone(), Arc::clone(&shared), req));
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await;
                });
            }
        }
    }
}

fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn span_names(request: &ExportTraceServiceRequest) -> Vec<String> {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|span| span.name.clone())
        .collect()
}

fn header_str(headers: &HeaderMap, name: hyper::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn export_response(
    json: bool,
    partial: Option<ExportTracePartialSuccess>,
) -> Response<Full<Bytes>> {
    let (body, content_type) = if json {
        let body = match &partial {
            None => b"{}".to_vec(),
            Some(_) => serde_json::to_vec(&ExportTraceServiceResponse {
                partial_success: partial,
            })
            .expect("encode ExportTraceServiceResponse as JSON"),
        };
        (body, "application/json")
    } else {
        let body = ExportTraceServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec();
        (body, "application/x-protobuf")
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

async fn handle_http(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let at = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let reject = |status: StatusCode, what: String| {
        shared.reject(format!("{} {path}: {what}", parts.method));
        Ok(text(status, what))
    };
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return reject(StatusCode::BAD_REQUEST, format!("reading the body: {e}")),
    };
    if parts.method != Method::POST {
        return reject(
            StatusCode::METHOD_NOT_ALLOWED,
            "only POST is served".to_owned(),
        );
    }
    let encoding =
        header_str(&parts.headers, CONTENT_ENCODING).map(|v| v.trim().to_ascii_lowercase());
    let raw = match encoding.as_deref() {
        None | Some("") | Some("identity") => body.to_vec(),
        Some("gzip") => {
            let mut raw = Vec::new();
            if let Err(e) = flate2::read::MultiGzDecoder::new(&body[..]).read_to_end(&mut raw) {
                return reject(StatusCode::BAD_REQUEST, format!("gunzip: {e}"));
            }
            raw
        }
        Some(other) => {
            return reject(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content-encoding {other:?}"),
            )
        }
    };
    let content_type = header_str(&parts.headers, CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let json = match content_type.as_deref() {
        Some("application/x-protobuf") | Some("application/protobuf") => false,
        Some("application/json") => true,
        other => {
            return reject(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content-type {other:?}"),
            )
        }
    };
    let decoded = if json {
        serde_json::from_slice::<ExportTraceServiceRequest>(&raw).map_err(|e| e.to_string())
    } else {
        ExportTraceServiceRequest::decode(&raw[..]).map_err(|e| e.to_string())
    };
    let request = match decoded {
        Ok(request) => request,
        Err(e) => {
            let kind = if json { "JSON" } else { "protobuf" };
            return reject(
                StatusCode::BAD_REQUEST,
                format!("undecodable {kind} ExportTraceServiceRequest: {e}"),
            );
        }
    };
    let reply = shared.take(Received {
        at,
        headers: header_list(&parts.headers),
        body_bytes: body.len(),
        span_names: span_names(&request),
        request,
        path,
    });
    Ok(match resolve(reply).await {
        Reply::Ok => export_response(json, None),
        Reply::Partial { rejected, message } => export_response(
            json,
            Some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message,
            }),
        ),
        Reply::Http {
            status,
            retry_after,
        } => {
            let code = StatusCode::from_u16(status).expect("validated status");
            let mut response = text(code, format!("scripted status {status}"));
            if let Some(value) = retry_after {
                response.headers_mut().insert(
                    RETRY_AFTER,
                    HeaderValue::from_str(&value).expect("validated Retry-After"),
                );
            }
            response
        }
        other => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reply not valid over HTTP: {other:?}"),
        ),
    })
}

/// What the HTTP/2 layer saw of a gRPC request, handed to the handler.
#[derive(Clone)]
struct Wire {
    at: Instant,
    headers: Vec<(String, String)>,
    body_bytes: usize,
    path: String,
    taken: Arc<AtomicBool>,
}

async fn handle_grpc(
    mut grpc: TraceServiceServer<GrpcHandler>,
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<tonic::body::Body>, Infallible> {
    let at = Instant::now();
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            shared.reject(format!("gRPC {path}: reading the body: {e}"));
            return Ok(tonic::Status::internal(format!("reading the body: {e}")).into_http());
        }
    };
    let taken = Arc::new(AtomicBool::new(false));
    parts.extensions.insert(Wire {
        at,
        headers: header_list(&parts.headers),
        body_bytes: body.len(),
        path: path.clone(),
        taken: Arc::clone(&taken),
    });
    let response = grpc
        .call(Request::from_parts(parts, Full::new(body)))
        .await?;
    // An error status from before the handler ran (unknown method, unsupported
    // compression, undecodable message) is a rejection, not a scripted reply.
    if !taken.load(Ordering::SeqCst) {
        if let Some(status) = tonic::Status::from_header_map(response.headers()) {
            if status.code() != tonic::Code::Ok {
                shared.reject(format!(
                    "gRPC {path}: {:?}: {}",
                    status.code(),
                    status.message()
                ));
            }
        }
    }
    Ok(response)
}

struct GrpcHandler {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl TraceService for GrpcHandler {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let wire = request.extensions().get::<Wire>().cloned();
        let wire = wire.unwrap_or_else(|| Wire {
            at: Instant::now(),
            headers: header_list(&request.metadata().clone().into_headers()),
            body_bytes: 0,
            path: GRPC_EXPORT_PATH.to_owned(),
            taken: Arc::new(AtomicBool::new(false)),
        });
        wire.taken.store(true, Ordering::SeqCst);
        let request = request.into_inner();
        let reply = self.shared.take(Received {
            at: wire.at,
            headers: wire.headers,
            body_bytes: wire.body_bytes,
            span_names: span_names(&request),
            request,
            path: wire.path,
        });
        let ok = |partial_success| {
            Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success,
            }))
        };
        match resolve(reply).await {
            Reply::Ok
            | Reply::Grpc {
                code: tonic::Code::Ok,
                ..
            } => ok(None),
            Reply::Partial { rejected, message } => ok(Some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message,
            })),
            Reply::Grpc {
                code,
                retry_after: None,
            } => Err(tonic::Status::new(code, format!("scripted {code:?}"))),
            Reply::Grpc {
                code,
                retry_after: Some(delay),
            } => Err(tonic::Status::with_error_details(
                code,
                format!("scripted {code:?}"),
                ErrorDetails::with_retry_info(Some(delay)),
            )),
            other => Err(tonic::Status::internal(format!(
                "reply not valid over gRPC: {other:?}"
            ))),
        }
    }
}

//! OTLP destinations: the generic OTLP exporter and presets for backends
//! people use, each resolved from code, then environment, then file.
//!
//! - `otlp`: the standard `OTEL_EXPORTER_OTLP_*` variables.
//! - `langfuse`: Langfuse's OTLP/HTTP endpoint (`{LANGFUSE_HOST}/api/public/otel/v1/traces`,
//!   default host `https://cloud.langfuse.com`) with Basic auth from
//!   `LANGFUSE_PUBLIC_KEY` and `LANGFUSE_SECRET_KEY`, and the ingestion
//!   version header Langfuse asks OpenTelemetry exporters to send.
//! - `phoenix`: `{PHOENIX_COLLECTOR_ENDPOINT}/v1/traces`, with
//!   `PHOENIX_API_KEY` as a bearer token when set.
//! - `langwatch`: `{LANGWATCH_ENDPOINT}/api/otel/v1/traces` (default
//!   `https://app.langwatch.ai`) with `LANGWATCH_API_KEY` as a bearer token.
//! - `opik`: `{OPIK_URL_OVERRIDE}/v1/private/otel/v1/traces` (default
//!   `https://www.comet.com/opik/api`) with `OPIK_API_KEY` as the
//!   `Authorization` header, `OPIK_WORKSPACE` as `Comet-Workspace` and
//!   `OPIK_PROJECT_NAME` as `projectName` when set (a self-hosted Opik
//!   needs none of them).

use super::env::EnvSource;
use crate::error::Error;
use crate::exporter::{OtlpCompression, OtlpConfig, OtlpProtocol, OtlpSettings};
use crate::util::bounds;
use crate::util::parse::{parse_millis, parse_pairs};
use base64::Engine;
use std::time::Duration;

const DEFAULT_OTLP_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_LANGFUSE_HOST: &str = "https://cloud.langfuse.com";
const DEFAULT_LANGWATCH_ENDPOINT: &str = "https://app.langwatch.ai";
const DEFAULT_OPIK_URL: &str = "https://www.comet.com/opik/api";

/// Langfuse; unset fields come from `LANGFUSE_*` variables.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LangfuseConfig {
    pub host: Option<String>,
    pub public_key: Option<String>,
    pub secret_key: Option<String>,
}

/// Phoenix; unset fields come from `PHOENIX_*` variables.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhoenixConfig {
    /// The server, e.g. `http://localhost:6006` (`/v1/traces` is appended).
    pub endpoint: Option<String>,
    pub api_key: Option<String>,
}

/// LangWatch; unset fields come from `LANGWATCH_*` variables.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LangwatchConfig {
    /// The server, e.g. `https://app.langwatch.ai` (`/api/otel/v1/traces` is
    /// appended).
    pub endpoint: Option<String>,
    pub api_key: Option<String>,
}

/// Opik; unset fields come from `OPIK_*` variables.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpikConfig {
    /// The API's base URL, e.g. `http://localhost:5173/api` for a local Opik
    /// (`/v1/private/otel/v1/traces` is appended).
    pub url: Option<String>,
    pub api_key: Option<String>,
    pub workspace: Option<String>,
    pub project_name: Option<String>,
}

pub(crate) fn langwatch_in_env(env: &EnvSource) -> bool {
    env.get("LANGWATCH_API_KEY").is_some()
}

pub(crate) fn opik_in_env(env: &EnvSource) -> bool {
    env.get("OPIK_API_KEY").is_some() || env.get("OPIK_URL_OVERRIDE").is_some()
}

/// True when the environment configures Langfuse.
pub(crate) fn langfuse_in_env(env: &EnvSource) -> bool {
    env.get("LANGFUSE_PUBLIC_KEY").is_some() && env.get("LANGFUSE_SECRET_KEY").is_some()
}

pub(crate) fn phoenix_in_env(env: &EnvSource) -> bool {
    env.get("PHOENIX_COLLECTOR_ENDPOINT").is_some()
}

pub(crate) fn otlp_in_env(env: &EnvSource) -> bool {
    env.get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
}

pub(crate) fn langfuse(
    code: &LangfuseConfig,
    file: &LangfuseConfig,
    env: &EnvSource,
) -> Result<OtlpSettings, Error> {
    let pick = |c: &Option<String>, var: &str, f: &Option<String>| {
        c.clone().or_else(|| env.get(var)).or_else(|| f.clone())
    };
    let host = pick(&code.host, "LANGFUSE_HOST", &file.host)
        .unwrap_or_else(|| DEFAULT_LANGFUSE_HOST.to_string());
    let public = pick(&code.public_key, "LANGFUSE_PUBLIC_KEY", &file.public_key);
    let secret = pick(&code.secret_key, "LANGFUSE_SECRET_KEY", &file.secret_key);
    let (Some(public), Some(secret)) = (public, secret) else {
        return Err(Error::config(
            "LANGFUSE_PUBLIC_KEY",
            "",
            "the langfuse exporter needs a public and a secret key",
        ));
    };
    let endpoint = format!("{}/api/public/otel/v1/traces", host.trim_end_matches('/'));
    validate_url("LANGFUSE_HOST", &endpoint)?;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{public}:{secret}"));
    preset(
        "langfuse",
        endpoint,
        vec![
            ("authorization".into(), format!("Basic {token}")),
            // Langfuse asks direct OpenTelemetry exporters for this header to
            // ingest in real time (older servers ignore it).
            ("x-langfuse-ingestion-version".into(), "4".into()),
        ],
    )
}

pub(crate) fn phoenix(
    code: &PhoenixConfig,
    file: &PhoenixConfig,
    env: &EnvSource,
) -> Result<OtlpSettings, Error> {
    let (setting, base) = match code
        .endpoint
        .clone()
        .map(|e| ("phoenix.endpoint".to_string(), e))
        .or_else(|| {
            env.get("PHOENIX_COLLECTOR_ENDPOINT")
                .map(|e| ("PHOENIX_COLLECTOR_ENDPOINT".to_string(), e))
        })
        .or_else(|| {
            file.endpoint
                .clone()
                .map(|e| ("phoenix.endpoint".to_string(), e))
        }) {
        Some(x) => x,
        None => (
            "phoenix.endpoint".to_string(),
            "http://localhost:6006".to_string(),
        ),
    };
    let base = base.trim_end_matches('/');
    let endpoint = if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    };
    validate_url(&setting, &endpoint)?;
    let api_key = code
        .api_key
        .clone()
        .or_else(|| env.get("PHOENIX_API_KEY"))
        .or_else(|| file.api_key.clone());
    let headers = api_key
        .map(|k| vec![("authorization".to_string(), format!("Bearer {k}"))])
        .unwrap_or_default();
    preset("phoenix", endpoint, headers)
}

/// A value from code, else the environment variable `var`, else the file,
/// with the name of the setting it came from.
fn from(
    code: &Option<String>,
    env: &EnvSource,
    var: &str,
    file: &Option<String>,
    key: &str,
) -> Option<(String, String)> {
    code.clone()
        .map(|v| (key.to_string(), v))
        .or_else(|| env.get(var).map(|v| (var.to_string(), v)))
        .or_else(|| file.clone().map(|v| (key.to_string(), v)))
}

/// An OTLP/HTTP preset with these settings.
fn preset(
    name: &str,
    endpoint: String,
    headers: Vec<(String, String)>,
) -> Result<OtlpSettings, Error> {
    for (k, v) in &headers {
        validate_header(k, v)?;
    }
    Ok(OtlpSettings {
        name: name.into(),
        endpoint,
        protocol: OtlpProtocol::HttpProtobuf,
        headers,
        timeout: DEFAULT_OTLP_TIMEOUT,
        compression: OtlpCompression::None,
        max_request_bytes: crate::exporter::DEFAULT_MAX_REQUEST_BYTES,
    })
}

pub(crate) fn langwatch(
    code: &LangwatchConfig,
    file: &LangwatchConfig,
    env: &EnvSource,
) -> Result<OtlpSettings, Error> {
    let (setting, base) = from(
        &code.endpoint,
        env,
        "LANGWATCH_ENDPOINT",
        &file.endpoint,
        "langwatch.endpoint",
    )
    .unwrap_or_else(|| {
        (
            "langwatch.endpoint".into(),
            DEFAULT_LANGWATCH_ENDPOINT.into(),
        )
    });
    let endpoint = format!("{}/api/otel/v1/traces", base.trim_end_matches('/'));
    validate_url(&setting, &endpoint)?;
    let Some((_, key)) = from(
        &code.api_key,
        env,
        "LANGWATCH_API_KEY",
        &file.api_key,
        "langwatch.api_key",
    ) else {
        return Err(Error::config(
            "LANGWATCH_API_KEY",
            "",
            "the langwatch exporter needs an API key",
        ));
    };
    preset(
        "langwatch",
        endpoint,
        vec![("authorization".into(), format!("Bearer {key}"))],
    )
}

pub(crate) fn opik(
    code: &OpikConfig,
    file: &OpikConfig,
    env: &EnvSource,
) -> Result<OtlpSettings, Error> {
    let (setting, base) = from(&code.url, env, "OPIK_URL_OVERRIDE", &file.url, "opik.url")
        .unwrap_or_else(|| ("opik.url".into(), DEFAULT_OPIK_URL.into()));
    let endpoint = format!("{}/v1/private/otel/v1/traces", base.trim_end_matches('/'));
    validate_url(&setting, &endpoint)?;
    let mut headers = Vec::new();
    for (header, value) in [
        (
            "authorization",
            from(
                &code.api_key,
                env,
                "OPIK_API_KEY",
                &file.api_key,
                "opik.api_key",
            ),
        ),
        (
            "comet-workspace",
            from(
                &code.workspace,
                env,
                "OPIK_WORKSPACE",
                &file.workspace,
                "opik.workspace",
            ),
        ),
        (
            "projectname",
            from(
                &code.project_name,
                env,
                "OPIK_PROJECT_NAME",
                &file.project_name,
                "opik.project_name",
            ),
        ),
    ] {
        if let Some((_, v)) = value {
            headers.push((header.to_string(), v));
        }
    }
    preset("opik", endpoint, headers)
}

/// The generic OTLP exporter: each field from code, else the environment,
/// else the config file, else the default.
pub(crate) fn otlp(
    code: &OtlpConfig,
    file: &OtlpConfig,
    env: &EnvSource,
) -> Result<OtlpSettings, Error> {
    let either = |signal: &str, general: &str| env.first(&[signal, general]);
    let protocol = match code.protocol {
        Some(p) => p,
        None => match either(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ) {
            Some((var, v)) => OtlpProtocol::parse(&v).ok_or_else(|| {
                Error::config(&var, &v, "expected grpc, http/protobuf or http/json")
            })?,
            None => file.protocol.unwrap_or_default(),
        },
    };
    let http = protocol != OtlpProtocol::Grpc;
    let (setting, endpoint) = if let Some(e) = &code.endpoint {
        ("endpoint".to_string(), e.clone())
    } else if let Some(v) = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".to_string(), v)
    } else if let Some(v) = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") {
        let v = if http {
            format!("{}/v1/traces", v.trim_end_matches('/'))
        } else {
            v
        };
        ("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), v)
    } else if let Some(e) = &file.endpoint {
        ("otlp.endpoint".to_string(), e.clone())
    } else if http {
        (
            "endpoint".to_string(),
            "http://localhost:4318/v1/traces".to_string(),
        )
    } else {
        ("endpoint".to_string(), "http://localhost:4317".to_string())
    };
    validate_url(&setting, &endpoint)?;

    let mut headers = file.headers.clone();
    if let Some((var, v)) = either(
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_HEADERS",
    ) {
        for (k, v) in parse_pairs(&var, &v)? {
            headers.retain(|(hk, _)| !hk.eq_ignore_ascii_case(&k));
            headers.push((k, v));
        }
    }
    for (k, v) in &code.headers {
        headers.retain(|(hk, _)| !hk.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.clone()));
    }
    for (k, v) in &headers {
        validate_header(k, v)?;
    }
    let (timeout, timeout_name) = match code.timeout {
        Some(t) => (t, "timeout".to_string()),
        None => match either(
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ) {
            Some((var, v)) => (parse_millis(&var, &v)?, var),
            None => (
                file.timeout.unwrap_or(DEFAULT_OTLP_TIMEOUT),
                "otlp.timeout_ms".to_string(),
            ),
        },
    };
    bounds::POSITIVE_MS.check_ms(&timeout_name, timeout)?;
    let compression = match code.compression {
        Some(x) => x,
        None => match either(
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
            "OTEL_EXPORTER_OTLP_COMPRESSION",
        ) {
            Some((var, v)) => match v.to_ascii_lowercase().as_str() {
                "gzip" => OtlpCompression::Gzip,
                "none" => OtlpCompression::None,
                _ => return Err(Error::config(&var, &v, "expected gzip or none")),
            },
            None => file.compression.unwrap_or_default(),
        },
    };
    let (max_request_bytes, name) = match (code.max_request_bytes, file.max_request_bytes) {
        (Some(n), _) => (n, "max_request_bytes"),
        (None, Some(n)) => (n, "otlp.max_request_bytes"),
        (None, None) => (crate::exporter::DEFAULT_MAX_REQUEST_BYTES, ""),
    };
    bounds::REQUEST_BYTES.check(name, max_request_bytes as u64)?;
    Ok(OtlpSettings {
        name: "otlp".into(),
        endpoint,
        protocol,
        headers,
        timeout,
        compression,
        max_request_bytes,
    })
}

/// An http(s) URL with a host, as the exporters' clients will parse it
/// (`http://[::1` fails here, not at the first export). The error shows the
/// URL without its credentials.
fn validate_url(setting: &str, url: &str) -> Result<(), Error> {
    let shown = crate::util::url::hide_userinfo(url);
    let fail = |reason: String| Error::config(setting, &shown, reason);
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(fail("must start with http:// or https://".into()));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| fail(format!("is not a valid URL ({e})")))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(fail("has no valid host".into()));
    }
    Ok(())
}

fn validate_header(k: &str, v: &str) -> Result<(), Error> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if k.is_empty() || !k.chars().all(token) {
        return Err(Error::config(
            "OTLP header name",
            k,
            "not a valid HTTP header name",
        ));
    }
    if v.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(Error::config(
            &format!("OTLP header {k}"),
            v,
            "header values must be visible ASCII",
        ));
    }
    Ok(())
}

//! OTLP over HTTP (protobuf or JSON bodies) with `reqwest`: the client, one
//! request per call, and the classification of its answer.

use super::response::{partial_success, ExportTraceServiceResponse};
use super::{OtlpCompression, OtlpProtocol, OtlpSettings};
use crate::error::ExportError;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// The client for `s`; connects lazily, on the first request.
pub(super) fn client(s: &OtlpSettings) -> Result<reqwest::Client, String> {
    let https = s.endpoint.starts_with("https://");
    reqwest::Client::builder()
        .timeout(s.timeout)
        .connect_timeout(s.timeout)
        // Our own rustls configuration, so nothing is installed
        // process-wide (a host app may choose its own provider).
        .tls_backend_preconfigured(tls_config(https)?)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Sends one encoded request (compressing it when configured).
pub(super) async fn send(
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
            ExportTraceServiceResponse::from_json(&bytes)
        } else {
            ExportTraceServiceResponse::from_protobuf(&bytes)
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
fn parse_retry_after(v: &str) -> Option<Duration> {
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

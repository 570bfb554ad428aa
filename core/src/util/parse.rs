//! Parsing shared by the settings' sources (code, environment, config file)
//! and the subsystems that own settings (delivery, redaction, OTLP): values
//! named by the setting they came from, and the serde helpers for config
//! files. A leaf: it depends only on `error`.

use crate::error::Error;
use std::time::Duration;

/// The one rule for every boolean setting: `true`/`false`, `1`/`0`,
/// `yes`/`no` or `on`/`off`, in any case.
pub(crate) fn parse_bool(var: &str, v: &str) -> Result<bool, Error> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::config(
            var,
            v,
            "expected true/false, 1/0, yes/no or on/off (any case)",
        )),
    }
}

pub(crate) fn parse_count(var: &str, v: &str) -> Result<usize, Error> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::config(var, v, "expected a positive integer")),
    }
}

pub(crate) fn parse_u32(var: &str, v: &str) -> Result<u32, Error> {
    v.parse::<u32>()
        .map_err(|_| Error::config(var, v, "expected a whole number"))
}

pub(crate) fn parse_millis(var: &str, v: &str) -> Result<Duration, Error> {
    v.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| Error::config(var, v, "expected a whole number of milliseconds"))
}

pub(crate) fn parse_list(_var: &str, v: &str) -> Result<Vec<String>, Error> {
    Ok(v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect())
}

pub(crate) fn parse_json_object(
    var: &str,
    v: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    match serde_json::from_str(v) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(Error::config(var, v, "expected a JSON object")),
    }
}

/// `k=v,k2=v2` with percent-encoded values (W3C baggage style), as used by
/// `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`.
pub(crate) fn parse_pairs(var: &str, v: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for member in v.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let (k, val) = member
            .split_once('=')
            .ok_or_else(|| Error::config(var, v, format!("member '{member}' is not key=value")))?;
        let k = k.trim();
        if k.is_empty() {
            return Err(Error::config(
                var,
                v,
                format!("member '{member}' has an empty key"),
            ));
        }
        let val = percent_decode(val.trim()).ok_or_else(|| {
            Error::config(var, v, format!("member '{member}' has bad %-encoding"))
        })?;
        out.push((k.to_string(), val));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Serde helper: a duration written as whole milliseconds.
pub(crate) mod millis {
    use std::time::Duration;

    /// Saturates at `u64::MAX` ms (half a billion years).
    pub(crate) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        let ms: u64 = serde::Deserialize::deserialize(d)?;
        Ok(Duration::from_millis(ms))
    }
}

/// Serde helper: an optional duration written as whole milliseconds.
pub(crate) mod millis_opt {
    use std::time::Duration;

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let ms: Option<u64> = serde::Deserialize::deserialize(d)?;
        Ok(ms.map(Duration::from_millis))
    }
}

/// Serde helper: a table of name = value read into ordered pairs.
pub(crate) fn pairs<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, String)>, D::Error> {
    let map: std::collections::BTreeMap<String, String> = serde::Deserialize::deserialize(d)?;
    Ok(map.into_iter().collect())
}

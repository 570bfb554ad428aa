//! Configuration: a builder in code, the same settings from environment
//! variables, resolved once at init.
//!
//! Precedence: a value set in code wins over the environment, which wins over
//! the default. Every value is validated here, so a bad setting fails `build`
//! with an error naming the setting and the value, and nothing fails later at
//! span time.
//!
//! Environment variables read (standard `OTEL_*` ones where they apply):
//!
//! | variable | meaning |
//! |---|---|
//! | `OTEL_SDK_DISABLED` | `true`: spans are not recorded or exported |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource |
//! | `AGTRACE_EXPORTERS` | exporters, comma-separated: `console`, `file`, `otlp`, `none` |
//! | `OTEL_TRACES_EXPORTER` | the same, standard spelling (`otlp`, `console`, `none`) |
//! | `AGTRACE_FILE_PATH` | the file exporter's path (default `agtrace.jsonl`) |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `_PROTOCOL`, `_HEADERS`, `_TIMEOUT`, `_COMPRESSION` | OTLP |
//! | `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY` | batching |
//! | `AGTRACE_QUEUE_MAX_BYTES`, `AGTRACE_BATCH_MAX_BYTES` | byte caps |
//! | `AGTRACE_CAPTURE_CONTENT` | `true`: record message content |
//! | `OTEL_PROPAGATORS` | `tracecontext`, `baggage`, `b3`, `b3multi` |
//!
//! With no exporter chosen, the console exporter is used, plus OTLP when an
//! OTLP endpoint is set in the environment.

use crate::error::Error;
use crate::exporter::{
    ConsoleExporter, Exporter, FileExporter, InMemoryExporter, NoopExporter, OtlpCompression,
    OtlpConfig, OtlpProtocol, Resource,
};
use crate::exporter::{OtlpExporter, OtlpSettings};
use crate::pipeline::BatchConfig;
use crate::propagation::Propagators;
use crate::value::Attribute;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// One exporter to create.
#[derive(Clone, Debug)]
pub enum ExporterConfig {
    /// Trace trees on stdout.
    Console,
    /// Trace trees on stderr.
    ConsoleStderr,
    /// OTLP/JSON lines appended to a file.
    File(PathBuf),
    Otlp(OtlpConfig),
    /// Kept in memory, for tests; read through the handle.
    Memory(InMemoryExporter),
    /// Discards spans (the pipeline still runs).
    None,
}

/// The default file exporter path.
pub const DEFAULT_FILE_PATH: &str = "agtrace.jsonl";
const DEFAULT_SERVICE_NAME: &str = "unknown_service";
const DEFAULT_OTLP_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a [`crate::Tracer`]. Unset fields come from the environment, then
/// from defaults.
#[derive(Default)]
pub struct TracerBuilder {
    pub(crate) service_name: Option<String>,
    pub(crate) resource: Vec<Attribute>,
    pub(crate) exporters: Option<Vec<ExporterConfig>>,
    pub(crate) custom_exporters: Vec<Box<dyn Exporter>>,
    pub(crate) batch: BatchOverrides,
    pub(crate) capture_content: Option<bool>,
    pub(crate) propagators: Option<Propagators>,
    pub(crate) disabled: Option<bool>,
    pub(crate) shutdown_timeout: Option<Duration>,
    pub(crate) env: EnvSource,
}

#[derive(Default, Clone, Debug)]
pub(crate) struct BatchOverrides {
    queue_capacity: Option<usize>,
    queue_max_bytes: Option<usize>,
    batch_size: Option<usize>,
    batch_max_bytes: Option<usize>,
    flush_interval: Option<Duration>,
}

/// Where environment variables come from: the process (default), none, or a
/// fixed map (tests).
#[derive(Default, Clone, Debug)]
pub(crate) enum EnvSource {
    #[default]
    Process,
    Ignore,
    Map(HashMap<String, String>),
}

impl EnvSource {
    fn get(&self, key: &str) -> Option<String> {
        let v = match self {
            EnvSource::Process => std::env::var(key).ok(),
            EnvSource::Ignore => None,
            EnvSource::Map(m) => m.get(key).cloned(),
        }?;
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_string())
    }
}

impl TracerBuilder {
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Adds a resource attribute (beside `service.name`).
    pub fn resource_attribute(mut self, attr: Attribute) -> Self {
        self.resource.push(attr);
        self
    }

    /// Adds an exporter. Once any is added here, the environment's exporter
    /// choice is ignored.
    pub fn exporter(mut self, exporter: ExporterConfig) -> Self {
        self.exporters.get_or_insert_with(Vec::new).push(exporter);
        self
    }

    /// Adds an exporter implemented outside the core.
    pub fn custom_exporter(mut self, exporter: Box<dyn Exporter>) -> Self {
        self.custom_exporters.push(exporter);
        self.exporters.get_or_insert_with(Vec::new);
        self
    }

    pub fn queue_capacity(mut self, spans: usize) -> Self {
        self.batch.queue_capacity = Some(spans);
        self
    }

    pub fn queue_max_bytes(mut self, bytes: usize) -> Self {
        self.batch.queue_max_bytes = Some(bytes);
        self
    }

    pub fn batch_size(mut self, spans: usize) -> Self {
        self.batch.batch_size = Some(spans);
        self
    }

    pub fn batch_max_bytes(mut self, bytes: usize) -> Self {
        self.batch.batch_max_bytes = Some(bytes);
        self
    }

    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.batch.flush_interval = Some(interval);
        self
    }

    /// Record message content (`gen_ai.input.messages`, ...). Off by default.
    pub fn capture_content(mut self, on: bool) -> Self {
        self.capture_content = Some(on);
        self
    }

    pub fn propagators(mut self, p: Propagators) -> Self {
        self.propagators = Some(p);
        self
    }

    /// A disabled tracer records and exports nothing; contexts still propagate.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// How long dropping the last tracer handle waits for the final export.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Do not read environment variables.
    pub fn ignore_env(mut self) -> Self {
        self.env = EnvSource::Ignore;
        self
    }

    /// Read settings from this map instead of the process environment.
    pub fn env_map(mut self, vars: HashMap<String, String>) -> Self {
        self.env = EnvSource::Map(vars);
        self
    }

    /// Validates every setting, creates the exporters and starts the export
    /// thread. No network I/O happens on the calling thread.
    pub fn build(self) -> Result<crate::Tracer, Error> {
        crate::Tracer::from_builder(self)
    }
}

/// An exporter with every setting decided.
#[derive(Clone, Debug)]
pub(crate) enum ExporterSpec {
    Console,
    ConsoleStderr,
    File(PathBuf),
    Otlp(OtlpSettings),
    Memory(InMemoryExporter),
    None,
}

/// Every setting, decided.
#[derive(Clone, Debug)]
pub struct Settings {
    pub service_name: String,
    pub(crate) resource: Resource,
    pub(crate) exporters: Vec<ExporterSpec>,
    pub batch: BatchConfig,
    pub capture_content: bool,
    pub propagators: Propagators,
    pub disabled: bool,
    pub shutdown_timeout: Duration,
}

impl Settings {
    /// The names of the exporters in use, in order.
    pub fn exporter_names(&self) -> Vec<&'static str> {
        self.exporters
            .iter()
            .map(|e| match e {
                ExporterSpec::Console | ExporterSpec::ConsoleStderr => "console",
                ExporterSpec::File(_) => "file",
                ExporterSpec::Otlp(_) => "otlp",
                ExporterSpec::Memory(_) => "memory",
                ExporterSpec::None => "none",
            })
            .collect()
    }

    pub(crate) fn resolve(b: &TracerBuilder) -> Result<Settings, Error> {
        let env = &b.env;
        let res_env = match env.get("OTEL_RESOURCE_ATTRIBUTES") {
            Some(v) => parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &v)?,
            None => Vec::new(),
        };
        let service_name = b
            .service_name
            .clone()
            .or_else(|| env.get("OTEL_SERVICE_NAME"))
            .or_else(|| {
                res_env
                    .iter()
                    .find(|(k, _)| k == "service.name")
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_string());
        let mut attrs = vec![
            Attribute::new("service.name", service_name.clone()),
            Attribute::new("telemetry.sdk.name", "agtrace"),
            Attribute::new("telemetry.sdk.language", "rust"),
            Attribute::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ];
        for (k, v) in res_env {
            if k != "service.name" {
                attrs.push(Attribute::new(k, v));
            }
        }
        for a in &b.resource {
            attrs.retain(|x| x.key != a.key);
            attrs.push(a.clone());
        }
        let resource = Resource { attributes: attrs };

        let defaults = BatchConfig::default();
        let o = &b.batch;
        let queue_capacity = pick(
            o.queue_capacity,
            env,
            "OTEL_BSP_MAX_QUEUE_SIZE",
            parse_count,
        )?
        .unwrap_or(defaults.queue_capacity);
        let batch_size = pick(
            o.batch_size,
            env,
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            parse_count,
        )?;
        if let Some(n) = batch_size.filter(|n| *n > queue_capacity) {
            return Err(Error::config(
                "batch_size",
                &n.to_string(),
                format!("must not exceed the queue capacity ({queue_capacity})"),
            ));
        }
        let batch = BatchConfig {
            queue_capacity,
            // A default batch larger than a small queue shrinks to fit it.
            batch_size: batch_size.unwrap_or(defaults.batch_size.min(queue_capacity)),
            queue_max_bytes: pick(
                o.queue_max_bytes,
                env,
                "AGTRACE_QUEUE_MAX_BYTES",
                parse_count,
            )?
            .unwrap_or(defaults.queue_max_bytes),
            batch_max_bytes: pick(
                o.batch_max_bytes,
                env,
                "AGTRACE_BATCH_MAX_BYTES",
                parse_count,
            )?
            .unwrap_or(defaults.batch_max_bytes),
            flush_interval: pick(
                o.flush_interval,
                env,
                "OTEL_BSP_SCHEDULE_DELAY",
                parse_millis,
            )?
            .unwrap_or(defaults.flush_interval),
        };
        if batch.flush_interval.is_zero() {
            return Err(Error::config("flush_interval", "0", "must be positive"));
        }

        let capture_content = pick(
            b.capture_content,
            env,
            "AGTRACE_CAPTURE_CONTENT",
            parse_bool,
        )?
        .unwrap_or(false);
        let disabled = pick(b.disabled, env, "OTEL_SDK_DISABLED", parse_bool)?.unwrap_or(false);
        let propagators = match &b.propagators {
            Some(p) => p.clone(),
            None => match env.get("OTEL_PROPAGATORS") {
                Some(v) => Propagators::parse(&v)
                    .map_err(|reason| Error::config("OTEL_PROPAGATORS", &v, reason))?,
                None => Propagators::default(),
            },
        };
        let exporters = if disabled {
            Vec::new()
        } else {
            resolve_exporters(b, env)?
        };
        Ok(Settings {
            service_name,
            resource,
            exporters,
            batch,
            capture_content,
            propagators,
            disabled,
            shutdown_timeout: b.shutdown_timeout.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
        })
    }

    /// Creates the exporters. Fails, naming the exporter, if one cannot be
    /// created (unwritable file, bad OTLP settings).
    pub(crate) fn create_exporters(&self) -> Result<Vec<Box<dyn Exporter>>, Error> {
        self.exporters
            .iter()
            .map(|spec| -> Result<Box<dyn Exporter>, Error> {
                Ok(match spec {
                    ExporterSpec::Console => Box::new(ConsoleExporter::stdout()),
                    ExporterSpec::ConsoleStderr => Box::new(ConsoleExporter::stderr()),
                    ExporterSpec::File(p) => Box::new(FileExporter::open(p, &self.resource)?),
                    ExporterSpec::Otlp(s) => Box::new(OtlpExporter::new(s, &self.resource)?),
                    ExporterSpec::Memory(m) => Box::new(m.clone()),
                    ExporterSpec::None => Box::new(NoopExporter),
                })
            })
            .collect()
    }
}

fn resolve_exporters(b: &TracerBuilder, env: &EnvSource) -> Result<Vec<ExporterSpec>, Error> {
    let file_path = || {
        PathBuf::from(
            env.get("AGTRACE_FILE_PATH")
                .unwrap_or_else(|| DEFAULT_FILE_PATH.into()),
        )
    };
    if let Some(list) = &b.exporters {
        return list
            .iter()
            .map(|e| {
                Ok(match e {
                    ExporterConfig::Console => ExporterSpec::Console,
                    ExporterConfig::ConsoleStderr => ExporterSpec::ConsoleStderr,
                    ExporterConfig::File(p) => ExporterSpec::File(p.clone()),
                    ExporterConfig::Otlp(c) => ExporterSpec::Otlp(resolve_otlp(c, env)?),
                    ExporterConfig::Memory(m) => ExporterSpec::Memory(m.clone()),
                    ExporterConfig::None => ExporterSpec::None,
                })
            })
            .collect();
    }
    let chosen = ["AGTRACE_EXPORTERS", "OTEL_TRACES_EXPORTER"]
        .into_iter()
        .find_map(|var| env.get(var).map(|v| (var, v)));
    let names: Vec<String> = match &chosen {
        Some((var, v)) => {
            let names: Vec<String> = v
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect();
            for n in &names {
                if !matches!(n.as_str(), "console" | "logging" | "file" | "otlp" | "none") {
                    return Err(Error::config(
                        var,
                        v,
                        format!("unknown exporter '{n}' (expected console, file, otlp or none)"),
                    ));
                }
            }
            names
        }
        None => {
            let mut names = vec!["console".to_string()];
            if env.get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
                || env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
            {
                names.push("otlp".into());
            }
            names
        }
    };
    let mut out = Vec::new();
    for n in names {
        let spec = match n.as_str() {
            "console" | "logging" => ExporterSpec::Console,
            "file" => ExporterSpec::File(file_path()),
            "otlp" => ExporterSpec::Otlp(resolve_otlp(&OtlpConfig::default(), env)?),
            _ => ExporterSpec::None,
        };
        out.push(spec);
    }
    Ok(out)
}

pub(crate) fn resolve_otlp(c: &OtlpConfig, env: &EnvSource) -> Result<OtlpSettings, Error> {
    let either = |signal: &str, general: &str| {
        env.get(signal)
            .map(|v| (signal.to_string(), v))
            .or_else(|| env.get(general).map(|v| (general.to_string(), v)))
    };
    let protocol = match c.protocol {
        Some(p) => p,
        None => match either(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ) {
            Some((var, v)) => OtlpProtocol::parse(&v).ok_or_else(|| {
                Error::config(&var, &v, "expected grpc, http/protobuf or http/json")
            })?,
            None => OtlpProtocol::HttpProtobuf,
        },
    };
    let http = protocol != OtlpProtocol::Grpc;
    let (setting, endpoint) = if let Some(e) = &c.endpoint {
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
    } else if http {
        (
            "endpoint".to_string(),
            "http://localhost:4318/v1/traces".to_string(),
        )
    } else {
        ("endpoint".to_string(), "http://localhost:4317".to_string())
    };
    validate_url(&setting, &endpoint)?;

    let mut headers = Vec::new();
    if let Some((var, v)) = either(
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_HEADERS",
    ) {
        headers = parse_pairs(&var, &v)?;
    }
    for (k, v) in &c.headers {
        validate_header(k, v)?;
        headers.retain(|(hk, _)| !hk.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.clone()));
    }
    for (k, v) in &headers {
        validate_header(k, v)?;
    }
    let timeout = match c.timeout {
        Some(t) => t,
        None => match either(
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ) {
            Some((var, v)) => parse_millis(&var, &v)?,
            None => DEFAULT_OTLP_TIMEOUT,
        },
    };
    if timeout.is_zero() {
        return Err(Error::config("OTLP timeout", "0", "must be positive"));
    }
    let compression = match c.compression {
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
            None => OtlpCompression::None,
        },
    };
    Ok(OtlpSettings {
        endpoint,
        protocol,
        headers,
        timeout,
        compression,
    })
}

fn validate_url(setting: &str, url: &str) -> Result<(), Error> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| Error::config(setting, url, "must start with http:// or https://"))?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(Error::config(setting, url, "has no valid host"));
    }
    if let Some((_, port)) = host.rsplit_once(':') {
        if !host.ends_with(']') && port.parse::<u16>().is_err() {
            return Err(Error::config(setting, url, format!("bad port '{port}'")));
        }
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

/// A value from code, else from the environment variable `var`.
fn pick<T>(
    code: Option<T>,
    env: &EnvSource,
    var: &str,
    parse: fn(&str, &str) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    match code {
        Some(v) => Ok(Some(v)),
        None => env.get(var).map(|v| parse(var, &v)).transpose(),
    }
}

fn parse_bool(var: &str, v: &str) -> Result<bool, Error> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::config(var, v, "expected true or false")),
    }
}

fn parse_count(var: &str, v: &str) -> Result<usize, Error> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::config(var, v, "expected a positive integer")),
    }
}

fn parse_millis(var: &str, v: &str) -> Result<Duration, Error> {
    v.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| Error::config(var, v, "expected a whole number of milliseconds"))
}

/// `k=v,k2=v2` with percent-encoded values (W3C baggage style), as used by
/// `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`.
fn parse_pairs(var: &str, v: &str) -> Result<Vec<(String, String)>, Error> {
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

//! Reading settings from environment variables: where they come from and how
//! each kind of value is parsed. Every parse error names the variable and the
//! value.

use crate::error::Error;
use std::collections::HashMap;

/// Every setting that has a variable name. These names are also the keys of
/// `TracerBuilder::set`, which the language bindings use, so one table
/// documents every setting in every language.
pub const SETTING_NAMES: &[&str] = &[
    "AGTRACE_BATCH_MAX_BYTES",
    "AGTRACE_BREAKER_RESET_MS",
    "AGTRACE_BREAKER_THRESHOLD",
    "AGTRACE_CAPTURE_CONTENT",
    "AGTRACE_CAPTURE_IO",
    "AGTRACE_CONFIG",
    "AGTRACE_CONVERSATION_ATTRIBUTE",
    "AGTRACE_EXPORTERS",
    "AGTRACE_FILE_PATH",
    "AGTRACE_INCLUDE_TOOL_DEFINITIONS",
    "AGTRACE_LINKS",
    "AGTRACE_MAX_ATTRIBUTE_BYTES",
    "AGTRACE_MAX_MESSAGE_CHARS",
    "AGTRACE_MAX_RETRIES",
    "AGTRACE_MEDIA",
    "AGTRACE_METADATA",
    "AGTRACE_OTEL_BRIDGE",
    "AGTRACE_QUEUE_MAX_BYTES",
    "AGTRACE_REDACT_MESSAGES",
    "AGTRACE_REDACT_TOOL_ARGUMENTS",
    "AGTRACE_REDACT_TOOL_RESULTS",
    "AGTRACE_RETRY_INITIAL_BACKOFF_MS",
    "AGTRACE_RETRY_MAX_BACKOFF_MS",
    "AGTRACE_SAMPLING_RULES",
    "AGTRACE_SCRUB_DEFAULT_PATTERNS",
    "AGTRACE_SCRUB_PATTERNS",
    "AGTRACE_SENSITIVE_KEYS",
    "AGTRACE_SENSITIVE_KEYS_REPLACE",
    "AGTRACE_SPOOL_DIR",
    "AGTRACE_SPOOL_MAX_BYTES",
    "AGTRACE_STRICT",
    "AGTRACE_TAGS",
    "LANGFUSE_HOST",
    "LANGFUSE_PUBLIC_KEY",
    "LANGFUSE_SECRET_KEY",
    "LANGWATCH_API_KEY",
    "LANGWATCH_ENDPOINT",
    "OPIK_API_KEY",
    "OPIK_PROJECT_NAME",
    "OPIK_URL_OVERRIDE",
    "OPIK_WORKSPACE",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_PROPAGATORS",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "PHOENIX_API_KEY",
    "PHOENIX_COLLECTOR_ENDPOINT",
];

/// Where environment variables come from: the process (default), none, or a
/// fixed map (tests); with settings given by name in code on top.
#[derive(Default, Clone, Debug)]
pub(crate) struct EnvSource {
    pub(crate) base: EnvBase,
    /// Settings given by name in code (`TracerBuilder::set`); they win over
    /// the environment.
    pub(crate) overlay: HashMap<String, String>,
}

#[derive(Default, Clone, Debug)]
pub(crate) enum EnvBase {
    #[default]
    Process,
    Ignore,
    Map(HashMap<String, String>),
}

impl EnvSource {
    /// The trimmed value; empty counts as unset (as the OpenTelemetry
    /// specification says).
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        let v = match self.overlay.get(key) {
            Some(v) => Some(v.clone()),
            None => match &self.base {
                EnvBase::Process => std::env::var(key).ok(),
                EnvBase::Ignore => None,
                EnvBase::Map(m) => m.get(key).cloned(),
            },
        }?;
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_string())
    }

    /// The first of `vars` that is set, with its name.
    pub(crate) fn first(&self, vars: &[&str]) -> Option<(String, String)> {
        vars.iter()
            .find_map(|var| self.get(var).map(|v| (var.to_string(), v)))
    }
}

/// A value from code, else from the environment variable `var`.
pub(crate) fn pick<T>(
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

/// A value from code, else the variable `var`, else the config file, with
/// the name it was given under (`code_name`, `var` or `file_name`), so that
/// a check made after the sources are merged names what the user wrote.
pub(crate) fn pick_named<T>(
    code: Option<T>,
    code_name: &str,
    env: &EnvSource,
    var: &str,
    parse: fn(&str, &str) -> Result<T, Error>,
    file: Option<T>,
    file_name: &str,
) -> Result<Option<(T, String)>, Error> {
    if let Some(v) = code {
        return Ok(Some((v, code_name.to_string())));
    }
    if let Some(v) = env.get(var) {
        return Ok(Some((parse(var, &v)?, var.to_string())));
    }
    Ok(file.map(|v| (v, file_name.to_string())))
}

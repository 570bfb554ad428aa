//! The configuration file named by `AGTRACE_CONFIG` (TOML, or YAML for a
//! `.yaml`/`.yml` name): the same settings as the builder and environment,
//! below both in precedence. Unknown keys and bad values are errors naming
//! the key.
//!
//! ```toml
//! service_name = "support-agent"
//! exporters = ["console", "otlp", "langfuse"]
//! capture_content = true
//! propagators = ["tracecontext", "baggage"]
//! global_tags = ["prod"]
//! conversation_attribute = "gen_ai.conversation.id"
//!
//! [otlp]
//! endpoint = "http://collector:4318/v1/traces"
//! headers = { "x-tenant" = "acme" }
//!
//! [sampling]
//! rate = 0.25
//! rules = [{ kind = "llm", rate = 1.0 }]
//!
//! [redaction]
//! redact_tool_results = true
//!
//! [batch]
//! flush_interval_ms = 2000
//!
//! [delivery]
//! max_retries = 3
//!
//! [[prices]]
//! model = "my-finetune"
//! input = 3.0
//! output = 12.0
//! ```
//!
//! `exporters` also takes typed sections, so one file can name several
//! destinations of one kind, each its own exporter (queue, retries, breaker,
//! spool and counters; the second of a kind is named `otlp-2`, ...). A
//! section's keys are those of the kind's own section (`[otlp]`,
//! `[langfuse]`, ...) and win over the environment; keys it leaves out come
//! from the environment, then that kind's section, then the defaults:
//!
//! ```yaml
//! exporters:
//!   - console
//!   - type: otlp
//!     endpoint: http://collector-a:4318/v1/traces
//!   - type: otlp
//!     endpoint: http://collector-b:4317
//!     protocol: grpc
//!   - type: file
//!     path: traces.jsonl
//! ```

use super::presets::{LangfuseConfig, LangwatchConfig, OpikConfig, PhoenixConfig};
use crate::error::Error;
use crate::exporter::OtlpConfig;
use crate::pipeline::delivery::DeliveryConfig;
use crate::policy::redact::RedactionConfig;
use crate::policy::sample::SamplingConfig;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub(crate) service_name: Option<String>,
    pub(crate) resource: BTreeMap<String, String>,
    pub(crate) disabled: Option<bool>,
    pub(crate) exporters: Option<Vec<ExporterEntry>>,
    pub(crate) file_path: Option<String>,
    pub(crate) otlp: OtlpConfig,
    pub(crate) langfuse: LangfuseConfig,
    pub(crate) phoenix: PhoenixConfig,
    pub(crate) langwatch: LangwatchConfig,
    pub(crate) opik: OpikConfig,
    pub(crate) capture_content: Option<bool>,
    pub(crate) capture_io: Option<bool>,
    pub(crate) otel_bridge: Option<bool>,
    pub(crate) strict: Option<bool>,
    pub(crate) propagators: Option<Vec<String>>,
    pub(crate) sampling: Option<SamplingConfig>,
    pub(crate) redaction: Option<RedactionConfig>,
    pub(crate) delivery: Option<DeliveryConfig>,
    pub(crate) batch: BatchSection,
    pub(crate) global_tags: Vec<String>,
    pub(crate) global_metadata: serde_json::Map<String, serde_json::Value>,
    pub(crate) links: Option<bool>,
    pub(crate) conversation_attribute: Option<String>,
    pub(crate) prices: Vec<PriceEntry>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct BatchSection {
    pub(crate) queue_capacity: Option<usize>,
    pub(crate) queue_max_bytes: Option<usize>,
    pub(crate) batch_size: Option<usize>,
    pub(crate) batch_max_bytes: Option<usize>,
    pub(crate) flush_interval_ms: Option<u64>,
    pub(crate) rollup_hold_ms: Option<u64>,
}

/// A price override: USD per million tokens.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PriceEntry {
    pub(crate) provider: Option<String>,
    pub(crate) model: String,
    pub(crate) input: f64,
    pub(crate) output: f64,
    pub(crate) cached_input: Option<f64>,
    pub(crate) cache_write: Option<f64>,
}

/// One entry of `exporters`: a name, or a typed section.
#[derive(Debug, Clone)]
pub(crate) enum ExporterEntry {
    Name(String),
    Section(ExporterSection),
}

/// A destination spelled out in the file (see the module docs).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum ExporterSection {
    Console,
    File { path: String },
    Otlp(OtlpConfig),
    Langfuse(LangfuseConfig),
    Phoenix(PhoenixConfig),
    Langwatch(LangwatchConfig),
    Opik(OpikConfig),
    None,
}

impl<'de> serde::Deserialize<'de> for ExporterEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = ExporterEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an exporter name or a section with a `type`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExporterEntry, E> {
                Ok(ExporterEntry::Name(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ExporterEntry, A::Error> {
                serde::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ExporterEntry::Section)
            }
        }
        d.deserialize_any(Entry)
    }
}

/// Reads and parses the file. Errors name the file and, from the parser,
/// the key and position.
pub(crate) fn load(path: &Path) -> Result<FileConfig, Error> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config("AGTRACE_CONFIG", &shown, format!("cannot read: {e}")))?;
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    parse(&text, yaml, &shown)
}

/// Parses a config file's text (`shown` names it in errors).
pub(crate) fn parse(text: &str, yaml: bool, shown: &str) -> Result<FileConfig, Error> {
    let fail = |reason: String| Error::config("AGTRACE_CONFIG", shown, reason);
    if yaml {
        serde_yaml_ng::from_str(text).map_err(|e| fail(e.to_string()))
    } else {
        toml::from_str(text).map_err(|e| fail(e.to_string()))
    }
}

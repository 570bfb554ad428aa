//! Configuration: a builder in code, the same settings from environment
//! variables and from a config file, resolved once at init.
//!
//! Precedence: code, then environment, then the file named by
//! `AGTRACE_CONFIG` (see `file`), then defaults. Every value is validated
//! here, so a bad setting fails `build` with an error naming the setting and
//! the value, and nothing fails later at span time.
//!
//! Environment variables (standard `OTEL_*` ones where they apply):
//!
//! | variable | meaning |
//! |---|---|
//! | `AGTRACE_CONFIG` | a TOML or YAML file with any of the settings below |
//! | `OTEL_SDK_DISABLED` | `true`: spans are not recorded or exported |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource |
//! | `AGTRACE_EXPORTERS` / `OTEL_TRACES_EXPORTER` | `console`, `file`, `otlp`, `langfuse`, `phoenix`, `langwatch`, `opik`, `none` |
//! | `AGTRACE_FILE_PATH` | the file exporter's path (default `agtrace.jsonl`) |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `_PROTOCOL`, `_HEADERS`, `_TIMEOUT`, `_COMPRESSION` | OTLP |
//! | `LANGFUSE_HOST`, `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY` | the Langfuse preset |
//! | `PHOENIX_COLLECTOR_ENDPOINT`, `PHOENIX_API_KEY` | the Phoenix preset |
//! | `LANGWATCH_ENDPOINT`, `LANGWATCH_API_KEY` | the LangWatch preset |
//! | `OPIK_URL_OVERRIDE`, `OPIK_API_KEY`, `OPIK_WORKSPACE`, `OPIK_PROJECT_NAME` | the Opik preset |
//! | `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY` | batching |
//! | `AGTRACE_QUEUE_MAX_BYTES`, `AGTRACE_BATCH_MAX_BYTES` | byte caps |
//! | `OTEL_BSP_EXPORT_TIMEOUT` | export deadline per batch, retries included (ms) |
//! | `AGTRACE_MAX_RETRIES`, `AGTRACE_RETRY_INITIAL_BACKOFF_MS`, `AGTRACE_RETRY_MAX_BACKOFF_MS` | retries |
//! | `AGTRACE_BREAKER_THRESHOLD`, `AGTRACE_BREAKER_RESET_MS` | circuit breaker |
//! | `AGTRACE_SPOOL_DIR`, `AGTRACE_SPOOL_MAX_BYTES` | the disk spool of OTLP exporters (default `$XDG_STATE_HOME/agtrace/spool` if writable; `off`), 128 MiB per exporter |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`, `AGTRACE_SAMPLING_RULES` | sampling |
//! | `AGTRACE_REDACT_*`, `AGTRACE_SENSITIVE_KEYS`, `AGTRACE_SCRUB_*`, `AGTRACE_MAX_*`, `AGTRACE_MEDIA` | redaction |
//! | `AGTRACE_CAPTURE_CONTENT` | `true`: record message content |
//! | `AGTRACE_CAPTURE_IO` | `false`: SDK decorators do not record function inputs and outputs |
//! | `AGTRACE_STRICT` | `true`: the SDKs raise on misuse instead of logging and counting it (for tests) |
//! | `AGTRACE_TAGS`, `AGTRACE_METADATA` | global tags (comma-separated) and metadata (JSON object) |
//! | `AGTRACE_LINKS` | `false`: drop span links |
//! | `AGTRACE_OTEL_BRIDGE` | `false`: SDKs keep their spans apart from the app's OpenTelemetry context |
//! | `AGTRACE_CONVERSATION_ATTRIBUTE` | attribute for the conversation id |
//! | `OTEL_PROPAGATORS` | `tracecontext`, `baggage`, `b3`, `b3multi` |
//!
//! With no exporter chosen, the console exporter is used, plus each OTLP
//! destination whose environment is present (OTLP endpoint, Langfuse keys,
//! Phoenix endpoint).

pub(crate) mod env;
mod file;
mod presets;

pub use presets::{LangfuseConfig, LangwatchConfig, OpikConfig, PhoenixConfig};

use crate::error::Error;
use crate::exporter::{
    ConsoleExporter, Exporter, FileExporter, InMemoryExporter, NoopExporter, OtlpConfig,
    OtlpExporter, OtlpSettings, Resource,
};
use crate::model::semconv;
use crate::model::value::Attribute;
use crate::pipeline::delivery::DeliveryConfig;
use crate::pipeline::BatchConfig;
use crate::policy::price::{Price, PriceTable};
use crate::policy::redact::RedactionConfig;
use crate::policy::sample::SamplingConfig;
use crate::policy::GlobalContext;
use crate::propagation::Propagators;
use crate::util::bounds;
use crate::util::parse::{
    parse_bool, parse_count, parse_json_object, parse_list, parse_millis, parse_pairs, parse_u32,
};
pub use env::SETTING_NAMES;
use env::{pick, pick_named, EnvBase, EnvSource};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
    Langfuse(LangfuseConfig),
    Phoenix(PhoenixConfig),
    Langwatch(LangwatchConfig),
    Opik(OpikConfig),
    /// Kept in memory, for tests; read through the handle.
    Memory(InMemoryExporter),
    /// Discards spans (the pipeline still runs).
    None,
}

/// The default file exporter path.
pub const DEFAULT_FILE_PATH: &str = "agtrace.jsonl";
const DEFAULT_SERVICE_NAME: &str = "unknown_service";
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a [`crate::Tracer`]. Unset fields come from the environment, then
/// the config file, then defaults.
#[derive(Default)]
pub struct TracerBuilder {
    service_name: Option<String>,
    resource: Vec<Attribute>,
    exporters: Option<Vec<ExporterConfig>>,
    pub(crate) custom_exporters: Vec<Box<dyn Exporter>>,
    batch: BatchOverrides,
    delivery: Option<DeliveryConfig>,
    sampling: Option<SamplingConfig>,
    redaction: Option<RedactionConfig>,
    prices: Vec<(Option<String>, String, Price)>,
    global_tags: Vec<String>,
    global_metadata: serde_json::Map<String, serde_json::Value>,
    links: Option<bool>,
    otel_bridge: Option<bool>,
    conversation_attribute: Option<String>,
    capture_content: Option<bool>,
    capture_io: Option<bool>,
    strict: Option<bool>,
    propagators: Option<Propagators>,
    disabled: Option<bool>,
    shutdown_timeout: Option<Duration>,
    config_file: Option<PathBuf>,
    env: EnvSource,
}

#[derive(Default, Clone, Debug)]
struct BatchOverrides {
    queue_capacity: Option<usize>,
    queue_max_bytes: Option<usize>,
    batch_size: Option<usize>,
    batch_max_bytes: Option<usize>,
    flush_interval: Option<Duration>,
    rollup_hold: Option<Duration>,
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

    /// Adds an exporter. Once any is added here, the environment's and the
    /// file's exporter choice is ignored.
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

    /// Longest time a parent is held back waiting for its children's usage.
    pub fn rollup_hold(mut self, hold: Duration) -> Self {
        self.batch.rollup_hold = Some(hold);
        self
    }

    /// Retries and circuit breaker, for every exporter.
    pub fn delivery(mut self, cfg: DeliveryConfig) -> Self {
        self.delivery = Some(cfg);
        self
    }

    pub fn sampling(mut self, cfg: SamplingConfig) -> Self {
        self.sampling = Some(cfg);
        self
    }

    pub fn redaction(mut self, cfg: RedactionConfig) -> Self {
        self.redaction = Some(cfg);
        self
    }

    /// Overrides (or adds) the price of a model, USD per million tokens.
    pub fn price(mut self, provider: Option<&str>, model: &str, price: Price) -> Self {
        self.prices
            .push((provider.map(String::from), model.to_string(), price));
        self
    }

    /// Tags added to every span.
    pub fn global_tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.global_tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Metadata added to every span (under the trace's own metadata).
    pub fn global_metadata(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.global_metadata.insert(key.into(), value);
        self
    }

    /// Export span links (default true).
    pub fn links(mut self, on: bool) -> Self {
        self.links = Some(on);
        self
    }

    /// The attribute that carries the conversation id (default
    /// `gen_ai.conversation.id`).
    pub fn conversation_attribute(mut self, name: impl Into<String>) -> Self {
        self.conversation_attribute = Some(name.into());
        self
    }

    /// Record message content (`gen_ai.input.messages`, ...). Off by default.
    pub fn capture_content(mut self, on: bool) -> Self {
        self.capture_content = Some(on);
        self
    }

    /// Let the SDKs' decorators record a traced function's arguments and
    /// return value (`input.value`, `output.value`). On by default. The core
    /// only carries the setting; the decorators read it at init.
    pub fn capture_io(mut self, on: bool) -> Self {
        self.capture_io = Some(on);
        self
    }

    /// Let the SDKs bridge their spans with the OpenTelemetry API's context
    /// when the application uses it (one trace: spans started under an
    /// OpenTelemetry span are its children, and OpenTelemetry sees the
    /// current agtrace span). On by default. The core only carries the
    /// setting; the SDKs read it at init.
    pub fn otel_bridge(mut self, on: bool) -> Self {
        self.otel_bridge = Some(on);
        self
    }

    /// Make the SDKs raise on misuse (a bad name, a value that cannot be
    /// recorded, a span ended twice) instead of logging it once per kind and
    /// counting it in `Stats::misuse`. Off by default; meant for tests and CI.
    /// The core only carries the setting; it never raises at run time.
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = Some(on);
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

    /// Reads this config file (TOML, or YAML by extension) instead of
    /// `AGTRACE_CONFIG`.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// Do not read environment variables.
    pub fn ignore_env(mut self) -> Self {
        self.env.base = EnvBase::Ignore;
        self
    }

    /// Read settings from this map instead of the process environment.
    pub fn env_map(mut self, vars: HashMap<String, String>) -> Self {
        self.env.base = EnvBase::Map(vars);
        self
    }

    /// Sets a setting by its variable name (see [`SETTING_NAMES`] and the
    /// README's table), winning over the environment and the config file;
    /// the typed builder methods still win over it. Values are parsed and
    /// checked at `build`, like environment variables. This is how the
    /// language bindings pass settings, so every language uses the same
    /// names. Fails at once for a name that is not a setting.
    pub fn set(mut self, name: &str, value: &str) -> Result<Self, Error> {
        if !SETTING_NAMES.contains(&name) {
            return Err(Error::InvalidArgument {
                argument: name.to_string(),
                reason: "not a setting name (see SETTING_NAMES)".into(),
            });
        }
        self.env.overlay.insert(name.to_string(), value.to_string());
        Ok(self)
    }

    /// Validates every setting, creates the exporters and starts the export
    /// threads. No network I/O happens on the calling thread.
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

impl ExporterSpec {
    fn name(&self) -> &str {
        match self {
            ExporterSpec::Console | ExporterSpec::ConsoleStderr => "console",
            ExporterSpec::File(_) => "file",
            ExporterSpec::Otlp(s) => &s.name,
            ExporterSpec::Memory(_) => "memory",
            ExporterSpec::None => "none",
        }
    }
}

/// Every setting, decided.
#[derive(Clone, Debug)]
pub struct Settings {
    pub service_name: String,
    pub(crate) resource: Resource,
    pub(crate) exporters: Vec<ExporterSpec>,
    pub batch: BatchConfig,
    pub delivery: DeliveryConfig,
    pub sampling: SamplingConfig,
    pub redaction: RedactionConfig,
    pub(crate) prices: PriceTable,
    pub global: GlobalContext,
    pub links: bool,
    /// Whether the SDKs bridge their spans with the OpenTelemetry API's context.
    pub otel_bridge: bool,
    pub conversation_attribute: String,
    pub capture_content: bool,
    /// Whether the SDKs' decorators record function inputs and outputs.
    pub capture_io: bool,
    /// Whether the SDKs raise on misuse (see `TracerBuilder::strict`).
    pub strict: bool,
    pub propagators: Propagators,
    pub disabled: bool,
    pub shutdown_timeout: Duration,
}

impl Settings {
    /// The names of the exporters in use, in order.
    pub fn exporter_names(&self) -> Vec<String> {
        self.exporters
            .iter()
            .map(|e| e.name().to_string())
            .collect()
    }

    pub(crate) fn resolve(b: &TracerBuilder) -> Result<Settings, Error> {
        let file = match b
            .config_file
            .clone()
            .or_else(|| b.env.get("AGTRACE_CONFIG").map(PathBuf::from))
        {
            Some(path) => file::load(&path)?,
            None => file::FileConfig::default(),
        };
        Settings::resolve_with(b, file)
    }

    fn resolve_with(b: &TracerBuilder, file: file::FileConfig) -> Result<Settings, Error> {
        let env = &b.env;

        let res_env = match env.get("OTEL_RESOURCE_ATTRIBUTES") {
            Some(v) => parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &v)?,
            None => Vec::new(),
        };
        let lookup = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .find(|(k, _)| k == "service.name")
                .map(|(_, v)| v.clone())
        };
        let service_name = b
            .service_name
            .clone()
            .or_else(|| env.get("OTEL_SERVICE_NAME"))
            .or_else(|| lookup(&res_env))
            .or_else(|| file.service_name.clone())
            .or_else(|| file.resource.get("service.name").cloned())
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_string());
        let mut attrs = vec![
            Attribute::new("service.name", service_name.clone()),
            Attribute::new("telemetry.sdk.name", "agtrace"),
            Attribute::new("telemetry.sdk.language", "rust"),
            Attribute::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ];
        let mut set = |a: Attribute| {
            if a.key != "service.name" {
                attrs.retain(|x| x.key != a.key);
                attrs.push(a);
            }
        };
        file.resource
            .iter()
            .for_each(|(k, v)| set(Attribute::new(k.clone(), v.clone())));
        res_env
            .into_iter()
            .for_each(|(k, v)| set(Attribute::new(k, v)));
        b.resource.iter().cloned().for_each(set);
        let resource = Resource { attributes: attrs };

        let batch = resolve_batch(&b.batch, &file.batch, env)?;
        let code_delivery = b.delivery.is_some();
        let mut delivery = resolve_delivery(b.delivery.clone(), file.delivery.clone(), env)?;
        let shutdown_timeout = b.shutdown_timeout.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT);
        bounds::MS.check_ms("shutdown_timeout", shutdown_timeout)?;

        let sampling = match &b.sampling {
            Some(s) => s.clone(),
            None => {
                let mut s = file.sampling.clone().unwrap_or_default();
                crate::policy::sample::apply_env(&mut s, &|k| env.get(k))?;
                s
            }
        };
        let redaction = match &b.redaction {
            Some(r) => r.clone(),
            None => {
                let mut r = file.redaction.clone().unwrap_or_default();
                crate::policy::redact::apply_env(&mut r, &|k| env.get(k))?;
                r
            }
        };

        let mut prices = PriceTable::builtin();
        for p in &file.prices {
            let price = Price {
                input: p.input,
                output: p.output,
                cached_input: p.cached_input,
                cache_write: p.cache_write,
            };
            prices.set(p.provider.as_deref(), &p.model, price);
        }
        for (provider, model, price) in &b.prices {
            prices.set(provider.as_deref(), model, *price);
        }

        let mut global = GlobalContext {
            tags: file.global_tags.clone(),
            metadata: file.global_metadata.clone(),
        };
        if let Some(tags) = pick(None, env, "AGTRACE_TAGS", parse_list)? {
            global.tags.extend(tags);
        }
        if let Some(m) = pick(None, env, "AGTRACE_METADATA", parse_json_object)? {
            global.metadata.extend(m);
        }
        global.tags.extend(b.global_tags.iter().cloned());
        global.tags.dedup();
        global.metadata.extend(b.global_metadata.clone());

        let links = pick(b.links, env, "AGTRACE_LINKS", parse_bool)?
            .or(file.links)
            .unwrap_or(true);
        let conversation_attribute = b
            .conversation_attribute
            .clone()
            .or_else(|| env.get("AGTRACE_CONVERSATION_ATTRIBUTE"))
            .or_else(|| file.conversation_attribute.clone())
            .unwrap_or_else(|| semconv::GEN_AI_CONVERSATION_ID.to_string());
        let capture_content = pick(
            b.capture_content,
            env,
            "AGTRACE_CAPTURE_CONTENT",
            parse_bool,
        )?
        .or(file.capture_content)
        .unwrap_or(false);
        let capture_io = pick(b.capture_io, env, "AGTRACE_CAPTURE_IO", parse_bool)?
            .or(file.capture_io)
            .unwrap_or(true);
        let otel_bridge = pick(b.otel_bridge, env, "AGTRACE_OTEL_BRIDGE", parse_bool)?
            .or(file.otel_bridge)
            .unwrap_or(true);
        let strict = pick(b.strict, env, "AGTRACE_STRICT", parse_bool)?
            .or(file.strict)
            .unwrap_or(false);
        let disabled = pick(b.disabled, env, "OTEL_SDK_DISABLED", parse_bool)?
            .or(file.disabled)
            .unwrap_or(false);
        let propagators = match &b.propagators {
            Some(p) => p.clone(),
            None => match env.get("OTEL_PROPAGATORS") {
                Some(v) => Propagators::parse(&v)
                    .map_err(|reason| Error::config("OTEL_PROPAGATORS", &v, reason))?,
                None => match &file.propagators {
                    Some(list) => Propagators::parse(&list.join(","))
                        .map_err(|reason| Error::config("propagators", &list.join(","), reason))?,
                    None => Propagators::default(),
                },
            },
        };
        let exporters = if disabled {
            Vec::new()
        } else {
            resolve_exporters(b, &file, env)?
        };
        // Only exporters that send over the network spool; the directory is
        // not touched otherwise. A `DeliveryConfig` from code is used as is.
        if !code_delivery {
            let spools = exporters.iter().any(|e| matches!(e, ExporterSpec::Otlp(_)));
            let dir = delivery.spool_dir.take();
            delivery.spool_dir = match spools {
                true => resolve_spool_dir(dir, env)?,
                false => None,
            };
        }
        Ok(Settings {
            service_name,
            resource,
            exporters,
            batch,
            delivery,
            sampling,
            redaction,
            prices,
            global,
            links,
            otel_bridge,
            conversation_attribute,
            capture_content,
            capture_io,
            strict,
            propagators,
            disabled,
            shutdown_timeout,
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

fn resolve_batch(
    o: &BatchOverrides,
    f: &file::BatchSection,
    env: &EnvSource,
) -> Result<BatchConfig, Error> {
    let d = BatchConfig::default();
    let ms = |v: Option<u64>| v.map(Duration::from_millis);
    let count = |code: Option<usize>,
                 code_name: &str,
                 var: &str,
                 file: Option<usize>,
                 file_name: &str,
                 range: bounds::Range,
                 default: Option<usize>|
     -> Result<Option<(usize, String)>, Error> {
        match pick_named(code, code_name, env, var, parse_count, file, file_name)? {
            Some((n, name)) => range.check(&name, n as u64).map(|()| Some((n, name))),
            None => Ok(default.map(|n| (n, String::new()))),
        }
    };
    let (queue_capacity, _) = count(
        o.queue_capacity,
        "queue_capacity",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        f.queue_capacity,
        "batch.queue_capacity",
        bounds::QUEUE_SPANS,
        Some(d.queue_capacity),
    )?
    .unwrap_or_default();
    let batch_size = count(
        o.batch_size,
        "batch_size",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        f.batch_size,
        "batch.batch_size",
        bounds::QUEUE_SPANS,
        None,
    )?;
    if let Some((n, name)) = batch_size.as_ref().filter(|(n, _)| *n > queue_capacity) {
        return Err(Error::config(
            name,
            &n.to_string(),
            format!("must not exceed the queue capacity ({queue_capacity})"),
        ));
    }
    let (queue_max_bytes, _) = count(
        o.queue_max_bytes,
        "queue_max_bytes",
        "AGTRACE_QUEUE_MAX_BYTES",
        f.queue_max_bytes,
        "batch.queue_max_bytes",
        bounds::QUEUE_BYTES,
        Some(d.queue_max_bytes),
    )?
    .unwrap_or_default();
    let (batch_max_bytes, _) = count(
        o.batch_max_bytes,
        "batch_max_bytes",
        "AGTRACE_BATCH_MAX_BYTES",
        f.batch_max_bytes,
        "batch.batch_max_bytes",
        bounds::BATCH_BYTES,
        Some(d.batch_max_bytes),
    )?
    .unwrap_or_default();
    let flush_interval = match pick_named(
        o.flush_interval,
        "flush_interval",
        env,
        "OTEL_BSP_SCHEDULE_DELAY",
        parse_millis,
        ms(f.flush_interval_ms),
        "batch.flush_interval_ms",
    )? {
        Some((v, name)) => bounds::POSITIVE_MS.check_ms(&name, v).map(|()| v)?,
        None => d.flush_interval,
    };
    let rollup_hold = match (o.rollup_hold, ms(f.rollup_hold_ms)) {
        (Some(v), _) => bounds::MS.check_ms("rollup_hold", v).map(|()| v)?,
        (None, Some(v)) => bounds::MS.check_ms("batch.rollup_hold_ms", v).map(|()| v)?,
        (None, None) => d.rollup_hold,
    };
    Ok(BatchConfig {
        queue_capacity,
        // A default batch larger than a small queue shrinks to fit it.
        batch_size: batch_size.map_or(d.batch_size.min(queue_capacity), |(n, _)| n),
        queue_max_bytes,
        batch_max_bytes,
        flush_interval,
        rollup_hold,
    })
}

/// Retries and the breaker: from code as a whole (checked, named by field),
/// else the file's `[delivery]` section with each variable overriding its
/// field.
fn resolve_delivery(
    code: Option<DeliveryConfig>,
    file: Option<DeliveryConfig>,
    env: &EnvSource,
) -> Result<DeliveryConfig, Error> {
    if let Some(c) = code {
        check_delivery(&c, |field| format!("DeliveryConfig.{field}"))?;
        return Ok(c);
    }
    let mut d = file.unwrap_or_default();
    // A value the file set (or the default) is named by its file key.
    check_delivery(&d, |field| format!("delivery.{field}"))?;
    let ms = |var: &str| -> Result<Option<Duration>, Error> {
        let v = pick(None, env, var, parse_millis)?;
        v.map(|v| bounds::MS.check_ms(var, v).map(|()| v))
            .transpose()
    };
    let count = |var: &str, range: bounds::Range| -> Result<Option<u32>, Error> {
        let v = pick(None, env, var, parse_u32)?;
        v.map(|v| range.check(var, u64::from(v)).map(|()| v))
            .transpose()
    };
    if let Some(v) = count("AGTRACE_MAX_RETRIES", bounds::RETRIES)? {
        d.max_retries = v;
    }
    if let Some(v) = ms("AGTRACE_RETRY_INITIAL_BACKOFF_MS")? {
        d.initial_backoff = v;
    }
    if let Some(v) = ms("AGTRACE_RETRY_MAX_BACKOFF_MS")? {
        d.max_backoff = v;
    }
    if let Some(v) = ms("OTEL_BSP_EXPORT_TIMEOUT")? {
        d.export_deadline = v;
    }
    if let Some(v) = count("AGTRACE_BREAKER_THRESHOLD", bounds::BREAKER_THRESHOLD)? {
        d.breaker_threshold = v;
    }
    if let Some(v) = ms("AGTRACE_BREAKER_RESET_MS")? {
        d.breaker_reset = v;
    }
    if let Some(v) = pick(None, env, "AGTRACE_SPOOL_MAX_BYTES", parse_count)? {
        bounds::SPOOL_BYTES.check("AGTRACE_SPOOL_MAX_BYTES", v as u64)?;
        d.spool_max_bytes = v as u64;
    }
    Ok(d)
}

/// The spool's directory: `AGTRACE_SPOOL_DIR`, else the config file's
/// `spool_dir`, else `$XDG_STATE_HOME/agtrace/spool` (or
/// `~/.local/state/agtrace/spool`) if it can be written to. `off` turns the
/// spool off; a directory named explicitly that cannot be written to is an
/// error naming the setting.
fn resolve_spool_dir(file: Option<PathBuf>, env: &EnvSource) -> Result<Option<PathBuf>, Error> {
    let (setting, dir) = match (env.get("AGTRACE_SPOOL_DIR"), file) {
        (Some(v), _) => ("AGTRACE_SPOOL_DIR", PathBuf::from(v)),
        (None, Some(p)) => ("spool_dir", p),
        (None, None) => {
            let state = env
                .get("XDG_STATE_HOME")
                .map(PathBuf::from)
                .or_else(|| env.get("HOME").map(|h| Path::new(&h).join(".local/state")));
            let dir = state.map(|s| s.join("agtrace/spool"));
            return Ok(dir.filter(|d| writable(d).is_ok()));
        }
    };
    if dir.as_os_str() == "off" {
        return Ok(None);
    }
    writable(&dir).map_err(|e| {
        Error::config(
            setting,
            &dir.to_string_lossy(),
            format!(
                "the spool directory cannot be written to: {e} (use off to turn the spool off)"
            ),
        )
    })?;
    Ok(Some(dir))
}

/// Creates `dir` and checks that a file can be made in it.
fn writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".agtrace-probe-{}", std::process::id()));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(&probe)
}

/// Every field of `d` in its range, an error naming `name(field)`.
fn check_delivery(d: &DeliveryConfig, name: impl Fn(&str) -> String) -> Result<(), Error> {
    bounds::RETRIES.check(&name("max_retries"), u64::from(d.max_retries))?;
    bounds::BREAKER_THRESHOLD.check(&name("breaker_threshold"), u64::from(d.breaker_threshold))?;
    for (field, v) in [
        ("initial_backoff_ms", d.initial_backoff),
        ("max_backoff_ms", d.max_backoff),
        ("export_deadline_ms", d.export_deadline),
        ("breaker_reset_ms", d.breaker_reset),
    ] {
        bounds::MS.check_ms(&name(field), v)?;
    }
    bounds::SPOOL_BYTES.check(&name("spool_max_bytes"), d.spool_max_bytes)?;
    Ok(())
}

const EXPORTER_NAMES: &str = "console, file, otlp, langfuse, phoenix, langwatch, opik or none";

fn resolve_exporters(
    b: &TracerBuilder,
    file: &file::FileConfig,
    env: &EnvSource,
) -> Result<Vec<ExporterSpec>, Error> {
    let file_path = || {
        PathBuf::from(
            env.get("AGTRACE_FILE_PATH")
                .or_else(|| file.file_path.clone())
                .unwrap_or_else(|| DEFAULT_FILE_PATH.into()),
        )
    };
    let mut specs = Vec::new();
    if let Some(list) = &b.exporters {
        for e in list {
            specs.push(match e {
                ExporterConfig::Console => ExporterSpec::Console,
                ExporterConfig::ConsoleStderr => ExporterSpec::ConsoleStderr,
                ExporterConfig::File(p) => ExporterSpec::File(p.clone()),
                ExporterConfig::Otlp(c) => ExporterSpec::Otlp(presets::otlp(c, &file.otlp, env)?),
                ExporterConfig::Langfuse(c) => {
                    ExporterSpec::Otlp(presets::langfuse(c, &file.langfuse, env)?)
                }
                ExporterConfig::Phoenix(c) => {
                    ExporterSpec::Otlp(presets::phoenix(c, &file.phoenix, env)?)
                }
                ExporterConfig::Langwatch(c) => {
                    ExporterSpec::Otlp(presets::langwatch(c, &file.langwatch, env)?)
                }
                ExporterConfig::Opik(c) => ExporterSpec::Otlp(presets::opik(c, &file.opik, env)?),
                ExporterConfig::Memory(m) => ExporterSpec::Memory(m.clone()),
                ExporterConfig::None => ExporterSpec::None,
            });
        }
        return Ok(unique_names(specs));
    }
    let known = |n: &str| {
        matches!(
            n,
            "console"
                | "logging"
                | "file"
                | "otlp"
                | "langfuse"
                | "phoenix"
                | "langwatch"
                | "opik"
                | "none"
        )
    };
    let entries: Vec<file::ExporterEntry> = match (
        env.first(&["AGTRACE_EXPORTERS", "OTEL_TRACES_EXPORTER"]),
        &file.exporters,
    ) {
        (Some((var, v)), _) => {
            let names = parse_list(&var, &v.to_ascii_lowercase())?;
            if let Some(bad) = names.iter().find(|n| !known(n)) {
                return Err(Error::config(
                    &var,
                    &v,
                    format!("unknown exporter '{bad}' (expected {EXPORTER_NAMES})"),
                ));
            }
            names.into_iter().map(file::ExporterEntry::Name).collect()
        }
        (None, Some(list)) => {
            for e in list {
                if let file::ExporterEntry::Name(n) = e {
                    if !known(&n.to_ascii_lowercase()) {
                        return Err(Error::config(
                            "exporters",
                            n,
                            format!("unknown exporter '{n}' (expected {EXPORTER_NAMES})"),
                        ));
                    }
                }
            }
            list.clone()
        }
        (None, None) => {
            let mut names = vec!["console"];
            for (present, name) in [
                (presets::otlp_in_env(env), "otlp"),
                (presets::langfuse_in_env(env), "langfuse"),
                (presets::phoenix_in_env(env), "phoenix"),
                (presets::langwatch_in_env(env), "langwatch"),
                (presets::opik_in_env(env), "opik"),
            ] {
                if present {
                    names.push(name);
                }
            }
            names
                .into_iter()
                .map(|n| file::ExporterEntry::Name(n.to_string()))
                .collect()
        }
    };
    for entry in entries {
        use file::ExporterSection as S;
        let section = match entry {
            file::ExporterEntry::Section(s) => s,
            file::ExporterEntry::Name(n) => match n.to_ascii_lowercase().as_str() {
                "console" | "logging" => S::Console,
                "file" => S::File {
                    path: file_path().to_string_lossy().into_owned(),
                },
                "otlp" => S::Otlp(OtlpConfig::default()),
                "langfuse" => S::Langfuse(LangfuseConfig::default()),
                "phoenix" => S::Phoenix(PhoenixConfig::default()),
                "langwatch" => S::Langwatch(LangwatchConfig::default()),
                "opik" => S::Opik(OpikConfig::default()),
                _ => S::None,
            },
        };
        specs.push(match section {
            S::Console => ExporterSpec::Console,
            S::File { path } => ExporterSpec::File(PathBuf::from(path)),
            S::Otlp(c) => ExporterSpec::Otlp(presets::otlp(&c, &file.otlp, env)?),
            S::Langfuse(c) => ExporterSpec::Otlp(presets::langfuse(&c, &file.langfuse, env)?),
            S::Phoenix(c) => ExporterSpec::Otlp(presets::phoenix(&c, &file.phoenix, env)?),
            S::Langwatch(c) => ExporterSpec::Otlp(presets::langwatch(&c, &file.langwatch, env)?),
            S::Opik(c) => ExporterSpec::Otlp(presets::opik(&c, &file.opik, env)?),
            S::None => ExporterSpec::None,
        });
    }
    Ok(unique_names(specs))
}

/// Exporters of the same kind get `-2`, `-3`, ... so stats tell them apart.
fn unique_names(mut specs: Vec<ExporterSpec>) -> Vec<ExporterSpec> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for s in specs.iter_mut() {
        let n = seen.entry(s.name().to_string()).or_insert(0);
        *n += 1;
        if *n > 1 {
            if let ExporterSpec::Otlp(o) = s {
                o.name = format!("{}-{n}", o.name);
            }
        }
    }
    specs
}

/// Parses config-file text (YAML when `yaml`, else TOML) and decides every
/// setting from it alone, as `build` would with that file and no
/// environment, including the sampling rules and redaction patterns, but
/// starts and opens nothing. For the fuzz targets (`fuzz/`); not part of
/// the API.
#[doc(hidden)]
pub fn check_config_text(text: &str, yaml: bool) -> Result<Settings, Error> {
    let mut parsed = file::parse(text, yaml, "config text")?;
    // Resolving a spool directory creates it: not for arbitrary text.
    if let Some(d) = parsed.delivery.as_mut() {
        d.spool_dir = None;
    }
    let settings = Settings::resolve_with(&TracerBuilder::default().ignore_env(), parsed)?;
    crate::policy::sample::Sampler::new(&settings.sampling)?;
    crate::policy::redact::Redactor::new(&settings.redaction)?;
    Ok(settings)
}

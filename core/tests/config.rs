//! Configuration: code over environment over defaults, and bad values failing
//! at build with the setting named.

use agtrace_core::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn build(pairs: &[(&str, &str)]) -> Result<Tracer, Error> {
    Tracer::builder().env_map(env(pairs)).build()
}

fn setting_of(e: Error) -> (String, String) {
    match e {
        Error::InvalidConfig { setting, value, .. } => (setting, value),
        other => panic!("expected InvalidConfig, got {other}"),
    }
}

#[test]
fn defaults_console_only() {
    let t = build(&[]).unwrap();
    assert_eq!(t.settings().exporter_names(), vec!["console"]);
    assert_eq!(t.settings().service_name, "unknown_service");
    assert!(!t.settings().capture_content);
    assert!(
        t.settings().capture_io,
        "decorators record inputs and outputs by default"
    );
    assert!(
        t.settings().otel_bridge,
        "the SDKs bridge with OpenTelemetry by default"
    );
    assert!(!t.strict(), "misuse is counted, not raised, by default");
    assert_eq!(t.settings().batch, BatchConfig::default());
}

#[test]
fn otlp_added_when_an_endpoint_is_in_the_environment() {
    for var in [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ] {
        let t = build(&[(var, "http://127.0.0.1:9")]).unwrap();
        assert_eq!(
            t.settings().exporter_names(),
            vec!["console", "otlp"],
            "{var}"
        );
    }
}

#[test]
fn exporters_chosen_explicitly() {
    let dir = std::env::temp_dir().join(format!("agtrace-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("x.jsonl");
    let t = build(&[
        ("AGTRACE_EXPORTERS", "file, none"),
        ("AGTRACE_FILE_PATH", path.to_str().unwrap()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
    ])
    .unwrap();
    assert_eq!(t.settings().exporter_names(), vec!["file", "none"]);
    assert!(path.exists());
    let t = build(&[("OTEL_TRACES_EXPORTER", "none")]).unwrap();
    assert_eq!(t.settings().exporter_names(), vec!["none"]);
    // AGTRACE_EXPORTERS wins over the standard variable.
    let t = build(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("AGTRACE_EXPORTERS", "console"),
    ])
    .unwrap();
    assert_eq!(t.settings().exporter_names(), vec!["console"]);
    // Code wins over both.
    let t = Tracer::builder()
        .env_map(env(&[("AGTRACE_EXPORTERS", "console")]))
        .exporter(ExporterConfig::None)
        .build()
        .unwrap();
    assert_eq!(t.settings().exporter_names(), vec!["none"]);
}

#[test]
fn code_wins_over_environment() {
    let t = Tracer::builder()
        .env_map(env(&[
            ("OTEL_SERVICE_NAME", "from-env"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "7"),
            ("AGTRACE_CAPTURE_CONTENT", "true"),
        ]))
        .service_name("from-code")
        .capture_content(false)
        .build()
        .unwrap();
    assert_eq!(t.settings().service_name, "from-code");
    assert_eq!(t.settings().batch.batch_size, 7);
    assert!(!t.settings().capture_content);
}

#[test]
fn environment_settings_are_read() {
    let t = build(&[
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=res-name,deployment.environment.name=prod%20eu",
        ),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_SCHEDULE_DELAY", "250"),
        ("AGTRACE_QUEUE_MAX_BYTES", "1000000"),
        ("AGTRACE_BATCH_MAX_BYTES", "50000"),
        ("AGTRACE_CAPTURE_CONTENT", "1"),
        ("AGTRACE_CAPTURE_IO", "false"),
        ("AGTRACE_OTEL_BRIDGE", "false"),
        ("AGTRACE_STRICT", "true"),
        ("OTEL_PROPAGATORS", "b3,tracecontext"),
    ])
    .unwrap();
    let s = t.settings();
    assert_eq!(s.service_name, "res-name");
    assert_eq!(s.batch.queue_capacity, 100);
    assert_eq!(
        s.batch.batch_size, 100,
        "the default batch shrinks to a small queue"
    );
    assert_eq!(
        s.batch.flush_interval,
        std::time::Duration::from_millis(250)
    );
    assert_eq!(s.batch.queue_max_bytes, 1_000_000);
    assert_eq!(s.batch.batch_max_bytes, 50_000);
    assert!(s.capture_content);
    assert!(!s.capture_io);
    assert!(!s.otel_bridge);
    assert!(s.strict && t.strict());
    use agtrace_core::propagation::Format;
    assert_eq!(
        s.propagators.formats(),
        &[Format::B3Single, Format::TraceContext]
    );
}

#[test]
fn bad_values_fail_at_build_naming_the_setting() {
    let cases: &[(&str, &str)] = &[
        ("OTEL_SDK_DISABLED", "maybe"),
        ("AGTRACE_CAPTURE_CONTENT", "yes please"),
        ("AGTRACE_CAPTURE_IO", "sometimes"),
        ("AGTRACE_OTEL_BRIDGE", "sometimes"),
        ("AGTRACE_STRICT", "very"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "-1"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0"),
        ("OTEL_BSP_SCHEDULE_DELAY", "1s"),
        ("AGTRACE_QUEUE_MAX_BYTES", "lots"),
        ("AGTRACE_EXPORTERS", "console,zipkin"),
        ("OTEL_TRACES_EXPORTER", "jaeger"),
        ("OTEL_PROPAGATORS", "tracecontext,xray"),
        ("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
    ];
    for (var, value) in cases {
        let err = build(&[(var, value)]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(var), "{var}: {text}");
        assert_eq!(setting_of(err), (var.to_string(), value.to_string()));
    }
}

#[test]
fn bad_otlp_settings_fail_at_build() {
    let otlp = [("AGTRACE_EXPORTERS", "otlp")];
    let cases: &[(&str, &str)] = &[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://host:notaport/v1/traces",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "ten"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "authorization"),
    ];
    for (var, value) in cases {
        let mut vars = otlp.to_vec();
        vars.push((var, value));
        let err = build(&vars).unwrap_err();
        assert!(err.to_string().contains(var), "{var}: {err}");
    }
    let err = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            headers: vec![("bad header".into(), "v".into())],
            ..Default::default()
        }))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("bad header"), "{err}");
}

#[test]
fn batch_larger_than_queue_is_rejected() {
    let err = Tracer::builder()
        .ignore_env()
        .queue_capacity(10)
        .batch_size(20)
        .build()
        .unwrap_err();
    assert_eq!(setting_of(err).0, "batch_size");
}

#[test]
fn unwritable_file_fails_at_build() {
    let err = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::File("/nonexistent-dir/x.jsonl".into()))
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Exporter { exporter, .. } if exporter == "file"),
        "{err}"
    );
    assert!(err.to_string().contains("/nonexistent-dir/x.jsonl"));
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("agtrace-cfgfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const TOML: &str = r#"
service_name = "from-file"
exporters = ["none"]
capture_content = true
capture_io = false
otel_bridge = false
global_tags = ["file-tag"]
conversation_attribute = "session.thread"
links = false
propagators = ["b3"]

[resource]
"deployment.environment.name" = "staging"

[otlp]
endpoint = "http://127.0.0.1:9/v1/traces"
headers = { "x-tenant" = "acme" }
timeout_ms = 1500

[sampling]
rate = 0.5
rules = [{ kind = "llm", rate = 1.0 }]

[redaction]
redact_tool_results = true

[batch]
batch_size = 64
flush_interval_ms = 250

[delivery]
max_retries = 2
breaker_threshold = 3

[[prices]]
model = "my-finetune"
input = 3.0
output = 12.0
"#;

#[test]
fn config_file_toml_sets_everything_below_env_and_code() {
    let path = temp_file("agtrace.toml", TOML);
    let t = Tracer::builder()
        .env_map(env(&[
            ("AGTRACE_CONFIG", path.to_str().unwrap()),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "32"),
        ]))
        .capture_content(false)
        .build()
        .unwrap();
    let s = t.settings();
    assert_eq!(s.service_name, "from-file");
    assert_eq!(s.exporter_names(), vec!["none"]);
    assert!(!s.capture_content, "code wins over the file");
    assert!(!s.capture_io, "the file sets capture_io");
    assert!(!s.otel_bridge, "the file sets otel_bridge");
    assert_eq!(s.batch.batch_size, 32, "environment wins over the file");
    assert_eq!(
        s.batch.flush_interval,
        std::time::Duration::from_millis(250)
    );
    assert_eq!(s.global.tags, vec!["file-tag"]);
    assert_eq!(s.conversation_attribute, "session.thread");
    assert!(!s.links);
    assert_eq!(s.sampling.rate, 0.5);
    assert_eq!(s.sampling.rules[0].kind, Some(SpanKind::Llm));
    assert!(s.redaction.redact_tool_results);
    assert_eq!(
        (s.delivery.max_retries, s.delivery.breaker_threshold),
        (2, 3)
    );
    use agtrace_core::propagation::Format;
    assert_eq!(s.propagators.formats(), &[Format::B3Single]);
}

#[test]
fn config_file_yaml_and_otlp_section() {
    let path = temp_file(
        "agtrace.yaml",
        "exporters: [otlp]\notlp:\n  endpoint: http://127.0.0.1:9/custom\n  protocol: http/json\n  compression: gzip\nsampling:\n  rate: 0.1\n",
    );
    let t = Tracer::builder()
        .env_map(env(&[("AGTRACE_CONFIG", path.to_str().unwrap())]))
        .build()
        .unwrap();
    assert_eq!(t.settings().exporter_names(), vec!["otlp"]);
    assert_eq!(t.settings().sampling.rate, 0.1);
}

#[test]
fn config_file_errors_name_the_key() {
    let path = temp_file(
        "bad.toml",
        "service_name = \"x\"\nsampling = { rate = 0.5, ratee = 1 }\n",
    );
    let err = Tracer::builder()
        .env_map(env(&[("AGTRACE_CONFIG", path.to_str().unwrap())]))
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("ratee") && text.contains("AGTRACE_CONFIG"),
        "{text}"
    );
    let path = temp_file(
        "bad2.toml",
        "exporters = [\"console\"]\nflush_interval = 5\n",
    );
    let text = Tracer::builder()
        .config_file(&path)
        .ignore_env()
        .build()
        .unwrap_err()
        .to_string();
    assert!(text.contains("flush_interval"), "{text}");
    let path = temp_file("bad3.toml", "[batch]\nbatch_size = \"big\"\n");
    let text = Tracer::builder()
        .config_file(&path)
        .ignore_env()
        .build()
        .unwrap_err()
        .to_string();
    assert!(text.contains("batch_size"), "{text}");
    let text = Tracer::builder()
        .config_file("/nonexistent/agtrace.toml")
        .ignore_env()
        .build()
        .unwrap_err()
        .to_string();
    assert!(text.contains("/nonexistent/agtrace.toml"), "{text}");
}

#[test]
fn presets_are_enabled_by_their_environment() {
    let t = build(&[
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-1"),
        ("LANGFUSE_SECRET_KEY", "sk-lf-1"),
        ("LANGFUSE_HOST", "http://127.0.0.1:9"),
        ("PHOENIX_COLLECTOR_ENDPOINT", "http://127.0.0.1:6006"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
    ])
    .unwrap();
    assert_eq!(
        t.settings().exporter_names(),
        vec!["console", "otlp", "langfuse", "phoenix"]
    );
    let err = build(&[("AGTRACE_EXPORTERS", "langfuse")]).unwrap_err();
    assert!(err.to_string().contains("LANGFUSE_PUBLIC_KEY"), "{err}");
    let t = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Otlp(OtlpConfig::default()))
        .exporter(ExporterConfig::Otlp(OtlpConfig::default()))
        .build()
        .unwrap();
    assert_eq!(t.settings().exporter_names(), vec!["otlp", "otlp-2"]);
}

#[test]
fn delivery_settings_from_environment() {
    let t = build(&[
        ("AGTRACE_MAX_RETRIES", "7"),
        ("AGTRACE_BREAKER_THRESHOLD", "2"),
        ("AGTRACE_BREAKER_RESET_MS", "1500"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "4000"),
    ])
    .unwrap();
    let d = &t.settings().delivery;
    assert_eq!((d.max_retries, d.breaker_threshold), (7, 2));
    assert_eq!(d.breaker_reset, std::time::Duration::from_millis(1500));
    assert_eq!(d.export_deadline, std::time::Duration::from_secs(4));
    let err = build(&[("AGTRACE_BREAKER_THRESHOLD", "0")]).unwrap_err();
    assert_eq!(
        setting_of(err),
        ("AGTRACE_BREAKER_THRESHOLD".to_string(), "0".to_string())
    );
}

#[test]
fn settings_by_name_win_over_env_and_lose_to_typed_code() {
    let t = Tracer::builder()
        .env_map(env(&[
            ("OTEL_SERVICE_NAME", "env"),
            ("AGTRACE_EXPORTERS", "console"),
        ]))
        .set("OTEL_SERVICE_NAME", "by-name")
        .unwrap()
        .set("AGTRACE_EXPORTERS", "none")
        .unwrap()
        .set("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "9")
        .unwrap()
        .batch_size(7)
        .build()
        .unwrap();
    assert_eq!(t.settings().service_name, "by-name");
    assert_eq!(t.settings().exporter_names(), vec!["none"]);
    assert_eq!(t.settings().batch.batch_size, 7);
    let err = Tracer::builder()
        .set("OTEL_SERVICE", "x")
        .err()
        .expect("an unknown name fails");
    assert!(err.to_string().contains("OTEL_SERVICE"), "{err}");
    let err = Tracer::builder()
        .ignore_env()
        .set("AGTRACE_LINKS", "sometimes")
        .unwrap()
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("AGTRACE_LINKS"), "{err}");
    assert!(SETTING_NAMES.contains(&"OTEL_SERVICE_NAME"));
}

#[test]
fn an_endpoint_that_cannot_be_parsed_fails_naming_the_setting() {
    for (var, url) in [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://[::1"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://[::1"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://host:99999"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ho st"),
        ("PHOENIX_COLLECTOR_ENDPOINT", "http://[::1"),
    ] {
        let err = build(&[(var, url)]).unwrap_err();
        assert!(err.to_string().contains(var), "{var}={url}: {err}");
    }
    let err = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some("http://admin:S3cr3t@[::1".into()),
            ..Default::default()
        }))
        .build()
        .unwrap_err();
    let (setting, value) = setting_of(err);
    assert_eq!(setting, "endpoint");
    assert_eq!(value, "http://admin:***@[::1", "the password is not shown");
    // IPv6 hosts and ports that do parse are accepted.
    for url in ["http://[::1]:4318", "https://collector.example:443/base"] {
        build(&[("OTEL_EXPORTER_OTLP_ENDPOINT", url)]).expect(url);
    }
}

#[test]
fn numeric_settings_have_upper_bounds_named_in_the_error() {
    let too_big: &[(&str, &str)] = &[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100000000000"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100000000000"),
        ("AGTRACE_QUEUE_MAX_BYTES", "100000000000"),
        ("AGTRACE_BATCH_MAX_BYTES", "100000000000"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100000000000"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "100000000000"),
        ("AGTRACE_MAX_RETRIES", "1000"),
        ("AGTRACE_RETRY_INITIAL_BACKOFF_MS", "100000000000"),
        ("AGTRACE_RETRY_MAX_BACKOFF_MS", "100000000000"),
        ("AGTRACE_BREAKER_THRESHOLD", "100000"),
        ("AGTRACE_BREAKER_RESET_MS", "100000000000"),
        ("AGTRACE_MAX_ATTRIBUTE_BYTES", "100000000000"),
        ("AGTRACE_MAX_MESSAGE_CHARS", "100000000000"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "100000000000"),
    ];
    for (var, value) in too_big {
        let mut pairs = vec![(*var, *value)];
        if var.starts_with("OTEL_EXPORTER_OTLP") {
            pairs.push(("AGTRACE_EXPORTERS", "otlp"));
        }
        let err = build(&pairs).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("must be between"), "{var}: {text}");
        assert_eq!(setting_of(err).0, *var, "{text}");
    }
    // The bounds themselves are accepted.
    build(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "1048576"),
        ("AGTRACE_MAX_RETRIES", "100"),
        ("OTEL_BSP_SCHEDULE_DELAY", "3600000"),
    ])
    .unwrap();
}

#[test]
fn setup_errors_name_the_setting_the_user_wrote() {
    let (setting, _) = setting_of(build(&[("OTEL_BSP_SCHEDULE_DELAY", "0")]).unwrap_err());
    assert_eq!(setting, "OTEL_BSP_SCHEDULE_DELAY");
    let (setting, _) = setting_of(
        build(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20"),
        ])
        .unwrap_err(),
    );
    assert_eq!(setting, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
    let (setting, _) = setting_of(
        Tracer::builder()
            .ignore_env()
            .flush_interval(std::time::Duration::ZERO)
            .build()
            .unwrap_err(),
    );
    assert_eq!(setting, "flush_interval");
    let path = temp_file(
        "bounds.toml",
        "[batch]\nflush_interval_ms = 0\n[delivery]\nmax_retries = 1000\n",
    );
    let (setting, _) = setting_of(
        Tracer::builder()
            .ignore_env()
            .config_file(&path)
            .build()
            .unwrap_err(),
    );
    assert_eq!(setting, "batch.flush_interval_ms");
    let path = temp_file("bounds2.toml", "[delivery]\nmax_retries = 1000\n");
    let (setting, _) = setting_of(
        Tracer::builder()
            .ignore_env()
            .config_file(&path)
            .build()
            .unwrap_err(),
    );
    assert_eq!(setting, "delivery.max_retries");
    let (setting, _) = setting_of(
        build(&[
            ("AGTRACE_EXPORTERS", "otlp"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "0"),
        ])
        .unwrap_err(),
    );
    assert_eq!(setting, "OTEL_EXPORTER_OTLP_TIMEOUT");
}

/// Reads a boolean setting back.
type Read = fn(&Settings) -> bool;

/// Every boolean setting, and how to read it back.
const BOOLEANS: &[(&str, Read)] = &[
    ("OTEL_SDK_DISABLED", |s| s.disabled),
    ("AGTRACE_CAPTURE_CONTENT", |s| s.capture_content),
    ("AGTRACE_CAPTURE_IO", |s| s.capture_io),
    ("AGTRACE_STRICT", |s| s.strict),
    ("AGTRACE_LINKS", |s| s.links),
    ("AGTRACE_OTEL_BRIDGE", |s| s.otel_bridge),
    ("AGTRACE_REDACT_MESSAGES", |s| s.redaction.redact_messages),
    ("AGTRACE_REDACT_TOOL_ARGUMENTS", |s| {
        s.redaction.redact_tool_arguments
    }),
    ("AGTRACE_REDACT_TOOL_RESULTS", |s| {
        s.redaction.redact_tool_results
    }),
    ("AGTRACE_INCLUDE_TOOL_DEFINITIONS", |s| {
        s.redaction.include_tool_definitions
    }),
    ("AGTRACE_SENSITIVE_KEYS_REPLACE", |s| {
        s.redaction.replace_sensitive_keys
    }),
    ("AGTRACE_SCRUB_DEFAULT_PATTERNS", |s| {
        s.redaction.scrub_default_patterns
    }),
];

#[test]
fn every_boolean_setting_follows_one_rule() {
    let names: Vec<_> = SETTING_NAMES
        .iter()
        .filter(|n| BOOLEANS.iter().any(|(b, _)| b == *n))
        .collect();
    assert_eq!(names.len(), BOOLEANS.len(), "each is a setting");
    for (var, read) in BOOLEANS {
        for (text, want) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("yes", true),
            ("On", true),
            ("false", false),
            ("False", false),
            ("0", false),
            ("NO", false),
            ("off", false),
        ] {
            let t = build(&[(var, text), ("AGTRACE_EXPORTERS", "none")]).expect(var);
            assert_eq!(read(t.settings()), want, "{var}={text}");
        }
        for text in ["maybe", "2", "y", "enabled"] {
            let err = build(&[(var, text)]).unwrap_err();
            let shown = err.to_string();
            assert!(
                shown.contains("true/false, 1/0, yes/no or on/off"),
                "{var}={text}: {shown}"
            );
            assert_eq!(setting_of(err), (var.to_string(), text.to_string()));
        }
    }
}

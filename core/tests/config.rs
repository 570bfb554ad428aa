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

//! Head sampling through the tracer: ratio, rules, parent-based decisions,
//! live updates, and unsampled spans that still propagate.

mod common;
use agtrace_core::*;
use common::*;
use std::collections::HashMap;

fn tracer_with(cfg: SamplingConfig) -> (Tracer, InMemoryExporter) {
    let mem = InMemoryExporter::new();
    let t = Tracer::builder()
        .ignore_env()
        .sampling(cfg)
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    (t, mem)
}

#[test]
fn ratio_decides_per_trace_like_opentelemetry() {
    let (tracer, mem) = tracer_with(SamplingConfig {
        rate: 0.25,
        ..Default::default()
    });
    let mut expected = 0;
    for _ in 0..4000 {
        let root = tracer.span("root").root().start();
        let child = tracer.span("child").parent(&root).start();
        assert_eq!(
            root.is_recording(),
            trace_id_ratio(root.context().trace_id, 0.25)
        );
        assert_eq!(
            child.is_recording(),
            root.is_recording(),
            "children follow the root"
        );
        assert_eq!(child.context().is_sampled(), root.is_recording());
        expected += 2 * usize::from(root.is_recording());
    }
    let exported = flushed(&tracer, &mem).len();
    assert_eq!(exported, expected);
    assert!(
        (1600..2400).contains(&exported),
        "about a quarter of 8000: {exported}"
    );
    let s = tracer.stats();
    assert_eq!(s.started + s.unsampled, 8000);
}

#[test]
fn rules_first_match_wins_by_name_glob_and_kind() {
    let (tracer, mem) = tracer_with(SamplingConfig {
        rate: 0.0,
        rules: vec![
            SamplingRule {
                name: Some("health*".into()),
                kind: None,
                rate: 0.0,
            },
            SamplingRule {
                name: None,
                kind: Some(SpanKind::Agent),
                rate: 1.0,
            },
            SamplingRule {
                name: Some("chat ?pt-*".into()),
                kind: None,
                rate: 1.0,
            },
        ],
        ..Default::default()
    });
    tracer
        .span("healthcheck")
        .kind(SpanKind::Agent)
        .root()
        .start()
        .end();
    tracer
        .span("run")
        .kind(SpanKind::Agent)
        .root()
        .start()
        .end();
    tracer
        .span("chat gpt-4o")
        .kind(SpanKind::Llm)
        .root()
        .start()
        .end();
    tracer.span("other").root().start().end();
    let mut got = names(&flushed(&tracer, &mem));
    got.sort();
    assert_eq!(got, vec!["chat gpt-4o", "run"]);
}

#[test]
fn extracted_unsampled_parent_is_honoured_and_propagated() {
    let (tracer, mem) = tracer_with(SamplingConfig::default());
    let headers: HashMap<String, String> = [(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_string(),
    )]
    .into();
    let s = tracer
        .span("server")
        .parent(Parent::from(tracer.extract(&headers)))
        .start();
    assert!(!s.is_recording());
    let mut out = HashMap::new();
    tracer.inject(&s.to_ref(), &mut out);
    assert!(out["traceparent"].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert!(out["traceparent"].ends_with("-00"));
    drop(s);
    assert!(flushed(&tracer, &mem).is_empty());
}

#[test]
fn sampling_rate_changes_on_a_live_tracer() {
    let (tracer, mem) = tracer_with(SamplingConfig::default());
    tracer.span("kept").root().start().end();
    tracer.set_sampling_rate(0.0).unwrap();
    assert_eq!(tracer.sampling().rate, 0.0);
    tracer.span("dropped").root().start().end();
    tracer.set_sampling_rate(1.0).unwrap();
    tracer.span("kept-again").root().start().end();
    assert_eq!(names(&flushed(&tracer, &mem)), vec!["kept", "kept-again"]);
    let err = tracer.set_sampling_rate(1.5).unwrap_err();
    assert!(err.to_string().contains("rate"), "{err}");
    assert_eq!(tracer.sampling().rate, 1.0, "a bad update changes nothing");
}

#[test]
fn sampler_from_standard_environment_variables() {
    let t = Tracer::builder()
        .env_map(
            [
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
                ("AGTRACE_SAMPLING_RULES", "kind=tool:0.1"),
                ("AGTRACE_EXPORTERS", "none"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        )
        .build()
        .unwrap();
    let s = t.sampling();
    assert_eq!((s.rate, s.parent_based, s.rules.len()), (0.5, true, 1));
    let err = Tracer::builder()
        .env_map(
            [
                ("OTEL_TRACES_SAMPLER_ARG".to_string(), "2".to_string()),
                (
                    "OTEL_TRACES_SAMPLER".to_string(),
                    "traceidratio".to_string(),
                ),
            ]
            .into(),
        )
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("OTEL_TRACES_SAMPLER_ARG"), "{err}");
}

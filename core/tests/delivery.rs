//! Delivery that survives bad backends, against a scripted OTLP endpoint on
//! loopback (HTTP and gRPC): retry rules, Retry-After, the circuit breaker,
//! byte-limit splitting, partial success, isolation between exporters, and
//! bounded memory with a dead backend. Every span is accounted for.

mod common;
use agtrace_core::*;
use common::scripted::{Reply, ScriptedOtlp};
use std::time::{Duration, Instant};
use tonic::Code;

fn fast_retries() -> DeliveryConfig {
    DeliveryConfig {
        max_retries: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        export_deadline: Duration::from_secs(20),
        breaker_threshold: 100,
        breaker_reset: Duration::from_secs(60),
        ..Default::default()
    }
}

fn tracer_to(server: &ScriptedOtlp, protocol: OtlpProtocol, delivery: DeliveryConfig) -> Tracer {
    tracer_with(server, protocol, delivery, None)
}

fn tracer_with(
    server: &ScriptedOtlp,
    protocol: OtlpProtocol,
    delivery: DeliveryConfig,
    max_request_bytes: Option<usize>,
) -> Tracer {
    Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some(server.endpoint()),
            protocol: Some(protocol),
            timeout: Some(Duration::from_secs(5)),
            max_request_bytes,
            ..Default::default()
        }))
        .delivery(delivery)
        .build()
        .unwrap()
}

fn spans(tracer: &Tracer, n: usize) {
    for i in 0..n {
        tracer.span(format!("s{i}")).root().start().end();
    }
}

fn otlp_stats(tracer: &Tracer) -> ExporterStats {
    let s = tracer.stats();
    assert_eq!(
        s.ended,
        s.dispatched + s.dropped.total() + s.pending,
        "{s:?}"
    );
    let e = s.exporters[0].clone();
    assert_eq!(
        e.received,
        e.exported + e.dropped.total() + e.pending,
        "{e:?}"
    );
    e
}

#[test]
fn http_retry_after_is_honoured() {
    let server = ScriptedOtlp::http(vec![Reply::http_retry_after(503, "1")]);
    let tracer = tracer_to(&server, OtlpProtocol::HttpProtobuf, fast_retries());
    spans(&tracer, 3);
    tracer.force_flush(Duration::from_secs(20)).unwrap();
    let got = server.wait_for(2, Duration::from_secs(5));
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(900),
        "waited {:?}",
        got[1].at - got[0].at
    );
    let e = otlp_stats(&tracer);
    assert_eq!((e.exported, e.retried, e.dropped.total()), (3, 1, 0));
}

#[test]
fn http_retryable_codes_back_off_and_succeed() {
    for status in [429, 502, 503, 504] {
        let server = ScriptedOtlp::http(vec![Reply::http(status), Reply::http(status)]);
        let tracer = tracer_to(&server, OtlpProtocol::HttpProtobuf, fast_retries());
        spans(&tracer, 2);
        tracer.force_flush(Duration::from_secs(20)).unwrap();
        assert_eq!(server.received().len(), 3, "HTTP {status}");
        let e = otlp_stats(&tracer);
        assert_eq!((e.exported, e.retried), (2, 2), "HTTP {status}");
    }
}

#[test]
fn http_final_codes_are_not_retried_and_counted_as_rejected() {
    for status in [400, 401, 403, 500] {
        let server = ScriptedOtlp::http(vec![Reply::http(status)]);
        let tracer = tracer_to(&server, OtlpProtocol::HttpProtobuf, fast_retries());
        spans(&tracer, 4);
        assert_flush_dropped(&tracer, 4);
        assert_eq!(
            server.received().len(),
            1,
            "HTTP {status} must not be retried"
        );
        let e = otlp_stats(&tracer);
        assert_eq!(
            (e.exported, e.dropped.rejected, e.retried),
            (0, 4, 0),
            "HTTP {status}"
        );
    }
}

#[test]
fn retries_stop_at_the_limit_and_count_failed() {
    let server = ScriptedOtlp::http(vec![Reply::http(503); 10]);
    let tracer = tracer_to(&server, OtlpProtocol::HttpProtobuf, fast_retries());
    spans(&tracer, 2);
    assert_flush_dropped(&tracer, 2);
    assert_eq!(server.received().len(), 4, "one attempt and three retries");
    let e = otlp_stats(&tracer);
    assert_eq!((e.dropped.failed, e.retried), (2, 3));
}

#[test]
fn retry_after_past_the_deadline_gives_up() {
    let server = ScriptedOtlp::http(vec![Reply::http_retry_after(429, "30")]);
    let tracer = tracer_to(
        &server,
        OtlpProtocol::HttpProtobuf,
        DeliveryConfig {
            export_deadline: Duration::from_secs(2),
            ..fast_retries()
        },
    );
    spans(&tracer, 1);
    let t = Instant::now();
    assert_flush_dropped(&tracer, 1);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(otlp_stats(&tracer).dropped.failed, 1);
}

#[test]
fn partial_success_counts_the_rejected_part() {
    for protocol in [
        OtlpProtocol::HttpProtobuf,
        OtlpProtocol::HttpJson,
        OtlpProtocol::Grpc,
    ] {
        let server = if protocol == OtlpProtocol::Grpc {
            ScriptedOtlp::grpc(vec![Reply::partial(2, "span too old")])
        } else {
            ScriptedOtlp::http(vec![Reply::partial(2, "span too old")])
        };
        let tracer = tracer_to(&server, protocol, fast_retries());
        spans(&tracer, 5);
        assert_flush_dropped(&tracer, 2);
        assert_eq!(
            server.received().len(),
            1,
            "{protocol:?}: partial success is not retried"
        );
        let e = otlp_stats(&tracer);
        assert_eq!((e.exported, e.dropped.rejected), (3, 2), "{protocol:?}");
    }
}

#[test]
fn grpc_retry_rules_and_retry_info() {
    let server = ScriptedOtlp::grpc(vec![
        Reply::grpc_retry_after(Code::Unavailable, Duration::from_millis(700)),
        Reply::grpc(Code::ResourceExhausted),
    ]);
    let tracer = tracer_to(&server, OtlpProtocol::Grpc, fast_retries());
    spans(&tracer, 2);
    assert_flush_dropped(&tracer, 2);
    let got = server.wait_for(2, Duration::from_secs(5));
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(650),
        "RetryInfo delay honoured"
    );
    assert_eq!(
        got.len(),
        2,
        "RESOURCE_EXHAUSTED without RetryInfo is final"
    );
    let e = otlp_stats(&tracer);
    assert_eq!((e.exported, e.dropped.rejected, e.retried), (0, 2, 1));

    let server = ScriptedOtlp::grpc(vec![Reply::grpc(Code::InvalidArgument)]);
    let tracer = tracer_to(&server, OtlpProtocol::Grpc, fast_retries());
    spans(&tracer, 1);
    assert_flush_dropped(&tracer, 1);
    assert_eq!(otlp_stats(&tracer).dropped.rejected, 1);
    let server = ScriptedOtlp::grpc(vec![
        Reply::grpc(Code::Unavailable),
        Reply::grpc(Code::DeadlineExceeded),
    ]);
    let tracer = tracer_to(&server, OtlpProtocol::Grpc, fast_retries());
    spans(&tracer, 1);
    tracer.force_flush(Duration::from_secs(20)).unwrap();
    let e = otlp_stats(&tracer);
    assert_eq!((e.exported, e.retried), (1, 2));
}

#[test]
fn circuit_breaker_opens_drops_probes_and_closes() {
    let server = ScriptedOtlp::http(vec![Reply::http(500), Reply::http(500)]);
    let tracer = tracer_to(
        &server,
        OtlpProtocol::HttpProtobuf,
        DeliveryConfig {
            breaker_threshold: 2,
            breaker_reset: Duration::from_millis(400),
            ..fast_retries()
        },
    );
    for _ in 0..2 {
        spans(&tracer, 1);
        assert_flush_dropped(&tracer, 1);
    }
    assert_eq!(otlp_stats(&tracer).breaker, BreakerState::Open);
    // While open: dropped without a request.
    spans(&tracer, 3);
    assert_flush_dropped(&tracer, 3);
    assert_eq!(server.received().len(), 2);
    let e = otlp_stats(&tracer);
    assert_eq!((e.dropped.rejected, e.dropped.breaker_open), (2, 3));
    // After the reset time one batch probes, succeeds, and the breaker closes.
    std::thread::sleep(Duration::from_millis(450));
    spans(&tracer, 1);
    tracer.force_flush(Duration::from_secs(10)).unwrap();
    let e = otlp_stats(&tracer);
    assert_eq!((e.exported, e.breaker), (1, BreakerState::Closed));
    assert_eq!(server.received().len(), 3);
}

#[test]
fn batches_are_split_under_the_byte_limit() {
    for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::Grpc] {
        let server = if protocol == OtlpProtocol::Grpc {
            ScriptedOtlp::grpc(vec![])
        } else {
            ScriptedOtlp::http(vec![])
        };
        let tracer = tracer_with(&server, protocol, fast_retries(), Some(8 * 1024));
        let payload = "x".repeat(1000);
        for i in 0..40 {
            let mut s = tracer.span(format!("s{i}")).root().start();
            s.set_attribute("payload", payload.clone());
        }
        let mut big = tracer.span("too-big").root().start();
        big.set_attribute("payload", "y".repeat(20_000));
        drop(big);
        assert_flush_dropped(&tracer, 1);
        let got = server.received();
        assert!(
            got.len() >= 6,
            "{protocol:?}: 40 KB must take several requests: {}",
            got.len()
        );
        for r in &got {
            assert!(
                r.body_bytes <= 8 * 1024 + 5,
                "{protocol:?}: a request of {} bytes",
                r.body_bytes
            );
        }
        assert_eq!(server.total_spans(), 40);
        let e = otlp_stats(&tracer);
        assert_eq!((e.exported, e.dropped.oversize), (40, 1), "{protocol:?}");
    }
}

#[test]
fn a_hung_exporter_delays_neither_the_others_nor_the_app() {
    let server = ScriptedOtlp::http(vec![Reply::Hang; 20]);
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .flush_interval(Duration::from_millis(20))
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some(server.endpoint()),
            timeout: Some(Duration::from_secs(30)),
            ..Default::default()
        }))
        .exporter(ExporterConfig::Memory(mem.clone()))
        .delivery(fast_retries())
        .shutdown_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    spans(&tracer, 10);
    server.wait_for(1, Duration::from_secs(5));
    spans(&tracer, 10);
    let deadline = Instant::now() + Duration::from_secs(10);
    while mem.spans().len() < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        mem.spans().len(),
        20,
        "the memory exporter is not held up by the hung one"
    );
    let t = Instant::now();
    assert!(tracer.shutdown(Duration::from_millis(500)).is_err());
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn shutdown_interrupts_a_retry_wait() {
    let server = ScriptedOtlp::http(vec![Reply::http_retry_after(503, "20")]);
    let tracer = tracer_to(
        &server,
        OtlpProtocol::HttpProtobuf,
        DeliveryConfig {
            export_deadline: Duration::from_secs(60),
            ..fast_retries()
        },
    );
    spans(&tracer, 2);
    server.wait_for(1, Duration::from_secs(5));
    let t = Instant::now();
    // The server's 20 s Retry-After would pass the shutdown's deadline:
    // the wait ends at once and the batch is dropped at shutdown, reported.
    assert_eq!(
        tracer.shutdown(Duration::from_secs(10)),
        Err(Error::Undelivered {
            operation: "shutdown",
            dropped: 2,
            spooled: 0,
        })
    );
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    let e = otlp_stats(&tracer);
    assert_eq!(e.dropped.shutdown, 2);
}

#[test]
fn dead_backend_with_100k_spans_never_blocks_and_stays_bounded() {
    // Bind then drop: nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let queue = 2_048;
    let tracer = Tracer::builder()
        .ignore_env()
        .queue_capacity(queue)
        .batch_size(256)
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some(format!("http://127.0.0.1:{port}/v1/traces")),
            timeout: Some(Duration::from_secs(1)),
            ..Default::default()
        }))
        .delivery(DeliveryConfig {
            max_retries: 10,
            initial_backoff: Duration::from_millis(200),
            ..fast_retries()
        })
        .shutdown_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut max_pending = 0;
    for i in 0..100_000 {
        let mut s = tracer.span("s").root().start();
        s.set_attribute("i", i as i64);
        drop(s);
        if i % 1000 == 0 {
            let st = tracer.stats();
            let in_exporter = st.exporters[0].pending;
            max_pending = max_pending.max(st.pending + in_exporter);
        }
    }
    let s = tracer.stats();
    assert_eq!(s.started, 100_000);
    assert_eq!(s.ended, s.dispatched + s.dropped.total() + s.pending);
    let e = &s.exporters[0];
    assert_eq!(e.received, e.exported + e.dropped.total() + e.pending);
    assert_eq!(e.exported, 0);
    // The bound: the pipeline's capacity plus the exporter's queue (in
    // batches) and the batch in flight, and the producing thread's open
    // buffer chunk (counted against the capacity when it fills).
    let chunk = 16 * 1024 / 128;
    let bound = queue as u64 + queue as u64 + 256 + chunk;
    assert!(
        max_pending <= bound,
        "held {max_pending} spans, bound {bound}"
    );
    assert!(
        s.dropped.queue_full + e.dropped.queue_full > 90_000,
        "{s:?}"
    );
    let _ = tracer.shutdown(Duration::from_millis(200));
}

#[test]
fn langwatch_and_opik_presets_send_to_their_paths_with_their_auth() {
    let langwatch = ScriptedOtlp::http(vec![]);
    let opik = ScriptedOtlp::http(vec![]);
    let base = |s: &ScriptedOtlp| format!("http://{}", s.addr());
    let tracer = Tracer::builder()
        .env_map(
            [
                ("LANGWATCH_ENDPOINT", base(&langwatch)),
                ("LANGWATCH_API_KEY", "sk-lw-123".to_string()),
                ("OPIK_URL_OVERRIDE", format!("{}/api/", base(&opik))),
                ("OPIK_API_KEY", "opik-key".to_string()),
                ("OPIK_WORKSPACE", "acme".to_string()),
                ("OPIK_PROJECT_NAME", "support-agent".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        )
        .build()
        .unwrap();
    // Enabled by their environment, beside the console.
    assert_eq!(
        tracer.settings().exporter_names(),
        vec!["console", "langwatch", "opik"]
    );
    spans(&tracer, 2);
    tracer.force_flush(Duration::from_secs(10)).unwrap();
    let l = langwatch.wait_for(1, Duration::from_secs(5));
    assert_eq!(l[0].path, "/api/otel/v1/traces");
    assert_eq!(l[0].header("authorization"), Some("Bearer sk-lw-123"));
    assert_eq!(l[0].span_names.len(), 2);
    let o = opik.wait_for(1, Duration::from_secs(5));
    assert_eq!(o[0].path, "/api/v1/private/otel/v1/traces");
    assert_eq!(o[0].header("authorization"), Some("opik-key"));
    assert_eq!(o[0].header("comet-workspace"), Some("acme"));
    assert_eq!(o[0].header("projectname"), Some("support-agent"));
    assert_eq!(o[0].span_names.len(), 2);

    // LangWatch without its key is a setup error naming it; a self-hosted
    // Opik needs no key and sends none.
    let env = |pairs: &[(&str, String)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let err = Tracer::builder()
        .env_map(env(&[("AGTRACE_EXPORTERS", "langwatch".into())]))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("LANGWATCH_API_KEY"), "{err}");
    let local = Tracer::builder()
        .env_map(env(&[
            ("AGTRACE_EXPORTERS", "opik".into()),
            ("OPIK_URL_OVERRIDE", format!("{}/api", base(&opik))),
        ]))
        .build()
        .unwrap();
    spans(&local, 1);
    local.force_flush(Duration::from_secs(10)).unwrap();
    let o = opik.wait_for(2, Duration::from_secs(5));
    assert_eq!(o[1].header("authorization"), None);
}

#[test]
fn a_config_file_names_several_otlp_destinations_each_its_own_exporter() {
    let a = ScriptedOtlp::http(vec![Reply::http(503); 100]);
    let b = ScriptedOtlp::grpc(vec![]);
    let dir = std::env::temp_dir().join(format!("agtrace-sections-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("agtrace.yaml");
    std::fs::write(
        &config,
        format!(
            "exporters:\n  - type: otlp\n    endpoint: {}\n    headers: {{x-tenant: a}}\n  - type: otlp\n    endpoint: {}\n    protocol: grpc\ndelivery:\n  max_retries: 0\n",
            a.endpoint(),
            b.endpoint()
        ),
    )
    .unwrap();
    let tracer = Tracer::builder()
        .env_map(
            [("AGTRACE_CONFIG", config.display().to_string())]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
        .build()
        .unwrap();
    assert_eq!(tracer.settings().exporter_names(), vec!["otlp", "otlp-2"]);
    spans(&tracer, 3);
    // The first destination refuses: its spans are counted there alone.
    let _ = tracer.force_flush(Duration::from_secs(10));
    let got = b.wait_for(1, Duration::from_secs(5));
    assert_eq!(got[0].span_names.len(), 3);
    assert_eq!(a.received()[0].header("x-tenant"), Some("a"));
    let stats = tracer.stats();
    let by_name: Vec<_> = stats
        .exporters
        .iter()
        .map(|e| (e.name.as_str(), e.exported, e.dropped.failed))
        .collect();
    assert_eq!(by_name, vec![("otlp", 0, 3), ("otlp-2", 3, 0)]);

    // A bad section is a setup error naming what is wrong.
    for (text, needle) in [
        (
            "exporters:\n  - type: otlp\n    endpont: http://x\n",
            "endpont",
        ),
        ("exporters:\n  - type: zipkin\n", "zipkin"),
        ("exporters:\n  - consol\n", "consol"),
    ] {
        std::fs::write(&config, text).unwrap();
        let err = Tracer::builder()
            .env_map(
                [("AGTRACE_CONFIG", config.display().to_string())]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn presets_send_to_their_backends_with_their_auth() {
    let langfuse = ScriptedOtlp::http(vec![]);
    let phoenix = ScriptedOtlp::http(vec![]);
    let base = |s: &ScriptedOtlp| format!("http://{}", s.addr());
    let tracer = Tracer::builder()
        .env_map(
            [
                ("LANGFUSE_HOST", base(&langfuse)),
                ("LANGFUSE_PUBLIC_KEY", "pk-lf-123".to_string()),
                ("LANGFUSE_SECRET_KEY", "sk-lf-456".to_string()),
                ("PHOENIX_COLLECTOR_ENDPOINT", base(&phoenix)),
                ("PHOENIX_API_KEY", "px-key".to_string()),
                ("AGTRACE_EXPORTERS", "langfuse,phoenix".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        )
        .build()
        .unwrap();
    spans(&tracer, 2);
    tracer.force_flush(Duration::from_secs(10)).unwrap();
    let l = langfuse.wait_for(1, Duration::from_secs(5));
    assert_eq!(l[0].path, "/api/public/otel/v1/traces");
    // base64("pk-lf-123:sk-lf-456")
    assert_eq!(
        l[0].header("authorization"),
        Some("Basic cGstbGYtMTIzOnNrLWxmLTQ1Ng==")
    );
    assert_eq!(l[0].header("x-langfuse-ingestion-version"), Some("4"));
    let p = phoenix.wait_for(1, Duration::from_secs(5));
    assert_eq!(p[0].path, "/v1/traces");
    assert_eq!(p[0].header("authorization"), Some("Bearer px-key"));
    let names: Vec<_> = tracer
        .stats()
        .exporters
        .iter()
        .map(|e| (e.name.clone(), e.exported))
        .collect();
    assert_eq!(
        names,
        vec![("langfuse".to_string(), 2), ("phoenix".to_string(), 2)]
    );
}

/// A flush that finished, but during which the exporter dropped `n` spans.
fn assert_flush_dropped(tracer: &Tracer, n: u64) {
    assert_eq!(
        tracer.force_flush(Duration::from_secs(20)),
        Err(Error::Undelivered {
            operation: "flush",
            dropped: n,
            spooled: 0,
        })
    );
}

#[test]
fn shutdown_keeps_retrying_within_its_budget() {
    // One 503 as the process exits, then the backend recovers: the retry
    // happens inside shutdown's budget and everything is delivered.
    let server = ScriptedOtlp::http(vec![Reply::http(503)]);
    let tracer = tracer_to(&server, OtlpProtocol::HttpProtobuf, fast_retries());
    spans(&tracer, 10);
    assert_eq!(tracer.shutdown(Duration::from_secs(5)), Ok(()));
    let e = otlp_stats(&tracer);
    assert_eq!((e.exported, e.retried, e.dropped.total()), (10, 1, 0));
    assert_eq!(server.received().len(), 2);
}

#[test]
fn a_shutdown_starts_no_attempt_after_its_deadline() {
    // Always 503, come back in 1 s: a 1.5 s shutdown makes the attempts that
    // fit, then counts the batch as dropped at shutdown and reports it.
    let server = ScriptedOtlp::http(vec![Reply::http_retry_after(503, "1"); 50]);
    let tracer = tracer_to(
        &server,
        OtlpProtocol::HttpProtobuf,
        DeliveryConfig {
            max_retries: 50,
            ..fast_retries()
        },
    );
    spans(&tracer, 3);
    assert_eq!(
        tracer.shutdown(Duration::from_millis(1500)),
        Err(Error::Undelivered {
            operation: "shutdown",
            dropped: 3,
            spooled: 0,
        })
    );
    let attempts = server.received().len();
    assert!((1..=2).contains(&attempts), "{attempts} attempts");
    let before = otlp_stats(&tracer);
    assert_eq!(before.dropped.shutdown, 3);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        server.received().len(),
        attempts,
        "no attempt after shutdown"
    );
    assert_eq!(otlp_stats(&tracer), before, "the counters hold still");
    assert_eq!(
        tracer.shutdown(Duration::from_secs(1)),
        Err(Error::Undelivered {
            operation: "shutdown",
            dropped: 3,
            spooled: 0,
        }),
        "a second shutdown reports what the first left"
    );
}

#[test]
fn a_second_shutdown_waits_for_a_hung_export_and_reports_it() {
    // The first attempt hangs past the shutdown's timeout (until the
    // exporter's own 1 s timeout): the shutdown times out with the spans in
    // the exporter; nothing retries after the deadline; a second shutdown
    // waits for the attempt to end and reports the spans it left.
    let server = ScriptedOtlp::http(vec![Reply::delay(Duration::from_secs(5), Reply::http(200))]);
    let tracer = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some(server.endpoint()),
            timeout: Some(Duration::from_secs(1)),
            ..Default::default()
        }))
        .delivery(fast_retries())
        .build()
        .unwrap();
    spans(&tracer, 4);
    server.wait_for(1, Duration::from_secs(5));
    assert_eq!(
        tracer.shutdown(Duration::from_millis(200)),
        Err(Error::Timeout {
            operation: "shutdown",
            undelivered: 4,
            in_exporters: 4
        })
    );
    assert_eq!(
        tracer.shutdown(Duration::from_secs(5)),
        Err(Error::Undelivered {
            operation: "shutdown",
            dropped: 4,
            spooled: 0,
        })
    );
    let e = otlp_stats(&tracer);
    assert_eq!((e.exported, e.dropped.failed + e.dropped.shutdown), (0, 4));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.received().len(), 1, "no retry after the deadline");
}

#[test]
fn prepare_fork_does_not_wait_for_an_otlp_export_on_the_network() {
    // The backend takes 3 s to answer: prepare_fork parks the collector and
    // goes on without the exporter inside its request, instead of waiting
    // up to a second for it.
    let server = ScriptedOtlp::http(vec![Reply::delay(Duration::from_secs(3), Reply::http(200))]);
    let tracer = tracer_to(&server, OtlpProtocol::HttpProtobuf, fast_retries());
    spans(&tracer, 1);
    server.wait_for(1, Duration::from_secs(5));
    let t = Instant::now();
    tracer.prepare_fork();
    let waited = t.elapsed();
    tracer.after_fork_parent();
    assert!(
        waited < Duration::from_millis(900),
        "prepare_fork waited {waited:?} for a request in flight"
    );
    assert_eq!(tracer.shutdown(Duration::from_secs(10)), Ok(()));
    assert_eq!(otlp_stats(&tracer).exported, 1);
}

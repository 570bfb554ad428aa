//! The disk spool: batches an OTLP exporter cannot deliver are written to
//! disk and replayed, once, when the backend answers again, in the same
//! process or a later one; bounded by its cap; torn records skipped and
//! counted. Against a scripted OTLP endpoint on loopback.

mod common;
use agtrace_core::*;
use common::scripted::{Reply, ScriptedOtlp};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn spool_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agtrace-spool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn delivery(dir: &Path) -> DeliveryConfig {
    DeliveryConfig {
        max_retries: 1,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        breaker_threshold: 1000,
        spool_dir: Some(dir.to_path_buf()),
        ..Default::default()
    }
}

fn tracer(server: &ScriptedOtlp, protocol: OtlpProtocol, delivery: DeliveryConfig) -> Tracer {
    Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some(server.endpoint()),
            protocol: Some(protocol),
            timeout: Some(Duration::from_secs(5)),
            ..Default::default()
        }))
        .batch_size(10)
        .delivery(delivery)
        .build()
        .unwrap()
}

/// Ends spans named `{prefix}{i}` and flushes; returns what flush said.
fn batch(tracer: &Tracer, prefix: &str, n: usize) -> Result<(), Error> {
    for i in 0..n {
        let mut s = tracer.span(format!("{prefix}{i}")).root().start();
        s.set_attribute("payload", "x".repeat(200));
    }
    tracer.force_flush(Duration::from_secs(20))
}

fn names(prefix: &str, n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// The exporter's counters, checked against the accounting invariant.
fn accounted(tracer: &Tracer) -> ExporterStats {
    let s = tracer.stats();
    let e = s.exporters[0].clone();
    assert_eq!(
        e.received,
        e.exported + e.dropped.total() + e.spooled + e.pending,
        "{e:?}"
    );
    e
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(sub.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.path().extension().is_some_and(|e| e == "seg") {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// Waits until the server holds `want` spans (by name, deduplicated).
fn received_names(server: &ScriptedOtlp, want: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.total_spans() < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.span_names()
}

#[test]
fn failed_batches_are_spooled_and_replayed_once_when_the_backend_answers() {
    for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::Grpc] {
        let dir = spool_dir(&format!("replay-{protocol:?}"));
        let fail = match protocol {
            OtlpProtocol::Grpc => Reply::grpc(tonic::Code::Unavailable),
            _ => Reply::http(503),
        };
        let server = match protocol {
            OtlpProtocol::Grpc => ScriptedOtlp::grpc(vec![fail; 2]),
            _ => ScriptedOtlp::http(vec![fail; 2]),
        };
        let tracer = tracer(&server, protocol, delivery(&dir));
        // Two attempts, both refused: spooled, and flush says so.
        assert_eq!(
            batch(&tracer, "early", 10),
            Err(Error::Undelivered {
                operation: "flush",
                dropped: 0,
                spooled: 10
            }),
            "{protocol:?}"
        );
        assert_eq!(segments(&dir).len(), 1, "{protocol:?}");
        // The backend answers: this batch, then the spool's.
        batch(&tracer, "late", 10).unwrap();
        // The server also recorded the two refused attempts (20 spans).
        let got = received_names(&server, 40)[20..].to_vec();
        assert_eq!(got.len(), 20, "each span once: {got:?}");
        let got: BTreeSet<String> = got.into_iter().collect();
        let mut want = names("early", 10);
        want.extend(names("late", 10));
        assert_eq!(got, want, "{protocol:?}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !segments(&dir).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(segments(&dir).is_empty(), "replayed segments are deleted");
        let e = accounted(&tracer);
        assert_eq!(
            (
                e.exported,
                e.spooled,
                e.replayed,
                e.lost_from_spool,
                e.dropped.total()
            ),
            (10, 10, 10, 0, 0),
            "{protocol:?}: {e:?}"
        );
        tracer.shutdown(Duration::from_secs(5)).unwrap();
    }
}

#[test]
fn a_later_tracer_replays_what_an_earlier_one_spooled() {
    let dir = spool_dir("restart");
    let server = ScriptedOtlp::http(vec![Reply::http(503); 1000]);
    let first = tracer(&server, OtlpProtocol::HttpProtobuf, delivery(&dir));
    let _ = batch(&first, "a", 10);
    let _ = batch(&first, "b", 10);
    // Left at shutdown while the backend still refuses: spooled too.
    for i in 0..5 {
        first.span(format!("c{i}")).root().start().end();
    }
    match first.shutdown(Duration::from_secs(1)) {
        Err(Error::Undelivered {
            dropped: 0,
            spooled,
            ..
        }) => assert!(spooled >= 5, "{spooled}"),
        other => panic!("{other:?}"),
    }
    let e = accounted(&first);
    assert_eq!(
        (e.exported, e.spooled, e.dropped.total()),
        (0, 25, 0),
        "{e:?}"
    );
    assert!(!segments(&dir).is_empty());

    server.clear();
    let before = server.total_spans();
    let second = tracer(&server, OtlpProtocol::HttpProtobuf, delivery(&dir));
    let got = received_names(&server, before + 25);
    let mut want = names("a", 10);
    want.extend(names("b", 10));
    want.extend(names("c", 5));
    // Refused attempts are recorded by the server too: count the accepted
    // ones, after the script ran out.
    let accepted: Vec<String> = got[before..].to_vec();
    assert_eq!(accepted.len(), 25, "each span once: {accepted:?}");
    assert_eq!(accepted.into_iter().collect::<BTreeSet<_>>(), want);
    second.shutdown(Duration::from_secs(5)).unwrap();
    let e = accounted(&second);
    assert_eq!(
        (e.replayed, e.lost_from_spool, e.spooled),
        (25, 0, 0),
        "{e:?}"
    );
    assert!(segments(&dir).is_empty());
}

#[test]
fn the_cap_evicts_the_oldest_segments_and_counts_their_spans_lost() {
    let dir = spool_dir("cap");
    let server = ScriptedOtlp::http(vec![Reply::http(503); 10_000]);
    let cap = 16 << 10;
    let first = tracer(
        &server,
        OtlpProtocol::HttpProtobuf,
        DeliveryConfig {
            spool_max_bytes: cap,
            ..delivery(&dir)
        },
    );
    for b in 0..30 {
        let _ = batch(&first, &format!("b{b:02}-"), 10);
    }
    let on_disk: u64 = segments(&dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(on_disk <= cap, "{on_disk} bytes on disk, cap {cap}");
    let _ = first.shutdown(Duration::from_secs(1));
    let e1 = accounted(&first);
    assert_eq!(e1.spooled, 300, "{e1:?}");
    assert!(e1.lost_from_spool > 0, "{e1:?}");

    server.clear();
    let before = server.total_spans();
    let second = tracer(&server, OtlpProtocol::HttpProtobuf, delivery(&dir));
    let kept = (e1.spooled - e1.lost_from_spool) as usize;
    let got = received_names(&server, before + kept);
    second.shutdown(Duration::from_secs(5)).unwrap();
    let e2 = accounted(&second);
    // Every spooled span is replayed or counted lost, once.
    assert_eq!(
        e2.replayed + e1.lost_from_spool,
        e1.spooled,
        "{e1:?} {e2:?}"
    );
    let replayed: Vec<String> = got[before..].to_vec();
    assert_eq!(replayed.len(), kept);
    // The newest batches survived: the last one is there, the first not.
    assert!(replayed.contains(&"b29-9".to_string()));
    assert!(!replayed.contains(&"b00-0".to_string()));
}

#[test]
fn a_torn_record_is_skipped_and_counted_and_the_rest_replayed() {
    let dir = spool_dir("torn");
    let server = ScriptedOtlp::http(vec![Reply::http(503); 1000]);
    let first = tracer(&server, OtlpProtocol::HttpProtobuf, delivery(&dir));
    let _ = batch(&first, "whole", 10);
    let _ = batch(&first, "torn", 10);
    let _ = first.shutdown(Duration::from_secs(1));
    assert_eq!(accounted(&first).spooled, 20);
    let segs = segments(&dir);
    assert_eq!(segs.len(), 1, "{segs:?}");
    // A crash mid-write: the last record lost its tail.
    let len = std::fs::metadata(&segs[0]).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segs[0])
        .unwrap()
        .set_len(len - 7)
        .unwrap();

    server.clear();
    let before = server.total_spans();
    let second = tracer(&server, OtlpProtocol::HttpProtobuf, delivery(&dir));
    let got = received_names(&server, before + 10);
    second.shutdown(Duration::from_secs(5)).unwrap();
    let replayed: BTreeSet<String> = got[before..].iter().cloned().collect();
    assert_eq!(replayed, names("whole", 10));
    let e = accounted(&second);
    assert_eq!(
        (e.replayed, e.lost_from_spool, e.spool_corrupt),
        (10, 10, 1),
        "{e:?}"
    );
    assert!(segments(&dir).is_empty(), "a corrupt segment is removed");
}

#[test]
fn rejected_batches_are_not_spooled() {
    let dir = spool_dir("rejected");
    let server = ScriptedOtlp::http(vec![Reply::http(400)]);
    let tracer = tracer(&server, OtlpProtocol::HttpProtobuf, delivery(&dir));
    assert_eq!(
        batch(&tracer, "bad", 3),
        Err(Error::Undelivered {
            operation: "flush",
            dropped: 3,
            spooled: 0
        })
    );
    let e = accounted(&tracer);
    assert_eq!((e.dropped.rejected, e.spooled), (3, 0));
    assert!(segments(&dir).is_empty());
}

#[test]
fn the_spool_directory_comes_from_the_environment() {
    let state = spool_dir("xdg");
    let server = ScriptedOtlp::http(vec![Reply::http(503); 4]);
    let env = |pairs: &[(&str, String)]| {
        let mut m: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        m.insert("AGTRACE_EXPORTERS".into(), "otlp".into());
        m.insert(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".into(),
            server.endpoint(),
        );
        m.insert("AGTRACE_MAX_RETRIES".into(), "1".into());
        m.insert("AGTRACE_RETRY_INITIAL_BACKOFF_MS".into(), "5".into());
        m
    };
    // By default: under $XDG_STATE_HOME.
    let t = Tracer::builder()
        .env_map(env(&[("XDG_STATE_HOME", state.display().to_string())]))
        .build()
        .unwrap();
    let _ = batch(&t, "s", 2);
    assert_eq!(accounted(&t).spooled, 2);
    assert_eq!(segments(&state.join("agtrace/spool")).len(), 1);
    let _ = t.shutdown(Duration::from_secs(1));

    // `off` turns it off.
    let t = Tracer::builder()
        .env_map(env(&[
            ("XDG_STATE_HOME", state.display().to_string()),
            ("AGTRACE_SPOOL_DIR", "off".into()),
        ]))
        .build()
        .unwrap();
    let _ = batch(&t, "s", 2);
    let e = accounted(&t);
    assert_eq!((e.spooled, e.dropped.failed), (0, 2));

    // A directory that cannot be made is an error naming the setting.
    let err = Tracer::builder()
        .env_map(env(&[("AGTRACE_SPOOL_DIR", "/proc/version/spool".into())]))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("AGTRACE_SPOOL_DIR"), "{err}");

    // Without the environment there is no spool unless set in code.
    let t = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Otlp(OtlpConfig {
            endpoint: Some(server.endpoint()),
            ..Default::default()
        }))
        .build()
        .unwrap();
    assert_eq!(t.settings().delivery.spool_dir, None);
}

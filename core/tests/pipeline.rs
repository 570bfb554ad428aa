//! The pipeline's contract: never block the app, bounded memory, every span
//! accounted for, flush and shutdown within their timeouts.

mod common;
use agtrace_core::*;
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn assert_accounted(s: &Stats) {
    assert_eq!(
        s.ended,
        s.dispatched + s.dropped.total() + s.pending,
        "every ended span is dispatched, dropped or pending: {s:?}"
    );
    for e in &s.exporters {
        assert_eq!(
            e.received,
            e.exported + e.dropped.total() + e.pending,
            "every span handed to {} is exported, dropped or pending: {e:?}",
            e.name
        );
    }
}

#[test]
fn eight_threads_every_span_accounted_for() {
    let (tracer, mem) = memory_tracer();
    let per_thread = 5_000;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let tracer = tracer.clone();
            std::thread::spawn(move || {
                let root = tracer.span(format!("root-{t}")).root().start();
                let _g = root.enter();
                for i in 0..per_thread - 1 {
                    let mut s = tracer.span("work").start();
                    s.set_attribute("i", i as i64);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|h| h.join().unwrap());
    // Under this burst the exporter may drop (and count) spans, which the
    // shutdown reports as undelivered rather than as a clean end.
    match tracer.shutdown(Duration::from_secs(30)) {
        Ok(()) | Err(Error::Undelivered { .. }) => {}
        Err(e) => panic!("shutdown: {e}"),
    }
    let stats = tracer.stats();
    assert_eq!(stats.started, 8 * per_thread as u64);
    assert_eq!(stats.ended, stats.started);
    assert_accounted(&stats);
    assert_eq!(stats.pending, 0);
    let e = &stats.exporters[0];
    assert_eq!(e.received, stats.dispatched);
    assert_eq!(e.pending, 0);
    assert_eq!(e.exported as usize, mem.spans().len());
    // Drops are allowed under this burst, but only where counted.
    assert_eq!(
        stats.started,
        e.exported + e.dropped.total() + stats.dropped.total()
    );
}

/// Waits until the pipeline has handed everything it holds to the exporter.
fn settle(tracer: &Tracer) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = tracer.stats();
        if s.pending == 0 || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn full_queues_drop_and_count_without_blocking() {
    let gate = Gate::default();
    let tracer = Tracer::builder()
        .ignore_env()
        .queue_capacity(100)
        .batch_size(10)
        .flush_interval(Duration::from_millis(10))
        .custom_exporter(Box::new(gate.clone()))
        .build()
        .unwrap();
    // The first batch blocks the exporter; its queue then fills up.
    for _ in 0..10 {
        tracer.span("first").start().end();
    }
    gate.wait_entered();
    let t = Instant::now();
    for _ in 0..1_000 {
        tracer.span("s").start().end();
    }
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "ending spans never waits"
    );
    let stats = settle(&tracer);
    assert_eq!(stats.ended, 1_010);
    assert_accounted(&stats);
    let e = &stats.exporters[0];
    // The exporter holds its queue (10 batches of 10) and the batch in flight.
    assert!(e.pending <= 110, "{e:?}");
    assert!(
        stats.dropped.queue_full + e.dropped.queue_full >= 1_010 - 110 - stats.pending,
        "{stats:?}"
    );
    gate.open();
    tracer.shutdown(Duration::from_secs(10)).unwrap();
    let stats = tracer.stats();
    assert_accounted(&stats);
    assert_eq!(gate.exported() as u64, stats.exporters[0].exported);
    assert_eq!(stats.exporters[0].pending, 0);
}

#[test]
fn byte_cap_bounds_the_queue() {
    let tracer = Tracer::builder()
        .ignore_env()
        .queue_max_bytes(64 * 1024)
        .flush_interval(Duration::from_secs(60))
        .exporter(ExporterConfig::None)
        .build()
        .unwrap();
    // Nothing is drained before a batch fills or the (long) interval passes,
    // so the byte cap alone decides.
    let big = "x".repeat(10 * 1024);
    for _ in 0..20 {
        let mut s = tracer.span("big").start();
        s.set_attribute("payload", big.clone());
    }
    let stats = tracer.stats();
    assert!(stats.dropped.queue_bytes >= 13, "{stats:?}");
    assert!(
        stats.pending <= 7,
        "at most 64 KiB of 10 KiB spans queued: {stats:?}"
    );
    assert_accounted(&stats);
    tracer.shutdown(Duration::from_secs(10)).unwrap();
    assert_accounted(&tracer.stats());
}

#[test]
fn flush_and_shutdown_return_within_timeout_when_exporter_hangs() {
    let gate = Gate::default();
    let tracer = Tracer::builder()
        .ignore_env()
        .custom_exporter(Box::new(gate.clone()))
        .shutdown_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    for _ in 0..5 {
        tracer.span("s").start().end();
    }
    let t = Instant::now();
    let err = tracer.force_flush(Duration::from_millis(200)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(
        err,
        Error::Timeout {
            operation: "flush",
            undelivered: 5,
            in_exporters: 5,
        }
    );
    let t = Instant::now();
    let err = tracer.shutdown(Duration::from_millis(200)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(
            err,
            Error::Timeout {
                operation: "shutdown",
                ..
            }
        ),
        "{err}"
    );
    // A second shutdown still reports the spans in the hung exporter, and
    // spans after shutdown are dropped and counted.
    assert!(matches!(
        tracer.shutdown(Duration::from_millis(10)),
        Err(Error::Timeout {
            operation: "shutdown",
            in_exporters: 5,
            ..
        })
    ));
    assert!(tracer.is_shut_down());
    tracer.span("late").start().end();
    let stats = tracer.stats();
    assert_eq!(stats.ended, 6);
    assert!(stats.dropped.shutdown >= 1);
    assert_accounted(&stats);
    gate.open();
}

#[test]
fn flush_hands_over_everything_ended_before_it() {
    let (tracer, mem) = memory_tracer();
    for i in 0..1_234 {
        tracer.span(format!("s{i}")).root().start().end();
    }
    tracer.force_flush(Duration::from_secs(10)).unwrap();
    assert_eq!(mem.spans().len(), 1_234);
    let stats = tracer.stats();
    assert_eq!((stats.dispatched, stats.pending), (1_234, 0));
}

#[test]
fn spans_are_exported_by_the_timer_without_flush() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .flush_interval(Duration::from_millis(20))
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    tracer.span("timer").start().end();
    let deadline = Instant::now() + Duration::from_secs(10);
    while mem.spans().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(mem.spans().len(), 1);
}

struct Failing {
    calls: Arc<AtomicUsize>,
    panic: bool,
}

impl Exporter for Failing {
    fn name(&self) -> &str {
        if self.panic {
            "panicking"
        } else {
            "failing"
        }
    }
    fn export(&mut self, _b: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.panic {
            panic!("exporter bug");
        }
        Err(ExportError::new("backend said no"))
    }
}

#[test]
fn failing_and_panicking_exporters_are_counted_and_do_not_stop_others() {
    let mem = InMemoryExporter::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let tracer = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Memory(mem.clone()))
        .custom_exporter(Box::new(Failing {
            calls: calls.clone(),
            panic: false,
        }))
        .custom_exporter(Box::new(Failing {
            calls: calls.clone(),
            panic: true,
        }))
        .build()
        .unwrap();
    for _ in 0..3 {
        tracer.span("s").start().end();
        assert_eq!(
            tracer.force_flush(Duration::from_secs(5)),
            Err(Error::Undelivered {
                operation: "flush",
                dropped: 2,
                spooled: 0
            }),
            "each failing exporter dropped the span"
        );
    }
    let stats = tracer.stats();
    assert_eq!(mem.spans().len(), 3);
    let by = |n: &str| {
        stats
            .exporters
            .iter()
            .find(|e| e.name == n)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (by("memory").exported, by("memory").dropped.total()),
        (3, 0)
    );
    // A plain ExportError is final: rejected, not retried.
    assert_eq!(
        (by("failing").exported, by("failing").dropped.rejected),
        (0, 3)
    );
    assert_eq!(
        (by("panicking").exported, by("panicking").dropped.rejected),
        (0, 3)
    );
    assert_eq!(by("failing").retried, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    assert_accounted(&stats);
}

#[test]
fn flush_and_shutdown_inside_a_current_thread_tokio_runtime() {
    let (tracer, mem) = memory_tracer();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tracer.span("async").start().end();
        tracer.force_flush(Duration::from_secs(5)).unwrap();
        tracer.shutdown(Duration::from_secs(5)).unwrap();
    });
    assert_eq!(mem.spans().len(), 1);
}

#[test]
fn dropping_the_last_handle_exports_what_ended_and_a_later_end_never_blocks() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    tracer.span("ended-before").start().end();
    let late = tracer.span("outlives-tracer").start();
    drop(tracer); // shuts the pipeline down: flushes what ended
    assert_eq!(names(&mem.spans()), vec!["ended-before"]);
    // A span does not keep the pipeline alive: ending it after the last
    // handle is gone drops it, without running a shutdown on this thread.
    let t = Instant::now();
    drop(late);
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(names(&mem.spans()), vec!["ended-before"]);
}

#[test]
fn spans_ended_on_other_threads_are_exported_once_with_exact_rollups() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .flush_interval(Duration::from_millis(5))
        // Room for every span, so that none is dropped and all are checked.
        .queue_capacity(100_000)
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    let producers = 4;
    let per_thread = 5_000;
    // Each producer starts a parent and a child and hands both to a
    // consumer thread, which starts a grandchild and ends all three: spans
    // cross threads between start and end, and children arrive from other
    // threads' buffers than their parents'.
    let (tx, rx) = flume::unbounded::<(Span, Span)>();
    std::thread::scope(|s| {
        for _ in 0..producers {
            let tx = tx.clone();
            let tracer = &tracer;
            s.spawn(move || {
                for i in 0..per_thread {
                    let parent = tracer.span(format!("p{i}")).root().start();
                    let child = tracer
                        .span("child")
                        .kind(SpanKind::Tool)
                        .parent(&parent)
                        .start();
                    tx.send((parent, child)).unwrap();
                }
            });
        }
        drop(tx);
        for _ in 0..producers {
            let rx = rx.clone();
            let tracer = &tracer;
            s.spawn(move || {
                for (mut parent, mut child) in rx.iter() {
                    let mut grandchild = tracer
                        .span("grandchild")
                        .kind(SpanKind::Tool)
                        .parent(&child)
                        .start();
                    parent.end(); // before its children: held for them
                    grandchild.end();
                    child.end();
                }
            });
        }
    });
    tracer.force_flush(Duration::from_secs(10)).unwrap();
    let stats = tracer.stats();
    assert_accounted(&stats);
    let n = producers * per_thread;
    assert_eq!(stats.ended, 3 * n as u64);
    let spans = mem.spans();
    let ids: std::collections::HashSet<_> = spans.iter().map(|r| r.span_id).collect();
    assert_eq!(
        (spans.len(), ids.len()),
        (3 * n, 3 * n),
        "each span once: {stats:?}"
    );
    for root in spans.iter().filter(|r| r.is_root()) {
        assert_eq!(
            root.attribute(agtrace_core::semconv::AGTRACE_USAGE_TOOL_CALLS),
            Some(&Value::I64(2)),
            "{}",
            root.name
        );
        assert_eq!(
            root.attribute(agtrace_core::semconv::AGTRACE_USAGE_INCOMPLETE),
            None
        );
    }
}

/// A span ended after its thread's thread-local destructors ran (as in an
/// exit handler on the main thread, or a thread-local's own destructor) is
/// still exported: the core's buffers for that thread are gone, so it takes
/// a buffer for that one call.
#[test]
fn a_span_ended_during_thread_teardown_is_exported() {
    struct EndsOnDrop(std::cell::RefCell<Option<Span>>);
    impl Drop for EndsOnDrop {
        fn drop(&mut self) {
            if let Some(mut s) = self.0.borrow_mut().take() {
                s.end();
            }
        }
    }
    thread_local! {
        static HELD: EndsOnDrop = const { EndsOnDrop(std::cell::RefCell::new(None)) };
    }
    let (tracer, mem) = memory_tracer();
    let t = tracer.clone();
    std::thread::spawn(move || {
        // Registered before the core's buffers, so destroyed after them.
        HELD.with(|_| {});
        t.span("warm-up").start().end();
        let late = t.span("ended in teardown").start();
        HELD.with(|h| *h.0.borrow_mut() = Some(late));
    })
    .join()
    .unwrap();
    let spans = flushed(&tracer, &mem);
    let mut got = names(&spans);
    got.sort();
    assert_eq!(got, ["ended in teardown", "warm-up"]);
    assert!(!by_name(&spans, "ended in teardown").abandoned);
}

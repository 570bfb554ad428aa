//! Whether the collector keeps up: 4 producer threads at a combined 1M
//! spans/s through one tracer with default settings and a discarding
//! exporter (`ExporterConfig::None`), so what is measured is the pipeline
//! up to the exporters. Rows go to `bench/run.py` (see report.rs).
//!
//! Each producer makes a burst of 2,500 root spans with 5 attributes every
//! 10 ms, on absolute deadlines (sleeping until the next tick, never
//! catching up with a double burst), so 4 bursts at once stay under the
//! default queue of 16,384 spans. On a machine too slow to make the spans
//! in time the achieved rate falls below 1M/s, and the row says so.
//! After a flush, `stats()` must show every span ended and none dropped.
//!
//! The collector's own throughput is `collector.spans / collector.busy_nanos`
//! from the same run: spans finished per second of its thread's busy time,
//! whatever the exporter costs. Busy time is wall time, so where the machine
//! has fewer cores than the producers, the collector and the exporter need,
//! time the collector spent preempted counts and the figure reads low.

use agtrace_core::{ExporterConfig, SpanKind, Tracer};
use std::time::{Duration, Instant};

#[path = "report.rs"]
mod report;
use report::{emit, Row};

const PRODUCERS: u64 = 4;
const BURST: u64 = 2_500;
const TICK: Duration = Duration::from_millis(10);

fn five_attributes(tracer: &Tracer) {
    let mut s = tracer.span("span").kind(SpanKind::Tool).root().start();
    s.set_attribute("k1", "v1");
    s.set_attribute("k2", 2i64);
    s.set_attribute("k3", true);
    s.set_attribute("k4", 4.5);
    s.set_attribute("k5", "v5");
    s.end()
}

/// One producer: `ticks` bursts, each started at its own deadline (or at
/// once when the previous burst overran it).
fn produce(tracer: &Tracer, start: Instant, ticks: u32) {
    for tick in 0..ticks {
        if let Some(wait) = (start + TICK * tick).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for _ in 0..BURST {
            five_attributes(tracer);
        }
    }
}

fn main() {
    let seconds = if report::smoke() { 0.3 } else { 4.0 };
    let ticks = (seconds / TICK.as_secs_f64()) as u32;
    let tracer = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::None)
        .build()
        .expect("agtrace tracer");
    // Thread start-up is kept out of the timed run.
    let start = Instant::now() + Duration::from_millis(20);
    std::thread::scope(|scope| {
        for _ in 0..PRODUCERS {
            scope.spawn(|| produce(&tracer, start, ticks));
        }
    });
    let produced = start.elapsed().as_secs_f64();
    tracer.force_flush(Duration::from_secs(60)).expect("flush");
    let stats = tracer.stats();
    tracer.shutdown(Duration::from_secs(10)).expect("shutdown");

    let spans = PRODUCERS * BURST * u64::from(ticks);
    let window = f64::from(ticks) * TICK.as_secs_f64();
    let offered = spans as f64 / window;
    // The last burst's tick counts in full, so a machine that keeps pace
    // achieves the offered rate exactly and a slower one less.
    let achieved = spans as f64 / produced.max(window);
    // A run that could not offer the load proves nothing about keeping up.
    let loaded = achieved >= 0.95 * offered;
    let exporter_dropped: u64 = stats.exporters.iter().map(|e| e.dropped.total()).sum();
    let dropped = stats.dropped.total() + exporter_dropped;
    emit(Row {
        section: "Collector",
        scenario: &format!(
            "spans dropped, {PRODUCERS} threads at a combined {:.1}M spans/s for {seconds} s",
            offered / 1e6
        ),
        unit: "spans",
        agtrace: dropped as f64,
        peer: None,
        target: Some(("0", dropped == 0 && stats.ended == spans && loaded)),
        note: &format!(
            "{PRODUCERS} threads x {BURST} spans (root, 5 attributes) every {} ms, default \
             settings, discarding exporter; achieved {:.2}M spans/s combined{}; {spans} made, \
             ended {}, dropped {} (queue full {}, queue bytes {}, shutdown {}, exporter {}), \
             pending {}",
            TICK.as_millis(),
            achieved / 1e6,
            if loaded {
                ""
            } else {
                " (the machine could not make the spans in time, so the load was not applied)"
            },
            stats.ended,
            dropped,
            stats.dropped.queue_full,
            stats.dropped.queue_bytes,
            stats.dropped.shutdown,
            exporter_dropped,
            stats.pending,
        ),
    });
    let c = stats.collector;
    let rate = c.spans as f64 * 1e9 / c.busy_nanos.max(1) as f64;
    emit(Row {
        section: "Collector",
        scenario: "the collector's own throughput",
        unit: "spans/s",
        agtrace: rate,
        peer: None,
        target: None,
        note: &format!(
            "{} spans finished in {:.0} ms busy (wall time, preemption included) on the \
             collector thread, in the run above with {PRODUCERS} producers on {} cores ({:.1} x \
             the offered rate)",
            c.spans,
            c.busy_nanos as f64 / 1e6,
            std::thread::available_parallelism().map_or(1, usize::from),
            rate / offered
        ),
    });
}

//! The workload `bench/profile.sh` profiles: root spans with 5 attributes,
//! started and ended as fast as one thread can, for the seconds given as
//! the first argument (1 s when there is none, as under `cargo bench`), with
//! default settings and a discarding exporter, like the span benchmark's.
//!
//! The loop runs on a thread named `span-loop`, so the profile can keep the
//! calling thread's samples apart from the collector's. Prints the spans
//! made and the time per span, not a result row: the profile is the result.

use agtrace_core::{ExporterConfig, SpanKind, Tracer};
use std::time::{Duration, Instant};

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1.0);
    let tracer = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::None)
        .build()
        .expect("agtrace tracer");
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let worker = std::thread::Builder::new()
        .name("span-loop".into())
        .spawn({
            let tracer = tracer.clone();
            move || {
                let start = Instant::now();
                let mut spans = 0u64;
                // The clock is read once per 1,000 spans, so it barely shows.
                while Instant::now() < until {
                    for _ in 0..1_000 {
                        let mut s = tracer.span("span").kind(SpanKind::Tool).root().start();
                        s.set_attribute("k1", "v1");
                        s.set_attribute("k2", 2i64);
                        s.set_attribute("k3", true);
                        s.set_attribute("k4", 4.5);
                        s.set_attribute("k5", "v5");
                        s.end();
                    }
                    spans += 1_000;
                }
                (spans, start.elapsed())
            }
        })
        .expect("span-loop thread");
    let (spans, elapsed) = worker.join().expect("span-loop");
    let stats = tracer.stats();
    tracer.shutdown(Duration::from_secs(10)).expect("shutdown");
    println!(
        "span_loop: {spans} spans in {:.2} s, {:.0} ns per span; dropped {}",
        elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / spans as f64,
        stats.dropped.total()
    );
}

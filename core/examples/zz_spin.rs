use agtrace_core::*;
fn cpu() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
}
struct Instant(f64);
impl Instant {
    fn now() -> Self {
        Instant(cpu())
    }
    fn elapsed(&self) -> std::time::Duration {
        std::time::Duration::from_nanos((cpu() - self.0) as u64)
    }
}
fn main() {
    let t = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::None)
        .build()
        .unwrap();
    let n = 2_000_000;
    for round in 0..3 {
        let s0 = Instant::now();
        for _ in 0..n {
            let mut s = t.span("x").root().start();
            s.set_attribute("k1", "v1");
            s.set_attribute("k2", 2i64);
            s.set_attribute("k3", true);
            s.set_attribute("k4", 4.5);
            s.set_attribute("k5", "v5");
            s.end();
        }
        let a = s0.elapsed().as_nanos() as f64 / n as f64;
        let s0 = Instant::now();
        for _ in 0..n {
            t.span("x").root().start().end();
        }
        let b = s0.elapsed().as_nanos() as f64 / n as f64;
        let st = t.stats();
        println!(
            "round {round}: 5 attrs {a:.1} ns, none {b:.1} ns, dropped {:?} collector {:?}",
            st.dropped, st.collector
        );
    }
    let d = Tracer::builder()
        .ignore_env()
        .set("OTEL_SDK_DISABLED", "true")
        .unwrap()
        .build()
        .unwrap();
    let s0 = Instant::now();
    for _ in 0..n {
        d.span("x").start().end();
    }
    println!(
        "disabled {:.1} ns",
        s0.elapsed().as_nanos() as f64 / n as f64
    );
    let u = Tracer::builder()
        .ignore_env()
        .set("OTEL_TRACES_SAMPLER", "always_off")
        .unwrap()
        .exporter(ExporterConfig::None)
        .build()
        .unwrap();
    let s0 = Instant::now();
    for _ in 0..n {
        u.span("x").start().end();
    }
    println!(
        "unsampled {:.1} ns",
        s0.elapsed().as_nanos() as f64 / n as f64
    );
}

use agtrace_core::*;
fn main() {
    let t = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::None)
        .build()
        .unwrap();
    let which = std::env::args().nth(1).unwrap_or_default();
    for _ in 0..20_000_000u64 {
        if which == "attrs" {
            let mut s = t.span("x").root().start();
            s.set_attribute("k1", "v1");
            s.set_attribute("k2", 2i64);
            s.set_attribute("k3", true);
            s.set_attribute("k4", 4.5);
            s.set_attribute("k5", "v5");
            s.end();
        } else {
            t.span("x").root().start().end();
        }
    }
}

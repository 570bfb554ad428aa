//! Span start+end through the C ABI (the same `extern "C"` functions a C
//! program calls) beside the Rust core, in the same run. Target: the ABI adds
//! at most 30 ns per span.

use agtrace::*;
use agtrace_core::{ExporterConfig, Tracer};
use criterion::Criterion;
use std::time::Duration;

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    let core = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::None)
        .build()
        .unwrap();
    let cfg = agtrace_config_new();
    let set = |k: &str, v: &str| {
        assert_eq!(
            agtrace_config_set(cfg, str_of(k), str_of(v), std::ptr::null_mut()),
            agtrace_status_t::AGTRACE_OK
        );
    };
    set("AGTRACE_EXPORTERS", "none");
    let mut tracer = std::ptr::null_mut();
    assert_eq!(
        agtrace_tracer_new(cfg, &mut tracer, std::ptr::null_mut()),
        agtrace_status_t::AGTRACE_OK
    );
    let mut opts: agtrace_span_options_t = unsafe { std::mem::zeroed() };
    opts.name = str_of("span");
    opts.parent.kind = AGTRACE_PARENT_ROOT;

    let mut g = c.benchmark_group("abi_span");
    g.bench_function("rust_core", |b| {
        b.iter(|| core.span("span").root().start().end())
    });
    g.bench_function("c_abi", |b| {
        b.iter(|| {
            let mut span = std::ptr::null_mut();
            agtrace_span_start(tracer, &opts, &mut span, std::ptr::null_mut());
            agtrace_span_end(span, std::ptr::null_mut());
            unsafe { agtrace_span_free(span) };
        })
    });
    g.finish();
    c.final_summary();

    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let mean = |name: &str| -> Option<f64> {
        let p = format!("{dir}/criterion/abi_span/{name}/new/estimates.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    if let (Some(r), Some(a)) = (mean("rust_core"), mean("c_abi")) {
        println!(
            "\n| span start+end | Rust core | C ABI | added | target (<= 30 ns) |\n|---|---|---|---|---|\n| root, no attributes | {r:.0} ns | {a:.0} ns | {:.0} ns | {} |",
            a - r,
            if a - r <= 30.0 { "met" } else { "missed" }
        );
    }
    unsafe {
        agtrace_tracer_shutdown(tracer, 10_000, std::ptr::null_mut(), std::ptr::null_mut());
        agtrace_tracer_free(tracer);
        agtrace_config_free(cfg);
    }
}

fn str_of(s: &str) -> agtrace_str_t {
    agtrace_str_t {
        ptr: s.as_ptr().cast(),
        len: s.len(),
    }
}

//! Span start+end through the C ABI (the same `extern "C"` functions a C
//! program calls) beside the Rust core, in the same run. Target: the ABI adds
//! at most 30 ns per span. Also the packed path the language bindings take
//! (ffi/src/packed.rs: one call starts, one finishes), with 3 attributes,
//! beside the same span in the core. Rows go to `bench/run.py`.

use agtrace::*;
use agtrace_core::{ExporterConfig, Tracer};
use criterion::Criterion;
use std::time::Duration;

#[path = "../../core/benches/report.rs"]
mod report;
use report::{emit, Row};

fn main() {
    let (warm, measure) = if report::smoke() {
        (Duration::from_millis(100), Duration::from_millis(200))
    } else {
        (Duration::from_secs(1), Duration::from_secs(3))
    };
    let mut c = Criterion::default()
        .warm_up_time(warm)
        .measurement_time(measure)
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

    let record = b"span\0tool\0search\0\x01step\x003\0\x01cached\0true";
    let mut g = c.benchmark_group("abi_span_3_attributes");
    g.bench_function("rust_core", |b| {
        b.iter(|| {
            let mut s = core.span("span").root().start();
            s.set_attribute("tool", "search");
            s.set_attribute("step", 3i64);
            s.set_attribute("cached", true);
            s.end()
        })
    });
    g.bench_function("c_abi_packed", |b| {
        b.iter(|| {
            let span = agtrace_span_start_packed(
                tracer,
                std::ptr::null(),
                std::ptr::null(),
                0,
                record.as_ptr(),
                record.len(),
                std::ptr::null_mut(),
            );
            agtrace_span_finish_packed(span, std::ptr::null(), 0, std::ptr::null_mut());
            unsafe { agtrace_span_free(span) };
        })
    });
    g.finish();
    c.final_summary();

    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let mean = |group: &str, name: &str| -> Option<f64> {
        let p = format!("{dir}/criterion/{group}/{name}/new/estimates.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    for (group, ours, label) in [
        (
            "abi_span",
            "c_abi",
            "root span, no attributes (agtrace_span_start/end)",
        ),
        (
            "abi_span_3_attributes",
            "c_abi_packed",
            "root span, 3 attributes, packed calls (the bindings' path)",
        ),
    ] {
        if let (Some(r), Some(a)) = (mean(group, "rust_core"), mean(group, ours)) {
            emit(Row {
                section: "C ABI",
                scenario: label,
                unit: "ns",
                agtrace: a,
                peer: Some(("the Rust core, same span", r)),
                target: Some(("<= core + 30 ns", a - r <= 30.0)),
                note: "",
            });
        }
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

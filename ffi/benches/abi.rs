//! Span start+end through the C ABI (the same `extern "C"` functions a C
//! program calls) beside the Rust core, in the same run, with no attributes
//! and with 3: the typed API (`agtrace_span_start`/`_end`) and the span
//! protocol the language bindings take (`agtrace_spans_apply`, one call per
//! span: the previous span's END travels with the next BEGIN). Target: the
//! ABI adds at most 30 ns per span. Rows go to `bench/run.py`.

use agtrace::*;
use agtrace_core::codes::{item, kind, parent, record};
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
    let attrs = [
        attribute("tool", AGTRACE_VALUE_STRING, |v| {
            v.string = str_of("search")
        }),
        attribute("step", AGTRACE_VALUE_INT, |v| v.integer = 3),
        attribute("cached", AGTRACE_VALUE_BOOL, |v| v.boolean = true),
    ];
    let mut opts3 = opts;
    opts3.attributes = attrs.as_ptr();
    opts3.attributes_len = attrs.len();

    for (group, opts, with_attrs) in [
        ("abi_span", &opts, false),
        ("abi_span_3_attributes", &opts3, true),
    ] {
        let mut g = c.benchmark_group(group);
        g.bench_function("rust_core", |b| {
            b.iter(|| {
                let mut s = core.span("span").root().start();
                if with_attrs {
                    s.set_attribute("tool", "search");
                    s.set_attribute("step", 3i64);
                    s.set_attribute("cached", true);
                }
                s.end()
            })
        });
        g.bench_function("c_abi", |b| {
            b.iter(|| {
                let mut span = std::ptr::null_mut();
                agtrace_span_start(tracer, opts, &mut span, std::ptr::null_mut());
                agtrace_span_end(span, std::ptr::null_mut());
                unsafe { agtrace_span_free(span) };
            })
        });
        let mut msg = Message::default();
        let mut begun = agtrace_begun_t::default();
        g.bench_function("protocol", |b| {
            b.iter(|| {
                msg.begin(with_attrs);
                // SAFETY: the message's END names the last BEGIN's handle once.
                unsafe {
                    agtrace_spans_apply(
                        tracer,
                        msg.0.as_ptr(),
                        msg.0.len(),
                        &mut begun,
                        std::ptr::null_mut(),
                    )
                };
                msg.end(begun.handle);
            })
        });
        // The last span's END.
        unsafe {
            agtrace_spans_apply(
                tracer,
                msg.0.as_ptr(),
                msg.0.len(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        g.finish();
    }
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
            "c_abi",
            "root span, 3 attributes (agtrace_span_start/end)",
        ),
        (
            "abi_span",
            "protocol",
            "root span, no attributes, span protocol (the bindings' path)",
        ),
        (
            "abi_span_3_attributes",
            "protocol",
            "root span, 3 attributes, span protocol (the bindings' path)",
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

fn attribute(
    key: &'static str,
    kind: agtrace_value_type_t,
    set: impl FnOnce(&mut agtrace_value_t),
) -> agtrace_attribute_t {
    let mut a: agtrace_attribute_t = unsafe { std::mem::zeroed() };
    a.key = str_of(key);
    a.value.r#type = kind;
    set(&mut a.value);
    a
}

/// A span protocol message as a binding keeps it: the pending END, then the
/// next BEGIN (ffi/PROTOCOL.md).
#[derive(Default)]
struct Message(Vec<u8>, usize);

impl Message {
    fn record(&mut self, code: u8, body: impl FnOnce(&mut Vec<u8>)) {
        self.0.push(code);
        let at = self.0.len();
        self.0.extend([0; 4]);
        body(&mut self.0);
        let len = (self.0.len() - at - 4) as u32;
        self.0[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }

    fn str(b: &mut Vec<u8>, s: &str) {
        b.extend((s.len() as u32).to_le_bytes());
        b.extend(s.as_bytes());
    }

    /// Appends a BEGIN after the pending END.
    fn begin(&mut self, with_attrs: bool) {
        self.1 = self.0.len();
        self.record(record::BEGIN, |b| {
            b.extend([kind::PLAIN, parent::ROOT]);
            Message::str(b, "span");
            if with_attrs {
                b.push(item::STRING);
                Message::str(b, "tool");
                Message::str(b, "search");
                b.push(item::INT);
                Message::str(b, "step");
                b.extend(3i64.to_le_bytes());
                b.push(item::BOOL);
                Message::str(b, "cached");
                b.push(1);
            }
        });
    }

    /// Replaces the message with the END of the span just begun.
    fn end(&mut self, handle: u64) {
        self.0.clear();
        if handle != 0 {
            self.record(record::END, |b| {
                b.extend(handle.to_le_bytes());
                b.extend(u64::MAX.to_le_bytes());
            });
        }
    }
}

fn str_of(s: &str) -> agtrace_str_t {
    agtrace_str_t {
        ptr: s.as_ptr().cast(),
        len: s.len(),
    }
}

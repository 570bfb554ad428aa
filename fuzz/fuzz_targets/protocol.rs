//! The span protocol decoder (`core/src/protocol`, `ffi/PROTOCOL.md`),
//! driven as `agtrace_spans_apply` drives it: a tracer with an in-memory
//! exporter, the messages applied in order, BEGINs' handles kept for the
//! END records that follow.
//!
//! The input is a mode byte, then records. Unless the mode's bit 0 is set,
//! the records are cut into messages after each BEGIN, as a binding sends
//! them; otherwise they are one message. A handle is the only field the
//! protocol does not check (a wrong one is undefined behaviour, the
//! binding's contract), so the target rewrites each END/ABANDON handle to
//! a live one it picked (or 0) before applying; every other byte is the
//! fuzzer's. Context handles resolve through the target's own table.
//!
//! Asserts: no panic; a message is refused (`Err`) exactly when it added
//! to the misuse counts; a started span has valid ids and is sampled;
//! every span started is ended.
#![no_main]

use agtrace_core::propagation::Baggage;
use agtrace_core::protocol::{self, Begun, NOW};
use agtrace_core::{
    ExporterConfig, InMemoryExporter, Parent, SamplingConfig, Span, SpanContext, SpanId,
    TraceFlags, TraceId, TraceState, Tracer,
};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

const END: u8 = agtrace_core::codes::record::END;
const ABANDON: u8 = agtrace_core::codes::record::ABANDON;
const BEGIN: u8 = agtrace_core::codes::record::BEGIN;

struct Harness {
    tracer: Tracer,
    memory: InMemoryExporter,
    /// A span that stays recording, for LOCAL-like context parents.
    live: Span,
}

thread_local! {
    static HARNESS: Harness = {
        let memory = InMemoryExporter::new();
        let tracer = Tracer::builder()
            .ignore_env()
            .exporter(ExporterConfig::Memory(memory.clone()))
            .capture_content(true)
            .sampling(SamplingConfig { rate: 1.0, ..Default::default() })
            .flush_interval(Duration::from_millis(50))
            .build()
            .expect("tracer");
        let live = tracer.span("fuzz parent").start();
        Harness { tracer, memory, live }
    };
}

/// The records of `bytes` as (start, end) ranges, framed as the decoder
/// frames them; a truncated last record runs to the end.
fn records(bytes: &[u8]) -> Vec<(usize, usize, u8)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let code = bytes[at];
        let len = bytes
            .get(at + 1..at + 5)
            .map(|l| u32::from_le_bytes(l.try_into().unwrap()) as usize);
        match len.and_then(|len| (at + 5).checked_add(len)) {
            Some(end) if end <= bytes.len() => {
                out.push((at, end, code));
                at = end;
            }
            _ => {
                out.push((at, bytes.len(), code));
                break;
            }
        }
    }
    out
}

fn misuse_total(t: &Tracer) -> u64 {
    let m = t.stats().misuse;
    m.bad_name + m.bad_value + m.ended_twice + m.bad_call + m.mask_failed
}

fn remote_parent() -> Parent {
    let mut context = SpanContext::new(TraceId([7; 16]), SpanId([9; 8]), TraceFlags::SAMPLED, true);
    context.trace_state = TraceState::from_entries(vec![("vendor".into(), "value".into())]);
    Parent::Remote {
        context,
        baggage: Baggage::new(vec![("user".into(), "fuzz".into())]),
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, records_bytes)) = input.split_first() else {
        return;
    };
    HARNESS.with(|h| {
        let contexts = |handle: u64| match handle % 4 {
            0 => None,
            1 => Some(Parent::Root),
            2 => Some(remote_parent()),
            _ => Some(Parent::Span(h.live.to_ref())),
        };
        let mut bytes = records_bytes.to_vec();
        let framed = records(&bytes);
        let mut messages: Vec<(usize, usize)> = Vec::new();
        let mut from = 0;
        for &(_, end, code) in &framed {
            if code == BEGIN && mode & 1 == 0 {
                messages.push((from, end));
                from = end;
            }
        }
        if from < bytes.len() || messages.is_empty() {
            messages.push((from, bytes.len()));
        }
        let mut live: Vec<u64> = Vec::new();
        for (start, end) in messages {
            // Each END/ABANDON names a live handle (consumed) or 0.
            for &(at, rec_end, code) in &framed {
                if at < start || rec_end > end || !(code == END || code == ABANDON) {
                    continue;
                }
                let body = at + 5;
                if rec_end < body + 8 {
                    continue;
                }
                let field: [u8; 8] = bytes[body..body + 8].try_into().unwrap();
                let wanted = u64::from_le_bytes(field);
                // Only a body with the handle and the duration consumes it.
                let handle = if wanted == 0 || live.is_empty() || rec_end < body + 16 {
                    0
                } else {
                    live.swap_remove(wanted as usize % live.len())
                };
                bytes[body..body + 8].copy_from_slice(&handle.to_le_bytes());
            }
            let before = misuse_total(&h.tracer);
            let mut out = Begun::default();
            // SAFETY: every END/ABANDON handle was rewritten to a live one
            // (used once) or 0.
            let applied =
                unsafe { protocol::apply(&h.tracer, &bytes[start..end], &contexts, &mut out) };
            let after = misuse_total(&h.tracer);
            assert_eq!(
                applied.is_err(),
                after > before,
                "misuse counted iff refused: {applied:?}"
            );
            if out.handle != 0 {
                assert_ne!(out.trace_id, [0; 16]);
                assert_ne!(out.span_id, [0; 8]);
                assert_eq!(out.flags & 1, 1, "a recording span is sampled");
                live.push(out.handle);
            }
        }
        // End whatever the input left open, so no span leaks.
        for handle in live {
            let mut end = vec![END, 16, 0, 0, 0];
            end.extend_from_slice(&handle.to_le_bytes());
            end.extend_from_slice(&NOW.to_le_bytes());
            // SAFETY: a live handle, named once.
            let ended =
                unsafe { protocol::apply(&h.tracer, &end, &contexts, &mut Begun::default()) };
            assert!(ended.is_ok(), "{ended:?}");
        }
        h.memory.take();
    });
});

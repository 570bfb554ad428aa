//! The propagation parsers (`core/src/propagation`): `traceparent`,
//! `tracestate`, `baggage`, B3 single and multiple headers, and
//! `OTEL_PROPAGATORS`.
//!
//! The input is UTF-8 text, one `name: value` header per line (names match
//! without regard to case, as extraction does); a `propagators:` line is
//! also parsed as an `OTEL_PROPAGATORS` value and, when valid, extracted
//! with.
//!
//! Asserts, for each format alone: whatever is extracted survives inject
//! then extract unchanged (baggage too, when every member fit in the
//! header); a version-00 `traceparent` that extracts is written back as it
//! was read. With several formats, the ids and the sampled flag survive.
#![no_main]

use agtrace_core::propagation::{Extracted, Format, Propagators};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fn round_trip(set: &Propagators, headers: &HashMap<String, String>) {
    let first = set.extract(headers);
    let context = first.span_context.clone().unwrap_or_default();
    let mut written = HashMap::new();
    set.inject(&context, &first.baggage, &mut written);
    let second = set.extract(&written);
    if set.formats().len() == 1 {
        assert_eq!(first.span_context, second.span_context, "wrote {written:?}");
    } else {
        // Another format may win the second time: B3 keeps only the sampled
        // flag of the W3C flags, and no trace state.
        let ids = |e: &Extracted| {
            e.span_context
                .as_ref()
                .map(|c| (c.trace_id, c.span_id, c.is_sampled()))
        };
        assert_eq!(ids(&first), ids(&second), "wrote {written:?}");
    }
    let members = written.get("baggage").map_or(0, |b| b.split(',').count());
    if members == first.baggage.entries().len() {
        assert_eq!(first.baggage, second.baggage, "wrote {written:?}");
    } else {
        // Members past the header's byte cap are left out, never altered.
        let mut kept = first.baggage.entries().iter();
        for entry in second.baggage.entries() {
            assert!(kept.any(|e| e == entry), "{entry:?} was not extracted");
        }
    }
    if set.formats() == [Format::TraceContext] && first.span_context.is_some() {
        let read = headers
            .get("traceparent")
            .map(|v| v.trim_matches([' ', '\t']));
        if read.is_some_and(|v| v.starts_with("00-")) {
            assert_eq!(read, written.get("traceparent").map(String::as_str));
        }
    }
    let Extracted { span_context, .. } = second;
    if let Some(c) = span_context {
        assert!(c.is_valid() && c.is_remote);
    }
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let mut headers = HashMap::new();
    let mut propagators = None;
    for line in text.split('\n') {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.strip_prefix(' ').unwrap_or(value);
        if name == "propagators" {
            propagators = Some(Propagators::parse(value));
        } else {
            // Lowercase, as the carriers given by HTTP libraries hold them;
            // the mixed-case lookup is the carrier's, tested in core.
            headers.insert(name.to_ascii_lowercase(), value.to_string());
        }
    }
    for format in Format::ALL {
        round_trip(&Propagators::new(&[format]), &headers);
    }
    round_trip(&Propagators::new(&Format::ALL), &headers);
    if let Some(Ok(set)) = propagators {
        round_trip(&set, &headers);
    }
});

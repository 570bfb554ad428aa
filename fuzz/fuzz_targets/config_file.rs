//! The configuration file parser (`core/src/config/file.rs`) and the
//! settings decided from it: TOML, or YAML when the input's first byte is
//! odd.
//!
//! Asserts: no panic; a file that is accepted gives settings whose values
//! are within their documented bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(settings) = agtrace_core::check_config_text(text, mode & 1 == 1) {
        assert!(
            (0.0..=1.0).contains(&settings.sampling.rate),
            "{:?}",
            settings.sampling
        );
        assert!(!settings.service_name.is_empty() || text.contains("service_name"));
    }
});

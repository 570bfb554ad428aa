//! Each binding's copy of the core's boundary constants
//! (`agtrace_core::codes`), and the span protocol's codes for the C header.
//! Bindings generate theirs at build time (never committed), so none can
//! drift from the core.

use agtrace_core::codes::{Code, ALL};
use agtrace_core::protocol::VERSION;
use std::fmt::Write;

const BANNER: &str =
    "Generated from agtrace_core::codes by `cargo run -p agtrace-header -- --codes`; do not edit.";

fn constant(c: &Code) -> String {
    format!("{}_{}", c.group.to_uppercase(), c.name)
}

/// The protocol's record, parent and item codes as C macros, prefixed
/// `AGTRACE_PROTO_`, and the misuse kinds as `AGTRACE_MISUSE_*` (kinds,
/// statuses and error codes are in the header already, from the ffi crate;
/// the typed API has its own `AGTRACE_PARENT_*`).
pub fn c_header() -> String {
    let mut s = format!(
        "\n/* The span protocol (ffi/PROTOCOL.md). {BANNER} */\n\
         #ifndef AGTRACE_H_PROTOCOL\n#define AGTRACE_H_PROTOCOL\n\
         #define AGTRACE_PROTOCOL_VERSION {VERSION}\n"
    );
    for c in ALL
        .iter()
        .filter(|c| matches!(c.group, "record" | "parent" | "item"))
    {
        let _ = writeln!(
            s,
            "/* {} */\n#define AGTRACE_PROTO_{} {}",
            c.doc,
            constant(c),
            c.value
        );
    }
    s.push_str("\n/* Kinds of misuse, for `agtrace_misuse_report` and the stats' `misuse_*` counters. */\n");
    for c in ALL.iter().filter(|c| c.group == "misuse") {
        let _ = writeln!(
            s,
            "/* {} */\n#define AGTRACE_MISUSE_{} {}",
            c.doc, c.name, c.value
        );
    }
    s + "#endif /* AGTRACE_H_PROTOCOL */\n"
}

/// The constants in `lang` (`python`, `kotlin` or `swift`).
pub fn binding(lang: &str) -> Option<String> {
    let mut s = String::new();
    match lang {
        "python" => {
            let _ = writeln!(s, "\"\"\"{BANNER}\"\"\"\n\nPROTOCOL_VERSION = {VERSION}");
            for c in ALL {
                let _ = writeln!(s, "{} = {}  # {}", constant(c), c.value, c.doc);
            }
        }
        "kotlin" => {
            let _ = writeln!(
                s,
                "// {BANNER}\npackage dev.agtrace\n\ninternal object Codes {{\n    const val PROTOCOL_VERSION: Int = {VERSION}"
            );
            for c in ALL {
                let _ = writeln!(
                    s,
                    "    /** {} */\n    const val {}: Int = {}",
                    c.doc,
                    constant(c),
                    c.value
                );
            }
            s.push_str("}\n");
        }
        "swift" => {
            let _ = writeln!(
                s,
                "// {BANNER}\n\nenum Codes {{\n    static let PROTOCOL_VERSION: UInt32 = {VERSION}"
            );
            for c in ALL {
                let _ = writeln!(
                    s,
                    "    /// {}\n    static let {}: UInt8 = {}",
                    c.doc,
                    constant(c),
                    c.value
                );
            }
            s.push_str("}\n");
        }
        _ => return None,
    }
    Some(s)
}

//! Every number that crosses the boundary to another language, with its one
//! definition: span kinds, statuses, error codes, misuse kinds, and the span
//! protocol's record, parent and item codes (see `protocol`).
//!
//! The C ABI's constants are checked against these at compile time
//! (`ffi/src/codes.rs`), and the Python, Kotlin and Swift copies are
//! generated from [`ALL`] (`cargo run -p agtrace-header -- --codes LANG`),
//! so a binding cannot drift from the core.

/// One named constant of a group.
#[derive(Clone, Copy, Debug)]
pub struct Code {
    /// The group: `kind`, `status`, `error`, `record`, `parent`, `item` or
    /// `misuse`.
    pub group: &'static str,
    /// UPPER_SNAKE name within the group.
    pub name: &'static str,
    pub value: u32,
    pub doc: &'static str,
}

macro_rules! codes {
    ($( $group:literal $module:ident { $( $name:ident = $value:literal : $doc:literal ),* $(,)? } )*) => {
        $(
            #[doc = concat!("The `", $group, "` codes.")]
            pub mod $module {
                $( #[doc = $doc] pub const $name: u8 = $value; )*
            }
        )*
        /// Every code, by group, in definition order.
        pub const ALL: &[Code] = &[
            $( $( Code { group: $group, name: stringify!($name), value: $value, doc: $doc }, )* )*
        ];
    };
}

codes! {
    "kind" kind {
        PLAIN = 0: "A span with no agent meaning.",
        AGENT = 1: "An agent's run.",
        WORKFLOW = 2: "A workflow or chain of steps.",
        TASK = 3: "One step of a workflow.",
        LLM = 4: "A call to a language model.",
        EMBEDDING = 5: "A call to an embedding model.",
        RETRIEVER = 6: "A retrieval (vector store, search).",
        RERANKER = 7: "A reranking step.",
        TOOL = 8: "A tool call.",
        GUARDRAIL = 9: "A guardrail check.",
        EVALUATOR = 10: "An evaluation.",
    }
    "status" status {
        UNSET = 0: "No status set.",
        OK = 1: "Succeeded (final: later statuses are ignored).",
        ERROR = 2: "Failed; carries a description.",
    }
    "error" error {
        OK = 0: "Success.",
        NULL_ARGUMENT = 1: "A required pointer was NULL.",
        INVALID_ARGUMENT = 2: "An argument (or a field of a protocol message) is unusable.",
        INVALID_UTF8 = 3: "A string was not UTF-8.",
        INVALID_CONFIG = 4: "A setting has a bad value (setup only).",
        ALREADY_ENDED = 5: "The span was already ended.",
        SHUT_DOWN = 6: "The tracer was shut down.",
        TIMEOUT = 7: "A flush or shutdown did not finish in time.",
        EXPORTER = 8: "An exporter could not be created.",
        PANIC = 9: "An internal error was caught at the boundary.",
        UNDELIVERED = 10: "A flush or shutdown finished, but the exporters dropped spans meanwhile (rejected, failed after retries, left at the deadline).",
    }
    "record" record {
        BEGIN = 1: "Starts a span; the message's last record.",
        END = 2: "Applies items to a span and ends it.",
        ABANDON = 3: "Like END, for a span its owner dropped without ending (marked abandoned).",
    }
    "parent" parent {
        ROOT = 0: "A new trace.",
        LOCAL = 1: "A span of this process still recording: trace id, span id, flags.",
        SPAN = 2: "A span known by its ids only (ended, or not counted for rollups).",
        CONTEXT = 3: "A context handle from the C ABI (extracted headers, or any span's context).",
        INHERIT = 128: "Flag on LOCAL/SPAN: a context handle follows, whose trace state and baggage the span inherits.",
    }
    "item" item {
        STRING = 1: "Attribute: key, string value.",
        INT = 2: "Attribute: key, 64-bit signed integer.",
        DOUBLE = 3: "Attribute: key, 64-bit float.",
        BOOL = 4: "Attribute: key, one byte 0 or 1.",
        STRING_ARRAY = 5: "Attribute: key, count, strings.",
        INT_ARRAY = 6: "Attribute: key, count, integers.",
        DOUBLE_ARRAY = 7: "Attribute: key, count, floats.",
        BOOL_ARRAY = 8: "Attribute: key, count, bytes 0 or 1.",
        JSON = 9: "Attribute: key, JSON text (scalars and uniform arrays become typed values, anything else its JSON text).",
        STATUS = 16: "Status code, description.",
        ERROR = 17: "An exception event and error status: type, message, stack trace.",
        USAGE = 18: "Token counts: input, output, cache read, cache creation, reasoning.",
        LLM = 19: "Provider, request model, response model, response id, finish reasons.",
        TOOL = 20: "Tool name, call id.",
        AGENT = 21: "Agent name, id.",
        MESSAGES = 22: "Input and output messages, as JSON text.",
        TRACE = 23: "Trace-level context: user, session, conversation, environment, release, tags, metadata.",
        EVENT = 24: "An event: name, time offset, attribute count, attribute items.",
        FIRST_CHUNK = 25: "The first chunk of a stream arrived: time offset.",
        NAME = 26: "The span's new name.",
        LINK = 27: "A link: trace id, span id, flags, trace state, attribute count, attribute items.",
    }
    "misuse" misuse {
        BAD_NAME = 1: "A span, attribute or event name that is empty or not text.",
        BAD_VALUE = 2: "A value that could not be recorded at all (its conversion failed), so it was dropped.",
        ENDED_TWICE = 3: "A span ended, or changed, after it ended.",
        BAD_CALL = 4: "An argument the call cannot use: NULL, an unknown code, a malformed protocol message.",
        MASK_FAILED = 5: "The user's mask function failed; the value it was given was dropped.",
    }
}

/// The code of each [`crate::SpanKind`], and back.
impl crate::SpanKind {
    pub fn code(self) -> u8 {
        use crate::SpanKind as K;
        match self {
            K::Plain => kind::PLAIN,
            K::Agent => kind::AGENT,
            K::Workflow => kind::WORKFLOW,
            K::Task => kind::TASK,
            K::Llm => kind::LLM,
            K::Embedding => kind::EMBEDDING,
            K::Retriever => kind::RETRIEVER,
            K::Reranker => kind::RERANKER,
            K::Tool => kind::TOOL,
            K::Guardrail => kind::GUARDRAIL,
            K::Evaluator => kind::EVALUATOR,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_code_listed_in_all() {
        let listed: Vec<u32> = ALL
            .iter()
            .filter(|c| c.group == "kind")
            .map(|c| c.value)
            .collect();
        assert_eq!(listed.len(), crate::SpanKind::ALL.len());
        for k in crate::SpanKind::ALL {
            assert!(listed.contains(&u32::from(k.code())), "{k}");
            assert_eq!(crate::SpanKind::from_code(k.code()), Some(k));
        }
        assert_eq!(crate::SpanKind::from_code(200), None);
    }

    #[test]
    fn names_are_unique_within_a_group() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert!(a.group != b.group || a.name != b.name, "{a:?}");
                assert!(
                    a.group != b.group || a.value != b.value || a.group == "parent",
                    "{a:?} {b:?}"
                );
            }
        }
    }
}

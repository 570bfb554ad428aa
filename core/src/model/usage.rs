//! Token usage of LLM and embedding calls.

use crate::model::semconv;
use crate::model::value::Attribute;

/// Token counts reported by a model call. Zero means "not reported".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub reasoning_output_tokens: u64,
}

impl Usage {
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Usage {
            input_tokens,
            output_tokens,
            ..Usage::default()
        }
    }

    /// Saturates at `u64::MAX` (the counts are the caller's).
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// The GenAI usage attributes; zero counts other than input/output are omitted.
    pub(crate) fn attributes(&self) -> impl Iterator<Item = Attribute> {
        [
            (semconv::GEN_AI_USAGE_INPUT_TOKENS, self.input_tokens, true),
            (
                semconv::GEN_AI_USAGE_OUTPUT_TOKENS,
                self.output_tokens,
                true,
            ),
            (
                semconv::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
                self.cache_read_input_tokens,
                false,
            ),
            (
                semconv::GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
                self.cache_creation_input_tokens,
                false,
            ),
            (
                semconv::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
                self.reasoning_output_tokens,
                false,
            ),
        ]
        .into_iter()
        .filter(|(_, v, always)| *always || *v > 0)
        .map(|(k, v, _)| Attribute::new(k, v))
    }
}

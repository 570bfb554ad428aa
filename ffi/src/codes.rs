//! The C ABI's copies of the core's boundary constants (`agtrace_core::codes`),
//! checked at compile time: a build fails when one drifts.

use crate::error::agtrace_status_t as E;
use crate::span::*;
use agtrace_core::codes::{error, kind, status};

macro_rules! same {
    ($($ours:expr => $core:expr),* $(,)?) => {
        $( const _: () = assert!($ours as u32 == $core as u32); )*
    };
}

same! {
    AGTRACE_KIND_PLAIN => kind::PLAIN,
    AGTRACE_KIND_AGENT => kind::AGENT,
    AGTRACE_KIND_WORKFLOW => kind::WORKFLOW,
    AGTRACE_KIND_TASK => kind::TASK,
    AGTRACE_KIND_LLM => kind::LLM,
    AGTRACE_KIND_EMBEDDING => kind::EMBEDDING,
    AGTRACE_KIND_RETRIEVER => kind::RETRIEVER,
    AGTRACE_KIND_RERANKER => kind::RERANKER,
    AGTRACE_KIND_TOOL => kind::TOOL,
    AGTRACE_KIND_GUARDRAIL => kind::GUARDRAIL,
    AGTRACE_KIND_EVALUATOR => kind::EVALUATOR,
    AGTRACE_STATUS_UNSET => status::UNSET,
    AGTRACE_STATUS_OK => status::OK,
    AGTRACE_STATUS_ERROR => status::ERROR,
    E::AGTRACE_OK => error::OK,
    E::AGTRACE_ERR_NULL_ARGUMENT => error::NULL_ARGUMENT,
    E::AGTRACE_ERR_INVALID_ARGUMENT => error::INVALID_ARGUMENT,
    E::AGTRACE_ERR_INVALID_UTF8 => error::INVALID_UTF8,
    E::AGTRACE_ERR_INVALID_CONFIG => error::INVALID_CONFIG,
    E::AGTRACE_ERR_ALREADY_ENDED => error::ALREADY_ENDED,
    E::AGTRACE_ERR_SHUT_DOWN => error::SHUT_DOWN,
    E::AGTRACE_ERR_TIMEOUT => error::TIMEOUT,
    E::AGTRACE_ERR_EXPORTER => error::EXPORTER,
    E::AGTRACE_ERR_PANIC => error::PANIC,
    E::AGTRACE_ERR_UNDELIVERED => error::UNDELIVERED,
}

//! The bindings' one public error, mapped from the C ABI's internal error
//! (itself mapped from the core's) in one place.

use crate::error::{agtrace_status_t, FfiError};

/// Every failure the bindings can report; each variant is something the
/// caller can act on. (Named `AgtraceError`, not `Error`, and with no field
/// called `message`: both clash in Kotlin.)
#[derive(Debug, uniffi::Error)]
pub enum AgtraceError {
    /// A required value was missing or unusable.
    InvalidArgument { detail: String },
    /// A setting had a bad value; `detail` names it.
    InvalidConfig { detail: String },
    /// The span was already ended.
    AlreadyEnded { detail: String },
    /// The tracer was shut down.
    ShutDown { detail: String },
    /// A flush or shutdown ran out of time with spans undelivered.
    Timeout { detail: String },
    /// A flush or shutdown finished, but the exporters dropped spans.
    Undelivered { detail: String },
    /// An exporter could not be created.
    Exporter { detail: String },
    /// An internal error (a caught panic); the library stays usable.
    Internal { detail: String },
}

impl std::fmt::Display for AgtraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (AgtraceError::InvalidArgument { detail }
        | AgtraceError::InvalidConfig { detail }
        | AgtraceError::AlreadyEnded { detail }
        | AgtraceError::ShutDown { detail }
        | AgtraceError::Timeout { detail }
        | AgtraceError::Undelivered { detail }
        | AgtraceError::Exporter { detail }
        | AgtraceError::Internal { detail }) = self;
        f.write_str(detail)
    }
}

impl std::error::Error for AgtraceError {}

impl From<FfiError> for AgtraceError {
    fn from(e: FfiError) -> Self {
        use agtrace_status_t::*;
        let detail = e.message;
        match e.code {
            AGTRACE_OK
            | AGTRACE_ERR_NULL_ARGUMENT
            | AGTRACE_ERR_INVALID_ARGUMENT
            | AGTRACE_ERR_INVALID_UTF8 => AgtraceError::InvalidArgument { detail },
            AGTRACE_ERR_INVALID_CONFIG => AgtraceError::InvalidConfig { detail },
            AGTRACE_ERR_ALREADY_ENDED => AgtraceError::AlreadyEnded { detail },
            AGTRACE_ERR_SHUT_DOWN => AgtraceError::ShutDown { detail },
            AGTRACE_ERR_TIMEOUT => AgtraceError::Timeout { detail },
            AGTRACE_ERR_UNDELIVERED => AgtraceError::Undelivered { detail },
            AGTRACE_ERR_EXPORTER => AgtraceError::Exporter { detail },
            AGTRACE_ERR_PANIC => AgtraceError::Internal { detail },
        }
    }
}

impl From<agtrace_core::Error> for AgtraceError {
    fn from(e: agtrace_core::Error) -> Self {
        FfiError::from(e).into()
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for AgtraceError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        AgtraceError::Internal { detail: e.reason }
    }
}

//! The core's one error type. Each FFI boundary maps it, in one place, to its
//! own small public error.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A setting (builder field, environment variable or file key) has a bad
    /// value. Raised at init only, never at span time.
    InvalidConfig {
        setting: String,
        value: String,
        reason: String,
    },
    /// An argument passed to the API is unusable.
    InvalidArgument { argument: String, reason: String },
    /// A flush or shutdown did not finish within its timeout; `undelivered`
    /// spans had not been handed to the exporters.
    Timeout {
        operation: &'static str,
        undelivered: u64,
    },
    /// The tracer was shut down.
    ShutDown,
    /// An exporter could not be created.
    Exporter { exporter: String, reason: String },
}

impl Error {
    pub(crate) fn config(setting: &str, value: &str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            setting: setting.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig {
                setting,
                value,
                reason,
            } => write!(f, "invalid setting {setting}={value:?}: {reason}"),
            Error::InvalidArgument { argument, reason } => {
                write!(f, "invalid argument `{argument}`: {reason}")
            }
            Error::Timeout {
                operation,
                undelivered,
            } => write!(
                f,
                "{operation} timed out with {undelivered} span(s) not yet handed to the exporters"
            ),
            Error::ShutDown => f.write_str("the tracer has been shut down"),
            Error::Exporter { exporter, reason } => {
                write!(f, "cannot create the {exporter} exporter: {reason}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// Why an export failed. Counted and logged by the pipeline, never raised to
/// the application.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportError {
    pub reason: String,
}

impl ExportError {
    pub fn new(reason: impl Into<String>) -> Self {
        ExportError {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ExportError {}

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
    /// A flush or shutdown did not finish within its timeout: `undelivered`
    /// spans were still on their way, `in_exporters` of them inside an
    /// exporter (queued, or being sent and retried), the rest not yet
    /// handed to the exporters.
    Timeout {
        operation: &'static str,
        undelivered: u64,
        in_exporters: u64,
    },
    /// A flush or shutdown finished, but the exporters dropped `dropped`
    /// spans meanwhile (rejected by the backend, failed after retries, left
    /// at the shutdown's deadline, ...; `Stats` says which) and wrote
    /// `spooled` to the disk spool, to be replayed later.
    Undelivered {
        operation: &'static str,
        dropped: u64,
        spooled: u64,
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
                in_exporters,
            } => write!(
                f,
                "{operation} timed out with {undelivered} span(s) undelivered: {in_exporters} in the exporters \
                 (queued or being sent), {} not yet handed to them",
                undelivered - in_exporters
            ),
            Error::Undelivered {
                operation,
                dropped,
                spooled: 0,
            } => write!(
                f,
                "{operation}: the exporters dropped {dropped} span(s) (see stats() for the reasons)"
            ),
            Error::Undelivered {
                operation,
                dropped,
                spooled,
            } => write!(
                f,
                "{operation}: {} span(s) not delivered: {spooled} kept in the disk spool for replay, {dropped} dropped (see stats())",
                dropped + spooled
            ),
            Error::ShutDown => f.write_str("the tracer has been shut down"),
            Error::Exporter { exporter, reason } => {
                write!(f, "cannot create the {exporter} exporter: {reason}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// Why an export failed, and whether trying again can help. Counted and
/// logged by the pipeline, never raised to the application. The
/// constructors hide the credentials of any URL in the reason (an endpoint
/// such as `http://user:password@host`), since reasons go to the log.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportError {
    pub kind: ExportErrorKind,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExportErrorKind {
    /// The backend was unreachable or asked to slow down; the same batch may
    /// succeed later (after `retry_after` when the backend said so).
    Retryable {
        retry_after: Option<std::time::Duration>,
    },
    /// The backend refused the batch; sending it again will not help.
    Rejected,
    /// The encoded request exceeds the exporter's size limit; a smaller batch
    /// may pass.
    TooLarge,
    /// The backend accepted the batch but rejected `rejected` spans of it.
    PartialSuccess { rejected: u64 },
}

impl ExportError {
    /// A non-retryable failure.
    pub fn new(reason: impl Into<String>) -> Self {
        ExportError {
            kind: ExportErrorKind::Rejected,
            reason: logged(reason.into()),
        }
    }

    pub fn retryable(reason: impl Into<String>, retry_after: Option<std::time::Duration>) -> Self {
        ExportError {
            kind: ExportErrorKind::Retryable { retry_after },
            reason: logged(reason.into()),
        }
    }

    pub fn too_large(reason: impl Into<String>) -> Self {
        ExportError {
            kind: ExportErrorKind::TooLarge,
            reason: logged(reason.into()),
        }
    }

    pub fn partial(rejected: u64, reason: impl Into<String>) -> Self {
        ExportError {
            kind: ExportErrorKind::PartialSuccess { rejected },
            reason: logged(reason.into()),
        }
    }
}

fn logged(reason: String) -> String {
    match crate::util::url::hide_userinfo(&reason) {
        std::borrow::Cow::Borrowed(_) => reason,
        std::borrow::Cow::Owned(hidden) => hidden,
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ExportError {}

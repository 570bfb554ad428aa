//! The accepted range of every numeric setting: a value that cannot work (a
//! queue of 10^11 spans, a timeout of a century) fails at init with an error
//! naming the setting as the user wrote it, instead of failing later, at run
//! time. The README's settings table lists the same ranges.

use crate::error::Error;
use std::time::Duration;

/// An inclusive range, with the unit its values are written in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Range {
    pub(crate) min: u64,
    pub(crate) max: u64,
    /// Appended to the bounds in messages (`" ms"`, `" bytes"`).
    pub(crate) unit: &'static str,
}

impl Range {
    /// `n` checked, the error naming `setting`.
    pub(crate) fn check(&self, setting: &str, n: u64) -> Result<(), Error> {
        if (self.min..=self.max).contains(&n) {
            return Ok(());
        }
        Err(Error::config(
            setting,
            &n.to_string(),
            format!("must be between {} and {}{}", self.min, self.max, self.unit),
        ))
    }

    /// A duration checked in whole milliseconds.
    pub(crate) fn check_ms(&self, setting: &str, d: Duration) -> Result<(), Error> {
        self.check(setting, u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

const HOUR_MS: u64 = 3_600_000;
const MIB: u64 = 1 << 20;

const fn range(min: u64, max: u64, unit: &'static str) -> Range {
    Range { min, max, unit }
}

/// `OTEL_BSP_MAX_QUEUE_SIZE` (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE` is at most
/// the queue size).
pub(crate) const QUEUE_SPANS: Range = range(1, 1 << 20, " spans");
/// `AGTRACE_QUEUE_MAX_BYTES`.
pub(crate) const QUEUE_BYTES: Range = range(1, 4096 * MIB, " bytes");
/// `AGTRACE_BATCH_MAX_BYTES`.
pub(crate) const BATCH_BYTES: Range = range(1, 256 * MIB, " bytes");
/// `OTEL_BSP_SCHEDULE_DELAY`, the OTLP timeout.
pub(crate) const POSITIVE_MS: Range = range(1, HOUR_MS, " ms");
/// `OTEL_BSP_EXPORT_TIMEOUT`, the retry backoffs, `AGTRACE_BREAKER_RESET_MS`,
/// the rollup hold, the shutdown timeout.
pub(crate) const MS: Range = range(0, HOUR_MS, " ms");
/// `AGTRACE_MAX_RETRIES`.
pub(crate) const RETRIES: Range = range(0, 100, "");
/// `AGTRACE_BREAKER_THRESHOLD`.
pub(crate) const BREAKER_THRESHOLD: Range = range(1, 10_000, " failures");
/// `AGTRACE_MAX_ATTRIBUTE_BYTES`.
pub(crate) const ATTRIBUTE_BYTES: Range = range(64, 16 * MIB, " bytes");
/// `AGTRACE_MAX_MESSAGE_CHARS`.
pub(crate) const MESSAGE_CHARS: Range = range(64, 16 * MIB, " characters");
/// The OTLP exporters' `max_request_bytes`.
pub(crate) const REQUEST_BYTES: Range = range(1024, 256 * MIB, " bytes");
/// `AGTRACE_SPOOL_MAX_BYTES`, per exporter.
pub(crate) const SPOOL_BYTES: Range = range(4096, 1024 * 1024 * MIB, " bytes");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_setting_and_the_range() {
        assert!(QUEUE_SPANS
            .check("OTEL_BSP_MAX_QUEUE_SIZE", 1 << 20)
            .is_ok());
        let e = QUEUE_SPANS
            .check("OTEL_BSP_MAX_QUEUE_SIZE", 100_000_000_000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("OTEL_BSP_MAX_QUEUE_SIZE"), "{e}");
        assert!(e.contains("between 1 and 1048576 spans"), "{e}");
        let e = MS
            .check_ms("timeout", Duration::from_secs(u64::MAX))
            .unwrap_err()
            .to_string();
        assert!(e.contains("timeout") && e.contains("3600000 ms"), "{e}");
    }
}

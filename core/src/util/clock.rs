//! Span timestamps: wall-clock Unix nanoseconds derived from the monotonic
//! clock, so a span costs one clock read at start and one at end, and
//! durations never go backwards when the wall clock is adjusted.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// An anchor pairing one monotonic instant with the wall clock at that moment.
/// Wall times drift from the system clock only by NTP slew since the tracer
/// started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    anchor: Instant,
    anchor_unix_nanos: u64,
}

impl Clock {
    pub(crate) fn new() -> Self {
        let anchor = Instant::now();
        let anchor_unix_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Clock {
            anchor,
            anchor_unix_nanos,
        }
    }

    pub(crate) fn unix_nanos(&self, at: Instant) -> u64 {
        self.anchor_unix_nanos + at.saturating_duration_since(self.anchor).as_nanos() as u64
    }

    pub(crate) fn now_unix_nanos(&self) -> u64 {
        self.unix_nanos(Instant::now())
    }
}

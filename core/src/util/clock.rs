//! Span timestamps. The caller's thread reads a raw tick count (the CPU's
//! time-stamp counter where it is invariant, about 7 ns a read, else the
//! monotonic clock); the collector turns ticks into wall-clock Unix
//! nanoseconds, so a span pays two cheap reads and no arithmetic.
//!
//! Wall times are anchored once, when the tracer starts (one monotonic
//! instant paired with the wall clock), so durations never go backwards when
//! the wall clock is adjusted; they drift from the system clock only by NTP
//! slew since then. The tick rate is measured against the monotonic clock
//! from that anchor: roughly at start, then again by the collector before it
//! converts (`calibrate`), so the error shrinks as the interval grows (about
//! a part in a million after a few milliseconds), until `SETTLED` after the
//! anchor; then it stays fixed, so every tick count converts the same way
//! for the life of the tracer (times of different spans keep their order;
//! wall times drift from the system clock by well under a millisecond an
//! hour, as they would by NTP slew).
//!
//! Thread-safety: `Clock` is cheap to clone and shared; `calibrate` is meant
//! for the collector, everything else for any thread.

use crate::util::padded::Padded;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug)]
pub(crate) struct Clock(Arc<State>);

#[derive(Debug)]
struct State {
    /// Ticks are the time-stamp counter (else monotonic nanoseconds since
    /// `anchor`).
    tsc: bool,
    anchor: Instant,
    anchor_ticks: u64,
    anchor_unix_nanos: u64,
    /// Nanoseconds per tick, in 32.32 fixed point. Written by the
    /// collector; kept off the line every span start and end reads.
    scale: Padded<AtomicU64>,
    settled: AtomicBool,
}

/// A tick rate measured over less than this is refined no further by the
/// first calibration (it only has to be rough until the collector's).
const FIRST_CALIBRATION_NANOS: u128 = 20_000;

/// The tick rate is measured until this long after the anchor, then fixed.
const SETTLED_NANOS: u128 = 10_000_000_000;

impl Clock {
    pub(crate) fn new() -> Self {
        let tsc = tsc::invariant();
        let anchor = Instant::now();
        let anchor_ticks = if tsc { tsc::read() } else { 0 };
        let anchor_unix_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let clock = Clock(Arc::new(State {
            tsc,
            anchor,
            anchor_ticks,
            anchor_unix_nanos,
            scale: Padded(AtomicU64::new(1 << 32)),
            settled: AtomicBool::new(false),
        }));
        if tsc {
            while anchor.elapsed().as_nanos() < FIRST_CALIBRATION_NANOS {
                std::hint::spin_loop();
            }
            clock.calibrate();
        }
        clock
    }

    /// The current tick count (hot path).
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        if self.0.tsc {
            tsc::read()
        } else {
            self.0.anchor.elapsed().as_nanos() as u64
        }
    }

    /// Re-measures the tick rate over the whole time since the anchor,
    /// until the rate is settled.
    pub(crate) fn calibrate(&self) {
        let s = &*self.0;
        if !s.tsc || s.settled.load(Relaxed) {
            return;
        }
        let ticks = tsc::read().saturating_sub(s.anchor_ticks);
        let nanos = s.anchor.elapsed().as_nanos();
        if ticks > 0 {
            let scale = (nanos << 32) / u128::from(ticks);
            s.scale
                .store(u64::try_from(scale).unwrap_or(u64::MAX), Relaxed);
        }
        if nanos >= SETTLED_NANOS {
            s.settled.store(true, Relaxed);
        }
    }

    /// Nanoseconds from the anchor to `ticks`.
    fn since_anchor(&self, ticks: u64) -> u64 {
        let s = &*self.0;
        if !s.tsc {
            return ticks;
        }
        let d = u128::from(ticks.saturating_sub(s.anchor_ticks));
        // Saturates: `after` may have made `ticks` from a caller's offset of
        // up to u64::MAX nanoseconds.
        u64::try_from((d * u128::from(s.scale.load(Relaxed))) >> 32).unwrap_or(u64::MAX)
    }

    /// The tick count `nanos` after `start` (at the current rate).
    pub(crate) fn after(&self, start: u64, nanos: u64) -> u64 {
        let s = &*self.0;
        if !s.tsc {
            return start.saturating_add(nanos);
        }
        let scale = u128::from(s.scale.load(Relaxed).max(1));
        // Rounded up, so converting back gives `nanos` (to the nanosecond).
        let ticks = (u128::from(nanos) << 32).div_ceil(scale);
        start.saturating_add(u64::try_from(ticks).unwrap_or(u64::MAX))
    }

    pub(crate) fn unix_nanos(&self, ticks: u64) -> u64 {
        self.0
            .anchor_unix_nanos
            .saturating_add(self.since_anchor(ticks))
    }

    /// Nanoseconds between two tick counts (0 if `end` is earlier).
    pub(crate) fn nanos_between(&self, start: u64, end: u64) -> u64 {
        self.since_anchor(end)
            .saturating_sub(self.since_anchor(start))
    }
}

#[cfg(target_arch = "x86_64")]
mod tsc {
    /// True when the time-stamp counter ticks at a constant rate in every
    /// power state (CPUID 0x8000_0007, EDX bit 8), so it can time spans.
    pub(super) fn invariant() -> bool {
        // Leaves above the maximum extended leaf are checked first.
        let max = std::arch::x86_64::__cpuid(0x8000_0000).eax;
        max >= 0x8000_0007 && std::arch::x86_64::__cpuid(0x8000_0007).edx & (1 << 8) != 0
    }

    #[inline]
    pub(super) fn read() -> u64 {
        // SAFETY: RDTSC exists on every x86_64 CPU.
        unsafe { std::arch::x86_64::_rdtsc() }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod tsc {
    pub(super) fn invariant() -> bool {
        false
    }

    pub(super) fn read() -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ticks_convert_to_wall_time_within_a_millisecond() {
        let c = Clock::new();
        let t0 = c.now();
        let wall0 = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        std::thread::sleep(Duration::from_millis(30));
        let t1 = c.now();
        c.calibrate();
        let d = c.nanos_between(t0, t1);
        assert!(
            (30_000_000..40_000_000).contains(&d),
            "30 ms measured as {d} ns"
        );
        let diff = c.unix_nanos(t0).abs_diff(wall0);
        assert!(diff < 1_000_000, "off by {diff} ns");
        assert_eq!(c.nanos_between(t1, t0), 0);
    }
}

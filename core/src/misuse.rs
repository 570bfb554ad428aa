//! Misuse: a telemetry call the application made wrongly (a bad name, a
//! value that could not be recorded, a span ended twice, an argument the
//! call cannot use). At run time misuse never raises into the application:
//! it is counted here, per kind, and logged to stderr the first time each
//! kind is seen. The SDKs raise instead when the `strict` setting is on.
//!
//! Thread-safety: [`MisuseCounters::report`] may run on any thread; it takes
//! no lock and blocks only for the one stderr write of a kind's first report.

use crate::codes::misuse as code;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;

/// A kind of misuse; the codes are `codes::misuse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Misuse {
    /// A span, attribute or event name that is empty or not text.
    BadName,
    /// A value that could not be recorded at all (its conversion failed), so
    /// it was dropped, or a structure nested deeper than the SDK's limit,
    /// recorded with a marker in place of the too-deep part. A value
    /// recorded as a placeholder or a bounded text form is not misuse.
    BadValue,
    /// A span ended, or changed, after it ended.
    EndedTwice,
    /// An argument the call cannot use: NULL, an unknown code, a malformed
    /// span protocol message.
    BadCall,
    /// The user's mask function failed; the value it was given was dropped.
    MaskFailed,
}

impl Misuse {
    pub const ALL: [Misuse; 5] = [
        Misuse::BadName,
        Misuse::BadValue,
        Misuse::EndedTwice,
        Misuse::BadCall,
        Misuse::MaskFailed,
    ];

    pub fn code(self) -> u8 {
        match self {
            Misuse::BadName => code::BAD_NAME,
            Misuse::BadValue => code::BAD_VALUE,
            Misuse::EndedTwice => code::ENDED_TWICE,
            Misuse::BadCall => code::BAD_CALL,
            Misuse::MaskFailed => code::MASK_FAILED,
        }
    }

    /// The kind of a code; an unknown code is itself a bad call.
    pub fn from_code(code: u32) -> Misuse {
        Misuse::ALL
            .into_iter()
            .find(|m| u32::from(m.code()) == code)
            .unwrap_or(Misuse::BadCall)
    }

    /// The snake_case name used in stats output.
    pub fn name(self) -> &'static str {
        match self {
            Misuse::BadName => "bad_name",
            Misuse::BadValue => "bad_value",
            Misuse::EndedTwice => "ended_twice",
            Misuse::BadCall => "bad_call",
            Misuse::MaskFailed => "mask_failed",
        }
    }

    fn index(self) -> usize {
        usize::from(self.code()) - 1
    }
}

/// Misuse counted so far, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MisuseCounts {
    pub bad_name: u64,
    pub bad_value: u64,
    pub ended_twice: u64,
    pub bad_call: u64,
    pub mask_failed: u64,
}

impl MisuseCounts {
    pub fn get(&self, kind: Misuse) -> u64 {
        match kind {
            Misuse::BadName => self.bad_name,
            Misuse::BadValue => self.bad_value,
            Misuse::EndedTwice => self.ended_twice,
            Misuse::BadCall => self.bad_call,
            Misuse::MaskFailed => self.mask_failed,
        }
    }

    pub fn total(&self) -> u64 {
        Misuse::ALL.into_iter().map(|k| self.get(k)).sum()
    }
}

/// Counts misuse for one tracer (see [`crate::Tracer::misuse_reporter`]):
/// a cheap clone that does not keep the tracer's pipeline alive, for
/// objects that outlive their calls into the tracer (a C span handle).
#[derive(Clone, Debug, Default)]
pub struct MisuseReporter(pub(crate) Arc<MisuseCounters>);

impl MisuseReporter {
    /// Counts one misuse of `kind`; logs `detail` to stderr if it is the
    /// first of its kind for this tracer. Thread-safe, lock-free.
    pub fn report(&self, kind: Misuse, detail: &str) {
        self.0.report(kind, detail);
    }
}

/// A tracer's misuse counters.
#[derive(Debug, Default)]
pub(crate) struct MisuseCounters {
    counts: [AtomicU64; Misuse::ALL.len()],
    /// Bit `index` is set once that kind has been logged.
    logged: AtomicU8,
}

impl MisuseCounters {
    /// Counts one misuse of `kind`; logs `detail` if it is the kind's first.
    pub(crate) fn report(&self, kind: Misuse, detail: &str) {
        let i = kind.index();
        self.counts[i].fetch_add(1, Relaxed);
        let bit = 1u8 << i;
        if self.logged.fetch_or(bit, Relaxed) & bit == 0 {
            eprintln!(
                "agtrace: {detail} (misuse: {}; counted in stats(), further misuse of this kind is not logged)",
                kind.name()
            );
        }
    }

    pub(crate) fn snapshot(&self) -> MisuseCounts {
        let n = |k: Misuse| self.counts[k.index()].load(Relaxed);
        MisuseCounts {
            bad_name: n(Misuse::BadName),
            bad_value: n(Misuse::BadValue),
            ended_twice: n(Misuse::EndedTwice),
            bad_call: n(Misuse::BadCall),
            mask_failed: n(Misuse::MaskFailed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_code_and_counts_apart() {
        let c = MisuseCounters::default();
        for (n, k) in Misuse::ALL.into_iter().enumerate() {
            assert_eq!(Misuse::from_code(u32::from(k.code())), k);
            for _ in 0..=n {
                c.report(k, "test");
            }
        }
        let s = c.snapshot();
        for (n, k) in Misuse::ALL.into_iter().enumerate() {
            assert_eq!(s.get(k), n as u64 + 1, "{k:?}");
        }
        assert_eq!(s.total(), 15);
        assert_eq!(Misuse::from_code(99), Misuse::BadCall);
        assert_eq!(Misuse::from_code(0), Misuse::BadCall);
    }
}

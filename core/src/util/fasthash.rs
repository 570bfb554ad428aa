//! A small, fast, non-cryptographic hasher for the core's internal maps (span
//! ids, which are already random; short interned strings). Not for anything
//! attacker-chosen that must resist collisions.

use std::hash::{BuildHasherDefault, Hasher};

/// FxHash (as in rustc): one multiply and rotate per word.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

/// The last 1 to 7 bytes as one word, by at most two loads (overlapping
/// when the tail is not a power of two): no copy into a buffer, which would
/// be a `memcpy` call per hash. Distinct tails of one length give distinct
/// words, and `str` hashing mixes the length in after the bytes.
#[inline]
fn tail(rest: &[u8]) -> u64 {
    let n = rest.len();
    let word = |at: usize, width: usize| -> u64 {
        let mut w = 0u64;
        for (i, b) in rest[at..at + width].iter().enumerate() {
            w |= u64::from(*b) << (8 * i);
        }
        w
    };
    if n >= 4 {
        word(0, 4) | word(n - 4, 4) << 32
    } else {
        u64::from(rest[0]) | u64::from(rest[n / 2]) << 8 | u64::from(rest[n - 1]) << 16
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.add(tail(rest));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub(crate) type FxHashSet<K> = std::collections::HashSet<K, FxBuild>;

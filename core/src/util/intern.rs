//! Interning of span names and attribute keys passed in as owned strings (by
//! the C ABI and the bindings), so the hot path allocates nothing for them
//! and the export thread frees nothing.
//!
//! Names and keys are low-cardinality in practice, but not always: a caller
//! may put an id in a span name. So a string is interned only on its second
//! sighting: the first one leaves its hash in a small table of recent
//! sightings (fixed size: a newer hash pushes the oldest of its bucket out)
//! and is copied. One-off strings thus never use the budget, and a name used
//! repeatedly is interned even after any number of one-off names went
//! through. Each interned string is stored once for the life of the process,
//! up to a fixed budget; past it strings are copied, so a caller repeating
//! unbounded names costs memory only up to the budget.
//!
//! Short attribute values passed in by the bindings (a model, a tool, a
//! provider: the same on most spans) go through [`intern_value`]: a value is
//! interned once it repeats on one thread (a per-thread table of recent
//! sightings, no lock), within its own share of the budget, so values cannot
//! crowd names and keys out; a value seen once takes no lock and is copied.
//! An interned value costs the hot path no allocation, and the collector,
//! on another thread, frees nothing (a free on another thread than the
//! allocation's sends the allocator down its slow path on both threads).
//!
//! Thread-safe. Lookups of interned strings hit a per-thread cache without
//! locks; anything else takes one global lock, held for a hash-set lookup, one
//! hash and at most one copy, never for I/O.

use crate::model::value::Str;
use crate::util::fasthash::{FxBuild, FxHashSet};
use std::cell::{Cell, RefCell};
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

/// Most bytes (and strings) kept for the life of the process.
const BUDGET_BYTES: usize = 256 * 1024;
const BUDGET_STRINGS: usize = 8192;
/// Longer strings are never interned: they are unlikely to repeat.
const MAX_LEN: usize = 128;
/// Longer values are never interned.
const MAX_VALUE_LEN: usize = 64;
/// The share of [`BUDGET_BYTES`] values may take.
const VALUE_BUDGET_BYTES: usize = BUDGET_BYTES / 4;
/// Slots of the per-thread table of recent value sightings (a power of two).
const SEEN_HERE_SLOTS: usize = 256;
/// Buckets of the recent-sightings table (a power of two), each holding the
/// last [`SEEN_WAYS`] hashes that fell in it: 32 KiB. A name is interned if it
/// comes back before that many newer strings land in its bucket, which
/// against a flood of one-off names takes about 4000 of them; several names
/// in use that share a bucket all fit.
const SEEN_BUCKETS: usize = 1024;
const SEEN_WAYS: usize = 4;

struct Global {
    strings: FxHashSet<&'static str>,
    bytes: usize,
    /// The part of `bytes`, and the number of strings, interned by
    /// [`intern_value`].
    value_bytes: usize,
    values: usize,
    /// Hashes of strings seen once and not interned, newest first in each
    /// bucket; 0 is an empty way.
    seen: Box<[[u64; SEEN_WAYS]]>,
    /// Keys for those hashes. SipHash, randomly keyed: FxHash collides on
    /// names that differ only in a few digits, and a collision would intern a
    /// one-off name.
    keys: RandomState,
}

static GLOBAL: Mutex<Option<Global>> = Mutex::new(None);

thread_local! {
    static LOCAL: RefCell<FxHashSet<&'static str>> = RefCell::new(FxHashSet::default());
    /// Hashes of values recently seen on this thread, by slot (0: none).
    static SEEN_HERE: [Cell<u64>; SEEN_HERE_SLOTS] = const { [const { Cell::new(0) }; SEEN_HERE_SLOTS] };
}

fn local_hit(s: &str) -> Option<&'static str> {
    LOCAL
        .try_with(|l| l.borrow().get(s).copied())
        .ok()
        .flatten()
}

/// A `'static` copy of the attribute value `s` once it repeats on this
/// thread (and within the values' budget), an owned copy otherwise.
pub fn intern_value(s: &str) -> Str {
    if s.len() > MAX_VALUE_LEN {
        return Str::Owned(s.to_string());
    }
    if let Some(found) = local_hit(s) {
        return Str::Borrowed(found);
    }
    let hash = FxBuild::default().hash_one(s) | 1;
    let repeated = SEEN_HERE
        .try_with(|seen| {
            let slot = &seen[hash as usize & (SEEN_HERE_SLOTS - 1)];
            slot.replace(hash) == hash
        })
        .unwrap_or(false);
    if repeated {
        if let Some(found) = intern_global_value(s) {
            let _ = LOCAL.try_with(|l| l.borrow_mut().insert(found));
            return Str::Borrowed(found);
        }
    }
    Str::Owned(s.to_string())
}

/// A `'static` copy of `s` when it is interned (from its second sighting, and
/// within the budget), an owned copy otherwise.
pub fn intern(s: &str) -> Str {
    if s.len() > MAX_LEN {
        return Str::Owned(s.to_string());
    }
    if let Some(found) = local_hit(s) {
        return Str::Borrowed(found);
    }
    match intern_global(s) {
        Some(found) => {
            let _ = LOCAL.try_with(|l| l.borrow_mut().insert(found));
            Str::Borrowed(found)
        }
        None => Str::Owned(s.to_string()),
    }
}

fn global() -> std::sync::MutexGuard<'static, Option<Global>> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn get_or_init(g: &mut Option<Global>) -> &mut Global {
    g.get_or_insert_with(|| Global {
        strings: FxHashSet::default(),
        bytes: 0,
        value_bytes: 0,
        values: 0,
        seen: vec![[0; SEEN_WAYS]; SEEN_BUCKETS].into_boxed_slice(),
        keys: RandomState::new(),
    })
}

/// Interns a value that repeated on one thread, within the values' share.
fn intern_global_value(s: &str) -> Option<&'static str> {
    let mut guard = global();
    let g = get_or_init(&mut guard);
    if let Some(found) = g.strings.get(s) {
        return Some(found);
    }
    if g.value_bytes + s.len() > VALUE_BUDGET_BYTES
        || g.bytes + s.len() > BUDGET_BYTES
        || g.strings.len() >= BUDGET_STRINGS
    {
        return None;
    }
    // Leaked as in `intern_global`, within the budget.
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    g.strings.insert(leaked);
    g.bytes += s.len();
    g.value_bytes += s.len();
    g.values += 1;
    Some(leaked)
}

fn intern_global(s: &str) -> Option<&'static str> {
    let mut guard = global();
    let g = get_or_init(&mut guard);
    if let Some(found) = g.strings.get(s) {
        return Some(found);
    }
    // Never 0, the empty way.
    let hash = g.keys.hash_one(s) | 1;
    let bucket = &mut g.seen[(hash >> (64 - SEEN_BUCKETS.trailing_zeros())) as usize];
    let Some(way) = bucket.iter().position(|h| *h == hash) else {
        bucket.copy_within(..SEEN_WAYS - 1, 1);
        bucket[0] = hash;
        return None;
    };
    if g.bytes + s.len() > BUDGET_BYTES || g.strings.len() >= BUDGET_STRINGS {
        return None;
    }
    bucket[way] = 0;
    // Deliberately leaked: interned strings live as long as the process,
    // bounded by the budget above.
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    g.strings.insert(leaked);
    g.bytes += s.len();
    Some(leaked)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interns `s` by using it until it is (other tests share the table of
    /// sightings, so one of theirs may take its slot in between).
    fn used_until_interned(s: &str) -> &'static str {
        for _ in 0..20 {
            if let Str::Borrowed(found) = intern(s) {
                return found;
            }
        }
        panic!("{s:?} never interned")
    }

    #[test]
    fn repeated_strings_share_one_static_copy() {
        let a = used_until_interned("chat gpt-4o");
        let b = std::thread::spawn(|| intern("chat gpt-4o")).join().unwrap();
        match b {
            Str::Borrowed(b) => assert!(std::ptr::eq(a, b)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_value_is_interned_when_it_repeats_on_a_thread_and_unique_values_are_copied() {
        assert!(matches!(intern_value("gpt-4o-2024-08-06 v"), Str::Owned(_)));
        let Str::Borrowed(a) = intern_value("gpt-4o-2024-08-06 v") else {
            panic!("a repeated value is interned");
        };
        match intern_value("gpt-4o-2024-08-06 v") {
            Str::Borrowed(b) => assert!(std::ptr::eq(a, b)),
            other => panic!("{other:?}"),
        }
        for i in 0..10_000 {
            let id = format!("request {i:06}");
            assert!(matches!(intern_value(&id), Str::Owned(_)), "{id}");
        }
        assert!(matches!(
            intern_value(&"v".repeat(MAX_VALUE_LEN + 1)),
            Str::Owned(_)
        ));
    }

    #[test]
    fn values_cannot_take_more_than_their_share_of_the_budget() {
        for i in 0..20_000 {
            let v = format!("repeated value number {i:08} with some padding..");
            intern_value(&v);
            intern_value(&v);
        }
        let g = GLOBAL.lock().unwrap();
        let g = g.as_ref().unwrap();
        assert!(g.value_bytes <= VALUE_BUDGET_BYTES);
        assert!(g.value_bytes > VALUE_BUDGET_BYTES / 2, "{}", g.value_bytes);
    }

    #[test]
    fn a_string_seen_once_is_copied() {
        assert!(matches!(intern("seen once: 5f0c1e"), Str::Owned(_)));
    }

    #[test]
    fn long_strings_are_copied() {
        let long = "x".repeat(MAX_LEN + 1);
        assert!(matches!(intern(&long), Str::Owned(_)));
        assert!(matches!(intern(&long), Str::Owned(_)));
    }

    #[test]
    fn a_hot_name_is_interned_after_100k_one_off_names() {
        for i in 0..100_000 {
            let name = format!("chat request {i:08}");
            assert_eq!(intern(&name), name.as_str());
        }
        let hot = used_until_interned("invoke_agent planner after the flood");
        for _ in 0..3 {
            match intern("invoke_agent planner after the flood") {
                Str::Borrowed(again) => assert!(std::ptr::eq(hot, again)),
                other => panic!("{other:?}"),
            }
        }
        // The one-off names took none of the budget (values interned by
        // other tests meanwhile are counted apart).
        let g = GLOBAL.lock().unwrap();
        let g = g.as_ref().unwrap();
        let names = g.strings.len() - g.values;
        assert!(names < 100, "{names} interned");
    }

    #[test]
    fn threads_interning_at_once_agree_on_one_copy() {
        let names: Vec<String> = (0..64).map(|i| format!("thread-shared name {i}")).collect();
        let per_thread: Vec<Vec<usize>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|t| {
                    let names = &names;
                    s.spawn(move || {
                        let mut addrs = vec![0; names.len()];
                        for round in 0..50 {
                            for (i, name) in names.iter().enumerate() {
                                // One-off names from every thread churn the
                                // sightings table meanwhile.
                                let once = format!("thread {t} round {round} name {i}");
                                assert_eq!(intern(&once), once.as_str());
                                match intern(name) {
                                    Str::Borrowed(found) => {
                                        assert_eq!(found, name.as_str());
                                        let addr = found.as_ptr() as usize;
                                        assert!(addrs[i] == 0 || addrs[i] == addr);
                                        addrs[i] = addr;
                                    }
                                    Str::Owned(copy) => assert_eq!(&copy, name),
                                }
                            }
                        }
                        addrs
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        for i in 0..names.len() {
            let addrs: Vec<usize> = per_thread.iter().map(|a| a[i]).collect();
            assert!(
                addrs.iter().all(|a| *a != 0),
                "{:?} never interned",
                names[i]
            );
            assert!(addrs.windows(2).all(|w| w[0] == w[1]), "one copy");
        }
    }
}

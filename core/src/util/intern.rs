//! Interning of span names and attribute keys passed in as owned strings (by
//! the C ABI and the bindings), so the hot path allocates nothing for them
//! and the export thread frees nothing.
//!
//! Names and keys are low-cardinality in practice. Each distinct string is
//! stored once for the life of the process, up to a fixed budget; past the
//! budget strings are simply copied, as before, so a caller passing
//! unbounded names costs memory only up to the budget. Lookups hit a
//! per-thread cache without locks; a miss takes one global lock.

use crate::model::value::Str;
use crate::util::fasthash::FxHashSet;
use std::cell::RefCell;
use std::sync::Mutex;

/// Most bytes (and strings) kept for the life of the process.
const BUDGET_BYTES: usize = 256 * 1024;
const BUDGET_STRINGS: usize = 8192;
/// Longer strings are never interned: they are unlikely to repeat.
const MAX_LEN: usize = 128;

struct Global {
    strings: FxHashSet<&'static str>,
    bytes: usize,
}

static GLOBAL: Mutex<Option<Global>> = Mutex::new(None);

thread_local! {
    static LOCAL: RefCell<FxHashSet<&'static str>> = RefCell::new(FxHashSet::default());
}

/// A `'static` copy of `s` when it fits the budget, an owned copy otherwise.
pub fn intern(s: &str) -> Str {
    if s.len() > MAX_LEN {
        return Str::Owned(s.to_string());
    }
    let hit = LOCAL
        .try_with(|l| l.borrow().get(s).copied())
        .ok()
        .flatten();
    if let Some(found) = hit {
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

fn intern_global(s: &str) -> Option<&'static str> {
    let mut guard = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let g = guard.get_or_insert_with(|| Global {
        strings: FxHashSet::default(),
        bytes: 0,
    });
    if let Some(found) = g.strings.get(s) {
        return Some(found);
    }
    if g.bytes + s.len() > BUDGET_BYTES || g.strings.len() >= BUDGET_STRINGS {
        return None;
    }
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

    #[test]
    fn repeated_strings_share_one_static_copy() {
        let a = intern("chat gpt-4o");
        let b = std::thread::spawn(|| intern("chat gpt-4o")).join().unwrap();
        match (a, b) {
            (Str::Borrowed(x), Str::Borrowed(y)) => assert!(std::ptr::eq(x, y)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn long_strings_are_copied() {
        let long = "x".repeat(MAX_LEN + 1);
        assert!(matches!(intern(&long), Str::Owned(_)));
    }
}

//! The size cap applied when a value is recorded, on the application's
//! thread, so that a huge value never sits in the queue at full size.
//!
//! The final cut is redaction's (`max_attribute_bytes`, see [`super::redact`]),
//! made on the export thread after secrets are scrubbed. Cutting at record
//! time to exactly that cap would cut before scrubbing: a secret straddling
//! the cut would survive as a prefix no pattern recognizes. So a recorded
//! string keeps [`RECORD_MARGIN`] bytes beyond the cap (room for any secret
//! shape that starts before the cap), and redaction makes the final cut.
//!
//! - Plain text longer than the cap plus margin is cut on a character
//!   boundary and ends with redaction's marker, `…[truncated N bytes]`; the
//!   final cut adds the N already removed to what it removes itself.
//! - A string that is a JSON object or array keeps its structure: its string
//!   leaves are shortened, longest first, as redaction does (so sensitive
//!   JSON keys stay keys, to be masked at export). Parsing costs about the
//!   value's size, paid only by values over the limit.
//!
//! Values of other types are small per element and left alone.

use super::redact::{cut_text, fit_json_text, Unit};
use crate::model::value::{Str, Value};
use std::borrow::Cow;

/// Bytes kept beyond the cap at record time: more than any built-in secret
/// shape needs to be recognized (the longest fixed-size one, a GitHub token,
/// is under 100 bytes).
pub const RECORD_MARGIN: usize = 1024;

/// Caps one string; `None` when it is within `limit` bytes.
pub(crate) fn cap_str(s: &str, limit: usize) -> Option<String> {
    if s.len() <= limit {
        return None;
    }
    fit_json_text(s, limit).or_else(|| cut_text(s, limit, Unit::Bytes))
}

/// Caps every string of `value` to `limit` bytes.
pub(crate) fn cap_value(value: &mut Value, limit: usize) {
    match value {
        Value::String(s) => cap_owned(s, limit),
        Value::StringArray(items) => items.iter_mut().for_each(|s| cap_owned(s, limit)),
        _ => {}
    }
}

/// Caps a name or description in place.
pub(crate) fn cap_owned(s: &mut Str, limit: usize) {
    if let Some(c) = cap_str(s, limit) {
        *s = Cow::Owned(c);
    }
}

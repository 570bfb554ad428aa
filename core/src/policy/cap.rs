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
//! - Inline media in an oversize string is replaced by its placeholder first
//!   (as redaction would, counted the same), so the placeholder describes
//!   the whole payload rather than a cut one, and a value that was large only
//!   by its media is not cut at all.
//! - Plain text longer than the cap plus margin is cut on a character
//!   boundary and ends with redaction's marker, `…[truncated N bytes]`; the
//!   final cut adds the N already removed to what it removes itself.
//! - A string that is a JSON object or array keeps its structure: its string
//!   leaves are shortened, longest first, as redaction does (so sensitive
//!   JSON keys stay keys, to be masked at export). Parsing costs about the
//!   value's size, paid only by values over the limit.
//!
//! Values of other types are small per element and left alone. A value
//! within the limit costs one length comparison.

use super::redact::{cut_text, fit_json_text, Unit};
use super::Policies;
use crate::model::value::{Str, Value};
use std::borrow::Cow;

/// Bytes kept beyond the cap at record time: more than any built-in secret
/// shape needs to be recognized (the longest fixed-size one, a GitHub token,
/// is under 100 bytes).
pub const RECORD_MARGIN: usize = 1024;

/// Caps one string to `limit` bytes; `None` when it is within.
fn cap_str(s: &str, limit: usize, policies: &Policies) -> Option<String> {
    if s.len() <= limit {
        return None;
    }
    let media = policies.redactor().replace_media_now(s);
    let s = media.as_deref().unwrap_or(s);
    if s.len() <= limit {
        return media;
    }
    fit_json_text(s, limit).or_else(|| cut_text(s, limit, Unit::Bytes))
}

/// Caps every string of `value` (see the module docs).
pub(crate) fn cap_value(value: &mut Value, policies: &Policies) {
    match value {
        Value::String(s) => cap_owned(s, policies),
        Value::StringArray(items) => items.iter_mut().for_each(|s| cap_owned(s, policies)),
        _ => {}
    }
}

/// Caps a name or description in place.
pub(crate) fn cap_owned(s: &mut Str, policies: &Policies) {
    if let Some(c) = cap_str(s, policies.value_cap(), policies) {
        *s = Cow::Owned(c);
    }
}

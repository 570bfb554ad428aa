//! Redaction and masking, applied in the core to every finished span before any
//! exporter sees it.
//!
//! A [`Redactor`] is compiled once from a [`RedactionConfig`] and applied, on
//! the export thread (never on the application's thread), to each record: its
//! attributes, its events' attributes, its links' attributes, and also its
//! name, its events' names and its status description (media, secret shapes
//! and the size cap only). Attribute *names* are scrubbed for secret shapes
//! too (an attribute named after an API key is renamed `[REDACTED]`, and the
//! rules of the new name apply to its value). The resource's attributes get
//! the same attribute rules once, when the tracer is built. Every language's
//! spans go through the same code, so masking is the same everywhere.
//!
//! # What happens to one attribute, in order
//!
//! 1. `gen_ai.tool.definitions` is removed when `include_tool_definitions` is
//!    off (`tool_definitions_removed`).
//! 2. A **sensitive attribute name** (see below) replaces the whole value, of
//!    any type, with the string `"[REDACTED]"` (`sensitive_key`).
//! 3. The **switches** replace, by attribute name, `gen_ai.input.messages`,
//!    `gen_ai.output.messages`, `gen_ai.system_instructions`
//!    (`redact_messages`), `gen_ai.tool.call.arguments`
//!    (`redact_tool_arguments`) and `gen_ai.tool.call.result`
//!    (`redact_tool_results`) with `"[REDACTED]"`.
//! 4. **String values** (and each element of a string array):
//!    - inline media (base64 data URLs, long base64 runs of images, audio,
//!      video or PDFs, also inside JSON text) is replaced first by a
//!      placeholder with its type, size and hash, per `media` (`media`, one
//!      count per payload; see [`super::media`]);
//!    - a value that is a JSON object or array is parsed; the value under every
//!      sensitive JSON key, at any depth, becomes `"[REDACTED]"`
//!      (`sensitive_key`); every string leaf is scrubbed for secret shapes; a
//!      string leaf that is itself a JSON object or array (OpenAI's
//!      `function.arguments`, for one) is walked the same way, up to
//!      [`MAX_EMBEDDED_JSON`] levels deep;
//!    - any other string is scrubbed for secret shapes: each match becomes
//!      `[REDACTED]` (`pattern:<name>`, one count per match).
//! 5. `max_message_chars` shortens the message-content attributes (the three
//!    message keys and the tool arguments and result) to at most that many
//!    characters (`message_truncated`).
//! 6. `max_attribute_bytes` caps every string value at that many UTF-8 bytes
//!    (`attribute_truncated`), so one huge prompt cannot break a batch.
//!
//! The span name and status description get the media rule too.
//!
//! A value nothing applied to is left exactly as it was, byte for byte. A JSON
//! value that was changed is re-serialized compactly (`serde_json`: object keys
//! come out sorted, integers beyond 64 bits become floats).
//!
//! # Sensitive keys
//!
//! Names are compared normalized: lowercased, with `-` and `_` dropped. A name
//! matches when its normalized form, or that of its last dotted segment, equals
//! a normalized list entry. So `http.request.header.authorization`, `API-Key`
//! and `apiKey` match, while `max_tokens`, `token_count` and
//! `gen_ai.usage.input_tokens` do not. The list is [`DEFAULT_SENSITIVE_KEYS`]
//! plus `sensitive_keys`, or only `sensitive_keys` when
//! `replace_sensitive_keys` is on.
//!
//! # Secret shapes
//!
//! The built-in patterns (`scrub_default_patterns`, on by default), each
//! counted as `pattern:<name>`:
//!
//! | name | matches |
//! |---|---|
//! | `private_key_block` | `-----BEGIN ... PRIVATE KEY-----` through its `END` line (or the end of the text) |
//! | `bearer` | `Bearer <token>`: the token only, kept as `Bearer [REDACTED]`; a token needs 8+ characters with a digit, or 20+ |
//! | `anthropic_key` | `sk-ant-` + 20 or more of `[A-Za-z0-9_-]`, with a digit |
//! | `openai_key` | `sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-` + 20 or more of `[A-Za-z0-9_-]`, with a digit |
//! | `github_token` | `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` + 36+ alphanumerics, `github_pat_` + 22+ |
//! | `aws_access_key` | `AKIA`/`ASIA` + 16 of `[0-9A-Z]`, as a whole word |
//! | `google_api_key` | `AIza` + 35 of `[0-9A-Za-z_-]` |
//! | `jwt` | `eyJ...` `.` `...` `.` `...` (three base64url segments) |
//!
//! Each must start at a word boundary, so `task-1234`, hex trace ids and UUIDs
//! are left alone. User patterns (`scrub_patterns`, Rust `regex` syntax) are
//! counted as `pattern:custom`; the whole match is replaced, or only the group
//! named `secret` when the pattern has one (`password=(?P<secret>\S+)` keeps
//! `password=`). Empty matches are ignored.
//!
//! # Truncation
//!
//! Limits count what ends up in the attribute, markers included: the result is
//! never longer than the limit (both limits must be at least [`MIN_LIMIT`]).
//!
//! - Plain text is cut on a character boundary and ends with
//!   `…[truncated N chars]` (`max_message_chars`) or `…[truncated N bytes]`
//!   (`max_attribute_bytes`), N being what was removed (including what the
//!   record-time cut of [`super::cap`] removed before).
//! - Secrets are scrubbed before any cut, and a cut leaves no part of one:
//!   when it splits a token holding a built-in pattern's literal (`sk-`,
//!   `AKIA`, `eyJ`, ... even glued to the text before it, where the pattern
//!   does not match), the token is cut back to before the literal.
//! - JSON objects and arrays stay valid JSON with the same structure: only
//!   string leaves (not keys, numbers or structure) are shortened, longest
//!   first. The algorithm finds, by binary search, the largest length `C` such
//!   that cutting every longer string leaf down to `C` (marker included; a leaf
//!   is never made longer than it was) brings the compact serialization within
//!   the limit; short fields such as `"role":"user"` survive intact. When even
//!   `C = 0` cannot fit (a huge array of small items), the value becomes the
//!   JSON string `"[truncated: N chars]"` (or `bytes`), N being the compact
//!   serialized length.
//!
//! # Counters
//!
//! [`Redactor::stats`] returns, per rule name, how many values (or, for
//! patterns, matches) it changed since creation; rules that never fired are
//! absent. Counting uses atomics: `apply` may run while `stats` is read.
//!
//! # Cost, and what is skipped
//!
//! `apply` runs on the collector thread for every span, so it does per span
//! only what depends on the values:
//!
//! - **Rules by name are cached.** Steps 2 and 3, and whether
//!   `max_message_chars` applies, depend on the name alone: they are worked
//!   out once per distinct name and kept in a bounded per-redactor cache (see
//!   `RuleCache`); `'static` and interned names are looked up by address.
//! - **Attributes the core derives are not scanned.** `agtrace.kind`,
//!   `gen_ai.operation.name` and `openinference.span.kind` are skipped when
//!   their value is one the core writes (a kind name such as `chat`, compared
//!   exactly) and no rule would change it; the rules are tried on those few
//!   values when the redactor is built. Any other value, which only a user can
//!   have set (any string under `gen_ai.operation.name`, say), is scanned like
//!   any attribute. Usage counts, rollups, cost and `agtrace.abandoned` are
//!   numbers or booleans: scanning never touches those, only the name rules,
//!   which still apply (a user who lists `input_tokens` as sensitive gets it
//!   masked).
//! - **Regexes run only behind a literal prefilter.** Each built-in needs a
//!   literal (`sk-`, `AKIA`, `eyJ`, `bearer` in any case, `-----BEGIN`, ...):
//!   one multi-literal search (Aho-Corasick) finds which occur, and only those
//!   built-ins' regexes run. A replacement (`[REDACTED]`) cannot create a
//!   built-in's literal, so the set found on the original text holds for the
//!   rest of the pass. User patterns are gated by the literals that start
//!   every one of their matches, extracted with `regex-syntax` (case variants
//!   of `(?i)` included); when some pattern has none (it starts with a large
//!   class, or can match the empty string) they are gated by one `RegexSet`
//!   pass as before. Text a replacement changed goes through every user
//!   pattern, since a user pattern may match `[REDACTED]` itself.
//! - **JSON nothing applies to is not parsed.** A JSON value within the
//!   limits, holding no pattern literal, is scanned as written for its keys
//!   (none sensitive) and string values (none that looks like JSON); when
//!   that holds it is left as is without building a `serde_json::Value` (see
//!   `Redactor::json_unchanged` for when it declines).
//!
//! None of this changes a result or a counter: the `prefiltered_scrub_*`,
//! `json_left_unparsed_*` and `the_rule_cache_*` tests compare against the
//! plain computation.

use super::media::{MediaPolicy, MediaScanner};
use crate::util::bounds;
use crate::util::fasthash::FxHashMap;
use crate::{Attribute, Error, SpanRecord, Status, Str, Value};
use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexSet};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, TryLockError};

/// What a masked value becomes.
pub const REDACTED: &str = "[REDACTED]";

/// The smallest accepted `max_message_chars` and `max_attribute_bytes`: room
/// for any truncation marker.
pub const MIN_LIMIT: usize = 64;

/// Default `max_attribute_bytes`: 32 KiB.
pub const DEFAULT_MAX_ATTRIBUTE_BYTES: usize = 32 * 1024;

/// How many levels of JSON embedded in JSON strings are walked for sensitive
/// keys.
pub const MAX_EMBEDDED_JSON: u8 = 2;

/// The built-in sensitive key names (compared normalized, see the module docs).
pub const DEFAULT_SENSITIVE_KEYS: &[&str] = &[
    "api_key",
    "apikey",
    "password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth",
    "authorization",
    "proxy_authorization",
    "cookie",
    "set_cookie",
    "session_key",
    "sessionid",
    "private_key",
    "credential",
    "credentials",
    "x_api_key",
    "bearer",
];

/// Redaction settings; `Default` gives the safe defaults. Deserializable as a
/// section of a configuration file (unknown keys are rejected), and
/// serializes to the same keys, so one feeds the other.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedactionConfig {
    /// Replace `gen_ai.input.messages`, `gen_ai.output.messages` and
    /// `gen_ai.system_instructions` with `"[REDACTED]"`. Default `false`.
    pub redact_messages: bool,
    /// Replace `gen_ai.tool.call.arguments` with `"[REDACTED]"`. Default `false`.
    pub redact_tool_arguments: bool,
    /// Replace `gen_ai.tool.call.result` with `"[REDACTED]"`. Default `false`.
    pub redact_tool_results: bool,
    /// Keep `gen_ai.tool.definitions`; `false` removes it. Default `true`.
    pub include_tool_definitions: bool,
    /// Shorten the message-content attributes (messages, system instructions,
    /// tool arguments and result) to this many characters, keeping JSON valid.
    /// Default `None`; at least [`MIN_LIMIT`].
    pub max_message_chars: Option<usize>,
    /// Cap on every string value, in UTF-8 bytes. Default 32 KiB; at least
    /// [`MIN_LIMIT`].
    pub max_attribute_bytes: usize,
    /// Sensitive key names. Default [`DEFAULT_SENSITIVE_KEYS`]; entries set here
    /// are added to the defaults unless `replace_sensitive_keys` is on.
    pub sensitive_keys: Vec<String>,
    /// `true`: `sensitive_keys` replaces the default list. Default `false`.
    pub replace_sensitive_keys: bool,
    /// Extra regular expressions (Rust `regex` syntax) scrubbed from every
    /// string value. Default none.
    pub scrub_patterns: Vec<String>,
    /// Scrub the built-in secret shapes. Default `true`.
    pub scrub_default_patterns: bool,
    /// Inline media (base64 images, audio, data URLs): a placeholder with
    /// type, size and hash (default), kept, or dropped (type and size
    /// only). See [`super::media`].
    pub media: MediaPolicy,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        RedactionConfig {
            redact_messages: false,
            redact_tool_arguments: false,
            redact_tool_results: false,
            include_tool_definitions: true,
            max_message_chars: None,
            max_attribute_bytes: DEFAULT_MAX_ATTRIBUTE_BYTES,
            sensitive_keys: DEFAULT_SENSITIVE_KEYS
                .iter()
                .map(|k| k.to_string())
                .collect(),
            replace_sensitive_keys: false,
            scrub_patterns: Vec::new(),
            scrub_default_patterns: true,
            media: MediaPolicy::Placeholder,
        }
    }
}

/// How many values each rule changed, by rule name (never values). Rules that
/// never fired are absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedactionStats {
    pub by_rule: BTreeMap<String, u64>,
}

impl RedactionStats {
    /// The count for one rule (0 when it never fired).
    pub fn get(&self, rule: &str) -> u64 {
        self.by_rule.get(rule).copied().unwrap_or(0)
    }
}

// Counter slots: the fixed rules, then one per built-in pattern, then custom.
const REDACT_MESSAGES: usize = 0;
const REDACT_TOOL_ARGUMENTS: usize = 1;
const REDACT_TOOL_RESULTS: usize = 2;
const TOOL_DEFINITIONS_REMOVED: usize = 3;
const MESSAGE_TRUNCATED: usize = 4;
const ATTRIBUTE_TRUNCATED: usize = 5;
const SENSITIVE_KEY: usize = 6;
const MEDIA: usize = 7;
const RULE_NAMES: [&str; 8] = [
    "redact_messages",
    "redact_tool_arguments",
    "redact_tool_results",
    "tool_definitions_removed",
    "message_truncated",
    "attribute_truncated",
    "sensitive_key",
    "media",
];
const PATTERN_BASE: usize = RULE_NAMES.len();
const CUSTOM_PATTERN: usize = PATTERN_BASE + BUILTINS.len();
const N_COUNTERS: usize = CUSTOM_PATTERN + 1;

fn counter_name(i: usize) -> String {
    match i {
        i if i < PATTERN_BASE => RULE_NAMES[i].to_string(),
        i if i < CUSTOM_PATTERN => format!("pattern:{}", BUILTINS[i - PATTERN_BASE].name),
        _ => "pattern:custom".to_string(),
    }
}

/// A built-in secret shape. `check` gets the matched secret and returns how
/// many of its leading bytes to redact, or `None` for a false positive.
/// Every match contains one of `literals` (ASCII case ignored when
/// `fold_case`): the prefilter runs the regex only on text holding one, which
/// the `builtins_need_their_literals` test checks against the pattern.
struct Builtin {
    name: &'static str,
    pattern: &'static str,
    check: fn(&str) -> Option<usize>,
    literals: &'static [&'static str],
    fold_case: bool,
}

fn whole(s: &str) -> Option<usize> {
    Some(s.len())
}

fn with_digit(s: &str) -> Option<usize> {
    s.bytes().any(|b| b.is_ascii_digit()).then_some(s.len())
}

/// A bearer token, minus sentence-ending dots; rejects prose ("bearer of").
fn bearer_token(s: &str) -> Option<usize> {
    let t = s.trim_end_matches('.');
    let digit = t.bytes().any(|b| b.is_ascii_digit());
    ((t.len() >= 8 && digit) || t.len() >= 20).then_some(t.len())
}

// Applied in this order (the first to match a secret counts it).
const BUILTINS: [Builtin; 8] = [
    Builtin {
        name: "private_key_block",
        pattern: r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY-----(?s:.)*?(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY-----|\z)",
        check: whole,
        literals: &["-----BEGIN"],
        fold_case: false,
    },
    Builtin {
        name: "bearer",
        pattern: r"(?-u:\b)(?i-u:bearer)[ \t]+(?P<secret>[A-Za-z0-9._~+/-]+=*)",
        check: bearer_token,
        literals: &["bearer"],
        fold_case: true,
    },
    Builtin {
        name: "anthropic_key",
        pattern: r"(?-u:\b)sk-ant-[A-Za-z0-9_-]{20,}",
        check: with_digit,
        literals: &["sk-ant-"],
        fold_case: false,
    },
    Builtin {
        name: "openai_key",
        pattern: r"(?-u:\b)sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
        check: with_digit,
        literals: &["sk-"],
        fold_case: false,
    },
    Builtin {
        name: "github_token",
        pattern: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        check: whole,
        literals: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        fold_case: false,
    },
    Builtin {
        name: "aws_access_key",
        pattern: r"(?-u:\b)(?:AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)",
        check: whole,
        literals: &["AKIA", "ASIA"],
        fold_case: false,
    },
    Builtin {
        name: "google_api_key",
        pattern: r"(?-u:\b)AIza[0-9A-Za-z_-]{35}",
        check: whole,
        literals: &["AIza"],
        fold_case: false,
    },
    Builtin {
        name: "jwt",
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
        check: whole,
        literals: &["eyJ"],
        fold_case: false,
    },
];

/// No built-in pattern can match (and pass its check) in fewer bytes: the
/// shortest is a JWT, `eyJ` + 4 + `.` + 4 + `.`.
const MIN_BUILTIN_MATCH: usize = 13;

/// One compiled scrub pattern.
struct Pattern {
    re: Regex,
    /// Index of the capture group named `secret`, if any.
    secret_group: Option<usize>,
    check: fn(&str) -> Option<usize>,
    counter: usize,
}

impl Pattern {
    fn new(
        pattern: &str,
        check: fn(&str) -> Option<usize>,
        counter: usize,
    ) -> Result<Self, String> {
        let re = Regex::new(pattern).map_err(|e| e.to_string())?;
        let secret_group = re.capture_names().position(|n| n == Some("secret"));
        Ok(Pattern {
            re,
            secret_group,
            check,
            counter,
        })
    }

    /// `text` with every match (or its `secret` group) replaced, or `None` if
    /// nothing matched.
    fn replace(&self, text: &str, counts: &mut Counts) -> Option<String> {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut take = |m: regex::Match<'_>| {
            if let Some(n) = (self.check)(m.as_str()).filter(|n| *n > 0) {
                spans.push((m.start(), m.start() + n));
            }
        };
        match self.secret_group {
            Some(g) => self
                .re
                .captures_iter(text)
                .filter_map(|c| c.get(g))
                .for_each(&mut take),
            None => self.re.find_iter(text).for_each(&mut take),
        }
        if spans.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, end) in &spans {
            out.push_str(&text[last..*start]);
            out.push_str(REDACTED);
            last = *end;
        }
        out.push_str(&text[last..]);
        counts.0[self.counter] += spans.len() as u64;
        Some(out)
    }
}

/// Counts of one `apply` call, added to the shared atomics at its end.
struct Counts([u64; N_COUNTERS]);

/// The state of one `apply` call.
struct Pass<'a> {
    counts: &'a mut Counts,
    /// `None` when another thread holds the cache.
    cache: Option<&'a mut RuleCache>,
}

/// What happens to an attribute by its name alone.
#[derive(Clone, Copy, Debug, PartialEq)]
enum KeyRule {
    /// A sensitive name: the value becomes `[REDACTED]`.
    Sensitive,
    /// A content attribute whose switch is on: the value becomes
    /// `[REDACTED]`, counted under this rule.
    Switched(usize),
    /// String values are scanned (JSON keys, secret shapes, the byte cap);
    /// `content`: `max_message_chars` applies too.
    Scan { content: bool },
    /// A string attribute the core derives (`agtrace.kind`,
    /// `gen_ai.operation.name`, `openinference.span.kind`), index into
    /// `Redactor::derived`. A value the core writes, compared exactly, is
    /// skipped; anything else, which only a user can set, is scanned. The
    /// numeric ones (usage, rollups, cost, `agtrace.abandoned`) need no entry:
    /// only the name rules above ever touch a number or a boolean.
    Derived(usize),
    /// The name itself holds a secret shape: it is scrubbed, and the rule of
    /// the scrubbed name applies to the value.
    SecretName,
}

/// Most names a [`RuleCache`] holds before it starts over.
const RULE_CACHE_CAP: usize = 1024;
/// Longer owned names are not cached: they are unlikely to repeat.
const RULE_CACHE_MAX_KEY: usize = 128;

/// The rule of each attribute name seen, so names are normalized and matched
/// once per distinct name, not once per span. Names are low-cardinality in
/// practice (literals or interned); the cache is bounded all the same: a full
/// map is cleared, so a flood of one-off names costs refills, never memory,
/// and the names still in use come back on their next sighting.
///
/// One per [`Redactor`]: a rule change builds a new redactor, so no entry
/// outlives the rules it was worked out from. Held behind a mutex that `apply`
/// only tries: on the collector thread it is uncontended; a second thread
/// applying at the same moment works its rules out without the cache.
#[derive(Default)]
struct RuleCache {
    /// `'static` names by address and length: their bytes never change or go
    /// away, so the same address means the same name, and a lookup hashes two
    /// words instead of the name.
    by_addr: FxHashMap<(usize, usize), KeyRule>,
    /// Owned names by content.
    by_name: FxHashMap<Box<str>, KeyRule>,
}

impl RuleCache {
    fn get(&self, key: &Str) -> Option<KeyRule> {
        match key {
            Cow::Borrowed(k) => self.by_addr.get(&(k.as_ptr() as usize, k.len())),
            Cow::Owned(k) => self.by_name.get(k.as_str()),
        }
        .copied()
    }

    fn insert(&mut self, key: &Str, rule: KeyRule) {
        fn bounded<K: std::hash::Hash + Eq>(map: &mut FxHashMap<K, KeyRule>, k: K, rule: KeyRule) {
            if map.len() >= RULE_CACHE_CAP {
                map.clear();
            }
            map.insert(k, rule);
        }
        match key {
            Cow::Borrowed(k) => bounded(&mut self.by_addr, (k.as_ptr() as usize, k.len()), rule),
            Cow::Owned(k) if k.len() <= RULE_CACHE_MAX_KEY => {
                bounded(&mut self.by_name, k.as_str().into(), rule)
            }
            Cow::Owned(_) => {}
        }
    }
}

/// Which built-in patterns may match a text: one multi-literal search
/// (Aho-Corasick) in place of a regex pass, as a bit set (bit `i`:
/// `BUILTINS[i]`).
struct BuiltinGate {
    /// The case-sensitive literals. Kept apart from the folded ones so that
    /// this search keeps its SIMD prefilter, which case folding disables.
    exact: LiteralSet,
    /// The literals compared ASCII-case-insensitively (`bearer`).
    folded: LiteralSet,
}

/// Literals, each with the bit of the built-in that needs it.
struct LiteralSet {
    /// Leftmost-first: only this kind gets the SIMD (Teddy) prefilter, which
    /// makes the usual answer, "none here", cheap on long text.
    any: AhoCorasick,
    /// Standard semantics, for an overlapping search that finds every
    /// literal, even one inside another (`sk-` in `sk-ant-`) or overlapping
    /// it (`AKIA` then `AIza` in `AKIAIza`).
    each: AhoCorasick,
    bits: Vec<u8>,
}

impl LiteralSet {
    fn new(literals: &[(&str, u8)], fold_case: bool) -> Self {
        let build = |kind| {
            AhoCorasick::builder()
                .ascii_case_insensitive(fold_case)
                .match_kind(kind)
                .build(literals.iter().map(|(l, _)| l))
                .expect("built-in literals compile")
        };
        LiteralSet {
            any: build(MatchKind::LeftmostFirst),
            each: build(MatchKind::Standard),
            bits: literals.iter().map(|(_, bit)| *bit).collect(),
        }
    }

    fn candidates(&self, text: &str) -> u8 {
        if !self.any.is_match(text) {
            return 0;
        }
        self.each
            .find_overlapping_iter(text)
            .fold(0, |acc, m| acc | self.bits[m.pattern().as_usize()])
    }
}

impl BuiltinGate {
    fn new() -> Self {
        let mut exact = Vec::new();
        let mut folded = Vec::new();
        for (i, b) in BUILTINS.iter().enumerate() {
            let list = if b.fold_case { &mut folded } else { &mut exact };
            list.extend(b.literals.iter().map(|l| (*l, 1u8 << i)));
        }
        BuiltinGate {
            exact: LiteralSet::new(&exact, false),
            folded: LiteralSet::new(&folded, true),
        }
    }

    fn may_match(&self, text: &str) -> bool {
        self.exact.any.is_match(text) || self.folded.any.is_match(text)
    }

    fn candidates(&self, text: &str) -> u8 {
        self.exact.candidates(text) | self.folded.candidates(text)
    }
}

/// Whether some user pattern may match a text.
enum UserGate {
    /// Every match of every user pattern starts with one of these literals
    /// (extracted by `regex-syntax`, case variants of `(?i)` included), so
    /// text holding none of them cannot match. `escape_free`: no literal
    /// holds a byte a JSON escape other than `\u` can spell (`"`, `\`, `/`,
    /// control characters).
    Literals {
        literals: AhoCorasick,
        escape_free: bool,
    },
    /// Some pattern has no such literals (it can match the empty string, or
    /// starts with a large class): the patterns themselves, as one set.
    Set(RegexSet),
}

/// Literal sets larger than this are not worth a search of their own.
const MAX_USER_LITERALS: usize = 500;

impl UserGate {
    fn new(patterns: &[String]) -> Result<Self, regex::Error> {
        let mut literals = Vec::new();
        for p in patterns {
            match match_prefixes(p) {
                Some(l) if literals.len() + l.len() <= MAX_USER_LITERALS => literals.extend(l),
                _ => return RegexSet::new(patterns).map(UserGate::Set),
            }
        }
        let escape_free = literals
            .iter()
            .flatten()
            .all(|b| !matches!(b, b'"' | b'\\' | b'/' | 0..=0x1f));
        // Leftmost-first for the SIMD prefilter; only `is_match` is asked.
        let built = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&literals);
        match built {
            Ok(literals) => Ok(UserGate::Literals {
                literals,
                escape_free,
            }),
            Err(_) => RegexSet::new(patterns).map(UserGate::Set),
        }
    }

    fn may_match(&self, text: &str) -> bool {
        match self {
            UserGate::Literals { literals, .. } => literals.is_match(text),
            UserGate::Set(set) => set.is_match(text),
        }
    }
}

/// Literals one of which starts every match of `pattern` (as `Regex::new`
/// parses it), or `None` when there is no such finite set of non-empty ones.
fn match_prefixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::Extractor;
    let hir = regex_syntax::parse(pattern).ok()?;
    let seq = Extractor::new().extract(&hir);
    let literals = seq.literals()?;
    if literals.iter().any(|l| l.is_empty()) {
        return None;
    }
    Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect())
}

/// A compiled [`RedactionConfig`]: build once, apply to many records. `Send +
/// Sync`; `apply` takes `&self` and never blocks (see [`RuleCache`]).
pub struct Redactor {
    cfg: RedactionConfig,
    keys: KeySet,
    /// Built-ins first, then user patterns: applied in this order.
    patterns: Vec<Pattern>,
    /// Which built-ins may match a string; `None` when they are off.
    builtin_gate: Option<BuiltinGate>,
    /// Whether a user pattern may match a string; `None` without any.
    user_gate: Option<UserGate>,
    /// `None` when media is kept.
    media: Option<MediaScanner>,
    /// The string attributes the core derives, each with the values it
    /// writes that no rule changes (see [`KeyRule::Derived`]).
    derived: Vec<(&'static str, Vec<&'static str>)>,
    rules: Mutex<RuleCache>,
    counters: [AtomicU64; N_COUNTERS],
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("config", &self.cfg)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Redactor {
    /// Compiles `cfg`. Fails, naming the setting, on a bad regex in
    /// `scrub_patterns`, an empty sensitive key, or a limit out of its range
    /// ([`MIN_LIMIT`] to 16 MiB).
    pub fn new(cfg: &RedactionConfig) -> Result<Redactor, Error> {
        bounds::ATTRIBUTE_BYTES.check("max_attribute_bytes", cfg.max_attribute_bytes as u64)?;
        if let Some(n) = cfg.max_message_chars {
            bounds::MESSAGE_CHARS.check("max_message_chars", n as u64)?;
        }
        let defaults = DEFAULT_SENSITIVE_KEYS.iter().copied();
        let defaults = defaults.filter(|_| !cfg.replace_sensitive_keys);
        let mut keys = KeySet::default();
        for k in defaults.chain(cfg.sensitive_keys.iter().map(String::as_str)) {
            if !keys.insert(k) {
                return Err(Error::config("sensitive_keys", k, "empty key name"));
            }
        }

        let mut patterns = Vec::new();
        if cfg.scrub_default_patterns {
            for (i, b) in BUILTINS.iter().enumerate() {
                let p = Pattern::new(b.pattern, b.check, PATTERN_BASE + i)
                    .expect("built-in patterns compile");
                patterns.push(p);
            }
        }
        for p in &cfg.scrub_patterns {
            let compiled = Pattern::new(p, whole, CUSTOM_PATTERN)
                .map_err(|reason| Error::config("scrub_patterns", p, reason))?;
            patterns.push(compiled);
        }
        let builtin_gate = cfg.scrub_default_patterns.then(BuiltinGate::new);
        let user_gate = if cfg.scrub_patterns.is_empty() {
            None
        } else {
            Some(UserGate::new(&cfg.scrub_patterns).map_err(|e| {
                Error::config(
                    "scrub_patterns",
                    &cfg.scrub_patterns.join("\n"),
                    e.to_string(),
                )
            })?)
        };
        let mut redactor = Redactor {
            cfg: cfg.clone(),
            keys,
            patterns,
            builtin_gate,
            user_gate,
            media: MediaScanner::new(cfg.media),
            derived: Vec::new(),
            rules: Mutex::new(RuleCache::default()),
            counters: std::array::from_fn(|_| AtomicU64::new(0)),
        };
        redactor.derived = redactor.inert_derived_values();
        Ok(redactor)
    }

    /// For each string attribute the core derives whose name no rule masks,
    /// the values the core writes there that these rules leave unchanged. A
    /// user pattern can match such a value (`chat`, say): it is then not
    /// listed, and is scanned like any other.
    fn inert_derived_values(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        use crate::model::kind::SpanKind;
        use crate::model::semconv as sc;
        let kinds = SpanKind::ALL;
        let written: [(&'static str, Vec<&'static str>); 3] = [
            (sc::AGTRACE_KIND, kinds.iter().map(|k| k.as_str()).collect()),
            (
                sc::GEN_AI_OPERATION_NAME,
                kinds.iter().filter_map(|k| k.operation_name()).collect(),
            ),
            (
                sc::OPENINFERENCE_SPAN_KIND,
                kinds
                    .iter()
                    .filter_map(|k| k.openinference_kind())
                    .collect(),
            ),
        ];
        let mut scratch = Counts([0; N_COUNTERS]);
        written
            .into_iter()
            .filter(|(key, _)| self.rule_of(key) == KeyRule::Scan { content: false })
            .map(|(key, values)| {
                let inert = values
                    .into_iter()
                    .filter(|v| self.string_value(v, false, &mut scratch).is_none())
                    .collect();
                (key, inert)
            })
            .collect()
    }

    pub fn config(&self) -> &RedactionConfig {
        &self.cfg
    }

    /// Applies every rule to the span's attributes, its events' and links'
    /// attributes, and scrubs and caps its name and status description.
    pub fn apply(&self, record: &mut SpanRecord) {
        let mut counts = Counts([0; N_COUNTERS]);
        // Uncontended on the collector thread; a concurrent caller works out
        // the rules without the cache rather than wait.
        let mut cache = match self.rules.try_lock() {
            Ok(guard) => Some(guard),
            // The cache holds only complete entries whatever panicked.
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        };
        let cache = cache.as_deref_mut();
        let mut pass = Pass {
            counts: &mut counts,
            cache,
        };
        if !self.cfg.include_tool_definitions {
            let before = record.attributes.len();
            record
                .attributes
                .retain(|a| a.key != crate::model::semconv::GEN_AI_TOOL_DEFINITIONS);
            pass.counts.0[TOOL_DEFINITIONS_REMOVED] += (before - record.attributes.len()) as u64;
        }
        for a in record.attributes.iter_mut() {
            self.attribute(a, &mut pass);
        }
        for e in &mut record.events {
            if let Some(n) = self.plain(&e.name, pass.counts) {
                e.name = Cow::Owned(n);
            }
            self.attribute_list(&mut e.attributes, &mut pass);
        }
        for l in &mut record.links {
            self.attribute_list(&mut l.attributes, &mut pass);
        }
        if let Some(n) = self.plain(&record.name, &mut counts) {
            record.name = Cow::Owned(n);
        }
        if let Status::Error(msg) = &mut record.status {
            if let Some(n) = self.plain(msg, &mut counts) {
                *msg = Cow::Owned(n);
            }
        }
        self.commit(&counts);
    }

    /// Applies the attribute rules to attributes outside any span: the
    /// resource's, once, when the exporters are built.
    pub(crate) fn apply_to_attributes(&self, attrs: &mut Vec<Attribute>) {
        let mut counts = Counts([0; N_COUNTERS]);
        let mut pass = Pass {
            counts: &mut counts,
            cache: None,
        };
        self.attribute_list(attrs, &mut pass);
        self.commit(&counts);
    }

    fn commit(&self, counts: &Counts) {
        for (c, n) in self.counters.iter().zip(counts.0) {
            if n > 0 {
                c.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// `s` with its inline media replaced now, counted as at export; `None`
    /// when there is none (or the policy keeps media). For the record-time
    /// cap (see [`super::cap`]).
    pub(crate) fn replace_media_now(&self, s: &str) -> Option<String> {
        let (text, n) = self.media.as_ref()?.replace(s)?;
        self.counters[MEDIA].fetch_add(n, Ordering::Relaxed);
        Some(text)
    }

    /// Counts by rule since creation.
    pub fn stats(&self) -> RedactionStats {
        let by_rule = self
            .counters
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .map(|(i, n)| (counter_name(i), n))
            .collect();
        RedactionStats { by_rule }
    }

    fn attribute_list(&self, attrs: &mut Vec<Attribute>, pass: &mut Pass<'_>) {
        if !self.cfg.include_tool_definitions {
            let before = attrs.len();
            attrs.retain(|a| a.key != crate::model::semconv::GEN_AI_TOOL_DEFINITIONS);
            pass.counts.0[TOOL_DEFINITIONS_REMOVED] += (before - attrs.len()) as u64;
        }
        for a in attrs {
            self.attribute(a, pass);
        }
    }

    fn attribute(&self, a: &mut Attribute, pass: &mut Pass<'_>) {
        let counts = &mut *pass.counts;
        let mut rule = self.rule(&a.key, pass.cache.as_deref_mut());
        if rule == KeyRule::SecretName {
            if let Cow::Owned(k) = self.scrub(&a.key, counts) {
                a.key = Cow::Owned(k);
            }
            rule = self.rule_by_name(&a.key);
        }
        let content = match rule {
            KeyRule::Sensitive => return self.mask(&mut a.value, SENSITIVE_KEY, counts),
            KeyRule::Switched(rule) => return self.mask(&mut a.value, rule, counts),
            KeyRule::Derived(i) => {
                let (_, inert) = &self.derived[i];
                if let Value::String(s) = &a.value {
                    if inert.iter().any(|v| *v == &**s) {
                        return;
                    }
                }
                false
            }
            KeyRule::Scan { content } => content,
            KeyRule::SecretName => false,
        };
        match &mut a.value {
            Value::String(s) => {
                if let Some(n) = self.string_value(s, content, counts) {
                    *s = Cow::Owned(n);
                }
            }
            Value::StringArray(items) => {
                for s in items {
                    if let Some(n) = self.string_value(s, content, counts) {
                        *s = Cow::Owned(n);
                    }
                }
            }
            _ => {}
        }
    }

    /// Replaces the whole value with `[REDACTED]`, counted under `rule`
    /// unless it already was.
    fn mask(&self, value: &mut Value, rule: usize, counts: &mut Counts) {
        if value.as_str() != Some(REDACTED) {
            *value = Value::String(Cow::Borrowed(REDACTED));
            counts.0[rule] += 1;
        }
    }

    /// The rule for an attribute name: from the cache, or worked out (and
    /// cached when there is one).
    fn rule(&self, key: &Str, cache: Option<&mut RuleCache>) -> KeyRule {
        let Some(cache) = cache else {
            return self.rule_of(key);
        };
        if let Some(rule) = cache.get(key) {
            return rule;
        }
        let rule = self.rule_of(key);
        cache.insert(key, rule);
        rule
    }

    /// Works out the rule for an attribute name: [`KeyRule::SecretName`]
    /// when it holds a secret shape, else [`Redactor::rule_by_name`].
    fn rule_of(&self, key: &str) -> KeyRule {
        match self.scrub(key, &mut Counts([0; N_COUNTERS])) {
            Cow::Owned(_) => KeyRule::SecretName,
            Cow::Borrowed(_) => self.rule_by_name(key),
        }
    }

    /// Steps 2 and 3 of the module docs for a name, and whether the size cap
    /// for message content applies.
    fn rule_by_name(&self, key: &str) -> KeyRule {
        use crate::model::semconv as sc;
        if self.is_sensitive(key) {
            return KeyRule::Sensitive;
        }
        let switched = |on: bool, rule: usize| {
            if on {
                KeyRule::Switched(rule)
            } else {
                KeyRule::Scan { content: true }
            }
        };
        match key {
            sc::GEN_AI_INPUT_MESSAGES
            | sc::GEN_AI_OUTPUT_MESSAGES
            | sc::GEN_AI_SYSTEM_INSTRUCTIONS => switched(self.cfg.redact_messages, REDACT_MESSAGES),
            sc::GEN_AI_TOOL_CALL_ARGUMENTS => {
                switched(self.cfg.redact_tool_arguments, REDACT_TOOL_ARGUMENTS)
            }
            sc::GEN_AI_TOOL_CALL_RESULT => {
                switched(self.cfg.redact_tool_results, REDACT_TOOL_RESULTS)
            }
            _ => match self.derived.iter().position(|(k, _)| *k == key) {
                Some(i) => KeyRule::Derived(i),
                None => KeyRule::Scan { content: false },
            },
        }
    }

    /// Rules 4 to 6 for one string value; `None` when it is left as is.
    fn string_value(&self, s: &str, content: bool, counts: &mut Counts) -> Option<String> {
        match self.media(s, counts) {
            Some(m) => Some(self.string_rules(&m, content, counts).unwrap_or(m)),
            None => self.string_rules(s, content, counts),
        }
    }

    /// `s` with its inline media replaced, or `None` when there is none.
    fn media(&self, s: &str, counts: &mut Counts) -> Option<String> {
        let (text, n) = self.media.as_ref()?.replace(s)?;
        counts.0[MEDIA] += n;
        Some(text)
    }

    /// Rule 4 after media, and rules 5 and 6.
    fn string_rules(&self, s: &str, content: bool, counts: &mut Counts) -> Option<String> {
        let json = looks_like_json(s);
        if json && self.json_unchanged(s, content) {
            return None;
        }
        self.string_value_parsed(s, json, content, counts)
    }

    /// [`Redactor::string_value`] the long way: JSON parsed and walked.
    fn string_value_parsed(
        &self,
        s: &str,
        looks_like_json: bool,
        content: bool,
        counts: &mut Counts,
    ) -> Option<String> {
        let json = if looks_like_json {
            serde_json::from_str::<Json>(s).ok()
        } else {
            None
        };
        match json {
            Some(mut v) => {
                let mut changed = self.walk(&mut v, 0, counts);
                let limits = [
                    self.cfg
                        .max_message_chars
                        .filter(|_| content)
                        .map(|n| (n, Unit::Chars, MESSAGE_TRUNCATED)),
                    Some((
                        self.cfg.max_attribute_bytes,
                        Unit::Bytes,
                        ATTRIBUTE_TRUNCATED,
                    )),
                ];
                // The compact serialization of `v`, while still current.
                let mut out: Option<String> = None;
                for (limit, unit, rule) in limits.into_iter().flatten() {
                    // Unchanged, the output is `s` itself: no need to measure
                    // the re-serialized form unless `s` is over the limit.
                    if !changed && s.len() <= limit {
                        continue;
                    }
                    let current = out.take().unwrap_or_else(|| to_json(&v));
                    let total = unit.len(&current);
                    if total <= limit {
                        // `s` may be over the limit only by its whitespace.
                        changed |= unit.len(s) > limit;
                        out = Some(current);
                        continue;
                    }
                    changed = true;
                    counts.0[rule] += 1;
                    if !fit_json(&mut v, total, limit, unit) {
                        v = Json::String(format!("[truncated: {total} {}]", unit.name()));
                    }
                }
                changed.then(|| out.unwrap_or_else(|| to_json(&v)))
            }
            None => {
                let mut text = self.scrub(s, counts);
                if let Some(limit) = self.cfg.max_message_chars.filter(|_| content) {
                    if let Some(t) = cut_text(&text, limit, Unit::Chars) {
                        text = Cow::Owned(t);
                        counts.0[MESSAGE_TRUNCATED] += 1;
                    }
                }
                if let Some(t) = cut_text(&text, self.cfg.max_attribute_bytes, Unit::Bytes) {
                    text = Cow::Owned(t);
                    counts.0[ATTRIBUTE_TRUNCATED] += 1;
                }
                match text {
                    Cow::Owned(t) => Some(t),
                    Cow::Borrowed(_) => None,
                }
            }
        }
    }

    /// True when the rules provably leave the JSON-looking text `s` as it
    /// is, decided without parsing it (a parse and walk of a 1 KB message
    /// costs microseconds): it is within the limits, holds no literal a
    /// pattern needs, and of its strings no key is sensitive and no value
    /// looks like JSON. False means "parse and see".
    ///
    /// For valid JSON the scan finds every key: a string followed by `:`. A
    /// key or value with escapes is compared as written, which is why a `\u`
    /// escape anywhere (it can spell any character), an escaped key, and user
    /// literals that other escapes can spell (`"`, `\`, `/`, control
    /// characters) all mean "parse". Text that does not parse is scrubbed as
    /// plain text, which the same literal and limit checks leave unchanged.
    fn json_unchanged(&self, s: &str, content: bool) -> bool {
        let mut limit = self.cfg.max_attribute_bytes;
        if content {
            limit = limit.min(self.cfg.max_message_chars.unwrap_or(usize::MAX));
        }
        let user_ok = match &self.user_gate {
            None => true,
            Some(UserGate::Literals { escape_free, .. }) => *escape_free,
            Some(UserGate::Set(_)) => false,
        };
        let b = s.as_bytes();
        if s.len() > limit || !user_ok || memchr::memmem::find(b, b"\\u").is_some() {
            return false;
        }
        if self.builtin_gate.as_ref().is_some_and(|g| g.may_match(s))
            || self.user_gate.as_ref().is_some_and(|g| g.may_match(s))
        {
            return false;
        }
        let mut at = 0;
        while let Some(open) = memchr::memchr(b'"', &b[at..]).map(|i| at + i) {
            let mut close = open + 1;
            let mut escaped = false;
            loop {
                match memchr::memchr2(b'"', b'\\', &b[close..]) {
                    Some(i) if b[close + i] == b'\\' => {
                        escaped = true;
                        close += i + 2;
                        if close > b.len() {
                            return false;
                        }
                    }
                    Some(i) => {
                        close += i;
                        break;
                    }
                    None => return false,
                }
            }
            // Both ends are `"` bytes, so on char boundaries.
            let raw = &s[open + 1..close];
            let next = b[close + 1..]
                .iter()
                .find(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'));
            let unchanged = if next == Some(&b':') {
                !escaped && !self.is_sensitive(raw)
            } else {
                !starts_like_json(raw.as_bytes())
            };
            if !unchanged {
                return false;
            }
            at = close + 1;
        }
        true
    }

    /// Media, secret shapes and the byte cap only (span name, status
    /// description).
    fn plain(&self, s: &str, counts: &mut Counts) -> Option<String> {
        match self.media(s, counts) {
            Some(m) => Some(self.plain_rules(&m, counts).unwrap_or(m)),
            None => self.plain_rules(s, counts),
        }
    }

    /// Secret shapes and the byte cap.
    fn plain_rules(&self, s: &str, counts: &mut Counts) -> Option<String> {
        let mut text = self.scrub(s, counts);
        if let Some(t) = cut_text(&text, self.cfg.max_attribute_bytes, Unit::Bytes) {
            text = Cow::Owned(t);
            counts.0[ATTRIBUTE_TRUNCATED] += 1;
        }
        match text {
            Cow::Owned(t) => Some(t),
            Cow::Borrowed(_) => None,
        }
    }

    /// Masks sensitive keys and scrubs string leaves; true if anything changed.
    fn walk(&self, v: &mut Json, nest: u8, counts: &mut Counts) -> bool {
        match v {
            Json::Object(map) => {
                let mut changed = false;
                for (k, val) in map.iter_mut() {
                    if self.is_sensitive(k) {
                        if val.as_str() != Some(REDACTED) {
                            *val = Json::String(REDACTED.to_string());
                            counts.0[SENSITIVE_KEY] += 1;
                            changed = true;
                        }
                    } else {
                        changed |= self.walk(val, nest, counts);
                    }
                }
                changed
            }
            Json::Array(items) => items
                .iter_mut()
                .fold(false, |changed, x| self.walk(x, nest, counts) | changed),
            Json::String(s) => match self.leaf(s, nest + 1, counts) {
                Some(n) => {
                    *s = n;
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// A JSON string leaf: walked if it holds JSON itself, else scrubbed.
    fn leaf(&self, s: &str, nest: u8, counts: &mut Counts) -> Option<String> {
        if nest <= MAX_EMBEDDED_JSON && looks_like_json(s) {
            if let Ok(mut v) = serde_json::from_str::<Json>(s) {
                return self.walk(&mut v, nest, counts).then(|| to_json(&v));
            }
        }
        match self.scrub(s, counts) {
            Cow::Owned(t) => Some(t),
            Cow::Borrowed(_) => None,
        }
    }

    /// Replaces secret shapes. A pattern's regex runs only when the text
    /// holds a literal it needs; text holding none is returned as is after
    /// one multi-literal search.
    fn scrub<'a>(&self, s: &'a str, counts: &mut Counts) -> Cow<'a, str> {
        let builtins = match &self.builtin_gate {
            Some(gate) if s.len() >= MIN_BUILTIN_MATCH => gate.candidates(s),
            _ => 0,
        };
        let user = self.user_gate.as_ref().is_some_and(|g| g.may_match(s));
        if builtins == 0 && !user {
            return Cow::Borrowed(s);
        }
        let mut text = Cow::Borrowed(s);
        for p in &self.patterns {
            let run = match p.counter.checked_sub(PATTERN_BASE) {
                Some(i) if i < BUILTINS.len() => builtins & (1 << i) != 0,
                // A replacement can complete a user pattern's match (one
                // matching `[REDACTED]`, say): changed text gets them all.
                _ => user || matches!(text, Cow::Owned(_)),
            };
            if !run {
                continue;
            }
            if let Some(t) = p.replace(&text, counts) {
                text = Cow::Owned(t);
            }
        }
        text
    }

    fn is_sensitive(&self, key: &str) -> bool {
        let last = key.rsplit('.').next().unwrap_or(key);
        self.keys.contains(last)
            // A dotted name can only equal a dotted entry.
            || (last.len() < key.len() && self.keys.dotted && self.keys.contains(key))
    }
}

/// Normalized sensitive keys, bucketed by length: a lookup is a few byte
/// comparisons, without hashing or allocating.
#[derive(Default)]
struct KeySet {
    /// Index: normalized length in bytes.
    by_len: Vec<Vec<Box<[u8]>>>,
    /// Some entry contains a `.`.
    dotted: bool,
}

impl KeySet {
    /// False for a name that normalizes to nothing.
    fn insert(&mut self, key: &str) -> bool {
        let n = normalize(key);
        if n.is_empty() {
            return false;
        }
        if self.by_len.len() <= n.len() {
            self.by_len.resize_with(n.len() + 1, Vec::new);
        }
        self.dotted |= n.contains('.');
        let bucket = &mut self.by_len[n.len()];
        if !bucket.iter().any(|k| **k == *n.as_bytes()) {
            bucket.push(n.into_bytes().into_boxed_slice());
        }
        true
    }

    fn contains(&self, key: &str) -> bool {
        const STACK: usize = 64;
        let in_bucket = |n: &[u8]| {
            self.by_len
                .get(n.len())
                // The first byte before a full comparison: most names
                // differ there, and it saves a `memcmp` call.
                .is_some_and(|b| b.iter().any(|k| k.first() == n.first() && **k == *n))
        };
        let longest = self.by_len.len().saturating_sub(1);
        if !key.is_ascii() || longest > STACK {
            return in_bucket(normalize(key).as_bytes());
        }
        let mut buf = [0u8; STACK];
        let mut n = 0;
        for b in key.bytes().filter(|b| *b != b'-' && *b != b'_') {
            if n == longest {
                return false; // longer than any entry
            }
            buf[n] = b.to_ascii_lowercase();
            n += 1;
        }
        in_bucket(&buf[..n])
    }
}

/// Lowercased, without `-` and `_`.
fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A JSON object or array, by its first and last characters (cheap; the parse
/// decides).
fn looks_like_json(s: &str) -> bool {
    let b = s.trim_matches(|c: char| c.is_ascii_whitespace()).as_bytes();
    matches!(
        (b.first(), b.last()),
        (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']'))
    )
}

/// Whether a JSON string, as written between its quotes, might decode to
/// text that [`looks_like_json`]: its first character after whitespace
/// (written plainly or as an escape) is `{` or `[`. Errs towards yes.
fn starts_like_json(raw: &[u8]) -> bool {
    let mut i = 0;
    loop {
        match raw.get(i) {
            Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c) => i += 1,
            Some(b'\\') if matches!(raw.get(i + 1), Some(b'n' | b't' | b'r' | b'f')) => i += 2,
            Some(b'{' | b'[') => return true,
            _ => return false,
        }
    }
}

/// What a length limit counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Unit {
    Chars,
    Bytes,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Chars => "chars",
            Unit::Bytes => "bytes",
        }
    }

    fn len(self, s: &str) -> usize {
        match self {
            Unit::Chars => s.chars().count(),
            Unit::Bytes => s.len(),
        }
    }

    fn of(self, c: char) -> usize {
        match self {
            Unit::Chars => 1,
            Unit::Bytes => c.len_utf8(),
        }
    }

    /// Length of `c` inside a JSON string as serde_json writes it.
    fn escaped(self, c: char) -> usize {
        match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => self.of(c),
        }
    }

    /// `escaped` summed over `s`, counted bytewise.
    fn escaped_len(self, s: &str) -> usize {
        let extra: usize = s
            .bytes()
            .map(|b| match b {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
                0..=0x1f => 5,
                _ => 0,
            })
            .sum();
        self.len(s) + extra
    }
}

/// `…[truncated N chars]`.
fn marker(removed: usize, unit: Unit) -> String {
    format!("…[truncated {removed} {}]", unit.name())
}

/// Length of `marker(removed, unit)` in `unit`s, without formatting it.
fn marker_len(removed: usize, unit: Unit) -> usize {
    let digits = removed.checked_ilog10().unwrap_or(0) as usize + 1;
    unit.of('…') + "[truncated  ]".len() + digits + unit.name().len()
}

/// The longest prefix of `s` with at most `budget` units (escaped as in JSON
/// when `json`), as a byte index on a char boundary.
fn prefix_end(s: &str, budget: usize, unit: Unit, json: bool) -> usize {
    if !json && unit == Unit::Bytes {
        let mut end = budget.min(s.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        return end;
    }
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += if json { unit.escaped(c) } else { unit.of(c) };
        if used > budget {
            return i;
        }
    }
    s.len()
}

/// Plain text cut to at most `limit` units, marker included; `None` if it fits.
/// Text that an earlier cut (at record time, see [`super::cap`]) left ending
/// with a marker of the same unit gets one marker counting both cuts.
pub(crate) fn cut_text(s: &str, limit: usize, unit: Unit) -> Option<String> {
    if s.len() <= limit {
        return None; // bytes >= chars
    }
    let total = unit.len(s);
    if total <= limit {
        return None;
    }
    let (body, earlier) = earlier_cut(s, unit);
    let end = prefix_end(
        body,
        limit.saturating_sub(marker_len(total + earlier, unit)),
        unit,
        false,
    );
    let end = secret_safe_end(body, end);
    let removed = unit.len(&body[end..]) + earlier;
    Some(format!("{}{}", &body[..end], marker(removed, unit)))
}

/// `s` without the marker it ends with, and the count that marker reports;
/// `(s, 0)` when it ends with none.
fn earlier_cut(s: &str, unit: Unit) -> (&str, usize) {
    const OPEN: &str = "…[truncated ";
    let close = [" ", unit.name(), "]"].concat();
    let Some(rest) = s.strip_suffix(close.as_str()) else {
        return (s, 0);
    };
    match rest.rfind(OPEN) {
        Some(i) => match rest[i + OPEN.len()..].parse::<usize>() {
            Ok(n) => (&s[..i], n),
            Err(_) => (s, 0),
        },
        None => (s, 0),
    }
}

/// Bytes scanned back from a cut for the start of the token it splits.
const CUT_SCAN: usize = 1024;

/// `end`, or an earlier cut so that no prefix of a secret shape is left at
/// the end of the kept text: when the cut splits a token (a run of letters,
/// digits and `_-.+/=~`) holding a built-in pattern's literal (`sk-`,
/// `AKIA`, `eyJ`, ...), the token is cut back to before that literal; a
/// split token after `Bearer ` is dropped whole. A complete secret was
/// already scrubbed; a cut one is too short for its pattern to recognize.
fn secret_safe_end(s: &str, end: usize) -> usize {
    let b = s.as_bytes();
    let token = |c: u8| c.is_ascii_alphanumeric() || b"_-.+/=~".contains(&c);
    if end == 0 || end >= b.len() || !token(b[end - 1]) || !token(b[end]) {
        return end;
    }
    let floor = end.saturating_sub(CUT_SCAN);
    let mut start = end;
    while start > floor && token(b[start - 1]) {
        start -= 1;
    }
    let run = &b[start..end];
    let found = BUILTINS
        .iter()
        .flat_map(|p| p.literals.iter().map(move |l| (l, p.fold_case)))
        .filter_map(|(l, fold)| {
            let l = l.as_bytes();
            run.windows(l.len()).position(|w| {
                if fold {
                    w.eq_ignore_ascii_case(l)
                } else {
                    w == l
                }
            })
        })
        .min();
    if let Some(i) = found {
        return start + i;
    }
    let before = s[..start].trim_end_matches([' ', '\t']);
    let after_bearer = before.len() < start
        && before.len() >= 6
        && before.as_bytes()[before.len() - 6..].eq_ignore_ascii_case(b"bearer");
    if after_bearer {
        start
    } else {
        end
    }
}

/// A JSON object or array text shortened to at most `limit` bytes as
/// [`fit_json`] does (or the marker string when it cannot be); `None` when
/// `s` is no such JSON.
pub(crate) fn fit_json_text(s: &str, limit: usize) -> Option<String> {
    if !looks_like_json(s) {
        return None;
    }
    let mut v = serde_json::from_str::<Json>(s).ok()?;
    let compact = to_json(&v);
    let total = compact.len();
    if total <= limit {
        return Some(compact);
    }
    if !fit_json(&mut v, total, limit, Unit::Bytes) {
        v = Json::String(format!("[truncated: {total} bytes]"));
    }
    Some(to_json(&v))
}

/// Shortens the string leaves of `v`, whose compact serialization has `total`
/// units (more than `limit`), so that it has at most `limit` (see the module
/// docs for the algorithm). False, with `v` untouched, when shortening strings
/// cannot get there.
fn fit_json(v: &mut Json, total: usize, limit: usize, unit: Unit) -> bool {
    // Per string leaf, in walk order: (escaped length, longest marker).
    let mut leaves = Vec::new();
    collect_leaves(v, unit, &mut leaves);
    // Serialized length when every leaf longer than `c` is cut to `c` (but
    // never below its marker, and never made longer).
    let size_at = |c: usize| -> usize {
        let saved: usize = leaves.iter().map(|&(e, m)| e - e.min(c.max(m))).sum();
        total - saved
    };
    if size_at(0) > limit {
        return false;
    }
    let (mut lo, mut hi) = (0, leaves.iter().map(|l| l.0).max().unwrap_or(0));
    // size_at(lo) <= limit < size_at(hi)
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if size_at(mid) <= limit {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mut i = 0;
    cut_leaves(v, lo, unit, &leaves, &mut i);
    true
}

/// Compact JSON (infallible for a `serde_json::Value`).
fn to_json(v: &Json) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn collect_leaves(v: &Json, unit: Unit, out: &mut Vec<(usize, usize)>) {
    match v {
        Json::Object(map) => map.values().for_each(|x| collect_leaves(x, unit, out)),
        Json::Array(items) => items.iter().for_each(|x| collect_leaves(x, unit, out)),
        Json::String(s) => out.push((unit.escaped_len(s), marker_len(unit.len(s), unit))),
        _ => {}
    }
}

fn cut_leaves(v: &mut Json, c: usize, unit: Unit, leaves: &[(usize, usize)], i: &mut usize) {
    match v {
        Json::Object(map) => map
            .values_mut()
            .for_each(|x| cut_leaves(x, c, unit, leaves, i)),
        Json::Array(items) => items
            .iter_mut()
            .for_each(|x| cut_leaves(x, c, unit, leaves, i)),
        Json::String(s) => {
            let (e, m) = leaves[*i];
            *i += 1;
            let target = c.max(m);
            if e > target {
                // The actual marker is at most `m` long: it counts fewer units.
                let end = secret_safe_end(s, prefix_end(s, target - m, unit, true));
                let removed = unit.len(&s[end..]);
                let cut = format!("{}{}", &s[..end], marker(removed, unit));
                *s = cut;
            }
        }
        _ => {}
    }
}

/// Reads the `AGTRACE_REDACT_*` environment variables into `cfg`; only those
/// present (and not blank) override it.
///
/// | variable | sets | format |
/// |---|---|---|
/// | `AGTRACE_REDACT_MESSAGES` | `redact_messages` | boolean |
/// | `AGTRACE_REDACT_TOOL_ARGUMENTS` | `redact_tool_arguments` | boolean |
/// | `AGTRACE_REDACT_TOOL_RESULTS` | `redact_tool_results` | boolean |
/// | `AGTRACE_INCLUDE_TOOL_DEFINITIONS` | `include_tool_definitions` | boolean |
/// | `AGTRACE_MAX_MESSAGE_CHARS` | `max_message_chars` | integer >= 64 |
/// | `AGTRACE_MAX_ATTRIBUTE_BYTES` | `max_attribute_bytes` | integer >= 64 |
/// | `AGTRACE_SENSITIVE_KEYS` | `sensitive_keys` (added to the defaults) | comma-separated names |
/// | `AGTRACE_SENSITIVE_KEYS_REPLACE` | `replace_sensitive_keys` | boolean |
/// | `AGTRACE_SCRUB_PATTERNS` | `scrub_patterns` | one regex per line (newline-separated; each line trimmed, blank lines skipped) |
/// | `AGTRACE_SCRUB_DEFAULT_PATTERNS` | `scrub_default_patterns` | boolean |
/// | `AGTRACE_MEDIA` | `media` | `placeholder`, `keep` or `drop` (any case) |
///
/// Booleans: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, any case. A bad
/// value fails with `Error::InvalidConfig` naming the variable.
pub(crate) fn apply_env(
    cfg: &mut RedactionConfig,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Error> {
    let var = |name: &str| {
        get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let bools: [(&str, &mut bool); 6] = [
        ("AGTRACE_REDACT_MESSAGES", &mut cfg.redact_messages),
        (
            "AGTRACE_REDACT_TOOL_ARGUMENTS",
            &mut cfg.redact_tool_arguments,
        ),
        ("AGTRACE_REDACT_TOOL_RESULTS", &mut cfg.redact_tool_results),
        (
            "AGTRACE_INCLUDE_TOOL_DEFINITIONS",
            &mut cfg.include_tool_definitions,
        ),
        (
            "AGTRACE_SENSITIVE_KEYS_REPLACE",
            &mut cfg.replace_sensitive_keys,
        ),
        (
            "AGTRACE_SCRUB_DEFAULT_PATTERNS",
            &mut cfg.scrub_default_patterns,
        ),
    ];
    for (name, field) in bools {
        if let Some(v) = var(name) {
            *field = crate::util::parse::parse_bool(name, &v)?;
        }
    }
    if let Some(v) = var("AGTRACE_MAX_MESSAGE_CHARS") {
        cfg.max_message_chars = Some(parse_limit("AGTRACE_MAX_MESSAGE_CHARS", &v)?);
    }
    if let Some(v) = var("AGTRACE_MAX_ATTRIBUTE_BYTES") {
        cfg.max_attribute_bytes = parse_limit("AGTRACE_MAX_ATTRIBUTE_BYTES", &v)?;
    }
    if let Some(v) = var("AGTRACE_SENSITIVE_KEYS") {
        let keys: Vec<String> = v
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(k) = keys.iter().find(|k| normalize(k).is_empty()) {
            return Err(Error::config("AGTRACE_SENSITIVE_KEYS", k, "empty key name"));
        }
        if keys.is_empty() {
            return Err(Error::config(
                "AGTRACE_SENSITIVE_KEYS",
                &v,
                "expected comma-separated key names",
            ));
        }
        cfg.sensitive_keys = keys;
    }
    if let Some(v) = var("AGTRACE_MEDIA") {
        cfg.media = MediaPolicy::parse("AGTRACE_MEDIA", &v)?;
    }
    if let Some(v) = var("AGTRACE_SCRUB_PATTERNS") {
        let mut patterns = Vec::new();
        for p in v.lines().map(str::trim).filter(|p| !p.is_empty()) {
            Pattern::new(p, whole, CUSTOM_PATTERN)
                .map_err(|reason| Error::config("AGTRACE_SCRUB_PATTERNS", p, reason))?;
            patterns.push(p.to_string());
        }
        cfg.scrub_patterns = patterns;
    }
    Ok(())
}

fn parse_limit(var: &str, v: &str) -> Result<usize, Error> {
    let range = if var == "AGTRACE_MAX_MESSAGE_CHARS" {
        bounds::MESSAGE_CHARS
    } else {
        bounds::ATTRIBUTE_BYTES
    };
    match v.parse::<usize>() {
        Ok(n) => range.check(var, n as u64).map(|()| n),
        _ => Err(Error::config(
            var,
            v,
            format!("expected an integer of at least {MIN_LIMIT}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::semconv as sc;
    use crate::{Event, Link};
    use serde_json::json;
    use std::collections::HashMap;

    fn redactor(cfg: RedactionConfig) -> Redactor {
        Redactor::new(&cfg).expect("valid config")
    }

    fn record(attrs: Vec<Attribute>) -> SpanRecord {
        let mut r = SpanRecord::blank();
        r.name = "span".into();
        r.attributes = attrs.into_iter().collect();
        r
    }

    /// The attributes of `attrs` after `apply` with `cfg`.
    fn run(cfg: RedactionConfig, attrs: Vec<Attribute>) -> SpanRecord {
        let mut r = record(attrs);
        redactor(cfg).apply(&mut r);
        r
    }

    fn str_of<'a>(r: &'a SpanRecord, key: &str) -> &'a str {
        r.attribute(key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no string attribute {key}"))
    }

    fn json_of(r: &SpanRecord, key: &str) -> Json {
        serde_json::from_str(str_of(r, key)).expect("valid JSON")
    }

    fn scrubbed(text: &str) -> (String, RedactionStats) {
        let rd = redactor(RedactionConfig::default());
        let mut r = record(vec![Attribute::new("note", text.to_string())]);
        rd.apply(&mut r);
        (str_of(&r, "note").to_string(), rd.stats())
    }

    fn stats_of(pairs: &[(&str, u64)]) -> RedactionStats {
        RedactionStats {
            by_rule: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn defaults_and_file_section() {
        let d = RedactionConfig::default();
        assert!(!d.redact_messages && !d.redact_tool_arguments && !d.redact_tool_results);
        assert!(d.include_tool_definitions && d.scrub_default_patterns);
        assert_eq!(d.max_message_chars, None);
        assert_eq!(d.max_attribute_bytes, 32 * 1024);
        assert_eq!(d.sensitive_keys.len(), DEFAULT_SENSITIVE_KEYS.len());
        assert!(!d.replace_sensitive_keys && d.scrub_patterns.is_empty());

        let from_json: RedactionConfig =
            serde_json::from_value(json!({"redact_messages": true, "max_message_chars": 500}))
                .unwrap();
        assert!(from_json.redact_messages);
        assert_eq!(from_json.max_message_chars, Some(500));
        assert_eq!(
            from_json.max_attribute_bytes,
            32 * 1024,
            "unset fields default"
        );
        let unknown = serde_json::from_value::<RedactionConfig>(json!({"redact_mesages": true}));
        assert!(unknown.unwrap_err().to_string().contains("redact_mesages"));
    }

    #[test]
    fn sensitive_attribute_names_mask_the_whole_value() {
        let r = run(
            RedactionConfig::default(),
            vec![
                Attribute::new("http.request.header.authorization", "Basic dXNlcjpwYXNz"),
                Attribute::new("API-Key", "abc"),
                Attribute::new("apiKey", "abc"),
                Attribute::new("x-api-key", "abc"),
                Attribute::new("db.password", 1234i64),
                Attribute::new("Set-Cookie", vec!["a=1", "b=2"]),
                Attribute::new("client.id", "keep-me"),
            ],
        );
        for k in [
            "http.request.header.authorization",
            "API-Key",
            "apiKey",
            "x-api-key",
            "db.password",
            "Set-Cookie",
        ] {
            assert_eq!(r.attribute(k), Some(&Value::from(REDACTED)), "{k}");
        }
        assert_eq!(str_of(&r, "client.id"), "keep-me");
    }

    #[test]
    fn token_usage_and_other_semconv_attributes_survive() {
        let keys = [
            sc::GEN_AI_USAGE_INPUT_TOKENS,
            sc::GEN_AI_USAGE_OUTPUT_TOKENS,
            sc::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
            sc::GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
            sc::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
            sc::GEN_AI_REQUEST_MAX_TOKENS,
            "token_count",
            "llm.token_count.prompt",
            "max_tokens",
            "tokens",
            "author",
            sc::USER_ID,
            sc::SESSION_ID,
            sc::GEN_AI_CONVERSATION_ID,
            sc::GEN_AI_TOOL_CALL_ID,
            sc::GEN_AI_RESPONSE_ID,
        ];
        let attrs: Vec<_> = keys.iter().map(|k| Attribute::new(*k, 42i64)).collect();
        let rd = redactor(RedactionConfig::default());
        let mut r = record(attrs.clone());
        rd.apply(&mut r);
        assert_eq!(r.attributes.to_vec(), attrs);
        assert_eq!(rd.stats(), RedactionStats::default());
        let json = r#"{"usage":{"prompt_tokens":10,"max_tokens":5,"token_count":3}}"#;
        let r = run(RedactionConfig::default(), vec![Attribute::new("m", json)]);
        assert_eq!(str_of(&r, "m"), json);
    }

    #[test]
    fn user_keys_extend_or_replace_the_defaults() {
        let extend = RedactionConfig {
            sensitive_keys: vec!["Customer-SSN".into()],
            ..Default::default()
        };
        let r = run(
            extend,
            vec![
                Attribute::new("customer_ssn", "1"),
                Attribute::new("password", "2"),
            ],
        );
        assert_eq!(str_of(&r, "customer_ssn"), REDACTED);
        assert_eq!(str_of(&r, "password"), REDACTED);

        let replace = RedactionConfig {
            sensitive_keys: vec!["customerSSN".into()],
            replace_sensitive_keys: true,
            ..Default::default()
        };
        let r = run(
            replace,
            vec![
                Attribute::new("app.customer-ssn", "1"),
                Attribute::new("password", "2"),
            ],
        );
        assert_eq!(str_of(&r, "app.customer-ssn"), REDACTED);
        assert_eq!(str_of(&r, "password"), "2");

        let empty = RedactionConfig {
            sensitive_keys: vec!["-_".into()],
            ..Default::default()
        };
        assert!(matches!(
            Redactor::new(&empty),
            Err(Error::InvalidConfig { ref setting, .. }) if setting == "sensitive_keys"
        ));
    }

    #[test]
    fn json_keys_are_masked_at_any_depth() {
        let messages = json!([
            {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "response": {
                "headers": {"Authorization": "Basic abc", "Accept": "json"},
                "items": [{"id": 1, "client_secret": {"nested": "x"}}, {"id": 2, "Access-Token": "t"}]
            }}]}
        ]);
        let rd = redactor(RedactionConfig::default());
        let mut r = record(vec![Attribute::new(
            sc::GEN_AI_INPUT_MESSAGES,
            Value::json(&messages),
        )]);
        rd.apply(&mut r);
        let got = json_of(&r, sc::GEN_AI_INPUT_MESSAGES);
        let resp = &got[1]["parts"][0]["response"];
        assert_eq!(resp["headers"]["Authorization"], REDACTED);
        assert_eq!(resp["headers"]["Accept"], "json");
        assert_eq!(resp["items"][0]["client_secret"], REDACTED);
        assert_eq!(resp["items"][0]["id"], 1);
        assert_eq!(resp["items"][1]["Access-Token"], REDACTED);
        assert_eq!(got[0], messages[0]);
        assert_eq!(rd.stats(), stats_of(&[("sensitive_key", 3)]));
    }

    #[test]
    fn json_embedded_in_json_strings_is_walked() {
        // OpenAI-style tool calls carry their arguments as a JSON string.
        let args = json!({"api_key": "abc", "city": "Paris"}).to_string();
        let messages = json!([{"role": "assistant", "tool_calls": [
            {"function": {"name": "weather", "arguments": args}}
        ]}]);
        let r = run(
            RedactionConfig::default(),
            vec![Attribute::new(
                sc::GEN_AI_OUTPUT_MESSAGES,
                Value::json(&messages),
            )],
        );
        let got = json_of(&r, sc::GEN_AI_OUTPUT_MESSAGES);
        let inner: Json = serde_json::from_str(
            got[0]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(inner, json!({"api_key": REDACTED, "city": "Paris"}));
    }

    #[test]
    fn unchanged_values_keep_their_exact_bytes() {
        let pretty = "{ \"z\": 1,\n  \"a\": [ \"x\", 2.50, {\"b\": null} ] }";
        let text = "plain text with a trace id 4bf92f3577b34da6a3ce929d0e0e4736";
        let r = run(
            RedactionConfig::default(),
            vec![
                Attribute::new("j", pretty),
                Attribute::new("t", text),
                Attribute::new("broken", "{\"api_key\": "),
            ],
        );
        assert_eq!(str_of(&r, "j"), pretty);
        assert_eq!(str_of(&r, "t"), text);
        assert_eq!(str_of(&r, "broken"), "{\"api_key\": ");
        assert!(matches!(
            r.attribute("j"),
            Some(Value::String(Cow::Borrowed(_)))
        ));
    }

    #[test]
    fn switches_redact_by_attribute_name() {
        let attrs = || {
            vec![
                Attribute::new(sc::GEN_AI_INPUT_MESSAGES, "[]"),
                Attribute::new(sc::GEN_AI_OUTPUT_MESSAGES, "[]"),
                Attribute::new(sc::GEN_AI_SYSTEM_INSTRUCTIONS, "be nice"),
                Attribute::new(sc::GEN_AI_TOOL_CALL_ARGUMENTS, "{\"q\":1}"),
                Attribute::new(sc::GEN_AI_TOOL_CALL_RESULT, "{\"r\":2}"),
                Attribute::new(sc::GEN_AI_TOOL_DEFINITIONS, "[{\"name\":\"t\"}]"),
            ]
        };
        let off = run(RedactionConfig::default(), attrs());
        assert_eq!(off.attributes.to_vec(), attrs(), "all off by default");

        let cfg = RedactionConfig {
            redact_messages: true,
            redact_tool_arguments: true,
            redact_tool_results: true,
            include_tool_definitions: false,
            ..Default::default()
        };
        let rd = redactor(cfg);
        let mut r = record(attrs());
        r.events.push(Event {
            name: "gen_ai.choice".into(),
            time_unix_nanos: 0,
            attributes: attrs(),
        });
        rd.apply(&mut r);
        for k in [
            sc::GEN_AI_INPUT_MESSAGES,
            sc::GEN_AI_OUTPUT_MESSAGES,
            sc::GEN_AI_SYSTEM_INSTRUCTIONS,
            sc::GEN_AI_TOOL_CALL_ARGUMENTS,
            sc::GEN_AI_TOOL_CALL_RESULT,
        ] {
            assert_eq!(str_of(&r, k), REDACTED, "{k}");
        }
        assert_eq!(r.attribute(sc::GEN_AI_TOOL_DEFINITIONS), None);
        assert_eq!(r.events[0].attributes.len(), 5);
        assert!(r.events[0]
            .attributes
            .iter()
            .all(|a| a.value.as_str() == Some(REDACTED)));
        assert_eq!(
            rd.stats(),
            stats_of(&[
                ("redact_messages", 6),
                ("redact_tool_arguments", 2),
                ("redact_tool_results", 2),
                ("tool_definitions_removed", 2),
            ])
        );
    }

    #[test]
    fn builtin_patterns_each_redact_and_are_counted_by_name() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let cases = [
            (
                "anthropic_key",
                "key sk-ant-api03-AbCdEf0123456789_xyzXYZ-abc used",
            ),
            ("openai_key", "key sk-proj-Ab12Cd34Ef56Gh78Ij90KlMn used"),
            (
                "openai_key",
                "key sk-1234567890abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL used",
            ),
            (
                "github_token",
                "token ghp_0123456789abcdefghijABCDEFGHIJ012345 used",
            ),
            (
                "github_token",
                "token github_pat_11ABCDEFG0123456789_abcdefghijklmnop used",
            ),
            ("aws_access_key", "key AKIAIOSFODNN7EXAMPLE used"),
            (
                "google_api_key",
                "key AIzaSyA1234567890abcdefghijklmnopqrstuv used",
            ),
            ("jwt", &*format!("cookie {jwt} used")),
        ];
        for (name, text) in cases {
            let (out, stats) = scrubbed(text);
            let word = text.split(' ').nth(1).unwrap();
            assert_eq!(out, text.replace(word, REDACTED), "{name}: {text}");
            assert_eq!(
                stats,
                stats_of(&[(&format!("pattern:{name}"), 1)]),
                "{text}"
            );
        }
    }

    #[test]
    fn bearer_keeps_the_scheme_and_ignores_prose() {
        let (out, stats) =
            scrubbed("Authorization: Bearer abc123def456. Then bearer  XyZ0987654321==");
        assert_eq!(
            out,
            "Authorization: Bearer [REDACTED]. Then bearer  [REDACTED]"
        );
        assert_eq!(stats, stats_of(&[("pattern:bearer", 2)]));
        for prose in [
            "the bearer of bad news",
            "Bearer tokens are standard.",
            "Bearer authentication is used",
        ] {
            assert_eq!(scrubbed(prose).0, prose);
        }
    }

    #[test]
    fn ordinary_text_is_not_a_secret() {
        for text in [
            "task-1234",
            "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
            "id 123e4567-e89b-12d3-a456-426614174000",
            "import sk-learn; use scikit-learn-for-everything-please",
            "risk-assessment-2024-final-report-v2-approved",
            "AKIA is a prefix; AKIAIOSFODNN7EXAMPLEXX is too long",
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "ghp_short",
            "eyJ alone. and a.b.c",
            "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
        ] {
            assert_eq!(scrubbed(text).0, text);
        }
    }

    #[test]
    fn private_key_blocks_even_cut_short() {
        let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----";
        let (out, _) = scrubbed(&format!("key:\n{block}\nafter"));
        assert_eq!(out, "key:\n[REDACTED]\nafter");
        let (out, stats) = scrubbed("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B");
        assert_eq!(out, REDACTED);
        assert_eq!(stats, stats_of(&[("pattern:private_key_block", 1)]));
    }

    #[test]
    fn secrets_inside_json_strings_keep_json_valid() {
        let v = json!({"msg": "line\nsk-proj-Ab12Cd34Ef56Gh78Ij90KlMn \"quoted\"", "n": 1});
        let r = run(
            RedactionConfig::default(),
            vec![Attribute::new("m", Value::json(&v))],
        );
        assert_eq!(
            json_of(&r, "m"),
            json!({"msg": "line\n[REDACTED] \"quoted\"", "n": 1})
        );
    }

    #[test]
    fn default_patterns_can_be_turned_off_and_user_patterns_added() {
        let cfg = RedactionConfig {
            scrub_default_patterns: false,
            scrub_patterns: vec![r"ssn=(?P<secret>\d{3}-\d{2}-\d{4})".into(), r"x*".into()],
            ..Default::default()
        };
        let rd = redactor(cfg);
        let mut r = record(vec![
            Attribute::new("a", "ssn=123-45-6789 and AKIAIOSFODNN7EXAMPLE"),
            Attribute::new("b", vec!["xx", "yy"]),
        ]);
        rd.apply(&mut r);
        assert_eq!(str_of(&r, "a"), "ssn=[REDACTED] and AKIAIOSFODNN7EXAMPLE");
        assert_eq!(r.attribute("b"), Some(&Value::from(vec![REDACTED, "yy"])));
        assert_eq!(rd.stats(), stats_of(&[("pattern:custom", 2)]));
    }

    #[test]
    fn a_bad_user_regex_is_named() {
        let cfg = RedactionConfig {
            scrub_patterns: vec!["ok".into(), "(unclosed".into()],
            ..Default::default()
        };
        match Redactor::new(&cfg) {
            Err(Error::InvalidConfig {
                setting,
                value,
                reason,
            }) => {
                assert_eq!(setting, "scrub_patterns");
                assert_eq!(value, "(unclosed");
                assert!(!reason.is_empty());
            }
            other => panic!("{other:?}"),
        }
        // Case-insensitive user patterns compile.
        let cfg = RedactionConfig {
            scrub_patterns: vec!["(?i)secret".into()],
            ..Default::default()
        };
        assert!(Redactor::new(&cfg).is_ok());
    }

    #[test]
    fn limits_below_the_minimum_are_rejected() {
        let bytes = RedactionConfig {
            max_attribute_bytes: 10,
            ..Default::default()
        };
        assert!(matches!(Redactor::new(&bytes),
            Err(Error::InvalidConfig { ref setting, .. }) if setting == "max_attribute_bytes"));
        let chars = RedactionConfig {
            max_message_chars: Some(0),
            ..Default::default()
        };
        assert!(matches!(Redactor::new(&chars),
            Err(Error::InvalidConfig { ref setting, .. }) if setting == "max_message_chars"));
    }

    #[test]
    fn markers_measure_what_they_print() {
        for n in [0, 9, 10, 99, 12345, usize::MAX] {
            for unit in [Unit::Chars, Unit::Bytes] {
                assert_eq!(marker_len(n, unit), unit.len(&marker(n, unit)));
            }
        }
        for c in ['"', '\\', '\n', '\u{1}', '\u{7f}', 'é', '€', '😀', 'a'] {
            let s = c.to_string();
            let json = Json::String(s.clone()).to_string();
            for unit in [Unit::Chars, Unit::Bytes] {
                assert_eq!(unit.escaped_len(&s) + 2, unit.len(&json), "{c:?}");
            }
        }
    }

    #[test]
    fn message_truncation_keeps_json_valid_and_short_fields_intact() {
        let long = "word ".repeat(400);
        let messages = json!([
            {"role": "system", "parts": [{"type": "text", "content": long.clone()}]},
            {"role": "user", "parts": [{"type": "text", "content": "short question"}]},
            {"role": "assistant", "parts": [{"type": "text", "content": long}]}
        ]);
        let cfg = RedactionConfig {
            max_message_chars: Some(400),
            ..Default::default()
        };
        let rd = redactor(cfg);
        let mut r = record(vec![
            Attribute::new(sc::GEN_AI_INPUT_MESSAGES, Value::json(&messages)),
            Attribute::new(sc::GEN_AI_SYSTEM_INSTRUCTIONS, "é".repeat(1000)),
            Attribute::new("not.content", "x".repeat(1000)),
        ]);
        rd.apply(&mut r);
        let out = str_of(&r, sc::GEN_AI_INPUT_MESSAGES);
        assert!(out.chars().count() <= 400, "{}", out.chars().count());
        let got: Json = serde_json::from_str(out).unwrap();
        assert!(same_shape(&messages, &got));
        assert_eq!(got[1], messages[1], "short fields survive");
        assert_eq!(got[0]["role"], "system");
        assert!(got[0]["parts"][0]["content"]
            .as_str()
            .unwrap()
            .contains("…[truncated "));

        let sys = str_of(&r, sc::GEN_AI_SYSTEM_INSTRUCTIONS);
        assert!(sys.chars().count() <= 400);
        assert!(sys.starts_with("éé") && sys.ends_with(" chars]"));
        let removed: usize = sys
            .rsplit("truncated ")
            .next()
            .unwrap()
            .trim_end_matches(" chars]")
            .parse()
            .unwrap();
        assert_eq!(
            sys.chars().count() - marker_len(removed, Unit::Chars) + removed,
            1000
        );
        assert_eq!(str_of(&r, "not.content").len(), 1000);
        assert_eq!(rd.stats(), stats_of(&[("message_truncated", 2)]));
    }

    #[test]
    fn json_that_cannot_fit_becomes_a_marker_string() {
        let many: Vec<u32> = (0..1000).collect();
        let cfg = RedactionConfig {
            max_message_chars: Some(100),
            ..Default::default()
        };
        let r = run(
            cfg,
            vec![Attribute::new(
                sc::GEN_AI_TOOL_CALL_RESULT,
                Value::json(&json!(many)),
            )],
        );
        let n = json!(many).to_string().len();
        assert_eq!(
            json_of(&r, sc::GEN_AI_TOOL_CALL_RESULT),
            json!(format!("[truncated: {n} chars]"))
        );
    }

    /// A small deterministic generator, for property-style tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn text(&mut self, max: usize) -> String {
            const CHARS: [char; 12] = [
                'a', 'b', ' ', '"', '\\', '\n', '\u{1}', 'é', '€', '😀', '…', 'Z',
            ];
            let n = self.below(max + 1);
            (0..n).map(|_| CHARS[self.below(CHARS.len())]).collect()
        }
        fn json(&mut self, depth: u32) -> Json {
            match self.below(if depth == 0 { 3 } else { 6 }) {
                0 => Json::String(self.text(300)),
                1 => json!(self.below(100_000)),
                2 => Json::Bool(self.below(2) == 0),
                3 | 4 => Json::Array((0..self.below(5)).map(|_| self.json(depth - 1)).collect()),
                _ => Json::Object(
                    (0..self.below(5))
                        .map(|i| (format!("k{i}\"é"), self.json(depth - 1)))
                        .collect(),
                ),
            }
        }
    }

    /// `b` is `a` with some string leaves cut (prefix + marker).
    fn same_shape(a: &Json, b: &Json) -> bool {
        match (a, b) {
            (Json::Object(x), Json::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
            }
            (Json::Array(x), Json::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_shape(v, w))
            }
            (Json::String(x), Json::String(y)) => {
                x == y
                    || y.rfind("…[truncated ")
                        .is_some_and(|i| x.starts_with(&y[..i]) && y.ends_with("]"))
            }
            _ => a == b,
        }
    }

    #[test]
    fn truncation_always_yields_valid_json_within_the_limit() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let (mut cut, mut fallback) = (0, 0);
        for _ in 0..1500 {
            let v = Json::Array((0..1 + rng.below(4)).map(|_| rng.json(3)).collect());
            let limit = MIN_LIMIT + rng.below(1500);
            let unit = if rng.below(2) == 0 {
                Unit::Chars
            } else {
                Unit::Bytes
            };
            let total = unit.len(&to_json(&v));
            if total <= limit {
                continue;
            }
            let mut w = v.clone();
            if fit_json(&mut w, total, limit, unit) {
                cut += 1;
                let out = to_json(&w);
                assert!(
                    unit.len(&out) <= limit,
                    "{} > {limit} {unit:?}",
                    unit.len(&out)
                );
                let back: Json = serde_json::from_str(&out).expect("valid JSON");
                assert!(same_shape(&v, &back), "{v}\n{back}");
            } else {
                fallback += 1;
                assert_eq!(w, v, "untouched");
            }
        }
        assert!(cut > 300 && fallback > 10, "cut {cut}, fallback {fallback}");
    }

    #[test]
    fn attribute_cap_cuts_on_char_boundaries_and_keeps_json_valid() {
        let cfg = RedactionConfig {
            max_attribute_bytes: 100,
            ..Default::default()
        };
        for pad in 0..4 {
            // Multi-byte chars at every alignment relative to the cut.
            let text = format!("{}{}", "a".repeat(pad), "€😀é".repeat(40));
            let json = Value::json(&json!({"role": "user", "content": text.clone()}));
            let rd = redactor(cfg.clone());
            let mut r = record(vec![
                Attribute::new("text", text.clone()),
                Attribute::new("json", json),
                Attribute::new("list", vec![text.clone(), "ok".to_string()]),
            ]);
            r.links.push(Link {
                context: Default::default(),
                attributes: vec![Attribute::new("link.note", text.clone())],
            });
            r.status = Status::Error(text.clone().into());
            rd.apply(&mut r);
            let t = str_of(&r, "text");
            assert!(t.len() <= 100 && t.ends_with(" bytes]"), "{t}");
            assert!(text.starts_with(t.split('…').next().unwrap()));
            let j = str_of(&r, "json");
            assert!(j.len() <= 100, "{j}");
            let back: Json = serde_json::from_str(j).unwrap();
            assert_eq!(back["role"], "user");
            let Some(Value::StringArray(list)) = r.attribute("list") else {
                panic!("list")
            };
            assert!(list[0].len() <= 100 && list[1] == "ok");
            assert!(r.links[0].attributes[0].value.as_str().unwrap().len() <= 100);
            let Status::Error(msg) = &r.status else {
                panic!("status")
            };
            assert!(msg.len() <= 100);
            assert_eq!(rd.stats(), stats_of(&[("attribute_truncated", 5)]));
        }
    }

    #[test]
    fn name_status_and_event_attributes_are_scrubbed() {
        let rd = redactor(RedactionConfig::default());
        let mut r = record(vec![]);
        r.name = "call with Bearer abcdefgh12345678".into();
        r.status = Status::Error("401 for key AKIAIOSFODNN7EXAMPLE".into());
        r.events.push(Event {
            name: sc::EXCEPTION_EVENT.into(),
            time_unix_nanos: 0,
            attributes: vec![Attribute::new(
                sc::EXCEPTION_MESSAGE,
                "401 for key AKIAIOSFODNN7EXAMPLE",
            )],
        });
        rd.apply(&mut r);
        assert_eq!(r.name, "call with Bearer [REDACTED]");
        assert_eq!(r.status, Status::Error("401 for key [REDACTED]".into()));
        assert_eq!(
            r.events[0].attributes[0].value.as_str(),
            Some("401 for key [REDACTED]")
        );
    }

    #[test]
    fn stats_count_by_rule_and_apply_is_idempotent() {
        let rd = redactor(RedactionConfig::default());
        let attrs = vec![
            Attribute::new("password", "p"),
            Attribute::new("args", "{\"token\":\"t\",\"q\":\"AKIAIOSFODNN7EXAMPLE\"}"),
        ];
        let mut r = record(attrs);
        rd.apply(&mut r);
        let once = r.attributes.clone();
        rd.apply(&mut r);
        assert_eq!(r.attributes, once, "a second pass changes nothing");
        let expected = stats_of(&[("sensitive_key", 2), ("pattern:aws_access_key", 1)]);
        assert_eq!(rd.stats(), expected);
        assert_eq!(rd.stats().get("sensitive_key"), 2);
        assert_eq!(rd.stats().get("redact_messages"), 0);
        assert_eq!(rd.config(), &RedactionConfig::default());
    }

    #[test]
    fn redactor_is_send_and_sync_and_counts_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Redactor>();
        let rd = redactor(RedactionConfig::default());
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let mut r = record(vec![Attribute::new("token", "t")]);
                        rd.apply(&mut r);
                        let _ = rd.stats();
                    }
                });
            }
        });
        assert_eq!(rd.stats().get("sensitive_key"), 200);
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn env_overrides_only_what_is_set() {
        let mut cfg = RedactionConfig::default();
        apply_env(&mut cfg, &env(&[])).unwrap();
        assert_eq!(cfg, RedactionConfig::default());

        apply_env(
            &mut cfg,
            &env(&[
                ("AGTRACE_REDACT_MESSAGES", "TRUE"),
                ("AGTRACE_REDACT_TOOL_ARGUMENTS", "1"),
                ("AGTRACE_REDACT_TOOL_RESULTS", "yes"),
                ("AGTRACE_INCLUDE_TOOL_DEFINITIONS", "off"),
                ("AGTRACE_MAX_MESSAGE_CHARS", " 2000 "),
                ("AGTRACE_MAX_ATTRIBUTE_BYTES", "65536"),
                ("AGTRACE_SENSITIVE_KEYS", "ssn, customer-id,,"),
                ("AGTRACE_SENSITIVE_KEYS_REPLACE", "On"),
                ("AGTRACE_SCRUB_PATTERNS", "foo;;bar\n\n  ssn=\\d+  \r\n"),
                ("AGTRACE_SCRUB_DEFAULT_PATTERNS", "no"),
                ("AGTRACE_MEDIA", "Drop"),
            ]),
        )
        .unwrap();
        let expected = RedactionConfig {
            redact_messages: true,
            redact_tool_arguments: true,
            redact_tool_results: true,
            include_tool_definitions: false,
            max_message_chars: Some(2000),
            max_attribute_bytes: 65536,
            sensitive_keys: vec!["ssn".into(), "customer-id".into()],
            replace_sensitive_keys: true,
            scrub_patterns: vec!["foo;;bar".into(), r"ssn=\d+".into()],
            scrub_default_patterns: false,
            media: MediaPolicy::Drop,
        };
        assert_eq!(cfg, expected);
        Redactor::new(&cfg).unwrap();

        let mut cfg = RedactionConfig::default();
        apply_env(&mut cfg, &env(&[("AGTRACE_REDACT_MESSAGES", "  ")])).unwrap();
        assert_eq!(cfg, RedactionConfig::default(), "blank means unset");
    }

    #[test]
    fn env_errors_name_the_variable() {
        for (var, value, bad) in [
            ("AGTRACE_REDACT_MESSAGES", "maybe", "maybe"),
            ("AGTRACE_INCLUDE_TOOL_DEFINITIONS", "2", "2"),
            ("AGTRACE_MAX_MESSAGE_CHARS", "ten", "ten"),
            ("AGTRACE_MAX_MESSAGE_CHARS", "10", "10"),
            ("AGTRACE_MAX_ATTRIBUTE_BYTES", "-1", "-1"),
            ("AGTRACE_SENSITIVE_KEYS", ",,", ",,"),
            ("AGTRACE_MEDIA", "strip", "strip"),
            ("AGTRACE_SENSITIVE_KEYS", "ok,-", "-"),
            ("AGTRACE_SCRUB_PATTERNS", "fine\n[unclosed", "[unclosed"),
            ("AGTRACE_SCRUB_DEFAULT_PATTERNS", "nope", "nope"),
        ] {
            let mut cfg = RedactionConfig::default();
            match apply_env(&mut cfg, &env(&[(var, value)])) {
                Err(Error::InvalidConfig { setting, value, .. }) => {
                    assert_eq!(setting, var);
                    assert_eq!(value, bad, "{var}");
                }
                other => panic!("{var}={value:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn builtins_need_their_literals() {
        use regex_syntax::hir::literal::Extractor;
        for b in &BUILTINS {
            let hir = regex_syntax::parse(b.pattern).unwrap();
            let seq = Extractor::new().extract(&hir);
            let prefixes = seq.literals().expect("a finite set of prefixes");
            for p in prefixes {
                let p = p.as_bytes();
                let needs = |l: &&str| {
                    p.len() >= l.len()
                        && if b.fold_case {
                            p[..l.len()].eq_ignore_ascii_case(l.as_bytes())
                        } else {
                            p.starts_with(l.as_bytes())
                        }
                };
                assert!(
                    b.literals.iter().any(needs),
                    "{}: a match can start with {:?}, which holds none of {:?}",
                    b.name,
                    String::from_utf8_lossy(p),
                    b.literals
                );
            }
        }
    }

    /// Scrubbing as it was before the prefilters: one regex pass for the
    /// built-ins and one for the user patterns, then every pattern in order.
    struct OldScrub {
        builtins: Option<Regex>,
        user: Option<RegexSet>,
    }

    impl OldScrub {
        fn new(cfg: &RedactionConfig) -> Self {
            let alternation: Vec<String> = BUILTINS
                .iter()
                .map(|b| format!("(?:{})", b.pattern.replace("?P<secret>", "?:")))
                .collect();
            OldScrub {
                builtins: cfg
                    .scrub_default_patterns
                    .then(|| Regex::new(&alternation.join("|")).unwrap()),
                user: (!cfg.scrub_patterns.is_empty())
                    .then(|| RegexSet::new(&cfg.scrub_patterns).unwrap()),
            }
        }

        fn scrub<'a>(&self, rd: &Redactor, s: &'a str, counts: &mut Counts) -> Cow<'a, str> {
            let builtin = |g: &Regex| s.len() >= MIN_BUILTIN_MATCH && g.is_match(s);
            let hit = self.builtins.as_ref().is_some_and(builtin)
                || self.user.as_ref().is_some_and(|g| g.is_match(s));
            if !hit {
                return Cow::Borrowed(s);
            }
            let mut text = Cow::Borrowed(s);
            for p in &rd.patterns {
                if let Some(t) = p.replace(&text, counts) {
                    text = Cow::Owned(t);
                }
            }
            text
        }
    }

    /// Secrets of every kind (and near misses), alone and in context: at the
    /// start and end, in JSON, next to unicode, in other letter cases.
    fn scrub_corpus() -> Vec<String> {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let key_block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----";
        let cores = [
            "sk-ant-api03-AbCdEf0123456789_xyzXYZ-abc",
            "sk-proj-Ab12Cd34Ef56Gh78Ij90KlMn",
            "sk-1234567890abcdefghijklmnopqrstuvwxyz",
            "SK-proj-Ab12Cd34Ef56Gh78Ij90KlMn",
            "sk-abcdefghijklmnopqrstuvwxyz",
            "ghp_0123456789abcdefghijABCDEFGHIJ012345",
            "GHP_0123456789abcdefghijABCDEFGHIJ012345",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAIOSFODNN7EXAMPLE",
            "akiaiosfodnn7example",
            "AKIAIOSFODNN7EXAMPLEAIzaSyA1234567890abcdefghijklmnopqrstuv",
            "AKIAIza",
            "AIzaSyA1234567890abcdefghijklmnopqrstuv",
            "aizaSyA1234567890abcdefghijklmnopqrstuv",
            jwt,
            "EYJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc",
            "Bearer abc123def456",
            "bEaReR\tXyZ0987654321==",
            "BEARER abcdefghijklmnopqrstuvwxyz.",
            "the bearer of bad news",
            key_block,
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B",
            "-----begin private key-----",
            "task-1234 risk-assessment Asia",
            "secret=hunter2",
            "SECRET: Hunter2",
            "\u{17f}ecret=x",
            "order-123456",
            "ORDER-123456",
            "ssn 123-45-6789",
            "[REDACTED]",
            "redacted",
            "\u{212a}-line and k-line",
            "",
        ];
        let around = [
            ("", ""),
            ("x", "x"),
            ("key ", " used"),
            ("\u{e9}\u{20ac}\u{1f600} ", " \u{1f600}"),
            ("{\"k\":\"", "\"}"),
            ("[\"", "\",1]"),
            ("\n", "."),
            ("_", "-"),
            ("Bearer ", " sk-"),
        ];
        let mut corpus = Vec::new();
        for c in cores {
            for (before, after) in around {
                corpus.push(format!("{before}{c}{after}"));
            }
        }
        for pair in cores.windows(2) {
            corpus.push(format!("{} {}", pair[0], pair[1]));
            corpus.push(format!("{}{}", pair[0], pair[1]));
        }
        corpus
    }

    #[test]
    fn prefiltered_scrub_finds_what_the_old_scrub_found() {
        let user = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let with_literals = user(&[
            r"(?i)secret[=:]\s*\S+",
            r"order-(?P<secret>\d{6})",
            r"(?i)redacted",
            r"(?i)k-line",
        ]);
        let mut without = with_literals.clone();
        without.push(r"\d{3}-\d{2}-\d{4}".into());
        let configs = [
            RedactionConfig::default(),
            RedactionConfig {
                scrub_patterns: with_literals.clone(),
                ..Default::default()
            },
            RedactionConfig {
                scrub_patterns: without.clone(),
                ..Default::default()
            },
            RedactionConfig {
                scrub_patterns: with_literals,
                scrub_default_patterns: false,
                ..Default::default()
            },
            RedactionConfig {
                scrub_patterns: without,
                scrub_default_patterns: false,
                ..Default::default()
            },
        ];
        let corpus = scrub_corpus();
        let mut changed = 0;
        for (i, cfg) in configs.iter().enumerate() {
            let rd = redactor(cfg.clone());
            let gate = match (&rd.user_gate, i) {
                (None, 0)
                | (Some(UserGate::Literals { .. }), 1 | 3)
                | (Some(UserGate::Set(_)), 2 | 4) => "ok",
                _ => "unexpected",
            };
            assert_eq!(gate, "ok", "config {i}");
            let old = OldScrub::new(cfg);
            for text in &corpus {
                let (mut want, mut got) = (Counts([0; N_COUNTERS]), Counts([0; N_COUNTERS]));
                let expected = old.scrub(&rd, text, &mut want);
                let actual = rd.scrub(text, &mut got);
                assert_eq!(actual, expected, "config {i}: {text:?}");
                assert_eq!(got.0, want.0, "config {i}: {text:?}");
                changed += usize::from(matches!(actual, Cow::Owned(_)));
            }
        }
        assert!(
            changed > 500,
            "the corpus exercises the patterns: {changed}"
        );
    }

    #[test]
    fn derived_attributes_are_skipped_only_when_nothing_applies() {
        use crate::model::kind::SpanKind;
        let rd = redactor(RedactionConfig::default());
        let derived: Vec<_> = rd.derived.iter().map(|(k, v)| (*k, v.len())).collect();
        assert_eq!(
            derived,
            [
                (sc::AGTRACE_KIND, SpanKind::ALL.len()),
                (sc::GEN_AI_OPERATION_NAME, 6),
                (sc::OPENINFERENCE_SPAN_KIND, 10)
            ]
        );
        let key = "sk-proj-Ab12Cd34Ef56Gh78Ij90KlMn";
        let mut r = record(vec![
            Attribute::new(sc::GEN_AI_OPERATION_NAME, format!("chat {key}")),
            Attribute::new(sc::AGTRACE_KIND, format!("{key} ")),
            Attribute::new(sc::AGTRACE_KIND, "llm"),
            Attribute::new(sc::OPENINFERENCE_SPAN_KIND, vec!["LLM", key]),
            Attribute::new(sc::GEN_AI_USAGE_INPUT_TOKENS, key),
            Attribute::new(sc::AGTRACE_USAGE_COST_USD, 0.5),
        ]);
        rd.apply(&mut r);
        let values: Vec<_> = r.attributes.iter().map(|a| a.value.clone()).collect();
        assert_eq!(
            values,
            [
                Value::from("chat [REDACTED]"),
                Value::from("[REDACTED] "),
                Value::from("llm"),
                Value::from(vec!["LLM", REDACTED]),
                Value::from(REDACTED),
                Value::from(0.5),
            ],
            "values only a user can have set are scanned"
        );
        assert_eq!(rd.stats(), stats_of(&[("pattern:openai_key", 4)]));

        // A rule that reaches a derived name or value still applies.
        let cfg = RedactionConfig {
            sensitive_keys: vec!["input_tokens".into(), "kind".into()],
            scrub_patterns: vec!["^chat$".into()],
            ..Default::default()
        };
        let rd = redactor(cfg);
        let names: Vec<_> = rd.derived.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, [sc::GEN_AI_OPERATION_NAME]);
        assert!(!rd.derived[0].1.contains(&"chat"));
        let mut r = record(vec![
            Attribute::new(sc::AGTRACE_KIND, "llm"),
            Attribute::new(sc::OPENINFERENCE_SPAN_KIND, "LLM"),
            Attribute::new(sc::GEN_AI_OPERATION_NAME, "chat"),
            Attribute::new(sc::GEN_AI_OPERATION_NAME, "execute_tool"),
            Attribute::new(sc::GEN_AI_USAGE_INPUT_TOKENS, 12i64),
        ]);
        rd.apply(&mut r);
        let values: Vec<_> = r.attributes.iter().map(|a| a.value.clone()).collect();
        assert_eq!(
            values,
            [
                Value::from(REDACTED),
                Value::from(REDACTED),
                Value::from(REDACTED),
                Value::from("execute_tool"),
                Value::from(REDACTED),
            ]
        );
        assert_eq!(
            rd.stats(),
            stats_of(&[("sensitive_key", 3), ("pattern:custom", 1)])
        );
    }

    /// A span with the same attributes under names of every origin: literals,
    /// owned strings, and names too long to cache.
    fn span_with_names(i: usize) -> SpanRecord {
        let long = format!("app.{}.token", "x".repeat(RULE_CACHE_MAX_KEY));
        record(vec![
            Attribute::new(format!("app.unique_{i}.password"), "p"),
            Attribute::new(format!("app.unique_{i}"), "AKIAIOSFODNN7EXAMPLE"),
            Attribute::new("password", "p"),
            Attribute::new(sc::GEN_AI_INPUT_MESSAGES, "word ".repeat(20)),
            Attribute::new(sc::AGTRACE_KIND, "llm"),
            Attribute::new(long, "t"),
            Attribute::new(String::from(sc::GEN_AI_TOOL_CALL_RESULT), "r"),
        ])
    }

    #[test]
    fn the_rule_cache_changes_nothing_and_stays_bounded() {
        let cfg = RedactionConfig {
            redact_tool_results: true,
            max_message_chars: Some(64),
            ..Default::default()
        };
        let cached = redactor(cfg.clone());
        let n = 3 * RULE_CACHE_CAP;
        for i in 0..n {
            let mut r = span_with_names(i);
            cached.apply(&mut r);
            // Worked out afresh, by a redactor that has never seen a name.
            let mut fresh = span_with_names(i);
            redactor(cfg.clone()).apply(&mut fresh);
            assert_eq!(r.attributes, fresh.attributes, "span {i}");
            let cache = cached.rules.lock().unwrap();
            assert!(cache.by_name.len() <= RULE_CACHE_CAP);
            assert!(cache.by_addr.len() <= RULE_CACHE_CAP);
        }
        let per_span = [
            ("sensitive_key", 3),
            ("pattern:aws_access_key", 1),
            ("message_truncated", 1),
            ("redact_tool_results", 1),
        ];
        let expected: Vec<_> = per_span.iter().map(|(k, v)| (*k, v * n as u64)).collect();
        assert_eq!(cached.stats(), stats_of(&expected));

        // A caller that finds the cache taken works without it.
        let _taken = cached.rules.lock().unwrap();
        let mut r = span_with_names(0);
        cached.apply(&mut r);
        let mut fresh = span_with_names(0);
        redactor(cfg).apply(&mut fresh);
        assert_eq!(r.attributes, fresh.attributes);
    }

    /// JSON texts of every shape the scan must get right: sensitive and
    /// near-sensitive keys at any depth, secrets and embedded JSON in values,
    /// escapes of every kind (`\u` included), pretty printing, broken JSON.
    fn json_corpus() -> Vec<String> {
        const KEYS: [&str; 14] = [
            "role",
            "content",
            "parts",
            "author",
            "max_tokens",
            "Api-Key",
            "token",
            "headers.Authorization",
            "customer_id",
            "k\"q",
            "line\nbreak",
            "caf\u{e9}",
            "secret_note",
            "url",
        ];
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N";
        let leaves: [String; 14] = [
            "What is the weather?".into(),
            "sk-proj-Ab12Cd34Ef56Gh78Ij90KlMn".into(),
            format!("cookie {jwt}"),
            "Bearer abc123def456".into(),
            json!({"api_key": "abc", "city": "Paris"}).to_string(),
            " [1, 2]".into(),
            "\n{\"q\": 1}".into(),
            "quote \" backslash \\ slash / tab \t nul \u{0}".into(),
            "\u{e9}\u{20ac}\u{1f600} secret=hunter2".into(),
            "see order-123456".into(),
            "https://example.com/a".into(),
            "[REDACTED]".into(),
            "word ".repeat(30),
            String::new(),
        ];
        let mut rng = Rng(0xA076_1D64_78BD_642F);
        let mut corpus = Vec::new();
        for _ in 0..400 {
            let v = random_json(&mut rng, 3, &KEYS, &leaves);
            let compact = to_json(&v);
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            corpus.push(compact.replace('/', "\\/"));
            corpus.push(compact.replacen('t', "\\u0074", 1));
            // Broken: one character dropped.
            let cut = 1 + rng.below(compact.len().max(3) - 2);
            if cut < compact.len() && compact.is_char_boundary(cut) {
                let mut broken = compact.clone();
                broken.remove(cut);
                corpus.push(broken);
            }
            corpus.push(compact);
            corpus.push(pretty);
        }
        corpus
    }

    fn random_json(rng: &mut Rng, depth: u32, keys: &[&str], leaves: &[String]) -> Json {
        match rng.below(if depth == 0 { 3 } else { 6 }) {
            0 | 1 => Json::String(leaves[rng.below(leaves.len())].clone()),
            2 => json!(rng.below(1000)),
            3 => Json::Array(
                (0..rng.below(4))
                    .map(|_| random_json(rng, depth - 1, keys, leaves))
                    .collect(),
            ),
            _ => Json::Object(
                (0..1 + rng.below(4))
                    .map(|_| {
                        let k = keys[rng.below(keys.len())].to_string();
                        (k, random_json(rng, depth - 1, keys, leaves))
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn json_left_unparsed_is_json_the_walk_leaves_alone() {
        let user = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let configs = [
            RedactionConfig::default(),
            RedactionConfig {
                max_message_chars: Some(300),
                max_attribute_bytes: 500,
                ..Default::default()
            },
            RedactionConfig {
                sensitive_keys: user(&["customer-id", "headers.authorization"]),
                replace_sensitive_keys: true,
                scrub_patterns: user(&[r"(?i)secret=\S+", r"order-\d+"]),
                ..Default::default()
            },
            RedactionConfig {
                scrub_patterns: user(&[r"https?://\S+"]),
                scrub_default_patterns: false,
                ..Default::default()
            },
            RedactionConfig {
                scrub_patterns: user(&[r"\d{6}"]),
                ..Default::default()
            },
        ];
        let corpus = json_corpus();
        for (i, cfg) in configs.iter().enumerate() {
            let rd = redactor(cfg.clone());
            let mut skipped = 0;
            for text in corpus.iter().filter(|t| looks_like_json(t)) {
                for content in [false, true] {
                    let mut counts = Counts([0; N_COUNTERS]);
                    let walked = rd.string_value_parsed(text, true, content, &mut counts);
                    if rd.json_unchanged(text, content) {
                        skipped += 1;
                        assert_eq!(walked, None, "config {i}: {text}");
                        assert_eq!(counts.0, [0; N_COUNTERS], "config {i}: {text}");
                    }
                }
            }
            let expect_skips = matches!(i, 0..=2);
            assert_eq!(skipped > 100, expect_skips, "config {i}: {skipped} skipped");
        }
    }
}

//! Head sampling: whether a new span is recorded and exported, decided once
//! when it starts.
//!
//! A [`Sampler`] is compiled from a [`SamplingConfig`] at init and asked once
//! per span start. The decision for a span:
//!
//! 1. With `parent_based` (the default), a span whose parent is not sampled is
//!    not sampled. Local and remote (extracted) parents count alike, so a trace
//!    keeps the decision its first service made.
//! 2. Otherwise the first rule whose `name` glob and `kind` both match (an
//!    unset one matches anything) gives the rate.
//! 3. With no matching rule, a root span uses `rate`; a child of a sampled
//!    parent is sampled when `parent_based`, else it uses `rate` too.
//!
//! A rate becomes a yes/no through [`trace_id_ratio`], a pure function of the
//! trace id, so every span of a trace that gets the same rate gets the same
//! answer, in every process and language that uses the same rule.
//!
//! Name globs: `*` matches any run of characters (also none), `?` exactly one;
//! everything else matches itself, case-sensitively.
//!
//! Environment (read by the config layer through `apply_env`):
//!
//! | variable | meaning |
//! |---|---|
//! | `OTEL_TRACES_SAMPLER` | `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`: sets `rate` (1, 0, or the argument) and `parent_based` |
//! | `OTEL_TRACES_SAMPLER_ARG` | the ratio for the two `traceidratio` samplers, within `[0, 1]`; default 1; ignored by the others, as the specification says |
//! | `AGTRACE_SAMPLING_RULES` | the rules, replacing any configured ones |
//!
//! `AGTRACE_SAMPLING_RULES` is a `;`-separated list of `MATCHERS:RATE`, where
//! `RATE` follows the last `:` and `MATCHERS` is `name=GLOB`, `kind=KIND` or
//! both joined by `,`, for example `name=chat *:0.1;kind=tool:0.5;kind=llm,name=chat gpt-4*:0`.
//! Surrounding whitespace is trimmed, empty entries are skipped, and `KIND` is
//! any name [`SpanKind`] parses (`llm`, `tool`, ...). A name containing `,` or
//! `;` cannot be written there: match those characters with `?`.

use crate::error::Error;
use crate::model::id::{SpanContext, TraceId};
use crate::model::kind::SpanKind;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Head-sampling settings. The default samples every span and follows the
/// parent's decision. Serializes to the same keys it deserializes from (a
/// config file's `[sampling]` section), so one feeds the other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingConfig {
    /// The ratio for spans no rule matches (roots, and children unless
    /// `parent_based`). Within `[0, 1]`.
    pub rate: f64,
    /// A child follows its parent's sampled flag, whether the parent is local
    /// or was extracted from another process.
    pub parent_based: bool,
    /// Checked in order; the first match gives the rate.
    pub rules: Vec<SamplingRule>,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            rate: 1.0,
            parent_based: true,
            rules: Vec::new(),
        }
    }
}

/// Spans whose name matches `name` and whose kind is `kind` (an unset one
/// matches anything; at least one must be set) are sampled at `rate`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingRule {
    /// A glob: `*` any run of characters, `?` one character.
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "kind_from_str",
        serialize_with = "kind_to_str"
    )]
    pub kind: Option<SpanKind>,
    pub rate: f64,
}

fn kind_from_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SpanKind>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .transpose()
}

fn kind_to_str<S: Serializer>(kind: &Option<SpanKind>, s: S) -> Result<S::Ok, S::Error> {
    kind.map(SpanKind::as_str).serialize(s)
}

/// A validated [`SamplingConfig`], ready for the per-span decision.
#[derive(Clone, Debug)]
pub struct Sampler {
    config: SamplingConfig,
    root_threshold: u64,
    rules: Box<[Rule]>,
}

#[derive(Clone, Debug)]
struct Rule {
    name: Option<Box<str>>,
    kind: Option<SpanKind>,
    threshold: u64,
}

impl Rule {
    fn matches(&self, name: &str, kind: SpanKind) -> bool {
        self.kind.is_none_or(|k| k == kind)
            && self
                .name
                .as_deref()
                .is_none_or(|pattern| glob_matches(pattern.as_bytes(), name.as_bytes()))
    }
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            config: SamplingConfig::default(),
            root_threshold: threshold(1.0),
            rules: Box::new([]),
        }
    }
}

impl Sampler {
    /// Validates `cfg`: every rate must be within `[0, 1]` (not NaN) and every
    /// rule must set a name or a kind. The error names the setting, e.g.
    /// `sampling.rules[2].rate`.
    pub fn new(cfg: &SamplingConfig) -> Result<Sampler, Error> {
        let root_threshold = checked_threshold("sampling.rate", cfg.rate)?;
        let rules = cfg
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if r.name.is_none() && r.kind.is_none() {
                    return Err(Error::config(
                        &format!("sampling.rules[{i}]"),
                        &format!("rate={}", r.rate),
                        "a rule needs a name, a kind or both",
                    ));
                }
                Ok(Rule {
                    name: r.name.as_deref().map(Box::from),
                    kind: r.kind,
                    threshold: checked_threshold(&format!("sampling.rules[{i}].rate"), r.rate)?,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Sampler {
            config: cfg.clone(),
            root_threshold,
            rules,
        })
    }

    pub fn config(&self) -> &SamplingConfig {
        &self.config
    }

    /// The head-sampling decision for a new span (see the module docs).
    /// `parent` is the parent's context, which the caller has checked is
    /// valid; `None` for a root.
    ///
    /// Runs on every span start: it never allocates, and with no rules it is
    /// a flag test and one comparison.
    #[inline]
    pub fn should_sample(
        &self,
        parent: Option<&SpanContext>,
        trace_id: TraceId,
        name: &str,
        kind: SpanKind,
    ) -> bool {
        let follows_parent = self.config.parent_based && parent.is_some();
        if follows_parent && !parent.is_some_and(SpanContext::is_sampled) {
            return false;
        }
        let threshold = match self.rules.iter().find(|r| r.matches(name, kind)) {
            Some(rule) => rule.threshold,
            None if follows_parent => return true,
            None => self.root_threshold,
        };
        below_threshold(trace_id, threshold)
    }
}

/// Whether a trace with this id is sampled at `rate`: bit for bit the decision
/// of OpenTelemetry's `TraceIdRatioBased` sampler in the Rust SDK (0.33),
/// whose rule the Go SDK's `TraceIDRatioBased` shares.
///
/// The rule: take the low 64 bits of the trace id (its last 8 bytes, big
/// endian), drop the lowest bit, and sample when the remaining 63-bit number
/// is below `floor(rate * 2^63)`. A rate of 1 or more samples everything; 0,
/// a negative rate or NaN samples nothing.
///
/// OpenTelemetry Python (1.45) samples when the low 64 bits are below
/// `round(rate * 2^64)`. For every rate of at least 2^-11 (about 0.000488),
/// and for 0 and 1, the two rules pick exactly the same trace ids: there
/// `rate * 2^64` is an even integer, so both bounds are equal. Below 2^-11
/// Python also samples at most two more of the 2^64 possible low halves
/// (a chance under 1e-19 per trace). This follows the Rust SDK's rule
/// because it is also Go's and Python agrees with it at every practical rate;
/// the bindings all call this one function, so agtrace itself gives one
/// answer in every language.
pub fn trace_id_ratio(trace_id: TraceId, rate: f64) -> bool {
    below_threshold(trace_id, threshold(rate))
}

/// The bound `trace_id_ratio` compares with. A rate of 1 or more maps to
/// 2^63, above every 63-bit number; `max` turns NaN and negatives into 0.
fn threshold(rate: f64) -> u64 {
    const SCALE: f64 = (1u64 << 63) as f64;
    if rate >= 1.0 {
        1 << 63
    } else {
        // Scaling by a power of two is exact, so the cast truncates the true
        // product, as opentelemetry_sdk's `(prob * (1u64 << 63) as f64) as u64`.
        (rate.max(0.0) * SCALE) as u64
    }
}

#[inline]
fn below_threshold(trace_id: TraceId, threshold: u64) -> bool {
    ((trace_id.to_u128() as u64) >> 1) < threshold
}

fn checked_threshold(setting: &str, rate: f64) -> Result<u64, Error> {
    if (0.0..=1.0).contains(&rate) {
        Ok(threshold(rate))
    } else {
        Err(Error::config(
            setting,
            &rate.to_string(),
            "must be a number within [0, 1]",
        ))
    }
}

/// Glob match over bytes, `?` consuming one whole UTF-8 character. On a
/// mismatch it retries from the last `*`, letting it swallow one more
/// character: linear for the usual one-star patterns, no allocation.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Pattern position after the last `*`, and the text position it resumes at.
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                resume = Some((p, t));
                continue;
            }
            Some(b'?') => {
                p += 1;
                t += utf8_len(text[t]);
                continue;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match resume {
            Some((star_p, star_t)) => {
                let next = star_t + utf8_len(text[star_t]);
                resume = Some((star_p, next));
                p = star_p;
                t = next;
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The length of the UTF-8 character starting with byte `b`.
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

const SAMPLER_VAR: &str = "OTEL_TRACES_SAMPLER";
const SAMPLER_ARG_VAR: &str = "OTEL_TRACES_SAMPLER_ARG";
const RULES_VAR: &str = "AGTRACE_SAMPLING_RULES";

/// Applies the sampling environment variables (see the module docs) to `cfg`;
/// settings whose variables are unset are left alone. `get` returns a
/// variable's value, `None` when unset.
pub(crate) fn apply_env(
    cfg: &mut SamplingConfig,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Error> {
    let var = |name: &str| {
        get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(v) = var(SAMPLER_VAR) {
        let lower = v.to_ascii_lowercase();
        let (parent_based, root) = match lower.strip_prefix("parentbased_") {
            Some(root) => (true, root),
            None => (false, lower.as_str()),
        };
        cfg.rate = match root {
            "always_on" => 1.0,
            "always_off" => 0.0,
            "traceidratio" => match var(SAMPLER_ARG_VAR) {
                Some(arg) => parse_rate(&arg).ok_or_else(|| {
                    Error::config(SAMPLER_ARG_VAR, &arg, "expected a number within [0, 1]")
                })?,
                None => 1.0,
            },
            _ => {
                return Err(Error::config(
                    SAMPLER_VAR,
                    &v,
                    "expected always_on, always_off, traceidratio, parentbased_always_on, \
                     parentbased_always_off or parentbased_traceidratio",
                ))
            }
        };
        cfg.parent_based = parent_based;
    }
    if let Some(v) = var(RULES_VAR) {
        cfg.rules = parse_rules(&v).map_err(|reason| Error::config(RULES_VAR, &v, reason))?;
    }
    Ok(())
}

fn parse_rate(s: &str) -> Option<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
}

/// Parses the `AGTRACE_SAMPLING_RULES` format; the error says which rule is
/// wrong and why.
fn parse_rules(v: &str) -> Result<Vec<SamplingRule>, String> {
    v.split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .enumerate()
        .map(|(i, text)| {
            parse_rule(text).map_err(|reason| format!("rule {} '{text}': {reason}", i + 1))
        })
        .collect()
}

fn parse_rule(text: &str) -> Result<SamplingRule, String> {
    let (matchers, rate) = text
        .rsplit_once(':')
        .ok_or("expected MATCHERS:RATE, e.g. kind=tool:0.5")?;
    let rate = parse_rate(rate).ok_or("the rate must be a number within [0, 1]")?;
    let mut rule = SamplingRule {
        name: None,
        kind: None,
        rate,
    };
    for matcher in matchers.split(',') {
        let (key, value) = matcher
            .split_once('=')
            .ok_or_else(|| format!("'{}' is not name=GLOB or kind=KIND", matcher.trim()))?;
        let value = value.trim();
        let duplicate = match key.trim().to_ascii_lowercase().as_str() {
            "name" => rule.name.replace(value.to_string()).is_some(),
            "kind" => rule.kind.replace(value.parse()?).is_some(),
            other => return Err(format!("unknown matcher '{other}' (expected name or kind)")),
        };
        if duplicate {
            return Err(format!("'{}' is given twice", key.trim()));
        }
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::id::{SpanId, TraceFlags};
    use opentelemetry::trace::SpanKind as OtelSpanKind;
    use opentelemetry_sdk::trace::{Sampler as OtelSampler, SamplingDecision, ShouldSample};
    use std::collections::HashMap;

    /// A trace id whose low 64 bits are `low` (the high half is arbitrary).
    fn id_with_low(low: u64) -> TraceId {
        TraceId::from_u128((0x4bf9_2f35_77b3_4da6u128 << 64) | u128::from(low))
    }

    fn otel_ratio(trace_id: TraceId, rate: f64) -> bool {
        let decision = OtelSampler::TraceIdRatioBased(rate)
            .should_sample(
                None,
                opentelemetry::trace::TraceId::from_bytes(trace_id.0),
                "span",
                &OtelSpanKind::Internal,
                &[],
                &[],
            )
            .decision;
        decision == SamplingDecision::RecordAndSample
    }

    /// OpenTelemetry Python's rule: low 64 bits < round(rate * 2^64), with
    /// Python's round-half-to-even.
    fn python_ratio(trace_id: TraceId, rate: f64) -> bool {
        let bound = (rate * 2f64.powi(64)).round_ties_even() as u128;
        u128::from(trace_id.to_u128() as u64) < bound
    }

    /// Ids at and around the rate's bound, plus the extremes.
    fn boundary_ids(rate: f64) -> Vec<TraceId> {
        // The first low half not sampled (wraps to 0 at rate 1, harmlessly).
        let b = threshold(rate) << 1;
        [b.wrapping_sub(2), b.wrapping_sub(1), b, b.wrapping_add(1)]
            .into_iter()
            .chain([0, 1, 2, u64::MAX - 1, u64::MAX, 1 << 63, (1 << 63) - 1])
            .map(id_with_low)
            .collect()
    }

    const RATES: [f64; 16] = [
        0.0,
        1e-12,
        1e-6,
        0.000_2,
        0.000_5,
        0.001,
        0.01,
        0.1,
        0.25,
        1.0 / 3.0,
        0.5,
        0.75,
        0.9,
        0.999,
        0.999_999_999,
        1.0,
    ];

    #[test]
    fn ratio_matches_opentelemetry_sdk_on_random_and_boundary_ids() {
        let out_of_range = [-0.5, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        for rate in RATES.into_iter().chain(out_of_range) {
            let ids = (0..10_000).map(|_| TraceId::random());
            for id in ids.chain(boundary_ids(rate)) {
                assert_eq!(
                    trace_id_ratio(id, rate),
                    otel_ratio(id, rate),
                    "rate {rate}, trace id {id}"
                );
            }
        }
    }

    #[test]
    fn ratio_matches_python_rule_from_2_pow_minus_11() {
        for rate in RATES
            .into_iter()
            .filter(|r| *r == 0.0 || *r >= 2f64.powi(-11))
        {
            let ids = (0..10_000).map(|_| TraceId::random());
            for id in ids.chain(boundary_ids(rate)) {
                assert_eq!(
                    trace_id_ratio(id, rate),
                    python_ratio(id, rate),
                    "rate {rate}, trace id {id}"
                );
            }
        }
    }

    #[test]
    fn python_rule_differs_only_by_at_most_two_ids_below_2_pow_minus_11() {
        // rate * 2^64 = 5: Python samples low halves below 5, agtrace those
        // whose top 63 bits are below floor(2.5) = 2, i.e. below 4.
        let rate = 5.0 * 2f64.powi(-64);
        assert!(python_ratio(id_with_low(4), rate));
        assert!(!trace_id_ratio(id_with_low(4), rate));
        assert!(trace_id_ratio(id_with_low(3), rate) && python_ratio(id_with_low(3), rate));
        assert!(!python_ratio(id_with_low(5), rate));
    }

    #[test]
    fn rate_zero_samples_nothing_and_one_everything() {
        for low in [0, 1, 2, 1 << 63, u64::MAX - 1, u64::MAX] {
            let id = id_with_low(low);
            assert!(!trace_id_ratio(id, 0.0), "{id}");
            assert!(trace_id_ratio(id, 1.0), "{id}");
        }
        // Only the low half of the id counts.
        for high in [0, 1, u64::MAX] {
            let id = TraceId::from_u128((u128::from(high) << 64) | 6);
            assert!(trace_id_ratio(id, 4.0 * 2f64.powi(-63)));
            assert!(!trace_id_ratio(id, 3.0 * 2f64.powi(-63)));
        }
    }

    #[test]
    fn ratio_samples_about_the_rate() {
        let n = 100_000;
        let hits = (0..n)
            .filter(|_| trace_id_ratio(TraceId::random(), 0.25))
            .count();
        assert!((23_500..26_500).contains(&hits), "{hits} of {n}");
    }

    fn sampler(
        rate: f64,
        parent_based: bool,
        rules: &[(Option<&str>, Option<SpanKind>, f64)],
    ) -> Sampler {
        Sampler::new(&SamplingConfig {
            rate,
            parent_based,
            rules: rules
                .iter()
                .map(|(name, kind, rate)| SamplingRule {
                    name: name.map(String::from),
                    kind: *kind,
                    rate: *rate,
                })
                .collect(),
        })
        .unwrap()
    }

    fn parent(sampled: bool, remote: bool) -> SpanContext {
        SpanContext::new(
            TraceId::random(),
            SpanId::random(),
            TraceFlags::NOT_SAMPLED.with_sampled(sampled),
            remote,
        )
    }

    #[test]
    fn default_samples_roots_and_follows_parents() {
        let s = Sampler::default();
        assert_eq!(s.config(), &SamplingConfig::default());
        for _ in 0..1_000 {
            let id = TraceId::random();
            assert!(s.should_sample(None, id, "x", SpanKind::Plain));
        }
        for remote in [false, true] {
            let id = TraceId::random();
            let sampled = parent(true, remote);
            let unsampled = parent(false, remote);
            assert!(s.should_sample(Some(&sampled), id, "x", SpanKind::Llm));
            assert!(!s.should_sample(Some(&unsampled), id, "x", SpanKind::Llm));
        }
    }

    #[test]
    fn root_rate_applies_to_roots_and_sampled_children_follow() {
        let s = sampler(0.5, true, &[]);
        let (yes, no) = (id_with_low(0), id_with_low(u64::MAX));
        assert!(s.should_sample(None, yes, "x", SpanKind::Agent));
        assert!(!s.should_sample(None, no, "x", SpanKind::Agent));
        // A sampled parent keeps its trace whatever the rate says of the id.
        for remote in [false, true] {
            assert!(s.should_sample(Some(&parent(true, remote)), no, "x", SpanKind::Tool));
            assert!(!s.should_sample(Some(&parent(false, remote)), yes, "x", SpanKind::Tool));
        }
    }

    #[test]
    fn without_parent_based_children_use_the_rate() {
        let s = sampler(0.5, false, &[]);
        let (yes, no) = (id_with_low(0), id_with_low(u64::MAX));
        for sampled in [false, true] {
            let p = parent(sampled, true);
            assert!(s.should_sample(Some(&p), yes, "x", SpanKind::Tool));
            assert!(!s.should_sample(Some(&p), no, "x", SpanKind::Tool));
        }
        let always = sampler(1.0, false, &[]);
        assert!(always.should_sample(Some(&parent(false, false)), no, "x", SpanKind::Tool));
    }

    #[test]
    fn first_matching_rule_wins() {
        let s = sampler(
            1.0,
            true,
            &[
                (Some("chat gpt-4o*"), Some(SpanKind::Llm), 1.0),
                (Some("chat *"), None, 0.0),
                (None, Some(SpanKind::Tool), 0.0),
                (Some("execute_tool *"), None, 1.0),
            ],
        );
        let id = TraceId::random();
        assert!(s.should_sample(None, id, "chat gpt-4o-mini", SpanKind::Llm));
        // Name matches the first rule but the kind does not: the second applies.
        assert!(!s.should_sample(None, id, "chat gpt-4o-mini", SpanKind::Plain));
        assert!(!s.should_sample(None, id, "chat claude", SpanKind::Llm));
        // The kind rule comes before the name rule that would keep it.
        assert!(!s.should_sample(None, id, "execute_tool search", SpanKind::Tool));
        assert!(s.should_sample(None, id, "execute_tool search", SpanKind::Plain));
        assert!(s.should_sample(None, id, "invoke_agent", SpanKind::Agent));
    }

    #[test]
    fn rules_apply_under_a_sampled_parent_but_never_revive_an_unsampled_one() {
        let s = sampler(
            1.0,
            true,
            &[
                (None, Some(SpanKind::Tool), 0.0),
                (None, Some(SpanKind::Llm), 1.0),
            ],
        );
        let id = TraceId::random();
        let sampled = parent(true, true);
        assert!(!s.should_sample(Some(&sampled), id, "t", SpanKind::Tool));
        assert!(s.should_sample(Some(&sampled), id, "l", SpanKind::Llm));
        assert!(s.should_sample(Some(&sampled), id, "other", SpanKind::Task));
        assert!(!s.should_sample(Some(&parent(false, false)), id, "l", SpanKind::Llm));
    }

    #[test]
    fn rule_rates_decide_by_trace_id() {
        let s = sampler(1.0, true, &[(None, Some(SpanKind::Tool), 0.25)]);
        for _ in 0..1_000 {
            let id = TraceId::random();
            assert_eq!(
                s.should_sample(None, id, "t", SpanKind::Tool),
                trace_id_ratio(id, 0.25)
            );
        }
    }

    #[test]
    fn globs() {
        let m = |p: &str, t: &str| glob_matches(p.as_bytes(), t.as_bytes());
        assert!(m("chat *", "chat gpt-4o"));
        assert!(m("chat *", "chat "));
        assert!(!m("chat *", "chat"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("*gpt*", "chat gpt-4o"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("*ab", "aab"));
        assert!(m("*a*a*a*b", "aaaaaaaaaaab"));
        assert!(!m("*a*a*a*b", "aaaaaaaaaaaa"));
        assert!(m("gpt-4?", "gpt-4o"));
        assert!(!m("gpt-4?", "gpt-4"));
        assert!(!m("gpt-4?", "gpt-4oo"));
        assert!(m("?", "é"));
        assert!(m("caf?", "café"));
        assert!(m("*?", "☃"));
        assert!(m("*é", "café"));
        assert!(m("x?y", "x😀y"));
        assert!(!m("Chat *", "chat x"));
        assert!(m("execute_tool ?earch", "execute_tool search"));
    }

    #[test]
    fn config_errors_name_the_setting() {
        let err = |cfg: SamplingConfig| match Sampler::new(&cfg).unwrap_err() {
            Error::InvalidConfig { setting, value, .. } => (setting, value),
            other => panic!("{other:?}"),
        };
        let with_rules = |rules: Vec<SamplingRule>| SamplingConfig {
            rules,
            ..SamplingConfig::default()
        };
        let rule = |rate| SamplingRule {
            name: Some("x".into()),
            kind: None,
            rate,
        };
        for bad in [-0.1, 1.1, f64::NAN, f64::INFINITY] {
            let (setting, _) = err(SamplingConfig {
                rate: bad,
                ..SamplingConfig::default()
            });
            assert_eq!(setting, "sampling.rate");
        }
        assert_eq!(
            err(with_rules(vec![rule(0.5), rule(1.0), rule(2.0)])),
            ("sampling.rules[2].rate".into(), "2".into())
        );
        let neither = SamplingRule {
            name: None,
            kind: None,
            rate: 0.5,
        };
        assert_eq!(
            err(with_rules(vec![rule(0.5), neither])).0,
            "sampling.rules[1]"
        );
        assert!(Sampler::new(&with_rules(vec![rule(0.0), rule(1.0)])).is_ok());
    }

    #[test]
    fn deserializes_with_defaults_and_kind_names() {
        let cfg: SamplingConfig = serde_json::from_str(
            r#"{"rate": 0.1, "rules": [{"name": "chat *", "rate": 0.5}, {"kind": "TOOL", "rate": 0}]}"#,
        )
        .unwrap();
        assert_eq!(cfg.rate, 0.1);
        assert!(cfg.parent_based);
        assert_eq!(cfg.rules[0].kind, None);
        assert_eq!(cfg.rules[1].kind, Some(SpanKind::Tool));
        assert_eq!(
            serde_json::from_str::<SamplingConfig>("{}").unwrap(),
            SamplingConfig::default()
        );
        for bad in [
            r#"{"ratio": 0.1}"#,
            r#"{"rules": [{"kind": "robot", "rate": 1}]}"#,
            r#"{"rules": [{"name": "x"}]}"#,
            r#"{"rules": [{"name": "x", "rate": 1, "extra": 1}]}"#,
        ] {
            assert!(
                serde_json::from_str::<SamplingConfig>(bad).is_err(),
                "{bad}"
            );
        }
    }

    fn with_env(vars: &[(&str, &str)]) -> Result<SamplingConfig, Error> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut cfg = SamplingConfig {
            rules: vec![SamplingRule {
                name: Some("kept".into()),
                kind: None,
                rate: 0.5,
            }],
            ..SamplingConfig::default()
        };
        apply_env(&mut cfg, &|k| vars.get(k).cloned())?;
        Ok(cfg)
    }

    fn env_error(vars: &[(&str, &str)]) -> (String, String, String) {
        match with_env(vars).unwrap_err() {
            Error::InvalidConfig {
                setting,
                value,
                reason,
            } => (setting, value, reason),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn env_samplers() {
        let cases = [
            ("always_on", None, 1.0, false),
            ("always_off", None, 0.0, false),
            ("traceidratio", Some("0.25"), 0.25, false),
            ("traceidratio", None, 1.0, false),
            ("parentbased_always_on", None, 1.0, true),
            ("parentbased_always_off", Some("0.5"), 0.0, true),
            ("PARENTBASED_TRACEIDRATIO", Some(" 0.1 "), 0.1, true),
            ("parentbased_traceidratio", Some(""), 1.0, true),
        ];
        for (sampler, arg, rate, parent_based) in cases {
            let mut vars = vec![("OTEL_TRACES_SAMPLER", sampler)];
            vars.extend(arg.map(|a| ("OTEL_TRACES_SAMPLER_ARG", a)));
            let cfg = with_env(&vars).unwrap();
            assert_eq!(
                (cfg.rate, cfg.parent_based),
                (rate, parent_based),
                "{sampler}"
            );
            assert_eq!(cfg.rules.len(), 1, "rules are left alone");
        }
        // Unset: nothing changes, the argument alone included.
        let cfg = with_env(&[("OTEL_TRACES_SAMPLER_ARG", "0.1")]).unwrap();
        assert_eq!((cfg.rate, cfg.parent_based), (1.0, true));
    }

    #[test]
    fn env_sampler_errors() {
        let (setting, value, _) = env_error(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]);
        assert_eq!(
            (setting.as_str(), value.as_str()),
            ("OTEL_TRACES_SAMPLER", "jaeger_remote")
        );
        for arg in ["1.5", "-0.1", "half", "NaN"] {
            let (setting, value, _) = env_error(&[
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", arg),
            ]);
            assert_eq!(
                (setting.as_str(), value.as_str()),
                ("OTEL_TRACES_SAMPLER_ARG", arg)
            );
        }
    }

    #[test]
    fn env_rules() {
        let cfg = with_env(&[(
            "AGTRACE_SAMPLING_RULES",
            " name=chat *:0.1; kind=tool:0.5;;kind=LLM, name=a:b?:0 ;",
        )])
        .unwrap();
        let rule = |name: Option<&str>, kind, rate| SamplingRule {
            name: name.map(String::from),
            kind,
            rate,
        };
        assert_eq!(
            cfg.rules,
            vec![
                rule(Some("chat *"), None, 0.1),
                rule(None, Some(SpanKind::Tool), 0.5),
                rule(Some("a:b?"), Some(SpanKind::Llm), 0.0),
            ]
        );
        assert!(Sampler::new(&cfg).is_ok());
    }

    #[test]
    fn env_rule_errors_say_which_rule() {
        for (rules, says) in [
            ("kind=tool", "rule 1 'kind=tool': expected MATCHERS:RATE"),
            ("kind=tool:0.5;name=x:2", "rule 2 'name=x:2': the rate"),
            ("kind=robot:0.5", "unknown span kind 'robot'"),
            ("kind=tool,kind=llm:0.5", "'kind' is given twice"),
            ("model=x:0.5", "unknown matcher 'model'"),
            ("tool:0.5", "'tool' is not name=GLOB or kind=KIND"),
            (":0.5", "'' is not name=GLOB"),
        ] {
            let (setting, value, reason) = env_error(&[("AGTRACE_SAMPLING_RULES", rules)]);
            assert_eq!(setting, "AGTRACE_SAMPLING_RULES");
            assert_eq!(value, rules);
            assert!(reason.contains(says), "{rules}: {reason}");
        }
    }
}

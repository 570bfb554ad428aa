//! LLM cost: a versioned table of per-token prices, and the cost of a call's
//! [`Usage`] under it.
//!
//! [`PriceTable::builtin`] is the table shipped in `prices.json`: list prices
//! of common OpenAI, Anthropic, Google and Mistral models at the date in its
//! `version`. Prices change and contracts differ, so applications override
//! entries with [`PriceTable::set`] or load their own file in the same format
//! with [`PriceTable::from_json`]:
//!
//! ```json
//! {"version": "2025-10", "currency": "USD", "unit": "per_million_tokens",
//!  "note": "free text",
//!  "models": [{"provider": "openai", "model": "gpt-4o", "input": 2.5, "output": 10.0,
//!              "cached_input": 1.25, "cache_write": null}]}
//! ```
//!
//! `currency`, `unit`, `note`, `provider`, `cached_input` and `cache_write`
//! may be left out; `currency` and `unit`, when given, must be the two above.
//!
//! # Finding a model's price
//!
//! Names compare case-insensitively, after taking off what is not the model:
//! a path (`openai/gpt-4o`, `models/gemini-1.5-pro`,
//! `projects/p/locations/l/publishers/google/models/gemini-2.0-flash`), a
//! version after `@` or `:` (`claude-3-5-sonnet@20240620`, Bedrock's `-v2:0`)
//! and Bedrock's dotted vendor prefix (`us.anthropic.claude-...`). Then the
//! longest table name that is the whole name or a prefix of it ending at a
//! `-` wins: `gpt-4o` is found exactly, `gpt-4o-2024-08-06`,
//! `claude-3-5-sonnet-20241022`, `mistral-large-latest` and `o1-preview` as
//! their dated or tagged base model, and `gpt-4o-mini-2024-07-18` as
//! `gpt-4o-mini`, never `gpt-4o`. This prefix rule is what strips date and
//! version suffixes, so it needs no list of their shapes; a variant priced
//! differently from its base (`gpt-4o-2024-05-13`, `o3-pro`,
//! `gemini-2.5-flash-lite`) is its own entry. `gpt-4.5` does not fall back
//! to `gpt-4`: `.` is not a boundary.
//!
//! The provider only breaks ties between entries with the same name: one
//! whose provider matches (or that has none) beats one whose provider does
//! not, and among equals the most recently set wins, so an override of a
//! built-in entry wins over it.
//!
//! # What a [`Usage`] costs
//!
//! `input_tokens` counts every prompt token, cached or not, as OpenAI and
//! the OpenTelemetry GenAI conventions report it. Of those,
//! `cache_read_input_tokens` are billed at `cached_input` and
//! `cache_creation_input_tokens` at `cache_write` (each falling back to
//! `input` when the model has no such price), and the rest at `input`.
//! `output_tokens` includes reasoning tokens, billed at `output`;
//! `reasoning_output_tokens` is a breakdown and adds nothing.
//!
//! Anthropic reports cache reads and writes beside `input_tokens`, not in it:
//! pass their sum as `input_tokens`. Gemini reports thinking tokens beside
//! the candidates: add them to `output_tokens`. For example, Claude Sonnet 4.5
//! answering `input_tokens: 100, cache_read_input_tokens: 2000,
//! cache_creation_input_tokens: 500, output_tokens: 300` is
//! `Usage { input_tokens: 2600, cache_read_input_tokens: 2000,
//! cache_creation_input_tokens: 500, output_tokens: 300, .. }`, which costs
//! (100 × 3 + 2000 × 0.30 + 500 × 3.75 + 300 × 15) / 10^6 = $0.007275.

use crate::error::Error;
use crate::model::usage::Usage;
use serde::Deserialize;
use std::sync::OnceLock;

/// Prices in USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Prompt tokens not served from or written to a cache.
    pub input: f64,
    /// Generated tokens, reasoning included.
    pub output: f64,
    /// Prompt tokens read from the provider's cache; `input` when unset.
    pub cached_input: Option<f64>,
    /// Prompt tokens written to the provider's cache (Anthropic's cache
    /// creation); `input` when unset.
    pub cache_write: Option<f64>,
}

impl Price {
    /// What `usage` costs at this price, in USD (see the module docs for how
    /// the token counts are read).
    pub fn cost(&self, usage: &Usage) -> f64 {
        let read = usage.cache_read_input_tokens;
        let written = usage.cache_creation_input_tokens;
        // Saturating: counts that do not add up must not wrap into a huge cost.
        let uncached = usage
            .input_tokens
            .saturating_sub(read)
            .saturating_sub(written);
        let micro_usd = uncached as f64 * self.input
            + read as f64 * self.cached_input.unwrap_or(self.input)
            + written as f64 * self.cache_write.unwrap_or(self.input)
            + usage.output_tokens as f64 * self.output;
        micro_usd / 1e6
    }
}

/// Model prices, looked up by model name (see the module docs).
#[derive(Clone, Debug)]
pub struct PriceTable {
    version: String,
    /// Oldest first: later entries win ties.
    entries: Vec<Entry>,
}

#[derive(Clone, Debug)]
struct Entry {
    /// Lowercase.
    provider: Option<String>,
    /// The lowercase model key.
    model: String,
    price: Price,
}

impl Entry {
    fn new(provider: Option<&str>, model: &str, price: Price) -> Self {
        Entry {
            provider: provider
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_ascii_lowercase),
            model: model_key(model).to_ascii_lowercase(),
            price,
        }
    }

    fn same_key(&self, other: &Entry) -> bool {
        self.model == other.model && self.provider == other.provider
    }
}

const CURRENCY: &str = "USD";
const UNIT: &str = "per_million_tokens";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    version: String,
    currency: Option<String>,
    unit: Option<String>,
    /// Free text for people.
    #[serde(default, rename = "note")]
    _note: Option<String>,
    models: Vec<ModelFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    provider: Option<String>,
    model: String,
    input: f64,
    output: f64,
    cached_input: Option<f64>,
    cache_write: Option<f64>,
}

impl PriceTable {
    /// The table shipped with agtrace (`prices.json`), parsed once.
    pub fn builtin() -> PriceTable {
        static BUILTIN: OnceLock<PriceTable> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                PriceTable::from_json(include_str!("prices.json"))
                    .expect("the shipped prices.json is valid (a unit test parses it)")
            })
            .clone()
    }

    /// The table's `version`, e.g. `2025-10`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Sets the price of `model` (for `provider`, or any provider when
    /// `None`), replacing an entry with the same model and provider. It wins
    /// over every earlier entry of the same name (see the module docs).
    pub fn set(&mut self, provider: Option<&str>, model: &str, price: Price) {
        let entry = Entry::new(provider, model, price);
        self.entries.retain(|e| !e.same_key(&entry));
        self.entries.push(entry);
    }

    /// Parses a table in the format of the shipped `prices.json`. No price
    /// may be negative and each model and provider pair may
    /// appear once; errors name the setting, e.g. `prices.models[3].input`.
    pub fn from_json(s: &str) -> Result<PriceTable, Error> {
        let file: TableFile = serde_json::from_str(s)
            .map_err(|e| Error::config("prices", "<JSON>", e.to_string()))?;
        for (setting, value, expected) in [
            ("prices.currency", &file.currency, CURRENCY),
            ("prices.unit", &file.unit, UNIT),
        ] {
            if let Some(v) = value.as_deref().filter(|v| *v != expected) {
                return Err(Error::config(
                    setting,
                    v,
                    format!("only {expected} is supported"),
                ));
            }
        }
        let mut table = PriceTable {
            version: file.version,
            entries: Vec::with_capacity(file.models.len()),
        };
        for (i, m) in file.models.into_iter().enumerate() {
            let prices = [
                ("input", Some(m.input)),
                ("output", Some(m.output)),
                ("cached_input", m.cached_input),
                ("cache_write", m.cache_write),
            ];
            for (field, value) in prices {
                if let Some(v) = value.filter(|v| *v < 0.0) {
                    return Err(Error::config(
                        &format!("prices.models[{i}].{field}"),
                        &v.to_string(),
                        "must not be negative",
                    ));
                }
            }
            let price = Price {
                input: m.input,
                output: m.output,
                cached_input: m.cached_input,
                cache_write: m.cache_write,
            };
            let entry = Entry::new(m.provider.as_deref(), &m.model, price);
            if entry.model.is_empty() {
                return Err(Error::config(
                    &format!("prices.models[{i}].model"),
                    &m.model,
                    "names no model",
                ));
            }
            if let Some(j) = table.entries.iter().position(|e| e.same_key(&entry)) {
                return Err(Error::config(
                    &format!("prices.models[{i}].model"),
                    &m.model,
                    format!("repeats prices.models[{j}]"),
                ));
            }
            table.entries.push(entry);
        }
        Ok(table)
    }

    /// The price of `model`, or `None` when no entry matches it.
    pub fn lookup(&self, provider: Option<&str>, model: &str) -> Option<Price> {
        self.find(provider, model).map(|e| e.price)
    }

    /// What `usage` of `model` costs in USD, or `None` for an unknown model.
    pub fn cost(&self, provider: Option<&str>, model: &str, usage: &Usage) -> Option<f64> {
        self.lookup(provider, model).map(|p| p.cost(usage))
    }

    /// The entry with the longest matching name; then one whose provider
    /// matches; then the latest.
    fn find(&self, provider: Option<&str>, model: &str) -> Option<&Entry> {
        let query = model_key(model);
        let provider = provider.map(str::trim).filter(|p| !p.is_empty());
        let mut best: Option<((usize, bool), &Entry)> = None;
        for e in &self.entries {
            let Some(len) = matched_len(query, &e.model) else {
                continue;
            };
            let provider_matches = match (provider, &e.provider) {
                (Some(asked), Some(p)) => asked.eq_ignore_ascii_case(p),
                _ => true,
            };
            let rank = (len, provider_matches);
            if best.is_none_or(|(r, _)| rank >= r) {
                best = Some((rank, e));
            }
        }
        best.map(|(_, e)| e)
    }
}

/// The model name inside `model`: without a path, an `@`/`:` version or a
/// Bedrock vendor prefix (see the module docs).
fn model_key(model: &str) -> &str {
    let m = model.trim();
    let m = m.rsplit('/').next().unwrap_or(m);
    let m = m.split(['@', ':']).next().unwrap_or(m);
    let head = &m[..m.find('-').unwrap_or(m.len())];
    match head.rfind('.') {
        Some(dot) => &m[dot + 1..],
        None => m,
    }
}

/// `key`'s length when it is `query` or a prefix of it ending at a `-`
/// (ignoring ASCII case; `key` is lowercase).
fn matched_len(query: &str, key: &str) -> Option<usize> {
    let (q, k) = (query.as_bytes(), key.as_bytes());
    let boundary = q.len() == k.len() || q.get(k.len()) == Some(&b'-');
    (boundary && q[..k.len()].eq_ignore_ascii_case(k)).then_some(k.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(table: &PriceTable, provider: Option<&str>, model: &str) -> Option<String> {
        table.find(provider, model).map(|e| e.model.clone())
    }

    fn price(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            cached_input: None,
            cache_write: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn builtin_parses_and_covers_the_common_models() {
        let t = PriceTable::builtin();
        assert_eq!(t.version(), "2025-10");
        for model in [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "o1",
            "o3",
            "o3-mini",
            "o4-mini",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5-nano",
            "text-embedding-3-small",
            "text-embedding-3-large",
            "claude-opus-4",
            "claude-opus-4-1",
            "claude-sonnet-4",
            "claude-sonnet-4-5",
            "claude-3-7-sonnet",
            "claude-3-5-sonnet",
            "claude-3-5-haiku",
            "claude-haiku-4-5",
            "claude-3-haiku",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.0-flash",
            "gemini-1.5-pro",
            "gemini-1.5-flash",
            "mistral-large",
            "mistral-medium",
            "mistral-small",
            "codestral",
            "open-mistral-nemo",
        ] {
            assert_eq!(key(&t, None, model).as_deref(), Some(model));
        }
        let claude = t.lookup(Some("anthropic"), "claude-sonnet-4-5").unwrap();
        assert_eq!(claude.cache_write, Some(3.75));
        for e in &t.entries {
            assert!(e.provider.is_some(), "{e:?}");
            let p = e.price;
            assert!(p.cached_input.unwrap_or(p.input) <= p.input, "{e:?}");
            assert!(p.cache_write.unwrap_or(p.input) >= p.input, "{e:?}");
        }
    }

    #[test]
    fn dated_tagged_and_qualified_names_find_their_model() {
        let t = PriceTable::builtin();
        for (name, expected) in [
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
            ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
            ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
            ("gpt-4-0613", "gpt-4"),
            ("gpt-4-turbo-2024-04-09", "gpt-4-turbo"),
            ("gpt-5-chat-latest", "gpt-5"),
            ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
            ("o1-preview", "o1"),
            ("o1-mini-2024-09-12", "o1-mini"),
            ("o3-2025-04-16", "o3"),
            ("o3-pro-2025-06-10", "o3-pro"),
            ("o4-mini-deep-research-2025-06-26", "o4-mini-deep-research"),
            ("GPT-4O", "gpt-4o"),
            ("openai/gpt-4o", "gpt-4o"),
            (" openai/gpt-4o-mini ", "gpt-4o-mini"),
            ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
            ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
            ("claude-3-5-sonnet@20240620", "claude-3-5-sonnet"),
            ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"),
            (
                "anthropic.claude-3-5-sonnet-20241022-v2:0",
                "claude-3-5-sonnet",
            ),
            (
                "us.anthropic.claude-3-5-haiku-20241022-v1:0",
                "claude-3-5-haiku",
            ),
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("claude-sonnet-4-20250514", "claude-sonnet-4"),
            ("claude-opus-4-1-20250805", "claude-opus-4-1"),
            ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
            ("claude-3-haiku-20240307", "claude-3-haiku"),
            ("models/gemini-1.5-pro", "gemini-1.5-pro"),
            ("gemini-1.5-pro-002", "gemini-1.5-pro"),
            ("gemini-1.5-flash-8b-001", "gemini-1.5-flash-8b"),
            ("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"),
            (
                "gemini-2.5-flash-lite-preview-06-17",
                "gemini-2.5-flash-lite",
            ),
            (
                "projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash-001",
                "gemini-2.0-flash",
            ),
            ("mistral-large-latest", "mistral-large"),
            ("mistral-large-2411", "mistral-large"),
            ("mistral-small-2503", "mistral-small"),
            ("codestral-2501", "codestral"),
            ("open-mistral-nemo-2407", "open-mistral-nemo"),
        ] {
            assert_eq!(key(&t, None, name).as_deref(), Some(expected), "{name}");
        }
    }

    #[test]
    fn unknown_names_have_no_price() {
        let t = PriceTable::builtin();
        for name in [
            "",
            "gpt",
            "gpt-4omni",
            "gpt-4.5-preview",
            "llama-3.1-70b",
            "claude",
            "ft:gpt-4o-mini-2024-07-18:org::abc",
            "o",
        ] {
            assert_eq!(key(&t, None, name), None, "{name}");
            assert_eq!(t.cost(None, name, &Usage::new(10, 10)), None, "{name}");
        }
    }

    #[test]
    fn provider_breaks_ties_and_overrides_win() {
        let mut t = PriceTable::builtin();
        let builtin = t.lookup(None, "gpt-4o").unwrap();
        t.set(Some("Azure"), "gpt-4o", price(1.0, 2.0));
        assert_eq!(t.lookup(Some("openai"), "gpt-4o"), Some(builtin));
        assert_eq!(t.lookup(Some("azure"), "gpt-4o"), Some(price(1.0, 2.0)));
        assert_eq!(t.lookup(None, "gpt-4o-2024-08-06"), Some(price(1.0, 2.0)));
        assert_eq!(t.lookup(Some("google"), "gpt-4o"), Some(price(1.0, 2.0)));
        // A longer name beats a matching provider.
        assert_eq!(
            key(&t, Some("azure"), "gpt-4o-mini").as_deref(),
            Some("gpt-4o-mini")
        );

        // No provider: it overrides whatever the caller's provider is.
        t.set(None, "gpt-4o", price(3.0, 4.0));
        assert_eq!(t.lookup(Some("openai"), "gpt-4o"), Some(price(3.0, 4.0)));
        assert_eq!(t.lookup(Some("azure"), "gpt-4o"), Some(price(3.0, 4.0)));

        // The same provider and model replaces the entry.
        let n = t.entries.len();
        t.set(Some("OpenAI"), "openai/GPT-4o", price(5.0, 6.0));
        assert_eq!(t.entries.len(), n);
        assert_eq!(t.lookup(Some("openai"), "gpt-4o"), Some(price(5.0, 6.0)));

        // A new model becomes findable, with its dated names.
        t.set(Some("acme"), "Acme-1", price(7.0, 8.0));
        assert_eq!(t.lookup(None, "acme-1-2026-01-01"), Some(price(7.0, 8.0)));
        assert_eq!(PriceTable::builtin().lookup(None, "acme-1"), None);
    }

    #[test]
    fn openai_style_usage_costs() {
        let t = PriceTable::builtin();
        // gpt-4o: 600 uncached x 2.50 + 400 cached x 1.25 + 200 out x 10 = 4000 micro-USD.
        let usage = Usage {
            input_tokens: 1000,
            cache_read_input_tokens: 400,
            output_tokens: 200,
            ..Usage::default()
        };
        let cost = t.cost(Some("openai"), "gpt-4o-2024-08-06", &usage).unwrap();
        assert!(close(cost, 0.004), "{cost}");
        // Reasoning tokens are part of output_tokens: o3, 1000 x 2 + 5000 x 8.
        let usage = Usage {
            input_tokens: 1000,
            output_tokens: 5000,
            reasoning_output_tokens: 4000,
            ..Usage::default()
        };
        let cost = t.cost(None, "o3", &usage).unwrap();
        assert!(close(cost, 0.042), "{cost}");
        // Embeddings: 1M tokens of text-embedding-3-small.
        let cost = t
            .cost(None, "text-embedding-3-small", &Usage::new(1_000_000, 0))
            .unwrap();
        assert!(close(cost, 0.02), "{cost}");
        assert_eq!(t.cost(None, "gpt-4o", &Usage::default()), Some(0.0));
    }

    #[test]
    fn anthropic_style_usage_costs() {
        let t = PriceTable::builtin();
        // The module docs' example: Anthropic's input_tokens 100 plus 2000 read
        // and 500 written: 100 x 3 + 2000 x 0.30 + 500 x 3.75 + 300 x 15.
        let usage = Usage {
            input_tokens: 100 + 2000 + 500,
            cache_read_input_tokens: 2000,
            cache_creation_input_tokens: 500,
            output_tokens: 300,
            ..Usage::default()
        };
        let cost = t
            .cost(Some("anthropic"), "claude-sonnet-4-5-20250929", &usage)
            .unwrap();
        assert!(close(cost, 0.007275), "{cost}");
    }

    #[test]
    fn cache_prices_fall_back_to_input() {
        let p = price(2.0, 10.0);
        let usage = Usage {
            input_tokens: 1000,
            cache_read_input_tokens: 300,
            cache_creation_input_tokens: 200,
            output_tokens: 100,
            ..Usage::default()
        };
        // All 1000 prompt tokens at 2.00, 100 out at 10.
        assert!(close(p.cost(&usage), 0.003));
        // Counts that exceed input_tokens bill the cache parts, nothing negative.
        let odd = Usage {
            input_tokens: 100,
            cache_read_input_tokens: 300,
            ..Usage::default()
        };
        let cached = Price {
            cached_input: Some(1.0),
            ..p
        };
        assert!(close(cached.cost(&odd), 0.0003));
    }

    #[test]
    fn from_json_reads_a_user_table() {
        let t = PriceTable::from_json(
            r#"{"version": "mine-1", "models": [
                {"model": "house-llm", "input": 1, "output": 2},
                {"provider": "acme", "model": "x", "input": 0, "output": 0, "cached_input": 0}
            ]}"#,
        )
        .unwrap();
        assert_eq!(t.version(), "mine-1");
        assert_eq!(t.lookup(Some("any"), "house-llm-v3"), Some(price(1.0, 2.0)));
        assert_eq!(t.lookup(None, "gpt-4o"), None);
    }

    #[test]
    fn from_json_errors_name_the_setting() {
        let setting = |json: &str| match PriceTable::from_json(json).unwrap_err() {
            Error::InvalidConfig { setting, .. } => setting,
            other => panic!("{other:?}"),
        };
        let model = r#"{"model": "m", "input": 1, "output": 1}"#;
        for (json, expected) in [
            ("{".to_string(), "prices"),
            (r#"{"models": []}"#.to_string(), "prices"),
            (r#"{"version": "v", "models": [], "extra": 1}"#.to_string(), "prices"),
            (
                r#"{"version": "v", "currency": "EUR", "models": []}"#.to_string(),
                "prices.currency",
            ),
            (
                r#"{"version": "v", "unit": "per_token", "models": []}"#.to_string(),
                "prices.unit",
            ),
            (
                format!(
                    r#"{{"version": "v", "models": [{model}, {{"model": "n", "input": -1, "output": 1}}]}}"#
                ),
                "prices.models[1].input",
            ),
            (
                r#"{"version": "v", "models": [{"model": "n", "input": 1, "output": 1, "cached": 1}]}"#
                    .to_string(),
                "prices",
            ),
            (
                format!(r#"{{"version": "v", "models": [{model}, {model}]}}"#),
                "prices.models[1].model",
            ),
            (
                r#"{"version": "v", "models": [{"model": "openai/", "input": 1, "output": 1}]}"#
                    .to_string(),
                "prices.models[0].model",
            ),
        ] {
            assert_eq!(setting(&json), expected, "{json}");
        }
    }
}

//! Live configuration for the bindings: reading the effective settings as
//! JSON, and changing the live policies (sampling, redaction, global
//! metadata, links) of a running tracer.
//!
//! JSON is the exchange format because each binding already has a native
//! map type for it, and the sections use the same keys as a config file's
//! (`[sampling]`, `[redaction]`, ...): what `config_json` reports under
//! `sampling` or `redaction` can be passed back, whole or in part, to
//! `update_sampling` or `update_redaction`.

use super::error::AgtraceError;
use super::tracer::Tracer;
use crate::error::FfiError;
use serde_json::{json, Map, Value as Json};
use std::time::Duration;

#[uniffi::export]
impl Tracer {
    /// The configuration in effect, as one JSON object. Policies changed on
    /// the live tracer (sampling, redaction, global tags and metadata) show
    /// their current value; the rest is fixed at creation. Keys:
    ///
    /// - `service_name` (string), `disabled` (bool), `capture_content` (bool),
    ///   `capture_io` (bool), `conversation_attribute` (string);
    /// - `exporters`: exporter names in order (`console`, `file`, `otlp`,
    ///   `langfuse`, `phoenix`, `langwatch`, `opik`, `memory`, `none`; a
    ///   repeated OTLP destination gets `-2`, `-3`, ...);
    /// - `propagators`: `tracecontext`, `baggage`, `b3`, `b3multi`, in order;
    /// - `sampling`: `rate`, `parent_based`, `rules` (each `name`, `kind`,
    ///   `rate`; an unset matcher is null);
    /// - `redaction`: `redact_messages`, `redact_tool_arguments`,
    ///   `redact_tool_results`, `include_tool_definitions`,
    ///   `max_message_chars` (null when unset), `max_attribute_bytes`,
    ///   `sensitive_keys`, `replace_sensitive_keys`, `scrub_patterns`,
    ///   `scrub_default_patterns`, `media` (`placeholder`, `keep`, `drop`);
    /// - `global_tags` (strings), `global_metadata` (object);
    /// - `links`: whether span links are exported;
    /// - `otel_bridge`: whether the SDKs bridge with OpenTelemetry's context;
    /// - `batch`: `queue_capacity`, `queue_max_bytes`, `batch_size`,
    ///   `batch_max_bytes`, `flush_interval_ms`, `rollup_hold_ms`;
    /// - `delivery`: `max_retries`, `initial_backoff_ms`, `max_backoff_ms`,
    ///   `export_deadline_ms`, `breaker_threshold`, `breaker_reset_ms`.
    ///
    /// Keys may be added; none is renamed or removed.
    pub fn config_json(&self) -> String {
        let t = &self.inner;
        let s = t.settings();
        let global = t.global_context();
        let b = &s.batch;
        json!({
            "service_name": s.service_name,
            "disabled": s.disabled,
            "capture_content": s.capture_content,
            "capture_io": s.capture_io,
            "conversation_attribute": s.conversation_attribute,
            "exporters": s.exporter_names(),
            "propagators": s
                .propagators
                .formats()
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>(),
            "sampling": t.sampling(),
            "redaction": t.redaction(),
            "global_tags": global.tags,
            "global_metadata": global.metadata,
            "links": t.links_enabled(),
            "otel_bridge": s.otel_bridge,
            "batch": {
                "queue_capacity": b.queue_capacity,
                "queue_max_bytes": b.queue_max_bytes,
                "batch_size": b.batch_size,
                "batch_max_bytes": b.batch_max_bytes,
                "flush_interval_ms": millis(b.flush_interval),
                "rollup_hold_ms": millis(b.rollup_hold),
            },
            "delivery": s.delivery,
        })
        .to_string()
    }

    /// Changes the live redaction rules: `changes_json` is a JSON object with
    /// some of the keys of `config_json`'s `redaction`; the others keep their
    /// current value. A list given here replaces the current list (the
    /// built-in sensitive keys still apply unless `replace_sensitive_keys`);
    /// `"max_message_chars": null` removes that limit.
    /// Spans exported afterwards use the new rules, and the redaction counters
    /// restart. All or nothing: an unknown key, a value of the wrong type or
    /// an invalid value (a bad regular expression, a limit below 64) changes
    /// nothing and fails naming the key. Not atomic against a concurrent
    /// update of the redaction rules: the last one wins.
    pub fn update_redaction(&self, changes_json: String) -> Result<(), AgtraceError> {
        let current = json!(self.inner.redaction());
        let cfg = merged("", current, &changes_json, serde_json::from_value)?;
        Ok(self.inner.update_redaction(cfg)?)
    }

    /// Changes the live sampling settings: `changes_json` is a JSON object
    /// with some of the keys of `config_json`'s `sampling` (`rate`,
    /// `parent_based`, `rules`); the others keep their current value, and
    /// `rules` given here replaces the current rules. Spans started
    /// afterwards use the new settings. All or nothing: an unknown key, a
    /// value of the wrong type or an invalid value (a rate outside [0, 1], a
    /// rule with neither `name` nor `kind`) changes nothing and fails naming
    /// the key. Not atomic against a concurrent sampling update: the last one
    /// wins.
    pub fn update_sampling(&self, changes_json: String) -> Result<(), AgtraceError> {
        let current = json!(self.inner.sampling());
        let cfg = merged("sampling.", current, &changes_json, serde_json::from_value)?;
        Ok(self.inner.update_sampling(cfg)?)
    }

    /// Sets `key` in the metadata added to every span exported from now on
    /// (under each trace's own metadata, which wins). `value_json` is any
    /// JSON value; invalid JSON fails naming the key and changes nothing.
    pub fn set_global_metadata(&self, key: String, value_json: String) -> Result<(), AgtraceError> {
        let value: Json = serde_json::from_str(&value_json).map_err(|e| {
            FfiError::invalid(
                format_args!("value_json of metadata key {key:?}"),
                format_args!("not JSON ({e})"),
            )
        })?;
        self.inner.set_global_metadata(key, value);
        Ok(())
    }

    /// Turns the export of span links on or off, for spans exported from now
    /// on.
    pub fn set_links_enabled(&self, on: bool) {
        self.inner.set_links_enabled(on);
    }
}

/// Every setting name `Tracer::new` accepts (`AGTRACE_*` and the standard
/// `OTEL_*`, ...), sorted: the names of the environment variables, so a
/// binding can map its keyword arguments to them (`capture_content` to
/// `AGTRACE_CAPTURE_CONTENT`) and reject an unknown one before creating the
/// tracer.
#[uniffi::export]
pub fn setting_names() -> Vec<String> {
    agtrace_core::SETTING_NAMES
        .iter()
        .map(|n| n.to_string())
        .collect()
}

/// Whole milliseconds, saturating (the unit of the config file's `*_ms`
/// keys).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The changes in `changes_json` (a JSON object) over `current` (a section
/// as serialized), read back with `read`. Each key is first read alone over
/// the defaults, so serde's message for an unknown key or a wrong type is
/// reported with the key it belongs to, written `{prefix}{key}` as the
/// core's own errors name the section's settings (`sampling.rate`,
/// `max_attribute_bytes`); range checks are left to the core.
fn merged<T>(
    prefix: &str,
    mut current: Json,
    changes_json: &str,
    read: fn(Json) -> serde_json::Result<T>,
) -> Result<T, AgtraceError> {
    let changes = match serde_json::from_str(changes_json) {
        Ok(Json::Object(m)) => m,
        Ok(other) => {
            let reason = format!("expected a JSON object, got {other}");
            return Err(FfiError::invalid("changes_json", reason).into());
        }
        Err(e) => return Err(FfiError::invalid("changes_json", format!("not JSON ({e})")).into()),
    };
    for (key, value) in changes {
        let alone = Map::from_iter([(key.clone(), value.clone())]);
        if let Err(e) = read(Json::Object(alone)) {
            return Err(AgtraceError::InvalidConfig {
                detail: format!("invalid setting {prefix}{key}={value}: {e}"),
            });
        }
        current[key.as_str()] = value;
    }
    read(current).map_err(|e| AgtraceError::InvalidConfig {
        detail: format!("invalid settings: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Arc;

    /// A tracer exporting nowhere, from these settings only.
    fn tracer(settings: &[(&str, &str)]) -> Arc<Tracer> {
        let mut by_name: HashMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        by_name
            .entry("AGTRACE_EXPORTERS".into())
            .or_insert_with(|| "none".into());
        Tracer::new(by_name, true).unwrap()
    }

    fn config(t: &Tracer) -> Json {
        serde_json::from_str(&t.config_json()).unwrap()
    }

    /// The detail of an `InvalidConfig` error (anything else fails the test).
    fn invalid_config(r: Result<(), AgtraceError>) -> String {
        match r {
            Err(AgtraceError::InvalidConfig { detail }) => detail,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn config_json_reports_every_setting_under_its_documented_key() {
        let t = tracer(&[
            ("OTEL_SERVICE_NAME", "support-agent"),
            ("AGTRACE_CAPTURE_CONTENT", "true"),
            ("OTEL_PROPAGATORS", "b3,tracecontext"),
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
            ("AGTRACE_SAMPLING_RULES", "kind=llm:1"),
            ("AGTRACE_REDACT_TOOL_RESULTS", "true"),
            ("AGTRACE_TAGS", "prod, eu"),
            ("AGTRACE_METADATA", r#"{"team": "search"}"#),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "1000"),
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
            ("AGTRACE_MAX_RETRIES", "2"),
        ]);
        let c = config(&t);
        let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "batch",
                "capture_content",
                "capture_io",
                "conversation_attribute",
                "delivery",
                "disabled",
                "exporters",
                "global_metadata",
                "global_tags",
                "links",
                "otel_bridge",
                "propagators",
                "redaction",
                "sampling",
                "service_name",
            ]
        );
        assert_eq!(c["service_name"], "support-agent");
        assert_eq!(c["disabled"], false);
        assert_eq!(c["capture_content"], true);
        assert_eq!(c["capture_io"], true);
        assert_eq!(c["otel_bridge"], true);
        assert_eq!(c["conversation_attribute"], "gen_ai.conversation.id");
        assert_eq!(c["exporters"], json!(["none"]));
        assert_eq!(c["propagators"], json!(["b3", "tracecontext"]));
        assert_eq!(
            c["sampling"],
            json!({
                "rate": 0.5,
                "parent_based": false,
                "rules": [{"name": null, "kind": "llm", "rate": 1.0}],
            })
        );
        assert_eq!(c["redaction"]["redact_tool_results"], true);
        assert_eq!(c["redaction"]["redact_messages"], false);
        assert_eq!(c["redaction"]["max_message_chars"], Json::Null);
        assert_eq!(c["global_tags"], json!(["prod", "eu"]));
        assert_eq!(c["global_metadata"], json!({"team": "search"}));
        assert_eq!(c["batch"]["queue_capacity"], 1000);
        assert_eq!(c["batch"]["flush_interval_ms"], 250);
        assert_eq!(c["batch"]["rollup_hold_ms"], 300_000);
        assert_eq!(c["delivery"]["max_retries"], 2);
        assert_eq!(c["delivery"]["initial_backoff_ms"], 500);
    }

    #[test]
    fn redaction_changes_merge_onto_the_live_rules() {
        let t = tracer(&[("AGTRACE_MAX_ATTRIBUTE_BYTES", "4096")]);
        t.update_redaction(r#"{"redact_messages": true}"#.into())
            .unwrap();
        let r = &config(&t)["redaction"];
        assert_eq!(r["redact_messages"], true);
        assert_eq!(r["max_attribute_bytes"], 4096, "unspecified keys stay");
        assert_eq!(r["scrub_default_patterns"], true);

        t.update_redaction(r#"{"max_message_chars": 100, "scrub_patterns": ["ssn=\\d+"]}"#.into())
            .unwrap();
        let r = &config(&t)["redaction"];
        assert_eq!(r["redact_messages"], true);
        assert_eq!(r["max_message_chars"], 100);
        assert_eq!(r["scrub_patterns"], json!(["ssn=\\d+"]));
        assert_eq!(t.inner.redaction().max_message_chars, Some(100));
    }

    #[test]
    fn sections_of_config_json_feed_the_updates_unchanged() {
        let t = tracer(&[
            (
                "AGTRACE_SAMPLING_RULES",
                "name=chat *,kind=llm:0.25;kind=tool:0",
            ),
            ("AGTRACE_SENSITIVE_KEYS", "ssn"),
            ("AGTRACE_MAX_MESSAGE_CHARS", "500"),
        ]);
        let before = config(&t);
        t.update_sampling(before["sampling"].to_string()).unwrap();
        t.update_redaction(before["redaction"].to_string()).unwrap();
        assert_eq!(config(&t), before);
    }

    #[test]
    fn bad_redaction_changes_name_the_key_and_change_nothing() {
        let t = tracer(&[]);
        let before = t.inner.redaction();
        let update = |changes: &str| t.update_redaction(changes.into());

        let d = invalid_config(update(
            r#"{"redact_messages": true, "redact_everything": true}"#,
        ));
        assert!(d.contains("setting redact_everything="), "{d}");
        let d = invalid_config(update(r#"{"redact_messages": "yes"}"#));
        assert!(d.contains("setting redact_messages="), "{d}");
        let d = invalid_config(update(r#"{"scrub_patterns": ["ok", "(unclosed"]}"#));
        assert!(
            d.contains("scrub_patterns") && d.contains("(unclosed"),
            "{d}"
        );
        let d = invalid_config(update(r#"{"max_attribute_bytes": 10}"#));
        assert!(d.contains("max_attribute_bytes") && d.contains("64"), "{d}");
        let d = invalid_config(update(r#"{"max_message_chars": 10}"#));
        assert!(d.contains("max_message_chars"), "{d}");
        let d = invalid_config(update(r#"{"sensitive_keys": ["-"]}"#));
        assert!(d.contains("sensitive_keys"), "{d}");

        for not_an_object in ["[1]", "{", ""] {
            match update(not_an_object) {
                Err(AgtraceError::InvalidArgument { detail }) => {
                    assert!(detail.contains("changes_json"), "{detail}")
                }
                other => panic!("{not_an_object:?} gave {other:?}"),
            }
        }
        assert_eq!(t.inner.redaction(), before);
    }

    #[test]
    fn sampling_changes_merge_and_bad_ones_name_the_key() {
        let t = tracer(&[]);
        t.update_sampling(r#"{"rate": 0.25}"#.into()).unwrap();
        t.update_sampling(r#"{"rules": [{"kind": "tool", "rate": 0.5}]}"#.into())
            .unwrap();
        let after = config(&t)["sampling"].clone();
        assert_eq!(
            after,
            json!({
                "rate": 0.25,
                "parent_based": true,
                "rules": [{"name": null, "kind": "tool", "rate": 0.5}],
            })
        );

        let update = |changes: &str| t.update_sampling(changes.into());
        let d = invalid_config(update(r#"{"rate": 1.5}"#));
        assert!(d.contains("sampling.rate") && d.contains("[0, 1]"), "{d}");
        let d = invalid_config(update(r#"{"rate": "half"}"#));
        assert!(d.contains("sampling.rate"), "{d}");
        let d = invalid_config(update(r#"{"rules": [{"rate": 0.5}]}"#));
        assert!(d.contains("sampling.rules[0]"), "{d}");
        let d = invalid_config(update(r#"{"rules": [{"kind": "robot", "rate": 0.5}]}"#));
        assert!(d.contains("sampling.rules") && d.contains("robot"), "{d}");
        let d = invalid_config(update(r#"{"sample_rate": 1}"#));
        assert!(d.contains("sampling.sample_rate"), "{d}");
        assert_eq!(config(&t)["sampling"], after);
    }

    #[test]
    fn global_metadata_takes_json_and_bad_json_names_the_key() {
        let t = tracer(&[("AGTRACE_METADATA", r#"{"team": "search"}"#)]);
        t.set_global_metadata("run".into(), r#"{"id": 7}"#.into())
            .unwrap();
        t.set_global_metadata("team".into(), r#""ranking""#.into())
            .unwrap();
        match t.set_global_metadata("broken".into(), "{nope".into()) {
            Err(AgtraceError::InvalidArgument { detail }) => {
                assert!(detail.contains("\"broken\""), "{detail}")
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
        assert_eq!(
            config(&t)["global_metadata"],
            json!({"team": "ranking", "run": {"id": 7}})
        );
    }

    #[test]
    fn links_switch_is_live_and_reported() {
        let t = tracer(&[]);
        assert_eq!(config(&t)["links"], true);
        t.set_links_enabled(false);
        assert_eq!(config(&t)["links"], false);
    }

    #[test]
    fn setting_names_are_exactly_the_names_tracer_new_accepts() {
        let names = setting_names();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert!(names.iter().any(|n| n == "AGTRACE_CAPTURE_CONTENT"));
        for n in &names {
            assert!(
                agtrace_core::TracerBuilder::default().set(n, "").is_ok(),
                "{n}"
            );
        }
        let by_name = HashMap::from([("capture_content".to_string(), "true".to_string())]);
        match Tracer::new(by_name, true) {
            Err(AgtraceError::InvalidArgument { detail }) => {
                assert!(detail.contains("capture_content"), "{detail}")
            }
            other => panic!("expected InvalidArgument, got {:?}", other.map(|_| ())),
        }
    }
}

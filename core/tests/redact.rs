//! Redaction through the public API: sensitive keys and secret shapes masked
//! before export, the content switches, truncation, environment variables,
//! bad rules failing at build, live updates (rules by name included), the
//! attributes the core derives, and many distinct attribute names.

mod common;
use agtrace_core::semconv as sc;
use agtrace_core::*;
use common::*;
use serde_json::{json, Value as Json};
use std::collections::HashMap;

const REDACTED: &str = "[REDACTED]";
const OPENAI_KEY: &str = "sk-proj-Ab12Cd34Ef56Gh78Ij90KlMnOp";

/// A tracer exporting to memory with content capture on and these rules.
fn tracer_with(cfg: RedactionConfig) -> (Tracer, InMemoryExporter) {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .service_name("test")
        .capture_content(true)
        .redaction(cfg)
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .expect("tracer");
    (tracer, mem)
}

fn str_attr<'a>(r: &'a SpanRecord, key: &str) -> &'a str {
    r.attribute(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{}: no string attribute {key}", r.name))
}

fn json_attr(r: &SpanRecord, key: &str) -> Json {
    serde_json::from_str(str_attr(r, key)).expect("valid JSON")
}

fn messages() -> Json {
    json!([{"role": "user", "parts": [{"type": "text", "content": "What is the weather?"}]}])
}

fn chat_span(tracer: &Tracer, name: &'static str) {
    let mut s = tracer.span(name).kind(SpanKind::Llm).start();
    s.set_input_messages(&messages());
    s.set_output_messages(
        &json!([{"role": "assistant", "parts": [{"type": "text", "content": "Sunny"}]}]),
    );
    s.set_system_instructions(&json!([{"type": "text", "content": "Be brief."}]));
    s.set_usage(Usage::new(120, 40));
    s.end();
}

#[test]
fn tool_arguments_are_masked_by_key_and_secret_shape() {
    let (tracer, mem) = tracer_with(RedactionConfig::default());
    let mut tool = tracer
        .span("execute_tool search")
        .kind(SpanKind::Tool)
        .start();
    tool.set_tool("search", Some("call-1".into()));
    tool.set_tool_arguments(&json!({"api_key": OPENAI_KEY, "query": "x"}));
    tool.set_tool_result(&json!({"hits": [{"note": format!("leaked {OPENAI_KEY} here")}]}));
    tool.set_attribute("http.request.header.authorization", "Basic dXNlcjpwYXNz");
    tool.end();
    chat_span(&tracer, "chat");

    let spans = flushed(&tracer, &mem);
    let t = by_name(&spans, "execute_tool search");
    assert_eq!(
        json_attr(t, sc::GEN_AI_TOOL_CALL_ARGUMENTS),
        json!({"api_key": REDACTED, "query": "x"})
    );
    assert_eq!(
        json_attr(t, sc::GEN_AI_TOOL_CALL_RESULT),
        json!({"hits": [{"note": "leaked [REDACTED] here"}]})
    );
    assert_eq!(str_attr(t, "http.request.header.authorization"), REDACTED);
    assert_eq!(str_attr(t, sc::GEN_AI_TOOL_CALL_ID), "call-1");
    let exported = format!("{spans:?}");
    assert!(!exported.contains(OPENAI_KEY), "the key leaked: {exported}");

    // Token usage and message content are untouched by default.
    let chat = by_name(&spans, "chat");
    assert_eq!(
        chat.attribute(sc::GEN_AI_USAGE_INPUT_TOKENS),
        Some(&Value::I64(120))
    );
    assert_eq!(
        chat.attribute(sc::GEN_AI_USAGE_OUTPUT_TOKENS),
        Some(&Value::I64(40))
    );
    assert_eq!(json_attr(chat, sc::GEN_AI_INPUT_MESSAGES), messages());

    let stats = tracer.redaction_stats();
    assert_eq!(stats.get("sensitive_key"), 2);
    assert_eq!(stats.get("pattern:openai_key"), 1);
    assert_eq!(stats.get("redact_messages"), 0);
}

#[test]
fn content_switches_redact_messages_tools_and_definitions() {
    let (tracer, mem) = tracer_with(RedactionConfig {
        redact_messages: true,
        redact_tool_results: true,
        include_tool_definitions: false,
        ..Default::default()
    });
    chat_span(&tracer, "chat");
    let mut s = tracer.span("chat with tools").kind(SpanKind::Llm).start();
    s.set_tool_definitions(&json!([{"name": "search", "parameters": {}}]));
    s.end();
    let mut tool = tracer.span("tool").kind(SpanKind::Tool).start();
    tool.set_tool_arguments(&json!({"query": "x"}));
    tool.set_tool_result(&json!({"hits": 3}));
    tool.end();

    let spans = flushed(&tracer, &mem);
    let chat = by_name(&spans, "chat");
    for k in [
        sc::GEN_AI_INPUT_MESSAGES,
        sc::GEN_AI_OUTPUT_MESSAGES,
        sc::GEN_AI_SYSTEM_INSTRUCTIONS,
    ] {
        assert_eq!(str_attr(chat, k), REDACTED, "{k}");
    }
    assert_eq!(
        chat.attribute(sc::GEN_AI_USAGE_INPUT_TOKENS),
        Some(&Value::I64(120))
    );
    assert_eq!(
        by_name(&spans, "chat with tools").attribute(sc::GEN_AI_TOOL_DEFINITIONS),
        None
    );
    let tool = by_name(&spans, "tool");
    assert_eq!(
        json_attr(tool, sc::GEN_AI_TOOL_CALL_ARGUMENTS),
        json!({"query": "x"})
    );
    assert_eq!(str_attr(tool, sc::GEN_AI_TOOL_CALL_RESULT), REDACTED);

    let stats = tracer.redaction_stats();
    assert_eq!(stats.get("redact_messages"), 3);
    assert_eq!(stats.get("redact_tool_results"), 1);
    assert_eq!(stats.get("tool_definitions_removed"), 1);
    assert_eq!(stats.get("redact_tool_arguments"), 0);
}

#[test]
fn long_messages_are_truncated_to_valid_json() {
    let (tracer, mem) = tracer_with(RedactionConfig {
        max_message_chars: Some(200),
        ..Default::default()
    });
    let long = "Ünïcödé text ".repeat(100);
    let mut s = tracer.span("chat").kind(SpanKind::Llm).start();
    s.set_input_messages(&json!([
        {"role": "system", "parts": [{"type": "text", "content": long}]},
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
    ]));
    s.end();

    let spans = flushed(&tracer, &mem);
    let raw = str_attr(by_name(&spans, "chat"), sc::GEN_AI_INPUT_MESSAGES);
    assert!(raw.chars().count() <= 200, "{raw}");
    let got: Json = serde_json::from_str(raw).expect("still JSON");
    assert_eq!(got[0]["role"], "system");
    assert_eq!(got[1]["parts"][0]["content"], "hi");
    assert!(got[0]["parts"][0]["content"]
        .as_str()
        .unwrap()
        .contains("[truncated"));
    assert_eq!(tracer.redaction_stats().get("message_truncated"), 1);
}

#[test]
fn errors_are_scrubbed_in_the_exception_event_and_the_status() {
    let (tracer, mem) = tracer_with(RedactionConfig::default());
    let mut s = tracer.span("call api").start();
    s.record_error("AuthError", "401 for Bearer abc123def456ghi", None);
    s.end();

    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "call api");
    let ex = &r.events[0];
    let message = ex
        .attributes
        .iter()
        .find(|a| a.key == sc::EXCEPTION_MESSAGE)
        .and_then(|a| a.value.as_str());
    assert_eq!(message, Some("401 for Bearer [REDACTED]"));
    assert_eq!(r.status, Status::Error("401 for Bearer [REDACTED]".into()));
    assert_eq!(tracer.redaction_stats().get("pattern:bearer"), 2);
}

#[test]
fn live_update_applies_to_spans_exported_afterwards() {
    let (tracer, mem) = tracer_with(RedactionConfig::default());
    chat_span(&tracer, "before");
    let spans = flushed(&tracer, &mem);
    assert_eq!(
        json_attr(by_name(&spans, "before"), sc::GEN_AI_INPUT_MESSAGES),
        messages()
    );

    let on = RedactionConfig {
        redact_messages: true,
        ..Default::default()
    };
    tracer.update_redaction(on.clone()).expect("valid rules");
    assert_eq!(tracer.redaction(), on);
    chat_span(&tracer, "after");
    let spans = flushed(&tracer, &mem);
    assert_eq!(
        str_attr(by_name(&spans, "after"), sc::GEN_AI_INPUT_MESSAGES),
        REDACTED
    );
    assert_eq!(tracer.redaction_stats().get("redact_messages"), 3);

    // A bad update is refused, naming the setting, and the rules stay.
    let bad = RedactionConfig {
        scrub_patterns: vec!["(unclosed".into()],
        ..Default::default()
    };
    match tracer.update_redaction(bad) {
        Err(Error::InvalidConfig { setting, value, .. }) => {
            assert_eq!(setting, "scrub_patterns");
            assert_eq!(value, "(unclosed");
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    assert_eq!(tracer.redaction(), on);
}

#[test]
fn bad_rules_fail_build_naming_the_setting() {
    let build = |cfg: RedactionConfig| {
        Tracer::builder()
            .ignore_env()
            .redaction(cfg)
            .exporter(ExporterConfig::None)
            .build()
    };
    let cases = [
        (
            RedactionConfig {
                scrub_patterns: vec!["[a-".into()],
                ..Default::default()
            },
            "scrub_patterns",
        ),
        (
            RedactionConfig {
                max_attribute_bytes: 8,
                ..Default::default()
            },
            "max_attribute_bytes",
        ),
    ];
    for (cfg, setting) in cases {
        match build(cfg) {
            Err(Error::InvalidConfig { setting: s, .. }) => assert_eq!(s, setting),
            other => panic!(
                "expected InvalidConfig for {setting}, got {:?}",
                other.err()
            ),
        }
    }
}

#[test]
fn environment_variables_set_the_rules() {
    let env = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .env_map(env(&[
            ("AGTRACE_REDACT_TOOL_ARGUMENTS", "true"),
            ("AGTRACE_SENSITIVE_KEYS", "customer_ssn"),
            ("AGTRACE_SCRUB_PATTERNS", r"order-(?P<secret>\d{6})"),
        ]))
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .expect("tracer");
    let mut s = tracer.span("tool").kind(SpanKind::Tool).start();
    s.set_tool_arguments(&json!({"q": 1}));
    s.set_attribute("app.customer-ssn", "123-45-6789");
    s.set_attribute("app.password", "hunter2");
    s.set_attribute("note", "see order-123456");
    s.end();
    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "tool");
    assert_eq!(str_attr(r, sc::GEN_AI_TOOL_CALL_ARGUMENTS), REDACTED);
    assert_eq!(str_attr(r, "app.customer-ssn"), REDACTED);
    assert_eq!(
        str_attr(r, "app.password"),
        REDACTED,
        "defaults still apply"
    );
    assert_eq!(str_attr(r, "note"), "see order-[REDACTED]");

    for (var, value) in [
        ("AGTRACE_REDACT_MESSAGES", "maybe"),
        ("AGTRACE_MAX_ATTRIBUTE_BYTES", "lots"),
        ("AGTRACE_SCRUB_PATTERNS", "(unclosed"),
    ] {
        match Tracer::builder().env_map(env(&[(var, value)])).build() {
            Err(Error::InvalidConfig { setting, .. }) => assert_eq!(setting, var),
            other => panic!("expected InvalidConfig for {var}, got {:?}", other.err()),
        }
    }
}

#[test]
fn derived_attributes_pass_untouched_and_user_values_under_their_names_are_scanned() {
    let (tracer, mem) = tracer_with(RedactionConfig::default());
    let mut agent = tracer
        .span("invoke_agent planner")
        .kind(SpanKind::Agent)
        .start();
    {
        let _in = agent.enter();
        chat_span(&tracer, "chat");
        let mut tool = tracer.span("tool").kind(SpanKind::Tool).start();
        tool.set_attribute(sc::GEN_AI_OPERATION_NAME, format!("lookup {OPENAI_KEY}"));
        tool.end();
    }
    agent.end();

    let spans = flushed(&tracer, &mem);
    let chat = by_name(&spans, "chat");
    assert_eq!(str_attr(chat, "agtrace.kind"), "llm");
    assert_eq!(str_attr(chat, sc::GEN_AI_OPERATION_NAME), "chat");
    assert_eq!(str_attr(chat, sc::OPENINFERENCE_SPAN_KIND), "LLM");
    let agent = by_name(&spans, "invoke_agent planner");
    assert_eq!(
        agent.attribute("agtrace.usage.input_tokens"),
        Some(&Value::I64(120))
    );
    assert_eq!(
        agent.attribute("agtrace.usage.tool_calls"),
        Some(&Value::I64(1))
    );
    assert_eq!(
        str_attr(by_name(&spans, "tool"), sc::GEN_AI_OPERATION_NAME),
        "lookup [REDACTED]"
    );
    let stats = tracer.redaction_stats();
    assert_eq!(stats.by_rule.len(), 1, "{stats:?}");
    assert_eq!(stats.get("pattern:openai_key"), 1);
}

#[test]
fn rules_by_name_follow_a_live_update() {
    let (tracer, mem) = tracer_with(RedactionConfig::default());
    let span = |name: &'static str| {
        let mut s = tracer.span(name).start();
        s.set_attribute("app.customer_ref", "c-123");
        s.set_attribute(String::from("app.customer_ref_owned"), "c-456");
        s.end();
    };
    span("before");
    let spans = flushed(&tracer, &mem);
    let before = by_name(&spans, "before");
    assert_eq!(str_attr(before, "app.customer_ref"), "c-123");
    assert_eq!(str_attr(before, "app.customer_ref_owned"), "c-456");
    tracer
        .update_redaction(RedactionConfig {
            sensitive_keys: vec!["customer_ref".into(), "customer-ref-owned".into()],
            ..Default::default()
        })
        .expect("valid rules");
    span("after");

    let spans = flushed(&tracer, &mem);
    let after = by_name(&spans, "after");
    assert_eq!(str_attr(after, "app.customer_ref"), REDACTED);
    assert_eq!(str_attr(after, "app.customer_ref_owned"), REDACTED);
}

#[test]
fn many_distinct_attribute_names_are_all_redacted() {
    let (tracer, mem) = tracer_with(RedactionConfig::default());
    let n = 5000;
    for i in 0..n {
        let mut s = tracer.span("step").start();
        s.set_attribute(format!("app.user_{i}.password"), "hunter2");
        s.set_attribute(format!("app.note_{i}"), format!("key {OPENAI_KEY}"));
        s.set_attribute("app.password", "hunter2");
        s.end();
    }
    let spans = flushed(&tracer, &mem);
    assert_eq!(spans.len(), n);
    for (i, r) in spans.iter().enumerate() {
        assert!(
            r.attributes
                .iter()
                .all(|a| a.value.as_str() == Some(REDACTED)
                    || a.value.as_str() == Some("key [REDACTED]")),
            "span {i}: {:?}",
            r.attributes
        );
    }
    let stats = tracer.redaction_stats();
    assert_eq!(stats.get("sensitive_key"), 2 * n as u64);
    assert_eq!(stats.get("pattern:openai_key"), n as u64);
}

#[test]
fn secrets_in_attribute_names_and_event_names_are_scrubbed() {
    let (tracer, mem) = tracer_with(RedactionConfig::default());
    let mut s = tracer.span("probe").start();
    s.set_attribute(OPENAI_KEY, 1i64);
    s.set_attribute(format!("app.{OPENAI_KEY}.token"), "t0k3n-value");
    s.add_event(
        format!("retry with {OPENAI_KEY}"),
        vec![Attribute::new(format!("k {OPENAI_KEY}"), "v")],
    );
    s.end();

    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "probe");
    let keys: Vec<_> = r.attributes.iter().map(|a| a.key.to_string()).collect();
    assert!(keys.contains(&REDACTED.to_string()), "{keys:?}");
    assert_eq!(r.attribute(REDACTED), Some(&Value::I64(1)));
    // The scrubbed name still ends in `token`: its value is masked.
    assert_eq!(str_attr(r, "app.[REDACTED].token"), REDACTED);
    assert_eq!(r.events[0].name, "retry with [REDACTED]");
    assert_eq!(r.events[0].attributes[0].key, "k [REDACTED]");
    assert!(!format!("{r:?}").contains("sk-proj"), "{r:?}");
    assert_eq!(tracer.redaction_stats().get("pattern:openai_key"), 4);
}

#[test]
fn resource_attributes_are_redacted() {
    let path = std::env::temp_dir().join(format!("agtrace-resource-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let env = HashMap::from([(
        "OTEL_RESOURCE_ATTRIBUTES".to_string(),
        format!("deploy.token={OPENAI_KEY},deploy.note=uses {OPENAI_KEY},deploy.region=eu"),
    )]);
    let tracer = Tracer::builder()
        .env_map(env)
        .service_name("test")
        .exporter(ExporterConfig::File(path.clone()))
        .build()
        .expect("tracer");
    tracer.span("one").start().end();
    tracer.shutdown(std::time::Duration::from_secs(5)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!text.contains("sk-proj"), "{text}");
    let line: Json = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let attrs = line["resourceSpans"][0]["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["key"].as_str().unwrap().to_string(),
                a["value"]["stringValue"].clone(),
            )
        })
        .collect::<HashMap<_, _>>();
    assert_eq!(attrs["deploy.token"], REDACTED);
    assert_eq!(attrs["deploy.note"], "uses [REDACTED]");
    assert_eq!(attrs["deploy.region"], "eu");
}

/// The exported value of `big` on a span recording `value`.
fn exported_big(value: String) -> String {
    let (tracer, mem) = tracer_with(RedactionConfig::default());
    let mut s = tracer.span("big").start();
    s.set_attribute("big", value);
    s.end();
    let spans = flushed(&tracer, &mem);
    str_attr(&spans[0], "big").to_string()
}

#[test]
fn a_cut_leaves_no_part_of_a_secret() {
    let cap = 32 * 1024;
    let long_key = format!("sk-proj-{}", "Ab12".repeat(40));
    let cases = [
        // A key glued to the text (no word boundary: no pattern match),
        // split by the cut.
        format!("{}{long_key}", "x".repeat(32708)),
        // A key that starts before the cut and ends after it, at a word
        // boundary: scrubbed before the cut.
        format!("{} {long_key} tail", "x".repeat(32708)),
        // The same far beyond the cap: the record-time cut keeps the key
        // whole for redaction.
        format!("{} {long_key} {}", "x".repeat(32740), "y".repeat(10 << 20)),
        format!(
            "{} Bearer {} {}",
            "x".repeat(32730),
            "Zm9v".repeat(40),
            "z".repeat(200)
        ),
    ];
    for (i, value) in cases.into_iter().enumerate() {
        let out = exported_big(value.clone());
        assert!(out.len() <= cap, "case {i}: {}", out.len());
        assert!(
            !out.contains("sk-"),
            "case {i}: ...{}",
            &out[out.len() - 80..]
        );
        assert!(
            !out.contains("Zm9v"),
            "case {i}: ...{}",
            &out[out.len() - 80..]
        );
        let Some(at) = out.rfind("…[truncated ") else {
            assert_eq!(i, 1, "only the scrubbed key brings case 1 within the cap");
            continue;
        };
        let n: usize = out[at + "…[truncated ".len()..out.len() - " bytes]".len()]
            .parse()
            .unwrap();
        // The marker counts every byte cut, at record time and at export:
        // kept + cut is the value, less what a scrubbed secret shrank by.
        let kept_and_cut = at + n;
        assert!(
            kept_and_cut <= value.len() && kept_and_cut + long_key.len() >= value.len(),
            "case {i}: {at} kept, {n} cut, of {}",
            value.len()
        );
    }
}

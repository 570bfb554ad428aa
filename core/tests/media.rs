//! Inline media through the public API: an image sent as a data URL in a
//! span's input leaves the process as a placeholder (the file exporter's
//! OTLP/JSON holds no payload), the `media` setting from the environment, a
//! setting by name, the config file and a live update, and bad values
//! failing at build naming the setting.

use agtrace_core::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::time::Duration;

/// A PNG signature followed by `len - 8` bytes of filler.
fn png(len: usize) -> Vec<u8> {
    let mut f = b"\x89PNG\r\n\x1a\n".to_vec();
    f.extend((8..len).map(|i| (i * 31 + i / 97) as u8));
    f
}

fn data_url(bytes: &[u8]) -> String {
    format!("data:image/png;base64,{}", STANDARD.encode(bytes))
}

/// `input.value` as an SDK decorator records it: the arguments as JSON.
fn describe_span(tracer: &Tracer, image: &str) {
    let mut s = tracer.span("describe").kind(SpanKind::Tool).start();
    s.set_attribute(
        "input.value",
        json!({"question": "what is this?", "image": image}).to_string(),
    );
    s.set_attribute("input.mime_type", "application/json");
    s.end();
}

fn input_of(r: &SpanRecord) -> Json {
    let text = r.attribute("input.value").and_then(Value::as_str).unwrap();
    serde_json::from_str(text).expect("input.value is valid JSON")
}

/// The spans exported since the last call.
fn exported(tracer: &Tracer, mem: &InMemoryExporter) -> Vec<SpanRecord> {
    tracer.force_flush(Duration::from_secs(10)).expect("flush");
    mem.take()
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn an_image_in_a_span_input_is_exported_as_a_placeholder() {
    let path = std::env::temp_dir().join(format!("agtrace-media-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let tracer = Tracer::builder()
        .ignore_env()
        .service_name("media-test")
        .exporter(ExporterConfig::File(path.clone()))
        .build()
        .unwrap();
    let bytes = png(48_213);
    let url = data_url(&bytes);
    describe_span(&tracer, &url);
    tracer.shutdown(Duration::from_secs(5)).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    // No piece of the payload is exported, not even a truncated one.
    let payload = &url["data:image/png;base64,".len()..];
    for piece in payload.as_bytes().chunks(24) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(!text.contains(piece), "payload piece {piece} exported");
    }
    let line: Json = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let span = &line["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    let input = span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "input.value")
        .and_then(|a| a["value"]["stringValue"].as_str())
        .expect("input.value exported");
    let input: Json = serde_json::from_str(input).expect("still valid JSON");
    assert_eq!(input["question"], "what is this?");
    let image = input["image"].as_str().unwrap();
    let hash = image
        .strip_prefix("<media image/png 48213 bytes sha256:")
        .and_then(|h| h.strip_suffix('>'))
        .unwrap_or_else(|| panic!("not a placeholder: {image}"));
    assert!(hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn the_media_setting_comes_from_env_name_and_file_and_bad_values_fail() {
    let media = |t: Tracer| t.settings().redaction.media;
    let build = |pairs: &[(&str, &str)]| {
        Tracer::builder()
            .env_map(env(pairs))
            .exporter(ExporterConfig::None)
            .build()
    };
    assert_eq!(media(build(&[]).unwrap()), MediaPolicy::Placeholder);
    assert_eq!(
        media(build(&[("AGTRACE_MEDIA", "drop")]).unwrap()),
        MediaPolicy::Drop
    );
    let by_name = Tracer::builder()
        .env_map(env(&[("AGTRACE_MEDIA", "drop")]))
        .set("AGTRACE_MEDIA", "Keep")
        .unwrap()
        .exporter(ExporterConfig::None)
        .build()
        .unwrap();
    assert_eq!(media(by_name), MediaPolicy::Keep, "a setting by name wins");

    match build(&[("AGTRACE_MEDIA", "strip")]).unwrap_err() {
        Error::InvalidConfig { setting, value, .. } => {
            assert_eq!(
                (setting.as_str(), value.as_str()),
                ("AGTRACE_MEDIA", "strip")
            )
        }
        other => panic!("expected InvalidConfig, got {other}"),
    }

    let dir = std::env::temp_dir().join(format!("agtrace-media-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("agtrace.toml");
    std::fs::write(&file, "[redaction]\nmedia = \"drop\"\n").unwrap();
    let from_file = &[("AGTRACE_CONFIG", file.to_str().unwrap())];
    assert_eq!(media(build(from_file).unwrap()), MediaPolicy::Drop);
    std::fs::write(&file, "[redaction]\nmedia = \"strip\"\n").unwrap();
    let err = build(from_file).unwrap_err().to_string();
    assert!(
        err.contains("AGTRACE_CONFIG") && err.contains("media") && err.contains("placeholder"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_media_policy_is_live() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .exporter(ExporterConfig::Memory(mem.clone()))
        .redaction(RedactionConfig {
            media: MediaPolicy::Drop,
            ..Default::default()
        })
        .build()
        .unwrap();
    let bytes = png(2000);
    let url = data_url(&bytes);
    describe_span(&tracer, &url);
    let spans = exported(&tracer, &mem);
    assert_eq!(
        input_of(&spans[0])["image"],
        "<media image/png 2000 bytes dropped>"
    );
    assert_eq!(tracer.redaction_stats().get("media"), 1);

    tracer
        .update_redaction(RedactionConfig {
            media: MediaPolicy::Keep,
            ..tracer.redaction()
        })
        .unwrap();
    describe_span(&tracer, &url);
    let spans = exported(&tracer, &mem);
    assert_eq!(input_of(&spans[0])["image"], url.as_str());
    assert_eq!(tracer.redaction_stats().get("media"), 0);
}

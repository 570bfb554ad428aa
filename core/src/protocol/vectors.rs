//! The shared test vectors (`ffi/protocol/vectors.json`): each vector's
//! bytes must decode to its records here, and each binding's encoder must
//! produce its bytes from the same records (their own test suites read the
//! file too). `AGTRACE_WRITE_VECTORS=1 cargo test -p agtrace-core vectors`
//! rewrites the bytes of the encodable vectors from their records with the
//! reference encoder below, after a change to the protocol.

use super::read::{self, Begin, End, Item, Items, ParentRef, Val};
use crate::codes::{item, parent, record, status};
use serde_json::{json, Value as J};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ffi/protocol/vectors.json");

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A message as the vectors' JSON describes it, and its first fault.
fn describe(msg: &[u8]) -> (Vec<J>, Option<Box<read::Fault>>) {
    let mut out = Vec::new();
    let mut first = None;
    for rec in read::records(msg) {
        let mut rec = match rec {
            Ok(r) => r,
            Err(f) => {
                first.get_or_insert(f);
                break;
            }
        };
        let (head, name) = match rec.code {
            record::BEGIN => match Begin::read(&mut rec.body) {
                Ok(b) => (begin_json(&b), "begin"),
                Err(f) => {
                    first.get_or_insert(f);
                    continue;
                }
            },
            record::END | record::ABANDON => match End::read(&mut rec.body, rec.code) {
                Ok(e) => (
                    json!({"handle": e.handle, "duration_ns": e.duration}),
                    if e.abandoned { "abandon" } else { "end" },
                ),
                Err(f) => {
                    first.get_or_insert(f);
                    continue;
                }
            },
            other => {
                first.get_or_insert(rec.fault(format!("unknown record {other}")));
                continue;
            }
        };
        let mut items = Vec::new();
        for i in Items::new(rec.body) {
            match i {
                Ok(i) => items.push(item_json(&i)),
                Err(f) => {
                    first.get_or_insert(f);
                }
            }
        }
        let mut head = head;
        head["items"] = J::Array(items);
        out.push(json!({ name: head }));
    }
    (out, first)
}

fn begin_json(b: &Begin<'_>) -> J {
    let mut j = json!({"kind": b.kind.as_str(), "name": b.name});
    j["parent"] = match b.parent {
        ParentRef::Root => json!("root"),
        ParentRef::Context(h) => json!({"context": h}),
        ParentRef::Ids {
            trace_id,
            span_id,
            flags,
            local,
            inherit,
        } => {
            let mut p = json!({
                "trace_id": hex(&trace_id.0), "span_id": hex(&span_id.0), "flags": flags,
            });
            if let Some(h) = inherit {
                p["inherit"] = json!(h);
            }
            json!({ if local { "local" } else { "span" }: p })
        }
    };
    j
}

fn val_json(v: &Val<'_>) -> (&'static str, J) {
    match v {
        Val::Str(s) => ("string", json!(s)),
        Val::Int(i) => ("int", json!(i)),
        Val::Double(f) => ("double", json!(f)),
        Val::Bool(b) => ("bool", json!(b)),
        Val::StrArray(a) => ("string_array", json!(a)),
        Val::IntArray(a) => ("int_array", json!(a)),
        Val::DoubleArray(a) => ("double_array", json!(a)),
        Val::BoolArray(a) => ("bool_array", json!(a)),
        Val::Json(s) => ("json", json!(s)),
    }
}

fn item_json(i: &Item<'_>) -> J {
    match i {
        Item::Attr(k, v) => {
            let (t, v) = val_json(v);
            json!({ t: [k, v] })
        }
        Item::Status(c, d) => {
            let c = match *c {
                status::OK => "ok",
                status::ERROR => "error",
                _ => "unset",
            };
            json!({"status": [c, d]})
        }
        Item::Error {
            error_type,
            message,
            stacktrace,
        } => json!({"error": [error_type, message, stacktrace]}),
        Item::Usage(n) => json!({ "usage": n }),
        Item::Llm(llm) => json!({"llm": {
            "provider": llm.provider, "request_model": llm.request_model,
            "response_model": llm.response_model, "response_id": llm.response_id,
            "finish_reasons": llm.finish_reasons,
        }}),
        Item::Tool { name, call_id } => json!({"tool": [name, call_id]}),
        Item::Agent { name, id } => json!({"agent": [name, id]}),
        Item::Messages { input, output } => json!({"messages": [input, output]}),
        Item::Trace(t) => json!({"trace": {
            "user_id": t.fields[0], "session_id": t.fields[1], "conversation_id": t.fields[2],
            "environment": t.fields[3], "release": t.fields[4], "tags": t.tags, "metadata": t.metadata,
        }}),
        Item::Event {
            name,
            offset,
            attributes,
        } => json!({"event": {
            "name": name, "offset_ns": offset, "attributes": attrs_json(attributes),
        }}),
        Item::FirstChunk(o) => json!({ "first_chunk": o }),
        Item::Name(n) => json!({ "name": n }),
        Item::Link(l) => json!({"link": {
            "trace_id": hex(&l.trace_id.0), "span_id": hex(&l.span_id.0), "flags": l.flags,
            "trace_state": l.trace_state, "attributes": attrs_json(&l.attributes),
        }}),
    }
}

fn attrs_json(attributes: &[(&str, Val<'_>)]) -> Vec<J> {
    attributes
        .iter()
        .map(|(k, v)| {
            let (t, v) = val_json(v);
            json!({ t: [k, v] })
        })
        .collect()
}

/// The reference encoder: the bytes of a message from its description.
#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend(v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend(v.to_le_bytes());
    }
    fn str(&mut self, s: &J) {
        let s = s.as_str().expect("string");
        self.u32(s.len() as u32);
        self.0.extend(s.as_bytes());
    }
    fn offset(&mut self, o: &J) {
        self.u64(o.as_u64().unwrap_or(super::NOW));
    }
    fn strs(&mut self, a: &J) {
        let a = a.as_array().expect("array");
        self.u32(a.len() as u32);
        a.iter().for_each(|s| self.str(s));
    }

    fn record(&mut self, r: &J) {
        let (name, body) = r.as_object().unwrap().iter().next().unwrap();
        let mut b = Enc::default();
        let code = match name.as_str() {
            "begin" => {
                b.u8(crate::SpanKind::from_str_code(
                    body["kind"].as_str().unwrap(),
                ));
                let p = &body["parent"];
                if p == "root" {
                    b.u8(parent::ROOT);
                } else if let Some(h) = p.get("context") {
                    b.u8(parent::CONTEXT);
                    b.u64(h.as_u64().unwrap());
                } else {
                    let (form, ids) = match p.get("local") {
                        Some(ids) => (parent::LOCAL, ids),
                        None => (parent::SPAN, &p["span"]),
                    };
                    let inherit = ids.get("inherit");
                    b.u8(form
                        | if inherit.is_some() {
                            parent::INHERIT
                        } else {
                            0
                        });
                    b.0.extend(unhex(ids["trace_id"].as_str().unwrap()));
                    b.0.extend(unhex(ids["span_id"].as_str().unwrap()));
                    b.u8(ids["flags"].as_u64().unwrap() as u8);
                    if let Some(h) = inherit {
                        b.u64(h.as_u64().unwrap());
                    }
                }
                b.str(&body["name"]);
                record::BEGIN
            }
            end => {
                b.u64(body["handle"].as_u64().unwrap());
                b.offset(&body["duration_ns"]);
                if end == "end" {
                    record::END
                } else {
                    record::ABANDON
                }
            }
        };
        for i in body["items"].as_array().unwrap() {
            b.item(i);
        }
        self.u8(code);
        self.u32(b.0.len() as u32);
        self.0.extend(b.0);
    }

    fn attr(&mut self, t: &str, kv: &J) {
        let (k, v) = (&kv[0], &kv[1]);
        let code = match t {
            "string" => item::STRING,
            "int" => item::INT,
            "double" => item::DOUBLE,
            "bool" => item::BOOL,
            "string_array" => item::STRING_ARRAY,
            "int_array" => item::INT_ARRAY,
            "double_array" => item::DOUBLE_ARRAY,
            "bool_array" => item::BOOL_ARRAY,
            "json" => item::JSON,
            other => panic!("unknown attribute type {other}"),
        };
        self.u8(code);
        self.str(k);
        match t {
            "string" | "json" => self.str(v),
            "int" => self.u64(v.as_i64().unwrap() as u64),
            "double" => self.u64(v.as_f64().unwrap().to_bits()),
            "bool" => self.u8(u8::from(v.as_bool().unwrap())),
            "string_array" => self.strs(v),
            _ => {
                let a = v.as_array().unwrap();
                self.u32(a.len() as u32);
                for x in a {
                    match t {
                        "int_array" => self.u64(x.as_i64().unwrap() as u64),
                        "double_array" => self.u64(x.as_f64().unwrap().to_bits()),
                        _ => self.u8(u8::from(x.as_bool().unwrap())),
                    }
                }
            }
        }
    }

    fn attrs(&mut self, a: &J) {
        let attrs = a.as_array().unwrap();
        self.u32(attrs.len() as u32);
        for a in attrs {
            let (t, kv) = a.as_object().unwrap().iter().next().unwrap();
            self.attr(t, kv);
        }
    }

    fn item(&mut self, i: &J) {
        let (t, v) = i.as_object().unwrap().iter().next().unwrap();
        match t.as_str() {
            "status" => {
                self.u8(item::STATUS);
                self.u8(match v[0].as_str().unwrap() {
                    "ok" => status::OK,
                    "error" => status::ERROR,
                    _ => status::UNSET,
                });
                self.str(&v[1]);
            }
            "error" => {
                self.u8(item::ERROR);
                (0..3).for_each(|n| self.str(&v[n]));
            }
            "usage" => {
                self.u8(item::USAGE);
                (0..5).for_each(|n| self.u64(v[n].as_u64().unwrap()));
            }
            "llm" => {
                self.u8(item::LLM);
                for f in ["provider", "request_model", "response_model", "response_id"] {
                    self.str(&v[f]);
                }
                self.strs(&v["finish_reasons"]);
            }
            "tool" | "agent" | "messages" => {
                self.u8(match t.as_str() {
                    "tool" => item::TOOL,
                    "agent" => item::AGENT,
                    _ => item::MESSAGES,
                });
                self.str(&v[0]);
                self.str(&v[1]);
            }
            "trace" => {
                self.u8(item::TRACE);
                for f in [
                    "user_id",
                    "session_id",
                    "conversation_id",
                    "environment",
                    "release",
                ] {
                    self.str(&v[f]);
                }
                self.strs(&v["tags"]);
                self.str(&v["metadata"]);
            }
            "event" => {
                self.u8(item::EVENT);
                self.str(&v["name"]);
                self.offset(&v["offset_ns"]);
                self.attrs(&v["attributes"]);
            }
            "link" => {
                self.u8(item::LINK);
                self.0.extend(unhex(v["trace_id"].as_str().unwrap()));
                self.0.extend(unhex(v["span_id"].as_str().unwrap()));
                self.u8(v["flags"].as_u64().unwrap() as u8);
                self.str(&v["trace_state"]);
                self.attrs(&v["attributes"]);
            }
            "first_chunk" => {
                self.u8(item::FIRST_CHUNK);
                self.offset(v);
            }
            "name" => {
                self.u8(item::NAME);
                self.str(v);
            }
            attr => self.attr(attr, v),
        }
    }
}

impl crate::SpanKind {
    fn from_str_code(s: &str) -> u8 {
        s.parse::<crate::SpanKind>().expect("kind").code()
    }
}

#[test]
fn vectors_decode_to_their_records_and_encode_to_their_bytes() {
    let text = std::fs::read_to_string(PATH).expect("vectors.json");
    let mut doc: J = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["version"], super::VERSION);
    let write = std::env::var_os("AGTRACE_WRITE_VECTORS").is_some();
    for v in doc["vectors"].as_array_mut().unwrap() {
        let name = v["name"].as_str().unwrap().to_string();
        let records = v["records"].clone();
        if v["encode"] != false {
            let mut e = Enc::default();
            records.as_array().unwrap().iter().for_each(|r| e.record(r));
            if write {
                v["hex"] = json!(hex(&e.0));
            }
            assert_eq!(hex(&e.0), v["hex"], "{name}: reference encoding");
        }
        let (decoded, fault) = describe(&unhex(v["hex"].as_str().unwrap()));
        assert_eq!(J::Array(decoded), records, "{name}: decoded records");
        match (&v["fault"], fault) {
            (J::Null, None) => {}
            (want, Some(f)) if *want != J::Null => {
                assert_eq!(want["field"], f.field, "{name}: fault field ({f})");
                assert_eq!(want["at"], f.at, "{name}: fault position ({f})");
            }
            (want, got) => panic!("{name}: fault {got:?}, expected {want}"),
        }
    }
    if write {
        let out = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        std::fs::write(PATH, out).unwrap();
    }
}

mod applied {
    use super::*;
    use crate::protocol::{apply, Begun};
    use crate::util::json_depth::MAX_JSON_DEPTH;
    use crate::{InMemoryExporter, Tracer, Value};
    use std::time::Duration;

    fn tracer() -> (Tracer, InMemoryExporter) {
        let mem = InMemoryExporter::new();
        let t = Tracer::builder()
            .ignore_env()
            .custom_exporter(Box::new(mem.clone()))
            .build()
            .unwrap();
        (t, mem)
    }

    fn msg(records: J) -> Vec<u8> {
        let mut e = Enc::default();
        records.as_array().unwrap().iter().for_each(|r| e.record(r));
        e.0
    }

    fn run(t: &Tracer, records: J) -> (Begun, Result<(), read::Fault>) {
        let mut out = Begun::default();
        // SAFETY: handles come from earlier calls, each ended once.
        let r = unsafe { apply(t, &msg(records), &|_| None, &mut out) };
        (out, r)
    }

    #[test]
    fn a_begun_span_ends_with_everything_recorded_and_its_duration() {
        let (t, mem) = tracer();
        let (root, r) = run(
            &t,
            json!([{"begin": {"kind": "agent", "name": "plan", "parent": "root",
                "items": [{"string": ["a", "1"]}]}}]),
        );
        r.unwrap();
        assert_ne!(root.handle, 0);
        assert_eq!(root.flags & 1, 1);
        let parent = json!({"local": {"trace_id": hex(&root.trace_id),
            "span_id": hex(&root.span_id), "flags": root.flags}});
        let (child, r) = run(
            &t,
            json!([{"begin": {"kind": "llm", "name": "chat", "parent": parent, "items": []}}]),
        );
        r.unwrap();
        assert_eq!(child.trace_id, root.trace_id);
        // One message: the child's end, with its items and a duration.
        let (_, r) = run(
            &t,
            json!([{"end": {"handle": child.handle, "duration_ns": 2_500_000, "items": [
                {"llm": {"provider": "openai", "request_model": "gpt-4o", "response_model": "",
                    "response_id": "", "finish_reasons": []}},
                {"usage": [10, 5, 0, 0, 0]},
                {"event": {"name": "retry", "offset_ns": 1_000_000, "attributes": []}},
                {"status": ["error", "boom"]}]}},
                {"abandon": {"handle": root.handle, "duration_ns": null,
                    "items": [{"int": ["b", 2]}]}}]),
        );
        r.unwrap();
        t.shutdown(Duration::from_secs(5)).unwrap();
        let spans = mem.spans();
        let chat = spans.iter().find(|s| &*s.name == "chat").unwrap();
        let plan = spans.iter().find(|s| &*s.name == "plan").unwrap();
        // Binding-measured times, to the nanosecond (clock ticks round).
        let near = |got: u64, want: u64| assert!(got.abs_diff(want) <= 1, "{got} vs {want}");
        near(chat.end_unix_nanos - chat.start_unix_nanos, 2_500_000);
        near(
            chat.events[0].time_unix_nanos - chat.start_unix_nanos,
            1_000_000,
        );
        assert_eq!(
            chat.attribute("gen_ai.request.model"),
            Some(&Value::from("gpt-4o"))
        );
        assert_eq!(chat.usage.unwrap().input_tokens, 10);
        assert_eq!(chat.status, crate::Status::Error("boom".into()));
        assert_eq!(chat.parent_span_id.0, root.span_id);
        assert!(plan.abandoned);
        assert_eq!(plan.attribute("a"), Some(&Value::from("1")));
        assert_eq!(plan.attribute("b"), Some(&Value::I64(2)));
        // The child's usage rolled up into its parent, counted at BEGIN.
        assert_eq!(plan.totals.unwrap().usage.input_tokens, 10);
    }

    #[test]
    fn json_nested_too_deep_is_recorded_with_a_marker_and_counted() {
        let (t, mem) = tracer();
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let (s, r) = run(
            &t,
            json!([{"begin": {"kind": "plain", "name": "deep", "parent": "root", "items": []}}]),
        );
        r.unwrap();
        let (_, r) = run(
            &t,
            json!([{"end": {"handle": s.handle, "duration_ns": 5, "items": [
                {"json": ["d200", deep(200)]},
                {"json": ["d10k", deep(10_000)]},
                {"json": ["d100", deep(100)]}]}}]),
        );
        r.unwrap();
        t.shutdown(Duration::from_secs(5)).unwrap();
        let spans = mem.spans();
        for key in ["d200", "d10k"] {
            let v = spans[0].attribute(key).and_then(Value::as_str).unwrap();
            let marker = format!("\"<too deep>\"{}", "]".repeat(MAX_JSON_DEPTH));
            assert!(v.ends_with(&marker), "{key}: {v}");
            assert_eq!(v.matches('[').count(), MAX_JSON_DEPTH, "{key}");
        }
        assert_eq!(
            spans[0].attribute("d100").and_then(Value::as_str),
            Some(deep(100).as_str())
        );
        assert_eq!(t.stats().misuse.bad_value, 2, "{:?}", t.stats().misuse);
    }

    #[test]
    fn a_bad_item_is_reported_and_the_span_still_ends() {
        let (t, mem) = tracer();
        let (s, r) = run(
            &t,
            json!([{"begin": {"kind": "plain", "name": "s", "parent": "root", "items": []}}]),
        );
        r.unwrap();
        let mut m = msg(json!([{"end": {"handle": s.handle, "duration_ns": 5,
            "items": [{"string": ["bad", "x"]}, {"string": ["ok", "y"]}]}}]));
        // The value's byte, searched after the record's header (code,
        // length, handle, duration): a handle's bytes may hold an 'x'.
        let at = 21 + m[21..].iter().position(|&b| b == b'x').unwrap();
        m[at] = 0xff;
        let mut out = Begun::default();
        // SAFETY: the handle came from `run`, ended once here.
        let f = unsafe { apply(&t, &m, &|_| None, &mut out) }.unwrap_err();
        assert!(f.utf8 && f.field == "attribute bad", "{f}");
        // A BEGIN before another record starts nothing.
        let (_, r) = run(
            &t,
            json!([{"begin": {"kind": "plain", "name": "early", "parent": "root", "items": []}},
                {"end": {"handle": 0, "duration_ns": null, "items": []}}]),
        );
        assert!(r.unwrap_err().reason.contains("last record"));
        t.shutdown(Duration::from_secs(5)).unwrap();
        let spans = mem.spans();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].attribute("ok"), Some(&Value::from("y")));
        assert_eq!(spans[0].attribute("bad"), None);
        let stats = t.stats();
        assert_eq!(stats.started, 1);
        // Each refused record counted once, by what was wrong with it.
        assert_eq!(stats.misuse.bad_value, 1, "{:?}", stats.misuse);
        assert_eq!(stats.misuse.bad_call, 1, "{:?}", stats.misuse);
        assert_eq!(stats.misuse.total(), 2);
    }

    #[test]
    fn links_given_at_begin_and_at_end_are_exported_with_their_attributes() {
        let (t, mem) = tracer();
        let (s, r) = run(
            &t,
            json!([{"begin": {"kind": "agent", "name": "turn 2", "parent": "root", "items": [
                {"link": {"trace_id": "0af7651916cd43dd8448eb211c80319c",
                    "span_id": "b7ad6b7169203331", "flags": 1, "trace_state": "vendor=x",
                    "attributes": [{"string": ["link.kind", "previous_turn"]}]}}]}}]),
        );
        r.unwrap();
        let (_, r) = run(
            &t,
            json!([{"end": {"handle": s.handle, "duration_ns": 10, "items": [
                {"link": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                    "span_id": "00f067aa0ba902b7", "flags": 0, "trace_state": "",
                    "attributes": []}}]}}]),
        );
        r.unwrap();
        t.shutdown(Duration::from_secs(5)).unwrap();
        let spans = mem.spans();
        let links = &spans[0].links;
        assert_eq!(links.len(), 2);
        assert_eq!(
            links[0].context.trace_id.to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(links[0].context.span_id.to_string(), "b7ad6b7169203331");
        assert!(links[0].context.flags.is_sampled());
        assert_eq!(links[0].context.trace_state.get("vendor"), Some("x"));
        assert_eq!(links[0].attributes[0].value, Value::from("previous_turn"));
        assert_eq!(links[1].context.span_id.to_string(), "00f067aa0ba902b7");
        assert!(links[1].attributes.is_empty() && !links[1].context.flags.is_sampled());
        assert_eq!(t.stats().misuse.total(), 0);
    }
}

/// Every truncation and every single-byte change of every vector decodes
/// without a panic and without allocating for hostile counts (a crash here
/// would crash the host program).
#[test]
fn damaged_vectors_decode_without_panicking() {
    let text = std::fs::read_to_string(PATH).expect("vectors.json");
    let doc: J = serde_json::from_str(&text).expect("JSON");
    for v in doc["vectors"].as_array().unwrap() {
        let bytes = unhex(v["hex"].as_str().unwrap());
        for cut in 0..bytes.len() {
            let _ = describe(&bytes[..cut]);
        }
        for i in 0..bytes.len() {
            for b in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[i] = b;
                let _ = describe(&damaged);
            }
        }
    }
}

//! The agtrace demo: a travel-assistant agent that plans with an LLM, runs two
//! tools in parallel on threads, retrieves documents and answers. The "LLM"
//! and tools are simulated (sleeps and realistic token counts), so it needs no
//! server and no network.
//!
//! Prints the trace tree to the console and writes `agtrace-demo.jsonl`
//! (OTLP/JSON lines). With `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces
//! endpoint) set, it also exports over OTLP (`OTEL_EXPORTER_OTLP_PROTOCOL`:
//! `http/protobuf`, `http/json` or `grpc`).
//! `AGTRACE_DEMO_CONVERSATION` sets the conversation id.

use agtrace_core::{ExporterConfig, OtlpConfig, RequestParams, Span, SpanKind, Tracer, Usage};
use serde_json::json;
use std::thread;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Tracer::builder()
        .service_name("agtrace-demo")
        .exporter(ExporterConfig::Console)
        .exporter(ExporterConfig::File("agtrace-demo.jsonl".into()));
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || std::env::var_os("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
    {
        builder = builder.exporter(ExporterConfig::Otlp(OtlpConfig::default()));
    }
    let tracer = builder.build()?;
    let conversation = std::env::var("AGTRACE_DEMO_CONVERSATION")
        .unwrap_or_else(|_| "demo-conversation-1".to_string());

    let answer = run_agent(&tracer, &conversation, "Plan a weekend in Lisbon");
    println!("agent answered: {answer}\n");

    tracer.shutdown(Duration::from_secs(10))?;
    let stats = tracer.stats();
    println!(
        "spans: {} started, {} handed to exporters, {} dropped; wrote agtrace-demo.jsonl",
        stats.started,
        stats.dispatched,
        stats.dropped.total()
    );
    for e in &stats.exporters {
        if e.exported < e.received {
            eprintln!("exporter {}: {:?}", e.name, e.dropped);
            std::process::exit(1);
        }
    }
    Ok(())
}

fn run_agent(tracer: &Tracer, conversation: &str, question: &str) -> String {
    let mut agent = tracer
        .span("invoke_agent travel-assistant")
        .kind(SpanKind::Agent)
        .root()
        .start();
    agent.set_agent("travel-assistant", Some("agent-42".into()));
    agent.update_trace(|t| {
        t.conversation_id = Some(conversation.to_string());
        t.user_id = Some("user-7".into());
        t.tags = vec!["demo".into()];
        t.environment = Some("development".into());
    });
    let _current = agent.enter();

    // Plan: a task span with one model call under it.
    let plan = {
        let mut plan = tracer.span("plan").kind(SpanKind::Task).start();
        let _in_plan = plan.enter();
        let text = chat(tracer, "gpt-4o-mini", question, Usage::new(412, 57), 30);
        plan.end();
        text
    };

    // Act: two tools in parallel, each on its own thread with an explicit parent.
    let parent = agent.to_ref();
    let tools: Vec<_> = [
        ("get_weather", json!({"city": "Lisbon"}), 40),
        ("search_flights", json!({"to": "LIS", "days": 2}), 55),
    ]
    .into_iter()
    .map(|(name, args, ms)| {
        let tracer = tracer.clone();
        let parent = parent.clone();
        thread::spawn(move || {
            let mut tool = tracer
                .span(format!("execute_tool {name}"))
                .kind(SpanKind::Tool)
                .parent(parent)
                .start();
            tool.set_tool(name, Some(format!("call_{name}")));
            tool.set_tool_arguments(&args);
            thread::sleep(Duration::from_millis(ms));
            tool.set_tool_result(&json!({"ok": true, "tool": name}));
            tool.end();
        })
    })
    .collect();
    for t in tools {
        t.join().expect("tool thread panicked");
    }

    // Retrieve context, then answer.
    let mut retrieve = tracer
        .span("retrieve travel-docs")
        .kind(SpanKind::Retriever)
        .start();
    retrieve.set_attribute("retrieval.documents.count", 3);
    thread::sleep(Duration::from_millis(15));
    retrieve.end();

    let answer = chat(tracer, "gpt-4o", &plan, Usage::new(1290, 221), 80);
    agent.end();
    answer
}

/// A simulated chat completion under the thread's current span.
fn chat(tracer: &Tracer, model: &'static str, prompt: &str, usage: Usage, ms: u64) -> String {
    let mut llm: Span = tracer
        .span(format!("chat {model}"))
        .kind(SpanKind::Llm)
        .start();
    llm.set_provider("openai");
    llm.set_request_model(model);
    llm.set_request_params(&RequestParams {
        temperature: Some(0.2),
        max_tokens: Some(512),
        ..Default::default()
    });
    llm.set_input_messages(&json!([{"role": "user", "content": prompt}]));
    thread::sleep(Duration::from_millis(ms));
    let text = format!("({model}) a plan for: {prompt}");
    llm.set_response_model(format!("{model}-2024-08-06"));
    llm.set_response_id(format!("chatcmpl-{}", llm.context().span_id));
    llm.set_finish_reasons(vec!["stop".into()]);
    llm.set_usage(usage);
    llm.end();
    text
}

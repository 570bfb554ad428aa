//! Usage and cost rollups: totals up the tree, exact across threads and when
//! children end after their parent, with no double counting of nested LLM
//! spans.

mod common;
use agtrace_core::semconv as sc;
use agtrace_core::*;
use common::*;
use std::time::Duration;

fn int(r: &SpanRecord, key: &str) -> Option<i64> {
    r.attribute(key).and_then(Value::as_i64)
}

#[test]
fn totals_roll_up_to_every_ancestor_and_the_root() {
    let (tracer, mem) = memory_tracer();
    let root = tracer.span("agent").kind(SpanKind::Agent).root().start();
    let plan = tracer
        .span("plan")
        .kind(SpanKind::Task)
        .parent(&root)
        .start();
    let mut llm = tracer
        .span("chat")
        .kind(SpanKind::Llm)
        .parent(&plan)
        .start();
    llm.set_provider("openai");
    llm.set_request_model("gpt-4o");
    llm.set_usage(Usage {
        input_tokens: 1000,
        output_tokens: 200,
        cache_read_input_tokens: 400,
        ..Default::default()
    });
    llm.end();
    drop(plan);
    let mut tool = tracer
        .span("tool")
        .kind(SpanKind::Tool)
        .parent(&root)
        .start();
    tool.record_error("Timeout", "slow", None);
    tool.end();
    let mut answer = tracer
        .span("answer")
        .kind(SpanKind::Llm)
        .parent(&root)
        .start();
    answer.set_request_model("gpt-4o-mini");
    answer.set_usage(Usage::new(500, 50));
    answer.end();
    drop(root);

    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "agent");
    assert_eq!(int(r, sc::AGTRACE_USAGE_INPUT_TOKENS), Some(1500));
    assert_eq!(int(r, sc::AGTRACE_USAGE_OUTPUT_TOKENS), Some(250));
    assert_eq!(int(r, sc::AGTRACE_USAGE_CACHE_READ_INPUT_TOKENS), Some(400));
    assert_eq!(int(r, sc::AGTRACE_USAGE_LLM_CALLS), Some(2));
    assert_eq!(int(r, sc::AGTRACE_USAGE_TOOL_CALLS), Some(1));
    assert_eq!(int(r, sc::AGTRACE_USAGE_ERRORS), Some(1));
    let plan = by_name(&spans, "plan");
    assert_eq!(int(plan, sc::AGTRACE_USAGE_INPUT_TOKENS), Some(1000));
    assert_eq!(int(plan, sc::AGTRACE_USAGE_TOOL_CALLS), None);
    // gpt-4o: 600 fresh input at $2.50/M + 400 cached at $1.25/M + 200 output at $10/M.
    let chat_cost = r_f64(by_name(&spans, "chat"), sc::AGTRACE_COST_USD);
    assert!((chat_cost - 0.0040).abs() < 1e-9, "{chat_cost}");
    let total = r_f64(r, sc::AGTRACE_USAGE_COST_USD);
    let mini = r_f64(by_name(&spans, "answer"), sc::AGTRACE_COST_USD);
    assert!(mini > 0.0);
    assert!((total - (chat_cost + mini)).abs() < 1e-8, "{total}");
    assert_eq!(r.totals.unwrap().llm_calls, 2);
}

fn r_f64(r: &SpanRecord, key: &str) -> f64 {
    r.attribute(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{} has no {key}", r.name))
}

#[test]
fn nested_llm_spans_count_once() {
    let (tracer, mem) = memory_tracer();
    let root = tracer.span("agent").kind(SpanKind::Agent).root().start();
    // A framework's LLM span wrapping the provider's, both reporting usage.
    let mut framework = tracer
        .span("framework llm")
        .kind(SpanKind::Llm)
        .parent(&root)
        .start();
    let mut provider = tracer
        .span("provider llm")
        .kind(SpanKind::Llm)
        .parent(&framework)
        .start();
    provider.set_usage(Usage::new(100, 10));
    provider.end();
    framework.set_usage(Usage::new(100, 10));
    framework.end();
    drop(root);
    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "agent");
    assert_eq!(int(r, sc::AGTRACE_USAGE_INPUT_TOKENS), Some(100));
    assert_eq!(int(r, sc::AGTRACE_USAGE_LLM_CALLS), Some(1));
    let f = by_name(&spans, "framework llm");
    assert_eq!(int(f, sc::AGTRACE_USAGE_INPUT_TOKENS), Some(100));
    assert_eq!(int(f, sc::AGTRACE_USAGE_LLM_CALLS), Some(1));
    // Its own usage attributes stay as reported.
    assert_eq!(int(f, sc::GEN_AI_USAGE_INPUT_TOKENS), Some(100));
}

#[test]
fn children_on_threads_and_after_the_parent_ended_are_exact() {
    let (tracer, mem) = memory_tracer();
    let mut root = tracer.span("root").kind(SpanKind::Agent).root().start();
    let parent = root.to_ref();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let started = std::sync::Arc::new(std::sync::Barrier::new(9));
    let go = std::sync::Arc::new(std::sync::Mutex::new(go_rx));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (tracer, parent, started, go) =
                (tracer.clone(), parent.clone(), started.clone(), go.clone());
            std::thread::spawn(move || {
                let mut llm = tracer
                    .span(format!("llm-{i}"))
                    .kind(SpanKind::Llm)
                    .parent(parent)
                    .start();
                started.wait();
                go.lock().unwrap().recv().unwrap();
                llm.set_usage(Usage::new(10, 1));
            })
        })
        .collect();
    started.wait();
    // The root ends first; its children are all still open. (A flush here
    // would hand the root over with the totals so far: flush wins.)
    root.end();
    std::thread::sleep(Duration::from_millis(50));
    for _ in 0..8 {
        go_tx.send(()).unwrap();
    }
    threads.into_iter().for_each(|t| t.join().unwrap());
    let spans = flushed(&tracer, &mem);
    let r = by_name(&spans, "root");
    assert_eq!(
        int(r, sc::AGTRACE_USAGE_INPUT_TOKENS),
        Some(80),
        "{:?}",
        r.attributes
    );
    assert_eq!(int(r, sc::AGTRACE_USAGE_LLM_CALLS), Some(8));
}

#[test]
fn a_held_parent_is_released_after_the_hold_limit() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .flush_interval(Duration::from_millis(20))
        .rollup_hold(Duration::from_millis(50))
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    let root = tracer.span("root").root().start();
    let child = tracer.span("never-ends").parent(&root).start();
    drop(root);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while mem.spans().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(names(&mem.spans()), vec!["root"]);
    std::mem::forget(child); // never ends
}

fn flag(r: &SpanRecord, key: &str) -> Option<bool> {
    r.attribute(key).and_then(Value::as_bool)
}

#[test]
fn a_parent_released_before_its_child_is_in_is_marked_incomplete() {
    let (tracer, mem) = memory_tracer();
    let mut parent = tracer.span("parent").kind(SpanKind::Agent).root().start();
    let mut child = tracer
        .span("child")
        .kind(SpanKind::Llm)
        .parent(&parent)
        .start();
    child.set_usage(Usage::new(10, 5));
    parent.end();
    // The flush releases the waiting parent: its totals miss the child.
    let spans = flushed(&tracer, &mem);
    let p = by_name(&spans, "parent");
    assert_eq!(flag(p, sc::AGTRACE_USAGE_INCOMPLETE), Some(true));
    assert_eq!(int(p, sc::AGTRACE_USAGE_INPUT_TOKENS), None);
    child.end();
    let spans = flushed(&tracer, &mem);
    let c = by_name(&spans, "child");
    assert_eq!(int(c, sc::AGTRACE_USAGE_INPUT_TOKENS), Some(10));
    assert_eq!(flag(c, sc::AGTRACE_USAGE_INCOMPLETE), None);
}

#[test]
fn a_complete_parent_is_not_marked_incomplete() {
    let (tracer, mem) = memory_tracer();
    let parent = tracer.span("parent").root().start();
    let mut child = tracer
        .span("child")
        .kind(SpanKind::Llm)
        .parent(&parent)
        .start();
    child.set_usage(Usage::new(3, 4));
    drop(parent); // ends first: held until the child is in
    child.end();
    let spans = flushed(&tracer, &mem);
    let p = by_name(&spans, "parent");
    assert_eq!(int(p, sc::AGTRACE_USAGE_OUTPUT_TOKENS), Some(4));
    assert_eq!(flag(p, sc::AGTRACE_USAGE_INCOMPLETE), None);
}

#[test]
fn held_parents_expire_on_the_timer_under_steady_load() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .flush_interval(Duration::from_millis(20))
        .rollup_hold(Duration::from_millis(100))
        .batch_size(64)
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    let parent = tracer.span("waits").root().start();
    let forever = tracer.span("never ends").parent(&parent).start();
    drop(parent);
    // Steady load: chunks keep filling, so the collector is woken all the
    // time; the timer must still run and release the held parent.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // About 100k spans a second: chunks fill and wake the
                // collector all the time.
                for _ in 0..100 {
                    tracer.span("load").root().start().end();
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !mem.spans().iter().any(|r| r.name == "waits") {
            assert!(
                std::time::Instant::now() < deadline,
                "the held parent never expired"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let spans = mem.spans();
    assert_eq!(
        flag(by_name(&spans, "waits"), sc::AGTRACE_USAGE_INCOMPLETE),
        Some(true)
    );
    drop(forever);
}

#[test]
fn a_deep_chain_of_waiting_parents_is_released_without_recursion() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .queue_capacity(100_000)
        .exporter(ExporterConfig::Memory(mem.clone()))
        .build()
        .unwrap();
    // 50,000 nested spans, each ended before its child: every one waits for
    // the next, and the last end releases the whole chain at once.
    let depth = 50_000;
    let mut spans = Vec::with_capacity(depth);
    let mut parent = tracer.span("level").root().start();
    for _ in 1..depth {
        let child = tracer
            .span("level")
            .kind(SpanKind::Tool)
            .parent(&parent)
            .start();
        spans.push(parent);
        parent = child;
    }
    for s in &mut spans {
        s.end();
    }
    parent.end();
    let got = flushed(&tracer, &mem);
    assert_eq!(got.len(), depth);
    let root = got.iter().find(|r| r.is_root()).unwrap();
    // Every tool span below counts once at the root.
    assert_eq!(
        int(root, sc::AGTRACE_USAGE_TOOL_CALLS),
        Some(depth as i64 - 1)
    );
}

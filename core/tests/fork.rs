//! Fork safety: with the three fork hooks called, a forked child gets a
//! working pipeline of its own (no deadlock on locks inherited from the
//! parent's export threads) and exports only the spans it started; the parent
//! goes on exporting, each of its spans once.
//!
//! The only test in this file: a fork while other tests run on the harness's
//! other threads would give the child their locks too.

mod common;
use agtrace_core::*;
use common::*;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FORKS: usize = 10;

/// Longest a child may take before it counts as deadlocked.
const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// Stands for an exporter added in code, which a child cannot recreate.
struct Custom;

impl Exporter for Custom {
    fn name(&self) -> &str {
        "custom"
    }

    fn export(&mut self, _batch: &[Box<SpanRecord>]) -> Result<(), ExportError> {
        Ok(())
    }
}

#[test]
fn forked_child_exports_only_its_spans_and_the_parent_goes_on() {
    let mem = InMemoryExporter::new();
    let tracer = Tracer::builder()
        .ignore_env()
        .service_name("test")
        .exporter(ExporterConfig::Memory(mem.clone()))
        .custom_exporter(Box::new(Custom))
        .build()
        .unwrap();
    // Keeps the batching thread and the exporter busy across every fork.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (tracer, stop) = (tracer.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let mut s = tracer.span("load").root().start();
                s.set_attribute("i", i);
                s.end();
                i += 1;
            }
        })
    };
    let mut inherited = tracer.span("before-fork").root().start();
    for _ in 0..FORKS {
        tracer.prepare_fork();
        // SAFETY: the child runs `in_child` and leaves with `_exit`, never
        // returning into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let result = catch_unwind(AssertUnwindSafe(|| in_child(&tracer, &mem, &mut inherited)));
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(exit_code(result)) }
        }
        tracer.after_fork_parent();
        assert_eq!(wait(pid), 0, "the child failed; its reason is on stderr");
        let spans = flushed(&tracer, &mem);
        assert!(
            spans.iter().all(|s| s.name == "load"),
            "the parent exported {:?}",
            names(&spans)
        );
        mem.take();
    }
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    // Room in the queue, which the load may have left full.
    flushed(&tracer, &mem);
    mem.take();

    inherited.end();
    let spans = flushed(&tracer, &mem);
    assert_eq!(
        spans.iter().filter(|s| s.name == "before-fork").count(),
        1,
        "the span open across the forks is exported once, by the parent"
    );
    let stats = tracer.stats();
    assert_eq!(stats.started, stats.ended);
    assert_eq!(
        stats.ended,
        stats.dispatched + stats.dropped.total() + stats.pending
    );

    // In the process that built the pipeline the child hook does nothing.
    tracer.after_fork_child();
    tracer.span("after-forks").root().start().end();
    by_name(&flushed(&tracer, &mem), "after-forks");
    let after = tracer.stats();
    assert_eq!(after.started, stats.started + 1);
    assert_eq!(
        after.exporters.len(),
        2,
        "the parent keeps its custom exporter"
    );
}

fn in_child(tracer: &Tracer, mem: &InMemoryExporter, inherited: &mut Span) {
    tracer.after_fork_child();
    // The parent's exported spans, copied by the fork.
    mem.take();
    let s = tracer.stats();
    assert_eq!((s.started, s.ended, s.dispatched), (0, 0, 0), "{s:?}");

    let parent = inherited.to_ref();
    inherited.end();
    let mut span = tracer.span("in-child").parent(parent.clone()).start();
    tracer.span("in-child-leaf").parent(&span).start().end();
    span.end();

    let spans = flushed(tracer, mem);
    let mut got = names(&spans);
    got.sort();
    assert_eq!(got, ["in-child", "in-child-leaf"]);
    let child = by_name(&spans, "in-child");
    assert_eq!(child.trace_id, parent.context().trace_id);
    assert_eq!(child.parent_span_id, parent.context().span_id);
    let s = tracer.stats();
    assert_eq!((s.started, s.ended, s.dispatched), (2, 2, 2), "{s:?}");
    assert_eq!(s.dropped.total(), 0, "{s:?}");
    let exporters: Vec<_> = s.exporters.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        exporters,
        ["memory"],
        "the custom exporter stays in the parent"
    );
    assert_eq!(s.exporters[0].exported, 2, "{s:?}");
}

/// 0 on success; otherwise writes the reason straight to stderr (the
/// harness's output capture is the parent's) and returns 1.
fn exit_code(result: std::thread::Result<()>) -> i32 {
    let Err(panic) = result else {
        return 0;
    };
    let reason = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    let _ = writeln!(std::io::stderr(), "forked child: {reason}");
    1
}

/// The child's exit code; fails the test if it is killed or hangs.
fn wait(pid: libc::pid_t) -> i32 {
    let deadline = Instant::now() + CHILD_LIMIT;
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our child; `status` is writable.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid: {}", std::io::Error::last_os_error());
        if r == pid {
            break;
        }
        if Instant::now() > deadline {
            // SAFETY: `pid` is our child, not yet reaped.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("the child hung for {CHILD_LIMIT:?} (a deadlock on an inherited lock?)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(libc::WIFEXITED(status), "the child died: status {status}");
    libc::WEXITSTATUS(status)
}

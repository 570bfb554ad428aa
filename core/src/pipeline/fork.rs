//! Fork safety: the three hooks of `pthread_atfork` (Python's
//! `os.register_at_fork`) on [`Tracer`].
//!
//! A forked child has only the thread that called `fork`: the batching
//! thread and the exporters' workers are gone, and a lock one of them held at
//! that moment stays locked forever. The contract:
//! - `prepare_fork` (parent, just before `fork`) parks those threads between
//!   two steps, where they hold no lock the application's threads also take
//!   (trace context, live settings, an in-memory exporter's store). The wait
//!   for them is bounded; an exporter in a slow export call is not waited for.
//! - `after_fork_parent` lets them go on.
//! - `after_fork_child` gives the child a pipeline of its own, built from the
//!   same settings, and never touches the inherited one: its queue, locks and
//!   threads belong to the parent and are leaked, never dropped or locked.
//! - No span is exported twice: a span started before the fork is exported
//!   by the parent only. Ended in the child it is dropped silently (not
//!   counted either). Spans the child starts under an inherited span keep its
//!   trace and parent ids, so they nest under it in the backend.
//! - The child's [`Stats`](crate::Stats) count the child's spans only.

use crate::tracer::{start_pipeline, Tracer};
use std::time::Duration;

/// Longest `prepare_fork` waits for the threads to park.
const PREPARE_TIMEOUT: Duration = Duration::from_secs(1);

/// Longest a thread stays parked: a caller that never calls
/// `after_fork_parent` stalls export for this long, not forever.
const PAUSE_LIMIT: Duration = Duration::from_secs(10);

/// A request to park a pipeline thread for a fork, shared by the batching
/// thread and every exporter's worker.
#[derive(Clone)]
pub(crate) struct Pause {
    pub(crate) ack: flume::Sender<()>,
    /// Never sent on: the sender's drop (`after_fork_parent`) is the resume.
    pub(crate) resume: flume::Receiver<()>,
}

impl Pause {
    /// Confirms the pause, then blocks, holding no lock, until resumed or
    /// [`PAUSE_LIMIT`].
    pub(crate) fn hold(self) {
        let _ = self.ack.send(());
        let _ = self.resume.recv_timeout(PAUSE_LIMIT);
    }
}

impl Tracer {
    /// Call in the parent just before `fork()`. Parks the export threads
    /// where they hold no lock shared with the application, waiting for
    /// them up to 1 s; never blocks longer. Thread-safe; nested calls (two
    /// threads forking at once) count, and each needs its `after_fork_parent`.
    /// Does nothing on a disabled or shut-down tracer.
    pub fn prepare_fork(&self) {
        if let Some(p) = self.shared.pipeline() {
            p.pause(PREPARE_TIMEOUT);
        }
    }

    /// Call in the parent after `fork()` returns (also when it failed):
    /// undoes one `prepare_fork`. Does not block. Threads never resumed go
    /// on by themselves after 10 s.
    pub fn after_fork_parent(&self) {
        if let Some(p) = self.shared.pipeline() {
            p.resume();
        }
    }

    /// Call in the child after `fork()` returns, before it starts threads
    /// that use this tracer: starts the child's own pipeline from the
    /// tracer's settings. Exporters added with `custom_exporter` cannot be
    /// recreated; the child has none of them and says so on stderr. If the
    /// new pipeline cannot start, the child's tracer acts as disabled (also
    /// on stderr).
    ///
    /// Must run while the calling thread is the child's only thread using the
    /// tracer (a concurrent caller may block on the parent's queue). Does
    /// nothing in the process that built the pipeline (so a stray call in the
    /// parent is harmless), when called again, or on a disabled or shut-down
    /// tracer. Allocates and starts threads, so call it from a hook that
    /// allows that (Python's `after_in_child`, or after `fork()` returns 0),
    /// not from an async-signal-safe context.
    pub fn after_fork_child(&self) {
        let shared = &*self.shared;
        let Some(old) = shared.pipeline() else {
            return;
        };
        if old.is_shut_down() || old.pid() == std::process::id() {
            return;
        }
        // The thread-local id generator was copied from the parent, which
        // goes on drawing the same ids.
        crate::model::id::reseed_thread_rng();
        // Spans of the inherited pipeline belong to the parent: dropped
        // silently from now on (a flag, no lock: the parent's threads are
        // gone and their locks may be held).
        old.sink.forsake();
        let custom = &old.exporter_names()[shared.settings.exporters.len()..];
        if !custom.is_empty() {
            eprintln!(
                "agtrace: custom exporters cannot be recreated in a forked child; it exports without {}",
                custom.join(", ")
            );
        }
        let new = start_pipeline(
            &shared.settings,
            Vec::new(),
            &shared.policies,
            shared.clock.clone(),
        );
        if let Err(e) = &new {
            eprintln!("agtrace: cannot restart the pipeline in a forked child ({e}); tracing is disabled there");
        }
        shared.replace_pipeline(old, new.ok());
    }
}

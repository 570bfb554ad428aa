//! Fork hooks for the bindings: a process that forks (Python's `os.fork`,
//! `multiprocessing` with the fork start method) registers them once per
//! tracer, e.g. `os.register_at_fork(before=t.prepare_fork,
//! after_in_parent=t.after_fork_parent, after_in_child=t.after_fork_child)`.

use super::tracer::Tracer;

#[uniffi::export]
impl Tracer {
    /// Call in the parent just before `fork()`: parks the export threads
    /// where they hold no lock the application shares. Blocks up to 1 s;
    /// does nothing on a disabled or shut-down tracer.
    pub fn prepare_fork(&self) {
        self.inner.prepare_fork();
    }

    /// Call in the parent after `fork()` (also when it failed): the export
    /// threads go on. Does not block.
    pub fn after_fork_parent(&self) {
        self.inner.after_fork_parent();
    }

    /// Call in the child after `fork()`, before it starts threads that
    /// trace: gives the child its own export threads. Spans started before
    /// the fork are exported by the parent only; the child's stats count its
    /// own spans. Does nothing in the parent or when called again.
    pub fn after_fork_child(&self) {
        self.inner.after_fork_child();
    }
}

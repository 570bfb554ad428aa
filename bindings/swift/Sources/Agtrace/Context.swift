/// The current span and session: task-local values.
///
/// `withSpan` and `withSession` bind them for their body. Child tasks
/// inherit task locals: `async let`, `TaskGroup` children and `Task {}` see
/// the span current where they were created; `Task.detached` starts with
/// none, so its spans are new roots unless given a `parent:`. Outside any
/// task (synchronous code on a plain thread) the values live in a thread
/// local, bound and restored the same way.
@usableFromInline
enum Current {
    @usableFromInline @TaskLocal static var parent: SpanParent?
    @TaskLocal static var session: Session?
}

import AgtraceFFIC
import Foundation

/// The default tracer and the exit hook.
///
/// The hook (an `atexit` handler, registered with the first tracer) shuts
/// down every tracer not shut down yet, each within its `exitTimeout`, so a
/// program that returns from `main` or calls `exit` without `shutdown`
/// still exports its spans, and a dead collector delays exit by at most that
/// long. (A process killed by a signal, or ended by `_exit`, runs no hook.)
final class Lifecycle: @unchecked Sendable {
    static let shared = Lifecycle()

    private let lock = NSLock()
    /// The default tracer (unretained), or nil before `Agtrace.bootstrap`:
    /// read without a lock by every span of the free functions.
    private let published = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
    /// Every tracer ever made the default (guarded by `lock`), kept alive so
    /// that a reader of `published` never sees a freed one: `bootstrap` is
    /// called a few times per process at most.
    private var defaults: [Tracer] = []
    /// Tracers not shut down yet, in creation order (guarded by `lock`).
    private var live: [Tracer] = []
    private var hookInstalled = false

    private init() { published.initialize(to: nil) }

    var current: Tracer? {
        guard let p = agtrace_swift_load_ptr(published) else { return nil }
        return Unmanaged<Tracer>.fromOpaque(p).takeUnretainedValue()
    }

    /// Makes `new` the default tracer; returns the one it replaces.
    func install(_ new: Tracer) -> Tracer? {
        lock.lock()
        defer { lock.unlock() }
        let old = defaults.last
        defaults.append(new)
        agtrace_swift_store_ptr(published, Unmanaged.passUnretained(new).toOpaque())
        return old
    }

    func register(_ tracer: Tracer) {
        lock.lock()
        defer { lock.unlock() }
        live.append(tracer)
        if !hookInstalled {
            hookInstalled = true
            atexit { Lifecycle.shared.atExit() }
        }
    }

    func unregister(_ tracer: Tracer) {
        lock.lock()
        defer { lock.unlock() }
        live.removeAll { $0 === tracer }
    }

    /// Shuts the live tracers down on a thread of its own: glibc runs the
    /// exiting thread's thread-local destructors before the `atexit`
    /// handlers, so libagtrace's span buffer for this thread is gone, and the
    /// END records still pending here would be refused.
    private func atExit() {
        lock.lock()
        let tracers = live
        lock.unlock()
        if tracers.isEmpty { return }
        let done = DispatchSemaphore(value: 0)
        Thread {
            for tracer in tracers {
                tracer.shutdown(timeout: tracer.exitTimeout)
            }
            done.signal()
        }.start()
        done.wait()
    }
}

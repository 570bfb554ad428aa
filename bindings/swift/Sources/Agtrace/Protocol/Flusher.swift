import Foundation

/// The idle flusher: a background thread that sends every thread's pending
/// END records (``ThreadBuffer/sendIdleAll()``) at least every half batch
/// delay (100 ms at most), so a span ended on a thread that starts no more
/// spans still reaches the core, and its exporters, within the batch delay.
///
/// Started by the first ``Tracer``; it then runs for the life of the
/// process (it holds no tracer between passes and does not keep the process
/// alive). Thread-safe.
final class Flusher: @unchecked Sendable {
    static let shared = Flusher()

    private let lock = NSLock()
    /// Microseconds between passes (guarded by `lock`).
    private var period: UInt32 = 100_000
    private var started = false

    /// Makes the passes frequent enough for a tracer whose batch delay is
    /// `batchDelayMs`, and starts the thread if it is not running.
    func serve(batchDelayMs: Int) {
        lock.lock()
        defer { lock.unlock() }
        period = min(period, UInt32(clamping: max(batchDelayMs, 2) * 500))
        if started { return }
        started = true
        let thread = Thread { [self] in run() }
        thread.name = "agtrace-flush"
        thread.start()
    }

    private func run() {
        while true {
            lock.lock()
            let pause = period
            lock.unlock()
            usleep(pause)
            ThreadBuffer.sendIdleAll()
        }
    }
}

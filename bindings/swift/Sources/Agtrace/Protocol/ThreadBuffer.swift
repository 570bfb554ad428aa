import AgtraceFFIC
import Foundation

/// One thread's pending END and ABANDON records: spans ended on the thread
/// since its last crossing. They go to the core with the thread's next span
/// start (in the same `agtrace_spans_apply` call as its BEGIN), or sooner:
/// when they pass ``bound``, when any thread flushes, shuts down or reads
/// stats (``sendAll(_:)``), from the idle ``Flusher``, and when the thread
/// exits (its thread-local destructor).
///
/// Thread-safety: the owner thread and the senders that run elsewhere (the
/// flusher, `sendAll`, nothing else) take the buffer's flag, one atomic
/// word, around every access; the owner holds it for one append or one C
/// call, never while running application code, so a sender waits at most
/// that long and the owner almost never waits.
final class ThreadBuffer: @unchecked Sendable {
    /// Pending records pass this many bytes: sent at once.
    static let bound = 64 << 10
    /// Memory kept between messages; more is given back after a large one.
    private static let kept = 1 << 20

    /// 0 free, 1 held.
    private let flag = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    /// Pending records, then, during a span start, the BEGIN after them.
    private var pending = Bytes()
    /// The tracer whose C handle sends the pending records when no span
    /// start does: the tracer of the latest record. Any tracer can carry END
    /// records (they name their spans' handles, not a tracer), and holding
    /// one here keeps a handle to send them with.
    private var sink: Tracer?

    private init() { flag.initialize(to: 0) }

    deinit {
        pending.release()
        flag.deallocate()
    }

    // MARK: the calling thread's buffer

    /// The pthread key of the calling thread's buffer; its destructor sends
    /// what a thread leaves pending when it exits.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { ThreadBuffer.threadExited($0) }
        precondition(status == 0, "agtrace: pthread_key_create failed (\(status))")
        return key
    }()

    /// Runs `body` with the calling thread's buffer (made on first use),
    /// without retaining it: the thread-local reference keeps it alive.
    @inline(__always)
    static func withCurrent<R>(_ body: (ThreadBuffer) throws -> R) rethrows -> R {
        let p = pthread_getspecific(key) ?? make()
        return try Unmanaged<ThreadBuffer>.fromOpaque(p)._withUnsafeGuaranteedRef(body)
    }

    @inline(never)
    private static func make() -> UnsafeMutableRawPointer {
        let buffer = ThreadBuffer()
        Registry.shared.add(buffer)
        let p = Unmanaged.passRetained(buffer).toOpaque()
        pthread_setspecific(key, p)
        return p
    }

    private static func threadExited(_ p: UnsafeMutableRawPointer?) {
        guard let p else { return }
        let buffer = Unmanaged<ThreadBuffer>.fromOpaque(p).takeRetainedValue()
        buffer.acquire()
        let sink = buffer.sendIdle()
        buffer.release()
        Registry.shared.remove(buffer)
        withExtendedLifetime(sink) {}
    }

    // MARK: the flag

    @inline(__always)
    private func acquire() {
        if !agtrace_swift_cas(flag, 0, 1) { wait() }
    }

    @inline(never)
    private func wait() {
        while !agtrace_swift_cas(flag, 0, 1) { sched_yield() }
    }

    @inline(__always)
    private func release() { agtrace_swift_store(flag, 0) }

    // MARK: the owner's calls

    /// Starts a span: sends the pending records, then a BEGIN of `kind`
    /// under `parent` named `name` with `attributes`, `links` and the
    /// session's trace item, in one `agtrace_spans_apply` call. Attributes
    /// (and links) that cannot be sent are left out and added to
    /// `rejected`. Returns what the core started (handle 0: nothing).
    @inline(__always)
    func begin<A: Sequence>(
        _ tracer: Tracer, _ kind: UInt8, _ parent: ParentRef, _ name: String, _ attributes: A, _ links: [SpanLink],
        _ session: Session?, _ rejected: inout [Rejected]
    ) -> agtrace_begun_t where A.Element == (key: String, value: AttributeValue) {
        acquire()
        var message = pending
        let at = message.begin(kind: kind, parent: parent, name: name)
        rejected += message.attributes(attributes)
        for link in links { rejected += link.encode(into: &message) }
        if let session { session.traceItem.withUnsafeBytes { message.raw($0) } }
        message.close(at)
        var begun = agtrace_begun_t()
        var error: OpaquePointer?
        let status = agtrace_spans_apply(tracer.handle, message.base, message.count, &begun, &error)
        message.count = 0
        message.trim(to: Self.kept)
        if status == AGTRACE_ERR_SHUT_DOWN && begun.handle != 0 {
            // Started after shutdown: records nothing; its END, sent with the
            // next message, releases what the core allocated for it.
            message.close(message.end(Codes.RECORD_END, handle: begun.handle, duration: Bytes.now))
            begun.handle = 0
        }
        pending = message
        release()
        if status != AGTRACE_OK { Self.report(status, error) }
        return begun
    }

    /// Appends an END or ABANDON record (`code`) for `handle` with the
    /// span's recorded `items`; sends at once past ``bound``.
    @inline(__always)
    func end(_ code: UInt8, _ handle: UInt64, _ duration: UInt64, _ items: UnsafeRawBufferPointer, _ tracer: Tracer) {
        acquire()
        var records = pending
        let at = records.end(code, handle: handle, duration: duration)
        records.raw(items)
        records.close(at)
        var replaced: Tracer?
        if sink !== tracer {
            replaced = sink
            sink = tracer
        }
        if records.count >= Self.bound { Self.send(&records, tracer.handle) }
        pending = records
        release()
        // A replaced tracer may be the last reference: let it go after the flag.
        withExtendedLifetime(replaced) {}
    }

    // MARK: senders on other threads

    /// Sends the pending records through the sink, and drops the sink so
    /// that an idle thread keeps no tracer alive; returns it for the caller
    /// to release after the flag. The flag is held.
    private func sendIdle() -> Tracer? {
        guard let sink else { return nil }
        if pending.count > 0 { Self.send(&pending, sink.handle) }
        self.sink = nil
        return sink
    }

    /// Sends every thread's pending records through `tracer`, waiting for
    /// each buffer's owner to finish its current append or call. Then
    /// everything ended before this call is in the core. Blocks only that long.
    static func sendAll(_ tracer: OpaquePointer) {
        for buffer in Registry.shared.snapshot() {
            buffer.acquire()
            if buffer.pending.count > 0 { send(&buffer.pending, tracer) }
            buffer.release()
        }
    }

    /// One idle-flusher pass: sends the pending records of every buffer not
    /// in use right now (one in use sends them itself, or is caught by the
    /// next pass).
    static func sendIdleAll() {
        for buffer in Registry.shared.snapshot() where agtrace_swift_cas(buffer.flag, 0, 1) {
            let sink = buffer.sendIdle()
            buffer.release()
            withExtendedLifetime(sink) {}
        }
    }

    private static func send(_ records: inout Bytes, _ tracer: OpaquePointer) {
        var error: OpaquePointer?
        let status = agtrace_spans_apply(tracer, records.base, records.count, nil, &error)
        records.count = 0
        records.trim(to: kept)
        if status != AGTRACE_OK { report(status, error) }
    }

    /// After shutdown the core still ends every span (counted as dropped),
    /// by design; anything else is a fault in a message, logged once.
    @inline(never)
    private static func report(_ status: agtrace_status_t, _ error: OpaquePointer?) {
        let e = AgtraceError.take(error)
        if status == AGTRACE_ERR_SHUT_DOWN { return }
        Log.once(.protocolFault, "\(e)")
    }

    /// Every live thread's buffer.
    private final class Registry: @unchecked Sendable {
        static let shared = Registry()
        private let lock = NSLock()
        private var buffers: [ThreadBuffer] = []

        func add(_ buffer: ThreadBuffer) {
            lock.lock()
            buffers.append(buffer)
            lock.unlock()
        }

        func remove(_ buffer: ThreadBuffer) {
            lock.lock()
            buffers.removeAll { $0 === buffer }
            lock.unlock()
        }

        func snapshot() -> [ThreadBuffer] {
            lock.lock()
            defer { lock.unlock() }
            return buffers
        }
    }
}

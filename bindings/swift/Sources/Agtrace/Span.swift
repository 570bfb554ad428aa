import AgtraceFFIC
import Foundation

/// What a span is in an agent's run. Raw values are the C ABI's
/// `AGTRACE_KIND_*` codes, passed as they are on the span path.
public enum SpanKind: UInt32, Sendable, CaseIterable {
    case plain = 0, agent, workflow, task, llm, embedding, retriever, reranker, tool, guardrail, evaluator
}

/// A span's status. `ok` is final; `error` takes a description.
public enum StatusCode: Sendable {
    case unset, ok, error
}

/// What a span can be started under: a ``Span``, or a ``SpanContext`` (for
/// example from ``Agtrace/extract(_:)``). Only agtrace defines subclasses.
public class SpanParent: @unchecked Sendable {
    init() {}
}

/// A span. Run code in one with `withSpan`
/// (sync or `async`), which makes it current, records an error that escapes
/// and ends it; or start one with ``Tracer/startSpan(_:kind:attributes:parent:)``
/// and call ``end()``.
///
/// What is recorded on a span (attributes, status, usage, model, messages,
/// errors) is buffered and sent with ``end()`` in the same C call that ends
/// it; only events and first-chunk marks, which carry the time they
/// happened, cross at once.
///
/// Wrong arguments throw ``AgtraceError/invalidArgument(_:)`` naming what was
/// wrong and leave the span as it was. Ending twice, or recording on an
/// ended span, is logged and ignored. A span released without being ended is
/// ended then by the core, marked `agtrace.abandoned`.
///
/// Thread-safe: calls are serialized by a mutex. No call blocks.
public final class Span: SpanParent, @unchecked Sendable {
    /// The C ABI handle (`agtrace_span_t *`); nil for a span that records nothing.
    let handle: OpaquePointer?
    /// The session scope the span started in (compared by identity).
    let session: Session?

    /// Not an NSLock: on Linux, swift-corelibs-foundation's also allocates
    /// a condition and a second mutex (for timed locking) per lock.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Recorded fields not yet sent (guarded by `mutex`).
    private var pending = ""
    private var ended = false
    private var cachedContext: SpanContext?

    init(handle: OpaquePointer?, session: Session?) {
        self.handle = handle
        self.session = session
        pthread_mutex_init(mutex, nil)
    }

    /// Frees the handle here rather than in batches (as the Kotlin SDK does
    /// off a cleaner thread): from Swift a direct C call costs a few
    /// nanoseconds, less than the lock a shared batch would need. A span
    /// never ended is ended by this free, marked abandoned.
    deinit {
        if let handle { agtrace_span_free(handle) }
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// The current span of this task (or thread, outside tasks), or nil.
    public static var current: Span? { Current.parent as? Span }

    // MARK: lifecycle

    /// Ends the span: sends what was recorded and queues it for export.
    /// Never blocks. A second call is logged and ignored.
    public func end() {
        pthread_mutex_lock(mutex)
        if ended {
            pthread_mutex_unlock(mutex)
            Log.warn("span ended twice; the second end is ignored")
            return
        }
        ended = true
        var record = pending
        pending = ""
        pthread_mutex_unlock(mutex)
        guard let handle else { return }
        let status: agtrace_status_t
        if record.isEmpty {
            status = agtrace_span_finish_packed(handle, nil, 0, nil)
        } else {
            status = record.withUTF8 { agtrace_span_finish_packed(handle, $0.baseAddress, $0.count, nil) }
        }
        switch status {
        case AGTRACE_OK, AGTRACE_ERR_SHUT_DOWN: break // a span ended after shutdown is not exported, by design
        case AGTRACE_ERR_ALREADY_ENDED: Log.warn("span ended twice; the second end is ignored")
        default: Log.warn("ending a span: status \(status.rawValue) (a recorded value was invalid)")
        }
    }

    public var isEnded: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return ended
    }

    /// False once ended, for spans not sampled, and for spans of no tracer
    /// or a shut-down one.
    public var isRecording: Bool {
        guard let handle, !isEnded else { return false }
        return agtrace_span_is_recording(handle)
    }

    /// The span's ids, for propagation or as a parent; nil for a span that
    /// records nothing.
    public var context: SpanContext? {
        guard let handle else { return nil }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if let cachedContext { return cachedContext }
        var out: OpaquePointer?
        var error: OpaquePointer?
        guard agtrace_span_context(handle, &out, &error) == AGTRACE_OK, let out else {
            Log.warn("span context: \(AgtraceError.take(error))")
            return nil
        }
        let context = SpanContext(handle: out)
        cachedContext = context
        return context
    }

    // MARK: attributes (buffered)

    public func setAttribute(_ key: String, _ value: AttributeValue) throws {
        var packed = ""
        try Record.attribute(&packed, key, value)
        append(packed)
    }

    /// Sets several attributes, all or nothing.
    public func setAttributes(_ attributes: [String: AttributeValue]) throws {
        var packed = ""
        try Record.attributes(&packed, attributes)
        if !packed.isEmpty { append(packed) }
    }

    // MARK: status, errors, names (buffered)

    public func setStatus(_ code: StatusCode, description: String? = nil) throws {
        if let description, description.utf8.contains(0) {
            throw AgtraceError.invalidArgument("status description \(Record.printable(description)) contains a NUL character")
        }
        let argument: String
        switch code {
        case .unset: argument = "0"
        case .ok: argument = "1"
        case .error: argument = "2" + (description ?? "")
        }
        appendOp("status", argument)
    }

    /// Records `error` as an OpenTelemetry `exception` event (its type and
    /// description) and sets the status to error.
    public func recordError(_ error: any Error) {
        let payload = Json.object([
            "type": Json.quoted(String(reflecting: type(of: error))),
            "message": Json.quoted(String(describing: error)),
        ])
        appendOp("error", payload)
    }

    public func updateName(_ name: String) throws {
        try Record.checkName("span name", name)
        appendOp("name", name)
    }

    // MARK: GenAI (buffered)

    /// A model call's identity (`gen_ai.provider.name`,
    /// `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.response.id`,
    /// `gen_ai.response.finish_reasons`). Nil values are left as they are.
    public func setLLM(
        provider: String? = nil,
        requestModel: String? = nil,
        responseModel: String? = nil,
        responseId: String? = nil,
        finishReasons: [String]? = nil
    ) {
        appendOp("llm", Json.object([
            "provider": provider.map(Json.quoted),
            "request_model": requestModel.map(Json.quoted),
            "response_model": responseModel.map(Json.quoted),
            "response_id": responseId.map(Json.quoted),
            "finish_reasons": finishReasons.map(Json.array),
        ]))
    }

    /// Token usage of a model call, rolled up onto every ancestor (with its
    /// cost, when the model is in the price table). Counts must not be
    /// negative.
    public func setUsage(
        inputTokens: Int = 0,
        outputTokens: Int = 0,
        cacheReadInputTokens: Int = 0,
        cacheCreationInputTokens: Int = 0,
        reasoningOutputTokens: Int = 0
    ) throws {
        let counts = [inputTokens, outputTokens, cacheReadInputTokens, cacheCreationInputTokens, reasoningOutputTokens]
        if let bad = counts.first(where: { $0 < 0 }) {
            throw AgtraceError.invalidArgument("token counts must not be negative, got \(bad)")
        }
        appendOp("usage", counts.map { String($0) }.joined(separator: ","))
    }

    /// Input and output messages: JSON-serializable values (arrays and
    /// dictionaries of strings, numbers, booleans, `NSNull`), usually
    /// `[["role": "user", "content": "..."]]`. Recorded only when content
    /// capture is on (`AGTRACE_CAPTURE_CONTENT`), then redacted by the
    /// tracer's rules.
    public func setMessages(input: Any? = nil, output: Any? = nil) throws {
        appendOp("messages", Json.object([
            "input": try input.map { try foundationJSON($0, "messages input") },
            "output": try output.map { try foundationJSON($0, "messages output") },
        ]))
    }

    public func setTool(name: String, callId: String? = nil) throws {
        try Record.checkName("tool name", name)
        appendOp("tool", Json.object(["name": Json.quoted(name), "call_id": callId.map(Json.quoted)]))
    }

    public func setAgent(name: String, id: String? = nil) throws {
        try Record.checkName("agent name", name)
        appendOp("agent", Json.object(["name": Json.quoted(name), "id": id.map(Json.quoted)]))
    }

    // MARK: immediate

    /// Adds an event timed now (one C call).
    public func addEvent(_ name: String, attributes: [String: AttributeValue] = [:]) throws {
        try Record.checkName("event name", name)
        var members = "{"
        for (key, value) in attributes {
            try Record.checkKey(key)
            try value.validate("event attribute \(Record.printable(key))")
            if members.utf8.count > 1 { members.append(",") }
            Json.quote(key, into: &members)
            members.append(":")
            value.appendJSON(to: &members)
        }
        members.append("}")
        try now("event", Json.object(["name": Json.quoted(name), "attributes": members]))
    }

    /// Records that the first chunk of a streamed response arrived now
    /// (`gen_ai.response.time_to_first_chunk`).
    public func markFirstChunk() {
        do {
            try now("first_chunk", "")
        } catch {
            Log.warn("marking the first chunk: \(error)")
        }
    }

    private func now(_ op: String, _ argument: String) throws {
        guard let handle, !recordingOnEnded() else { return }
        var record = ""
        Record.op(&record, op, argument)
        var error: OpaquePointer?
        let status = record.withUTF8 { agtrace_span_record_packed(handle, $0.baseAddress, $0.count, &error) }
        try check(status, error)
    }

    // MARK: buffering

    private func appendOp(_ name: String, _ argument: String) {
        var packed = ""
        Record.op(&packed, name, argument)
        append(packed)
    }

    /// Adds packed fields to the pending record, unless the span ended or
    /// records nothing (arguments were checked before, so a bad one throws
    /// even on a span that records nothing).
    private func append(_ packed: String) {
        guard handle != nil else { return }
        pthread_mutex_lock(mutex)
        if ended {
            pthread_mutex_unlock(mutex)
            Log.warn("recording on an ended span is ignored")
            return
        }
        Record.field(&pending, packed)
        pthread_mutex_unlock(mutex)
    }

    private func recordingOnEnded() -> Bool {
        if isEnded {
            Log.warn("recording on an ended span is ignored")
            return true
        }
        return false
    }
}

extension Span: CustomStringConvertible {
    public var description: String {
        "Span(\(handle == nil ? "non-recording" : isEnded ? "ended" : "live"))"
    }
}

/// A span's identity: a remote parent from ``Agtrace/extract(_:)`` or
/// ``Tracer/extract(_:)``, or a local span's ``Span/context``. Usable as a
/// parent. Immutable; thread-safe.
public final class SpanContext: SpanParent, @unchecked Sendable, CustomStringConvertible {
    /// The C ABI handle (`agtrace_context_t *`), freed with this object.
    let handle: OpaquePointer

    /// 32 lowercase hex digits (all zero for baggage without a parent).
    public let traceId: String
    /// 16 lowercase hex digits.
    public let spanId: String
    public let isSampled: Bool

    init(handle: OpaquePointer) {
        self.handle = handle
        var trace = [UInt8](repeating: 0, count: 16)
        var span = [UInt8](repeating: 0, count: 8)
        var sampled = false
        // Cannot fail for a live handle; zeros are what a failure would leave.
        _ = agtrace_context_ids(handle, &trace, &span, &sampled, nil)
        traceId = trace.map { String(format: "%02x", $0) }.joined()
        spanId = span.map { String(format: "%02x", $0) }.joined()
        isSampled = sampled
    }

    deinit { agtrace_context_free(handle) }

    public var description: String { "SpanContext(traceId: \(traceId), spanId: \(spanId))" }
}

/// A Foundation JSON value encoded as JSON text (messages are user data of
/// any shape, on the cold content-capture path).
func foundationJSON(_ value: Any, _ what: String) throws -> String {
    guard JSONSerialization.isValidJSONObject([value]) else {
        throw AgtraceError.invalidArgument("\(what) is not JSON-serializable: \(type(of: value))")
    }
    let data = try JSONSerialization.data(withJSONObject: [value], options: [])
    // Encoded inside an array (top-level scalars need .fragmentsAllowed on
    // writing, not available everywhere); strip the brackets.
    let text = String(decoding: data, as: UTF8.self)
    return String(text.dropFirst().dropLast())
}

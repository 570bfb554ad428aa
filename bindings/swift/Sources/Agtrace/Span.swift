import AgtraceFFIC
import Foundation

/// What a span is in an agent's run. Raw values are the span protocol's
/// kind codes, generated from the core (`Codes.KIND_*`).
public enum SpanKind: RawRepresentable, Sendable, CaseIterable {
    case plain, agent, workflow, task, llm, embedding, retriever, reranker, tool, guardrail, evaluator

    public var rawValue: UInt8 {
        switch self {
        case .plain: return Codes.KIND_PLAIN
        case .agent: return Codes.KIND_AGENT
        case .workflow: return Codes.KIND_WORKFLOW
        case .task: return Codes.KIND_TASK
        case .llm: return Codes.KIND_LLM
        case .embedding: return Codes.KIND_EMBEDDING
        case .retriever: return Codes.KIND_RETRIEVER
        case .reranker: return Codes.KIND_RERANKER
        case .tool: return Codes.KIND_TOOL
        case .guardrail: return Codes.KIND_GUARDRAIL
        case .evaluator: return Codes.KIND_EVALUATOR
        }
    }

    public init?(rawValue: UInt8) {
        guard let kind = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = kind
    }
}

/// A span's status. `ok` is final; `error` takes a description.
public enum StatusCode: Sendable {
    case unset, ok, error

    /// The protocol's status code (`Codes.STATUS_*`).
    var code: UInt8 {
        switch self {
        case .unset: return Codes.STATUS_UNSET
        case .ok: return Codes.STATUS_OK
        case .error: return Codes.STATUS_ERROR
        }
    }
}

/// What a span can be started under: a ``Span``, or a ``SpanContext`` (for
/// example from ``Agtrace/extract(_:)``). Only agtrace defines subclasses,
/// and they must not add stored properties before their own (see ``Span``).
public class SpanParent: @unchecked Sendable {
    init() {}
}

/// A span. Run code in one with `withSpan` (sync or `async`), which makes
/// it current, records an error that escapes and ends it; or start one with
/// ``Tracer/startSpan(_:kind:attributes:parent:)`` and call ``end()``.
///
/// Starting a span is one call into libagtrace; what is recorded on it
/// afterwards (attributes, status, usage, model, messages, errors, events
/// with their time) is encoded into the span's own buffer, and ``end()``
/// appends it, with the span's duration, to the ending thread's pending
/// records, which go with that thread's next span start (see
/// ``ThreadBuffer``). No call blocks.
///
/// Wrong arguments throw ``AgtraceError/invalidArgument(_:)`` naming what was
/// wrong and leave the span as it was. Ending twice, or recording on an
/// ended span, is logged (once) and ignored. A span released without being
/// ended is sent then, with everything recorded on it, marked
/// `agtrace.abandoned`.
///
/// Thread-safe, without a lock: one atomic state word serialises recording
/// and ending, so a span may be recorded on and ended from any thread or
/// task, and ends exactly once.
public final class Span: SpanParent, @unchecked Sendable {
    /// ``ended`` and ``busy`` bits. Must stay the first stored property: its
    /// address, for the C atomics, is `_getUnsafePointerToStoredProperties`
    /// (the stdlib entry point swift-atomics' `ManagedAtomic` uses), which
    /// points at the first stored property of a class whose superclasses
    /// store nothing. Never read or written through Swift.
    private var stateWord: UInt32 = 0
    /// The core's handle for the END record; 0 for a span that records nothing.
    let handle: UInt64
    /// Zero when the span started under no tracer.
    let ids: SpanIds
    /// The monotonic clock when the span started, ns.
    let start: UInt64
    /// The tracer it records in (nil when it records nothing).
    let tracer: Tracer?
    /// The session scope the span started in (compared by identity).
    let session: Session?
    /// The remote context whose trace state and baggage this span's
    /// descendants inherit (kept alive for them): set under a remote parent.
    let inherit: SpanContext?
    /// Items recorded since the start (guarded by ``busy``).
    private var items = Bytes()

    private static let ended: UInt32 = 1
    private static let busy: UInt32 = 2

    init(tracer: Tracer, begun: agtrace_begun_t, session: Session?, inherit: SpanContext?) {
        handle = begun.handle
        ids = withUnsafeBytes(of: begun) { raw in
            SpanIds(
                trace: raw.loadUnaligned(fromByteOffset: MemoryLayout<agtrace_begun_t>.offset(of: \.trace_id)!, as: (UInt64, UInt64).self),
                span: raw.loadUnaligned(fromByteOffset: MemoryLayout<agtrace_begun_t>.offset(of: \.span_id)!, as: UInt64.self),
                flags: begun.flags
            )
        }
        start = agtrace_swift_now_ns()
        self.tracer = begun.handle == 0 ? nil : tracer
        self.session = session
        self.inherit = inherit
    }

    /// A span that records nothing (no tracer).
    init(session: Session?) {
        handle = 0
        ids = SpanIds(trace: (0, 0), span: 0, flags: 0)
        start = 0
        tracer = nil
        self.session = session
        inherit = nil
    }

    deinit {
        if let tracer, agtrace_swift_load(state) & Self.ended == 0 {
            let duration = agtrace_swift_now_ns() &- start
            ThreadBuffer.withCurrent { $0.end(Codes.RECORD_ABANDON, handle, duration, items.bytes, tracer) }
        }
        items.release()
    }

    private var state: UnsafeMutablePointer<UInt32> {
        _getUnsafePointerToStoredProperties(self).assumingMemoryBound(to: UInt32.self)
    }

    /// The current span of this task (or thread, outside tasks), or nil.
    public static var current: Span? { Current.parent as? Span }

    // MARK: lifecycle

    /// Ends the span: appends its END record to this thread's pending
    /// records. Never blocks. A second call is logged and ignored.
    public func end() {
        while !agtrace_swift_cas(state, 0, Self.ended) {
            if agtrace_swift_load(state) & Self.ended != 0 {
                Log.once(.endedTwice, "span ended twice; the second end is ignored")
                return
            }
            sched_yield()
        }
        guard let tracer else { return }
        let duration = agtrace_swift_now_ns() &- start
        ThreadBuffer.withCurrent { $0.end(Codes.RECORD_END, handle, duration, items.bytes, tracer) }
        items.release()
    }

    public var isEnded: Bool { agtrace_swift_load(state) & Self.ended != 0 }

    /// False once ended, for spans not sampled, and for spans of no tracer
    /// or a shut-down one.
    public var isRecording: Bool { handle != 0 && !isEnded }

    /// The span's ids, for propagation or as a parent; nil for a span that
    /// started under no tracer. A new context object each call.
    public var context: SpanContext? {
        guard ids.isValid else { return nil }
        var out: OpaquePointer?
        var error: OpaquePointer?
        let status = withUnsafeBytes(of: ids.trace) { trace in
            withUnsafeBytes(of: ids.span) { span in
                agtrace_context_new(
                    trace.bindMemory(to: UInt8.self).baseAddress, span.bindMemory(to: UInt8.self).baseAddress,
                    ids.flags, inherit?.handle, &out, &error
                )
            }
        }
        guard status == AGTRACE_OK, let out else {
            Log.warn("span context: \(AgtraceError.take(error))")
            return nil
        }
        return SpanContext(handle: out)
    }

    /// The parent reference a child started now gives in its BEGIN: LOCAL
    /// while this span records (its rollups count the child), else SPAN;
    /// ROOT for a span that started under no tracer.
    var asParent: ParentRef {
        guard ids.isValid else { return .root }
        let inheritHandle = inherit?.wireHandle
        return isRecording ? .local(ids, inherit: inheritHandle) : .span(ids, inherit: inheritHandle)
    }

    // MARK: recording

    /// Runs `write` on the span's items under the busy bit, rolling them
    /// back if it throws; does nothing (but log once) on an ended span.
    /// Arguments are checked first on a span that records nothing, so a bad
    /// one throws on every span.
    @inline(__always)
    private func record(_ check: () throws -> Void, _ write: (inout Bytes) throws -> Void) rethrows {
        guard tracer != nil else { return try check() }
        while !agtrace_swift_cas(state, 0, Self.busy) {
            if agtrace_swift_load(state) & Self.ended != 0 {
                try check()
                Log.once(.recordedAfterEnd, "recording on an ended span is ignored")
                return
            }
            sched_yield()
        }
        let mark = items.count
        do {
            try write(&items)
        } catch {
            items.count = mark
            agtrace_swift_store(state, 0)
            throw error
        }
        agtrace_swift_store(state, 0)
    }

    public func setAttribute(_ key: String, _ value: AttributeValue) throws {
        try record({ try Check.attribute(key, value) }) { try $0.attribute(key, value) }
    }

    /// Sets several attributes, all or nothing.
    public func setAttributes(_ attributes: KeyValuePairs<String, AttributeValue>) throws {
        try record({ try Check.attributes(attributes) }) { try $0.attributes(attributes) }
    }

    /// Sets several attributes, all or nothing.
    @_disfavoredOverload
    public func setAttributes(_ attributes: [String: AttributeValue]) throws {
        try record({ try Check.attributes(attributes) }) { try $0.attributes(attributes) }
    }

    // MARK: status, errors, names

    public func setStatus(_ code: StatusCode, description: String? = nil) throws {
        record({}) { $0.status(code.code, code == .error ? description ?? "" : "") }
    }

    /// Records `error` as an OpenTelemetry `exception` event (its type and
    /// description) and sets the status to error.
    public func recordError(_ error: any Error) {
        let type = String(reflecting: Swift.type(of: error))
        let message = String(describing: error)
        record({}) { $0.error(type: type, message: message, stacktrace: "") }
    }

    public func updateName(_ name: String) throws {
        try Check.name("span name", name)
        record({}) { $0.name(name) }
    }

    // MARK: GenAI

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
        record({}) {
            $0.llm(
                provider: provider ?? "", requestModel: requestModel ?? "", responseModel: responseModel ?? "",
                responseId: responseId ?? "", finishReasons: finishReasons ?? []
            )
        }
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
        record({}) {
            $0.usage(UInt64(inputTokens), UInt64(outputTokens), UInt64(cacheReadInputTokens),
                     UInt64(cacheCreationInputTokens), UInt64(reasoningOutputTokens))
        }
    }

    /// Input and output messages: JSON-serializable values (arrays and
    /// dictionaries of strings, numbers, booleans, `NSNull`), usually
    /// `[["role": "user", "content": "..."]]`. Recorded only when content
    /// capture is on (`AGTRACE_CAPTURE_CONTENT`), then redacted by the
    /// tracer's rules.
    public func setMessages(input: Any? = nil, output: Any? = nil) throws {
        let input = try input.map { try foundationJSON($0, "messages input") } ?? ""
        let output = try output.map { try foundationJSON($0, "messages output") } ?? ""
        record({}) { $0.messages(input: input, output: output) }
    }

    public func setTool(name: String, callId: String? = nil) throws {
        try Check.name("tool name", name)
        record({}) { $0.tool(name: name, callId: callId ?? "") }
    }

    public func setAgent(name: String, id: String? = nil) throws {
        try Check.name("agent name", name)
        record({}) { $0.agent(name: name, id: id ?? "") }
    }

    // MARK: timed

    /// Adds an event timed now.
    public func addEvent(_ name: String, attributes: KeyValuePairs<String, AttributeValue> = [:]) throws {
        try event(name, attributes)
    }

    /// Adds an event timed now.
    @_disfavoredOverload
    public func addEvent(_ name: String, attributes: [String: AttributeValue]) throws {
        try event(name, attributes)
    }

    private func event<A: Sequence>(_ name: String, _ attributes: A) throws where A.Element == (key: String, value: AttributeValue) {
        try Check.name("event name", name)
        let offset = agtrace_swift_now_ns() &- start
        try record({ try Check.attributes(attributes) }) { try $0.event(name: name, offset: offset, attributes: attributes) }
    }

    /// Records that the first chunk of a streamed response arrived now
    /// (`gen_ai.response.time_to_first_chunk`).
    public func markFirstChunk() {
        let offset = agtrace_swift_now_ns() &- start
        record({}) { $0.firstChunk(offset: offset) }
    }
}

extension Span: CustomStringConvertible {
    public var description: String {
        "Span(\(handle == 0 ? "non-recording" : isEnded ? "ended" : "live"))"
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

    /// The handle as the span protocol names a context.
    var wireHandle: UInt64 { UInt64(UInt(bitPattern: handle)) }

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

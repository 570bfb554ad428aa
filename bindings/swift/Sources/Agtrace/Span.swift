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
/// ``Tracer/startSpan(_:kind:attributes:input:links:parent:)`` and call ``end()``.
///
/// Starting a span is one call into libagtrace; what is recorded on it
/// afterwards (attributes, status, usage, model, messages, errors, events
/// with their time, links) is encoded into the span's own buffer, and
/// ``end()`` appends it, with the span's duration, to the ending thread's
/// pending records, which go with that thread's next span start (see
/// ``ThreadBuffer``). No call blocks.
///
/// No call throws: a value of any type is converted (see
/// `setAttribute(_:_:)`), and misuse (a bad name or key, a value that
/// cannot be converted, ending twice, recording on an ended span) leaves
/// out what was misused, is counted in ``Tracer/stats()`` (`misuse`) and
/// logged once per kind; in strict mode (`AGTRACE_STRICT=true`) it traps.
/// A span released without being ended is sent then, with everything
/// recorded on it, marked `agtrace.abandoned`.
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
    public let kind: SpanKind
    /// Items recorded since the start (guarded by ``busy``).
    private var items = Bytes()

    private static let ended: UInt32 = 1
    private static let busy: UInt32 = 2

    init(tracer: Tracer, kind: SpanKind, begun: agtrace_begun_t, session: Session?, inherit: SpanContext?) {
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
        self.kind = kind
    }

    /// A span that records nothing (no tracer).
    init(kind: SpanKind, session: Session?) {
        handle = 0
        ids = SpanIds(trace: (0, 0), span: 0, flags: 0)
        start = 0
        tracer = nil
        self.session = session
        inherit = nil
        self.kind = kind
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
    /// records. Never blocks. A second call is misuse (`ENDED_TWICE`),
    /// otherwise ignored.
    public func end() {
        while !agtrace_swift_cas(state, 0, Self.ended) {
            if agtrace_swift_load(state) & Self.ended != 0 {
                if let tracer { Misuse.report(tracer, Codes.MISUSE_ENDED_TWICE, "span ended twice; the second end is ignored") }
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

    /// The span's ids, for propagation, links or as a parent; nil for a
    /// span that started under no tracer. A new context object each call.
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
        return SpanContext(handle: out, traceState: inherit?.traceState ?? "")
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

    /// Runs `write` on the span's items under the busy bit, then reports
    /// what it left out; on an ended span, writes nothing and reports
    /// `ENDED_TWICE`. Does nothing on a span that records nothing.
    @inline(__always)
    private func record(_ write: (inout Bytes) -> [Rejected]) {
        guard let tracer else { return }
        while !agtrace_swift_cas(state, 0, Self.busy) {
            if agtrace_swift_load(state) & Self.ended != 0 {
                Misuse.report(tracer, Codes.MISUSE_ENDED_TWICE, "recording on an ended span is ignored")
                return
            }
            sched_yield()
        }
        let rejected = write(&items)
        agtrace_swift_store(state, 0)
        if !rejected.isEmpty { Misuse.report(tracer, rejected) }
    }

    /// Reports `rejected` unless this span records nothing.
    private func report(_ rejected: Rejected) {
        if let tracer { Misuse.report(tracer, [rejected]) }
    }

    public func setAttribute(_ key: String, _ value: AttributeValue) {
        record { $0.attribute(key, value).map { [$0] } ?? [] }
    }

    /// Sets an attribute from a value of any type, converted as
    /// ``AttributeValue`` cannot be: `Date` as ISO 8601 text; `Decimal`,
    /// `UUID` and `URL` as their text; an enum with a raw value as that
    /// value; `Data` as a placeholder with its length and a digest, never
    /// its bytes; other `Encodable` values as JSON; `[Any]` and
    /// `[String: Any]` as JSON; anything else as `String(describing:)`,
    /// bounded. `nil` sets nothing. A value whose `encode(to:)` throws is
    /// left out (misuse `BAD_VALUE`).
    @_disfavoredOverload
    public func setAttribute(_ key: String, _ value: Any?) {
        guard tracer != nil, let value else { return }
        guard let converted = convert(value, "attribute \(Check.printable(key))") else { return }
        setAttribute(key, converted)
    }

    /// Sets several attributes; one that cannot be recorded is left out.
    public func setAttributes(_ attributes: KeyValuePairs<String, AttributeValue>) {
        record { $0.attributes(attributes) }
    }

    /// Sets several attributes; one that cannot be recorded is left out.
    @_disfavoredOverload
    public func setAttributes(_ attributes: [String: AttributeValue]) {
        record { $0.attributes(attributes) }
    }

    /// Sets several attributes of any type, each converted as by
    /// `setAttribute(_:_:)`.
    @_disfavoredOverload
    public func setAttributes(_ attributes: [String: Any?]) {
        guard tracer != nil else { return }
        var converted: [(key: String, value: AttributeValue)] = []
        for (key, value) in attributes {
            if let value, let v = convert(value, "attribute \(Check.printable(key))") { converted.append((key, v)) }
        }
        record { $0.attributes(converted) }
    }

    /// `value` converted, or nil when it converts to nothing or cannot be
    /// converted (reported).
    private func convert(_ value: Any, _ what: @autoclosure () -> String) -> AttributeValue? {
        do {
            return try Convert.attribute(value)
        } catch {
            report(.badValue("\(what()): \((error as? Convert.Failed)?.detail ?? "\(error)")"))
            return nil
        }
    }

    // MARK: links

    /// Links this span to `target` (a ``Span`` or ``SpanContext``), with
    /// attributes; see ``SpanLink``.
    public func addLink(_ target: SpanParent, attributes: [String: AttributeValue] = [:]) {
        addLink(SpanLink(target, attributes: attributes))
    }

    public func addLink(_ link: SpanLink) {
        record { link.encode(into: &$0) }
    }

    // MARK: inputs and outputs

    /// Records `value` as the span's input: `input.value` and
    /// `input.mime_type` (`text/plain` for a value that converts to a
    /// string, else `application/json`), and on a tool span
    /// `gen_ai.tool.call.arguments` (JSON). Converted as by
    /// `setAttribute(_:_:)`, then passed through the tracer's mask. Does
    /// nothing when the tracer's `capture_io` setting
    /// (`AGTRACE_CAPTURE_IO`) is off. `withSpan(..., input:)` calls it.
    public func setInput(_ value: Any?) {
        capture(value, Captured.input)
    }

    /// Records `value` as the span's output (`output.value`,
    /// `output.mime_type`, and on a tool span `gen_ai.tool.call.result`),
    /// as ``setInput(_:)`` does. `withSpan` calls it with the body's
    /// result, unless the body returns nothing (`Void`) or is told
    /// `captureOutput: false`.
    public func setOutput(_ value: Any?) {
        capture(value, Captured.output)
    }

    /// The attribute keys of an input or an output.
    struct Captured {
        let value: String
        let mime: String
        let tool: String

        static let input = Captured(value: "input.value", mime: "input.mime_type", tool: "gen_ai.tool.call.arguments")
        static let output = Captured(value: "output.value", mime: "output.mime_type", tool: "gen_ai.tool.call.result")
    }

    private func capture(_ value: Any?, _ keys: Captured) {
        guard let tracer, tracer.captureIO, isRecording else { return }
        var text: String, mime: String
        do {
            (text, mime) = try value.flatMap(Convert.capture) ?? ("null", "application/json")
        } catch {
            return report(.badValue("\(keys.value): \((error as? Convert.Failed)?.detail ?? "\(error)")"))
        }
        guard let masked = tracer.masked(text, keys.value) else { return }
        text = masked
        record {
            var rejected = $0.attributes([(key: keys.value, value: .string(text)), (key: keys.mime, value: .string(mime))])
            if kind == .tool, let r = $0.attribute(keys.tool, .string(mime == "application/json" ? text : Json.quoted(text))) {
                rejected.append(r)
            }
            return rejected
        }
    }

    // MARK: status, errors, names

    public func setStatus(_ code: StatusCode, description: String? = nil) {
        record {
            $0.status(code.code, code == .error ? description ?? "" : "")
            return []
        }
    }

    /// Records `error` as an OpenTelemetry `exception` event and sets the
    /// status to error. The message reads as the error's author wrote it:
    /// a `LocalizedError`'s `errorDescription`, an `NSError`'s
    /// `localizedDescription`, else `String(describing:)`; `exception.type`
    /// is the error's module-qualified type name (`MyApp.ToolError`), as
    /// Python and Kotlin record theirs.
    public func recordError(_ error: any Error) {
        let type = Convert.typeName(error)
        let message = ErrorText.message(error)
        record {
            $0.error(type: type, message: message, stacktrace: "")
            return []
        }
    }

    /// Renames the span; an empty name or one with a NUL is left out.
    public func updateName(_ name: String) {
        if let r = Check.name("span name", name) { return report(r) }
        record {
            $0.name(name)
            return []
        }
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
        record {
            $0.llm(
                provider: provider ?? "", requestModel: requestModel ?? "", responseModel: responseModel ?? "",
                responseId: responseId ?? "", finishReasons: finishReasons ?? []
            )
            return []
        }
    }

    /// Token usage of a model call, rolled up onto every ancestor (with its
    /// cost, when the model is in the price table). A negative count is
    /// misuse (`BAD_VALUE`), and the usage is left out.
    public func setUsage(
        inputTokens: Int = 0,
        outputTokens: Int = 0,
        cacheReadInputTokens: Int = 0,
        cacheCreationInputTokens: Int = 0,
        reasoningOutputTokens: Int = 0
    ) {
        let counts = [inputTokens, outputTokens, cacheReadInputTokens, cacheCreationInputTokens, reasoningOutputTokens]
        if let bad = counts.first(where: { $0 < 0 }) {
            return report(.badValue("token counts must not be negative, got \(bad)"))
        }
        record {
            $0.usage(UInt64(inputTokens), UInt64(outputTokens), UInt64(cacheReadInputTokens),
                     UInt64(cacheCreationInputTokens), UInt64(reasoningOutputTokens))
            return []
        }
    }

    /// Input and output messages, usually `[["role": "user", "content":
    /// "..."]]` or `Encodable` message values: any value, converted to JSON
    /// as by `setAttribute(_:_:)`, then passed through the tracer's mask.
    /// Recorded only when content capture is on (`AGTRACE_CAPTURE_CONTENT`),
    /// then redacted by the tracer's rules.
    public func setMessages(input: Any? = nil, output: Any? = nil) {
        guard let tracer, isRecording else { return }
        guard let inputJSON = messages(input, "messages input", tracer),
              let outputJSON = messages(output, "messages output", tracer) else { return }
        record {
            $0.messages(input: inputJSON, output: outputJSON)
            return []
        }
    }

    /// Messages as masked JSON text ("" for none), or nil when they could
    /// not be converted or the mask failed (reported).
    private func messages(_ value: Any?, _ what: String, _ tracer: Tracer) -> String? {
        guard let value else { return "" }
        do {
            return tracer.masked(try Convert.json(value), what)
        } catch {
            report(.badValue("\(what): \((error as? Convert.Failed)?.detail ?? "\(error)")"))
            return nil
        }
    }

    public func setTool(name: String, callId: String? = nil) {
        if let r = Check.name("tool name", name) { return report(r) }
        record {
            $0.tool(name: name, callId: callId ?? "")
            return []
        }
    }

    public func setAgent(name: String, id: String? = nil) {
        if let r = Check.name("agent name", name) { return report(r) }
        record {
            $0.agent(name: name, id: id ?? "")
            return []
        }
    }

    // MARK: timed

    /// Adds an event timed now.
    public func addEvent(_ name: String, attributes: KeyValuePairs<String, AttributeValue> = [:]) {
        event(name, attributes)
    }

    /// Adds an event timed now.
    @_disfavoredOverload
    public func addEvent(_ name: String, attributes: [String: AttributeValue]) {
        event(name, attributes)
    }

    private func event<A: Sequence>(_ name: String, _ attributes: A) where A.Element == (key: String, value: AttributeValue) {
        if let r = Check.name("event name", name) { return report(r) }
        let offset = agtrace_swift_now_ns() &- start
        record { $0.event(name: name, offset: offset, attributes: attributes) }
    }

    /// Records that the first chunk of a streamed response arrived now
    /// (`gen_ai.response.time_to_first_chunk`).
    public func markFirstChunk() {
        let offset = agtrace_swift_now_ns() &- start
        record {
            $0.firstChunk(offset: offset)
            return []
        }
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
    /// The ids in wire order, for links.
    let ids: SpanIds
    /// The W3C `tracestate` it came with ("" for none), for links.
    let traceState: String

    /// 32 lowercase hex digits (all zero for baggage without a parent).
    public let traceId: String
    /// 16 lowercase hex digits.
    public let spanId: String
    public let isSampled: Bool

    init(handle: OpaquePointer, traceState: String) {
        self.handle = handle
        self.traceState = traceState
        var trace = [UInt8](repeating: 0, count: 16)
        var span = [UInt8](repeating: 0, count: 8)
        var sampled = false
        // Cannot fail for a live handle; zeros are what a failure would leave.
        _ = agtrace_context_ids(handle, &trace, &span, &sampled, nil)
        traceId = trace.map { String(format: "%02x", $0) }.joined()
        spanId = span.map { String(format: "%02x", $0) }.joined()
        isSampled = sampled
        ids = SpanIds(
            trace: trace.withUnsafeBytes { $0.loadUnaligned(as: (UInt64, UInt64).self) },
            span: span.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) },
            flags: sampled ? 1 : 0
        )
    }

    deinit { agtrace_context_free(handle) }

    /// The handle as the span protocol names a context.
    var wireHandle: UInt64 { UInt64(UInt(bitPattern: handle)) }

    public var description: String { "SpanContext(traceId: \(traceId), spanId: \(spanId))" }
}

import AgtraceFFI
import AgtraceFFIC
import Foundation

/// The tracer's counters, the one shape every agtrace SDK reports:
/// `started`, `ended`, `unsampled`, `dispatched`, `pending`, `dropped` (by
/// reason), `exported` (summed over exporters), `exporters` (each
/// ``ExporterStats``) and `misuse` (counts by kind: `bad_name`,
/// `bad_value`, `ended_twice`, `bad_call`, `mask_failed`; see ``Misuse``).
/// Every span ended before the call is counted.
public typealias Stats = AgtraceFFI.Stats

/// One exporter's counters in ``Stats``: `name`, `received`, `exported`,
/// `retried`, `pending`, `breakerOpen`, `dropped` (by reason), and the disk
/// spool's `spooled`, `replayed`, `lostFromSpool`, `spoolCorrupt`;
/// `received == exported + dropped + spooled + pending`.
public typealias ExporterStats = AgtraceFFI.ExporterStats

/// Starts spans and delivers them to the configured exporters.
///
/// Most applications use the default tracer through ``Agtrace/bootstrap(serviceName:exporters:settings:ignoreEnvironment:exitTimeout:mask:)``
/// and the free `withSpan`; explicit tracers work beside it:
/// `let tracer = try Tracer(exporters: ["console"])`.
///
/// Two handles on one core tracer: the uniffi object for the cold API
/// (settings, flush, shutdown, stats, live configuration) and a C ABI handle
/// for the span protocol and propagation. Thread-safe. Only ``flush(timeout:)`` and
/// ``shutdown(timeout:)`` block, each within its timeout; nothing else does
/// I/O on the calling thread.
///
/// A tracer stays alive until it is shut down (the exit hook holds it), so
/// its spans are delivered even when the application drops it.
public final class Tracer: @unchecked Sendable {
    /// Rewrites captured text before it leaves the caller: inputs, outputs
    /// and message content, as their text (`input.value`, JSON for
    /// structured values, the messages' JSON). Runs on the calling thread,
    /// after conversion and before the core's redaction. A mask that throws
    /// drops the value it was given, which is counted as misuse
    /// (`MASK_FAILED`), never thrown.
    public typealias Mask = @Sendable (String) throws -> String

    /// How long the exit hook waits for this tracer's spans.
    public let exitTimeout: Duration
    /// The `capture_io` setting (`AGTRACE_CAPTURE_IO`): whether spans
    /// record the inputs and outputs they are given.
    public let captureIO: Bool
    /// The `strict` setting (`AGTRACE_STRICT`): misuse traps instead of
    /// being counted (see ``Misuse``).
    public let strict: Bool
    let mask: Mask?

    private let ffi: AgtraceFFI.Tracer
    /// The C ABI handle (`agtrace_tracer_t *`).
    let handle: OpaquePointer

    /// Makes a tracer from settings named as the environment variables of
    /// the README's configuration table (`AGTRACE_CAPTURE_CONTENT`,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, ...); `serviceName` and `exporters`
    /// set `OTEL_SERVICE_NAME` and `AGTRACE_EXPORTERS`. The environment is
    /// read too, unless `ignoreEnvironment`, and code wins over it; with
    /// nothing set, the tracer is configured from the environment alone.
    ///
    /// `mask` rewrites captured inputs, outputs and message content (see
    /// ``Mask``).
    ///
    /// Throws ``AgtraceError/invalidConfig(_:)`` naming an unknown setting
    /// (with suggestions) or a bad value, or when the loaded libagtrace
    /// speaks another span protocol version than this SDK. Does no network
    /// I/O.
    public init(
        serviceName: String? = nil,
        exporters: [String]? = nil,
        settings: [String: SettingValue] = [:],
        ignoreEnvironment: Bool = false,
        exitTimeout: Duration = .seconds(5),
        mask: Mask? = nil
    ) throws {
        let spoken = agtrace_protocol_version()
        if spoken != Codes.PROTOCOL_VERSION {
            throw AgtraceError.invalidConfig(
                "libagtrace \(String(cString: agtrace_version())) speaks span protocol version \(spoken), "
                    + "this Swift SDK version \(Codes.PROTOCOL_VERSION): use the library the SDK was built with")
        }
        if exitTimeout < .zero {
            throw AgtraceError.invalidConfig("exitTimeout must not be negative, got \(exitTimeout)")
        }
        let named = try settingsByName(serviceName: serviceName, exporters: exporters, settings: settings)
        let ffi = try cold { try AgtraceFFI.Tracer(settings: named, ignoreEnv: ignoreEnvironment) }
        guard let handle = OpaquePointer(bitPattern: UInt(ffi.cHandle())) else {
            throw AgtraceError.internal("libagtrace returned no tracer handle")
        }
        self.ffi = ffi
        self.handle = handle
        self.exitTimeout = exitTimeout
        self.mask = mask
        strict = agtrace_tracer_strict(handle)
        let config = Self.config(ffi)
        captureIO = config["capture_io"] as? Bool ?? true
        Lifecycle.shared.register(self)
        let batch = config["batch"] as? [String: Any]
        Flusher.shared.serve(batchDelayMs: (batch?["flush_interval_ms"] as? NSNumber)?.intValue ?? 1000)
    }

    deinit { agtrace_tracer_free(handle) }

    // MARK: spans

    /// Runs `body` in a new span, current for the body; an error that
    /// escapes is recorded on the span (an `exception` event, status error)
    /// and rethrown; the span ends on every path. Rethrows only the body's
    /// errors: starting and recording never throw (see ``Span``).
    ///
    /// `input` is recorded as the span's input and the body's result as its
    /// output (see ``Span/setInput(_:)``; not for a `Void` body, nor with
    /// `captureOutput: false`). `links` link the span to others (see
    /// ``SpanLink``). `parent` defaults to the current span; nil starts a
    /// new trace. Never blocks. Attributes written as a literal take this
    /// overload and build no dictionary.
    @discardableResult
    public func withSpan<T>(
        _ name: String,
        kind: SpanKind = .plain,
        attributes: KeyValuePairs<String, AttributeValue> = [:],
        input: Any? = nil,
        links: [SpanLink] = [],
        parent: SpanParent? = Current.parent,
        captureOutput: Bool = true,
        _ body: (Span) throws -> T
    ) rethrows -> T {
        try Spans.run(Spans.start(self, name, kind, attributes, input, links, parent), captureOutput, body)
    }

    /// `withSpan` with attributes in a dictionary.
    @discardableResult @_disfavoredOverload
    public func withSpan<T>(
        _ name: String,
        kind: SpanKind = .plain,
        attributes: [String: AttributeValue],
        input: Any? = nil,
        links: [SpanLink] = [],
        parent: SpanParent? = Current.parent,
        captureOutput: Bool = true,
        _ body: (Span) throws -> T
    ) rethrows -> T {
        try Spans.run(Spans.start(self, name, kind, attributes, input, links, parent), captureOutput, body)
    }

    /// `withSpan` for `async` code: the span is current in the body and in
    /// every child task it creates (`async let`, task groups, `Task {}`).
    /// Cancellation (`CancellationError`) ends the span without marking it
    /// an error. The span may end on another thread than it started on.
    @discardableResult
    public func withSpan<T>(
        _ name: String,
        kind: SpanKind = .plain,
        attributes: KeyValuePairs<String, AttributeValue> = [:],
        input: Any? = nil,
        links: [SpanLink] = [],
        parent: SpanParent? = Current.parent,
        captureOutput: Bool = true,
        _ body: (Span) async throws -> T
    ) async rethrows -> T {
        try await Spans.run(Spans.start(self, name, kind, attributes, input, links, parent), captureOutput, body)
    }

    /// The `async` `withSpan` with attributes in a dictionary.
    @discardableResult @_disfavoredOverload
    public func withSpan<T>(
        _ name: String,
        kind: SpanKind = .plain,
        attributes: [String: AttributeValue],
        input: Any? = nil,
        links: [SpanLink] = [],
        parent: SpanParent? = Current.parent,
        captureOutput: Bool = true,
        _ body: (Span) async throws -> T
    ) async rethrows -> T {
        try await Spans.run(Spans.start(self, name, kind, attributes, input, links, parent), captureOutput, body)
    }

    /// Starts a span under `parent` (default: the current span; nil for a
    /// new trace) without making it current; end it with ``Span/end()``
    /// (record its output with ``Span/setOutput(_:)``). A span released
    /// without `end()` is exported with what was recorded on it, marked
    /// abandoned. After shutdown it returns a span that records nothing.
    /// Never blocks; never throws.
    public func startSpan(
        _ name: String,
        kind: SpanKind = .plain,
        attributes: KeyValuePairs<String, AttributeValue> = [:],
        input: Any? = nil,
        links: [SpanLink] = [],
        parent: SpanParent? = Current.parent
    ) -> Span {
        Spans.start(self, name, kind, attributes, input, links, parent)
    }

    /// `startSpan` with attributes in a dictionary.
    @_disfavoredOverload
    public func startSpan(
        _ name: String,
        kind: SpanKind = .plain,
        attributes: [String: AttributeValue],
        input: Any? = nil,
        links: [SpanLink] = [],
        parent: SpanParent? = Current.parent
    ) -> Span {
        Spans.start(self, name, kind, attributes, input, links, parent)
    }

    // MARK: propagation

    /// Propagation headers (W3C `traceparent`/`tracestate`/`baggage`, or B3,
    /// per `OTEL_PROPAGATORS`) for `parent` (default: the current span);
    /// empty when there is none. Never blocks.
    public func inject(parent: SpanParent? = Current.parent) -> [String: String] {
        let context: SpanContext
        switch parent {
        case let span as Span:
            guard let c = span.context else { return [:] }
            context = c
        case let c as SpanContext:
            context = c
        default:
            return [:]
        }
        let headers = agtrace_headers_new()
        defer { agtrace_headers_free(headers) }
        var out: [String: String] = [:]
        do {
            var error: OpaquePointer?
            try check(agtrace_inject(handle, context.handle, headers, &error), error)
            for i in 0..<agtrace_headers_count(headers) {
                var name = agtrace_str_t(), value = agtrace_str_t()
                try check(agtrace_headers_get(headers, i, &name, &value, &error), error)
                out[text(name)] = text(value)
            }
        } catch {
            Log.warn("inject: \(error)")
        }
        withExtendedLifetime(context) {}
        return out
    }

    /// The remote parent in `headers` (names in any case), or nil when they
    /// carry neither a valid context nor baggage; malformed headers are
    /// ignored. Pass it as `parent:` to continue the trace. Never blocks.
    public func extract(_ headers: [String: String]) -> SpanContext? {
        let list = agtrace_headers_new()
        defer { agtrace_headers_free(list) }
        do {
            var error: OpaquePointer?
            for (name, value) in headers {
                var name = name, value = value
                let status = name.withUTF8 { n in
                    value.withUTF8 { v in
                        agtrace_headers_set(list, str(n), str(v), &error)
                    }
                }
                try check(status, error)
            }
            var context: OpaquePointer?
            try check(agtrace_extract(handle, list, &context, &error), error)
            let traceState = headers.first { $0.key.lowercased() == "tracestate" }?.value ?? ""
            return context.map { SpanContext(handle: $0, traceState: traceState) }
        } catch {
            Log.warn("extract: \(error)")
            return nil
        }
    }

    // MARK: delivery

    /// Waits until spans ended before the call (on any thread) are delivered, up to
    /// `timeout` (negative means zero). Returns false, and logs, if some
    /// were still undelivered; they stay queued. Never throws. Blocks the
    /// calling thread up to `timeout`.
    @discardableResult
    public func flush(timeout: Duration = .seconds(5)) -> Bool {
        let ms = millis(timeout)
        ThreadBuffer.sendAll(handle)
        return delivered("flush") { try ffi.flush(timeoutMs: ms) }
    }

    /// Flushes and stops the export threads within `timeout`. Idempotent;
    /// spans started afterwards record nothing. Returns false, and logs, if
    /// spans were left undelivered. Never throws. Blocks up to `timeout`.
    @discardableResult
    public func shutdown(timeout: Duration = .seconds(5)) -> Bool {
        let ms = millis(timeout)
        Lifecycle.shared.unregister(self)
        ThreadBuffer.sendAll(handle)
        return delivered("shutdown") { try ffi.shutdown(timeoutMs: ms) }
    }

    public var isShutDown: Bool { ffi.isShutDown() }

    /// The tracer's counters, counting every span ended before the call on
    /// any thread. Waits only for other threads' in-progress span calls.
    public func stats() -> Stats {
        ThreadBuffer.sendAll(handle)
        return ffi.stats()
    }

    // MARK: live configuration

    /// The configuration in effect, as the core reports it (`service_name`,
    /// `exporters`, `sampling`, `redaction`, `batch`, `delivery`, ...), live
    /// changes included: a JSON object from `JSONSerialization`.
    public func config() -> [String: Any] { Self.config(ffi) }

    private static func config(_ ffi: AgtraceFFI.Tracer) -> [String: Any] {
        let json = ffi.configJson()
        return (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
    }

    /// `text` through the mask; nil, reported, when the mask threw.
    func masked(_ text: String, _ what: String) -> String? {
        guard let mask else { return text }
        do {
            return try mask(text)
        } catch {
            Misuse.report(self, Codes.MISUSE_MASK_FAILED, "the mask threw on \(what) (dropped): \(ErrorText.message(error))")
            return nil
        }
    }

    /// Changes redaction rules (keys of `config()["redaction"]`:
    /// `redact_messages`, `sensitive_keys`, `max_attribute_bytes`, ...); the
    /// others keep their value. All or nothing; a bad key or value throws
    /// ``AgtraceError/invalidConfig(_:)`` naming it.
    public func updateRedaction(_ changes: [String: AttributeValue]) throws {
        let json = try objectJSON(changes, "redaction changes")
        try cold { try ffi.updateRedaction(changesJson: json) }
    }

    /// Changes sampling (`rate`, `parent_based`, `rules`), as
    /// ``updateRedaction(_:)`` does redaction.
    public func updateSampling(_ changes: [String: AttributeValue]) throws {
        let json = try objectJSON(changes, "sampling changes")
        try cold { try ffi.updateSampling(changesJson: json) }
    }

    public func setSamplingRate(_ rate: Double) throws {
        try cold { try ffi.setSamplingRate(rate: rate) }
    }

    /// Adds tags to every span exported from now on.
    public func addTags(_ tags: String...) { ffi.addTags(tags: tags) }

    /// Sets `key` in the metadata of every span exported from now on.
    public func setGlobalMetadata(_ key: String, _ value: AttributeValue) throws {
        try value.validate("metadata \(Check.printable(key))")
        try cold { try ffi.setGlobalMetadata(key: key, valueJson: value.json) }
    }

    public func setLinksEnabled(_ on: Bool) { ffi.setLinksEnabled(on: on) }

    // MARK: helpers

    private func delivered(_ what: String, _ call: () throws -> Void) -> Bool {
        do {
            try cold(call)
            return true
        } catch {
            Log.warn("\(what): \(error)")
            return false
        }
    }

    private func millis(_ timeout: Duration) -> UInt32 {
        let (seconds, attoseconds) = timeout.components
        let ms = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return UInt32(min(max(ms.rounded(.up), 0), Double(UInt32.max)))
    }
}

private func objectJSON(_ members: [String: AttributeValue], _ what: String) throws -> String {
    var out = "{"
    for (i, key) in members.keys.sorted().enumerated() {
        try members[key]!.validate("\(what): \(key)")
        if i > 0 { out.append(",") }
        Json.quote(key, into: &out)
        out.append(":")
        members[key]!.appendJSON(to: &out)
    }
    return out + "}"
}

/// An `agtrace_str_t` over UTF-8 bytes that outlive the call.
private func str(_ bytes: UnsafeBufferPointer<UInt8>) -> agtrace_str_t {
    agtrace_str_t(ptr: UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self), len: bytes.count)
}

/// The text of an `agtrace_str_t` the library returned.
private func text(_ s: agtrace_str_t) -> String {
    guard let ptr = s.ptr, s.len > 0 else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: ptr, count: s.len), as: UTF8.self)
}

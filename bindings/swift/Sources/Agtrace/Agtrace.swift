import AgtraceFFIC

/// agtrace: tracing for AI agents and LLM applications, on one Rust core.
///
/// ```swift
/// try Agtrace.bootstrap(serviceName: "my-agent", exporters: ["console"])
/// withSpan("invoke_agent planner", kind: .agent, input: question) { _ in
///     withSpan("chat gpt-4o", kind: .llm) { llm in
///         llm.setLLM(provider: "openai", requestModel: "gpt-4o")
///         llm.setUsage(inputTokens: 120, outputTokens: 40)
///     }
/// }
/// ```
///
/// These functions act on the default tracer made by ``bootstrap(serviceName:exporters:settings:ignoreEnvironment:exitTimeout:mask:)``;
/// before it, spans record nothing and cost almost nothing. Explicit
/// ``Tracer``s work beside it. Only setup throws; no span call does (see
/// ``Span``). Thread-safe.
public enum Agtrace {
    /// Creates the default tracer and returns it (see ``Tracer/init(serviceName:exporters:settings:ignoreEnvironment:exitTimeout:mask:)``).
    /// With nothing set, it is configured from the environment (`OTEL_*`,
    /// `AGTRACE_*`, `AGTRACE_CONFIG`). Calling it again replaces the default
    /// tracer; the old one is shut down (flushing its spans, blocking up to
    /// its `exitTimeout`).
    @discardableResult
    public static func bootstrap(
        serviceName: String? = nil,
        exporters: [String]? = nil,
        settings: [String: SettingValue] = [:],
        ignoreEnvironment: Bool = false,
        exitTimeout: Duration = .seconds(5),
        mask: Tracer.Mask? = nil
    ) throws -> Tracer {
        let new = try Tracer(
            serviceName: serviceName, exporters: exporters, settings: settings,
            ignoreEnvironment: ignoreEnvironment, exitTimeout: exitTimeout, mask: mask
        )
        if let old = Lifecycle.shared.install(new) { old.shutdown(timeout: old.exitTimeout) }
        return new
    }

    /// The default tracer, or nil before ``bootstrap(serviceName:exporters:settings:ignoreEnvironment:exitTimeout:mask:)``.
    public static var tracer: Tracer? { Lifecycle.shared.current }

    /// True when bootstrapped and the default tracer is not shut down.
    public static var isActive: Bool { tracer.map { !$0.isShutDown } ?? false }

    /// The current span of this task (or thread), or nil.
    public static var currentSpan: Span? { Span.current }

    /// Starts a span of the default tracer without making it current; see
    /// ``Tracer/startSpan(_:kind:attributes:input:links:parent:)``.
    public static func startSpan(
        _ name: String,
        kind: SpanKind = .plain,
        attributes: KeyValuePairs<String, AttributeValue> = [:],
        input: Any? = nil,
        links: [SpanLink] = [],
        parent: SpanParent? = Current.parent
    ) -> Span {
        Spans.start(tracer, name, kind, attributes, input, links, parent)
    }

    /// `startSpan` with attributes in a dictionary.
    @_disfavoredOverload
    public static func startSpan(
        _ name: String,
        kind: SpanKind = .plain,
        attributes: [String: AttributeValue],
        input: Any? = nil,
        links: [SpanLink] = [],
        parent: SpanParent? = Current.parent
    ) -> Span {
        Spans.start(tracer, name, kind, attributes, input, links, parent)
    }

    /// Propagation headers for the current span (or `parent`); empty before bootstrap.
    public static func inject(parent: SpanParent? = Current.parent) -> [String: String] {
        tracer?.inject(parent: parent) ?? [:]
    }

    /// The remote parent in `headers`, or nil (also before bootstrap); see ``Tracer/extract(_:)``.
    public static func extract(_ headers: [String: String]) -> SpanContext? {
        tracer?.extract(headers)
    }

    /// Flushes the default tracer; see ``Tracer/flush(timeout:)``. True before bootstrap.
    @discardableResult
    public static func flush(timeout: Duration = .seconds(5)) -> Bool {
        tracer?.flush(timeout: timeout) ?? true
    }

    /// Shuts the default tracer down; see ``Tracer/shutdown(timeout:)``. True before bootstrap.
    @discardableResult
    public static func shutdown(timeout: Duration = .seconds(5)) -> Bool {
        tracer?.shutdown(timeout: timeout) ?? true
    }

    /// The default tracer's counters; throws before bootstrap.
    public static func stats() throws -> Stats {
        guard let tracer else {
            throw AgtraceError.invalidArgument("agtrace is not bootstrapped: call Agtrace.bootstrap() first")
        }
        return tracer.stats()
    }

    /// libagtrace's version, `MAJOR.MINOR.PATCH`.
    public static var version: String { String(cString: agtrace_version()) }
}

/// Runs `body` in a new span of the default tracer, current for the body;
/// `input` and the body's result are recorded as the span's input and
/// output, an error that escapes is recorded on the span and rethrown, and
/// the span ends on every path. See `Tracer.withSpan`.
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
    try Spans.run(Spans.start(Agtrace.tracer, name, kind, attributes, input, links, parent), captureOutput, body)
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
    try Spans.run(Spans.start(Agtrace.tracer, name, kind, attributes, input, links, parent), captureOutput, body)
}

/// `withSpan` for `async` code: the span is current in the body and in the
/// child tasks it creates (`async let`, task groups, `Task {}`).
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
    try await Spans.run(Spans.start(Agtrace.tracer, name, kind, attributes, input, links, parent), captureOutput, body)
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
    try await Spans.run(Spans.start(Agtrace.tracer, name, kind, attributes, input, links, parent), captureOutput, body)
}

/// Applies trace-level context (user, session, conversation, tags,
/// metadata, environment, release) to every trace whose spans start inside
/// `body`, on any tracer; a trace already running gets it from its next span
/// started here. Nested scopes inherit the outer scope's values unless they
/// set them; tags and metadata are merged. The scope is task-local, so child
/// tasks inherit it like the current span.
@discardableResult
public func withSession<T>(
    userId: String? = nil,
    sessionId: String? = nil,
    conversationId: String? = nil,
    tags: [String] = [],
    metadata: [String: AttributeValue] = [:],
    environment: String? = nil,
    release: String? = nil,
    _ body: () throws -> T
) rethrows -> T {
    let scope = Session(
        outer: Current.session, userId: userId, sessionId: sessionId, conversationId: conversationId,
        tags: tags, metadata: metadata, environment: environment, release: release
    )
    return try Current.$session.withValue(scope, operation: body)
}

/// `withSession` for `async` code.
@discardableResult
public func withSession<T>(
    userId: String? = nil,
    sessionId: String? = nil,
    conversationId: String? = nil,
    tags: [String] = [],
    metadata: [String: AttributeValue] = [:],
    environment: String? = nil,
    release: String? = nil,
    _ body: () async throws -> T
) async rethrows -> T {
    let scope = Session(
        outer: Current.session, userId: userId, sessionId: sessionId, conversationId: conversationId,
        tags: tags, metadata: metadata, environment: environment, release: release
    )
    return try await Current.$session.withValue(scope, operation: body)
}

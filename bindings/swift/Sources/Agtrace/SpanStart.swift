import AgtraceFFIC

/// Starting and running spans, shared by ``Tracer`` and the free functions
/// (whose default tracer may be absent).
enum Spans {
    /// Starts a span: one `agtrace_spans_apply` call carrying this thread's
    /// pending END records and the span's BEGIN (kind, parent, name,
    /// attributes, and the session's trace-level context when the parent
    /// started outside the session's scope). With no tracer, a span that
    /// records nothing; after shutdown, the core starts nothing and the
    /// span records nothing. Arguments are checked either way.
    @inline(__always)
    static func start<A: Sequence>(
        _ tracer: Tracer?,
        _ name: String,
        _ kind: SpanKind,
        _ attributes: A,
        _ parent: SpanParent?
    ) throws -> Span where A.Element == (key: String, value: AttributeValue) {
        try Check.name("span name", name)
        let session = Current.session
        guard let tracer else {
            try Check.attributes(attributes)
            return Span(session: session)
        }
        let ref: ParentRef
        let inherit: SpanContext?
        var newScope = session != nil
        if let span = parent as? Span {
            ref = span.asParent
            inherit = span.inherit
            newScope = newScope && span.session !== session
        } else if let context = parent as? SpanContext {
            ref = .context(context.wireHandle)
            inherit = context
        } else {
            ref = .root
            inherit = nil
        }
        let begun = try ThreadBuffer.withCurrent {
            try $0.begin(tracer, kind.rawValue, ref, name, attributes, newScope ? session : nil)
        }
        // The parent's context handle was named in the message: alive until it was applied.
        withExtendedLifetime(parent) {}
        return Span(tracer: tracer, begun: begun, session: session, inherit: inherit)
    }

    static func run<T>(_ span: Span, _ body: (Span) throws -> T) throws -> T {
        defer { span.end() }
        do {
            return try Current.$parent.withValue(span) { try body(span) }
        } catch {
            if !(error is CancellationError) { span.recordError(error) }
            throw error
        }
    }

    static func run<T>(_ span: Span, _ body: (Span) async throws -> T) async throws -> T {
        defer { span.end() }
        do {
            return try await Current.$parent.withValue(span) { try await body(span) }
        } catch {
            if !(error is CancellationError) { span.recordError(error) }
            throw error
        }
    }
}

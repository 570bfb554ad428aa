import AgtraceFFIC

/// Starting and running spans, shared by ``Tracer`` and the free functions
/// (whose default tracer may be absent).
enum Spans {
    /// Starts a span: one `agtrace_spans_apply` call carrying this thread's
    /// pending END records and the span's BEGIN (kind, parent, name,
    /// attributes, links, and the session's trace-level context when the
    /// parent started outside the session's scope), then records `input`
    /// when given. With no tracer, a span that records nothing (and checks
    /// nothing); after shutdown, the core starts nothing and the span
    /// records nothing. What cannot be recorded (a bad name or attribute) is
    /// reported as misuse after the start, and the span starts without it.
    @inline(__always)
    static func start<A: Sequence>(
        _ tracer: Tracer?,
        _ name: String,
        _ kind: SpanKind,
        _ attributes: A,
        _ input: Any?,
        _ links: [SpanLink],
        _ parent: SpanParent?
    ) -> Span where A.Element == (key: String, value: AttributeValue) {
        let session = Current.session
        guard let tracer else { return Span(kind: kind, session: session) }
        let (name, badName) = Check.spanName(name)
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
        var rejected: [Rejected] = []
        if let badName { rejected.append(badName) }
        let begun = ThreadBuffer.withCurrent {
            $0.begin(tracer, kind.rawValue, ref, name, attributes, links, newScope ? session : nil, &rejected)
        }
        // The parent's context handle was named in the message: alive until it was applied.
        withExtendedLifetime(parent) {}
        let span = Span(tracer: tracer, kind: kind, begun: begun, session: session, inherit: inherit)
        if !rejected.isEmpty { Misuse.report(tracer, rejected) }
        if let input { span.setInput(input) }
        return span
    }

    /// Runs `body` in `span`, current for the body; records its result as
    /// the span's output (unless `captureOutput` is false or the body
    /// returns `Void`), or an error it throws (then rethrown); ends the span
    /// on every path.
    static func run<T>(_ span: Span, _ captureOutput: Bool, _ body: (Span) throws -> T) rethrows -> T {
        defer { span.end() }
        do {
            let result = try Current.$parent.withValue(span) { try body(span) }
            if captureOutput && T.self != Void.self { span.setOutput(result) }
            return result
        } catch {
            if !(error is CancellationError) { span.recordError(error) }
            throw error
        }
    }

    static func run<T>(_ span: Span, _ captureOutput: Bool, _ body: (Span) async throws -> T) async rethrows -> T {
        defer { span.end() }
        do {
            let result = try await Current.$parent.withValue(span) { try await body(span) }
            if captureOutput && T.self != Void.self { span.setOutput(result) }
            return result
        } catch {
            if !(error is CancellationError) { span.recordError(error) }
            throw error
        }
    }
}

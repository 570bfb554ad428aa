/// A link from a span to another span, in this trace or another: the
/// previous turn of a conversation, the request that enqueued a job, the
/// inputs of a fan-in. Given at a start (`links: [SpanLink(previous)]`) or
/// added later (``Span/addLink(_:attributes:)``).
///
/// The target is a ``Span`` or a ``SpanContext`` (for example from
/// ``Agtrace/extract(_:)``); its ids and trace state are taken when the
/// link is made, so a link does not keep the target alive. A target with
/// no ids (a span that records nothing for want of a tracer, baggage
/// without a trace context) makes a link that records nothing.
/// `AGTRACE_LINKS=false` drops links in the core. Immutable; thread-safe.
public struct SpanLink: Sendable {
    let ids: SpanIds
    let traceState: String
    public let attributes: [String: AttributeValue]

    public init(_ target: SpanParent, attributes: [String: AttributeValue] = [:]) {
        switch target {
        case let span as Span:
            ids = span.ids
            traceState = span.inherit?.traceState ?? ""
        case let context as SpanContext:
            ids = context.ids
            traceState = context.traceState
        default:
            ids = SpanIds(trace: (0, 0), span: 0, flags: 0)
            traceState = ""
        }
        self.attributes = attributes
    }

    /// The LINK item, unless the target had no ids; returns the problems
    /// of attributes left out.
    func encode(into bytes: inout Bytes) -> [Rejected] {
        guard ids.isValid else { return [] }
        return bytes.link(ids, traceState: traceState, attributes: attributes)
    }
}

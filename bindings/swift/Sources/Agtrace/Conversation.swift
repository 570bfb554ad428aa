import Foundation

/// A conversation: turns (a user's message and the agent's answer to it),
/// each its own trace. A turn's spans carry the conversation's ``id`` as
/// `gen_ai.conversation.id` (a session scope around the turn, inside the
/// current one), and its root links to the previous turn's root (link
/// attribute `agtrace.link.type` = `previous_turn`), so a backend can walk
/// the conversation turn by turn:
///
/// ```swift
/// let chat = Agtrace.conversation()          // or conversation(id: threadId)
/// try chat.turn("invoke_agent planner", kind: .agent, input: question) { _ in try answer(question) }
/// try chat.turn("invoke_agent planner", kind: .agent, input: followUp) { _ in try answer(followUp) }
/// ```
///
/// The same helper as Kotlin's `Conversation.turn` and Python's. Made by
/// ``Agtrace/conversation(id:)`` (turns of the default tracer) or
/// ``Tracer/conversation(id:)``. Thread-safe; turns started at the same
/// time may link to the same earlier turn.
public final class Conversation: @unchecked Sendable, CustomStringConvertible {
    /// The conversation id every turn's spans carry.
    public let id: String
    /// Nil: the default tracer at each turn.
    private let tracer: Tracer?
    private let lock = NSLock()
    /// The link to the last turn's root (guarded by `lock`).
    private var previous: SpanLink?

    private static let previousTurn: [String: AttributeValue] = ["agtrace.link.type": "previous_turn"]

    init(id: String, tracer: Tracer?) {
        self.id = id
        self.tracer = tracer
    }

    /// Runs `body` as the conversation's next turn: a new trace whose root,
    /// current for the body, links to the previous turn's root. Otherwise as
    /// `withSpan` (input, output, errors).
    @discardableResult
    public func turn<T>(
        _ name: String,
        kind: SpanKind = .plain,
        attributes: KeyValuePairs<String, AttributeValue> = [:],
        input: Any? = nil,
        captureOutput: Bool = true,
        _ body: (Span) throws -> T
    ) rethrows -> T {
        try withSession(conversationId: id) {
            try Spans.run(begin(name, kind, attributes, input), captureOutput, body)
        }
    }

    /// `turn` for `async` code.
    @discardableResult
    public func turn<T>(
        _ name: String,
        kind: SpanKind = .plain,
        attributes: KeyValuePairs<String, AttributeValue> = [:],
        input: Any? = nil,
        captureOutput: Bool = true,
        _ body: (Span) async throws -> T
    ) async rethrows -> T {
        try await withSession(conversationId: id) {
            try await Spans.run(begin(name, kind, attributes, input), captureOutput, body)
        }
    }

    /// Starts a turn's root (inside its session scope) and makes it the one
    /// the next turn links to.
    private func begin(_ name: String, _ kind: SpanKind, _ attributes: KeyValuePairs<String, AttributeValue>, _ input: Any?) -> Span {
        lock.lock()
        let links = previous.map { [$0] } ?? []
        lock.unlock()
        let root = Spans.start(tracer ?? Agtrace.tracer, name, kind, attributes, input, links, nil)
        if root.isRecording {
            lock.lock()
            previous = SpanLink(root, attributes: Self.previousTurn)
            lock.unlock()
        }
        return root
    }

    public var description: String { "Conversation(\(id))" }
}

extension Agtrace {
    /// A conversation of the default tracer (whichever is the default at
    /// each turn), with `id` or a new random one.
    public static func conversation(id: String = UUID().uuidString.lowercased()) -> Conversation {
        Conversation(id: id, tracer: nil)
    }
}

extension Tracer {
    /// A conversation whose turns are traced by this tracer, with `id` or a
    /// new random one.
    public func conversation(id: String = UUID().uuidString.lowercased()) -> Conversation {
        Conversation(id: id, tracer: self)
    }
}

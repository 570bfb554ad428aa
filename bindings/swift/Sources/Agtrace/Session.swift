/// One session scope: trace-level context (user, session, conversation,
/// tags, metadata, environment, release) applied, in the core, to every span
/// of each trace started or continued inside the scope (see
/// `withSession`). Spans compare scopes by identity, so a span sends the
/// context (the packed record's `trace` op) only when its parent was started
/// outside the scope. Immutable; thread-safe.
final class Session: Sendable {
    let userId: String?
    let sessionId: String?
    let conversationId: String?
    let tags: [String]
    let metadata: [String: AttributeValue]
    let environment: String?
    let release: String?
    /// The `trace` op's argument (ffi/src/packed.rs), built once.
    let payload: String

    /// The scope inside `outer` with these values: unset values are
    /// inherited, tags are merged, metadata is merged with the new values
    /// winning.
    init(
        outer: Session?,
        userId: String?, sessionId: String?, conversationId: String?,
        tags: [String], metadata: [String: AttributeValue],
        environment: String?, release: String?
    ) {
        self.userId = userId ?? outer?.userId
        self.sessionId = sessionId ?? outer?.sessionId
        self.conversationId = conversationId ?? outer?.conversationId
        var merged = outer?.tags ?? []
        for tag in tags where !merged.contains(tag) { merged.append(tag) }
        self.tags = merged
        self.metadata = (outer?.metadata ?? [:]).merging(metadata) { _, new in new }
        self.environment = environment ?? outer?.environment
        self.release = release ?? outer?.release

        var meta: String?
        if !self.metadata.isEmpty {
            var out = "{"
            for (i, key) in self.metadata.keys.sorted().enumerated() {
                if i > 0 { out.append(",") }
                Json.quote(key, into: &out)
                out.append(":")
                self.metadata[key]!.appendJSON(to: &out)
            }
            meta = out + "}"
        }
        payload = Json.object([
            "user_id": self.userId.map(Json.quoted),
            "session_id": self.sessionId.map(Json.quoted),
            "conversation_id": self.conversationId.map(Json.quoted),
            "environment": self.environment.map(Json.quoted),
            "release": self.release.map(Json.quoted),
            "tags": self.tags.isEmpty ? nil : Json.array(self.tags),
            "metadata": meta,
        ])
    }
}

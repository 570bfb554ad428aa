/// One session scope: trace-level context (user, session, conversation,
/// tags, metadata, environment, release) applied, in the core, to every span
/// of each trace started or continued inside the scope (see
/// `withSession`). Spans compare scopes by identity, so a span sends the
/// context (a TRACE item in its BEGIN) only when its parent was started
/// outside the scope. Immutable; thread-safe.
final class Session: Sendable {
    let userId: String?
    let sessionId: String?
    let conversationId: String?
    let tags: [String]
    let metadata: [String: AttributeValue]
    let environment: String?
    let release: String?
    /// The TRACE item, encoded once.
    let traceItem: [UInt8]

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

        var metadataJSON = ""
        if !self.metadata.isEmpty {
            metadataJSON = "{"
            for (i, key) in self.metadata.keys.sorted().enumerated() {
                if i > 0 { metadataJSON.append(",") }
                Json.quote(key, into: &metadataJSON)
                metadataJSON.append(":")
                self.metadata[key]!.appendJSON(to: &metadataJSON)
            }
            metadataJSON.append("}")
        }
        var item = Bytes()
        item.trace(
            userId: self.userId ?? "", sessionId: self.sessionId ?? "", conversationId: self.conversationId ?? "",
            environment: self.environment ?? "", release: self.release ?? "", tags: self.tags, metadata: metadataJSON
        )
        traceItem = Array(item.bytes)
        item.release()
    }
}

package dev.agtrace

/**
 * One session scope: trace-level context (user, session, conversation,
 * tags, metadata, environment, release) applied, in the core, to every span
 * of each trace started or continued inside the scope (see
 * [Agtrace.session]). Spans compare scopes by identity, so a span sends the
 * context only when its parent was started outside the scope.
 */
public class Session internal constructor(
    internal val fields: Map<String, Any?>,
) {
    /** The span protocol's TRACE item carrying [fields], encoded once. */
    internal val trace: ByteArray =
        Encoder(256, direct = false).run {
            @Suppress("UNCHECKED_CAST")
            trace(
                userId = fields["user_id"] as String? ?: "",
                sessionId = fields["session_id"] as String? ?: "",
                conversationId = fields["conversation_id"] as String? ?: "",
                environment = fields["environment"] as String? ?: "",
                release = fields["release"] as String? ?: "",
                tags = fields["tags"] as List<String>? ?: emptyList(),
                metadata = (fields["metadata"] as Map<String, Any?>?)?.let { Values.json(Values.plain(it)) } ?: "",
            )
            buf.array().copyOf(pos)
        }

    override fun toString(): String = "Session(${Values.json(Values.plain(fields))})"

    @PublishedApi
    internal companion object {
        /**
         * The scope inside [outer] with these values: unset values are
         * inherited, tags are merged, metadata is merged with the new values
         * winning.
         */
        fun nested(
            outer: Session?,
            userId: String?,
            sessionId: String?,
            conversationId: String?,
            tags: Collection<String>,
            metadata: Map<String, Any?>,
            environment: String?,
            release: String?,
        ): Session {
            val fields = LinkedHashMap<String, Any?>(outer?.fields ?: emptyMap())
            for ((name, value) in listOf(
                "user_id" to userId,
                "session_id" to sessionId,
                "conversation_id" to conversationId,
                "environment" to environment,
                "release" to release,
            )) {
                if (value != null) fields[name] = value
            }
            if (tags.isNotEmpty()) {
                @Suppress("UNCHECKED_CAST")
                val before = fields["tags"] as? List<String> ?: emptyList()
                fields["tags"] = LinkedHashSet(before + tags).toList()
            }
            if (metadata.isNotEmpty()) {
                @Suppress("UNCHECKED_CAST")
                val before = fields["metadata"] as? Map<String, Any?> ?: emptyMap()
                fields["metadata"] = LinkedHashMap(before).apply { putAll(metadata) }
            }
            return Session(fields)
        }
    }
}

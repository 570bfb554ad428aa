package dev.agtrace

import kotlinx.coroutines.CoroutineScope
import java.util.UUID
import java.util.concurrent.atomic.AtomicReference

/**
 * A conversation: turns (a user's message and the agent's answer to it),
 * each its own trace. A turn's spans carry the conversation's [id] as
 * `gen_ai.conversation.id` (a session scope around the turn, nested in the
 * current one), and its root links to the previous turn's root, so a
 * backend can walk the conversation turn by turn:
 *
 * ```
 * val chat = Agtrace.conversation()           // or conversation(id = threadId)
 * chat.turn("invoke_agent planner", kind = SpanKind.AGENT, input = question) { answer(question) }
 * chat.turn("invoke_agent planner", kind = SpanKind.AGENT, input = followUp) { answer(followUp) }
 * ```
 *
 * Thread-safe; turns started at the same time may link to the same earlier
 * turn. Made by [Agtrace.conversation] (turns of the default tracer) or
 * [Tracer.conversation].
 */
public class Conversation internal constructor(
    /** The conversation id every turn's spans carry. */
    public val id: String,
    private val tracer: Tracer?,
) {
    /** The last turn's root. */
    private val previous = AtomicReference<Span?>()

    /**
     * Runs [block] as the conversation's next turn: a new trace whose root,
     * current for the block, links to the previous turn's root. Otherwise
     * as [Tracer.span] (inputs, outputs, exceptions).
     */
    public inline fun <T> turn(
        name: String,
        kind: SpanKind = SpanKind.PLAIN,
        attributes: Map<String, Any?> = emptyMap(),
        input: Any? = null,
        captureOutput: Boolean = true,
        crossinline block: (Span) -> T,
    ): T = Agtrace.session(conversationId = id) { Spans.run(begin(name, kind, attributes), kind, input, captureOutput, block) }

    /** [turn] for suspending code, as [Tracer.withSpan]. */
    public suspend fun <T> withTurn(
        name: String,
        kind: SpanKind = SpanKind.PLAIN,
        attributes: Map<String, Any?> = emptyMap(),
        input: Any? = null,
        captureOutput: Boolean = true,
        block: suspend CoroutineScope.(Span) -> T,
    ): T = Agtrace.withSession(conversationId = id) { Spans.within(begin(name, kind, attributes), kind, input, captureOutput, block) }

    /** Starts a turn's root (inside its session scope) and makes it the one the next turn links to. */
    @PublishedApi
    internal fun begin(name: String, kind: SpanKind, attributes: Map<String, Any?>): Span {
        val links = previous.get()?.let { listOf(Link(it, PREVIOUS_TURN)) } ?: emptyList()
        val t = tracer ?: Lifecycle.default
        val root = t?.begin(name, kind, attributes, null, links) ?: Spans.start(null, name, kind, attributes, null)
        if (root.isRecording) previous.set(root)
        return root
    }

    override fun toString(): String = "Conversation($id)"

    public companion object {
        /** What a turn's link to the previous turn says it is (`agtrace.link.type`). */
        private val PREVIOUS_TURN = mapOf("agtrace.link.type" to "previous_turn")

        /** A new conversation id: a random UUID. */
        public fun newId(): String = UUID.randomUUID().toString()
    }
}

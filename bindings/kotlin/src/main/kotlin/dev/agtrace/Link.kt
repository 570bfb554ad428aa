package dev.agtrace

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * A link from a span to [target], another span or a [SpanContext], with
 * [attributes] (any values, converted as [Span.setAttribute] does): a
 * relation that is not parenthood, such as a batch and its inputs, a retry
 * and its first try, or a conversation's consecutive turns. Pass links at a
 * span's start (`links = listOf(Link(previous))`) or add them later with
 * [Span.addLink]. Immutable.
 */
public class Link(public val target: SpanParent, public val attributes: Map<String, Any?> = emptyMap()) {
    /**
     * This link ready to encode (attributes converted, bad keys dropped and
     * reported to [tracer]), or null when the target has no ids: a span
     * that records nothing links to nothing. May run the attribute values'
     * own code: call it before taking a lock.
     */
    internal fun ready(tracer: Tracer?): Ready? {
        val traceA: Long
        val traceB: Long
        val spanId: Long
        val flags: Int
        when (val t = target) {
            is Span -> {
                traceA = t.traceA
                traceB = t.traceB
                spanId = t.spanId
                flags = t.flags
            }
            is SpanContext -> {
                val ids = t.ids
                val trace = ByteBuffer.wrap(ids.trace).order(ByteOrder.LITTLE_ENDIAN)
                traceA = trace.getLong(0)
                traceB = trace.getLong(8)
                spanId = ByteBuffer.wrap(ids.span).order(ByteOrder.LITTLE_ENDIAN).getLong(0)
                flags = if (ids.sampled) 1 else 0
            }
        }
        if (traceA == 0L && traceB == 0L) return null
        return Ready(traceA, traceB, spanId, flags, if (attributes.isEmpty()) attributes else Attributes.prepare(tracer, attributes))
    }

    /**
     * A link as the span protocol's LINK item: the target's ids as in
     * [Encoder.ids], and prepared attributes. The trace state is not sent:
     * a [SpanContext] does not expose it, and a local span's is its trace's.
     */
    internal class Ready(val traceA: Long, val traceB: Long, val spanId: Long, val flags: Int, val attributes: Map<String, Any?>) {
        fun write(enc: Encoder) {
            val at = enc.link(traceA, traceB, spanId, flags, "")
            enc.count(at, Attributes.putAll(enc, attributes))
        }
    }

    override fun toString(): String = "Link($target, $attributes)"
}

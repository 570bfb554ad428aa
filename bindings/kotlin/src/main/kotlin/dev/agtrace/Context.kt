package dev.agtrace

import kotlinx.coroutines.ThreadContextElement
import kotlin.coroutines.AbstractCoroutineContextElement
import kotlin.coroutines.CoroutineContext

/**
 * The current span and session: thread locals, carried into coroutines by
 * context elements.
 *
 * Blocking code sees the thread's current span ([Agtrace.span] sets it for
 * its block). A coroutine carries it as a [ThreadContextElement]
 * ([Agtrace.withSpan] adds one), which sets the thread local whenever the
 * coroutine runs on a thread and restores it when it suspends, so the span
 * survives `withContext(Dispatchers.IO)`, and `launch`/`async` children
 * inherit it with the rest of the context.
 *
 * The blocks of [Agtrace.span] and [Agtrace.session] are `crossinline`:
 * they cannot suspend, so a thread local they set can never leak to another
 * coroutine run on the same thread.
 */
@PublishedApi
internal object Current {
    private val parent = ThreadLocal<SpanParent?>()
    private val session = ThreadLocal<Session?>()

    /** The default parent of a span: the innermost of agtrace's current span and OpenTelemetry's (see [OtelBridge]). */
    fun parent(): SpanParent? = if (OtelBridge.available) OtelBridge.innermost(parent.get()) else parent.get()

    /** agtrace's current span or context alone. */
    fun local(): SpanParent? = parent.get()

    fun session(): Session? = session.get()

    /** Makes [value] current; returns the previous value for [exit]. */
    fun enter(value: SpanParent?): SpanParent? {
        val previous = parent.get()
        parent.set(value)
        if (OtelBridge.available) OtelBridge.enter(value)
        return previous
    }

    fun exit(previous: SpanParent?) {
        if (OtelBridge.available) OtelBridge.exit()
        parent.set(previous)
    }

    fun enterSession(value: Session?): Session? {
        val previous = session.get()
        session.set(value)
        return previous
    }

    fun exitSession(previous: Session?) = session.set(previous)
}

/** The current span (or remote parent) of a coroutine. */
internal class SpanElement(private val parent: SpanParent?) :
    AbstractCoroutineContextElement(Key), ThreadContextElement<SpanParent?> {
    companion object Key : CoroutineContext.Key<SpanElement>

    override fun updateThreadContext(context: CoroutineContext): SpanParent? = Current.enter(parent)

    override fun restoreThreadContext(context: CoroutineContext, oldState: SpanParent?) = Current.exit(oldState)

    override fun toString(): String = "agtrace.SpanElement($parent)"
}

/** The session scope of a coroutine. */
internal class SessionElement(private val session: Session?) :
    AbstractCoroutineContextElement(Key), ThreadContextElement<Session?> {
    companion object Key : CoroutineContext.Key<SessionElement>

    override fun updateThreadContext(context: CoroutineContext): Session? = Current.enterSession(session)

    override fun restoreThreadContext(context: CoroutineContext, oldState: Session?) = Current.exitSession(oldState)
}

/**
 * A span made current by [Span.makeCurrent] or [SpanContext.makeCurrent];
 * [close] restores the previous one. Close it on the thread that made it,
 * innermost first (`use {}` does).
 */
public class Scope internal constructor(private val previous: SpanParent?) : AutoCloseable {
    private var closed = false

    override fun close() {
        if (closed) return
        closed = true
        Current.exit(previous)
    }
}

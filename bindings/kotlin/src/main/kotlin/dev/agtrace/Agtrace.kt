package dev.agtrace

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.withContext
import kotlin.coroutines.CoroutineContext
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * agtrace: tracing for AI agents and LLM applications, on one Rust core.
 *
 * ```
 * Agtrace.init { serviceName = "my-agent"; exporters = listOf("console") }
 *
 * Agtrace.span("invoke_agent planner", kind = SpanKind.AGENT) { agent ->
 *     Agtrace.span("chat gpt-4o", kind = SpanKind.LLM) { llm ->
 *         llm.setLlm(provider = "openai", requestModel = "gpt-4o")
 *         llm.setUsage(inputTokens = 120, outputTokens = 40)
 *     }
 * }
 * ```
 *
 * These functions act on the default tracer made by [init]; before `init`,
 * spans record nothing and cost almost nothing (their arguments are still
 * checked). Explicit [Tracer]s work beside it.
 */
public object Agtrace {
    /**
     * Creates the default tracer and returns it; see [AgtraceConfig]. With
     * nothing set, it is configured from the environment (`OTEL_*`,
     * `AGTRACE_*`, `AGTRACE_CONFIG`). Calling `init` again replaces the
     * default tracer; the old one is shut down (flushing its spans).
     */
    public fun init(configure: AgtraceConfig.() -> Unit = {}): Tracer {
        val new = Tracer(configure)
        Lifecycle.install(new)?.let { it.shutdown(it.exitTimeout) }
        return new
    }

    /** The default tracer, or null before [init]. */
    public val tracer: Tracer?
        get() = Lifecycle.default

    /** True when [init] was called and the default tracer is not shut down. */
    public val isActive: Boolean
        get() = Lifecycle.default?.isShutDown == false

    // -- spans -------------------------------------------------------------------

    /**
     * Runs [block] in a new span of the default tracer, recording [input]
     * and the block's result; see [Tracer.span].
     */
    public inline fun <T> span(
        name: String,
        kind: SpanKind = SpanKind.PLAIN,
        attributes: Map<String, Any?> = emptyMap(),
        parent: SpanParent? = Current.parent(),
        links: List<Link> = emptyList(),
        input: Any? = null,
        captureOutput: Boolean = true,
        crossinline block: (Span) -> T,
    ): T = Spans.run(begin(name, kind, attributes, parent, links), kind, input, captureOutput, block)

    /** Runs the suspending [block] in a new span of the default tracer; see [Tracer.withSpan]. */
    public suspend fun <T> withSpan(
        name: String,
        kind: SpanKind = SpanKind.PLAIN,
        attributes: Map<String, Any?> = emptyMap(),
        parent: SpanParent? = Current.parent(),
        links: List<Link> = emptyList(),
        input: Any? = null,
        captureOutput: Boolean = true,
        block: suspend CoroutineScope.(Span) -> T,
    ): T = Spans.within(begin(name, kind, attributes, parent, links), kind, input, captureOutput, block)

    /** Starts a span of the default tracer without making it current; see [Tracer.startSpan]. */
    public fun startSpan(
        name: String,
        kind: SpanKind = SpanKind.PLAIN,
        attributes: Map<String, Any?> = emptyMap(),
        parent: SpanParent? = Current.parent(),
        links: List<Link> = emptyList(),
    ): Span {
        val t = Lifecycle.default
        return if (t != null) t.startSpan(name, kind, attributes, parent, links) else Spans.start(null, name, kind, attributes, parent)
    }

    /** Starts a span of the default tracer whose end is certain ([span], [withSpan]). */
    @PublishedApi
    internal fun begin(name: String, kind: SpanKind, attributes: Map<String, Any?>, parent: SpanParent?, links: List<Link>): Span =
        Lifecycle.default?.begin(name, kind, attributes, parent, links) ?: Spans.start(null, name, kind, attributes, parent)

    /**
     * A conversation whose turns are traces of the default tracer (the one
     * current at each turn), linked each to the previous one and carrying
     * [id] as their conversation id; see [Conversation].
     */
    public fun conversation(id: String = Conversation.newId()): Conversation = Conversation(id, null)

    /** The current span of this thread or coroutine, or null. */
    public fun currentSpan(): Span? = Current.local() as? Span

    /**
     * The current span and session as a coroutine context, to carry them
     * into coroutines started from blocking code:
     * `runBlocking(Agtrace.currentContext()) { ... }`.
     */
    public fun currentContext(): CoroutineContext = SpanElement(Current.parent()) + SessionElement(Current.session())

    // -- sessions ----------------------------------------------------------------

    /**
     * Applies trace-level context (user, session, conversation, tags,
     * metadata, environment, release) to every trace whose spans start inside
     * the block; a trace already running gets it from its next span started
     * here. Nested scopes inherit the outer scope's values unless they set
     * them; tags and metadata are merged. The block cannot suspend: in
     * coroutines use [withSession].
     */
    public inline fun <T> session(
        userId: String? = null,
        sessionId: String? = null,
        conversationId: String? = null,
        tags: Collection<String> = emptyList(),
        metadata: Map<String, Any?> = emptyMap(),
        environment: String? = null,
        release: String? = null,
        crossinline block: () -> T,
    ): T {
        val scope = Session.nested(Current.session(), userId, sessionId, conversationId, tags, metadata, environment, release)
        val previous = Current.enterSession(scope)
        try {
            return block()
        } finally {
            Current.exitSession(previous)
        }
    }

    /** [session] for suspending code: the scope follows the block's coroutines. */
    public suspend fun <T> withSession(
        userId: String? = null,
        sessionId: String? = null,
        conversationId: String? = null,
        tags: Collection<String> = emptyList(),
        metadata: Map<String, Any?> = emptyMap(),
        environment: String? = null,
        release: String? = null,
        block: suspend CoroutineScope.() -> T,
    ): T {
        val scope = Session.nested(Current.session(), userId, sessionId, conversationId, tags, metadata, environment, release)
        return withContext(SessionElement(scope), block)
    }

    // -- propagation and delivery ------------------------------------------------

    /** Propagation headers for the current span (or [parent]); empty before [init]. */
    public fun inject(parent: SpanParent? = Current.parent()): Map<String, String> =
        Lifecycle.default?.inject(parent) ?: emptyMap()

    /** The remote parent in [headers], or null (also before [init]); see [Tracer.extract]. */
    public fun extract(headers: Map<String, String>): SpanContext? = Lifecycle.default?.extract(headers)

    /** Flushes the default tracer; see [Tracer.flush]. True before [init]. */
    public fun flush(timeout: Duration = 5.seconds): Boolean = Lifecycle.default?.flush(timeout) ?: true

    /** Shuts the default tracer down; see [Tracer.shutdown]. True before [init]. */
    public fun shutdown(timeout: Duration = 5.seconds): Boolean = Lifecycle.default?.shutdown(timeout) ?: true

    /** The default tracer's counters; throws [AgtraceException.InvalidArgument] before [init]. */
    public fun stats(): Stats = required().stats()

    /** The default tracer's configuration; see [Tracer.config]. */
    public fun config(): Map<String, Any?> = required().config()

    /** libagtrace's version, `MAJOR.MINOR.PATCH`. */
    public val version: String
        get() = Abi.version()

    private fun required(): Tracer =
        Lifecycle.default ?: invalid("agtrace is not initialized: call Agtrace.init() first")
}

package dev.agtrace

import java.lang.invoke.MethodHandles
import java.lang.invoke.VarHandle
import java.lang.ref.Cleaner
import java.lang.ref.Reference

/** What a span is in an agent's run; [code] is its `AGTRACE_KIND_*` value. */
public enum class SpanKind(internal val code: Int) {
    PLAIN(Codes.KIND_PLAIN),
    AGENT(Codes.KIND_AGENT),
    WORKFLOW(Codes.KIND_WORKFLOW),
    TASK(Codes.KIND_TASK),
    LLM(Codes.KIND_LLM),
    EMBEDDING(Codes.KIND_EMBEDDING),
    RETRIEVER(Codes.KIND_RETRIEVER),
    RERANKER(Codes.KIND_RERANKER),
    TOOL(Codes.KIND_TOOL),
    GUARDRAIL(Codes.KIND_GUARDRAIL),
    EVALUATOR(Codes.KIND_EVALUATOR),
}

/** What a span can be started under: a [Span], or a [SpanContext] (e.g. extracted from headers). */
public sealed interface SpanParent

/** A span's status. `OK` is final; `ERROR` takes a description. */
public enum class StatusCode(internal val code: Int) {
    UNSET(Codes.STATUS_UNSET),
    OK(Codes.STATUS_OK),
    ERROR(Codes.STATUS_ERROR),
}

/**
 * A span. Run code in one with [Agtrace.span] (blocking) or
 * [Agtrace.withSpan] (suspending), which make it current, record an
 * exception that escapes and end it; or start one with [Agtrace.startSpan]
 * and end it with [end] (or `use {}`, as it is [AutoCloseable]).
 *
 * Starting a span is one call into libagtrace; what is recorded on it
 * (attributes, status, usage, model, messages, errors, events) is encoded
 * in the span and handed over with its end, which makes no call: the ended
 * span waits in its thread's buffer (see [ThreadBuffers]).
 *
 * No call throws into the application: what cannot be recorded (a bad
 * name or key, a value that cannot be recorded, a mask that threw) is
 * dropped, and it, ending twice or recording on an ended span, is counted
 * and logged as misuse ([Misuse]; thrown in strict mode, `AGTRACE_STRICT`).
 * Attribute values of any type are converted (see [setAttribute]). A span from [Tracer.startSpan] that
 * becomes unreachable without being ended is ended then, with everything
 * recorded on it, marked `agtrace.abandoned`. Thread-safe: calls on one
 * span are serialized (a compare-and-set, no lock), and a span may end on
 * another thread than it started on.
 */
public class Span internal constructor(
    @JvmField internal val tracer: Tracer?,
    /** The core's handle, for the END record; 0 for a span that records nothing. */
    @JvmField internal val handle: Long,
    // The span's ids as the protocol's bytes read as little-endian longs
    // (zero for a span of no tracer), and its W3C flags.
    @JvmField internal val traceA: Long,
    @JvmField internal val traceB: Long,
    @JvmField internal val spanId: Long,
    @JvmField internal val flags: Int,
    /** The context whose trace state and baggage this span's descendants inherit (INHERIT), or null. */
    @JvmField internal val inherit: SpanContext?,
    internal val session: Session?,
    /** [System.nanoTime] at the start, the origin of the END's duration and of event offsets. */
    private val start: Long,
) : SpanParent, AutoCloseable {
    /**
     * [OPEN], [BUSY] (a call is recording) or [ENDED]; see [lock]. Accessed
     * through [STATE] only (a volatile field would cost a fence in every
     * span's constructor).
     */
    @JvmField
    internal var state: Int = OPEN

    /** Items recorded since the start, for the END record; made on first use (at once for a watched span). */
    private var items: Encoder? = null

    /** For spans watched for abandonment ([watch]): what the cleaner sends, and its registration. */
    private var abandon: Abandon? = null
    private var cleanable: Cleaner.Cleanable? = null

    /** A span's items and what its ABANDON needs, apart from the span so that the cleaner can reach them. */
    private class Abandon(val tracer: Tracer, val handle: Long, val items: Encoder) : Runnable {
        @Volatile var ended = false

        override fun run() {
            if (!ended) ThreadBuffers.end(Codes.RECORD_ABANDON, tracer, handle, Encoder.NOW, items)
        }
    }

    /** Sends an ABANDON with everything recorded if this span becomes unreachable without [end]. */
    internal fun watch() {
        val a = Abandon(tracer!!, handle, Encoder(ITEMS, direct = false))
        items = a.items
        abandon = a
        cleanable = Abi.cleaner.register(this, a)
    }

    // -- lifecycle -------------------------------------------------------------

    /**
     * Ends the span: appends its END record, with what was recorded, to this
     * thread's buffer. Makes no call into the library and never blocks. A
     * second call is misuse, ignored.
     */
    public fun end() {
        if (!lock(ENDED)) {
            Misuse.report(tracer, Codes.MISUSE_ENDED_TWICE, "span ended twice; the second end is ignored")
            return
        }
        if (handle == 0L) return
        val duration = System.nanoTime() - start
        abandon?.let {
            it.ended = true
            cleanable!!.clean()
        }
        ThreadBuffers.end(Codes.RECORD_END, tracer!!, handle, duration, items)
    }

    /**
     * Ends the span unless it already ended, so that `use {}` does. An
     * exception escaping `use` is not recorded: [Agtrace.span] does that.
     */
    override fun close() {
        if (!isEnded) end()
    }

    public val isEnded: Boolean
        get() = STATE.getAcquire(this) as Int == ENDED

    /** False once ended, for spans not sampled, and for spans of an uninitialized or shut-down tracer. */
    public val isRecording: Boolean
        get() = handle != 0L && !isEnded

    /** The span's ids, for propagation, as a parent or a link; null for a span of no tracer. */
    public val context: SpanContext?
        get() {
            if (traceA == 0L && traceB == 0L) return null
            contextCache?.let { return it }
            val trace = ByteArray(16)
            val span = ByteArray(8)
            littleEndian(traceA, trace, 0)
            littleEndian(traceB, trace, 8)
            littleEndian(spanId, span, 0)
            val out = LongArray(1)
            val err = LongArray(1)
            val status = Abi.agtrace_context_new(trace, span, flags.toByte(), inherit?.handle ?: 0L, out, err)
            Reference.reachabilityFence(inherit)
            if (status != Codes.ERROR_OK) {
                // Valid ids and a live context cannot fail: counted, not thrown.
                Misuse.report(tracer, Codes.MISUSE_BAD_CALL, "span context: ${Abi.takeError(err).message}")
                return null
            }
            return SpanContext(out[0], inherits = inherit != null).also { contextCache = it }
        }

    // Not a `lazy`: that would cost an allocation on every span. Racing
    // threads may each make one (each freed when unreachable).
    private var contextCache: SpanContext? = null

    /**
     * Makes this span current on this thread until the returned scope is
     * closed: `span.makeCurrent().use { ... }`. In coroutines, use
     * [asContextElement] instead.
     */
    public fun makeCurrent(): Scope = Scope(Current.enter(this))

    /** A coroutine context element making this span current: `launch(span.asContextElement()) { ... }`. */
    public fun asContextElement(): kotlin.coroutines.CoroutineContext.Element = SpanElement(this)

    // -- attributes -------------------------------------------------------------

    public fun setAttribute(key: String, value: String): Unit = attribute(key, value)

    public fun setAttribute(key: String, value: Long): Unit = attribute(key, value)

    public fun setAttribute(key: String, value: Int): Unit = attribute(key, value)

    public fun setAttribute(key: String, value: Double): Unit = attribute(key, value)

    public fun setAttribute(key: String, value: Boolean): Unit = attribute(key, value)

    @JvmName("setStringListAttribute")
    public fun setAttribute(key: String, value: List<String>): Unit = attribute(key, value)

    @JvmName("setLongListAttribute")
    public fun setAttribute(key: String, value: List<Long>): Unit = attribute(key, value)

    @JvmName("setDoubleListAttribute")
    public fun setAttribute(key: String, value: List<Double>): Unit = attribute(key, value)

    @JvmName("setBooleanListAttribute")
    public fun setAttribute(key: String, value: List<Boolean>): Unit = attribute(key, value)

    /**
     * A value of any type, converted: maps, iterables, arrays, records,
     * `Pair`/`Triple` become JSON text; enums their name; `java.time`
     * values ISO 8601 text; `BigDecimal`, `UUID` their exact text;
     * `ByteArray` a placeholder with its length and digest (never its
     * bytes); cycles are marked; anything else (data classes too) its
     * `toString()`, at most 1024 characters. Null leaves the attribute as it
     * was. Never throws.
     */
    public fun setAttribute(key: String, value: Any?) {
        if (!Attributes.checkKey(tracer, key) || handle == 0L) return
        val v = Values.prepare(value)
        record { Attributes.put(it, key, v) }
    }

    private fun attribute(key: String, value: Any) {
        if (Attributes.checkKey(tracer, key)) record { Attributes.put(it, key, value) }
    }

    /** A structured value given as JSON text (an object or array), stored as that text; text that is not JSON is dropped (misuse). */
    public fun setJsonAttribute(key: String, json: String) {
        if (!Attributes.checkKey(tracer, key)) return
        val problem =
            try {
                Json.parse(json)
                null
            } catch (e: Exception) {
                e.message
            } catch (e: StackOverflowError) {
                "nested too deep"
            }
        if (problem != null) {
            Misuse.report(tracer, Codes.MISUSE_BAD_VALUE, "attribute ${Attributes.quote(key)} dropped: not JSON ($problem)")
            return
        }
        record { it.json(key, json) }
    }

    /**
     * Sets several attributes, values of any type converted as by
     * [setAttribute]. Null values are skipped; an entry with a bad key is
     * dropped (misuse), the others are set.
     */
    public fun setAttributes(attributes: Map<String, Any?>) {
        val ready = Attributes.prepare(tracer, attributes)
        record { Attributes.putAll(it, ready) }
    }

    // -- status, errors, names --------------------------------------------------

    public fun setStatus(code: StatusCode, description: String? = null) {
        record { it.status(code.code, if (code == StatusCode.ERROR) description ?: "" else "") }
    }

    /**
     * Records [error] as an OpenTelemetry `exception` event and sets the
     * status to error: `exception.type` is the class's canonical name
     * (`java.lang.IllegalStateException`, `com.example.Outer.Failure`; its
     * binary name for local and anonymous classes), `exception.message`
     * its `message` (empty when null), as the status description too, and
     * `exception.stacktrace` its stack trace.
     */
    public fun recordException(error: Throwable) {
        val type = error.javaClass.let { it.canonicalName ?: it.name }
        // The throwable's own code: one that throws records what it can.
        val message =
            try {
                error.message ?: ""
            } catch (e: Exception) {
                ""
            }
        val stack =
            try {
                error.stackTraceToString()
            } catch (e: Exception) {
                ""
            }
        record { it.error(type, message, stack) }
    }

    /** Renames the span; a bad name (empty, or with a NUL character) is dropped (misuse). */
    public fun updateName(name: String) {
        if (named("name", name)) record { it.name(name) }
    }

    // -- GenAI ------------------------------------------------------------------

    /**
     * A model call's identity (`gen_ai.provider.name`,
     * `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.response.id`,
     * `gen_ai.response.finish_reasons`). Null values are left as they are.
     */
    public fun setLlm(
        provider: String? = null,
        requestModel: String? = null,
        responseModel: String? = null,
        responseId: String? = null,
        finishReasons: List<String>? = null,
    ): Unit = record { it.llm(provider ?: "", requestModel ?: "", responseModel ?: "", responseId ?: "", finishReasons ?: emptyList()) }

    /**
     * Token usage of a model call, rolled up onto every ancestor (with its
     * cost, when the model is in the price table). A negative count drops
     * the call's usage (misuse).
     */
    public fun setUsage(
        inputTokens: Long = 0,
        outputTokens: Long = 0,
        cacheReadInputTokens: Long = 0,
        cacheCreationInputTokens: Long = 0,
        reasoningOutputTokens: Long = 0,
    ) {
        for (n in longArrayOf(inputTokens, outputTokens, cacheReadInputTokens, cacheCreationInputTokens, reasoningOutputTokens)) {
            if (n < 0) {
                Misuse.report(tracer, Codes.MISUSE_BAD_VALUE, "usage dropped: token counts must be non-negative, got $n")
                return
            }
        }
        record { it.usage(inputTokens, outputTokens, cacheReadInputTokens, cacheCreationInputTokens, reasoningOutputTokens) }
    }

    /**
     * Input and output messages (usually lists of `mapOf("role" to ...,
     * "content" to ...)`; any value, converted as by [setAttribute]), put
     * through the tracer's mask. Recorded only when content capture is on
     * (`AGTRACE_CAPTURE_CONTENT`), then redacted by the tracer's rules.
     */
    public fun setMessages(input: Any? = null, output: Any? = null) {
        if (handle == 0L) return
        val inputJson = if (input == null) "" else messages(input)
        val outputJson = if (output == null) "" else messages(output)
        record { it.messages(inputJson, outputJson) }
    }

    /** Messages as JSON text; empty when the mask dropped them. */
    private fun messages(value: Any): String {
        val masked = tracer!!.mask(Values.plain(value))
        return if (masked === Tracer.DROPPED) "" else Values.json(masked)
    }

    public fun setTool(name: String, callId: String? = null) {
        if (named("tool name", name)) record { it.tool(name, callId ?: "") }
    }

    public fun setAgent(name: String, id: String? = null) {
        if (named("agent name", name)) record { it.agent(name, id ?: "") }
    }

    // -- links --------------------------------------------------------------------

    /**
     * Links this span to [target] (another span, or a [SpanContext], e.g.
     * from [Agtrace.extract] or [Span.context]), with [attributes]: a
     * relation that is not parenthood (a batch and its inputs, a retry and
     * its first try, a conversation's turns). A target with no ids (a span
     * that records nothing) adds no link.
     */
    public fun addLink(target: SpanParent, attributes: Map<String, Any?> = emptyMap()) {
        if (handle == 0L) return
        val link = Link(target, attributes).ready(tracer) ?: return
        record { link.write(it) }
    }

    // -- timed ------------------------------------------------------------------

    /** Adds an event timed now; a bad name drops it (misuse). */
    public fun addEvent(name: String, attributes: Map<String, Any?> = emptyMap()) {
        val now = System.nanoTime()
        if (!named("event name", name)) return
        val ready = Attributes.prepare(tracer, attributes)
        record {
            val at = it.event(name, now - start)
            it.count(at, Attributes.putAll(it, ready))
        }
    }

    /** Records that the first chunk of a streamed response arrived now (`gen_ai.response.time_to_first_chunk`). */
    public fun markFirstChunk(): Unit = record { it.firstChunk(System.nanoTime() - start) }

    // -- inputs and outputs -----------------------------------------------------

    /**
     * Records [value] as the span's input or [output] (see [Tracer.span]):
     * `input.value`/`output.value` (text for a value that converts to a
     * string, else JSON) with its `*.mime_type`, and on a tool span
     * `gen_ai.tool.call.arguments`/`.result` (JSON), after the tracer's
     * mask. Nothing when the tracer's `capture_io` is off or the span
     * records nothing.
     */
    @PublishedApi
    internal fun capture(output: Boolean, value: Any?, kind: SpanKind) {
        val t = tracer ?: return
        if (handle == 0L || !t.captureIo) return
        val plain = t.mask(Values.plain(value))
        if (plain === Tracer.DROPPED) return
        val text = plain as? String
        val json = if (text == null || kind == SpanKind.TOOL) Values.json(plain) else null
        record {
            it.string(if (output) OUTPUT_VALUE else INPUT_VALUE, text ?: json!!)
            it.string(if (output) OUTPUT_MIME else INPUT_MIME, if (text != null) TEXT_PLAIN else APPLICATION_JSON)
            if (kind == SpanKind.TOOL) it.string(if (output) TOOL_RESULT else TOOL_ARGUMENTS, json!!)
        }
    }

    /** True when [name] is usable as [what]; else reports it (misuse). */
    private fun named(what: String, name: String): Boolean {
        val problem = Attributes.nameProblem(name) ?: return true
        Misuse.report(tracer, Codes.MISUSE_BAD_NAME, "$what ${Attributes.quote(name)} dropped: it $problem")
        return false
    }

    /**
     * Runs [write] on the span's items, all or nothing, unless the span
     * ended (misuse) or records nothing. What would take the items past
     * their size limit is dropped (misuse).
     */
    private inline fun record(write: (Encoder) -> Unit) {
        if (!lock(BUSY)) {
            Misuse.report(tracer, Codes.MISUSE_ENDED_TWICE, "recording on an ended span is ignored")
            return
        }
        if (handle == 0L) {
            STATE.setRelease(this, OPEN)
            return
        }
        val enc = items ?: Encoder(ITEMS, direct = false).also { items = it }
        val mark = enc.pos
        var oversize: String? = null
        try {
            write(enc)
        } catch (e: Encoder.Oversize) {
            enc.pos = mark
            oversize = e.message
        } catch (e: Throwable) {
            enc.pos = mark
            throw e
        } finally {
            STATE.setRelease(this, OPEN)
        }
        if (oversize != null) Misuse.report(tracer, Codes.MISUSE_BAD_VALUE, oversize)
    }

    /**
     * Moves the span from [OPEN] to [to] ([BUSY] for a call that records,
     * [ENDED] for [end]), waiting while another thread records; false once
     * it ended.
     */
    private fun lock(to: Int): Boolean {
        while (true) {
            when (STATE.getAcquire(this) as Int) {
                ENDED -> return false
                OPEN -> if (STATE.compareAndSet(this, OPEN, to)) return true
                else -> Thread.onSpinWait()
            }
        }
    }

    override fun toString(): String {
        val state = if (handle == 0L) "non-recording" else if (isEnded) "ended" else "live"
        return "Span($state)"
    }

    internal companion object {
        const val OPEN = 0
        const val BUSY = 1
        const val ENDED = 2

        /** Initial size of a span's item buffer. */
        private const val ITEMS = 128

        // OpenInference's input and output attributes, and GenAI's tool call ones.
        private const val INPUT_VALUE = "input.value"
        private const val INPUT_MIME = "input.mime_type"
        private const val OUTPUT_VALUE = "output.value"
        private const val OUTPUT_MIME = "output.mime_type"
        private const val TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
        private const val TOOL_RESULT = "gen_ai.tool.call.result"
        private const val TEXT_PLAIN = "text/plain"
        private const val APPLICATION_JSON = "application/json"

        private val STATE: VarHandle =
            MethodHandles.lookup().findVarHandle(Span::class.java, "state", Int::class.javaPrimitiveType)

        /** A span that records nothing (no tracer, or after shutdown). */
        fun nonRecording(session: Session?): Span = Span(null, 0L, 0L, 0L, 0L, 0, null, session, 0L)

        fun littleEndian(v: Long, out: ByteArray, at: Int) {
            for (i in 0 until 8) out[at + i] = (v ushr (8 * i)).toByte()
        }
    }
}

/**
 * A span's identity: a remote parent from [Agtrace.extract], or a local
 * span's [Span.context]. Usable as a parent. Immutable; thread-safe.
 */
public class SpanContext internal constructor(
    /** The C ABI's `agtrace_context_t *`, freed when this object is unreachable. */
    @PublishedApi internal val handle: Long,
    /** Whether it carries trace state or baggage that spans started under it pass on to their descendants. */
    internal val inherits: Boolean,
) : SpanParent {
    init {
        Abi.cleaner.register(this, Abi.FreeContext(handle))
    }

    /** The ids as the protocol's bytes (16 of trace id, 8 of span id), and whether sampled. */
    internal class Ids(val trace: ByteArray, val span: ByteArray, val sampled: Boolean)

    internal val ids: Ids by lazy {
        val trace = ByteArray(16)
        val span = ByteArray(8)
        val sampled = ByteArray(1)
        val err = LongArray(1)
        Abi.check(Abi.agtrace_context_ids(handle, trace, span, sampled, err), err)
        Reference.reachabilityFence(this)
        Ids(trace, span, sampled[0] != 0.toByte())
    }

    /** 32 lowercase hex digits (all zero for baggage without a parent). */
    public val traceId: String get() = hex(ids.trace)

    /** 16 lowercase hex digits. */
    public val spanId: String get() = hex(ids.span)

    public val isSampled: Boolean get() = ids.sampled

    /** Makes this context the current parent on this thread until the scope is closed. */
    public fun makeCurrent(): Scope = Scope(Current.enter(this))

    /** A coroutine context element making this context the current parent. */
    public fun asContextElement(): kotlin.coroutines.CoroutineContext.Element = SpanElement(this)

    override fun toString(): String = "SpanContext(traceId=$traceId, spanId=$spanId)"

    private fun hex(bytes: ByteArray): String = bytes.joinToString("") { "%02x".format(it) }
}

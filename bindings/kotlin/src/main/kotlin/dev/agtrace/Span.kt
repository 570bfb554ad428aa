package dev.agtrace

import java.lang.ref.Reference

/**
 * What a span is in an agent's run: `AGENT`, `WORKFLOW`, `TASK`, `LLM`,
 * `EMBEDDING`, `RETRIEVER`, `RERANKER`, `TOOL`, `GUARDRAIL`, `EVALUATOR` or
 * `PLAIN`. The generated enum, whose order is the C ABI's `AGTRACE_KIND_*`.
 */
public typealias SpanKind = dev.agtrace.ffi.SpanKind

/** What a span can be started under: a [Span], or a [SpanContext] (e.g. extracted from headers). */
public sealed interface SpanParent

/** A span's status. `OK` is final; `ERROR` takes a description. */
public enum class StatusCode { UNSET, OK, ERROR }

/**
 * A span. Run code in one with [Agtrace.span] (blocking) or
 * [Agtrace.withSpan] (suspending), which make it current, record an
 * exception that escapes and end it; or start one with [Agtrace.startSpan]
 * and end it with [end] (or `use {}`, as it is [AutoCloseable]).
 *
 * What is recorded on a span (attributes, status, usage, model, messages,
 * errors) is buffered and sent with [end] in one call; only events and
 * first-chunk marks, which carry the time they happened, cross at once.
 *
 * Wrong arguments throw [AgtraceException.InvalidArgument] naming what was
 * wrong, and leave the span as it was. Ending twice, or recording on an
 * ended span, is logged and ignored. A span that becomes unreachable
 * without being ended is ended then, marked `agtrace.abandoned`.
 * Thread-safe: calls are serialized.
 */
public class Span internal constructor(
    /** The C ABI handle (`agtrace_span_t *`); 0 for a span that records nothing. */
    @PublishedApi internal val handle: Long,
    internal val session: Session?,
) : SpanParent, AutoCloseable {
    /** Recorded fields not yet sent (guarded by `this`); null when none. */
    private var pending: StringBuilder? = null
    private var ended = false

    /** Frees the handle when this span is unreachable (null for a span that records nothing). */
    private val freer: Abi.SpanHandle? =
        if (handle == 0L) null else Abi.SpanHandle(handle).also { Abi.cleaner.register(this, it) }

    // -- lifecycle -------------------------------------------------------------

    /**
     * Ends the span: sends what was recorded and queues it for export.
     * Never blocks. A second call is logged and ignored.
     */
    public fun end() {
        val record: ByteArray?
        synchronized(this) {
            if (ended) {
                Log.warn("span ended twice; the second end is ignored")
                return
            }
            ended = true
            record = pending?.let(Record::encode)
            pending = null
        }
        if (handle == 0L) return
        val status = Abi.agtrace_span_finish_packed(handle, record, (record?.size ?: 0).toLong(), null)
        freer?.ended = true
        Reference.reachabilityFence(this)
        if (status != 0) reportEndStatus(status)
    }

    /**
     * Ends the span unless it already ended, so that `use {}` does. An
     * exception escaping `use` is not recorded: [Agtrace.span] does that.
     */
    override fun close() {
        if (!isEnded) end()
    }

    public val isEnded: Boolean
        get() = synchronized(this) { ended }

    /** False once ended, for spans not sampled, and for spans of an uninitialized or shut-down tracer. */
    public val isRecording: Boolean
        get() {
            if (handle == 0L || isEnded) return false
            val recording = Abi.agtrace_span_is_recording(handle) != 0.toByte()
            Reference.reachabilityFence(this)
            return recording
        }

    /** The span's ids, for propagation or as a parent; null for a span that records nothing. */
    public val context: SpanContext?
        get() {
            if (handle == 0L) return null
            contextCache?.let { return it }
            val out = LongArray(1)
            val err = LongArray(1)
            Abi.check(Abi.agtrace_span_context(handle, out, err), err)
            Reference.reachabilityFence(this)
            return SpanContext(out[0]).also { contextCache = it }
        }

    // Not a `lazy`: that would cost an allocation on every span.
    @Volatile private var contextCache: SpanContext? = null

    /**
     * Makes this span current on this thread until the returned scope is
     * closed: `span.makeCurrent().use { ... }`. In coroutines, use
     * [asContextElement] instead.
     */
    public fun makeCurrent(): Scope = Scope(Current.enter(this))

    /** A coroutine context element making this span current: `launch(span.asContextElement()) { ... }`. */
    public fun asContextElement(): kotlin.coroutines.CoroutineContext.Element = SpanElement(this)

    // -- attributes (buffered) -------------------------------------------------

    public fun setAttribute(key: String, value: String): Unit = record { Record.text(it, key, value) }

    public fun setAttribute(key: String, value: Long): Unit = record { Record.typed(it, key, value.toString()) }

    public fun setAttribute(key: String, value: Int): Unit = record { Record.typed(it, key, value.toString()) }

    public fun setAttribute(key: String, value: Double): Unit = record { Record.typed(it, key, Record.double(value)) }

    public fun setAttribute(key: String, value: Boolean): Unit =
        record { Record.typed(it, key, if (value) "true" else "false") }

    @JvmName("setStringListAttribute")
    public fun setAttribute(key: String, value: List<String>): Unit = setAny(key, value)

    @JvmName("setLongListAttribute")
    public fun setAttribute(key: String, value: List<Long>): Unit = setAny(key, value)

    @JvmName("setDoubleListAttribute")
    public fun setAttribute(key: String, value: List<Double>): Unit = setAny(key, value)

    @JvmName("setBooleanListAttribute")
    public fun setAttribute(key: String, value: List<Boolean>): Unit = setAny(key, value)

    /** A structured value (a JSON object or array, given as JSON text), stored as its JSON text. */
    public fun setJsonAttribute(key: String, json: String) {
        try {
            Json.parse(json)
        } catch (e: IllegalArgumentException) {
            invalid("attribute ${Record.quote(key)}: not JSON (${e.message})")
        }
        record { Record.typed(it, key, json) }
    }

    /**
     * Sets several attributes, all or nothing: strings, booleans, integers,
     * floating-point numbers, lists of one of those, or maps and nested
     * lists (stored as JSON text). Null values are skipped.
     */
    public fun setAttributes(attributes: Map<String, Any?>) {
        val packed = StringBuilder()
        Record.attributes(packed, attributes)
        if (packed.isNotEmpty()) record { Record.field(it, packed.toString()) }
    }

    private fun setAny(key: String, value: Any?) {
        val packed = StringBuilder()
        Record.attribute(packed, key, value)
        if (packed.isNotEmpty()) record { Record.field(it, packed.toString()) }
    }

    // -- status, errors, names (buffered) --------------------------------------

    public fun setStatus(code: StatusCode, description: String? = null) {
        if (description != null) Record.checkName("description", description)
        val argument =
            when (code) {
                StatusCode.UNSET -> "0"
                StatusCode.OK -> "1"
                StatusCode.ERROR -> "2" + (description ?: "")
            }
        record { Record.op(it, "status", argument) }
    }

    /**
     * Records [error] as an OpenTelemetry `exception` event (type, message,
     * stack trace) and sets the status to error.
     */
    public fun recordException(error: Throwable) {
        val payload =
            Json.encode(
                mapOf(
                    "type" to error.javaClass.name,
                    "message" to (error.message ?: ""),
                    "stacktrace" to error.stackTraceToString(),
                ),
                "exception",
            )
        record { Record.op(it, "error", payload) }
    }

    public fun updateName(name: String) {
        Record.checkName("name", name)
        record { Record.op(it, "name", name) }
    }

    // -- GenAI (buffered) -------------------------------------------------------

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
    ) {
        val payload = LinkedHashMap<String, Any?>()
        provider?.let { payload["provider"] = it }
        requestModel?.let { payload["request_model"] = it }
        responseModel?.let { payload["response_model"] = it }
        responseId?.let { payload["response_id"] = it }
        finishReasons?.let { payload["finish_reasons"] = it }
        val json = Json.encode(payload, "llm")
        record { Record.op(it, "llm", json) }
    }

    /**
     * Token usage of a model call, rolled up onto every ancestor (with its
     * cost, when the model is in the price table). Counts must be
     * non-negative.
     */
    public fun setUsage(
        inputTokens: Long = 0,
        outputTokens: Long = 0,
        cacheReadInputTokens: Long = 0,
        cacheCreationInputTokens: Long = 0,
        reasoningOutputTokens: Long = 0,
    ) {
        val counts = longArrayOf(inputTokens, outputTokens, cacheReadInputTokens, cacheCreationInputTokens, reasoningOutputTokens)
        for (n in counts) if (n < 0) invalid("token counts must be non-negative, got $n")
        val argument = counts.joinToString(",")
        record { Record.op(it, "usage", argument) }
    }

    /**
     * Input and output messages (JSON-serializable values, usually lists of
     * `mapOf("role" to ..., "content" to ...)`). Recorded only when content
     * capture is on (`AGTRACE_CAPTURE_CONTENT`), then redacted by the
     * tracer's rules.
     */
    public fun setMessages(input: Any? = null, output: Any? = null) {
        val payload = LinkedHashMap<String, Any?>()
        input?.let { payload["input"] = it }
        output?.let { payload["output"] = it }
        val json = Json.encode(payload, "messages")
        record { Record.op(it, "messages", json) }
    }

    public fun setTool(name: String, callId: String? = null) {
        Record.checkName("tool name", name)
        val json = Json.encode(mapOf("name" to name, "call_id" to callId), "tool")
        record { Record.op(it, "tool", json) }
    }

    public fun setAgent(name: String, id: String? = null) {
        Record.checkName("agent name", name)
        val json = Json.encode(mapOf("name" to name, "id" to id), "agent")
        record { Record.op(it, "agent", json) }
    }

    // -- immediate -------------------------------------------------------------

    /** Adds an event timed now. */
    public fun addEvent(name: String, attributes: Map<String, Any?> = emptyMap()) {
        Record.checkName("event name", name)
        for (key in attributes.keys) Record.checkKey(key)
        now("event", Json.encode(mapOf("name" to name, "attributes" to attributes), "event ${Record.quote(name)}"))
    }

    /** Records that the first chunk of a streamed response arrived now (`gen_ai.response.time_to_first_chunk`). */
    public fun markFirstChunk(): Unit = now("first_chunk", "")

    private fun now(op: String, argument: String) {
        synchronized(this) {
            if (ended) {
                Log.warn("recording on an ended span is ignored")
                return
            }
        }
        if (handle == 0L) return
        val out = StringBuilder()
        Record.op(out, op, argument)
        val bytes = Record.encode(out)
        val err = LongArray(1)
        val status = Abi.agtrace_span_record_packed(handle, bytes, bytes.size.toLong(), err)
        Reference.reachabilityFence(this)
        Abi.check(status, err)
    }

    /** Runs [append] on the pending record, unless the span ended or records nothing. */
    private inline fun record(append: (StringBuilder) -> Unit) {
        // Checked first, so a bad argument throws even on a span that records nothing.
        val scratch = StringBuilder()
        append(scratch)
        if (handle == 0L) return
        synchronized(this) {
            if (ended) {
                Log.warn("recording on an ended span is ignored")
                return
            }
            val out = pending ?: StringBuilder().also { pending = it }
            Record.field(out, scratch.toString())
        }
    }

    override fun toString(): String {
        val state = if (handle == 0L) "non-recording" else if (isEnded) "ended" else "live"
        return "Span($state)"
    }

    private fun reportEndStatus(status: Int) {
        when (status) {
            6 -> Log.debug("span ended after shutdown will not be exported")
            5 -> Log.warn("span ended twice; the second end is ignored")
            else -> Log.warn("ending a span: status $status (a recorded value was invalid)")
        }
    }

    internal companion object {
        /** A span that records nothing (no tracer, or after shutdown). */
        fun nonRecording(session: Session?): Span = Span(0L, session)
    }
}

/**
 * A span's identity: a remote parent from [Agtrace.extract], or a local
 * span's [Span.context]. Usable as a parent. Immutable; thread-safe.
 */
public class SpanContext internal constructor(
    @PublishedApi internal val handle: Long,
) : SpanParent {
    init {
        Abi.cleaner.register(this, Abi.FreeContext(handle))
    }

    private val ids: Triple<String, String, Boolean> by lazy {
        val trace = ByteArray(16)
        val span = ByteArray(8)
        val sampled = ByteArray(1)
        val err = LongArray(1)
        Abi.check(Abi.agtrace_context_ids(handle, trace, span, sampled, err), err)
        Reference.reachabilityFence(this)
        Triple(hex(trace), hex(span), sampled[0] != 0.toByte())
    }

    /** 32 lowercase hex digits (all zero for baggage without a parent). */
    public val traceId: String get() = ids.first

    /** 16 lowercase hex digits. */
    public val spanId: String get() = ids.second

    public val isSampled: Boolean get() = ids.third

    /** Makes this context the current parent on this thread until the scope is closed. */
    public fun makeCurrent(): Scope = Scope(Current.enter(this))

    /** A coroutine context element making this context the current parent. */
    public fun asContextElement(): kotlin.coroutines.CoroutineContext.Element = SpanElement(this)

    override fun toString(): String = "SpanContext(traceId=$traceId, spanId=$spanId)"

    private fun hex(bytes: ByteArray): String = bytes.joinToString("") { "%02x".format(it) }
}

package dev.agtrace

import com.sun.jna.Memory
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.withContext
import java.lang.ref.Reference
import kotlin.coroutines.CoroutineContext
import kotlin.coroutines.cancellation.CancellationException
import kotlin.coroutines.coroutineContext
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import dev.agtrace.ffi.Tracer as FfiTracer

/**
 * Starts spans and delivers them to the configured exporters. Thread-safe.
 * Most applications use the default tracer through [Agtrace]; explicit
 * tracers work beside it: `Tracer { exporters = listOf("console") }`.
 *
 * Two handles on one core tracer: the uniffi object for the cold API
 * (settings, flush, shutdown, stats, live configuration) and a C ABI handle
 * for the span calls (see [Abi]). Construction does no network I/O; a bad
 * setting throws [AgtraceException.InvalidConfig] naming it.
 */
public class Tracer(configure: AgtraceConfig.() -> Unit = {}) {
    /** How long the JVM shutdown hook waits for this tracer's spans. */
    public val exitTimeout: Duration

    private val ffi: FfiTracer

    /** The C ABI handle (`agtrace_tracer_t *`). */
    @PublishedApi internal val handle: Long

    @Volatile private var shutDown = false

    init {
        val config = AgtraceConfig().apply(configure)
        if (config.exitTimeout.isNegative()) {
            throw AgtraceException.InvalidConfig("exitTimeout must not be negative, got ${config.exitTimeout}")
        }
        exitTimeout = config.exitTimeout
        val named = config.byName()
        ffi = cold { FfiTracer(named, config.ignoreEnv) }
        handle = ffi.cHandle().toLong()
        Abi.cleaner.register(this, Abi.FreeTracer(handle))
        Lifecycle.register(this)
    }

    // -- spans -------------------------------------------------------------------

    /**
     * Runs [block] in a new span, current for the block; an exception that
     * escapes is recorded on the span (an `exception` event, status error)
     * and rethrown; the span ends when the block returns. The block cannot
     * suspend: in coroutines use [withSpan].
     *
     * [parent] defaults to the current span; null starts a new trace.
     */
    public inline fun <T> span(
        name: String,
        kind: SpanKind = SpanKind.PLAIN,
        attributes: Map<String, Any?> = emptyMap(),
        parent: SpanParent? = Current.parent(),
        crossinline block: (Span) -> T,
    ): T = Spans.run(startSpan(name, kind, attributes, parent), block)

    /**
     * Runs the suspending [block] in a new span, which is current in the
     * block's coroutine and every coroutine it starts (`launch`, `async`,
     * `withContext(Dispatchers.IO)`), wherever they run. Exceptions are
     * recorded and rethrown as by [span]; cancellation ends the span without
     * marking it an error.
     */
    public suspend fun <T> withSpan(
        name: String,
        kind: SpanKind = SpanKind.PLAIN,
        attributes: Map<String, Any?> = emptyMap(),
        parent: SpanParent? = Current.parent(),
        block: suspend CoroutineScope.(Span) -> T,
    ): T = Spans.within(startSpan(name, kind, attributes, parent), block)

    /**
     * Starts a span under [parent] (default: the current span; null for a
     * new trace) without making it current; end it with [Span.end] (or
     * `use {}`). Never blocks. After shutdown it returns a span that records
     * nothing.
     */
    public fun startSpan(
        name: String,
        kind: SpanKind = SpanKind.PLAIN,
        attributes: Map<String, Any?> = emptyMap(),
        parent: SpanParent? = Current.parent(),
    ): Span = Spans.start(if (shutDown) null else this, name, kind, attributes, parent)

    // -- propagation -------------------------------------------------------------

    /**
     * Propagation headers (W3C `traceparent`/`tracestate`/`baggage`, or B3,
     * per `OTEL_PROPAGATORS`) for [parent] (default: the current span); empty
     * when there is none.
     */
    public fun inject(parent: SpanParent? = Current.parent()): Map<String, String> {
        val context =
            when (parent) {
                is Span -> parent.context ?: return emptyMap()
                is SpanContext -> parent
                null -> return emptyMap()
            }
        val headers = Abi.agtrace_headers_new()
        try {
            val err = LongArray(1)
            Abi.check(Abi.agtrace_inject(handle, context.handle, headers, err), err)
            val out = LinkedHashMap<String, String>()
            val name = LongArray(2)
            val value = LongArray(2)
            for (i in 0 until Abi.agtrace_headers_count(headers)) {
                Abi.check(Abi.agtrace_headers_get(headers, i, name, value, err), err)
                out[Abi.readStr(name)] = Abi.readStr(value)
            }
            return out
        } finally {
            Abi.agtrace_headers_free(headers)
            Reference.reachabilityFence(context)
            Reference.reachabilityFence(this)
        }
    }

    /**
     * The remote parent in [headers] (names in any case), or null when they
     * carry neither a valid context nor baggage. Pass it as `parent`, or make
     * it current, to continue the trace.
     */
    public fun extract(headers: Map<String, String>): SpanContext? {
        val list = Abi.agtrace_headers_new()
        val memory = ArrayList<Memory>()
        try {
            val err = LongArray(1)
            for ((name, value) in headers) {
                Abi.check(Abi.agtrace_headers_set(list, Abi.str(name, memory), Abi.str(value, memory), err), err)
            }
            val out = LongArray(1)
            Abi.check(Abi.agtrace_extract(handle, list, out, err), err)
            return if (out[0] == 0L) null else SpanContext(out[0])
        } finally {
            Abi.agtrace_headers_free(list)
            memory.forEach(Memory::close)
            Reference.reachabilityFence(this)
        }
    }

    // -- delivery ----------------------------------------------------------------

    /**
     * Waits until spans ended before the call are delivered, up to
     * [timeout]. False (and a log line) if some were still undelivered; they
     * stay queued.
     */
    public fun flush(timeout: Duration = 5.seconds): Boolean {
        val ms = millis(timeout)
        return timedOut("flush") { ffi.flush(ms) }
    }

    /**
     * Flushes and stops the export threads within [timeout]. Idempotent;
     * spans started afterwards record nothing. False (and a log line) if
     * spans were left undelivered.
     */
    public fun shutdown(timeout: Duration = 5.seconds): Boolean {
        val ms = millis(timeout)
        shutDown = true
        Lifecycle.unregister(this)
        return timedOut("shutdown") { ffi.shutdown(ms) }
    }

    public val isShutDown: Boolean
        get() = shutDown || ffi.isShutDown()

    /** The tracer's counters (see [Stats]). */
    public fun stats(): Stats = Stats.parse(ffi.stats().json)

    // -- live configuration ------------------------------------------------------

    /**
     * The configuration in effect, as the core reports it (`service_name`,
     * `exporters`, `sampling`, `redaction`, `batch`, `delivery`, ...), live
     * changes included.
     */
    public fun config(): Map<String, Any?> = Json.parseObject(ffi.configJson())

    /**
     * Changes redaction rules (keys of `config()["redaction"]`:
     * `redact_messages`, `sensitive_keys`, `max_attribute_bytes`, ...); the
     * others keep their value. All or nothing; a bad key or value throws
     * [AgtraceException.InvalidConfig] naming it.
     */
    public fun updateRedaction(changes: Map<String, Any?>): Unit =
        cold { ffi.updateRedaction(Json.encode(changes, "redaction changes")) }

    /** Changes sampling (`rate`, `parent_based`, `rules`), as [updateRedaction] does redaction. */
    public fun updateSampling(changes: Map<String, Any?>): Unit =
        cold { ffi.updateSampling(Json.encode(changes, "sampling changes")) }

    public fun setSamplingRate(rate: Double): Unit = cold { ffi.setSamplingRate(rate) }

    /** Adds tags to every span exported from now on. */
    public fun addTags(vararg tags: String): Unit = ffi.addTags(tags.toList())

    /** Sets [key] in the metadata of every span exported from now on; [value] is any JSON-serializable value. */
    public fun setGlobalMetadata(key: String, value: Any?): Unit =
        cold { ffi.setGlobalMetadata(key, Json.encode(value, "metadata $key")) }

    public fun setLinksEnabled(on: Boolean): Unit = ffi.setLinksEnabled(on)

    private inline fun timedOut(what: String, call: () -> Unit): Boolean =
        try {
            cold(call)
            true
        } catch (e: AgtraceException.Timeout) {
            Log.warn("$what: ${e.message}")
            false
        }

    private fun millis(timeout: Duration): UInt {
        if (timeout.isNegative()) invalid("timeout must not be negative, got $timeout")
        return minOf(timeout.inWholeMilliseconds, UInt.MAX_VALUE.toLong()).toUInt()
    }
}

/** Starting and running spans, shared by [Tracer] and [Agtrace] (whose tracer may be absent). */
@PublishedApi
internal object Spans {
    /** Starts a span; with no tracer, a span that records nothing (arguments are still checked). */
    @PublishedApi
    internal fun start(
        tracer: Tracer?,
        name: String,
        kind: SpanKind,
        attributes: Map<String, Any?>,
        parent: SpanParent?,
    ): Span {
        Record.checkName("span name", name)
        val out = StringBuilder(name.length + 16 * attributes.size)
        out.append(name)
        if (attributes.isNotEmpty()) Record.attributes(out, attributes)
        val session = Current.session()
        var parentSpan = 0L
        var parentContext = 0L
        when (parent) {
            is Span -> {
                parentSpan = parent.handle
                if (session != null && parent.session !== session) Record.op(out, "trace", session.payload)
            }
            is SpanContext -> {
                parentContext = parent.handle
                if (session != null) Record.op(out, "trace", session.payload)
            }
            null -> if (session != null) Record.op(out, "trace", session.payload)
        }
        if (tracer == null) return Span.nonRecording(session)
        val record = Record.encode(out)
        val kindCode = kind.ordinal
        var handle = Abi.agtrace_span_start_packed(tracer.handle, parentSpan, parentContext, kindCode, record, record.size.toLong(), null)
        if (handle == 0L) {
            // A failed start has no effect: repeat it to learn why.
            val err = LongArray(1)
            handle = Abi.agtrace_span_start_packed(tracer.handle, parentSpan, parentContext, kindCode, record, record.size.toLong(), err)
            if (handle == 0L) {
                val error = Abi.takeError(err)
                if (error !is AgtraceException.ShutDown) throw error
                Log.debug("span started after shutdown records nothing")
                return Span.nonRecording(session)
            }
        }
        Reference.reachabilityFence(parent)
        Reference.reachabilityFence(tracer)
        return Span(handle, session)
    }

    @PublishedApi
    internal inline fun <T> run(span: Span, crossinline block: (Span) -> T): T {
        val previous = Current.enter(span)
        try {
            return block(span)
        } catch (e: Throwable) {
            span.recordException(e)
            throw e
        } finally {
            Current.exit(previous)
            span.end()
        }
    }

    @PublishedApi
    internal suspend fun <T> within(span: Span, block: suspend CoroutineScope.(Span) -> T): T {
        var context: CoroutineContext = SpanElement(span)
        // A session opened by the blocking `session {}` lives only in the
        // thread local: carry it into the coroutines too.
        if (coroutineContext[SessionElement] == null) Current.session()?.let { context += SessionElement(it) }
        try {
            return withContext(context) { block(span) }
        } catch (e: Throwable) {
            if (e !is CancellationException) span.recordException(e)
            throw e
        } finally {
            span.end()
        }
    }
}

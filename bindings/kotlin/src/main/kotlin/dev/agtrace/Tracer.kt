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
 * for spans (the span protocol, see [Native]) and propagation (see [Abi]).
 * Construction does no network I/O; a bad setting throws
 * [AgtraceException.InvalidConfig] naming it.
 */
public class Tracer(configure: AgtraceConfig.() -> Unit = {}) {
    /** How long the JVM shutdown hook waits for this tracer's spans. */
    public val exitTimeout: Duration

    private val ffi: FfiTracer

    /** The C ABI handle (`agtrace_tracer_t *`). */
    @PublishedApi internal val handle: Long

    @Volatile private var shutDown = false

    /** Bridges its spans with OpenTelemetry's context (`AGTRACE_OTEL_BRIDGE`, see [OtelBridge]). */
    @JvmField internal val otelBridge: Boolean

    init {
        val config = AgtraceConfig().apply(configure)
        if (config.exitTimeout.isNegative()) {
            throw AgtraceException.InvalidConfig("exitTimeout must not be negative, got ${config.exitTimeout}")
        }
        exitTimeout = config.exitTimeout
        // First: it loads libagtrace for every binding (see [Libagtrace]).
        Native.mismatch?.let { throw AgtraceException.Internal(it) }
        val named = config.byName()
        ffi = cold { FfiTracer(named, config.ignoreEnv) }
        handle = ffi.cHandle().toLong()
        Abi.cleaner.register(this, Abi.FreeTracer(handle))
        Lifecycle.register(this)
        val effective = config()
        @Suppress("UNCHECKED_CAST")
        val batch = effective["batch"] as Map<String, Any?>
        ThreadBuffers.batchDelay((batch["flush_interval_ms"] as Number).toLong())
        otelBridge = OtelBridge.enable(this, effective["otel_bridge"] == true)
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
    ): T = Spans.run(begin(name, kind, attributes, parent), block)

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
    ): T = Spans.within(begin(name, kind, attributes, parent), block)

    /**
     * Starts a span under [parent] (default: the current span; null for a
     * new trace) without making it current; end it with [Span.end] (or
     * `use {}`). Never blocks. After shutdown it returns a span that records
     * nothing. A span that becomes unreachable without being ended is
     * exported then, marked abandoned, with everything recorded on it.
     */
    public fun startSpan(
        name: String,
        kind: SpanKind = SpanKind.PLAIN,
        attributes: Map<String, Any?> = emptyMap(),
        parent: SpanParent? = Current.parent(),
    ): Span = Spans.start(if (shutDown) null else this, name, kind, attributes, parent, manual = true)

    /** Starts a span whose end is certain ([span], [withSpan]): not watched for abandonment. */
    @PublishedApi
    internal fun begin(name: String, kind: SpanKind, attributes: Map<String, Any?>, parent: SpanParent?): Span =
        Spans.start(if (shutDown) null else this, name, kind, attributes, parent)

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
            if (out[0] == 0L) return null
            // The C ABI does not say what a context carries; the headers do.
            val carries = headers.any { (name, value) -> name.lowercase() in INHERITED && value.isNotBlank() }
            return SpanContext(out[0], inherits = carries)
        } finally {
            Abi.agtrace_headers_free(list)
            memory.forEach(Memory::close)
            Reference.reachabilityFence(this)
        }
    }

    // -- delivery ----------------------------------------------------------------

    /**
     * Waits until spans ended before the call, on any thread, are
     * delivered, up to [timeout]. False (and a log line) if some were still
     * undelivered; they stay queued.
     */
    public fun flush(timeout: Duration = 5.seconds): Boolean {
        val ms = millis(timeout)
        ThreadBuffers.sendAll(this)
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
        ThreadBuffers.sendAll(this)
        return timedOut("shutdown") { ffi.shutdown(ms) }
    }

    public val isShutDown: Boolean
        get() = shutDown || ffi.isShutDown()

    /** The tracer's counters (see [Stats]), counting every span ended before the call, on any thread. */
    public fun stats(): Stats {
        ThreadBuffers.sendAll(this)
        return Stats.from(ffi.stats())
    }

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

    private companion object {
        /** Headers whose content (trace state, baggage) descendants of an extracted parent inherit. */
        val INHERITED = setOf("tracestate", "baggage")
    }

    private fun millis(timeout: Duration): UInt {
        if (timeout.isNegative()) invalid("timeout must not be negative, got $timeout")
        return minOf(timeout.inWholeMilliseconds, UInt.MAX_VALUE.toLong()).toUInt()
    }
}

/** Starting and running spans, shared by [Tracer] and [Agtrace] (whose tracer may be absent). */
@PublishedApi
internal object Spans {
    /**
     * Starts a span: one crossing, carrying this thread's pending END
     * records and the span's BEGIN. With no [tracer], a span that records
     * nothing (its arguments are still checked). A [manual] span (ended by
     * hand) is watched for abandonment.
     */
    @PublishedApi
    internal fun start(
        tracer: Tracer?,
        name: String,
        kind: SpanKind,
        attributes: Map<String, Any?>,
        given: SpanParent?,
        manual: Boolean = false,
    ): Span {
        Attributes.checkName("span name", name)
        val parent = if (OtelBridge.available) OtelBridge.forTracer(tracer, given) else given
        val session = Current.session()
        var inherit: SpanContext? = null
        val b = ThreadBuffers.current()
        b.acquire()
        val enc = b.enc
        val mark = enc.pos
        try {
            val at = enc.record(Codes.RECORD_BEGIN)
            var trace = session != null
            when (parent) {
                null -> enc.root(kind.code)
                is SpanContext -> {
                    enc.context(kind.code, parent.handle)
                    if (parent.inherits) inherit = parent
                }
                is Span ->
                    if (parent.traceA == 0L && parent.traceB == 0L) {
                        enc.root(kind.code)
                    } else {
                        inherit = parent.inherit
                        // A live, recording parent counts this child in its rollups.
                        var form = if (parent.handle != 0L && !parent.isEnded) Codes.PARENT_LOCAL else Codes.PARENT_SPAN
                        if (inherit != null) form = form or Codes.PARENT_INHERIT
                        enc.ids(kind.code, form, parent.traceA, parent.traceB, parent.spanId, parent.flags, inherit?.handle ?: 0L)
                        trace = trace && parent.session !== session
                    }
            }
            enc.str(name)
            if (trace) enc.bytes(session!!.trace)
            if (attributes.isNotEmpty()) Attributes.putAll(enc, attributes)
            enc.close(at)
        } catch (e: Throwable) {
            enc.pos = mark
            b.release()
            throw e
        }
        if (tracer == null) {
            enc.pos = mark
            b.release()
            return Span.nonRecording(session)
        }
        val status: Int
        val span: Span
        try {
            status = b.send(tracer.handle)
            span = Span(tracer, b.handle, b.traceA, b.traceB, b.spanId, b.flags, inherit, session, System.nanoTime())
        } finally {
            b.release()
        }
        Reference.reachabilityFence(parent)
        Reference.reachabilityFence(tracer)
        ThreadBuffers.report(status)
        if (manual && span.handle != 0L) span.watch()
        return span
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

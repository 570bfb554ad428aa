package dev.agtrace

import com.sun.jna.Memory
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.withContext
import java.lang.ref.Reference
import java.util.concurrent.atomic.AtomicInteger
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

    /** The `capture_io` setting: [span] and [withSpan] record inputs and outputs. */
    internal val captureIo: Boolean

    /** The `strict` setting: misuse throws ([Misuse]). */
    internal val strict: Boolean

    private val maskFn: ((Any?) -> Any?)?

    /** The misuse kinds reported so far, as bits: the core logs a kind's detail once, so only its first is sent. */
    private val misuseSeen = AtomicInteger()

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
        val settings = config()
        @Suppress("UNCHECKED_CAST")
        val batch = settings["batch"] as Map<String, Any?>
        ThreadBuffers.batchDelay((batch["flush_interval_ms"] as Number).toLong())
        captureIo = settings["capture_io"] as Boolean
        strict = Abi.agtrace_tracer_strict(handle) != 0.toByte()
        maskFn = config.mask
        otelBridge = OtelBridge.enable(this, settings["otel_bridge"] == true)
    }

    // -- spans -------------------------------------------------------------------

    /**
     * Runs [block] in a new span, current for the block; an exception that
     * escapes is recorded on the span (an `exception` event, status error)
     * and rethrown; the span ends when the block returns. The block cannot
     * suspend: in coroutines use [withSpan].
     *
     * [parent] defaults to the current span; null starts a new trace.
     * [links] relate the span to others (see [Link]).
     *
     * Inputs and outputs (unless the `capture_io` setting,
     * `AGTRACE_CAPTURE_IO`, is off): [input], when given, and the block's
     * result (unless [captureOutput] is false, or it is `Unit`) are
     * recorded as `input.value`/`output.value`, with `input.mime_type`/
     * `output.mime_type`: `text/plain` for a value that converts to a
     * string, else `application/json` (values of any type, converted as
     * [Span.setAttribute] does); on a tool span also as
     * `gen_ai.tool.call.arguments`/`.result`. The tracer's mask sees them
     * first; the redaction rules apply to them as to every attribute.
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

    /**
     * Runs the suspending [block] in a new span, which is current in the
     * block's coroutine and every coroutine it starts (`launch`, `async`,
     * `withContext(Dispatchers.IO)`), wherever they run. Exceptions are
     * recorded and rethrown as by [span]; cancellation ends the span without
     * marking it an error. Links, input and output as by [span].
     */
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
        links: List<Link> = emptyList(),
    ): Span = Spans.start(if (shutDown) null else this, name, kind, attributes, parent, links, manual = true)

    /** Starts a span whose end is certain ([span], [withSpan]): not watched for abandonment. */
    @PublishedApi
    internal fun begin(name: String, kind: SpanKind, attributes: Map<String, Any?>, parent: SpanParent?, links: List<Link>): Span =
        Spans.start(if (shutDown) null else this, name, kind, attributes, parent, links)

    /**
     * A conversation of this tracer: its turns are traces linked each to the
     * previous one and carrying [id] as their conversation id (see
     * [Conversation]).
     */
    public fun conversation(id: String = Conversation.newId()): Conversation = Conversation(id, this)

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
            if (!called("inject", Abi.agtrace_inject(handle, context.handle, headers, err), err)) return emptyMap()
            val out = LinkedHashMap<String, String>()
            val name = LongArray(2)
            val value = LongArray(2)
            for (i in 0 until Abi.agtrace_headers_count(headers)) {
                if (!called("inject", Abi.agtrace_headers_get(headers, i, name, value, err), err)) return emptyMap()
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
                // A header the core refuses (say, a name that is not a token) is left out.
                if (!called("extract", Abi.agtrace_headers_set(list, Abi.str(name, memory), Abi.str(value, memory), err), err)) continue
            }
            val out = LongArray(1)
            if (!called("extract", Abi.agtrace_extract(handle, list, out, err), err)) return null
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
     * on their way (they stay queued) or an exporter dropped spans meanwhile
     * (`stats()` says why).
     */
    public fun flush(timeout: Duration = 5.seconds): Boolean {
        val ms = millis(timeout)
        ThreadBuffers.sendAll(this)
        return delivered("flush") { ffi.flush(ms) }
    }

    /**
     * Flushes and stops the export threads within [timeout]; the exporters
     * retry until shortly before it ends. Spans started afterwards record
     * nothing. False (and a log line) if spans were left undelivered or
     * dropped, by this call or, for a second call, by the first.
     */
    public fun shutdown(timeout: Duration = 5.seconds): Boolean {
        val ms = millis(timeout)
        shutDown = true
        Lifecycle.unregister(this)
        ThreadBuffers.sendAll(this)
        return delivered("shutdown") { ffi.shutdown(ms) }
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

    /** Sets [key] in the metadata of every span exported from now on; [value] is any value, converted as [Span.setAttribute] does. */
    public fun setGlobalMetadata(key: String, value: Any?): Unit =
        cold { ffi.setGlobalMetadata(key, Values.json(Values.plain(value))) }

    public fun setLinksEnabled(on: Boolean): Unit = ffi.setLinksEnabled(on)

    /** True when a C ABI call returned OK; else reports its error as misuse (the call's result is dropped). */
    private fun called(what: String, status: Int, err: LongArray): Boolean {
        if (status == Codes.ERROR_OK) return true
        Misuse.report(this, Codes.MISUSE_BAD_CALL, "$what: ${Abi.takeError(err).message}")
        return false
    }

    // -- misuse and masking ------------------------------------------------------

    /** Counts one misuse of [kind] in the core, which logs [detail] the first time it sees the kind. */
    internal fun countMisuse(kind: Int, detail: String) {
        val bit = 1 shl kind
        val first = misuseSeen.getAndUpdate { it or bit } and bit == 0
        val memory = ArrayList<Memory>(1)
        try {
            Abi.agtrace_misuse_report(handle, kind, if (first) Abi.str(detail, memory) else Abi.Str.ByValue())
        } finally {
            memory.forEach(Memory::close)
            Reference.reachabilityFence(this)
        }
    }

    /**
     * A converted value ([Values.plain]) put through the mask
     * ([AgtraceConfig.mask]) and converted again, or [DROPPED] when the
     * mask threw (misuse).
     */
    internal fun mask(plain: Any?): Any? {
        val m = maskFn ?: return plain
        return try {
            Values.plain(m(plain))
        } catch (e: Exception) {
            Misuse.report(this, Codes.MISUSE_MASK_FAILED, "the mask threw ${e.javaClass.name}; the value it was given was dropped")
            DROPPED
        }
    }

    private inline fun delivered(what: String, call: () -> Unit): Boolean =
        try {
            cold(call)
            true
        } catch (e: AgtraceException.Timeout) {
            Log.warn("$what: ${e.message}")
            false
        } catch (e: AgtraceException.Undelivered) {
            Log.warn("$what: ${e.message}")
            false
        }

    internal companion object {
        /** Headers whose content (trace state, baggage) descendants of an extracted parent inherit. */
        private val INHERITED = setOf("tracestate", "baggage")

        /** What [mask] returns for a value the mask dropped. */
        val DROPPED = Any()
    }

    /** [timeout] in milliseconds; a negative one is misuse, taken as zero. */
    private fun millis(timeout: Duration): UInt {
        if (timeout.isNegative()) {
            Misuse.report(this, Codes.MISUSE_BAD_CALL, "timeout must not be negative, got $timeout; taken as zero")
            return 0u
        }
        return minOf(timeout.inWholeMilliseconds, UInt.MAX_VALUE.toLong()).toUInt()
    }
}

/** Starting and running spans, shared by [Tracer] and [Agtrace] (whose tracer may be absent). */
@PublishedApi
internal object Spans {
    /** The name of a span started with a bad one (misuse). */
    const val UNNAMED = "<unnamed span>"

    /**
     * Starts a span: one crossing, carrying this thread's pending END
     * records and the span's BEGIN. With no [tracer], a span that records
     * nothing. A [manual] span (ended by hand) is watched for abandonment.
     * Never throws but in strict mode: a bad name is replaced by [UNNAMED],
     * attributes with bad keys are dropped, and start attributes and links
     * too big to send are dropped (misuse).
     */
    @PublishedApi
    internal fun start(
        tracer: Tracer?,
        name: String,
        kind: SpanKind,
        attributes: Map<String, Any?>,
        given: SpanParent?,
        links: List<Link> = emptyList(),
        manual: Boolean = false,
    ): Span {
        var spanName = name
        Attributes.nameProblem(name)?.let {
            Misuse.report(tracer, Codes.MISUSE_BAD_NAME, "span name ${Attributes.quote(name)} $it: the span is named $UNNAMED")
            spanName = UNNAMED
        }
        val parent = if (OtelBridge.available) OtelBridge.forTracer(tracer, given) else given
        val session = Current.session()
        if (tracer == null) return Span.nonRecording(session)
        // Converted first: converting runs the values' own code, which may start spans.
        val ready = if (attributes.isEmpty()) attributes else Attributes.prepare(tracer, attributes)
        val linked = if (links.isEmpty()) emptyList() else links.mapNotNull { it.ready(tracer) }
        val b = ThreadBuffers.current()
        if (!b.acquire()) {
            Misuse.report(tracer, Codes.MISUSE_BAD_CALL, "a span was started while this thread was encoding another span's start: it records nothing")
            return Span.nonRecording(session)
        }
        val enc = b.enc
        val mark = enc.pos
        var oversize: String? = null
        val inherit: SpanContext?
        try {
            inherit =
                try {
                    begin(enc, session, kind, spanName, parent, ready, linked)
                } catch (e: Encoder.Oversize) {
                    enc.pos = mark
                    oversize = e.message
                    begin(enc, session, kind, spanName, parent, emptyMap(), emptyList())
                }
        } catch (e: Throwable) {
            enc.pos = mark
            b.release()
            throw e
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
        if (oversize != null) Misuse.report(tracer, Codes.MISUSE_BAD_VALUE, "span $spanName: $oversize")
        if (manual && span.handle != 0L) span.watch()
        return span
    }

    /** Writes a BEGIN record; returns the context whose trace state and baggage the span inherits, or null. */
    private fun begin(
        enc: Encoder,
        session: Session?,
        kind: SpanKind,
        name: String,
        parent: SpanParent?,
        attributes: Map<String, Any?>,
        links: List<Link.Ready>,
    ): SpanContext? {
        var inherit: SpanContext? = null
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
        for (link in links) link.write(enc)
        enc.close(at)
        return inherit
    }

    /**
     * Runs [block] in [span] (see [Tracer.span]): records [input] (when
     * given) and the block's result (unless not [captureOutput], or `Unit`).
     */
    @PublishedApi
    internal inline fun <T> run(span: Span, kind: SpanKind, input: Any?, captureOutput: Boolean, crossinline block: (Span) -> T): T {
        val previous = Current.enter(span)
        try {
            if (input != null) span.capture(false, input, kind)
            val result = block(span)
            if (captureOutput && result !== Unit) span.capture(true, result, kind)
            return result
        } catch (e: Throwable) {
            span.recordException(e)
            throw e
        } finally {
            Current.exit(previous)
            span.end()
        }
    }

    @PublishedApi
    internal suspend fun <T> within(
        span: Span,
        kind: SpanKind,
        input: Any?,
        captureOutput: Boolean,
        block: suspend CoroutineScope.(Span) -> T,
    ): T {
        var context: CoroutineContext = SpanElement(span)
        // A session opened by the blocking `session {}` lives only in the
        // thread local: carry it into the coroutines too.
        if (coroutineContext[SessionElement] == null) Current.session()?.let { context += SessionElement(it) }
        try {
            if (input != null) span.capture(false, input, kind)
            val result = withContext(context) { block(span) }
            if (captureOutput && result !== Unit) span.capture(true, result, kind)
            return result
        } catch (e: Throwable) {
            if (e !is CancellationException) span.recordException(e)
            throw e
        } finally {
            span.end()
        }
    }
}

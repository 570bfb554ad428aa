package dev.agtrace

import io.opentelemetry.api.trace.TraceFlags
import io.opentelemetry.api.trace.TraceState
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator
import io.opentelemetry.context.Context
import io.opentelemetry.context.ContextKey
import io.opentelemetry.context.Scope
import io.opentelemetry.context.propagation.TextMapGetter
import io.opentelemetry.context.propagation.TextMapSetter
import java.lang.ref.Reference
import java.lang.ref.WeakReference
import io.opentelemetry.api.trace.Span as OtelSpan
import io.opentelemetry.api.trace.SpanContext as OtelSpanContext

/**
 * One trace with OpenTelemetry: when `io.opentelemetry:opentelemetry-api` is
 * on the class path, the spans of tracers made with `AGTRACE_OTEL_BRIDGE`
 * on (the default) and the application's OpenTelemetry spans see each
 * other's context.
 *
 * - While an agtrace span (or a [SpanContext]) is current, OpenTelemetry's
 *   current context holds a span with its ids, sampled flag and trace state
 *   (`Span.current().spanContext`), so OpenTelemetry instrumentation (OkHttp,
 *   JDBC, ...) nests its spans under it and propagators inject its
 *   `traceparent`. It is attached when the agtrace value becomes current
 *   ([Current.enter]: blocks, `makeCurrent`, and each time a coroutine
 *   carrying it resumes) and detached when it stops being current, through
 *   OpenTelemetry's public `Context.makeCurrent`, so it works with any
 *   context storage (the Java agent's too).
 * - The default parent of a span ([Current.parent]) is the innermost of
 *   agtrace's current span and OpenTelemetry's: when OpenTelemetry's current
 *   span is the one agtrace attached, agtrace's; when it is another valid
 *   span (started inside the agtrace span, or with no agtrace span current),
 *   that span, as a [SpanContext] with its ids, sampled flag and trace state.
 *
 * Without the API on the class path nothing here runs: [available] is false
 * and the OpenTelemetry classes are never loaded ([Otel] holds every
 * reference to them).
 */
internal object OtelBridge {
    /** Whether the OpenTelemetry API is on the class path (looked up once). */
    @JvmField
    val available: Boolean =
        try {
            Class.forName("io.opentelemetry.context.Context", false, OtelBridge::class.java.classLoader)
            true
        } catch (e: ClassNotFoundException) {
            false
        } catch (e: LinkageError) {
            false
        }

    /** A tracer with the bridge on exists: contexts made current are shown to OpenTelemetry. */
    @Volatile
    @JvmField
    var bridgedTracers = false

    /**
     * A tracer to write and read W3C headers with, for trace state that
     * crosses the bridge with no tracer at hand: the last bridged one.
     */
    @Volatile
    private var headers: WeakReference<Tracer>? = null

    fun headersTracer(): Tracer? = headers?.get()

    /** Whether [tracer], whose setting `otel_bridge` is [on], bridges its spans. */
    fun enable(tracer: Tracer, on: Boolean): Boolean {
        if (!on || !available) return false
        headers = WeakReference(tracer)
        bridgedTracers = true
        return true
    }

    /** The innermost current parent (see the class comment); [local] is agtrace's. */
    fun innermost(local: SpanParent?): SpanParent? = if (bridgedTracers) Otel.innermost(local) else local

    /** [parent] for a span of [tracer]: a tracer with the bridge off takes agtrace's current span, not OpenTelemetry's. */
    fun forTracer(tracer: Tracer?, parent: SpanParent?): SpanParent? =
        if (tracer != null && !tracer.otelBridge && bridgedTracers && Otel.isDerived(parent)) Current.local() else parent

    /** Shows [value] to OpenTelemetry when it becomes current; [exit] undoes the latest [enter] of this thread. */
    fun enter(value: SpanParent?) = Otel.enter(value)

    fun exit() = Otel.exit()
}

/** Everything that touches OpenTelemetry's classes, loaded only when they are there. */
private object Otel {
    /** What agtrace attached: the OpenTelemetry span standing for [value]. */
    class Shown(val span: OtelSpan, val value: SpanParent)

    private val SHOWN: ContextKey<Shown> = ContextKey.named("agtrace.current")

    /** Per thread: the scopes of [enter] (null where nothing was attached), innermost last. */
    private val scopes = ThreadLocal.withInitial { ArrayList<Scope?>() }

    /** Per thread: the last OpenTelemetry span context made into a parent, and that parent. */
    private val derived = ThreadLocal<Pair<OtelSpanContext, SpanContext>?>()

    fun enter(value: SpanParent?) {
        scopes.get().add(if (shows(value)) attach(value!!) else null)
    }

    fun exit() {
        val stack = scopes.get()
        if (stack.isNotEmpty()) stack.removeAt(stack.size - 1)?.close()
    }

    private fun shows(value: SpanParent?): Boolean =
        when (value) {
            null -> false
            is Span -> value.tracer?.otelBridge == true && (value.traceA != 0L || value.traceB != 0L)
            is SpanContext -> OtelBridge.bridgedTracers
        }

    private fun attach(value: SpanParent): Scope? =
        try {
            val span = OtelSpan.wrap(spanContextOf(value) ?: return null)
            Context.current().with(span).with(SHOWN, Shown(span, value)).makeCurrent()
        } catch (e: RuntimeException) {
            Log.warn("OpenTelemetry bridge: $e")
            null
        }

    fun innermost(local: SpanParent?): SpanParent? {
        val context = Context.current()
        val span = OtelSpan.fromContext(context)
        val shown = context.get(SHOWN)
        if (shown != null && shown.span === span) return shown.value
        val c = span.spanContext
        if (!c.isValid) return local
        derived.get()?.let { (otel, parent) -> if (otel == c) return parent }
        return parentOf(c)?.also { derived.set(c to it) } ?: local
    }

    fun isDerived(parent: SpanParent?): Boolean = parent != null && derived.get()?.second === parent

    /** An agtrace parent with the ids, flags and trace state of an OpenTelemetry span. */
    private fun parentOf(c: OtelSpanContext): SpanContext? {
        // The trace state goes through the W3C headers, which both sides read.
        val state =
            if (c.traceState.isEmpty) {
                null
            } else {
                val headers = HashMap<String, String>()
                W3C.inject(Context.root().with(OtelSpan.wrap(c)), headers, MapAccess)
                OtelBridge.headersTracer()?.extract(headers)
            }
        val out = LongArray(1)
        val err = LongArray(1)
        return try {
            Abi.check(Abi.agtrace_context_new(c.traceIdBytes, c.spanIdBytes, c.traceFlags.asByte(), state?.handle ?: 0L, out, err), err)
            SpanContext(out[0], inherits = state?.inherits == true)
        } catch (e: AgtraceException) {
            Log.warn("OpenTelemetry bridge: $e")
            null
        } finally {
            Reference.reachabilityFence(state)
        }
    }

    /**
     * The OpenTelemetry span context of an agtrace span or context. A span's
     * comes from the ids it holds (no call into the library: this runs each
     * time a span becomes current); its trace state, when it has one, from
     * its context's headers.
     */
    private fun spanContextOf(value: SpanParent): OtelSpanContext? =
        when (value) {
            is Span ->
                OtelSpanContext.create(
                    hex(value.traceA, value.traceB),
                    hex(value.spanId),
                    if (value.flags and 1 != 0) TraceFlags.getSampled() else TraceFlags.getDefault(),
                    value.inherit?.let { traceState(value.context ?: return null) } ?: TraceState.getDefault(),
                )
            is SpanContext ->
                OtelSpanContext.create(
                    value.traceId,
                    value.spanId,
                    if (value.isSampled) TraceFlags.getSampled() else TraceFlags.getDefault(),
                    traceState(value),
                )
        }

    private const val DIGITS = "0123456789abcdef"

    /** The hex of ids held as the protocol's bytes read as little-endian longs (see [Span]). */
    private fun hex(vararg words: Long): String {
        val out = CharArray(words.size * 16)
        var at = 0
        for (w in words) {
            for (i in 0 until 8) {
                val b = (w ushr (8 * i)).toInt() and 0xff
                out[at++] = DIGITS[b shr 4]
                out[at++] = DIGITS[b and 15]
            }
        }
        return String(out)
    }

    private fun traceState(context: SpanContext): TraceState {
        if (!context.inherits) return TraceState.getDefault()
        val headers = OtelBridge.headersTracer()?.inject(context) ?: return TraceState.getDefault()
        return OtelSpan.fromContext(W3C.extract(Context.root(), headers, MapAccess)).spanContext.traceState
    }

    private val W3C = W3CTraceContextPropagator.getInstance()

    private object MapAccess : TextMapGetter<Map<String, String>>, TextMapSetter<MutableMap<String, String>> {
        override fun keys(carrier: Map<String, String>): Iterable<String> = carrier.keys

        override fun get(carrier: Map<String, String>?, key: String): String? = carrier?.get(key)

        override fun set(carrier: MutableMap<String, String>?, key: String, value: String) {
            carrier?.put(key, value)
        }
    }
}

package dev.agtrace

import com.sun.net.httpserver.HttpServer
import io.opentelemetry.api.trace.SpanKind as OtelSpanKind
import io.opentelemetry.api.trace.TraceFlags
import io.opentelemetry.api.trace.TraceState
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator
import io.opentelemetry.context.Context
import io.opentelemetry.context.propagation.ContextPropagators
import io.opentelemetry.context.propagation.TextMapSetter
import io.opentelemetry.instrumentation.okhttp.v3_0.OkHttpTelemetry
import io.opentelemetry.sdk.OpenTelemetrySdk
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter
import io.opentelemetry.sdk.trace.SdkTracerProvider
import io.opentelemetry.sdk.trace.data.SpanData
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.yield
import okhttp3.OkHttpClient
import okhttp3.Request
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.net.InetSocketAddress
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import io.opentelemetry.api.trace.Span as OtelSpan
import io.opentelemetry.api.trace.SpanContext as OtelSpanContext

/**
 * One trace with OpenTelemetry (OtelBridge.kt), with the real OpenTelemetry
 * SDK (spans to an InMemorySpanExporter) and OkHttp instrumented by
 * OpenTelemetry's library instrumentation, calling a JDK HTTP server on
 * 127.0.0.1. agtrace's spans are read from its file exporter.
 */
class OtelBridgeTest : TracedTest() {
    private val exporter = InMemorySpanExporter.create()
    private val otel =
        OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build())
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
            .build()
    private val otelTracer = otel.getTracer("agtrace-tests")

    /** The `traceparent` of each request the server got. */
    private val received = LinkedBlockingQueue<String>()
    private val server =
        HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
            createContext("/") { exchange ->
                received += exchange.requestHeaders.getFirst("traceparent") ?: "none"
                exchange.sendResponseHeaders(204, -1)
                exchange.close()
            }
            start()
        }
    private val url = "http://127.0.0.1:${server.address.port}/weather"

    @AfterEach
    fun stop() {
        server.stop(0)
        otel.close()
    }

    private fun otelSpans(): List<SpanData> = exporter.finishedSpanItems

    private fun otelOne(name: String): SpanData =
        otelSpans().singleOrNull { it.name == name } ?: error("want one OpenTelemetry span $name, got ${otelSpans().map { it.name }}")

    private fun ids(span: Span): Pair<String, String> = span.context!!.let { it.traceId to it.spanId }

    private fun ids(c: OtelSpanContext): Pair<String, String> = c.traceId to c.spanId

    private fun currentOtel(): Pair<String, String> = ids(OtelSpan.current().spanContext)

    @Test
    fun `an agtrace span, OkHttp's client span and the request are one trace`() {
        val client = OkHttpTelemetry.create(otel).createCallFactory(OkHttpClient())
        val root = tracer.span("plan trip", kind = SpanKind.AGENT) { s ->
            client.newCall(Request.Builder().url(url).build()).execute().use { assertEquals(204, it.code) }
            s
        }
        val (traceId, rootId) = ids(root)
        val http = otelOne("GET")
        assertEquals(OtelSpanKind.CLIENT, http.kind)
        assertEquals(traceId, http.traceId)
        assertEquals(rootId, http.parentSpanId)
        assertEquals("00-$traceId-${http.spanId}-01", received.poll(10, TimeUnit.SECONDS))
        assertNull(traced.one("plan trip").parentSpanId)
    }

    @Test
    fun `OpenTelemetry sees the current agtrace span and injects its traceparent`() {
        assertFalse(OtelSpan.current().spanContext.isValid)
        tracer.span("outer") { outer ->
            assertEquals(ids(outer), currentOtel())
            assertTrue(OtelSpan.current().spanContext.isSampled)
            tracer.span("inner") { inner -> assertEquals(ids(inner), currentOtel()) }
            val headers = HashMap<String, String>()
            otel.propagators.textMapPropagator.inject(Context.current(), headers, TextMapSetter { c, k, v -> c!![k] = v })
            assertEquals("00-${ids(outer).first}-${ids(outer).second}-01", headers["traceparent"])
            outer.makeCurrent().use { assertEquals(ids(outer), currentOtel()) }
        }
        assertFalse(OtelSpan.current().spanContext.isValid)
    }

    @Test
    fun `an agtrace span under an OpenTelemetry span is its child`() {
        val request = otelTracer.spanBuilder("http request").startSpan()
        request.makeCurrent().use {
            tracer.span("agent", kind = SpanKind.AGENT) { tracer.span("tool", kind = SpanKind.TOOL) { } }
            tracer.span("new trace", parent = null) { }
        }
        request.end()
        val spans = traced.spans()
        val (traceId, requestId) = ids(request.spanContext)
        val agent = one(spans, "agent")
        assertEquals(traceId to requestId, agent.traceId to agent.parentSpanId)
        assertEquals(agent.spanId, one(spans, "tool").parentSpanId)
        assertNotEquals(traceId, one(spans, "new trace").traceId, "parent = null starts a new trace")
    }

    @Test
    fun `the OpenTelemetry parent's sampled flag and trace state are inherited`() {
        val unsampled =
            OtelSpanContext.create("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", TraceFlags.getDefault(), TraceState.getDefault())
        OtelSpan.wrap(unsampled).makeCurrent().use {
            tracer.span("under it") {
                assertEquals("0af7651916cd43dd8448eb211c80319c", it.context!!.traceId)
                assertFalse(it.context!!.isSampled)
            }
        }
        val remote =
            OtelSpanContext.createFromRemoteParent(
                "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", TraceFlags.getSampled(),
                TraceState.builder().put("vendor", "opaque").build(),
            )
        val headers =
            OtelSpan.wrap(remote).makeCurrent().use {
                tracer.span("continued") {
                    tracer.span("child") { tracer.inject() } to OtelSpan.current().spanContext.traceState.get("vendor")
                }
            }
        val spans = traced.spans()
        assertTrue(named(spans, "under it").isEmpty())
        val continued = one(spans, "continued")
        assertEquals("4bf92f3577b34da6a3ce929d0e0e4736" to "00f067aa0ba902b7", continued.traceId to continued.parentSpanId)
        assertEquals("vendor=opaque", headers.first["tracestate"])
        assertEquals("opaque", headers.second, "OpenTelemetry sees the trace state of the agtrace span")
    }

    @Test
    fun `spans nest by whichever is innermost`() {
        val a1 = tracer.span("a1") { a1 ->
            val o1 = otelTracer.spanBuilder("o1").startSpan()
            o1.makeCurrent().use {
                tracer.span("a2") { a2 ->
                    assertEquals(ids(a2), currentOtel())
                    val o2 = otelTracer.spanBuilder("o2").startSpan()
                    o2.makeCurrent().use { tracer.span("a3") { } }
                    o2.end()
                    tracer.span("a4") { }
                }
                tracer.span("a5") { }
            }
            o1.end()
            assertEquals(ids(a1), currentOtel())
            otelTracer.spanBuilder("o3").startSpan().end()
            a1
        }
        val spans = traced.spans()
        val parent = spans.associate { it.name to it.parentSpanId }
        val traces = spans.map { it.traceId }.toSet() + otelSpans().map { it.traceId }
        assertEquals(setOf(ids(a1).first), traces, "one trace")
        assertEquals(ids(a1).second, otelOne("o1").parentSpanId)
        assertEquals(otelOne("o1").spanId, parent["a2"])
        assertEquals(one(spans, "a2").spanId, otelOne("o2").parentSpanId)
        assertEquals(otelOne("o2").spanId, parent["a3"])
        assertEquals(one(spans, "a2").spanId, parent["a4"])
        assertEquals(otelOne("o1").spanId, parent["a5"])
        assertEquals(ids(a1).second, otelOne("o3").parentSpanId)
    }

    @Test
    fun `coroutines carry the bridged context across threads`() {
        runBlocking {
            tracer.withSpan("fan out") { root ->
                (0 until 3).map { n ->
                    async(Dispatchers.Default) {
                        tracer.withSpan("task $n") { task ->
                            withContext(Dispatchers.IO) {
                                yield()
                                assertEquals(ids(task), currentOtel())
                                otelTracer.spanBuilder("call $n").startSpan().end()
                            }
                        }
                    }
                }.awaitAll()
                assertEquals(ids(root), currentOtel())
            }
        }
        val spans = traced.spans()
        for (n in 0 until 3) assertEquals(one(spans, "task $n").spanId, otelOne("call $n").parentSpanId)
        assertFalse(OtelSpan.current().spanContext.isValid, "nothing left attached on this thread")
    }
}

/** `AGTRACE_OTEL_BRIDGE=false`: the two stay apart. */
class OtelBridgeOffTest : TracedTest() {
    override val settings: Map<String, Any> = mapOf("AGTRACE_OTEL_BRIDGE" to false)

    @Test
    fun `spans stay apart from OpenTelemetry`() {
        assertEquals(false, tracer.config()["otel_bridge"])
        val otelTracer = SdkTracerProvider.builder().build().get("t")
        val request = otelTracer.spanBuilder("request").startSpan()
        request.makeCurrent().use {
            tracer.span("apart") { assertEquals(request.spanContext, OtelSpan.current().spanContext) }
        }
        request.end()
        tracer.span("alone") { assertFalse(OtelSpan.current().spanContext.isValid) }
        val apart = traced.one("apart")
        assertNull(apart.parentSpanId)
        assertNotEquals(request.spanContext.traceId, apart.traceId)
    }
}

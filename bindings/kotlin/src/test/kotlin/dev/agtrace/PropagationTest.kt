package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** inject/extract: W3C by default, B3 when configured, remote parents. */
class PropagationTest : TracedTest() {
    @Test
    fun `inject writes traceparent for the current span`() {
        val (headers, ids) =
            tracer.span("client call") { s -> tracer.inject() to s.context!! }
        assertEquals("00-${ids.traceId}-${ids.spanId}-01", headers["traceparent"])
        assertTrue(tracer.inject(null).isEmpty(), "no span: no headers")
    }

    @Test
    fun `extract continues a remote trace`() {
        val incoming = mapOf("TraceParent" to "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "baggage" to "tenant=acme")
        val remote = tracer.extract(incoming)!!
        assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", remote.traceId)
        assertEquals("00f067aa0ba902b7", remote.spanId)
        assertTrue(remote.isSampled)
        tracer.span("server", parent = remote) {
            val out = tracer.inject()
            assertTrue(out["traceparent"]!!.startsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
            assertEquals("tenant=acme", out["baggage"])
        }
        remote.makeCurrent().use { tracer.span("under current remote") { } }
        val spans = traced.spans()
        for (name in listOf("server", "under current remote")) {
            assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", one(spans, name).traceId, name)
            assertEquals("00f067aa0ba902b7", one(spans, name).parentSpanId, name)
        }
    }

    @Test
    fun `malformed or missing headers extract nothing`() {
        assertNull(tracer.extract(emptyMap()))
        assertNull(tracer.extract(mapOf("traceparent" to "00-zz-nope")))
        assertNull(tracer.extract(mapOf("unrelated" to "x")))
    }
}

class B3PropagationTest : TracedTest() {
    override val settings: Map<String, Any> = mapOf("OTEL_PROPAGATORS" to listOf("b3multi", "tracecontext"))

    @Test
    fun `b3 multi headers round trip`() {
        val headers = tracer.span("b3") { tracer.inject() }
        assertTrue("x-b3-traceid" in headers.keys.map { it.lowercase() }, headers.toString())
        assertTrue("traceparent" in headers, headers.toString())
        val back = tracer.extract(headers.filterKeys { it.lowercase().startsWith("x-b3") })!!
        val exported = traced.one("b3")
        assertEquals(exported.traceId, back.traceId)
        assertEquals(exported.spanId, back.spanId)
        assertFalse(back.traceId.all { it == '0' })
    }
}

package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import kotlin.time.Duration.Companion.milliseconds

/**
 * Bad input gives an [AgtraceException.InvalidArgument] naming what was
 * wrong, at the call that passed it; nothing else breaks: the span
 * survives, the current span is restored, other spans still export.
 */
class ErrorsTest : TracedTest() {
    private class Opaque

    private fun assertInvalid(fragment: String, call: () -> Unit) {
        val e = assertThrows<AgtraceException.InvalidArgument>(call)
        assertTrue(e.message!!.contains(fragment), "\"${e.message}\" should mention \"$fragment\"")
    }

    @Test
    fun `bad span arguments throw and start nothing`() {
        val cases: List<Pair<String, () -> Unit>> =
            listOf(
                "empty" to { tracer.startSpan("") },
                "NUL" to { tracer.startSpan("nul\u0000name") },
                "non-empty" to { tracer.startSpan("ok", attributes = mapOf("" to 1)) },
                "control character" to { tracer.startSpan("ok", attributes = mapOf("bell\u0007key" to 1)) },
                "NUL" to { tracer.startSpan("ok", attributes = mapOf("nul\u0000key" to 1)) },
                "Opaque" to { tracer.startSpan("ok", attributes = mapOf("obj" to Opaque())) },
                "nested" to { tracer.startSpan("ok", attributes = mapOf("nested" to mapOf("deep" to listOf(Opaque())))) },
                "map keys must be strings" to { tracer.startSpan("ok", attributes = mapOf("m" to mapOf(1 to "one"))) },
                "finite" to { tracer.startSpan("ok", attributes = mapOf("l" to listOf(Double.NaN))) },
            )
        for ((fragment, call) in cases) assertInvalid(fragment, call)
        // Also in a span block: nothing started, nothing current.
        assertInvalid("empty") { tracer.span("") { } }
        assertEquals(null, Agtrace.currentSpan())
        tracer.span("after the errors") { }
        assertEquals(listOf("after the errors"), traced.spans().map { it.name })
        assertEquals(1L, tracer.stats().started)
    }

    @Test
    fun `bad span method arguments throw and the span survives`() {
        tracer.span("survivor") { s ->
            s.setAttribute("before", 1)
            assertInvalid("empty") { s.setAttribute("", "x") }
            assertInvalid("NUL") { s.setAttribute("a\u0000b", 1) }
            assertInvalid("Opaque") { s.setAttributes(mapOf("fine" to 1, "obj" to Opaque())) }
            assertInvalid("non-negative") { s.setUsage(inputTokens = -1) }
            assertInvalid("-5") { s.setUsage(1, outputTokens = -5) }
            assertInvalid("not JSON") { s.setJsonAttribute("j", "{not json") }
            assertInvalid("NUL") { s.updateName("chat\u0000gpt") }
            assertInvalid("NUL") { s.setStatus(StatusCode.ERROR, "bad\u0000thing") }
            assertInvalid("empty") { s.setTool("") }
            assertInvalid("empty") { s.setAgent("") }
            assertInvalid("empty") { s.addEvent("") }
            assertInvalid("Opaque") { s.addEvent("ev", mapOf("k" to Opaque())) }
            assertInvalid("messages") { s.setMessages(input = listOf(Opaque())) }
            s.setAttribute("after", 2)
        }
        val a = traced.one("survivor").attributes
        assertEquals(1L, a["before"])
        assertEquals(2L, a["after"])
        assertFalse("fine" in a, "setAttributes is all or nothing")
        assertFalse("agtrace.abandoned" in a)
    }

    @Test
    fun `bad arguments are checked before init too`() {
        // Spans of no tracer record nothing, but the same calls fail the same way.
        val span = Spans.start(null, "unrecorded", SpanKind.PLAIN, emptyMap(), null)
        assertFalse(span.isRecording)
        assertInvalid("empty") { Spans.start(null, "", SpanKind.PLAIN, emptyMap(), null) }
        assertInvalid("control character") { span.setAttribute("a\u0001", "x") }
        span.end()
    }

    @Test
    fun `bad timeouts throw`() {
        assertInvalid("timeout") { tracer.flush((-1).milliseconds) }
        assertInvalid("timeout") { tracer.shutdown((-1).milliseconds) }
        assertFalse(tracer.isShutDown)
    }

    @Test
    fun `bad live configuration throws InvalidConfig naming the key`() {
        val e = assertThrows<AgtraceException.InvalidConfig> { tracer.updateRedaction(mapOf("redact_everything" to true)) }
        assertTrue(e.message!!.contains("redact_everything"), e.message)
        val r = assertThrows<AgtraceException.InvalidConfig> { tracer.updateSampling(mapOf("rate" to 2.0)) }
        assertTrue(r.message!!.contains("rate"), r.message)
        assertThrows<AgtraceException.InvalidArgument> { tracer.updateSampling(mapOf("rate" to Opaque())) }
    }

    @Test
    fun `every error is an AgtraceException`() {
        val all: List<AgtraceException> =
            listOf(
                AgtraceException.InvalidArgument("a"),
                AgtraceException.InvalidConfig("b"),
                AgtraceException.AlreadyEnded("c"),
                AgtraceException.ShutDown("d"),
                AgtraceException.Timeout("e"),
                AgtraceException.Exporter("f"),
                AgtraceException.Internal("g"),
            )
        assertEquals(7, all.map { it::class }.toSet().size)
        assertTrue(all.all { it is RuntimeException })
    }
}

package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.nio.file.Path
import kotlin.time.Duration.Companion.milliseconds

/**
 * At run time no call throws into the application: misuse drops what it
 * cannot record, the rest of the call and the span survive, and it is
 * counted by kind in `stats().misuse`. Setup errors throw, naming the
 * setting.
 */
class ErrorsTest : TracedTest() {
    private fun misuse(): Map<String, Long> = tracer.stats().misuse

    @Test
    fun `bad span arguments are dropped and counted`() {
        tracer.startSpan("").end()
        tracer.startSpan("nul\u0000name").end()
        tracer.startSpan("keys", attributes = mapOf("" to 1, "bell\u0007key" to 2, "kept" to 3)).end()
        tracer.span("") { }
        val spans = traced.spans()
        assertEquals(3, named(spans, Spans.UNNAMED).size, "a span with a bad name still runs, named ${Spans.UNNAMED}")
        val keys = one(spans, "keys").attributes
        assertEquals(3L, keys["kept"])
        assertFalse(keys.keys.any { it.isEmpty() || it.startsWith("bell") }, keys.toString())
        assertEquals(5L, misuse()["bad_name"])
        assertNull(Agtrace.currentSpan())
    }

    @Test
    fun `bad span method arguments are dropped and the span survives`() {
        tracer.span("survivor") { s ->
            s.setAttribute("before", 1)
            s.setAttribute("", "x")
            s.setAttribute("a\u0001b", 1)
            s.setAttributes(mapOf("fine" to 1, "" to 2))
            s.setUsage(inputTokens = -1)
            s.setJsonAttribute("j", "{not json")
            s.updateName("chat\u0000gpt")
            s.setTool("")
            s.setAgent("")
            s.addEvent("")
            s.addEvent("ev", mapOf("" to 1, "k" to 2))
            s.setAttribute("after", 2)
        }
        val survivor = traced.one("survivor")
        val a = survivor.attributes
        assertEquals(1L, a["before"])
        assertEquals(2L, a["after"])
        assertEquals(1L, a["fine"], "setAttributes drops the bad entry only")
        assertFalse("j" in a)
        assertFalse("gen_ai.usage.input_tokens" in a)
        assertFalse("agtrace.abandoned" in a)
        assertEquals(mapOf("k" to 2L), survivor.event("ev").attributes)
        assertEquals(listOf("ev"), survivor.events.map { it.name })
        val m = misuse()
        assertEquals(8L, m["bad_name"], m.toString())
        assertEquals(2L, m["bad_value"], m.toString())
    }

    @Test
    fun `ending twice and recording after the end are counted`() {
        val span = tracer.startSpan("twice")
        span.end()
        span.end()
        span.setAttribute("late", 1)
        span.addEvent("late event")
        assertEquals(3L, misuse()["ended_twice"])
        assertEquals(1, traced.spans().size)
        assertFalse("late" in traced.one("twice").attributes)
    }

    @Test
    fun `bad timeouts count as zero`() {
        assertTrue(tracer.flush((-1).milliseconds))
        assertEquals(1L, misuse()["bad_call"])
        assertFalse(tracer.isShutDown)
    }

    @Test
    fun `before init nothing throws either`() {
        val span = Spans.start(null, "", SpanKind.PLAIN, mapOf("" to 1), null)
        assertFalse(span.isRecording)
        span.setAttribute("a\u0001", "x")
        span.end()
        span.end()
    }

    @Test
    fun `bad live configuration throws InvalidConfig naming the key`() {
        val e = assertThrows<AgtraceException.InvalidConfig> { tracer.updateRedaction(mapOf("redact_everything" to true)) }
        assertTrue(e.message!!.contains("redact_everything"), e.message)
        val r = assertThrows<AgtraceException.InvalidConfig> { tracer.updateSampling(mapOf("rate" to 2.0)) }
        assertTrue(r.message!!.contains("rate"), r.message)
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

    @Test
    fun `exception type is the canonical class name, message the throwable's message`() {
        class Local : RuntimeException()
        tracer.span("nested") { it.recordException(Failure.Timeout("took too long")) }
        tracer.span("local") { it.recordException(Local()) }
        val nested = traced.one("nested").event("exception").attributes
        assertEquals("dev.agtrace.ErrorsTest.Failure.Timeout", nested["exception.type"])
        assertEquals("took too long", nested["exception.message"])
        assertEquals("took too long", traced.one("nested").statusMessage)
        val local = traced.one("local").event("exception").attributes
        assertTrue((local["exception.type"] as String).startsWith("dev.agtrace.ErrorsTest"), local.toString())
        assertEquals("", local["exception.message"] ?: "")
    }

    sealed class Failure(message: String) : Exception(message) {
        class Timeout(message: String) : Failure(message)
    }
}

/** Strict mode (`AGTRACE_STRICT=true`): misuse is counted, then thrown. */
class StrictTest : TracedTest() {
    override val settings: Map<String, Any> = mapOf("AGTRACE_STRICT" to true)

    private fun assertInvalid(fragment: String, call: () -> Unit) {
        val e = assertThrows<AgtraceException.InvalidArgument>(call)
        assertTrue(e.message!!.contains(fragment), "\"${e.message}\" should mention \"$fragment\"")
    }

    @Test
    fun `misuse throws InvalidArgument naming what was wrong`() {
        assertInvalid("span name") { tracer.startSpan("") }
        assertInvalid("bell") { tracer.startSpan("ok", attributes = mapOf("bell\u0007key" to 1)) }
        tracer.span("strict") { s ->
            assertInvalid("not JSON") { s.setJsonAttribute("j", "{") }
            assertInvalid("non-negative") { s.setUsage(outputTokens = -5) }
            assertInvalid("event name") { s.addEvent("") }
            s.setAttribute("after", 1)
        }
        val span = tracer.startSpan("ended")
        span.end()
        assertInvalid("ended twice") { span.end() }
        assertEquals(1L, traced.one("strict").attributes["after"])
        val m = tracer.stats().misuse
        assertEquals(mapOf("bad_name" to 3L, "bad_value" to 2L, "ended_twice" to 1L), m.filterValues { it > 0 })
    }
}

/** Setup errors still throw, naming the setting. */
class SetupErrorsTest {
    @org.junit.jupiter.api.io.TempDir
    lateinit var dir: Path

    @Test
    fun `a bad setting throws InvalidConfig naming it`() {
        val e = assertThrows<AgtraceException.InvalidConfig> { Tracer { ignoreEnv = true; settings["AGTRACE_STRICT"] = "sometimes" } }
        assertTrue(e.message!!.contains("AGTRACE_STRICT"), e.message)
        val c = assertThrows<AgtraceException.InvalidConfig> { Tracer { ignoreEnv = true; settings["AGTRACE_CAPTURE_IO"] = "maybe" } }
        assertTrue(c.message!!.contains("AGTRACE_CAPTURE_IO"), c.message)
    }
}

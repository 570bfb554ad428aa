package dev.agtrace

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** A span block's input and result recorded as OpenInference input/output (and a tool's call arguments/result). */
class CaptureTest : TracedTest() {
    private fun io(span: Exported): Map<String, Any?> =
        span.attributes.filterKeys { it.startsWith("input.") || it.startsWith("output.") || it.startsWith("gen_ai.tool.call.") }

    @Test
    fun `a tool span records its input and result as OpenInference and GenAI attributes`() {
        val answer =
            tracer.span("execute_tool get_weather", kind = SpanKind.TOOL, input = mapOf("city" to "Oslo")) {
                "sunny in Oslo"
            }
        assertEquals("sunny in Oslo", answer)
        assertEquals(
            mapOf(
                "input.value" to """{"city":"Oslo"}""",
                "input.mime_type" to "application/json",
                "gen_ai.tool.call.arguments" to """{"city":"Oslo"}""",
                "output.value" to "sunny in Oslo",
                "output.mime_type" to "text/plain",
                "gen_ai.tool.call.result" to "\"sunny in Oslo\"",
            ),
            io(traced.one("execute_tool get_weather")),
        )
    }

    @Test
    fun `structured results are JSON, text is plain, Unit is no output`() {
        tracer.span("list") { listOf(1, 2, 3) }
        tracer.span("number", input = 7) { 42 }
        tracer.span("text input", input = "hello") { }
        tracer.span("null result") { null }
        val spans = traced.spans()
        assertEquals(mapOf("output.value" to "[1,2,3]", "output.mime_type" to "application/json"), io(one(spans, "list")))
        assertEquals(
            mapOf(
                "input.value" to "7",
                "input.mime_type" to "application/json",
                "output.value" to "42",
                "output.mime_type" to "application/json",
            ),
            io(one(spans, "number")),
        )
        assertEquals(mapOf("input.value" to "hello", "input.mime_type" to "text/plain"), io(one(spans, "text input")))
        assertEquals(mapOf("output.value" to "null", "output.mime_type" to "application/json"), io(one(spans, "null result")))
    }

    @Test
    fun `captureOutput false records the input only`() {
        tracer.span("secret answer", input = "q", captureOutput = false) { "the answer" }
        assertEquals(mapOf("input.value" to "q", "input.mime_type" to "text/plain"), io(traced.one("secret answer")))
    }

    @Test
    fun `suspending spans and an exception's span record what they can`() =
        runBlocking {
            val r = tracer.withSpan("suspending", input = mapOf("n" to 2)) { withContext(Dispatchers.IO) { mapOf("twice" to 4) } }
            assertEquals(mapOf("twice" to 4), r)
            assertThrows(IllegalStateException::class.java) {
                tracer.span("failing", input = "x") { throw IllegalStateException("no") }
            }
            val spans = traced.spans()
            assertEquals("""{"twice":4}""", one(spans, "suspending").attributes["output.value"])
            assertEquals("""{"n":2}""", one(spans, "suspending").attributes["input.value"])
            val failing = one(spans, "failing")
            assertEquals(mapOf("input.value" to "x", "input.mime_type" to "text/plain"), io(failing))
            assertEquals("error", failing.status)
        }

    @Test
    fun `a conversion runs outside the span, so a value's own code may record on it`() {
        val sneaky =
            object {
                override fun toString(): String {
                    Agtrace.currentSpan()?.setAttribute("from.toString", true)
                    tracer.span("started in toString") { }
                    return "sneaky"
                }
            }
        tracer.span("outer") { s -> s.setAttribute("value", sneaky) }
        val spans = traced.spans()
        assertEquals("sneaky", one(spans, "outer").attributes["value"])
        assertEquals(true, one(spans, "outer").attributes["from.toString"])
        assertEquals(one(spans, "outer").spanId, one(spans, "started in toString").parentSpanId)
    }
}

/** `AGTRACE_CAPTURE_IO=false` turns capture off for every span. */
class CaptureOffTest : TracedTest() {
    override val settings: Map<String, Any> = mapOf("AGTRACE_CAPTURE_IO" to false)

    @Test
    fun `nothing is captured`() {
        assertEquals(false, tracer.config()["capture_io"])
        tracer.span("quiet", kind = SpanKind.TOOL, input = mapOf("city" to "Oslo")) { "sunny" }
        val a = traced.one("quiet").attributes
        assertFalse(a.keys.any { it.startsWith("input.") || it.startsWith("output.") || it.startsWith("gen_ai.tool.call.") }, a.toString())
    }
}

/** The mask sees captured values and messages, converted, before they are encoded. */
class MaskTest {
    @org.junit.jupiter.api.io.TempDir
    lateinit var dir: java.nio.file.Path

    private fun traced(strict: Boolean = false, mask: (Any?) -> Any?): Traced =
        Traced(
            dir,
            buildMap {
                put("AGTRACE_CAPTURE_CONTENT", true)
                if (strict) put("AGTRACE_STRICT", true)
            },
            mask,
        )

    @Test
    fun `the mask rewrites inputs, outputs and messages`() {
        val seen = ArrayList<Any?>()

        fun scrub(v: Any?): Any? =
            when (v) {
                is Map<*, *> -> v.mapValues { (k, x) -> if (k == "ssn") "***" else scrub(x) }
                is List<*> -> v.map(::scrub)
                is String -> v.replace("4111", "####")
                else -> v
            }
        traced { v ->
            seen += v
            scrub(v)
        }.use { t ->
            t.tracer.span("masked", input = mapOf("ssn" to "123-45-6789", "name" to "Ann")) { s ->
                s.setMessages(input = listOf(mapOf("role" to "user", "content" to "card 4111")))
                "paid with 4111"
            }
            val a = t.one("masked").attributes
            assertEquals("""{"ssn":"***","name":"Ann"}""", a["input.value"])
            assertEquals("paid with ####", a["output.value"])
            assertTrue((a["gen_ai.input.messages"] as String).contains("####"), a.toString())
            assertFalse(a.values.any { it.toString().contains("4111") || it.toString().contains("123-45") }, a.toString())
        }
        // The mask got the converted form: a map with string keys, lists.
        assertEquals(mapOf("ssn" to "123-45-6789", "name" to "Ann"), seen[0])
        assertEquals(listOf(mapOf("role" to "user", "content" to "card 4111")), seen[1])
    }

    @Test
    fun `a mask that throws drops the value and is counted, never thrown`() {
        traced { throw IllegalStateException("mask bug") }.use { t ->
            val r = t.tracer.span("unmasked", input = "secret") { "also secret" }
            assertEquals("also secret", r)
            val a = t.one("unmasked").attributes
            assertFalse(a.keys.any { it.startsWith("input.") || it.startsWith("output.") }, a.toString())
            assertEquals(2L, t.tracer.stats().misuse["mask_failed"])
        }
    }

    @Test
    fun `in strict mode a mask that throws throws`() {
        traced(strict = true) { throw IllegalStateException("mask bug") }.use { t ->
            assertThrows(AgtraceException.InvalidArgument::class.java) { t.tracer.span("strict", input = "secret") { } }
            assertEquals(1L, t.tracer.stats().misuse["mask_failed"])
        }
    }
}

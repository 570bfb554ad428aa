package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Spans from blocking code: nesting, attributes, errors, status, events, `use {}`. */
class SpansTest : TracedTest() {
    @Test
    fun `span blocks nest and end in order`() {
        val result =
            tracer.span("invoke_agent planner", kind = SpanKind.AGENT) { agent ->
                assertSame(agent, Agtrace.currentSpan())
                tracer.span("chat gpt-4o", kind = SpanKind.LLM) { llm ->
                    assertSame(llm, Agtrace.currentSpan())
                }
                assertSame(agent, Agtrace.currentSpan(), "the inner block restored the current span")
                tracer.span("execute_tool search", kind = SpanKind.TOOL) { }
                42
            }
        assertEquals(42, result)
        assertNull(Agtrace.currentSpan())

        val spans = traced.spans()
        val agent = one(spans, "invoke_agent planner")
        assertNull(agent.parentSpanId)
        assertEquals("agent", agent.attributes["agtrace.kind"])
        assertEquals("invoke_agent", agent.attributes["gen_ai.operation.name"])
        for (name in listOf("chat gpt-4o", "execute_tool search")) {
            val child = one(spans, name)
            assertEquals(agent.spanId, child.parentSpanId, name)
            assertEquals(agent.traceId, child.traceId, name)
        }
        assertEquals("CLIENT", one(spans, "chat gpt-4o").kind)
        assertEquals("INTERNAL", one(spans, "execute_tool search").kind)
        assertEquals("AGENT", agent.attributes["openinference.span.kind"])
    }

    @Test
    fun `attributes keep their types`() {
        tracer.span(
            "typed",
            attributes =
                mapOf(
                    "text" to "hello",
                    "int" to 7,
                    "long" to 9_000_000_000L,
                    "double" to 1.5,
                    "float" to 0.25f,
                    "flag" to true,
                    "words" to listOf("a", "b"),
                    "numbers" to listOf(1, 2, 3),
                    "ratios" to listOf(0.5, 1.5),
                    "flags" to listOf(true, false),
                    "nested" to mapOf("k" to listOf(1, mapOf("deep" to "x"))),
                    "skipped" to null,
                    "nul" to "a\u0000b",
                ),
        ) { s ->
            s.setAttribute("set.text", "t")
            s.setAttribute("set.long", 5L)
            s.setAttribute("set.int", 6)
            s.setAttribute("set.double", 2.5)
            s.setAttribute("set.bool", false)
            s.setAttribute("set.words", listOf("x", "y"))
            s.setAttribute("set.longs", listOf(1L, 2L))
            s.setAttribute("set.doubles", listOf(0.1, 0.2))
            s.setAttribute("set.bools", listOf(true))
            s.setAttribute("set.nan", Double.NaN)
            s.setJsonAttribute("set.json", """{"a": [1, 2]}""")
            s.setAttributes(mapOf("many.a" to "1", "many.b" to 2))
            s.setAttribute("text", "overwritten")
        }
        val a = traced.one("typed").attributes
        assertEquals("overwritten", a["text"])
        assertEquals(7L, a["int"])
        assertEquals(9_000_000_000L, a["long"])
        assertEquals(1.5, a["double"])
        assertEquals(0.25, a["float"])
        assertEquals(true, a["flag"])
        assertEquals(listOf("a", "b"), a["words"])
        assertEquals(listOf(1L, 2L, 3L), a["numbers"])
        assertEquals(listOf(0.5, 1.5), a["ratios"])
        assertEquals(listOf(true, false), a["flags"])
        assertEquals("""{"k":[1,{"deep":"x"}]}""", a["nested"])
        assertFalse("skipped" in a)
        assertEquals("a\u0000b", a["nul"])
        assertEquals("t", a["set.text"])
        assertEquals(5L, a["set.long"])
        assertEquals(6L, a["set.int"])
        assertEquals(2.5, a["set.double"])
        assertEquals(false, a["set.bool"])
        assertEquals(listOf("x", "y"), a["set.words"])
        assertEquals(listOf(1L, 2L), a["set.longs"])
        assertEquals(listOf(0.1, 0.2), a["set.doubles"])
        assertEquals(listOf(true), a["set.bools"])
        assertEquals("NaN", a["set.nan"])
        assertEquals("""{"a":[1,2]}""", a["set.json"])
        assertEquals("1", a["many.a"])
        assertEquals(2L, a["many.b"])
    }

    @Test
    fun `an exception escaping a span is recorded and rethrown`() {
        val thrown =
            assertThrows<IllegalStateException> {
                tracer.span("outer") {
                    tracer.span("failing", kind = SpanKind.TOOL) {
                        throw IllegalStateException("tool broke")
                    }
                }
            }
        assertEquals("tool broke", thrown.message)
        val spans = traced.spans()
        val failing = one(spans, "failing")
        assertEquals("error", failing.status)
        assertEquals("tool broke", failing.statusMessage)
        val event = failing.event("exception")
        assertEquals("java.lang.IllegalStateException", event.attributes["exception.type"])
        assertEquals("tool broke", event.attributes["exception.message"])
        val stack = event.attributes["exception.stacktrace"] as String
        assertTrue(stack.contains("SpansTest"), stack)
        // The exception passed through the outer block too.
        assertEquals("error", one(spans, "outer").status)
        assertEquals(one(spans, "outer").spanId, failing.parentSpanId)
    }

    @Test
    fun `status, events, renames and explicit errors`() {
        tracer.span("renamed later") { s ->
            s.addEvent("retrieved", mapOf("documents" to 3, "source" to "wiki"))
            s.updateName("final name")
            s.setStatus(StatusCode.ERROR, "quota exceeded")
        }
        tracer.span("ok span") { s -> s.setStatus(StatusCode.OK) }
        tracer.span("recorded") { s -> s.recordException(IllegalArgumentException("bad input")) }
        val spans = traced.spans()
        val renamed = one(spans, "final name")
        assertEquals("error", renamed.status)
        assertEquals("quota exceeded", renamed.statusMessage)
        assertEquals(mapOf("documents" to 3L, "source" to "wiki"), renamed.event("retrieved").attributes)
        assertEquals("ok", one(spans, "ok span").status)
        val recorded = one(spans, "recorded")
        assertEquals("error", recorded.status)
        assertEquals("java.lang.IllegalArgumentException", recorded.event("exception").attributes["exception.type"])
    }

    @Test
    fun `started spans end by hand or with use, and can parent others`() {
        val root = tracer.startSpan("manual root", kind = SpanKind.WORKFLOW)
        assertNull(Agtrace.currentSpan(), "startSpan does not make the span current")
        assertTrue(root.isRecording)
        tracer.startSpan("used", parent = root).use { it.setAttribute("in.use", true) }
        root.makeCurrent().use {
            tracer.span("under current") { }
        }
        assertNull(Agtrace.currentSpan())
        root.end()
        assertTrue(root.isEnded)
        assertFalse(root.isRecording)
        // Ending twice, recording after the end: logged and ignored.
        root.end()
        root.setAttribute("late", 1)
        // A span ended before its child starts still parents it.
        tracer.startSpan("late child", parent = root).end()

        val spans = traced.spans()
        val r = one(spans, "manual root")
        assertEquals(r.spanId, one(spans, "used").parentSpanId)
        assertEquals(true, one(spans, "used").attributes["in.use"])
        assertEquals(r.spanId, one(spans, "under current").parentSpanId)
        assertEquals(r.spanId, one(spans, "late child").parentSpanId)
        assertFalse("late" in r.attributes)
        assertEquals(4, spans.size)
        assertEquals(4L, tracer.stats().ended)
    }

    @Test
    fun `parent null starts a new trace`() {
        tracer.span("first root") {
            tracer.span("second root", parent = null) { }
        }
        val spans = traced.spans()
        assertNull(one(spans, "second root").parentSpanId)
        assertFalse(one(spans, "second root").traceId == one(spans, "first root").traceId)
    }

    @Test
    fun `span contexts carry the exported ids`() {
        val ids =
            tracer.span("identified") { s ->
                val c = s.context!!
                assertTrue(c.isSampled)
                c.traceId to c.spanId
            }
        val exported = traced.one("identified")
        assertEquals(exported.traceId to exported.spanId, ids)
        assertEquals(32, ids.first.length)
        assertEquals(16, ids.second.length)
    }

    @Test
    fun `an abandoned span is exported when collected, with everything recorded on it`() {
        fun abandon() {
            val s = tracer.startSpan("forgotten", kind = SpanKind.LLM, attributes = mapOf("a" to 1))
            s.setAttribute("b", "two")
            s.setLlm(provider = "openai", requestModel = "gpt-4o")
            s.setUsage(inputTokens = 12, outputTokens = 3)
        }
        abandon()
        val deadline = System.nanoTime() + 10_000_000_000L
        var spans: List<Exported>
        do {
            System.gc()
            Thread.sleep(20)
            spans = traced.spans()
        } while (spans.isEmpty() && System.nanoTime() < deadline)
        val forgotten = one(spans, "forgotten").attributes
        assertEquals(true, forgotten["agtrace.abandoned"])
        assertEquals(1L, forgotten["a"], "a start attribute")
        assertEquals("two", forgotten["b"], "an attribute set after the start")
        assertEquals("openai", forgotten["gen_ai.provider.name"])
        assertEquals("gpt-4o", forgotten["gen_ai.request.model"])
        assertEquals(12L, forgotten["gen_ai.usage.input_tokens"])
    }

    @Test
    fun `the resource carries the service name`() {
        tracer.span("any") { }
        assertEquals("kotlin-tests", traced.one("any").resource["service.name"])
    }
}

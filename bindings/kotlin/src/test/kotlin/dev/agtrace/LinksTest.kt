package dev.agtrace

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Links at a span's start and added later, to local spans and remote contexts; a conversation's turns linked in order. */
class LinksTest : TracedTest() {
    @Test
    fun `links at the start and added later reach the exporter`() {
        val batch = tracer.startSpan("batch item 1").also { it.end() }
        val remote = tracer.extract(mapOf("traceparent" to "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))!!
        tracer.span("process", links = listOf(Link(batch, mapOf("why" to "input")), Link(remote))) { s ->
            s.addLink(remote, mapOf("later" to true))
            // A span that records nothing has no ids: no link.
            s.addLink(Span.nonRecording(null))
        }
        val spans = traced.spans()
        val item = one(spans, "batch item 1")
        val links = one(spans, "process").links
        assertEquals(
            listOf(
                Exported.Link(item.traceId, item.spanId, mapOf("why" to "input")),
                Exported.Link("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", emptyMap()),
                Exported.Link("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", mapOf("later" to true)),
            ),
            links,
        )
    }

    @Test
    fun `links on startSpan and withSpan`() =
        runBlocking {
            val first = tracer.startSpan("first")
            tracer.startSpan("manual", links = listOf(Link(first))).end()
            tracer.withSpan("suspending", links = listOf(Link(first))) { }
            first.end()
            val spans = traced.spans()
            val f = one(spans, "first")
            for (name in listOf("manual", "suspending")) {
                assertEquals(listOf(f.spanId), one(spans, name).links.map { it.spanId }, name)
            }
        }

    @Test
    fun `a conversation's turns are traces linked to the previous turn, carrying its id`() =
        runBlocking {
            val chat = tracer.conversation("conv-7")
            val first = chat.turn("turn", kind = SpanKind.AGENT, input = "hi") { tracer.span("inner") { }; "hello" }
            assertEquals("hello", first)
            chat.withTurn("turn 2", kind = SpanKind.AGENT) { }
            chat.turn("turn 3") { }
            val spans = traced.spans()
            val t1 = one(spans, "turn")
            val t2 = one(spans, "turn 2")
            val t3 = one(spans, "turn 3")
            for (t in listOf(t1, t2, t3)) {
                assertNull(t.parentSpanId, "a turn is a trace's root")
                assertEquals("conv-7", t.attributes["gen_ai.conversation.id"], t.name)
            }
            assertEquals("conv-7", one(spans, "inner").attributes["gen_ai.conversation.id"])
            assertNotEquals(t1.traceId, t2.traceId)
            assertEquals(emptyList<Exported.Link>(), t1.links)
            val previous = mapOf("agtrace.link.type" to "previous_turn")
            assertEquals(listOf(Exported.Link(t1.traceId, t1.spanId, previous)), t2.links)
            assertEquals(listOf(Exported.Link(t2.traceId, t2.spanId, previous)), t3.links)
            assertEquals("hi", t1.attributes["input.value"])
            assertEquals("hello", t1.attributes["output.value"])
        }

    @Test
    fun `a conversation id is a fresh UUID by default`() {
        val a = tracer.conversation()
        assertTrue(Regex("[0-9a-f-]{36}").matches(a.id), a.id)
        assertNotEquals(a.id, tracer.conversation().id)
    }
}

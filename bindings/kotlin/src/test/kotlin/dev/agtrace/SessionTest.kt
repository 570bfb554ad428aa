package dev.agtrace

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Test

/**
 * Session scopes: trace-level context on every span of the traces started
 * inside, under the names the core writes (core/src/semconv.rs).
 */
class SessionTest : TracedTest() {
    @Test
    fun `a session puts trace context on every span of its traces`() {
        tracer.span("before") { }
        Agtrace.session(
            userId = "u-42",
            sessionId = "s-7",
            conversationId = "c-1",
            tags = listOf("beta", "eu"),
            metadata = mapOf("plan" to "pro", "seats" to 3),
            environment = "staging",
            release = "2.1.0",
        ) {
            tracer.span("root") { tracer.span("child") { } }
        }
        tracer.span("after") { }
        val spans = traced.spans()
        for (name in listOf("root", "child")) {
            val a = one(spans, name).attributes
            assertEquals("u-42", a["user.id"], name)
            assertEquals("s-7", a["session.id"], name)
            assertEquals("c-1", a["gen_ai.conversation.id"], name)
            assertEquals(listOf("beta", "eu"), a["tag.tags"], name)
            assertEquals(mapOf("plan" to "pro", "seats" to 3L), Json.parse(a["metadata"] as String), name)
            assertEquals("staging", a["deployment.environment.name"], name)
            assertEquals("2.1.0", a["agtrace.release"], name)
        }
        for (name in listOf("before", "after")) assertFalse("user.id" in one(spans, name).attributes, name)
    }

    @Test
    fun `nested sessions inherit and merge`() {
        Agtrace.session(userId = "u-1", tags = listOf("a"), metadata = mapOf("x" to 1)) {
            Agtrace.session(sessionId = "s-2", tags = listOf("b", "a"), metadata = mapOf("y" to 2)) {
                tracer.span("inner") { }
            }
        }
        val a = traced.one("inner").attributes
        assertEquals("u-1", a["user.id"])
        assertEquals("s-2", a["session.id"])
        assertEquals(listOf("a", "b"), a["tag.tags"])
        assertEquals(mapOf("x" to 1L, "y" to 2L), Json.parse(a["metadata"] as String))
    }

    @Test
    fun `a trace already running gets the session from its next span`() {
        tracer.span("started outside") {
            Agtrace.session(userId = "late-user") { tracer.span("inside") { } }
        }
        val spans = traced.spans()
        // Trace-level context applies to the whole trace, the parent included.
        assertEquals("late-user", one(spans, "started outside").attributes["user.id"])
        assertEquals("late-user", one(spans, "inside").attributes["user.id"])
    }

    @Test
    fun `withSession follows coroutines across threads`() {
        runBlocking {
            Agtrace.withSession(userId = "co-user") {
                withContext(Dispatchers.IO) {
                    (0 until 3).map { i -> async(Dispatchers.Default) { tracer.withSpan("task $i") { } } }.awaitAll()
                }
            }
            // A blocking session carried into coroutines by withSpan.
            Agtrace.session(userId = "blocking-user") {
                runBlocking { tracer.withSpan("carried") { withContext(Dispatchers.IO) { tracer.withSpan("carried child") { } } } }
            }
        }
        val spans = traced.spans()
        for (i in 0 until 3) assertEquals("co-user", one(spans, "task $i").attributes["user.id"])
        assertEquals("blocking-user", one(spans, "carried child").attributes["user.id"])
    }
}

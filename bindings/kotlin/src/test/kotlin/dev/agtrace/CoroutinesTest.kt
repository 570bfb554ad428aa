package dev.agtrace

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.Collections
import java.util.concurrent.Executors

/**
 * The current span in coroutines: a context element backed by a thread
 * local, so it survives thread switches (`withContext(Dispatchers.IO)`) and
 * is inherited by `launch`/`async` children, each keeping its own.
 */
class CoroutinesTest : TracedTest() {
    @Test
    fun `withSpan nests across withContext on other threads`() {
        val threads = Collections.synchronizedSet(HashSet<String>())
        runBlocking {
            tracer.withSpan("agent", kind = SpanKind.AGENT) { agent ->
                threads += Thread.currentThread().name
                withContext(Dispatchers.IO) {
                    threads += Thread.currentThread().name
                    assertSame(agent, Agtrace.currentSpan(), "current on the IO thread")
                    tracer.withSpan("io tool", kind = SpanKind.TOOL) {
                        delay(5) // resumes on some IO thread
                        assertSame(it, Agtrace.currentSpan())
                        // Blocking code in a coroutine parents on the same span.
                        tracer.span("blocking inside") { }
                    }
                }
                withContext(Dispatchers.Default) {
                    tracer.withSpan("default llm", kind = SpanKind.LLM) { yield() }
                }
                assertSame(agent, Agtrace.currentSpan(), "restored after withContext")
            }
            assertNull(Agtrace.currentSpan())
        }
        assertTrue(threads.size >= 2, "ran on several threads: $threads")
        val spans = traced.spans()
        val agent = one(spans, "agent")
        val tool = one(spans, "io tool")
        assertEquals(agent.spanId, tool.parentSpanId)
        assertEquals(tool.spanId, one(spans, "blocking inside").parentSpanId)
        assertEquals(agent.spanId, one(spans, "default llm").parentSpanId)
        assertTrue(spans.all { it.traceId == agent.traceId })
    }

    @Test
    fun `parallel async children each nest under the parent and keep their own current span`() {
        val results =
            runBlocking(Dispatchers.Default) {
                tracer.withSpan("fan out", kind = SpanKind.WORKFLOW) { parent ->
                    (0 until 8).map { i ->
                        async(Dispatchers.IO) {
                            tracer.withSpan("child $i", kind = SpanKind.TOOL, attributes = mapOf("i" to i)) { child ->
                                repeat(3) {
                                    delay(1)
                                    assertSame(child, Agtrace.currentSpan(), "child $i kept its span")
                                }
                                tracer.withSpan("grandchild $i") { yield() }
                                assertSame(child, Agtrace.currentSpan())
                                i * 10
                            }
                        }
                    }.awaitAll().also { assertSame(parent, Agtrace.currentSpan()) }
                }
            }
        assertEquals((0 until 8).map { it * 10 }, results)
        val spans = traced.spans()
        val parent = one(spans, "fan out")
        for (i in 0 until 8) {
            val child = one(spans, "child $i")
            assertEquals(parent.spanId, child.parentSpanId, "child $i")
            assertEquals(i.toLong(), child.attributes["i"])
            assertEquals(child.spanId, one(spans, "grandchild $i").parentSpanId)
        }
    }

    @Test
    fun `launch children inherit the span even after it ended`() {
        runBlocking {
            tracer.withSpan("launcher") {
                launch(Dispatchers.IO) { tracer.withSpan("launched") { } }
            }
            // `withSpan` waits for its children (structured concurrency); a
            // job launched into an outer scope can outlive the span:
            coroutineScope {
                lateinit var outlives: kotlinx.coroutines.Job
                tracer.withSpan("short parent") {
                    outlives =
                        this@coroutineScope.launch(Dispatchers.IO + it.asContextElement()) {
                            delay(20)
                            tracer.withSpan("after parent ended") { }
                        }
                }
                outlives.join()
            }
        }
        val spans = traced.spans()
        assertEquals(one(spans, "launcher").spanId, one(spans, "launched").parentSpanId)
        assertEquals(one(spans, "short parent").spanId, one(spans, "after parent ended").parentSpanId)
    }

    @Test
    fun `exceptions in withSpan are recorded, cancellation is not an error`() {
        runBlocking {
            assertThrows<IllegalStateException> {
                tracer.withSpan("failing") {
                    withContext(Dispatchers.IO) { throw IllegalStateException("remote call failed") }
                }
            }
            val job =
                launch {
                    tracer.withSpan("cancelled") { delay(10_000) }
                }
            delay(50)
            job.cancel()
            job.join()
        }
        val spans = traced.spans()
        val failing = one(spans, "failing")
        assertEquals("error", failing.status)
        assertEquals("remote call failed", failing.event("exception").attributes["exception.message"])
        val cancelled = one(spans, "cancelled")
        assertEquals("unset", cancelled.status)
        assertTrue(cancelled.events.isEmpty())
    }

    @Test
    fun `currentContext carries a blocking span into coroutines and other threads`() {
        val pool = Executors.newFixedThreadPool(2)
        try {
            tracer.span("blocking root") {
                runBlocking(Agtrace.currentContext() + Dispatchers.IO) {
                    tracer.withSpan("coroutine child") { }
                }
                // A plain thread pool: hand the context over explicitly.
                val parent = Agtrace.currentSpan()!!
                pool.submit { tracer.span("pool child", parent = parent) { } }.get()
            }
        } finally {
            pool.shutdown()
        }
        val spans = traced.spans()
        val root = one(spans, "blocking root")
        assertEquals(root.spanId, one(spans, "coroutine child").parentSpanId)
        assertEquals(root.spanId, one(spans, "pool child").parentSpanId)
    }

    @Test
    fun `a blocking span in runBlocking parents coroutines on the same thread`() {
        tracer.span("outer blocking") {
            runBlocking { tracer.withSpan("inner coroutine") { } }
        }
        val spans = traced.spans()
        assertEquals(one(spans, "outer blocking").spanId, one(spans, "inner coroutine").parentSpanId)
    }

    @Test
    fun `the thread local is restored on suspension, so no span leaks to another coroutine`() {
        // One thread, two coroutines interleaving: each sees only its own span.
        val single = Executors.newSingleThreadExecutor()
        try {
            runBlocking(single.asCoroutineDispatcher()) {
                val a =
                    async {
                        tracer.withSpan("a") { s ->
                            repeat(5) {
                                yield()
                                assertSame(s, Agtrace.currentSpan())
                            }
                        }
                    }
                val b =
                    async {
                        tracer.withSpan("b") { s ->
                            repeat(5) {
                                yield()
                                assertSame(s, Agtrace.currentSpan())
                            }
                        }
                    }
                awaitAll(a, b)
                assertNull(Agtrace.currentSpan())
                // A coroutine without any span element sees none either.
                launch { assertNull(Agtrace.currentSpan()) }.join()
            }
        } finally {
            single.shutdown()
        }
        val spans = traced.spans()
        assertNull(one(spans, "a").parentSpanId)
        assertNull(one(spans, "b").parentSpanId)
    }

    @Test
    fun `cancellation exceptions thrown by the block are rethrown unchanged`() {
        runBlocking {
            val e =
                assertThrows<CancellationException> {
                    tracer.withSpan("throws cancellation") { throw CancellationException("stop") }
                }
            assertEquals("stop", e.message)
        }
        assertEquals("unset", traced.one("throws cancellation").status)
    }
}

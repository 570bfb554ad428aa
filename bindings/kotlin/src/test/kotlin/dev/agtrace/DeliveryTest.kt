package dev.agtrace

import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import kotlin.concurrent.thread

/**
 * Ended spans wait in their thread's buffer until a crossing takes them:
 * the thread's next span start, a flush, stats or shutdown (which take every
 * thread's), or the idle flusher, so that nothing waits on a thread that
 * starts no more spans, or that died.
 */
class DeliveryTest : TracedTest() {
    override val settings: Map<String, Any> = mapOf("OTEL_BSP_SCHEDULE_DELAY" to 200)

    /** Reads the exported file until [name] is there, without any call on the tracer. */
    private fun awaitExported(name: String): Exported? {
        val deadline = System.nanoTime() + 10_000_000_000L
        while (System.nanoTime() < deadline) {
            readSpans(traced.path).firstOrNull { it.name == name }?.let { return it }
            Thread.sleep(20)
        }
        return null
    }

    @Test
    fun `a span ended on a thread that then idles is exported with no further call`() {
        val ended = CountDownLatch(1)
        val release = CountDownLatch(1)
        val idler =
            thread(name = "idler") {
                tracer.span("ended then idle") { }
                ended.countDown()
                release.await()
            }
        try {
            ended.await()
            val span = awaitExported("ended then idle")
            assertTrue(span != null, "the idle flusher sent the END and the batch was exported")
            assertTrue(idler.isAlive, "sent while its thread still lived")
        } finally {
            release.countDown()
            idler.join()
        }
    }

    @Test
    fun `spans ended on a thread that died are exported`() {
        thread(name = "short-lived") {
            tracer.span("parent of the dead") { tracer.span("child of the dead") { } }
        }.join()
        assertTrue(awaitExported("parent of the dead") != null)
        assertTrue(awaitExported("child of the dead") != null)
    }

    @Test
    fun `stats and flush see spans ended on other threads and coroutines`() {
        val pool = Executors.newFixedThreadPool(3)
        try {
            // Ended on pool threads that stay alive and start nothing more.
            (0 until 6).map { i -> pool.submit { tracer.span("pooled $i") { } } }.forEach { it.get() }
            // Started here, ended on a pool thread.
            val handed = tracer.startSpan("handed over")
            pool.submit { handed.end() }.get()
            // A coroutine that resumes on another thread ends its span there.
            val other = pool.asCoroutineDispatcher()
            runBlocking { tracer.withSpan("coroutine") { withContext(other) { tracer.withSpan("inner") { } } } }
            assertEquals(9L, tracer.stats().ended, "stats counts every span ended before it")
            val names = traced.spans().map { it.name }.toSet()
            assertEquals((0 until 6).map { "pooled $it" }.toSet() + setOf("handed over", "coroutine", "inner"), names)
        } finally {
            pool.shutdown()
        }
    }
}

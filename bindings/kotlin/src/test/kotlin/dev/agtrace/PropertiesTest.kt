package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.util.concurrent.CyclicBarrier
import kotlin.concurrent.thread
import kotlin.random.Random

/**
 * Property tests, seeded random loops: hostile names, keys and values (lone
 * surrogates, NUL, huge strings, deep nesting) and random orders of span
 * calls (start, end, end again, use after end) on random threads never
 * throw with strict mode off, and the accounting stays exact after a flush:
 * `ended == dispatched + dropped + pending`, and per exporter `received ==
 * exported + dropped + pending`. A failure prints its seed.
 */
class PropertiesTest : TracedTest() {
    private fun Random.text(): String =
        when (nextInt(6)) {
            0 -> ""
            1 -> "\u0000" + nextInt()
            2 -> String(CharArray(nextInt(1, 4)) { (0xD800 + nextInt(0x800)).toChar() }) // lone surrogates
            3 -> "x".repeat(nextInt(0, 200_000))
            4 -> String(CharArray(nextInt(0, 16)) { nextInt(0, 0x10000).toChar() })
            else -> "k" + nextInt(8)
        }

    private fun Random.value(depth: Int = 0): Any? =
        when (if (depth > 50) nextInt(7) else nextInt(10)) {
            0 -> null
            1 -> nextBoolean()
            2 -> nextLong()
            3 -> listOf(Double.NaN, Double.POSITIVE_INFINITY, -0.0, nextDouble())[nextInt(4)]
            4 -> text()
            5 -> ByteArray(nextInt(0, 64)) { nextInt().toByte() }
            6 -> Any()
            7 -> List(nextInt(0, 4)) { value(depth + 1) }
            8 -> (0 until nextInt(0, 4)).associate { text() to value(depth + 1) }
            else -> deep(nextInt(1, 2000))
        }

    /** A list nested [n] deep. */
    private fun deep(n: Int): Any? = (0 until n).fold<Int, Any?>("leaf") { acc, _ -> listOf(acc) }

    private fun Random.attributes(): Map<String, Any?> = (0 until nextInt(0, 4)).associate { text() to value() }

    private fun Random.run(t: Tracer, steps: Int) {
        val spans = mutableListOf<Span>()
        repeat(steps) {
            val target = spans.lastOrNull()
            when (nextInt(7)) {
                0, 1 -> spans += t.startSpan(text(), attributes = attributes())
                2 -> target?.setAttribute(text(), value())
                3 -> target?.setAttributes(attributes())
                4 -> target?.addEvent(text(), attributes())
                5 -> if (spans.isNotEmpty()) spans[nextInt(spans.size)].end() // may end twice
                else -> t.span(text()) { it.setAttribute(text(), value()) }
            }
        }
        spans.forEach { it.end() }
    }

    private fun assertAccounted(t: Tracer) {
        assertTrue(t.flush(), "flush timed out")
        val s = t.stats()
        assertEquals(s.ended, s.dispatched + s.dropped.values.sum() + s.pending, s.toString())
        for (e in s.exporters) {
            assertEquals(e.received, e.exported + e.dropped.values.sum() + e.pending, e.toString())
        }
    }

    @Test
    fun `random calls never throw and every span is accounted for`() {
        for (seed in 1..40) {
            val r = Random(seed)
            runCatching { r.run(tracer, 40) }.onFailure { throw AssertionError("seed $seed", it) }
            assertAccounted(tracer)
        }
    }

    @Test
    fun `random interleavings on threads are accounted for`() {
        for (seed in 1..10) {
            val n = Random(seed).nextInt(2, 5)
            val barrier = CyclicBarrier(n)
            val errors = java.util.Collections.synchronizedList(mutableListOf<Throwable>())
            val threads =
                (0 until n).map { i ->
                    thread {
                        runCatching {
                            barrier.await()
                            Random(seed * 31 + i).run(tracer, 30)
                        }.onFailure { errors += it }
                    }
                }
            threads.forEach { it.join() }
            assertEquals(emptyList<Throwable>(), errors.toList(), "seed $seed")
            assertAccounted(tracer)
        }
    }
}

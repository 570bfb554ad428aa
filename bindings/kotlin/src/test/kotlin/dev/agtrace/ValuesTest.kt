package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.math.BigDecimal
import java.math.BigInteger
import java.nio.ByteBuffer
import java.time.Duration
import java.time.Instant
import java.time.LocalDate
import java.time.LocalDateTime
import java.time.OffsetDateTime
import java.time.ZoneId
import java.time.ZoneOffset
import java.time.ZonedDateTime
import java.util.Date
import java.util.UUID
import kotlin.time.Duration.Companion.seconds

/** Attribute values of any type are recorded, converted as the Python SDK converts them. */
class ValuesTest : TracedTest() {
    enum class Color { RED }

    data class Point(val x: Int, val y: Int)

    @JvmRecord
    data class Query(val city: String, val days: Int)

    class Broken {
        override fun toString(): String = throw IllegalStateException("no text")
    }

    @Test
    fun `common types become text, numbers or JSON`() {
        val id = UUID.fromString("123e4567-e89b-12d3-a456-426614174000")
        val cases: List<Pair<Any?, Any?>> =
            listOf(
                Color.RED to "RED",
                BigDecimal("12.50") to "12.50",
                BigInteger("12345678901234567890") to "12345678901234567890",
                BigInteger.TEN to 10L,
                id to id.toString(),
                Instant.parse("2024-05-01T12:00:00Z") to "2024-05-01T12:00:00Z",
                LocalDate.of(2024, 5, 1) to "2024-05-01",
                LocalDateTime.of(2024, 5, 1, 12, 30) to "2024-05-01T12:30",
                OffsetDateTime.of(2024, 5, 1, 12, 0, 0, 0, ZoneOffset.ofHours(2)) to "2024-05-01T12:00+02:00",
                ZonedDateTime.of(2024, 5, 1, 12, 0, 0, 0, ZoneId.of("Europe/Oslo")) to "2024-05-01T12:00:00+02:00",
                Duration.ofSeconds(90) to "PT1M30S",
                90.seconds to "PT1M30S",
                Date(0) to "1970-01-01T00:00:00Z",
                'x' to "x",
                StringBuilder("built") to "built",
                Point(1, 2) to "Point(x=1, y=2)",
                Query("Oslo", 3) to """{"city":"Oslo","days":3}""",
                (1 to "a") to """[1,"a"]""",
                setOf("b", "a") to listOf("b", "a"),
                intArrayOf(1, 2) to listOf(1L, 2L),
                arrayOf("x", "y") to listOf("x", "y"),
                mapOf(1 to "one", Color.RED to "red") to """{"1":"one","RED":"red"}""",
                listOf(1, "a", null) to """[1,"a",null]""",
                listOf(Double.NaN, 1.0) to """["NaN",1.0]""",
                Float.POSITIVE_INFINITY to "Infinity",
                sequenceOf(1, 2).constrainOnce() to null,
            )
        tracer.span("values") { s ->
            for ((i, case) in cases.withIndex()) s.setAttribute("v$i", case.first)
        }
        val a = traced.one("values").attributes
        for ((i, case) in cases.withIndex()) {
            if (case.second != null) assertEquals(case.second, a["v$i"], "case $i: ${case.first}")
        }
        // A sequence is not consumed (it may be single-use): its text is recorded.
        assertTrue((a["v${cases.size - 1}"] as String).isNotEmpty())
    }

    @Test
    fun `bytes are a placeholder, never their content`() {
        val secret = "password=hunter2".toByteArray()
        tracer.span("bytes") { s ->
            s.setAttribute("bytes", secret)
            s.setAttribute("buffer", ByteBuffer.wrap(secret))
            s.setAttribute("chars", "hunter2".toCharArray())
            s.setAttribute("nested", mapOf("payload" to secret))
        }
        val a = traced.one("bytes").attributes
        // `printf password=hunter2 | sha256sum`, its first 12 digits.
        assertEquals("<bytes len=16 sha256=42c842031e73>", a["bytes"])
        assertEquals(a["bytes"], a["buffer"])
        assertEquals("<chars len=7>", a["chars"])
        assertEquals("""{"payload":"${a["bytes"]}"}""", a["nested"])
        assertFalse(a.values.any { it.toString().contains("hunter2") }, a.toString())
    }

    @Test
    fun `cycles, depth and long text are bounded`() {
        val list = ArrayList<Any?>()
        list += mapOf("self" to list)
        val cyclic = HashMap<String, Any?>()
        cyclic["me"] = cyclic
        var deep: Any? = "bottom"
        repeat(40) { deep = listOf(deep) }
        tracer.span("bounded") { s ->
            s.setAttribute("cycle", list)
            s.setAttribute("map cycle", cyclic)
            s.setAttribute("deep", deep)
            s.setAttribute("long", object { override fun toString() = "x".repeat(5000) })
            s.setAttribute("broken", Broken())
        }
        val a = traced.one("bounded").attributes
        assertEquals("""[{"self":"<cycle>"}]""", a["cycle"])
        assertEquals("""{"me":"<cycle>"}""", a["map cycle"])
        assertEquals(Values.MAX_DEPTH, (a["deep"] as String).count { it == '[' })
        assertTrue((a["deep"] as String).contains("<too deep>"))
        assertEquals("x".repeat(1024) + "...<3976 more chars>", a["long"])
        assertEquals("<unrepresentable ValuesTest.Broken>", a["broken"])
    }

    @Test
    fun `values of any type in start, event and link attributes`() {
        val first = tracer.startSpan("first").also { it.end() }
        tracer.span(
            "anywhere",
            attributes = mapOf("when" to LocalDate.of(2024, 1, 2)),
            links = listOf(Link(first, mapOf("amount" to BigDecimal("1.5")))),
        ) { s ->
            s.addEvent("ev", mapOf("color" to Color.RED))
            s.setAttributes(mapOf("id" to UUID(0, 1), "plain" to 1))
        }
        val s = traced.one("anywhere")
        assertEquals("2024-01-02", s.attributes["when"])
        assertEquals("00000000-0000-0000-0000-000000000001", s.attributes["id"])
        assertEquals(1L, s.attributes["plain"])
        assertEquals(mapOf("color" to "RED"), s.event("ev").attributes)
        assertEquals(mapOf("amount" to "1.5"), s.links.single().attributes)
    }
}

package dev.agtrace

import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import java.util.logging.Handler
import java.util.logging.Level
import java.util.logging.LogRecord
import java.util.logging.Logger

/** Misuse that cannot hurt the application is logged on the `agtrace` logger, never thrown. */
class LoggingTest : TracedTest() {
    private val logger = Logger.getLogger("agtrace")
    private val records = ArrayList<LogRecord>()
    private val capture =
        object : Handler() {
            override fun publish(record: LogRecord) {
                synchronized(records) { records += record }
            }

            override fun flush() {}

            override fun close() {}
        }
    private var level: Level? = null

    @BeforeEach
    fun capture() {
        level = logger.level
        logger.level = Level.ALL
        logger.useParentHandlers = false
        logger.addHandler(capture)
    }

    @AfterEach
    fun release() {
        logger.removeHandler(capture)
        logger.useParentHandlers = true
        logger.level = level
    }

    @Test
    fun `ending twice and recording after the end are logged`() {
        val span = tracer.startSpan("twice")
        span.end()
        span.end()
        span.setAttribute("late", 1)
        span.addEvent("late event")
        val warnings = synchronized(records) { records.filter { it.level == Level.WARNING }.map { it.message } }
        assertEquals(3, warnings.size, warnings.toString())
        assertTrue(warnings[0].contains("ended twice"), warnings.toString())
        assertTrue(warnings.drop(1).all { it.contains("ended span") }, warnings.toString())
        assertEquals(1, traced.spans().size)
    }

    @Test
    fun `a flush that times out is logged and returns false`() {
        // Nothing pending: a zero timeout still succeeds.
        assertTrue(tracer.flush(kotlin.time.Duration.ZERO))
    }
}

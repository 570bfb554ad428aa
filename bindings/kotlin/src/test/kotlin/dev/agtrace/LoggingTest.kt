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

/** What the `agtrace` logger gets. */
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
    fun `misuse a tracer counts is left to the core to log, not logged again here`() {
        val span = tracer.startSpan("twice")
        span.end()
        span.end()
        span.setAttribute("late", 1)
        val warnings = synchronized(records) { records.filter { it.level == Level.WARNING }.map { it.message } }
        assertEquals(emptyList<String>(), warnings)
        assertEquals(2L, tracer.stats().misuse["ended_twice"])
    }

    @Test
    fun `a flush that times out is logged and returns false`() {
        // Nothing pending: a zero timeout still succeeds.
        assertTrue(tracer.flush(kotlin.time.Duration.ZERO))
    }
}

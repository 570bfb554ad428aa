package dev.agtrace

import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/**
 * Base of the tests: [traced] is a fresh tracer writing to its own file,
 * shut down after the test; and no test may leave a current span or session
 * behind on its thread.
 */
abstract class TracedTest {
    @TempDir
    lateinit var dir: Path

    lateinit var traced: Traced

    val tracer: Tracer get() = traced.tracer

    /** Extra settings for [traced], by name. */
    open val settings: Map<String, Any> = emptyMap()

    @BeforeEach
    fun makeTracer() {
        traced = Traced(dir, settings)
    }

    @AfterEach
    fun closeTracer() {
        traced.close()
        assertNull(Current.parent(), "the test left a current span behind")
        assertNull(Current.session(), "the test left a session behind")
    }
}

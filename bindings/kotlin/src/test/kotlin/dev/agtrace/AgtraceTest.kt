package dev.agtrace

import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path

/** The default tracer through the [Agtrace] object, and the library it loads. */
class AgtraceTest {
    @TempDir
    lateinit var dir: Path

    @AfterEach
    fun shutDown() {
        Agtrace.shutdown()
        assertNull(Agtrace.currentSpan())
    }

    private fun init(file: Path): Tracer =
        Agtrace.init {
            ignoreEnv = true
            serviceName = "facade"
            exporters = listOf("file")
            settings["AGTRACE_FILE_PATH"] = file.toString()
        }

    @Test
    fun `init, spans, inject, extract, stats`() {
        val path = dir.resolve("facade.jsonl")
        val tracer = init(path)
        assertSame(tracer, Agtrace.tracer)
        assertTrue(Agtrace.isActive)
        val headers =
            Agtrace.span("facade root", kind = SpanKind.AGENT, attributes = mapOf("step" to 1)) {
                Agtrace.startSpan("facade child").use { }
                Agtrace.inject()
            }
        val remote = Agtrace.extract(headers)!!
        Agtrace.span("continued", parent = remote) { }
        assertTrue(Agtrace.flush())
        val stats = Agtrace.stats()
        assertEquals(3L, stats.ended)
        assertEquals(3L, stats.exported)
        assertEquals(stats.ended, stats.dispatched + stats.dropped.values.sum() + stats.pending)
        val spans = readSpans(path)
        val root = one(spans, "facade root")
        assertEquals(root.spanId, one(spans, "facade child").parentSpanId)
        assertEquals(root.spanId, one(spans, "continued").parentSpanId)
        assertEquals("facade", Agtrace.config()["service_name"])
    }

    @Test
    fun `init again replaces the default tracer and shuts the old one down`() {
        val first = init(dir.resolve("first.jsonl"))
        Agtrace.span("in first") { }
        val second = init(dir.resolve("second.jsonl"))
        assertTrue(first.isShutDown)
        assertSame(second, Agtrace.tracer)
        Agtrace.span("in second") { }
        Agtrace.flush()
        assertEquals(listOf("in first"), readSpans(dir.resolve("first.jsonl")).map { it.name })
        assertEquals(listOf("in second"), readSpans(dir.resolve("second.jsonl")).map { it.name })
    }

    @Test
    fun `after shutdown spans record nothing and never throw`() {
        val path = dir.resolve("shut.jsonl")
        init(path)
        val open = Agtrace.startSpan("open at shutdown")
        Agtrace.span("exported") { }
        assertTrue(Agtrace.shutdown())
        assertFalse(Agtrace.isActive)
        Agtrace.span("after") { s ->
            assertFalse(s.isRecording)
            s.setAttribute("ignored", 1)
        }
        open.end() // after shutdown: logged, not thrown
        assertEquals(listOf("exported"), readSpans(path).map { it.name })
        assertTrue(Agtrace.shutdown(), "idempotent")
    }

    @Test
    fun `one libagtrace is loaded, from the class path`() {
        init(dir.resolve("lib.jsonl"))
        Agtrace.span("touch both paths") { } // C ABI (spans) and uniffi (init)
        assertEquals("0.1.0", Agtrace.version)
        val mapped =
            Files.readAllLines(Path.of("/proc/self/maps"))
                .map { it.substringAfterLast(' ') }
                .filter { it.contains("libagtrace") }
                .toSet()
        assertEquals(1, mapped.size, "libagtrace mapped from: $mapped")
        val path = mapped.single()
        assertTrue(path.contains("linux-x86-64") || path.contains("jna"), "loaded from the JNA resource path: $path")
    }
}

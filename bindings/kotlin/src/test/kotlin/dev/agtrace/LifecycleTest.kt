package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlin.system.exitProcess
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * Process lifecycle, each in a child JVM ([ExitMain]): the shutdown hook
 * exports what a program never flushed, a dead collector delays exit by at
 * most the exit timeout and keeps the exit code, and `Agtrace.init()` alone
 * configures from the environment.
 */
class LifecycleTest {
    @TempDir
    lateinit var dir: Path

    private class Finished(val exitCode: Int, val seconds: Double, val output: String)

    private fun runJvm(vararg args: String, env: Map<String, String> = emptyMap()): Finished {
        val java = Path.of(System.getProperty("java.home"), "bin", "java").toString()
        val pb = ProcessBuilder(listOf(java, "-cp", System.getProperty("java.class.path"), ExitMain::class.java.name) + args)
        pb.environment().keys.removeIf { it.startsWith("AGTRACE_") || it.startsWith("OTEL_") }
        pb.environment().putAll(env)
        pb.redirectErrorStream(true)
        val start = System.nanoTime()
        val process = pb.start()
        val output = StringBuilder()
        val reader = thread { output.append(process.inputStream.bufferedReader().readText()) }
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the child JVM did not exit")
        reader.join()
        return Finished(process.exitValue(), (System.nanoTime() - start) / 1e9, output.toString())
    }

    @Test
    fun `the shutdown hook exports spans a program never flushed`() {
        val path = dir.resolve("exit.jsonl")
        val run = runJvm("file", path.toString())
        assertEquals(0, run.exitCode, run.output)
        val spans = readSpans(path)
        assertEquals(setOf("exit root", "exit child"), spans.map { it.name }.toSet(), run.output)
        assertEquals(one(spans, "exit root").spanId, one(spans, "exit child").parentSpanId)
    }

    @Test
    fun `a blackholed collector delays exit by at most the exit timeout`() {
        // Accepts connections and never answers.
        ServerSocket(0).use { server ->
            val held = ArrayList<Socket>()
            val acceptor =
                thread(isDaemon = true) {
                    try {
                        while (true) held += server.accept()
                    } catch (e: Exception) {
                        // closed at the end of the test
                    }
                }
            val run = runJvm("blackhole", "http://127.0.0.1:${server.localPort}")
            assertEquals(3, run.exitCode, "the application's exit code is kept: ${run.output}")
            // JVM start-up plus the 1 s exit timeout, with room for a slow machine.
            assertTrue(run.seconds < 15, "exit took ${run.seconds} s: ${run.output}")
            server.close()
            acceptor.join(1000)
            held.forEach(Socket::close)
        }
    }

    @Test
    fun `init with nothing set configures from the environment`() {
        val path = dir.resolve("env.jsonl")
        val run =
            runJvm(
                "env",
                env = mapOf("AGTRACE_EXPORTERS" to "file", "AGTRACE_FILE_PATH" to path.toString(), "OTEL_SERVICE_NAME" to "from-env"),
            )
        assertEquals(0, run.exitCode, run.output)
        assertEquals("from-env", one(readSpans(path), "configured by env").resource["service.name"])
    }

    @Test
    fun `flush and shutdown return within their timeout against a blackholed collector`() {
        ServerSocket(0).use { server ->
            thread(isDaemon = true) {
                try {
                    while (true) server.accept()
                } catch (e: Exception) {
                    // closed at the end of the test
                }
            }
            val t =
                Tracer {
                    ignoreEnv = true
                    exporters = listOf("otlp")
                    settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:${server.localPort}"
                }
            repeat(10) { t.span("stuck $it") { } }
            var start = System.nanoTime()
            val flushed = t.flush(300.milliseconds)
            assertTrue((System.nanoTime() - start) / 1e9 < 3, "flush returned late")
            assertFalse(flushed, "spans could not be delivered")
            start = System.nanoTime()
            t.shutdown(300.milliseconds)
            assertTrue((System.nanoTime() - start) / 1e9 < 3, "shutdown returned late")
            assertTrue(t.isShutDown)
            // After shutdown, spans record nothing and never throw.
            t.span("after shutdown") { assertFalse(it.isRecording) }
        }
    }
}

/** The child JVM of [LifecycleTest]. */
object ExitMain {
    @JvmStatic
    fun main(args: Array<String>) {
        when (args[0]) {
            "file" -> {
                Agtrace.init {
                    ignoreEnv = true
                    exporters = listOf("file")
                    settings["AGTRACE_FILE_PATH"] = args[1]
                }
                Agtrace.span("exit root") { Agtrace.span("exit child") { } }
                // No flush, no shutdown: the hook must deliver.
            }
            "env" -> {
                Agtrace.init()
                Agtrace.span("configured by env") { }
            }
            "blackhole" -> {
                Agtrace.init {
                    ignoreEnv = true
                    exporters = listOf("otlp")
                    settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = args[1]
                    exitTimeout = 1.seconds
                }
                repeat(100) { Agtrace.span("lost $it") { } }
                exitProcess(3)
            }
        }
    }
}

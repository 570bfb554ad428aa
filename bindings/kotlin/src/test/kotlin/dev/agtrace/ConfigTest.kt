package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import kotlin.time.Duration.Companion.seconds

/** Settings by their environment variables' names; live configuration. */
class ConfigTest {
    @TempDir
    lateinit var dir: Path

    @Test
    fun `settings by name reach the core`() {
        val t =
            Tracer {
                ignoreEnv = true
                serviceName = "support-agent"
                exporters = listOf("none")
                settings["AGTRACE_CAPTURE_CONTENT"] = true
                settings["OTEL_PROPAGATORS"] = listOf("b3", "tracecontext")
                settings["OTEL_BSP_MAX_QUEUE_SIZE"] = 1000
                settings["AGTRACE_TAGS"] = listOf("prod", "eu")
                settings["AGTRACE_METADATA"] = mapOf("team" to "search")
                settings["AGTRACE_SCRUB_PATTERNS"] = listOf("ssn=\\d+", "pin=\\d{4}")
            }
        try {
            val c = t.config()
            assertEquals("support-agent", c["service_name"])
            assertEquals(true, c["capture_content"])
            assertEquals(listOf("none"), c["exporters"])
            assertEquals(listOf("b3", "tracecontext"), c["propagators"])
            assertEquals(1000L, (c["batch"] as Map<*, *>)["queue_capacity"])
            assertEquals(listOf("prod", "eu"), c["global_tags"])
            assertEquals(mapOf("team" to "search"), c["global_metadata"])
            assertEquals(listOf("ssn=\\d+", "pin=\\d{4}"), (c["redaction"] as Map<*, *>)["scrub_patterns"])
        } finally {
            t.shutdown()
        }
    }

    @Test
    fun `unknown settings and bad values throw InvalidConfig naming them`() {
        val unknown =
            assertThrows<AgtraceException.InvalidConfig> {
                Tracer { ignoreEnv = true; settings["AGTRACE_CAPTURE_CONTNET"] = true }
            }
        assertTrue(unknown.message!!.contains("AGTRACE_CAPTURE_CONTNET"), unknown.message)
        assertTrue(unknown.message!!.contains("did you mean AGTRACE_CAPTURE_CONTENT"), unknown.message)

        val bad =
            assertThrows<AgtraceException.InvalidConfig> {
                Tracer { ignoreEnv = true; settings["OTEL_TRACES_SAMPLER_ARG"] = "lots"; settings["OTEL_TRACES_SAMPLER"] = "traceidratio" }
            }
        assertTrue(bad.message!!.contains("OTEL_TRACES_SAMPLER_ARG"), bad.message)

        val type = assertThrows<AgtraceException.InvalidConfig> { Tracer { ignoreEnv = true; settings["AGTRACE_TAGS"] = Any() } }
        assertTrue(type.message!!.contains("AGTRACE_TAGS"), type.message)

        assertThrows<AgtraceException.InvalidConfig> { Tracer { ignoreEnv = true; exitTimeout = (-1).seconds } }
    }

    @Test
    fun `live redaction and sampling changes`() {
        val t = Tracer { ignoreEnv = true; exporters = listOf("none") }
        try {
            t.updateRedaction(mapOf("redact_messages" to true, "sensitive_keys" to listOf("customer_ssn")))
            t.updateSampling(mapOf("rate" to 0.25))
            t.setSamplingRate(0.5)
            t.addTags("live")
            t.setGlobalMetadata("region", mapOf("name" to "eu-west"))
            val c = t.config()
            val redaction = c["redaction"] as Map<*, *>
            assertEquals(true, redaction["redact_messages"])
            assertTrue((redaction["sensitive_keys"] as List<*>).contains("customer_ssn"), redaction.toString())
            assertEquals(0.5, (c["sampling"] as Map<*, *>)["rate"])
            assertTrue((c["global_tags"] as List<*>).contains("live"))
            assertEquals(mapOf("region" to mapOf("name" to "eu-west")), c["global_metadata"])
        } finally {
            t.shutdown()
        }
    }

    @Test
    fun `global tags and metadata reach the spans`() {
        Traced(dir).use { traced ->
            traced.tracer.addTags("from-kotlin")
            traced.tracer.setGlobalMetadata("build", 7)
            traced.tracer.span("tagged") { }
            val a = traced.one("tagged").attributes
            assertEquals(listOf("from-kotlin"), a["tag.tags"])
            assertEquals(mapOf("build" to 7L), Json.parse(a["metadata"] as String))
        }
    }
}

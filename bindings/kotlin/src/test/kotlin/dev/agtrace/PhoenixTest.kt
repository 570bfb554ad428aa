package dev.agtrace

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.ValueSource
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.util.UUID

/**
 * An agent traced from Kotlin into a real OTLP receiver, Arize Phoenix, over
 * HTTP/protobuf and gRPC, and read back through Phoenix's REST API: names,
 * parent links across coroutine dispatchers, GenAI attributes and rollups.
 *
 * `make test-kotlin` runs the suite under tests/phoenix_server.py, which
 * starts Phoenix on loopback and names it in `AGTRACE_TEST_PHOENIX_HTTP` and
 * `AGTRACE_TEST_PHOENIX_GRPC`. Without them the test fails: a missing
 * receiver must be a red test, not a silent skip.
 */
class PhoenixTest {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    private fun endpoint(variable: String): String =
        System.getenv(variable) ?: fail("$variable is not set: run the suite through tests/phoenix_server.py (make test-kotlin)")

    @ParameterizedTest
    @ValueSource(strings = ["http/protobuf", "grpc"])
    fun `an agent exported to Phoenix reads back with its tree and usage`(protocol: String) {
        val base = endpoint("AGTRACE_TEST_PHOENIX_HTTP")
        val run = UUID.randomUUID().toString().take(8)
        val tracer =
            Tracer {
                ignoreEnv = true
                serviceName = "kotlin-e2e"
                exporters = listOf("otlp")
                settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = if (protocol == "grpc") endpoint("AGTRACE_TEST_PHOENIX_GRPC") else base
                settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol
            }
        runBlocking {
            tracer.withSpan("invoke_agent $run", kind = SpanKind.AGENT) {
                tracer.span("chat $run", kind = SpanKind.LLM) { llm ->
                    llm.setLlm(provider = "openai", requestModel = "gpt-4o", responseModel = "gpt-4o")
                    llm.setUsage(inputTokens = 120, outputTokens = 40)
                }
                listOf("Oslo", "Rome").map { city ->
                    async(Dispatchers.IO) {
                        tracer.withSpan("tool $run", kind = SpanKind.TOOL, attributes = mapOf("city" to city)) {
                            withContext(Dispatchers.Default) { "sunny in $city" }
                        }
                    }
                }.awaitAll()
            }
        }
        assertTrue(tracer.shutdown(), "spans left undelivered: ${tracer.stats()}")
        assertEquals(4, tracer.stats().exported)

        val spans = spansNamed(base, run, count = 4)
        val agent = spans.single { it["name"] == "invoke_agent $run" }
        val agentId = context(agent)["span_id"]
        val traceId = context(agent)["trace_id"]
        assertEquals(null, agent["parent_id"])
        for (child in spans - agent) {
            assertEquals(agentId, child["parent_id"], "parent of ${child["name"]}")
            assertEquals(traceId, context(child)["trace_id"])
        }
        assertEquals("AGENT", agent["span_kind"])
        val agentAttrs = attributes(agent)
        assertEquals(120L, (agentAttrs["agtrace.usage.input_tokens"] as Number).toLong())
        assertEquals(40L, (agentAttrs["agtrace.usage.output_tokens"] as Number).toLong())
        val llm = attributes(spans.single { it["name"] == "chat $run" })
        assertEquals("openai", llm["gen_ai.provider.name"])
        assertEquals("gpt-4o", llm["gen_ai.request.model"])
        val cities = spans.filter { it["name"] == "tool $run" }.map { attributes(it)["city"] }.toSet()
        assertEquals(setOf("Oslo", "Rome"), cities)
    }

    /** Phoenix's spans whose name ends with [run], once [count] of them arrived (30 s at most). */
    private fun spansNamed(base: String, run: String, count: Int): List<Map<String, Any?>> {
        val deadline = System.nanoTime() + 30_000_000_000L
        var found: List<Map<String, Any?>> = emptyList()
        while (System.nanoTime() < deadline) {
            found = allSpans(base).filter { (it["name"] as String).endsWith(" $run") }
            if (found.size >= count) break
            Thread.sleep(250)
        }
        assertEquals(count, found.size, "spans of run $run at Phoenix: ${found.map { it["name"] }}")
        return found
    }

    @Suppress("UNCHECKED_CAST")
    private fun allSpans(base: String): List<Map<String, Any?>> {
        val out = ArrayList<Map<String, Any?>>()
        var cursor: String? = null
        do {
            var url = "$base/v1/projects/default/spans?limit=1000"
            cursor?.let { url += "&cursor=" + URLEncoder.encode(it, Charsets.UTF_8) }
            val response = http.send(HttpRequest.newBuilder(URI(url)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString())
            if (response.statusCode() == 404) return out // no span has created the project yet
            assertEquals(200, response.statusCode(), response.body())
            val body = Json.parseObject(response.body())
            out += body["data"] as List<Map<String, Any?>>
            cursor = body["next_cursor"] as String?
        } while (cursor != null)
        return out
    }

    @Suppress("UNCHECKED_CAST")
    private fun context(span: Map<String, Any?>) = span["context"] as Map<String, Any?>

    @Suppress("UNCHECKED_CAST")
    private fun attributes(span: Map<String, Any?>) = span["attributes"] as Map<String, Any?>
}

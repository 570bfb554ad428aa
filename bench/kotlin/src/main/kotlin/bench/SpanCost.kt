package bench

import dev.agtrace.Agtrace
import dev.agtrace.SpanKind
import dev.agtrace.Tracer
import io.opentelemetry.api.common.AttributeKey
import io.opentelemetry.sdk.common.CompletableResultCode
import io.opentelemetry.sdk.trace.SdkTracerProvider
import io.opentelemetry.sdk.trace.data.SpanData
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor
import io.opentelemetry.sdk.trace.export.SpanExporter
import java.lang.management.ManagementFactory
import java.util.concurrent.TimeUnit

/**
 * What a span costs from Kotlin (start + end, a child of a live span, the
 * pipeline running with a discarding exporter): the SDK's path (one JNI
 * crossing per span, the span protocol) beside opentelemetry-java (its SDK,
 * batch processor, discarding exporter) in the same run. A plain timing
 * loop after a JIT warm-up round, not JMH: scenarios run round-robin (so a
 * noisy moment of the machine hits them alike) and each keeps its best
 * round. Prints ns/span and the ratio to opentelemetry-java, and result
 * rows for bench/run.py; fails only if a span went unaccounted for.
 *
 * Argument: spans per round (default 200000).
 */
fun main(args: Array<String>) {
    SpanCost(args.firstOrNull()?.toInt() ?: 200_000).run()
}

class SpanCost(private val spans: Int) {
    private val rounds = 5

    private class Scenario(val name: String, val n: Int, val body: () -> Unit) {
        var best = Double.MAX_VALUE
        var bestCpu = Double.MAX_VALUE
    }

    fun run() {
        // The OpenTelemetry SDK is on this class path: the plain tracer has the
        // bridge off (as where the API is absent); `bridged` has it on.
        val tracer = Tracer { ignoreEnv = true; exporters = listOf("none"); settings["AGTRACE_OTEL_BRIDGE"] = false }
        val bridged = Tracer { ignoreEnv = true; exporters = listOf("none") }
        val attrs = mapOf("tool" to "search", "step" to 3, "cached" to true)
        val input = mapOf("city" to "Oslo", "days" to 3)
        val root = tracer.startSpan("root", kind = SpanKind.AGENT)

        val discard =
            object : SpanExporter {
                override fun export(spans: Collection<SpanData>): CompletableResultCode = CompletableResultCode.ofSuccess()

                override fun flush(): CompletableResultCode = CompletableResultCode.ofSuccess()

                override fun shutdown(): CompletableResultCode = CompletableResultCode.ofSuccess()
            }
        val provider = SdkTracerProvider.builder().addSpanProcessor(BatchSpanProcessor.builder(discard).build()).build()
        val otel = provider.get("bench")
        val tool = AttributeKey.stringKey("tool")
        val step = AttributeKey.longKey("step")
        val cached = AttributeKey.booleanKey("cached")
        val otelRoot = otel.spanBuilder("root").startSpan()
        val bridgedRoot = bridged.startSpan("root", kind = SpanKind.AGENT)

        val scenarios =
            listOf(
                Scenario("agtrace span {} (no attributes)", spans) {
                    tracer.span("child", parent = root) { }
                },
                Scenario("agtrace span {} (3 attributes)", spans) {
                    tracer.span("child", kind = SpanKind.TOOL, attributes = attrs, parent = root) { }
                },
                Scenario("agtrace span {} + setLlm + setUsage", spans) {
                    tracer.span("chat", kind = SpanKind.LLM, parent = root) { s ->
                        s.setLlm(provider = "openai", requestModel = "gpt-4o")
                        s.setUsage(inputTokens = 120, outputTokens = 40)
                    }
                },
                Scenario("agtrace span {} + input and output", spans) {
                    tracer.span("execute_tool lookup", kind = SpanKind.TOOL, parent = root, input = input) { "sunny in Oslo" }
                },
                Scenario("agtrace startSpan + end", spans) { tracer.startSpan("child", parent = root).end() },
                Scenario("agtrace span {} (3 attributes), bridged", spans) {
                    bridged.span("child", kind = SpanKind.TOOL, attributes = attrs, parent = bridgedRoot) { }
                },
                Scenario("agtrace span {} (3 attributes), bridged, under OTel", spans) {
                    otelRoot.makeCurrent().use { bridged.span("child", kind = SpanKind.TOOL, attributes = attrs) { } }
                },
                Scenario("agtrace, no tracer (records nothing)", spans) {
                    Agtrace.span("child") { } // Agtrace.init() is never called here
                },
                Scenario("opentelemetry-java, current (no attributes)", spans) {
                    otelRoot.makeCurrent().use {
                        val s = otel.spanBuilder("child").startSpan()
                        s.makeCurrent().use { }
                        s.end()
                    }
                },
                Scenario("opentelemetry-java, current + 3 attributes", spans) {
                    otelRoot.makeCurrent().use {
                        val s = otel.spanBuilder("child").setAttribute(tool, "search").setAttribute(step, 3L).setAttribute(cached, true).startSpan()
                        s.makeCurrent().use { }
                        s.end()
                    }
                },
                Scenario("opentelemetry-java, start + end", spans) {
                    otelRoot.makeCurrent().use { otel.spanBuilder("child").startSpan().end() }
                },
            )
        val threads = ManagementFactory.getThreadMXBean()
        for (s in scenarios) repeat(s.n) { s.body() } // warm-up
        repeat(rounds) {
            for (s in scenarios) {
                val cpu0 = threads.currentThreadCpuTime
                val t0 = System.nanoTime()
                repeat(s.n) { s.body() }
                s.best = minOf(s.best, (System.nanoTime() - t0).toDouble() / s.n)
                s.bestCpu = minOf(s.bestCpu, (threads.currentThreadCpuTime - cpu0).toDouble() / s.n)
            }
        }

        root.end()
        bridgedRoot.end()
        for (t in listOf(tracer, bridged)) {
            val stats = t.stats()
            t.shutdown()
            check(stats.started == stats.ended) { "spans unaccounted for: $stats" }
        }
        otelRoot.end()
        provider.shutdown().join(5, TimeUnit.SECONDS)

        // Wall time includes what the export threads take from the caller on
        // a small machine; the calling thread's CPU time is the hot path alone.
        println("span cost, ns/span (best of $rounds rounds of $spans spans):")
        println("  %-44s %9s %9s".format("", "wall", "cpu"))
        for (s in scenarios) println("  %-44s %9.0f %9.0f".format(s.name, s.best, s.bestCpu))
        val wall = scenarios.associate { it.name to it.best }
        val cpu = scenarios.associate { it.name to it.bestCpu }
        val ours = "agtrace span {} (3 attributes)"
        val theirs = "opentelemetry-java, current + 3 attributes"
        println(
            "  agtrace / opentelemetry-java (3 attributes, made current): wall %.2f, cpu %.2f"
                .format(wall.getValue(ours) / wall.getValue(theirs), cpu.getValue(ours) / cpu.getValue(theirs)),
        )

        // Result rows for bench/run.py: the calling thread's CPU time.
        val peer = "opentelemetry-java 1.68 (batch processor)"
        val none = "agtrace span {} (no attributes)"
        val theirsNone = "opentelemetry-java, current (no attributes)"
        row("span(...) { }, no attributes, made current", cpu.getValue(none), peer, cpu.getValue(theirsNone), ratioTarget(cpu.getValue(none), cpu.getValue(theirsNone)))
        row("span(...) { }, 3 attributes, made current", cpu.getValue(ours), peer, cpu.getValue(theirs), ratioTarget(cpu.getValue(ours), cpu.getValue(theirs)))
        row("startSpan + end (watched for abandonment)", cpu.getValue("agtrace startSpan + end"), peer, cpu.getValue("opentelemetry-java, start + end"), null)
        row("span(...) { } + setLlm + setUsage", cpu.getValue("agtrace span {} + setLlm + setUsage"), null, null, null)
        row(
            "span(..., input = ...) { result }, capture on (tool span)",
            cpu.getValue("agtrace span {} + input and output"),
            null,
            null,
            null,
        )
        row("span(...) { } before init (records nothing)", cpu.getValue("agtrace, no tracer (records nothing)"), null, null, null)
        val plain = "the same span, bridge off"
        val bridgedCost = cpu.getValue("agtrace span {} (3 attributes), bridged")
        row("span(...) { }, 3 attributes, OpenTelemetry bridge active", bridgedCost, plain, cpu.getValue(ours), null)
        val underOtel = cpu.getValue("agtrace span {} (3 attributes), bridged, under OTel")
        row("span(...) { }, 3 attributes, bridge active, child of an OpenTelemetry span (its makeCurrent included)", underOtel, plain, cpu.getValue(ours), null)
    }

    private fun ratioTarget(ours: Double, theirs: Double): Pair<String, Boolean> = "<= 1.0 x peer" to (ours <= theirs)

    private fun row(scenario: String, agtrace: Double, peer: String?, peerValue: Double?, target: Pair<String, Boolean>?) {
        fun q(s: String?) = if (s == null) "null" else "\"$s\""
        println(
            "BENCH {\"section\": \"Kotlin/JVM\", \"scenario\": ${q(scenario)}, \"unit\": \"ns\", \"agtrace\": $agtrace, " +
                "\"peer\": ${q(peer)}, \"peer_value\": ${peerValue ?: "null"}, \"target\": ${q(target?.first)}, " +
                "\"met\": ${target?.second ?: "null"}, \"note\": \"calling thread CPU time, best of $rounds rounds of $spans spans\"}",
        )
    }
}

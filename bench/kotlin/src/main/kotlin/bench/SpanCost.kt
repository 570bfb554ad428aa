package bench

import dev.agtrace.Agtrace
import dev.agtrace.SpanKind
import dev.agtrace.Tracer
import com.sun.jna.Native
import io.opentelemetry.api.common.AttributeKey
import io.opentelemetry.sdk.common.CompletableResultCode
import io.opentelemetry.sdk.trace.SdkTracerProvider
import io.opentelemetry.sdk.trace.data.SpanData
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor
import io.opentelemetry.sdk.trace.export.SpanExporter
import java.lang.management.ManagementFactory
import java.util.concurrent.TimeUnit
import dev.agtrace.ffi.AttributeValue as FfiValue
import dev.agtrace.ffi.Tracer as FfiTracer

/**
 * What a span costs from Kotlin (start + end, a child of a live span, the
 * pipeline running with a discarding exporter): the SDK's path (the packed
 * C ABI) beside the generated uniffi calls and beside opentelemetry-java
 * (its SDK, batch processor, discarding exporter) in the same run. A plain
 * timing loop after a JIT warm-up round, not JMH: scenarios run round-robin
 * (so a noisy moment of the machine hits them alike) and each keeps its best
 * round. Prints ns/span and the ratio to opentelemetry-java, and result rows
 * for bench/run.py; fails only if a span went unaccounted for.
 *
 * Argument: spans per round (default 200000).
 */
/**
 * The packed C ABI calls bound by JNA direct mapping, as the SDK binds them:
 * the floor under the SDK's own cost (no Kotlin span object, no packing).
 */
object RawAbi {
    init {
        Native.register(RawAbi::class.java, "agtrace")
    }

    external fun agtrace_span_start_packed(
        tracer: Long,
        parent: Long,
        remoteParent: Long,
        kind: Int,
        record: ByteArray,
        recordLen: Long,
        outError: LongArray?,
    ): Long

    external fun agtrace_span_finish_packed(span: Long, record: ByteArray?, recordLen: Long, outError: LongArray?): Int

    external fun agtrace_span_free_many(spans: LongArray, len: Long)

    external fun agtrace_span_is_recording(span: Long): Byte
}

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
        val tracer = Tracer { ignoreEnv = true; exporters = listOf("none") }
        val attrs = mapOf("tool" to "search", "step" to 3, "cached" to true)
        val root = tracer.startSpan("root", kind = SpanKind.AGENT)

        // The generated uniffi calls: orders of magnitude slower, so fewer spans.
        val ffi = FfiTracer(mapOf("AGTRACE_EXPORTERS" to "none"), true)
        val ffiRoot = ffi.startSpan("root", SpanKind.AGENT, null, emptyMap())
        val ffiRootContext = ffiRoot.context()
        val ffiAttrs = mapOf("tool" to FfiValue.Text("search"), "step" to FfiValue.Integer(3), "cached" to FfiValue.Boolean(true))
        val few = maxOf(spans / 100, 100)

        val rawTracer = ffi.cHandle().toLong()
        val rawRoot = RawAbi.agtrace_span_start_packed(rawTracer, 0, 0, 0, "root".toByteArray(), 4, null)
        val rawRecord = "child\u0000tool\u0000search\u0000\u0001step\u00003\u0000\u0001cached\u0000true".toByteArray()
        val rawFree = LongArray(64)
        var rawCount = 0

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
                Scenario("agtrace startSpan + end", spans) { tracer.startSpan("child", parent = root).end() },
                Scenario("agtrace, no tracer (records nothing)", spans) {
                    Agtrace.span("child") { } // Agtrace.init() is never called here
                },
                Scenario("JNA, one trivial call (is_recording)", spans) {
                    RawAbi.agtrace_span_is_recording(rawRoot)
                },
                Scenario("JNA, packed start + finish (3 attributes)", spans) {
                    val h = RawAbi.agtrace_span_start_packed(rawTracer, rawRoot, 0, SpanKind.TOOL.ordinal, rawRecord, rawRecord.size.toLong(), null)
                    RawAbi.agtrace_span_finish_packed(h, null, 0, null)
                    rawFree[rawCount++] = h
                    if (rawCount == rawFree.size) {
                        RawAbi.agtrace_span_free_many(rawFree, rawCount.toLong())
                        rawCount = 0
                    }
                },
                Scenario("uniffi startSpan + end (no attributes)", few) {
                    ffi.startSpan("child", SpanKind.PLAIN, ffiRootContext, emptyMap()).use { it.end() }
                },
                Scenario("uniffi startSpan + end (3 attributes)", few) {
                    ffi.startSpan("child", SpanKind.TOOL, ffiRootContext, ffiAttrs).use { it.end() }
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
        val stats = tracer.stats()
        tracer.shutdown()
        check(stats.started == stats.ended) { "spans unaccounted for: $stats" }
        ffiRoot.end()
        RawAbi.agtrace_span_finish_packed(rawRoot, null, 0, null)
        ffi.shutdown(5000u)
        otelRoot.end()
        provider.shutdown().join(5, TimeUnit.SECONDS)

        // Wall time includes what the export threads take from the caller on
        // a small machine; the calling thread's CPU time is the hot path alone.
        println("span cost, ns/span (best of $rounds rounds of $spans spans, $few through uniffi):")
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
        row("span(...) { }, no attributes, made current", cpu.getValue("agtrace span {} (no attributes)"), peer, cpu.getValue("opentelemetry-java, current (no attributes)"), null)
        row("span(...) { }, 3 attributes, made current", cpu.getValue(ours), peer, cpu.getValue(theirs), "<= 1000 ns" to (cpu.getValue(ours) <= 1000.0))
        row("the packed C calls alone through JNA, 3 attributes", cpu.getValue("JNA, packed start + finish (3 attributes)"), null, null, null)
        row("the generated uniffi calls, 3 attributes", cpu.getValue("uniffi startSpan + end (3 attributes)"), null, null, null)
    }

    private fun row(scenario: String, agtrace: Double, peer: String?, peerValue: Double?, target: Pair<String, Boolean>?) {
        fun q(s: String?) = if (s == null) "null" else "\"$s\""
        println(
            "BENCH {\"section\": \"Kotlin/JVM\", \"scenario\": ${q(scenario)}, \"unit\": \"ns\", \"agtrace\": $agtrace, " +
                "\"peer\": ${q(peer)}, \"peer_value\": ${peerValue ?: "null"}, \"target\": ${q(target?.first)}, " +
                "\"met\": ${target?.second ?: "null"}, \"note\": \"calling thread CPU time, best of $rounds rounds of $spans spans\"}",
        )
    }
}

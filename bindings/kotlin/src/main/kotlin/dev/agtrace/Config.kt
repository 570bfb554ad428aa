package dev.agtrace

import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * What a [Tracer] is made from: `Agtrace.init { serviceName = "my-agent";
 * exporters = listOf("console", "file"); settings["AGTRACE_FILE_PATH"] =
 * "traces.jsonl" }`.
 *
 * [settings] are named as the environment variables of the README's
 * configuration table (`AGTRACE_CAPTURE_CONTENT`,
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, ...), so every language uses the same
 * names. Values are strings, booleans, numbers, lists (comma-separated;
 * one pattern a line for `AGTRACE_SCRUB_PATTERNS`) or maps (`key=value`
 * pairs; a JSON object for `AGTRACE_METADATA`). The environment is read
 * too, unless [ignoreEnv], and code wins over it; with nothing set, the
 * tracer is configured from the environment alone. An unknown name or a bad
 * value throws [AgtraceException.InvalidConfig] naming it.
 */
public class AgtraceConfig {
    /** `OTEL_SERVICE_NAME`. */
    public var serviceName: String? = null

    /** `AGTRACE_EXPORTERS`: `console`, `file`, `otlp`, `langfuse`, `phoenix`, `langwatch`, `opik`, `none`. */
    public var exporters: List<String>? = null

    /** Any other setting, by its environment variable's name. */
    public val settings: MutableMap<String, Any> = LinkedHashMap()

    /** Read no environment variables (nor the `AGTRACE_CONFIG` file they may name). */
    public var ignoreEnv: Boolean = false

    /** How long the JVM shutdown hook waits for this tracer's spans. */
    public var exitTimeout: Duration = 5.seconds

    /**
     * Masks captured inputs and outputs ([Tracer.span]) and message content
     * ([Span.setMessages]) before they are encoded, on the thread that
     * recorded them: it gets the value converted to JSON-ready form (null,
     * `String`, `Boolean`, `Long`, `Double`, `List`, `Map<String, Any?>`)
     * and returns what to record instead (any value, converted again). One
     * that throws drops the value, counted as misuse (`mask_failed` in
     * [Stats.misuse]), never thrown (but in strict mode). Runs before the
     * tracer's redaction rules, which apply to what it returns.
     */
    public var mask: ((Any?) -> Any?)? = null

    /** The settings as the core's names and text values. */
    internal fun byName(): Map<String, String> {
        val known = cold { dev.agtrace.ffi.settingNames() }.toSet()
        val out = LinkedHashMap<String, String>()
        for ((name, value) in settings) {
            if (name !in known) {
                val close = known.sortedBy { distance(it, name) }.take(3).filter { distance(it, name) <= maxOf(2, name.length / 3) }
                val hint = if (close.isEmpty()) "" else "; did you mean ${close.joinToString(", ")}?"
                throw AgtraceException.InvalidConfig("unknown setting \"$name\"$hint")
            }
            out[name] = text(name, value)
        }
        serviceName?.let { out["OTEL_SERVICE_NAME"] = it }
        exporters?.let { out["AGTRACE_EXPORTERS"] = text("AGTRACE_EXPORTERS", it) }
        return out
    }

    private companion object {
        /** A setting's text form, as the environment variable would hold it. */
        fun text(name: String, value: Any?): String =
            when (value) {
                is String -> value
                is Boolean -> value.toString()
                is Int, is Long, is Short, is Byte -> value.toString()
                is Double, is Float -> value.toString()
                is Map<*, *> ->
                    if (name == "AGTRACE_METADATA") {
                        Json.encode(value, name)
                    } else {
                        value.entries.joinToString(",") { (k, v) -> "$k=${percent(v.toString())}" }
                    }
                is Iterable<*> -> value.joinToString(if (name == "AGTRACE_SCRUB_PATTERNS") "\n" else ",")
                is Array<*> -> text(name, value.toList())
                else -> throw AgtraceException.InvalidConfig(
                    "setting $name: unsupported value type ${Json.typeName(value)}",
                )
            }

        fun percent(value: String): String = value.replace("%", "%25").replace(",", "%2C")

        /** Levenshtein distance, for suggesting a setting name. */
        fun distance(a: String, b: String): Int {
            var previous = IntArray(b.length + 1) { it }
            for (i in 1..a.length) {
                val row = IntArray(b.length + 1)
                row[0] = i
                for (j in 1..b.length) {
                    val cost = if (a[i - 1].equals(b[j - 1], ignoreCase = true)) 0 else 1
                    row[j] = minOf(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
                }
                previous = row
            }
            return previous[b.length]
        }
    }
}

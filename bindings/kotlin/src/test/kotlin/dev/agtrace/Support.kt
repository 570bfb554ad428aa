package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.fail
import java.nio.file.Files
import java.nio.file.Path

/**
 * Reading what a file exporter wrote: OTLP/JSON, one
 * `ExportTraceServiceRequest` per line (core/src/exporter/file.rs), each span
 * flattened into an [Exported].
 */
data class Exported(
    val name: String,
    val traceId: String,
    val spanId: String,
    /** Null at a root. */
    val parentSpanId: String?,
    /** OTLP span kind: INTERNAL, CLIENT, ... */
    val kind: String,
    val attributes: Map<String, Any?>,
    val events: List<Event>,
    /** unset, ok or error. */
    val status: String,
    val statusMessage: String,
    val resource: Map<String, Any?>,
    val links: List<Link>,
) {
    data class Event(val name: String, val attributes: Map<String, Any?>)

    data class Link(val traceId: String, val spanId: String, val attributes: Map<String, Any?>)

    fun event(name: String): Event =
        events.singleOrNull { it.name == name } ?: fail("want one event $name on span ${this.name}, got ${events.map { it.name }}")
}

private val KINDS = mapOf(0L to "UNSPECIFIED", 1L to "INTERNAL", 2L to "SERVER", 3L to "CLIENT", 4L to "PRODUCER", 5L to "CONSUMER")
private val STATUS = mapOf(0L to "unset", 1L to "ok", 2L to "error")

@Suppress("UNCHECKED_CAST")
fun readSpans(path: Path): List<Exported> {
    if (!Files.exists(path)) return emptyList()
    val spans = ArrayList<Exported>()
    for (line in Files.readAllLines(path)) {
        if (line.isBlank()) continue
        val request = Json.parseObject(line)
        for (rs in request["resourceSpans"] as List<Map<String, Any?>>) {
            val resource = attributes((rs["resource"] as Map<String, Any?>)["attributes"])
            for (ss in rs["scopeSpans"] as List<Map<String, Any?>>) {
                for (s in ss["spans"] as List<Map<String, Any?>>) {
                    val status = s["status"] as Map<String, Any?>? ?: emptyMap()
                    spans +=
                        Exported(
                            name = s["name"] as String,
                            traceId = s["traceId"] as String,
                            spanId = s["spanId"] as String,
                            parentSpanId = (s["parentSpanId"] as String?)?.ifEmpty { null },
                            kind = KINDS[s["kind"] as Long] ?: s["kind"].toString(),
                            attributes = attributes(s["attributes"]),
                            events = (s["events"] as List<Map<String, Any?>>? ?: emptyList()).map {
                                Exported.Event(it["name"] as String, attributes(it["attributes"]))
                            },
                            status = STATUS[status["code"] as Long? ?: 0L] ?: status["code"].toString(),
                            statusMessage = status["message"] as String? ?: "",
                            resource = resource,
                            links = (s["links"] as List<Map<String, Any?>>? ?: emptyList()).map {
                                Exported.Link(it["traceId"] as String, it["spanId"] as String, attributes(it["attributes"]))
                            },
                        )
                }
            }
        }
    }
    return spans
}

@Suppress("UNCHECKED_CAST")
private fun attributes(keyValues: Any?): Map<String, Any?> {
    val out = LinkedHashMap<String, Any?>()
    for (kv in keyValues as List<Map<String, Any?>>? ?: emptyList()) {
        val key = kv["key"] as String
        check(key !in out) { "attribute $key written twice" }
        out[key] = anyValue(kv["value"] as Map<String, Any?>? ?: emptyMap())
    }
    return out
}

/** An OTLP/JSON AnyValue as the Kotlin value it stands for (int64 is written as a string). */
@Suppress("UNCHECKED_CAST")
private fun anyValue(v: Map<String, Any?>): Any? =
    when {
        "stringValue" in v -> v["stringValue"]
        "boolValue" in v -> v["boolValue"]
        "intValue" in v -> (v["intValue"] as String).toLong()
        "doubleValue" in v -> (v["doubleValue"] as Number).toDouble()
        "arrayValue" in v -> ((v["arrayValue"] as Map<String, Any?>?)?.get("values") as List<Map<String, Any?>>? ?: emptyList()).map(::anyValue)
        else -> null
    }

/**
 * A tracer exporting to its own OTLP/JSON file, the environment ignored;
 * [spans] flushes and reads back what it exported.
 */
class Traced(dir: Path, extra: Map<String, Any> = emptyMap(), mask: ((Any?) -> Any?)? = null) : AutoCloseable {
    val path: Path = Files.createTempFile(dir, "spans", ".jsonl").also { Files.delete(it) }

    val tracer: Tracer =
        Tracer {
            ignoreEnv = true
            serviceName = "kotlin-tests"
            exporters = listOf("file")
            settings["AGTRACE_FILE_PATH"] = path.toString()
            settings.putAll(extra)
            this.mask = mask
        }

    fun spans(): List<Exported> {
        check(tracer.isShutDown || tracer.flush()) { "flush timed out" }
        return readSpans(path)
    }

    fun one(name: String): Exported = one(spans(), name)

    override fun close() {
        tracer.shutdown()
    }
}

/** The only span called [name]; fails listing what there is otherwise. */
fun one(spans: List<Exported>, name: String): Exported {
    val found = spans.filter { it.name == name }
    assertEquals(1, found.size, "want exactly one span \"$name\"; spans: ${spans.map { it.name }.sorted()}")
    return found[0]
}

fun named(spans: List<Exported>, name: String): List<Exported> = spans.filter { it.name == name }

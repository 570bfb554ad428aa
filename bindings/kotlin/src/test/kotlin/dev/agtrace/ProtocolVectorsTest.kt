package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Path

/**
 * The encoder against the span protocol's shared test vectors
 * (`ffi/protocol/vectors.json`): every vector meant for encoders, written
 * through [Encoder] and, for attributes, the SDK's own mapping of Kotlin
 * values ([Attributes]), gives exactly the vector's bytes.
 */
@Suppress("UNCHECKED_CAST")
class ProtocolVectorsTest {
    private val vectors: Map<String, Any?> =
        Json.parseObject(String(Files.readAllBytes(Path.of(System.getProperty("agtrace.root"), "ffi", "protocol", "vectors.json"))))

    @Test
    fun `the encoder writes every vector's bytes`() {
        assertEquals(Codes.PROTOCOL_VERSION.toLong(), vectors["version"])
        var encoded = 0
        for (v in vectors["vectors"] as List<Map<String, Any?>>) {
            if (v["encode"] == false) continue
            val enc = Encoder(64, direct = false)
            for (record in v["records"] as List<Map<String, Any?>>) record(enc, record)
            assertEquals(v["hex"], enc.toString(), v["name"] as String)
            encoded++
        }
        assertTrue(encoded >= 9, "only $encoded vectors to encode")
    }

    @Test
    fun `the thread buffer's direct encoder writes the same bytes`() {
        val v = (vectors["vectors"] as List<Map<String, Any?>>).first { (it["records"] as List<*>).size > 1 }
        val enc = Encoder(8, direct = true, base = ThreadBuffer.OUT)
        for (record in v["records"] as List<Map<String, Any?>>) record(enc, record)
        assertEquals(v["hex"], enc.toString(), "grown from 8 bytes, after the begun area")
    }

    private fun record(enc: Encoder, record: Map<String, Any?>) {
        val (type, body) = record.entries.single().let { it.key to it.value as Map<String, Any?> }
        when (type) {
            "begin" -> {
                val at = enc.record(Codes.RECORD_BEGIN)
                val kind = SpanKind.valueOf((body["kind"] as String).uppercase()).code
                when (val parent = body["parent"]) {
                    "root" -> enc.root(kind)
                    else -> {
                        val (form, fields) = (parent as Map<String, Any?>).entries.single()
                        if (form == "context") {
                            enc.context(kind, fields as Long)
                        } else {
                            fields as Map<String, Any?>
                            val inherit = fields["inherit"] as Long?
                            var code = if (form == "local") Codes.PARENT_LOCAL else Codes.PARENT_SPAN
                            if (inherit != null) code = code or Codes.PARENT_INHERIT
                            val trace = longs(fields["trace_id"] as String)
                            val span = longs(fields["span_id"] as String)
                            enc.ids(kind, code, trace[0], trace[1], span[0], (fields["flags"] as Long).toInt(), inherit ?: 0L)
                        }
                    }
                }
                enc.str(body["name"] as String)
                for (item in body["items"] as List<Map<String, Any?>>) item(enc, item)
                enc.close(at)
            }
            "end", "abandon" -> {
                val items = Encoder(16, direct = false)
                for (item in body["items"] as List<Map<String, Any?>>) item(items, item)
                val code = if (type == "end") Codes.RECORD_END else Codes.RECORD_ABANDON
                enc.end(code, body["handle"] as Long, offset(body["duration_ns"]), items)
            }
            else -> error("unknown record $type")
        }
    }

    /** One item; attributes go through the SDK's mapping of Kotlin values. */
    private fun item(enc: Encoder, item: Map<String, Any?>) {
        val (code, f) = item.entries.single()
        when (code) {
            "string", "int", "double", "bool", "string_array", "int_array", "double_array", "bool_array" -> {
                val (key, value) = f as List<Any?>
                assertTrue(Attributes.put(enc, key as String, value))
            }
            "json" -> (f as List<String>).let { enc.json(it[0], it[1]) }
            "name" -> enc.name(f as String)
            "status" -> (f as List<String>).let { enc.status(StatusCode.valueOf(it[0].uppercase()).code, it[1]) }
            "error" -> (f as List<String>).let { enc.error(it[0], it[1], it[2]) }
            "usage" -> (f as List<Long>).let { enc.usage(it[0], it[1], it[2], it[3], it[4]) }
            "tool" -> (f as List<String>).let { enc.tool(it[0], it[1]) }
            "agent" -> (f as List<String>).let { enc.agent(it[0], it[1]) }
            "messages" -> (f as List<String>).let { enc.messages(it[0], it[1]) }
            "first_chunk" -> enc.firstChunk(offset(f))
            "llm" ->
                (f as Map<String, Any?>).let {
                    enc.llm(
                        it["provider"] as String,
                        it["request_model"] as String,
                        it["response_model"] as String,
                        it["response_id"] as String,
                        it["finish_reasons"] as List<String>,
                    )
                }
            "trace" ->
                (f as Map<String, Any?>).let {
                    enc.trace(
                        it["user_id"] as String,
                        it["session_id"] as String,
                        it["conversation_id"] as String,
                        it["environment"] as String,
                        it["release"] as String,
                        it["tags"] as List<String>,
                        it["metadata"] as String,
                    )
                }
            "event" ->
                (f as Map<String, Any?>).let {
                    val at = enc.event(it["name"] as String, offset(it["offset_ns"]))
                    val attributes = it["attributes"] as List<Map<String, Any?>>
                    for (a in attributes) item(enc, a)
                    enc.count(at, attributes.size)
                }
            "link" ->
                (f as Map<String, Any?>).let {
                    val trace = longs(it["trace_id"] as String)
                    val span = longs(it["span_id"] as String)
                    val at = enc.link(trace[0], trace[1], span[0], (it["flags"] as Long).toInt(), it["trace_state"] as String)
                    val attributes = it["attributes"] as List<Map<String, Any?>>
                    for (a in attributes) item(enc, a)
                    enc.count(at, attributes.size)
                }
            else -> error("unknown item $code")
        }
    }

    /** A time in nanoseconds; null is NOW. */
    private fun offset(ns: Any?): Long = (ns as Long?) ?: Encoder.NOW

    /** Hex bytes as the little-endian longs the encoder takes. */
    private fun longs(hex: String): LongArray {
        val bytes = ByteArray(hex.length / 2) { hex.substring(2 * it, 2 * it + 2).toInt(16).toByte() }
        val b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        return LongArray(bytes.size / 8) { b.getLong(8 * it) }
    }
}

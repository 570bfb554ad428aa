package dev.agtrace

import java.math.BigDecimal
import java.math.BigInteger
import java.nio.ByteBuffer
import java.security.MessageDigest
import java.time.Instant
import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter
import java.time.temporal.TemporalAccessor
import java.time.temporal.TemporalAmount
import java.util.Date
import java.util.IdentityHashMap
import java.util.UUID
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong

/**
 * Any value as a JSON-ready value ("plain": null, `String`, `Boolean`,
 * `Long`, finite `Double`, `List<Any?>` and `Map<String, Any?>` of those):
 * what attribute values, captured inputs and outputs, messages and
 * metadata become. The same rules as the Python SDK's (`agtrace/_record.py`):
 *
 * - strings, booleans, integers, finite numbers: as they are (`Float`
 *   through its shortest text, so `0.1f` stays 0.1); non-finite ones their
 *   name (`"NaN"`, `"Infinity"`); `BigInteger` a `Long` when it fits, else
 *   its digits; `BigDecimal`, `UUID`, chars: their exact text;
 * - enums: their name; `java.time` values, `Date` and `kotlin.time.Duration`:
 *   ISO 8601 text;
 * - `ByteArray`/`ByteBuffer`: a placeholder with length and digest
 *   (`<bytes len=N sha256=…>`), never the content; `CharArray` (how JVM
 *   code holds passwords): its length only;
 * - maps (keys converted to text), iterables, arrays, `Pair`/`Triple`,
 *   Java records (their components): converted item by item. A container
 *   met again inside itself becomes [CYCLE], nesting deeper than
 *   [MAX_DEPTH] [TOO_DEEP];
 * - anything else, Kotlin data classes included (the SDK has no
 *   kotlin-reflect): its `toString()`, cut at [MAX_REPR] characters; one
 *   that throws gives `<unrepresentable TYPE>`. A `Sequence` is not
 *   iterated (it may be single-use or endless): its `toString()` too.
 *
 * Converting never throws an [Exception]; it may run the value's own code
 * (`toString`, iterators), so callers convert before taking a span's or a
 * thread buffer's lock.
 */
internal object Values {
    const val MAX_REPR = 1024
    const val MAX_DEPTH = 32
    const val CYCLE = "<cycle>"
    const val TOO_DEEP = "<too deep>"

    /** Values the encoder takes as they are: converting them runs no code of theirs. */
    fun isScalar(v: Any?): Boolean =
        v == null || v is String || v is Boolean || v is Int || v is Long || v is Double || v is Float || v is Short || v is Byte

    /** [v] itself when it is a scalar, else converted. */
    fun prepare(v: Any?): Any? = if (isScalar(v)) v else plain(v)

    /** [value] converted (see the class doc). Never throws an [Exception]. */
    fun plain(value: Any?): Any? =
        try {
            convert(value, 0, null)
        } catch (e: Exception) {
            unrepresentable(value)
        }

    /** A plain value as compact JSON text. */
    fun json(plain: Any?): String = Json.encode(plain, "value")

    private fun convert(value: Any?, depth: Int, path: IdentityHashMap<Any, Unit>?): Any? =
        when (value) {
            null -> null
            is String -> value
            is Boolean -> value
            is Int -> value.toLong()
            is Long -> value
            is Short -> value.toLong()
            is Byte -> value.toLong()
            is Double -> if (value.isFinite()) value else value.toString()
            is Float -> if (value.isFinite()) value.toString().toDouble() else value.toString()
            is Char -> value.toString()
            is Enum<*> -> value.name
            is BigInteger -> if (value.bitLength() < 64) value.toLong() else value.toString()
            is BigDecimal -> value.toString()
            is AtomicInteger -> value.get().toLong()
            is AtomicLong -> value.get()
            is UUID -> value.toString()
            // ISO 8601 with the offset, not Java's zone suffix ("[Europe/Oslo]").
            is ZonedDateTime -> DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(value)
            is TemporalAccessor, is TemporalAmount -> value.toString()
            is Date -> Instant.ofEpochMilli(value.time).toString()
            is kotlin.time.Duration -> value.toIsoString()
            is ByteArray -> bytes(value.size, ByteBuffer.wrap(value))
            is ByteBuffer -> value.duplicate().let { bytes(it.remaining(), it) }
            is CharArray -> "<chars len=${value.size}>"
            is CharSequence -> value.toString()
            else -> container(value, depth, path)
        }

    /** A value that may hold others: converted inside the cycle and depth guards. */
    private fun container(value: Any, depth: Int, path: IdentityHashMap<Any, Unit>?): Any? {
        if (!isContainer(value)) return repr(value)
        if (depth >= MAX_DEPTH) return TOO_DEEP
        val on = path ?: IdentityHashMap()
        if (on.put(value, Unit) != null) return CYCLE
        try {
            return structure(value, depth + 1, on)
        } finally {
            on.remove(value)
        }
    }

    private fun isContainer(v: Any): Boolean =
        v is Map<*, *> || v is Iterable<*> || v is Array<*> || v is IntArray || v is LongArray || v is DoubleArray ||
            v is FloatArray || v is ShortArray || v is BooleanArray || v is Pair<*, *> || v is Triple<*, *, *> || v is Record

    private fun structure(value: Any, depth: Int, path: IdentityHashMap<Any, Unit>): Any? =
        when (value) {
            is Map<*, *> -> {
                val out = LinkedHashMap<String, Any?>(maxOf(4, value.size * 2))
                for ((k, v) in value) out[key(k, depth, path)] = convert(v, depth, path)
                out
            }
            is Iterable<*> -> value.map { convert(it, depth, path) }
            is Array<*> -> value.map { convert(it, depth, path) }
            is IntArray -> value.map { it.toLong() }
            is LongArray -> value.toList()
            is ShortArray -> value.map { it.toLong() }
            is DoubleArray -> value.map { convert(it, depth, path) }
            is FloatArray -> value.map { convert(it, depth, path) }
            is BooleanArray -> value.toList()
            is Pair<*, *> -> listOf(convert(value.first, depth, path), convert(value.second, depth, path))
            is Triple<*, *, *> ->
                listOf(convert(value.first, depth, path), convert(value.second, depth, path), convert(value.third, depth, path))
            is Record -> record(value, depth, path)
            else -> repr(value)
        }

    /** A record's components by name; one whose accessors cannot be called (a private record) as its text. */
    private fun record(value: Record, depth: Int, path: IdentityHashMap<Any, Unit>): Any? {
        val components = value.javaClass.recordComponents ?: return repr(value)
        val fields =
            try {
                components.map { it.name to it.accessor.invoke(value) }
            } catch (e: ReflectiveOperationException) {
                return repr(value)
            }
        val out = LinkedHashMap<String, Any?>()
        for ((name, v) in fields) out[name] = convert(v, depth, path)
        return out
    }

    private fun key(k: Any?, depth: Int, path: IdentityHashMap<Any, Unit>): String =
        when (val p = convert(k, depth, path)) {
            is String -> p
            else -> json(p)
        }

    private fun bytes(size: Int, content: ByteBuffer): String {
        val digest = MessageDigest.getInstance("SHA-256").digest(ByteArray(content.remaining()).also { content.get(it) })
        val hex = StringBuilder(12)
        for (i in 0 until 6) hex.append("%02x".format(digest[i]))
        return "<bytes len=$size sha256=$hex>"
    }

    /** [value]'s `toString()`, at most [MAX_REPR] characters. */
    fun repr(value: Any): String {
        val text =
            try {
                value.toString()
            } catch (e: Exception) {
                return unrepresentable(value)
            }
        return if (text.length > MAX_REPR) "${text.substring(0, MAX_REPR)}...<${text.length - MAX_REPR} more chars>" else text
    }

    fun unrepresentable(value: Any?): String = "<unrepresentable ${typeName(value)}>"

    /** A type's name without its package, nested types joined by dots (`Outer.Inner`), as Python's `__qualname__`. */
    fun typeName(value: Any?): String {
        if (value == null) return "null"
        val c = value.javaClass
        return c.name.substring(c.packageName.length).trimStart('.').replace('$', '.')
    }
}

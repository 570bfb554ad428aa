package dev.agtrace

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * Writes span protocol bytes (`ffi/PROTOCOL.md`, codes from [Codes]) into a
 * growable little-endian buffer: records, parents and items. A thread's
 * message is built in a direct one ([ThreadBuffer]), the items a span
 * records while it runs in a heap one of its own, copied into its END.
 *
 * Bytes go from [base] to [pos]. Every write grows the buffer as needed
 * (replacing [buf], so never keep it across writes). Strings are written as
 * UTF-8, a lone surrogate as `?` (as `String.toByteArray` does). Nothing
 * here validates keys or names ([Attributes] does). Not thread-safe.
 *
 * A write that would take the buffer past [MAX] throws [Oversize]; the
 * caller rewinds [pos] to before what it was writing.
 */
internal class Encoder(capacity: Int, private val direct: Boolean, @JvmField val base: Int = 0) {
    /** Room for [capacity] bytes after [base], to begin with. */
    @JvmField var buf: ByteBuffer = allocate(base + capacity)

    @JvmField var pos: Int = base

    /** The bytes written, as a hex string (tests). */
    override fun toString(): String = (base until pos).joinToString("") { "%02x".format(buf.get(it)) }

    private fun allocate(n: Int): ByteBuffer =
        (if (direct) ByteBuffer.allocateDirect(n) else ByteBuffer.allocate(n)).order(ByteOrder.LITTLE_ENDIAN)

    /** Room for [n] more bytes. */
    fun ensure(n: Long) {
        if (n > buf.capacity() - pos) grow(n)
    }

    private fun grow(n: Long) {
        val need = pos + n
        if (need > MAX) throw Oversize("a span's data exceeds ${MAX shr 20} MiB; what did not fit was dropped")
        val bigger = allocate(maxOf(need, minOf(buf.capacity() * 2L, MAX)).toInt())
        bigger.put(0, buf, 0, pos)
        buf = bigger
    }

    // -- primitives (callers ensure room) ------------------------------------------

    private fun u8(v: Int) {
        buf.put(pos, v.toByte())
        pos += 1
    }

    private fun u32(v: Int) {
        buf.putInt(pos, v)
        pos += 4
    }

    private fun u64(v: Long) {
        buf.putLong(pos, v)
        pos += 8
    }

    fun byte(v: Int) {
        ensure(1)
        u8(v)
    }

    fun int(v: Int) {
        ensure(4)
        u32(v)
    }

    fun long(v: Long) {
        ensure(8)
        u64(v)
    }

    fun double(v: Double) {
        ensure(8)
        buf.putDouble(pos, v)
        pos += 8
    }

    /** `str`: a `u32` byte length, then the UTF-8 bytes. */
    fun str(s: String) {
        val n = s.length
        // Three bytes per UTF-16 unit at most; long strings are measured
        // first so that they do not grow the buffer threefold.
        ensure(4L + if (n <= LONG_STRING) 3L * n else utf8Length(s))
        val at = pos
        pos += 4
        var i = 0
        while (i < n) {
            val c = s[i].code
            if (c >= 0x80) break
            buf.put(pos++, c.toByte())
            i++
        }
        if (i < n) utf8(s, i)
        buf.putInt(at, pos - at - 4)
    }

    private fun utf8(s: String, from: Int) {
        var i = from
        val n = s.length
        while (i < n) {
            val c = s[i++].code
            when {
                c < 0x80 -> buf.put(pos++, c.toByte())
                c < 0x800 -> {
                    buf.put(pos++, (0xc0 or (c shr 6)).toByte())
                    buf.put(pos++, (0x80 or (c and 0x3f)).toByte())
                }
                c in 0xd800..0xdbff && i < n && s[i].code in 0xdc00..0xdfff -> {
                    val p = 0x10000 + ((c - 0xd800) shl 10) + (s[i++].code - 0xdc00)
                    buf.put(pos++, (0xf0 or (p shr 18)).toByte())
                    buf.put(pos++, (0x80 or ((p shr 12) and 0x3f)).toByte())
                    buf.put(pos++, (0x80 or ((p shr 6) and 0x3f)).toByte())
                    buf.put(pos++, (0x80 or (p and 0x3f)).toByte())
                }
                c in 0xd800..0xdfff -> buf.put(pos++, '?'.code.toByte())
                else -> {
                    buf.put(pos++, (0xe0 or (c shr 12)).toByte())
                    buf.put(pos++, (0x80 or ((c shr 6) and 0x3f)).toByte())
                    buf.put(pos++, (0x80 or (c and 0x3f)).toByte())
                }
            }
        }
    }

    /** `strs`: a `u32` count, then each `str`. */
    fun strs(values: List<String>) {
        int(values.size)
        for (v in values) str(v)
    }

    /** Copies the bytes [from] wrote (a whole encoder's worth, e.g. items recorded on a span). */
    fun bytes(from: Encoder) {
        val n = from.pos - from.base
        ensure(n.toLong())
        buf.put(pos, from.buf, from.base, n)
        pos += n
    }

    /** Copies [bytes] as they are (e.g. an item encoded once). */
    fun bytes(bytes: ByteArray) {
        ensure(bytes.size.toLong())
        buf.put(pos, bytes)
        pos += bytes.size
    }

    // -- records -------------------------------------------------------------------

    /** Opens a record ([Codes.RECORD_BEGIN], ...); returns where it starts, for [close]. */
    fun record(code: Int): Int {
        ensure(5)
        val at = pos
        u8(code)
        pos += 4
        return at
    }

    /** Writes the length of the record opened at [at]. */
    fun close(at: Int) {
        buf.putInt(at + 1, pos - at - 5)
    }

    /** A BEGIN's kind and a ROOT parent. */
    fun root(kind: Int) {
        ensure(2)
        u8(kind)
        u8(Codes.PARENT_ROOT)
    }

    /**
     * A BEGIN's kind and a parent by ids: [form] is [Codes.PARENT_LOCAL] or
     * [Codes.PARENT_SPAN], plus [Codes.PARENT_INHERIT] with the context
     * handle [inherit]. The ids are the 16 + 8 bytes as little-endian longs.
     */
    fun ids(kind: Int, form: Int, traceA: Long, traceB: Long, spanId: Long, flags: Int, inherit: Long) {
        ensure(35)
        u8(kind)
        u8(form)
        u64(traceA)
        u64(traceB)
        u64(spanId)
        u8(flags)
        if (form and Codes.PARENT_INHERIT != 0) u64(inherit)
    }

    /** A BEGIN's kind and a CONTEXT parent (an `agtrace_context_t *`). */
    fun context(kind: Int, handle: Long) {
        ensure(10)
        u8(kind)
        u8(Codes.PARENT_CONTEXT)
        u64(handle)
    }

    /** An END ([Codes.RECORD_END]) or ABANDON record: the span's handle, its duration (or [NOW]) and its [items]. */
    fun end(code: Int, handle: Long, duration: Long, items: Encoder?) {
        val at = record(code)
        long(handle)
        long(duration)
        if (items != null) bytes(items)
        close(at)
    }

    // -- items ---------------------------------------------------------------------

    private fun keyed(code: Int, key: String) {
        byte(code)
        str(key)
    }

    fun string(key: String, value: String) {
        keyed(Codes.ITEM_STRING, key)
        str(value)
    }

    fun int(key: String, value: Long) {
        keyed(Codes.ITEM_INT, key)
        long(value)
    }

    fun double(key: String, value: Double) {
        keyed(Codes.ITEM_DOUBLE, key)
        double(value)
    }

    fun bool(key: String, value: Boolean) {
        keyed(Codes.ITEM_BOOL, key)
        byte(if (value) 1 else 0)
    }

    /** An array item's head ([Codes.ITEM_STRING_ARRAY], ...): its [count] elements follow (`str`, `long`, `double`, `byte`). */
    fun array(code: Int, key: String, count: Int) {
        keyed(code, key)
        int(count)
    }

    fun json(key: String, json: String) {
        keyed(Codes.ITEM_JSON, key)
        str(json)
    }

    fun status(code: Int, description: String) {
        byte(Codes.ITEM_STATUS)
        byte(code)
        str(description)
    }

    fun error(type: String, message: String, stacktrace: String) {
        byte(Codes.ITEM_ERROR)
        str(type)
        str(message)
        str(stacktrace)
    }

    fun usage(input: Long, output: Long, cacheRead: Long, cacheCreation: Long, reasoning: Long) {
        byte(Codes.ITEM_USAGE)
        long(input)
        long(output)
        long(cacheRead)
        long(cacheCreation)
        long(reasoning)
    }

    /** Empty strings and lists leave a field as it was. */
    fun llm(provider: String, requestModel: String, responseModel: String, responseId: String, finishReasons: List<String>) {
        byte(Codes.ITEM_LLM)
        str(provider)
        str(requestModel)
        str(responseModel)
        str(responseId)
        strs(finishReasons)
    }

    fun tool(name: String, callId: String) {
        byte(Codes.ITEM_TOOL)
        str(name)
        str(callId)
    }

    fun agent(name: String, id: String) {
        byte(Codes.ITEM_AGENT)
        str(name)
        str(id)
    }

    /** JSON texts; empty when not set. */
    fun messages(input: String, output: String) {
        byte(Codes.ITEM_MESSAGES)
        str(input)
        str(output)
    }

    /** Trace-level context; empty strings and lists leave a field as it was; [metadata] is a JSON object's text. */
    fun trace(
        userId: String,
        sessionId: String,
        conversationId: String,
        environment: String,
        release: String,
        tags: List<String>,
        metadata: String,
    ) {
        byte(Codes.ITEM_TRACE)
        str(userId)
        str(sessionId)
        str(conversationId)
        str(environment)
        str(release)
        strs(tags)
        str(metadata)
    }

    /**
     * An event's head: its attribute items follow, then [count] sets their
     * number. Returns where the number goes.
     */
    fun event(name: String, offset: Long): Int {
        byte(Codes.ITEM_EVENT)
        str(name)
        long(offset)
        val at = pos
        int(0)
        return at
    }

    /** Sets the attribute count of the event or link whose head returned [at]. */
    fun count(at: Int, n: Int) {
        buf.putInt(at, n)
    }

    /**
     * A LINK item's head, to the span with these ids (as in [ids]) and W3C
     * [traceState]: its attribute items follow, then [count] sets their
     * number. Returns where the number goes.
     */
    fun link(traceA: Long, traceB: Long, spanId: Long, flags: Int, traceState: String): Int {
        ensure(26)
        u8(Codes.ITEM_LINK)
        u64(traceA)
        u64(traceB)
        u64(spanId)
        u8(flags)
        str(traceState)
        val at = pos
        int(0)
        return at
    }

    fun firstChunk(offset: Long) {
        byte(Codes.ITEM_FIRST_CHUNK)
        long(offset)
    }

    fun name(name: String) {
        byte(Codes.ITEM_NAME)
        str(name)
    }

    /** A write past [MAX]. */
    class Oversize(message: String) : RuntimeException(message)

    internal companion object {
        /** An offset or duration meaning "when the core reads it" (`u64::MAX`). */
        const val NOW: Long = -1L

        /** The most one buffer holds: a message's lengths are `u32`, Java's arrays `int`-indexed. */
        private const val MAX: Long = Int.MAX_VALUE - 16L

        /** Longer strings are measured before they are written. */
        private const val LONG_STRING = 4096

        fun utf8Length(s: String): Long {
            var n = 0L
            var i = 0
            while (i < s.length) {
                val c = s[i++].code
                n +=
                    when {
                        c < 0x80 -> 1
                        c < 0x800 -> 2
                        c in 0xd800..0xdbff && i < s.length && s[i].code in 0xdc00..0xdfff -> {
                            i++
                            4
                        }
                        c in 0xd800..0xdfff -> 1
                        else -> 3
                    }
            }
            return n
        }
    }
}

package dev.agtrace

import com.sun.jna.Memory
import com.sun.jna.Native
import com.sun.jna.Pointer
import com.sun.jna.Structure
import java.lang.ref.Cleaner

/**
 * libagtrace's C ABI on the cold path (JNA direct mapping,
 * `include/agtrace.h`): contexts, propagation headers, errors, the
 * version and the freeing of handles. Spans cross through [Native] (JNI),
 * the uniffi-generated calls keep the rest of the cold API (settings,
 * flush, stats, live configuration). All three bind the one loaded file,
 * so the process has one core.
 *
 * Handles are `Long`s (pointers); 0 is NULL. `outError` arguments take a
 * one-element array that receives an `agtrace_error_t *`, or null.
 */
internal object Abi {
    init {
        // The file the generated bindings bind too (see [Libagtrace]).
        Native.register(Abi::class.java, Libagtrace.file)
    }

    /** Frees handles when their Kotlin owner is unreachable, off the application's threads. */
    val cleaner: Cleaner = Cleaner.create()

    // -- contexts and propagation ----------------------------------------------

    external fun agtrace_context_new(
        traceId: ByteArray,
        spanId: ByteArray,
        flags: Byte,
        inherit: Long,
        outContext: LongArray,
        outError: LongArray?,
    ): Int

    external fun agtrace_context_ids(
        context: Long,
        traceId: ByteArray,
        spanId: ByteArray,
        sampled: ByteArray,
        outError: LongArray?,
    ): Int

    external fun agtrace_context_free(context: Long)

    external fun agtrace_headers_new(): Long

    external fun agtrace_headers_free(headers: Long)

    external fun agtrace_headers_set(headers: Long, name: Str.ByValue, value: Str.ByValue, outError: LongArray?): Int

    external fun agtrace_headers_count(headers: Long): Long

    /**
     * `outName`/`outValue` receive an `agtrace_str_t` each: two words,
     * pointer then length (its `repr(C)` layout on 64-bit targets).
     */
    external fun agtrace_headers_get(
        headers: Long,
        index: Long,
        outName: LongArray,
        outValue: LongArray,
        outError: LongArray?,
    ): Int

    external fun agtrace_inject(tracer: Long, context: Long, headers: Long, outError: LongArray?): Int

    external fun agtrace_extract(tracer: Long, headers: Long, outContext: LongArray, outError: LongArray?): Int

    // -- tracers, errors, versions ---------------------------------------------

    external fun agtrace_tracer_free(tracer: Long)

    external fun agtrace_error_code(error: Long): Int

    external fun agtrace_error_message(error: Long): Pointer?

    external fun agtrace_error_free(error: Long)

    external fun agtrace_version(): Pointer

    external fun agtrace_protocol_version(): Int

    /** C `bool` as a byte: JNA would read an `int`, whose upper bytes a `bool` return leaves undefined. */
    external fun agtrace_tracer_strict(tracer: Long): Byte

    external fun agtrace_misuse_report(tracer: Long, kind: Int, detail: Str.ByValue)

    /** `agtrace_str_t`, passed by value (only on the cold path: JNA structures are slow). */
    @Structure.FieldOrder("ptr", "len")
    open class Str : Structure() {
        @JvmField var ptr: Pointer? = null

        @JvmField var len: Long = 0

        class ByValue : Str(), Structure.ByValue
    }

    /** An `agtrace_str_t` over a copy of [text] in [memory], which must outlive the call. */
    fun str(text: String, memory: MutableList<Memory>): Str.ByValue {
        val bytes = text.toByteArray(Charsets.UTF_8)
        val s = Str.ByValue()
        if (bytes.isNotEmpty()) {
            val m = Memory(bytes.size.toLong())
            m.write(0, bytes, 0, bytes.size)
            memory += m
            s.ptr = m
            s.len = bytes.size.toLong()
        }
        return s
    }

    /** The text of an `agtrace_str_t` read into [words] (pointer, length). */
    fun readStr(words: LongArray): String {
        val len = words[1].toInt()
        if (len == 0) return ""
        return String(Pointer(words[0]).getByteArray(0, len), Charsets.UTF_8)
    }

    /** Throws the error a failed call left in [holder], freeing it. */
    fun check(status: Int, holder: LongArray) {
        if (status != Codes.ERROR_OK) throw takeError(holder)
    }

    fun takeError(holder: LongArray): AgtraceException {
        val error = holder[0]
        if (error == 0L) return AgtraceException.Internal("libagtrace failed without an error")
        val code = agtrace_error_code(error)
        val message = agtrace_error_message(error)?.getString(0, "UTF-8") ?: "unknown error"
        agtrace_error_free(error)
        return AgtraceException.fromStatus(code, message)
    }

    fun version(): String = agtrace_version().getString(0, "UTF-8")

    class FreeContext(private val handle: Long) : Runnable {
        override fun run() = agtrace_context_free(handle)
    }

    class FreeTracer(private val handle: Long) : Runnable {
        override fun run() = agtrace_tracer_free(handle)
    }
}

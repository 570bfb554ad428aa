package dev.agtrace

import java.nio.ByteBuffer

/**
 * The span hot path into libagtrace: JNI entry points (`ffi/src/jni.rs`)
 * taking only primitives, bound in the file JNA binds too (see
 * [Libagtrace]), so the process has one core.
 *
 * [apply] is the one crossing per span of the span protocol
 * (`ffi/PROTOCOL.md`): a message in a direct buffer's memory, the begun
 * span written back beside it (see [ThreadBuffer]). The others are cold.
 */
internal object Native {
    /** Set when libagtrace speaks another span protocol version than [Codes] was generated for. */
    val mismatch: String?

    init {
        Libagtrace.file
        val loaded = Abi.agtrace_protocol_version()
        mismatch =
            if (loaded == Codes.PROTOCOL_VERSION) {
                null
            } else {
                "libagtrace speaks span protocol version $loaded, this SDK version ${Codes.PROTOCOL_VERSION}: " +
                    "use the libagtrace of the SDK's own jar"
            }
    }

    /**
     * Applies the [len]-byte message at address [msg] under [tracer] (an
     * `agtrace_tracer_t *`) and writes the BEGIN's span, if any, as an
     * `agtrace_begun_t` (40 bytes: handle, trace id, span id, flags) at
     * address [out]; without a BEGIN the handle written is 0. Returns the
     * status (`Codes.ERROR_*`); when not OK, [lastError] on this thread says
     * why. Thread-safe; never blocks.
     */
    @JvmStatic external fun apply(tracer: Long, msg: Long, len: Int, out: Long): Int

    /** The message of this thread's last failed [apply] (then forgotten), or null. */
    @JvmStatic external fun lastError(): String?

    /** The address of a direct [buffer]'s memory, valid while the buffer is reachable. */
    @JvmStatic external fun address(buffer: ByteBuffer): Long
}

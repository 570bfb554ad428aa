package dev.agtrace

import dev.agtrace.ffi.InternalException as FfiInternalException
import dev.agtrace.ffi.AgtraceException as FfiException

/**
 * Every error agtrace reports; [message] says what was wrong and names the
 * argument or setting. Converted here, and nowhere else, from both ways into
 * the library: the uniffi error enum and the C ABI's status codes (`Codes.ERROR_*`).
 *
 * What throws: setup ([Agtrace.init], [Tracer], live configuration) with
 * [InvalidConfig] naming the setting, and [Agtrace.stats]/[Agtrace.config]
 * before `init`. At run time (spans, attributes, events, ends,
 * propagation, flush) nothing is thrown into the application: misuse is
 * dropped, counted ([Stats.misuse]) and logged once per kind, and thrown as
 * [InvalidArgument] only in strict mode (`AGTRACE_STRICT=true`, for tests
 * and CI); see [Misuse].
 */
public sealed class AgtraceException(message: String, cause: Throwable? = null) : RuntimeException(message, cause) {
    /** Misuse in strict mode (a bad name, a value that could not be recorded, ...), or a call made before `init`. */
    public class InvalidArgument(message: String) : AgtraceException(message)

    /** A setting had a bad value; the message names the setting. */
    public class InvalidConfig(message: String) : AgtraceException(message)

    /** The span was already ended. */
    public class AlreadyEnded(message: String) : AgtraceException(message)

    /** The tracer was shut down. */
    public class ShutDown(message: String) : AgtraceException(message)

    /** A flush or shutdown ran out of time with spans undelivered. */
    public class Timeout(message: String) : AgtraceException(message)

    /** A flush or shutdown finished, but the exporters dropped spans meanwhile (rejected, failed, left at the deadline). */
    public class Undelivered(message: String) : AgtraceException(message)

    /** An exporter could not be created. */
    public class Exporter(message: String) : AgtraceException(message)

    /** An internal error inside the library (a caught panic); it stays usable. */
    public class Internal(message: String, cause: Throwable? = null) : AgtraceException(message, cause)

    internal companion object {
        /** From an `agtrace_status_t` and its message. */
        fun fromStatus(code: Int, message: String): AgtraceException =
            when (code) {
                Codes.ERROR_NULL_ARGUMENT, Codes.ERROR_INVALID_ARGUMENT, Codes.ERROR_INVALID_UTF8 -> InvalidArgument(message)
                Codes.ERROR_INVALID_CONFIG -> InvalidConfig(message)
                Codes.ERROR_ALREADY_ENDED -> AlreadyEnded(message)
                Codes.ERROR_SHUT_DOWN -> ShutDown(message)
                Codes.ERROR_TIMEOUT -> Timeout(message)
                Codes.ERROR_UNDELIVERED -> Undelivered(message)
                Codes.ERROR_EXPORTER -> Exporter(message)
                else -> Internal(message)
            }

        fun from(e: FfiException): AgtraceException =
            when (e) {
                is FfiException.InvalidArgument -> InvalidArgument(e.detail)
                is FfiException.InvalidConfig -> InvalidConfig(e.detail)
                is FfiException.AlreadyEnded -> AlreadyEnded(e.detail)
                is FfiException.ShutDown -> ShutDown(e.detail)
                is FfiException.Timeout -> Timeout(e.detail)
                is FfiException.Undelivered -> Undelivered(e.detail)
                is FfiException.Exporter -> Exporter(e.detail)
                is FfiException.Internal -> Internal(e.detail)
            }
    }
}

/** Runs a uniffi call, converting its errors into [AgtraceException]. */
internal inline fun <T> cold(call: () -> T): T =
    try {
        call()
    } catch (e: FfiException) {
        throw AgtraceException.from(e)
    } catch (e: FfiInternalException) {
        // A panic caught by uniffi's scaffolding, or a contract mismatch.
        throw AgtraceException.Internal(e.message ?: "internal error", e)
    }

internal fun invalid(message: String): Nothing = throw AgtraceException.InvalidArgument(message)

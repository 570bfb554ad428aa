package dev.agtrace

import java.util.concurrent.ConcurrentHashMap

/**
 * The `agtrace` logger (java.lang.System.Logger, so it goes wherever the
 * application sends JDK logging): flush and shutdown timeouts, crossings
 * the core refused, and misuse when there is no tracer to count it (the
 * core logs the rest, see [Misuse]).
 */
internal object Log {
    private val logger: System.Logger = System.getLogger("agtrace")
    private val logged = ConcurrentHashMap.newKeySet<Any>()

    fun warn(message: String) = logger.log(System.Logger.Level.WARNING, "agtrace: $message")

    fun debug(message: String) = logger.log(System.Logger.Level.DEBUG, "agtrace: $message")

    /** Warns the first time only for this [kind], for what could repeat with every span. */
    fun once(kind: Any, message: String) {
        if (logged.add(kind)) warn(message)
    }
}

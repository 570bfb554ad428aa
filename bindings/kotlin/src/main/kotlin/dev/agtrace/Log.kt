package dev.agtrace

/**
 * The `agtrace` logger (java.lang.System.Logger, so it goes wherever the
 * application sends JDK logging). Misuse that must not break the
 * application (ending twice, recording on an ended span, spans after
 * shutdown, flush timeouts) is reported here instead of thrown.
 */
internal object Log {
    private val logger: System.Logger = System.getLogger("agtrace")

    fun warn(message: String) = logger.log(System.Logger.Level.WARNING, "agtrace: $message")

    fun debug(message: String) = logger.log(System.Logger.Level.DEBUG, "agtrace: $message")
}

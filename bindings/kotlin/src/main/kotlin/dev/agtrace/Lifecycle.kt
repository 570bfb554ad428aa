package dev.agtrace

/**
 * The default tracer and the JVM shutdown hook.
 *
 * The hook shuts down every tracer not shut down yet, each within its
 * `exitTimeout`, so a program that never calls `shutdown` still exports its
 * spans, and a dead collector delays exit by at most that long. (A JVM
 * stopped by `halt`, SIGKILL or a crash runs no hook.)
 */
internal object Lifecycle {
    /** The default tracer, or null before `Agtrace.init`. */
    @Volatile
    var default: Tracer? = null
        private set

    private val live = LinkedHashSet<Tracer>()
    private var hookInstalled = false

    /** Makes [new] the default tracer; returns the one it replaces. */
    @Synchronized
    fun install(new: Tracer): Tracer? {
        val old = default
        default = new
        return old
    }

    fun register(tracer: Tracer) {
        synchronized(live) {
            live += tracer
            if (!hookInstalled) {
                hookInstalled = true
                try {
                    Runtime.getRuntime().addShutdownHook(Thread(::atExit, "agtrace-exit"))
                } catch (e: IllegalStateException) {
                    // The JVM is already shutting down: no hook can be added.
                }
            }
        }
    }

    fun unregister(tracer: Tracer) {
        synchronized(live) { live -= tracer }
    }

    private fun atExit() {
        val tracers = synchronized(live) { live.toList() }
        for (t in tracers) {
            try {
                t.shutdown(t.exitTimeout)
            } catch (e: Throwable) {
                Log.warn("shutdown at exit failed: $e")
            }
        }
    }
}

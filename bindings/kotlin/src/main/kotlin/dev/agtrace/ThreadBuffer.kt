package dev.agtrace

import java.lang.invoke.MethodHandles
import java.lang.invoke.VarHandle
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.locks.LockSupport

/**
 * A thread's span protocol message, in a direct buffer libagtrace reads in
 * place: the END records of spans ended on the thread since its last
 * crossing, then, at a span's start, its BEGIN (see [ThreadBuffers]).
 *
 * Layout: bytes `[0, OUT)` receive the begun span (`agtrace_begun_t`:
 * handle, trace id, span id, flags), the message runs from `OUT` to
 * `enc.pos`.
 *
 * The owner thread writes it; [ThreadBuffers] sends it from other threads
 * too (flush, stats, the idle flusher, a dead owner). Whoever touches it
 * holds [busy] first: an uncontended compare-and-set, not a lock.
 */
internal class ThreadBuffer(
    /** The owner; once it is dead, nothing is added and the buffer is retired. */
    @JvmField val thread: Thread,
) {
    @JvmField val enc = Encoder(CAPACITY, direct = true, base = OUT)

    /** A tracer to send END records under when no BEGIN follows (any live tracer applies them); set while ENDs wait. */
    @JvmField var tracer: Tracer? = null

    /** 0 free, [OWNER] held by the owner thread, [OTHER] by another. */
    @Volatile
    @JvmField
    var busy: Int = 0

    private var addressed: Any? = null
    private var address = 0L

    /**
     * Takes [busy] for the owner thread; waits while another thread sends
     * the buffer (one native call). False when the owner holds it already:
     * code run while encoding (none of the SDK's; a map's own iterator)
     * started or ended a span.
     */
    fun acquire(): Boolean = BUSY.compareAndSet(this, 0, OWNER) || contend()

    private fun contend(): Boolean {
        // Only the owner takes OWNER.
        if (busy == OWNER) return false
        var spins = 0
        while (!BUSY.compareAndSet(this, 0, OWNER)) {
            if (++spins < 64) Thread.onSpinWait() else Thread.yield()
        }
        return true
    }

    /** Takes [busy] for a thread other than the owner; false when it is held. */
    fun tryAcquireOther(): Boolean = BUSY.compareAndSet(this, 0, OTHER)

    /** Takes [busy] for a thread other than the owner, waiting for the owner's call to finish. */
    fun acquireOther() {
        var spins = 0
        while (!BUSY.compareAndSet(this, 0, OTHER)) {
            if (++spins < 64) Thread.onSpinWait() else Thread.yield()
        }
    }

    fun release() {
        BUSY.setRelease(this, 0)
    }

    /** END records wait to be sent. Read under [busy]. */
    val pending: Boolean get() = enc.pos > OUT

    /**
     * Applies the message under [tracer] (an `agtrace_tracer_t *`) and
     * empties the buffer; returns the status. Under [busy].
     */
    fun send(tracer: Long): Int {
        val buf = enc.buf
        if (buf !== addressed) {
            address = Native.address(buf)
            addressed = buf
        }
        val status = Native.apply(tracer, address + OUT, enc.pos - OUT, address)
        enc.pos = OUT
        this.tracer = null
        return status
    }

    // The begun span, after a send with a BEGIN.
    val handle: Long get() = enc.buf.getLong(0)
    val traceA: Long get() = enc.buf.getLong(8)
    val traceB: Long get() = enc.buf.getLong(16)
    val spanId: Long get() = enc.buf.getLong(24)
    val flags: Int get() = enc.buf.get(32).toInt() and 0xff

    internal companion object {
        /** Bytes before the message: an `agtrace_begun_t` (40 with its padding). */
        const val OUT = 40

        /** Pending END bytes past this are sent at once. */
        const val BOUND = 64 * 1024

        /** To begin with: most threads never hold more (it grows, to about [BOUND] for a busy one). */
        private const val CAPACITY = 4096
        const val OWNER = 1
        const val OTHER = 2

        private val BUSY: VarHandle =
            MethodHandles.lookup().findVarHandle(ThreadBuffer::class.java, "busy", Int::class.javaPrimitiveType)
    }
}

/**
 * Every thread's [ThreadBuffer], and the sending of what they hold: with the
 * thread's next span start, past [ThreadBuffer.BOUND], before a tracer's
 * flush, shutdown or stats ([sendAll]), and from the idle flusher, a daemon
 * thread that sends what waits on threads that start no more spans (and on
 * dead ones, then forgets them), every half batch delay (100 ms at most), so
 * an ended span reaches the core within the batch delay.
 *
 * END records are not tied to a tracer: any live tracer's handle applies
 * them, so a thread has one buffer whatever tracers its spans belong to.
 */
internal object ThreadBuffers {
    private val local = ThreadLocal<ThreadBuffer>()
    private val all: MutableSet<ThreadBuffer> = ConcurrentHashMap.newKeySet()

    @Volatile private var interval = 100_000_000L

    private val flusher: Thread =
        Thread(::flushIdle, "agtrace-flush").apply {
            isDaemon = true
            start()
        }

    /** This thread's buffer. */
    fun current(): ThreadBuffer = local.get() ?: register()

    private fun register(): ThreadBuffer {
        val b = ThreadBuffer(Thread.currentThread())
        all += b
        local.set(b)
        return b
    }

    /** Flushes at least every half [batchDelayMs] (a tracer's `OTEL_BSP_SCHEDULE_DELAY`). */
    fun batchDelay(batchDelayMs: Long) {
        val half = maxOf(batchDelayMs, 2L) * 500_000L
        synchronized(this) { if (half < interval) interval = half }
        LockSupport.unpark(flusher)
    }

    /**
     * Appends the END (or ABANDON) of [handle], a span of [tracer], to this
     * thread's buffer. Items that no longer fit are dropped (misuse), the
     * END kept.
     */
    fun end(code: Int, tracer: Tracer, handle: Long, duration: Long, items: Encoder?) {
        val b = current()
        if (!b.acquire()) {
            Misuse.report(tracer, Codes.MISUSE_BAD_CALL, "a span was ended while this thread was encoding a span's start: it is lost")
            return
        }
        var status = Codes.ERROR_OK
        var oversize: String? = null
        try {
            val mark = b.enc.pos
            try {
                b.enc.end(code, handle, duration, items)
            } catch (e: Encoder.Oversize) {
                b.enc.pos = mark
                oversize = e.message
                b.enc.end(code, handle, duration, null)
            }
            b.tracer = tracer
            if (b.enc.pos > ThreadBuffer.BOUND) status = b.send(tracer.handle)
        } finally {
            b.release()
        }
        report(status)
        if (oversize != null) Misuse.report(tracer, Codes.MISUSE_BAD_VALUE, oversize)
    }

    /** Sends every thread's waiting END records under [tracer], waiting for threads in the middle of a call. */
    fun sendAll(tracer: Tracer) {
        for (b in all) {
            b.acquireOther()
            val status =
                try {
                    if (b.pending) b.send(tracer.handle) else Codes.ERROR_OK
                } finally {
                    b.release()
                }
            report(status)
        }
    }

    private fun flushIdle() {
        while (true) {
            LockSupport.parkNanos(interval)
            for (b in all) {
                // Read first: a thread seen dead added its last bytes before.
                val dead = !b.thread.isAlive
                if (!b.tryAcquireOther()) continue
                val status =
                    try {
                        val tracer = b.tracer
                        if (b.pending && tracer != null) b.send(tracer.handle) else Codes.ERROR_OK
                    } finally {
                        b.release()
                    }
                report(status)
                if (dead) all -= b
            }
        }
    }

    /**
     * Logs a failed crossing on the thread that made it (once per kind):
     * the core applied what it could. After shutdown, spans record nothing.
     */
    fun report(status: Int) {
        when (status) {
            Codes.ERROR_OK -> {}
            Codes.ERROR_SHUT_DOWN -> Log.debug("spans after shutdown record nothing")
            else -> Log.once(status, "span data the core could not read was skipped: ${Native.lastError() ?: "status $status"}")
        }
    }
}

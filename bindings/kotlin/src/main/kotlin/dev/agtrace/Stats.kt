package dev.agtrace

import dev.agtrace.ffi.ExporterStats as FfiExporterStats
import dev.agtrace.ffi.Stats as FfiStats

/**
 * A tracer's counters: the shape every SDK exposes (the library's `Stats`
 * record), with Kotlin's `Long` counts. Every span is accounted for:
 * `ended == dispatched + dropped.values.sum() + pending`, and each exporter
 * accounts for what it received the same way.
 */
public data class Stats(
    val started: Long,
    val ended: Long,
    /** Spans not recorded by the sampler. */
    val unsampled: Long,
    /** Handed to the exporters. */
    val dispatched: Long,
    /** Ended, not yet dispatched. */
    val pending: Long,
    /** Spans dropped before reaching the exporters, by reason (`queue_full`, `queue_bytes`, `shutdown`). */
    val dropped: Map<String, Long>,
    /** Spans exported, summed over exporters. */
    val exported: Long,
    val exporters: List<ExporterStats>,
    /**
     * Misuse counted, by kind (`bad_name`, `bad_value`, `ended_twice`,
     * `bad_call`, `mask_failed`): calls that recorded less than asked, and
     * threw nothing (see [AgtraceException]).
     */
    val misuse: Map<String, Long>,
) {
    internal companion object {
        fun from(s: FfiStats): Stats =
            Stats(
                started = s.started.toLong(),
                ended = s.ended.toLong(),
                unsampled = s.unsampled.toLong(),
                dispatched = s.dispatched.toLong(),
                pending = s.pending.toLong(),
                dropped = counts(s.dropped),
                exported = s.exported.toLong(),
                exporters = s.exporters.map(ExporterStats::from),
                misuse = counts(s.misuse),
            )

        fun counts(m: Map<String, ULong>): Map<String, Long> = m.mapValues { it.value.toLong() }
    }
}

/**
 * One exporter's counters: `received == exported + dropped.values.sum() + spooled + pending`.
 * [spooled] spans were written to the disk spool instead of dropped; [replayed] spans from the spool
 * (this process's or an earlier one's) reached the backend; [lostFromSpool] spans the spool could not
 * keep or deliver (disk full, evicted at its cap, corrupt, rejected on replay).
 */
public data class ExporterStats(
    val name: String,
    val received: Long,
    val exported: Long,
    val retried: Long,
    val pending: Long,
    val breakerOpen: Boolean,
    /** Not delivered, by reason (`queue_full`, `breaker_open`, `oversize`, `rejected`, `failed`, `shutdown`). */
    val dropped: Map<String, Long>,
    val spooled: Long,
    val replayed: Long,
    val lostFromSpool: Long,
    /** Corrupt spool records skipped on replay. */
    val spoolCorrupt: Long,
) {
    internal companion object {
        fun from(e: FfiExporterStats): ExporterStats =
            ExporterStats(
                name = e.name,
                received = e.received.toLong(),
                exported = e.exported.toLong(),
                retried = e.retried.toLong(),
                pending = e.pending.toLong(),
                breakerOpen = e.breakerOpen,
                dropped = Stats.counts(e.dropped),
                spooled = e.spooled.toLong(),
                replayed = e.replayed.toLong(),
                lostFromSpool = e.lostFromSpool.toLong(),
                spoolCorrupt = e.spoolCorrupt.toLong(),
            )
    }
}

package dev.agtrace

/**
 * A tracer's counters. Every span is accounted for:
 * `ended == dispatched + dropped.values.sum() + pending`, and each exporter
 * accounts for what it received the same way.
 */
public data class Stats(
    val started: Long,
    val ended: Long,
    val unsampled: Long,
    val dispatched: Long,
    val pending: Long,
    /** Spans dropped before reaching the exporters, by reason (`queue_full`, `queue_bytes`, `shutdown`). */
    val dropped: Map<String, Long>,
    val exporters: List<ExporterStats>,
) {
    /** Spans exported, summed over exporters. */
    val exported: Long get() = exporters.sumOf { it.exported }

    internal companion object {
        @Suppress("UNCHECKED_CAST")
        fun parse(json: String): Stats {
            val raw = Json.parseObject(json)
            return Stats(
                started = raw.long("started"),
                ended = raw.long("ended"),
                unsampled = raw.long("unsampled"),
                dispatched = raw.long("dispatched"),
                pending = raw.long("pending"),
                dropped = counts(raw["dropped"]),
                exporters = (raw["exporters"] as List<Map<String, Any?>>).map {
                    ExporterStats(
                        name = it["name"] as String,
                        received = it.long("received"),
                        exported = it.long("exported"),
                        retried = it.long("retried"),
                        pending = it.long("pending"),
                        breakerOpen = it["breaker_open"] == true,
                        dropped = counts(it["dropped"]),
                    )
                },
            )
        }

        private fun Map<String, Any?>.long(key: String): Long = (this[key] as Number).toLong()

        @Suppress("UNCHECKED_CAST")
        private fun counts(value: Any?): Map<String, Long> =
            (value as Map<String, Any?>).mapValues { (it.value as Number).toLong() }
    }
}

/** One exporter's counters; [dropped] counts by reason. */
public data class ExporterStats(
    val name: String,
    val received: Long,
    val exported: Long,
    val retried: Long,
    val pending: Long,
    val breakerOpen: Boolean,
    val dropped: Map<String, Long>,
)

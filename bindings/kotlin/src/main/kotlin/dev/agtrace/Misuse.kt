package dev.agtrace

/**
 * Misuse at run time: a bad name, a value that could not be recorded, a
 * span ended (or changed) after it ended, an argument a call cannot use, a
 * mask function that threw (`Codes.MISUSE_*`). Never thrown into the
 * application: what was wrong is dropped, counted by the tracer
 * ([Stats.misuse]) and logged by the core once per kind
 * (`agtrace_misuse_report`). In strict mode (`AGTRACE_STRICT`, for tests and
 * CI) it is counted, then thrown as [AgtraceException.InvalidArgument].
 *
 * Without a tracer (before `init`, after shutdown) there is nothing to count
 * into: it is logged once per kind on the `agtrace` logger.
 */
internal object Misuse {
    fun report(tracer: Tracer?, kind: Int, detail: String) {
        if (tracer == null) {
            Log.once(Misuse to kind, "$detail (further misuse of this kind is not logged)")
            return
        }
        tracer.countMisuse(kind, detail)
        if (tracer.strict) throw AgtraceException.InvalidArgument(detail)
    }
}

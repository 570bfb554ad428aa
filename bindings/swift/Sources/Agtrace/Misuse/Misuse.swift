import AgtraceFFIC

/// Misuse the SDK detects itself before anything crosses into the core: a
/// bad span, attribute or event name (`BAD_NAME`), a value that could not
/// be converted (`BAD_VALUE`), a span ended or changed after it ended
/// (`ENDED_TWICE`), an argument the call cannot use (`BAD_CALL`), a mask
/// that threw (`MASK_FAILED`); the kinds are `Codes.MISUSE_*`, generated
/// from the core.
///
/// Telemetry never changes the program it observes, so misuse is not
/// thrown: the core counts it (`stats().misuse`) and logs its detail the
/// first time each kind is seen, and what was misused is left out (the
/// rest of the call is recorded). In strict mode (`AGTRACE_STRICT=true`,
/// for tests and CI) misuse is a programmer error and traps, as Swift traps
/// an index out of range: `fatalError` with the detail (kept in optimised
/// builds, unlike a precondition's message).
///
/// Failures the core detects itself (a malformed protocol message) are
/// counted by the core and not reported here.
enum Misuse {
    static func report(_ tracer: Tracer, _ kind: UInt8, _ detail: String) {
        if tracer.strict { fatalError("agtrace: strict mode: \(detail)") }
        var detail = detail
        detail.withUTF8 { utf8 in
            agtrace_misuse_report(
                tracer.handle, UInt32(kind),
                agtrace_str_t(ptr: UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self), len: utf8.count)
            )
        }
    }

    static func report(_ tracer: Tracer, _ rejected: [Rejected]) {
        for r in rejected { report(tracer, r.kind, r.detail) }
    }
}

/// What a recording call left out, and why: one misuse, reported once the
/// span's or thread's bytes are released.
struct Rejected: Error {
    /// `Codes.MISUSE_*`.
    let kind: UInt8
    let detail: String

    static func badName(_ detail: String) -> Rejected { Rejected(kind: Codes.MISUSE_BAD_NAME, detail: detail) }
    static func badValue(_ detail: String) -> Rejected { Rejected(kind: Codes.MISUSE_BAD_VALUE, detail: detail) }
}

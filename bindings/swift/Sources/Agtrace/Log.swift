import Foundation

/// Where agtrace reports what it does not throw and the core does not log
/// (flush timeouts, a message the core refused, exporter trouble at exit):
/// one line on standard error, since telemetry must never change the
/// application's behaviour and Swift on Linux has no system logger to hand
/// it to. Misuse is reported to the core instead (``Misuse``).
enum Log {
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("agtrace: warning: \(message)\n".utf8))
    }

    /// Warns the first time a problem of `kind` happens in this process, so
    /// a loop repeating it cannot flood standard error.
    static func once(_ kind: Kind, _ message: @autoclosure () -> String) {
        guard Seen.shared.first(kind) else { return }
        warn("\(message()) (logged once)")
    }

    enum Kind: Hashable {
        case protocolFault
    }

    /// The kinds already logged.
    private final class Seen: @unchecked Sendable {
        static let shared = Seen()
        private let lock = NSLock()
        private var kinds: Set<Kind> = []

        func first(_ kind: Kind) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            return kinds.insert(kind).inserted
        }
    }
}

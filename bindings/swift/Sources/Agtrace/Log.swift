import Foundation

/// Where agtrace reports what it does not throw (ending twice, recording on
/// an ended span, flush timeouts, exporter trouble at exit): one line on
/// standard error, since telemetry must never change the application's
/// behaviour and Swift on Linux has no system logger to hand it to.
enum Log {
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("agtrace: warning: \(message)\n".utf8))
    }

    /// Warns the first time a misuse of `kind` happens in this process, so
    /// a loop repeating it cannot flood standard error.
    static func once(_ kind: Misuse, _ message: @autoclosure () -> String) {
        guard Seen.shared.first(kind) else { return }
        warn("\(message()) (logged once)")
    }

    enum Misuse: Hashable {
        case endedTwice, recordedAfterEnd, protocolFault
    }

    /// The kinds already logged.
    private final class Seen: @unchecked Sendable {
        static let shared = Seen()
        private let lock = NSLock()
        private var kinds: Set<Misuse> = []

        func first(_ kind: Misuse) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            return kinds.insert(kind).inserted
        }
    }
}

import Foundation

/// Where agtrace reports what it does not throw (ending twice, recording on
/// an ended span, flush timeouts, exporter trouble at exit): one line on
/// standard error, since telemetry must never change the application's
/// behaviour and Swift on Linux has no system logger to hand it to.
enum Log {
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("agtrace: warning: \(message)\n".utf8))
    }
}

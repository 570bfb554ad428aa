#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The checks a recording call makes before anything is sent, mirroring
/// what the core would reject, so that a bad argument is left out (and
/// reported as ``Misuse``) at the call that passed it instead of spoiling
/// the message it travels in.
enum Check {
    /// What a span is named when the name given cannot be used: the span is
    /// still started, so that its children keep their place in the tree.
    static let unnamed = "<unnamed span>"

    /// A span name, or ``unnamed`` when it is empty or holds a NUL
    /// character, with the misuse to report.
    @inline(__always)
    static func spanName(_ name: String) -> (String, Rejected?) {
        guard let rejected = self.name("span name", name) else { return (name, nil) }
        return (unnamed, rejected)
    }

    /// Nil for a usable event, tool or agent name (non-empty, without NUL),
    /// else the misuse.
    @inline(__always)
    static func name(_ what: String, _ name: String) -> Rejected? {
        var utf8 = name
        let bad = utf8.withUTF8 { $0.isEmpty || memchr($0.baseAddress!, 0, $0.count) != nil }
        return bad ? badName(what, name) : nil
    }

    @inline(never)
    private static func badName(_ what: String, _ name: String) -> Rejected {
        if name.isEmpty { return .badName("\(what) must not be empty") }
        return .badName("\(what) \(printable(name)) contains a NUL character")
    }

    /// A usable attribute key, given as its `n` UTF-8 bytes (already copied
    /// into a message): non-empty, without control characters, as the core
    /// checks. Throws ``Rejected``.
    @inline(__always)
    static func key(_ utf8: UnsafePointer<UInt8>, _ n: Int, _ key: @autoclosure () -> String) throws {
        if n == 0 { throw Rejected.badName("attribute keys must not be empty") }
        var previous: UInt8 = 0
        for i in 0..<n {
            let b = utf8[i]
            // C0 controls and DEL, and C1 controls (U+0080-U+009F: 0xC2 0x80-0x9F).
            if b < 0x20 || b == 0x7F || (previous == 0xC2 && b < 0xA0) {
                throw bad(key(), b)
            }
            previous = b
        }
    }

    @inline(never)
    private static func bad(_ key: String, _ b: UInt8) -> Rejected {
        let what = b == 0 ? "a NUL character" : "a control character"
        return .badName("attribute key \(printable(key)) contains \(what)")
    }

    /// `s` quoted, with control characters made visible, for messages.
    static func printable(_ s: String) -> String {
        "\"" + s.unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined() + "\""
    }
}

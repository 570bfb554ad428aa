#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The argument checks every recording call makes before anything is sent,
/// so a bad argument throws ``AgtraceError/invalidArgument(_:)`` at the call
/// that passed it, naming it, instead of being dropped by the core.
enum Check {
    /// A span, event, tool or agent name: non-empty, without NUL.
    @inline(__always)
    static func name(_ what: String, _ name: String) throws {
        var utf8 = name
        let bad = utf8.withUTF8 { $0.isEmpty || memchr($0.baseAddress!, 0, $0.count) != nil }
        if bad { try badName(what, name) }
    }

    @inline(never)
    private static func badName(_ what: String, _ name: String) throws {
        if name.isEmpty { throw AgtraceError.invalidArgument("\(what) must not be empty") }
        throw AgtraceError.invalidArgument("\(what) \(printable(name)) contains a NUL character")
    }

    /// A usable attribute key, given as its `n` UTF-8 bytes (already copied
    /// into a message): non-empty, without control characters, as the core
    /// checks.
    @inline(__always)
    static func key(_ utf8: UnsafePointer<UInt8>, _ n: Int, _ key: @autoclosure () -> String) throws {
        if n == 0 { throw AgtraceError.invalidArgument("attribute keys must not be empty") }
        var previous: UInt8 = 0
        for i in 0..<n {
            let b = utf8[i]
            // C0 controls and DEL, and C1 controls (U+0080-U+009F: 0xC2 0x80-0x9F).
            if b < 0x20 || b == 0x7F || (previous == 0xC2 && b < 0xA0) {
                try bad(key(), b)
            }
            previous = b
        }
    }

    /// An attribute, checked without encoding it (for spans that record nothing).
    static func attribute(_ key: String, _ value: AttributeValue) throws {
        var utf8 = key
        try utf8.withUTF8 { try Check.key($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count, key) }
        try value.validate("attribute \(printable(key))")
    }

    static func attributes<A: Sequence>(_ attributes: A) throws where A.Element == (key: String, value: AttributeValue) {
        for (key, value) in attributes { try attribute(key, value) }
    }

    @inline(never)
    private static func bad(_ key: String, _ b: UInt8) throws {
        let what = b == 0 ? "a NUL character" : "a control character"
        throw AgtraceError.invalidArgument("attribute key \(printable(key)) contains \(what)")
    }

    /// `s` quoted, with control characters made visible, for error messages.
    static func printable(_ s: String) -> String {
        "\"" + s.unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined() + "\""
    }
}

/// Packing attributes and ops into the C ABI's packed record: NUL-separated
/// UTF-8 fields (the format is documented in ffi/src/packed.rs). A record is
/// built in one String and handed to the C call as its UTF-8 bytes, so a
/// span's start and end are one crossing each whatever it carries.
///
/// Every field is NUL-free by construction: names and keys are checked here
/// (with a clear error at the call that passed them), string values holding
/// a NUL go as JSON, ops carry JSON or checked text.
enum Record {
    static let sep = "\u{0}"
    static let typed = "\u{1}"
    static let op = "\u{2}"

    /// Appends a field, after a separator unless it is the record's first.
    static func field(_ out: inout String, _ text: String) {
        if !out.isEmpty { out.append(sep) }
        out.append(text)
    }

    static func op(_ out: inout String, _ name: String, _ argument: String) {
        if !out.isEmpty { out.append(sep) }
        out.append(op)
        out.append(name)
        out.append(sep)
        out.append(argument)
    }

    static func checkName(_ what: String, _ name: String) throws {
        if name.isEmpty { throw AgtraceError.invalidArgument("\(what) must not be empty") }
        if name.utf8.contains(0) { throw AgtraceError.invalidArgument("\(what) \(printable(name)) contains a NUL character") }
    }

    /// A usable attribute key: non-empty, without control characters (as the core checks).
    static func checkKey(_ key: String) throws {
        if key.isEmpty { throw AgtraceError.invalidArgument("attribute keys must not be empty") }
        var previous: UInt8 = 0
        for b in key.utf8 {
            // C0 controls and DEL, and C1 controls (U+0080-U+009F: 0xC2 0x80-0x9F).
            if b < 0x20 || b == 0x7F || (previous == 0xC2 && (0x80...0x9F).contains(b)) {
                let what = b == 0 ? "a NUL character" : "a control character"
                throw AgtraceError.invalidArgument("attribute key \(printable(key)) contains \(what)")
            }
            previous = b
        }
    }

    /// Appends one attribute. The value is checked before anything is
    /// appended, so a bad one leaves `out` as it was.
    static func attribute(_ out: inout String, _ key: String, _ value: AttributeValue) throws {
        try checkKey(key)
        try value.validate("attribute \(printable(key))")
        if case let .string(text) = value, !text.utf8.contains(0) {
            field(&out, key)
            out.append(sep)
            out.append(text)
        } else {
            // Everything else, and a string holding a NUL (escaped in JSON), as a typed field.
            if !out.isEmpty { out.append(sep) }
            out.append(typed)
            out.append(key)
            out.append(sep)
            value.appendJSON(to: &out)
        }
    }

    /// Appends every attribute; on a bad one, `out` holds those before it
    /// (callers that must not keep them pack into a scratch string).
    static func attributes(_ out: inout String, _ attributes: [String: AttributeValue]) throws {
        for (key, value) in attributes { try attribute(&out, key, value) }
    }

    /// `s` quoted, with control characters made visible, for error messages.
    static func printable(_ s: String) -> String {
        "\"" + s.unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined() + "\""
    }
}

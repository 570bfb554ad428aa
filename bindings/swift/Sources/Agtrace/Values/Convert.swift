import Foundation

/// Any Swift value as agtrace records it: the conversion behind
/// `setAttribute` with a value that is not an ``AttributeValue``, captured
/// inputs and outputs, and message content. The same rules as every agtrace
/// SDK (Python's `agtrace._record`):
///
/// - `String`, `Bool`, integers, `Double`/`Float`, and arrays of one of
///   those: their typed value (an integer beyond `Int64` as a JSON number,
///   which the core records as a double, as for Python's big integers);
/// - `Date`: ISO 8601 text; `Decimal`, `UUID`, `URL`: their text (exact);
///   an enum with a raw value: the raw value, converted in turn;
/// - `Data`: a placeholder with its length and a digest
///   (`<bytes len=5 sha256=2cf24dba5fb0>`, as in every agtrace SDK), never the bytes;
/// - `Encodable` values: JSON from `JSONEncoder` (keys sorted, dates ISO
///   8601, `Data` as the placeholder, non-finite numbers as `"NaN"`,
///   `"Infinity"`, `"-Infinity"`); one that encodes to a JSON string is that
///   string;
/// - `[Any]` and `[String: Any]` (what `JSONSerialization` returns): JSON,
///   item by item; nesting deeper than ``maxDepth`` becomes `"<too deep>"`;
/// - `nil` and `NSNull`: nothing (the attribute is not set), `null` inside
///   JSON;
/// - anything else: `String(describing:)`, cut at ``maxDescription``
///   characters.
///
/// Only an `Encodable` whose `encode(to:)` throws cannot be converted:
/// ``Failed`` says why, and the caller drops the value and reports it
/// (`BAD_VALUE`). Never traps; calls nothing on the value beyond the above.
enum Convert {
    static let maxDescription = 1024
    static let maxDepth = 32
    static let tooDeep = "<too deep>"

    /// Why a value could not be converted.
    struct Failed: Error {
        let detail: String
    }

    /// `value` as an attribute value; nil for nil.
    static func attribute(_ value: Any) throws -> AttributeValue? {
        guard let value = unwrapped(value) else { return nil }
        if let scalar = scalar(value) { return scalar }
        switch value {
        case let items as [String]: return .stringArray(items)
        case let items as [Int]: return .intArray(items)
        case let items as [Double]: return .doubleArray(items)
        case let items as [Bool]: return .boolArray(items)
        default: break
        }
        if let raw = value as? any RawRepresentable { return try attribute(raw.rawValue as Any) }
        if let text = try encoded(value) { return text }
        if isContainer(value) { return .json(try json(value, depth: 0)) }
        return .string(described(value))
    }

    /// `value` as captured input or output: its text and MIME type,
    /// `text/plain` for a value that converts to a string, else
    /// `application/json`; nil for nil.
    static func capture(_ value: Any) throws -> (text: String, mime: String)? {
        switch try attribute(value) {
        case nil: return nil
        case let .string(s)?: return (s, "text/plain")
        case let other?: return (other.json, "application/json")
        }
    }

    /// `value` as JSON text (message content); nil as `null`.
    static func json(_ value: Any) throws -> String {
        try json(value, depth: 0)
    }

    // MARK: the rules

    /// The payload of an `Optional` held in an `Any`, unwrapped to any
    /// depth; nil for `nil` and `NSNull` (JSONSerialization's null).
    private static func unwrapped(_ value: Any) -> Any? {
        if value is NSNull { return nil }
        guard let optional = value as? AnyOptional else { return value }
        return optional.payload.flatMap(unwrapped)
    }

    /// Scalars and the value types recorded as their text.
    private static func scalar(_ value: Any) -> AttributeValue? {
        switch value {
        case let v as AttributeValue: return v
        case let v as String: return .string(v)
        case let v as Substring: return .string(String(v))
        case let v as Character: return .string(String(v))
        case let v as Bool: return .bool(v)
        case let v as Int: return .int(v)
        case let v as Int8: return .int(Int(v))
        case let v as Int16: return .int(Int(v))
        case let v as Int32: return .int(Int(v))
        case let v as Int64: return .int(Int(v))
        case let v as UInt8: return .int(Int(v))
        case let v as UInt16: return .int(Int(v))
        case let v as UInt32: return .int(Int(v))
        case let v as UInt: return Int(exactly: v).map(AttributeValue.int) ?? .json(String(v))
        case let v as UInt64: return Int(exactly: v).map(AttributeValue.int) ?? .json(String(v))
        case let v as Double: return .double(v)
        case let v as Float: return .double(Double(v))
        case let v as Date: return .string(iso8601(v))
        case let v as Decimal: return .string(v.description)
        case let v as UUID: return .string(v.uuidString)
        case let v as URL: return .string(v.absoluteString)
        case let v as Data: return .string(placeholder(v))
        default: return nil
        }
    }

    /// An `Encodable` as its JSON (a JSON string as that string); nil when
    /// `value` is not `Encodable`.
    private static func encoded(_ value: Any) throws -> AttributeValue? {
        guard let value = value as? any Encodable else { return nil }
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw Failed(detail: "\(typeName(value)) could not be encoded: \(error)")
        }
        if data.first == UInt8(ascii: "\""), let s = try? JSONDecoder().decode(String.self, from: data) {
            return .string(s)
        }
        return .json(String(decoding: data, as: UTF8.self))
    }

    private static func isContainer(_ value: Any) -> Bool {
        value is [Any] || value is [String: Any] || value is [AnyHashable: Any]
    }

    private static func json(_ value: Any, depth: Int) throws -> String {
        guard let value = unwrapped(value) else { return "null" }
        if let scalar = scalar(value) { return scalar.json }
        if let raw = value as? any RawRepresentable { return try json(raw.rawValue as Any, depth: depth) }
        if let v = try encoded(value) { return v.json }
        if depth >= maxDepth { return Json.quoted(tooDeep) }
        switch value {
        case let items as [Any]:
            return "[" + (try items.map { try json($0, depth: depth + 1) }).joined(separator: ",") + "]"
        case let members as [String: Any]:
            return try object(members.map { ($0.key, $0.value) }, depth)
        case let members as [AnyHashable: Any]:
            return try object(members.map { (key(for: $0.key), $0.value) }, depth)
        default:
            return Json.quoted(described(value))
        }
    }

    private static func object(_ members: [(String, Any)], _ depth: Int) throws -> String {
        var out = "{"
        for (i, (key, value)) in members.sorted(by: { $0.0 < $1.0 }).enumerated() {
            if i > 0 { out.append(",") }
            Json.quote(key, into: &out)
            out.append(":")
            out.append(try json(value, depth: depth + 1))
        }
        return out + "}"
    }

    private static func key(for key: AnyHashable) -> String {
        switch try? attribute(key.base) {
        case let .string(s)?: return s
        case let v?: return v.json
        case nil: return described(key.base)
        }
    }

    // MARK: text forms

    /// `String(describing:)`, bounded as Python bounds a `repr`.
    static func described(_ value: Any) -> String {
        bounded(String(describing: value))
    }

    static func bounded(_ text: String) -> String {
        guard text.count > maxDescription else { return text }
        return "\(text.prefix(maxDescription))...<\(text.count - maxDescription) more chars>"
    }

    /// The type's name, module-qualified, without the
    /// `(unknown context at $…)` a private or local type's name carries.
    static func typeName(_ value: Any) -> String {
        let full = String(reflecting: type(of: value))
        guard full.contains("(unknown context at ") else { return full }
        return full.replacingOccurrences(of: #"\(unknown context at \$[0-9a-f]+\)\."#, with: "", options: .regularExpression)
    }

    /// Length and the first 12 hex digits of the SHA-256: enough to tell
    /// two values apart, nothing of their content.
    static func placeholder(_ data: Data) -> String {
        let digest = Sha256.hash(data).prefix(6).map { String(format: "%02x", $0) }.joined()
        return "<bytes len=\(data.count) sha256=\(digest)>"
    }

    private static func iso8601(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Configured once; `encode` does not change it, and Foundation's
    /// JSONEncoder may be used from several threads at once.
    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(Convert.iso8601(date))
        }
        e.dataEncodingStrategy = .custom { data, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(Convert.placeholder(data))
        }
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }()
}

/// Lets ``Convert`` see through an `Optional` it was given as `Any`.
private protocol AnyOptional {
    var payload: Any? { get }
}

extension Optional: AnyOptional {
    fileprivate var payload: Any? { map { $0 as Any } }
}

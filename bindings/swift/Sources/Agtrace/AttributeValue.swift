import Foundation

/// An attribute's value: a string, integer, floating-point number or
/// boolean, an array of one of those, or structured data given as JSON text
/// (stored as that text).
///
/// Literals convert, so attributes read as a dictionary literal:
/// `["city": "Oslo", "step": 3, "score": 0.5, "ok": true, "tags": ["a", "b"]]`.
/// An array literal mixing types becomes `.json` of its items. Values held
/// in variables are wrapped by hand (`.string(city)`, `.int(n)`), or given
/// as they are to `span.setAttribute(key, value)`, which converts any value.
public enum AttributeValue: Sendable, Equatable, Hashable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case stringArray([String])
    case intArray([Int])
    case doubleArray([Double])
    case boolArray([Bool])
    /// A JSON object or array (or any JSON text), checked when recorded.
    case json(String)

    /// The value as JSON, for the cold API (configuration changes, metadata).
    func appendJSON(to out: inout String) {
        switch self {
        case let .string(s): Json.quote(s, into: &out)
        case let .int(i): out.append(String(i))
        case let .double(d): out.append(Json.double(d))
        case let .bool(b): out.append(b ? "true" : "false")
        case let .stringArray(items): out.append(Json.array(items))
        case let .intArray(items): out.append("[" + items.map { String($0) }.joined(separator: ",") + "]")
        case let .doubleArray(items): out.append("[" + items.map(Json.double).joined(separator: ",") + "]")
        case let .boolArray(items): out.append("[" + items.map { $0 ? "true" : "false" }.joined(separator: ",") + "]")
        case let .json(text): out.append(text)
        }
    }

    var json: String {
        var out = ""
        appendJSON(to: &out)
        return out
    }

    /// What is wrong with a `.json` value that is not JSON; nil for every
    /// other value.
    func notJSON(_ what: @autoclosure () -> String) -> String? {
        guard case let .json(text) = self else { return nil }
        if (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil { return nil }
        return "\(what()): not JSON (\(text.prefix(80)))"
    }

    /// Throws unless a `.json` value is JSON (for configuration calls).
    func validate(_ what: @autoclosure () -> String) throws {
        if let problem = notJSON(what()) { throw AgtraceError.invalidArgument(problem) }
    }
}

extension AttributeValue: ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension AttributeValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .int(value) }
}

extension AttributeValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension AttributeValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension AttributeValue: ExpressibleByArrayLiteral {
    /// A typed array when every item has one scalar type (integers mixed
    /// with doubles make a double array), else `.json` of the items.
    public init(arrayLiteral elements: AttributeValue...) {
        var strings: [String] = [], ints: [Int] = [], doubles: [Double] = [], bools: [Bool] = []
        for e in elements {
            switch e {
            case let .string(s): strings.append(s)
            case let .int(i): ints.append(i); doubles.append(Double(i))
            case let .double(d): doubles.append(d)
            case let .bool(b): bools.append(b)
            default: break
            }
        }
        let n = elements.count
        if strings.count == n {
            self = .stringArray(strings)
        } else if ints.count == n {
            self = .intArray(ints)
        } else if doubles.count == n {
            self = .doubleArray(doubles)
        } else if bools.count == n {
            self = .boolArray(bools)
        } else {
            self = .json("[" + elements.map(\.json).joined(separator: ",") + "]")
        }
    }
}

import AgtraceFFI

/// A setting's value: `settings: ["AGTRACE_CAPTURE_CONTENT": true,
/// "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "AGTRACE_TAGS":
/// ["prod", "eu"], "OTEL_EXPORTER_OTLP_HEADERS": ["x-tenant": "acme"]]`.
///
/// Each is passed as the text its environment variable would hold: lists
/// comma-separated (one pattern a line for `AGTRACE_SCRUB_PATTERNS`), maps
/// as `key=value` pairs (values %-encoded), or a JSON object for
/// `AGTRACE_METADATA`.
public enum SettingValue: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case int(Int)
    case double(Double)
    case list([String])
    case map([String: String])

    /// The environment variable's text for setting `name`.
    func text(_ name: String) -> String {
        switch self {
        case let .string(s): return s
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return d.description
        case let .list(items): return items.joined(separator: name == "AGTRACE_SCRUB_PATTERNS" ? "\n" : ",")
        case let .map(pairs):
            let keys = pairs.keys.sorted()
            if name == "AGTRACE_METADATA" {
                return "{" + keys.map { Json.quoted($0) + ":" + Json.quoted(pairs[$0]!) }.joined(separator: ",") + "}"
            }
            return keys.map { "\($0)=\(Self.percent(pairs[$0]!))" }.joined(separator: ",")
        }
    }

    private static func percent(_ value: String) -> String {
        value.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: ",", with: "%2C")
    }
}

extension SettingValue: ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension SettingValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension SettingValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .int(value) }
}

extension SettingValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension SettingValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: String...) { self = .list(elements) }
}

extension SettingValue: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, String)...) {
        self = .map(Dictionary(elements) { _, last in last })
    }
}

/// The settings as the core's names and text values; an unknown name fails
/// here with the closest known names suggested (the core only says it is
/// not a setting).
func settingsByName(serviceName: String?, exporters: [String]?, settings: [String: SettingValue]) throws -> [String: String] {
    let known = Set(try cold { settingNames() })
    var out: [String: String] = [:]
    for (name, value) in settings {
        guard known.contains(name) else {
            let limit = max(2, name.count / 3)
            let close = known.map { ($0, distance($0, name)) }.filter { $0.1 <= limit }
                .sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(3).map(\.0)
            let hint = close.isEmpty ? "" : "; did you mean \(close.joined(separator: ", "))?"
            throw AgtraceError.invalidConfig("unknown setting \"\(name)\"\(hint)")
        }
        out[name] = value.text(name)
    }
    if let serviceName { out["OTEL_SERVICE_NAME"] = serviceName }
    if let exporters { out["AGTRACE_EXPORTERS"] = exporters.joined(separator: ",") }
    return out
}

/// Levenshtein distance ignoring case, for suggesting a setting name.
private func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a.uppercased()), b = Array(b.uppercased())
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var row = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = row
    }
    return previous[b.count]
}

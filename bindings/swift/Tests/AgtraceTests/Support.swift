import Agtrace
import Foundation
import XCTest

/// One span as the file exporter wrote it: OTLP/JSON, one
/// `ExportTraceServiceRequest` per line (core/src/exporter/file.rs).
struct Exported {
    /// A link as exported: its target's ids and trace state, and its attributes.
    struct Link {
        let traceId: String
        let spanId: String
        let traceState: String
        let attributes: [String: Any]
    }

    let name: String
    let traceId: String
    let spanId: String
    /// Nil at a root.
    let parentSpanId: String?
    let attributes: [String: Any]
    let events: [(name: String, attributes: [String: Any])]
    let links: [Link]
    /// unset, ok or error.
    let status: String
    let statusMessage: String

    func event(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let found = events.filter { $0.name == name }
        guard found.count == 1 else {
            XCTFail("want one event \(name) on \(self.name), got \(events.map(\.name))", file: file, line: line)
            throw XCTSkip("no event")
        }
        return found[0].attributes
    }
}

func readSpans(_ url: URL) throws -> [Exported] {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
    var spans: [Exported] = []
    for line in text.split(separator: "\n") where !line.isEmpty {
        let request = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        for rs in request["resourceSpans"] as! [[String: Any]] {
            for ss in rs["scopeSpans"] as! [[String: Any]] {
                for s in ss["spans"] as! [[String: Any]] {
                    let status = s["status"] as? [String: Any] ?? [:]
                    let code = (status["code"] as? NSNumber)?.intValue ?? 0
                    let parent = s["parentSpanId"] as? String
                    spans.append(Exported(
                        name: s["name"] as! String,
                        traceId: s["traceId"] as! String,
                        spanId: s["spanId"] as! String,
                        parentSpanId: parent?.isEmpty == false ? parent : nil,
                        attributes: attributes(s["attributes"]),
                        events: (s["events"] as? [[String: Any]] ?? []).map {
                            ($0["name"] as! String, attributes($0["attributes"]))
                        },
                        links: (s["links"] as? [[String: Any]] ?? []).map {
                            Exported.Link(
                                traceId: $0["traceId"] as! String, spanId: $0["spanId"] as! String,
                                traceState: $0["traceState"] as? String ?? "", attributes: attributes($0["attributes"])
                            )
                        },
                        status: ["unset", "ok", "error"][code],
                        statusMessage: status["message"] as? String ?? ""
                    ))
                }
            }
        }
    }
    return spans
}

private func attributes(_ keyValues: Any?) -> [String: Any] {
    var out: [String: Any] = [:]
    for kv in keyValues as? [[String: Any]] ?? [] {
        out[kv["key"] as! String] = anyValue(kv["value"] as? [String: Any] ?? [:])
    }
    return out
}

/// An OTLP/JSON AnyValue as a Swift value (int64 is written as a string).
private func anyValue(_ v: [String: Any]) -> Any {
    if let s = v["stringValue"] as? String { return s }
    if let b = v["boolValue"] as? Bool { return b }
    if let i = v["intValue"] as? String { return Int(i)! }
    if let i = v["intValue"] as? NSNumber { return i.intValue }
    if let d = v["doubleValue"] as? NSNumber { return d.doubleValue }
    if let a = v["arrayValue"] as? [String: Any] {
        return (a["values"] as? [[String: Any]] ?? []).map(anyValue)
    }
    return NSNull()
}

/// A tracer exporting to its own OTLP/JSON file, the environment ignored;
/// `spans()` flushes and reads back what it exported.
final class Traced {
    let url: URL
    let tracer: Tracer

    init(_ extra: [String: SettingValue] = [:], mask: Tracer.Mask? = nil) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("agtrace-swift-\(UUID().uuidString).jsonl")
        var settings: [String: SettingValue] = ["AGTRACE_FILE_PATH": .string(url.path)]
        settings.merge(extra) { _, new in new }
        tracer = try Tracer(serviceName: "swift-tests", exporters: ["file"], settings: settings, ignoreEnvironment: true, mask: mask)
    }

    func spans() throws -> [Exported] {
        XCTAssertTrue(tracer.isShutDown || tracer.flush(), "flush timed out")
        return try readSpans(url)
    }

    func one(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Exported {
        try Support.one(try spans(), name, file: file, line: line)
    }

    deinit {
        tracer.shutdown()
        try? FileManager.default.removeItem(at: url)
    }
}

enum Support {
    /// The only span called `name`; fails listing what there is otherwise.
    static func one(_ spans: [Exported], _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Exported {
        let found = spans.filter { $0.name == name }
        guard found.count == 1 else {
            XCTFail("want exactly one span \"\(name)\"; spans: \(spans.map(\.name).sorted())", file: file, line: line)
            throw XCTSkip("span missing")
        }
        return found[0]
    }
}

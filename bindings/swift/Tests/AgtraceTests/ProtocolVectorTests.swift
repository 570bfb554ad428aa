@testable import Agtrace
import Foundation
import XCTest

/// The encoder against the shared test vectors (ffi/protocol/vectors.json):
/// every vector the encoder can produce, written through the encoder's own
/// calls from the vector's JSON description, must give exactly its bytes.
final class ProtocolVectorTests: XCTestCase {
    /// LINK items encoded, so that the vectors are known to cover them.
    private var linkItems = 0

    func testTheEncoderWritesEveryEncodableVectorExactly() throws {
        let file = try vectorsFile()
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        XCTAssertEqual((root["version"] as? NSNumber)?.uint32Value, Codes.PROTOCOL_VERSION)
        let vectors = try XCTUnwrap(root["vectors"] as? [[String: Any]])
        var checked = 0
        for vector in vectors where vector["encode"] as? Bool ?? true {
            let name = vector["name"] as? String ?? "?"
            var bytes = Bytes()
            defer { bytes.release() }
            for record in try XCTUnwrap(vector["records"] as? [[String: Any]], name) {
                try encode(record, into: &bytes)
            }
            XCTAssertEqual(hex(bytes.bytes), vector["hex"] as? String, name)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 9, "encodable vectors in \(file.path)")
        XCTAssertGreaterThan(linkItems, 0, "LINK items in \(file.path)")
    }

    /// ffi/protocol/vectors.json in the clone this test file was assembled from.
    private func vectorsFile() throws -> URL {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("ffi/protocol/vectors.json")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        XCTFail("no ffi/protocol/vectors.json above \(#filePath)")
        throw XCTSkip("no vectors")
    }

    private func encode(_ record: [String: Any], into b: inout Bytes) throws {
        if let begin = record["begin"] as? [String: Any] {
            let kindName = try XCTUnwrap(begin["kind"] as? String)
            let kind = try XCTUnwrap(SpanKind.allCases.first { "\($0)" == kindName }, kindName)
            let at = b.begin(kind: kind.rawValue, parent: try parent(begin["parent"]), name: try XCTUnwrap(begin["name"] as? String))
            try items(begin["items"], into: &b)
            b.close(at)
        } else {
            let (code, body): (UInt8, [String: Any])
            if let end = record["end"] as? [String: Any] {
                (code, body) = (Codes.RECORD_END, end)
            } else {
                (code, body) = (Codes.RECORD_ABANDON, try XCTUnwrap(record["abandon"] as? [String: Any], "\(record)"))
            }
            let at = b.end(code, handle: try u64(body["handle"]), duration: try offset(body["duration_ns"]))
            try items(body["items"], into: &b)
            b.close(at)
        }
    }

    private func parent(_ json: Any?) throws -> ParentRef {
        if json as? String == "root" { return .root }
        let p = try XCTUnwrap(json as? [String: Any])
        if let context = p["context"] { return .context(try u64(context)) }
        let (local, fields) = p["local"] != nil ? (true, p["local"]) : (false, p["span"])
        let f = try XCTUnwrap(fields as? [String: Any])
        let trace = try bytes(f["trace_id"]), span = try bytes(f["span_id"])
        let ids = SpanIds(
            trace: trace.withUnsafeBytes { $0.loadUnaligned(as: (UInt64, UInt64).self) },
            span: span.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) },
            flags: UInt8(try u64(f["flags"]))
        )
        let inherit = try f["inherit"].map(u64)
        return local ? .local(ids, inherit: inherit) : .span(ids, inherit: inherit)
    }

    private func items(_ json: Any?, into b: inout Bytes) throws {
        for item in try XCTUnwrap(json as? [[String: Any]]) {
            let (kind, v) = try XCTUnwrap(item.first)
            let a = v as? [Any] ?? []
            let o = v as? [String: Any] ?? [:]
            switch kind {
            case "status":
                let code = ["unset": Codes.STATUS_UNSET, "ok": Codes.STATUS_OK, "error": Codes.STATUS_ERROR][a[0] as! String]!
                b.status(code, a[1] as! String)
            case "error": b.error(type: a[0] as! String, message: a[1] as! String, stacktrace: a[2] as! String)
            case "usage":
                let n = try a.map(u64)
                b.usage(n[0], n[1], n[2], n[3], n[4])
            case "llm":
                b.llm(provider: o["provider"] as! String, requestModel: o["request_model"] as! String,
                      responseModel: o["response_model"] as! String, responseId: o["response_id"] as! String,
                      finishReasons: o["finish_reasons"] as! [String])
            case "tool": b.tool(name: a[0] as! String, callId: a[1] as! String)
            case "agent": b.agent(name: a[0] as! String, id: a[1] as! String)
            case "messages": b.messages(input: a[0] as! String, output: a[1] as! String)
            case "trace":
                b.trace(userId: o["user_id"] as! String, sessionId: o["session_id"] as! String,
                        conversationId: o["conversation_id"] as! String, environment: o["environment"] as! String,
                        release: o["release"] as! String, tags: o["tags"] as! [String], metadata: o["metadata"] as! String)
            case "event":
                let attributes = try (o["attributes"] as! [[String: Any]]).map { try attribute($0) }
                XCTAssertTrue(b.event(name: o["name"] as! String, offset: try offset(o["offset_ns"]),
                                      attributes: attributes.map { (key: $0.0, value: $0.1) }).isEmpty)
            case "link":
                linkItems += 1
                let attributes = try (o["attributes"] as! [[String: Any]]).map { try attribute($0) }
                let trace = try bytes(o["trace_id"]), span = try bytes(o["span_id"])
                let ids = SpanIds(
                    trace: trace.withUnsafeBytes { $0.loadUnaligned(as: (UInt64, UInt64).self) },
                    span: span.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) },
                    flags: UInt8(try u64(o["flags"]))
                )
                XCTAssertTrue(b.link(ids, traceState: o["trace_state"] as! String,
                                     attributes: attributes.map { (key: $0.0, value: $0.1) }).isEmpty)
            case "first_chunk": b.firstChunk(offset: try offset(v))
            case "name": b.name(v as! String)
            default:
                let (key, value) = try attribute(item)
                XCTAssertNil(b.attribute(key, value))
            }
        }
    }

    /// An attribute item of the vectors as the SDK's attribute value.
    private func attribute(_ item: [String: Any]) throws -> (String, AttributeValue) {
        let (kind, v) = try XCTUnwrap(item.first)
        let a = try XCTUnwrap(v as? [Any])
        let key = a[0] as! String
        switch kind {
        case "string": return (key, .string(a[1] as! String))
        case "int": return (key, .int(try XCTUnwrap((a[1] as? NSNumber)?.intValue)))
        case "double": return (key, .double(try XCTUnwrap((a[1] as? NSNumber)?.doubleValue)))
        case "bool": return (key, .bool(a[1] as! Bool))
        case "string_array": return (key, .stringArray(a[1] as! [String]))
        case "int_array": return (key, .intArray((a[1] as! [NSNumber]).map(\.intValue)))
        case "double_array": return (key, .doubleArray((a[1] as! [NSNumber]).map(\.doubleValue)))
        case "bool_array": return (key, .boolArray(a[1] as! [Bool]))
        case "json": return (key, .json(a[1] as! String))
        default:
            XCTFail("unknown item \(kind)")
            throw XCTSkip("unknown item")
        }
    }

    /// Null means NOW.
    private func offset(_ json: Any?) throws -> UInt64 {
        json == nil || json is NSNull ? Bytes.now : try u64(json)
    }

    private func u64(_ json: Any?) throws -> UInt64 {
        try XCTUnwrap((json as? NSNumber)?.uint64Value, "\(String(describing: json))")
    }

    private func bytes(_ hexText: Any?) throws -> [UInt8] {
        let text = Array(try XCTUnwrap(hexText as? String).utf8)
        return stride(from: 0, to: text.count, by: 2).map { UInt8(String(decoding: text[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    private func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

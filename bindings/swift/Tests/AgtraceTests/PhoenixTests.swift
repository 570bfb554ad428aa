import Agtrace
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// An agent traced from Swift into a real OTLP receiver, Arize Phoenix, over
/// HTTP/protobuf and gRPC, and read back through Phoenix's REST API: names,
/// parent links across child tasks, GenAI attributes and rollups.
///
/// Run the suite under tests/phoenix_server.py, which starts Phoenix on
/// loopback and names it in `AGTRACE_TEST_PHOENIX_HTTP` and
/// `AGTRACE_TEST_PHOENIX_GRPC`. Without them the test fails: a missing
/// receiver must be a red test, not a silent skip.
final class PhoenixTests: XCTestCase {
    func testAnAgentExportedOverHTTPReadsBack() async throws {
        try await exportAndReadBack(protocol: "http/protobuf")
    }

    func testAnAgentExportedOverGRPCReadsBack() async throws {
        try await exportAndReadBack(protocol: "grpc")
    }

    private func endpoint(_ variable: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
            XCTFail("\(variable) is not set: run the suite through tests/phoenix_server.py " +
                "(\"$(tests/python-env.sh | tail -n1)/bin/python\" tests/phoenix_server.py tests/swift/run.sh build/swift swift test)")
            throw XCTSkip("no Phoenix")
        }
        return value
    }

    private func exportAndReadBack(protocol proto: String) async throws {
        let base = try endpoint("AGTRACE_TEST_PHOENIX_HTTP")
        let otlp = proto == "grpc" ? try endpoint("AGTRACE_TEST_PHOENIX_GRPC") : base
        let run = String(UUID().uuidString.prefix(8)).lowercased()
        let tracer = try Tracer(serviceName: "swift-e2e", exporters: ["otlp"], settings: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": .string(otlp), "OTEL_EXPORTER_OTLP_PROTOCOL": .string(proto),
        ], ignoreEnvironment: true)
        try await tracer.withSpan("invoke_agent \(run)", kind: .agent) { _ in
            tracer.withSpan("chat \(run)", kind: .llm) { llm in
                llm.setLLM(provider: "openai", requestModel: "gpt-4o", responseModel: "gpt-4o")
                llm.setUsage(inputTokens: 120, outputTokens: 40)
            }
            try await withThrowingTaskGroup(of: String.self) { group in
                for city in ["Oslo", "Rome"] {
                    group.addTask {
                        await tracer.withSpan("tool \(run)", kind: .tool, attributes: ["city": .string(city)]) { _ in
                            await Task.yield()
                            return "sunny in \(city)"
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        XCTAssertTrue(tracer.shutdown(), "spans left undelivered: \(tracer.stats())")
        XCTAssertEqual(tracer.stats().exported, 4)

        let spans = try await spansNamed(base, run, count: 4)
        let agent = try XCTUnwrap(spans.first { $0["name"] as? String == "invoke_agent \(run)" })
        let agentContext = agent["context"] as? [String: Any] ?? [:]
        XCTAssertTrue(agent["parent_id"] == nil || agent["parent_id"] is NSNull)
        for child in spans where child["name"] as? String != "invoke_agent \(run)" {
            XCTAssertEqual(child["parent_id"] as? String, agentContext["span_id"] as? String, "\(child["name"] ?? "")")
            XCTAssertEqual((child["context"] as? [String: Any])?["trace_id"] as? String, agentContext["trace_id"] as? String)
        }
        let agentAttributes = agent["attributes"] as? [String: Any] ?? [:]
        XCTAssertEqual((agentAttributes["agtrace.usage.input_tokens"] as? NSNumber)?.intValue, 120, "\(agentAttributes)")
        XCTAssertEqual((agentAttributes["agtrace.usage.output_tokens"] as? NSNumber)?.intValue, 40)
        let llm = try XCTUnwrap(spans.first { $0["name"] as? String == "chat \(run)" })["attributes"] as? [String: Any] ?? [:]
        XCTAssertEqual(llm["gen_ai.provider.name"] as? String, "openai")
        XCTAssertEqual(llm["gen_ai.request.model"] as? String, "gpt-4o")
        let cities = Set(spans.filter { $0["name"] as? String == "tool \(run)" }
            .compactMap { ($0["attributes"] as? [String: Any])?["city"] as? String })
        XCTAssertEqual(cities, ["Oslo", "Rome"])
    }

    /// Phoenix's spans whose name ends with `run`, once `count` of them arrived (30 s at most).
    private func spansNamed(_ base: String, _ run: String, count: Int) async throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(30)
        var found: [[String: Any]] = []
        while Date() < deadline {
            found = try await allSpans(base).filter { ($0["name"] as? String ?? "").hasSuffix(" \(run)") }
            if found.count >= count { break }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        XCTAssertEqual(found.count, count, "spans of run \(run) at Phoenix: \(found.map { $0["name"] ?? "" })")
        return found
    }

    private func allSpans(_ base: String) async throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        var cursor: String?
        repeat {
            var components = URLComponents(string: "\(base)/v1/projects/default/spans")!
            components.queryItems = [URLQueryItem(name: "limit", value: "1000")]
            if let cursor { components.queryItems?.append(URLQueryItem(name: "cursor", value: cursor)) }
            let (data, status) = try await get(components.url!)
            if status == 404 { return out } // no span has created the project yet
            XCTAssertEqual(status, 200, String(decoding: data, as: UTF8.self))
            let body = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            out += body["data"] as? [[String: Any]] ?? []
            cursor = body["next_cursor"] as? String
        } while cursor != nil
        return out
    }

    private func get(_ url: URL) async throws -> (Data, Int) {
        var request = URLRequest(url: url)
        request.timeoutInterval = 10
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { return continuation.resume(throwing: error) }
                continuation.resume(returning: (data ?? Data(), (response as? HTTPURLResponse)?.statusCode ?? 0))
            }.resume()
        }
    }
}

import Agtrace
import XCTest

private struct PaymentDeclined: Error, CustomStringConvertible {
    var description: String { "card declined" }
}

/// Errors: those thrown by a span's body are recorded and rethrown; bad
/// input gives one clear AgtraceError naming what was wrong.
final class ErrorsTests: XCTestCase {
    func testAnErrorThrownInTheBodyIsRecordedAndRethrown() async throws {
        let t = try Traced()
        XCTAssertThrowsError(try t.tracer.withSpan("sync") { _ in throw PaymentDeclined() }) {
            XCTAssertTrue($0 is PaymentDeclined)
        }
        do {
            try await t.tracer.withSpan("async") { _ in
                try await Task.sleep(nanoseconds: 1000)
                throw PaymentDeclined()
            }
            XCTFail("not rethrown")
        } catch is PaymentDeclined {}
        for name in ["sync", "async"] {
            let span = try t.one(name)
            XCTAssertEqual(span.status, "error", name)
            let event = try span.event("exception")
            XCTAssertEqual(event["exception.message"] as? String, "card declined", name)
            XCTAssertTrue((event["exception.type"] as? String ?? "").hasSuffix("PaymentDeclined"), "\(event)")
        }
    }

    func testBadSpanInputIsAClearInvalidArgument() throws {
        let t = try Traced()
        assertInvalid("span name must not be empty") { try t.tracer.withSpan("") { _ in } }
        assertInvalid("contains a NUL character") { try t.tracer.withSpan("a\0b") { _ in } }
        assertInvalid("attribute key \"k\\0\" contains a NUL character") {
            _ = try t.tracer.startSpan("s", attributes: ["k\0": 1])
        }
        assertInvalid("not JSON") { _ = try t.tracer.startSpan("s", attributes: ["k": .json("{nope")]) }
        try t.tracer.withSpan("usage") { span in
            assertInvalid("token counts must not be negative, got -5") { try span.setUsage(inputTokens: -5) }
            assertInvalid("tool name must not be empty") { try span.setTool(name: "") }
            assertInvalid("event name must not be empty") { try span.addEvent("") }
            assertInvalid("is not JSON-serializable") { try span.setMessages(input: Date()) }
        }
        // The free functions check the same way, with or without a default tracer.
        assertInvalid("span name must not be empty") { try withSpan("") { _ in } }
        // The span with bad calls inside is still exported, without them.
        XCTAssertNil(try t.one("usage").attributes["gen_ai.usage.input_tokens"])
    }

    func testBadSettingsAreAClearInvalidConfig() {
        XCTAssertThrowsError(try Tracer(exporters: ["none"], settings: ["AGTRACE_CAPTURE_CONTNET": true], ignoreEnvironment: true)) {
            guard case let .invalidConfig(detail) = $0 as? AgtraceError else { return XCTFail("\($0)") }
            XCTAssertTrue(detail.contains("unknown setting \"AGTRACE_CAPTURE_CONTNET\""), detail)
            XCTAssertTrue(detail.contains("AGTRACE_CAPTURE_CONTENT"), detail)
        }
        XCTAssertThrowsError(try Tracer(exporters: ["none"], settings: ["OTEL_BSP_MAX_QUEUE_SIZE": "lots"], ignoreEnvironment: true)) {
            guard case let .invalidConfig(detail) = $0 as? AgtraceError else { return XCTFail("\($0)") }
            XCTAssertTrue(detail.contains("OTEL_BSP_MAX_QUEUE_SIZE"), detail)
            XCTAssertTrue(String(describing: $0).hasPrefix("agtrace: invalid configuration: "), "\($0)")
        }
        XCTAssertThrowsError(try Tracer(exporters: ["carrier-pigeon"], ignoreEnvironment: true)) {
            XCTAssertTrue(String(describing: $0).contains("carrier-pigeon"), "\($0)")
        }
    }

    private func assertInvalid(_ fragment: String, file: StaticString = #filePath, line: UInt = #line, _ call: () throws -> Void) {
        XCTAssertThrowsError(try call(), file: file, line: line) {
            guard case let .invalidArgument(detail) = $0 as? AgtraceError else {
                return XCTFail("want invalidArgument, got \($0)", file: file, line: line)
            }
            XCTAssertTrue(detail.contains(fragment), "\"\(detail)\" lacks \"\(fragment)\"", file: file, line: line)
        }
    }
}

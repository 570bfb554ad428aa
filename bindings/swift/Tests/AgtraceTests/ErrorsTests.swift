import Agtrace
import Foundation
import XCTest

private struct PaymentDeclined: Error, CustomStringConvertible {
    var description: String { "card declined" }
}

private struct ToolError: Error {
    let message: String
}

private struct Localized: LocalizedError {
    var errorDescription: String? { "the tool timed out" }
}

private struct LocalizedWithoutDescription: LocalizedError {}

private enum LookupError: Error {
    case notFound(city: String)
}

/// Errors: those thrown by a span's body are recorded and rethrown, with
/// the message their author wrote and their type; bad settings are a clear
/// AgtraceError naming the setting.
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
            XCTAssertEqual(event["exception.type"] as? String, "AgtraceTests.PaymentDeclined", name)
        }
    }

    /// What each kind of error reads as: the counterpart of Python's
    /// `str(exc)` and Kotlin's `Throwable.message`, with the module-qualified
    /// type name as Python (`module.QualName`) and Kotlin (`javaClass.name`)
    /// record theirs.
    func testErrorsReadAsTheirAuthorsWroteThem() throws {
        let t = try Traced()
        let cases: [(String, any Error, String, String)] = [
            ("localized", Localized(), "the tool timed out", "AgtraceTests.Localized"),
            ("localized, no description", LocalizedWithoutDescription(), "LocalizedWithoutDescription()",
             "AgtraceTests.LocalizedWithoutDescription"),
            ("nserror, described", NSError(domain: "billing", code: 7, userInfo: [NSLocalizedDescriptionKey: "quota exceeded"]),
             "quota exceeded", "Foundation.NSError"),
            ("nserror", NSError(domain: "billing", code: 7), "The operation could not be completed. (billing error 7.)",
             "Foundation.NSError"),
            ("struct", ToolError(message: "boom"), "ToolError(message: \"boom\")", "AgtraceTests.ToolError"),
            ("enum", LookupError.notFound(city: "Atlantis"), "notFound(city: \"Atlantis\")", "AgtraceTests.LookupError"),
        ]
        for (name, error, _, _) in cases {
            t.tracer.withSpan(name) { $0.recordError(error) }
        }
        let spans = try t.spans()
        for (name, _, message, type) in cases {
            let event = try Support.one(spans, name).event("exception")
            XCTAssertEqual(event["exception.message"] as? String, message, name)
            XCTAssertEqual(event["exception.type"] as? String, type, name)
        }
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
}

import Agtrace
import Foundation
import XCTest

/// No span call throws into the application: misuse leaves out what was
/// misused, is counted in `stats().misuse` and logged once per kind; strict
/// mode traps. Setup still throws, naming the setting.
final class MisuseTests: XCTestCase {
    func testBadNamesAreLeftOutAndCountedAndTheRestIsRecorded() throws {
        let t = try Traced()
        let ran = t.tracer.withSpan("") { span in
            span.setAttribute("", "empty key")
            span.setAttribute("k\u{1}", "control character")
            span.setAttributes(["good": 1, "bad\0": 2])
            span.addEvent("")
            span.addEvent("retry", attributes: ["attempt": 2, "\0": 3])
            span.setTool(name: "")
            span.setAgent(name: "a\0b")
            span.updateName("")
            return "ran"
        }
        XCTAssertEqual(ran, "ran", "the body runs and returns as without telemetry")
        let span = try t.one("<unnamed span>")
        XCTAssertEqual(span.attributes["good"] as? Int, 1)
        XCTAssertNil(span.attributes[""])
        XCTAssertNil(span.attributes["gen_ai.tool.name"])
        XCTAssertNil(span.attributes["gen_ai.agent.name"])
        XCTAssertEqual(span.events.map(\.name), ["retry"])
        XCTAssertEqual(try span.event("retry")["attempt"] as? Int, 2)
        XCTAssertEqual(try span.event("retry").count, 1)
        XCTAssertEqual(t.tracer.stats().misuse["bad_name"], 9)
    }

    func testAttributesOfAStartThatCannotBeSentAreLeftOut() throws {
        let t = try Traced()
        let span = t.tracer.startSpan("start", attributes: ["ok": 1, "k\0": 2, "j": .json("{nope")])
        span.end()
        let a = try t.one("start").attributes
        XCTAssertEqual(a["ok"] as? Int, 1)
        XCTAssertNil(a["j"])
        let misuse = t.tracer.stats().misuse
        XCTAssertEqual(misuse["bad_name"], 1)
        XCTAssertEqual(misuse["bad_value"], 1)
    }

    func testEndingTwiceAndRecordingAfterTheEndAreCounted() throws {
        let t = try Traced()
        let span = t.tracer.startSpan("twice")
        span.end()
        span.end()
        span.setAttribute("late", "ignored")
        XCTAssertNil(try t.one("twice").attributes["late"])
        XCTAssertEqual(t.tracer.stats().misuse["ended_twice"], 2)
    }

    func testNegativeTokenCountsAreABadValue() throws {
        let t = try Traced()
        t.tracer.withSpan("usage", kind: .llm) { $0.setUsage(inputTokens: -5, outputTokens: 3) }
        XCTAssertNil(try t.one("usage").attributes["gen_ai.usage.output_tokens"])
        XCTAssertEqual(t.tracer.stats().misuse["bad_value"], 1)
    }

    func testStrictModeTrapsOnMisuse() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("agtrace-strict-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        let process = Process()
        process.executableURL = Bundle.main.bundleURL.appendingPathComponent("AgtraceExitProbe")
        process.arguments = [url.path, "strict"]
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let said = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, said)
        XCTAssertTrue(said.contains("agtrace: strict mode: attribute keys must not be empty"), said)
        XCTAssertTrue(try Traced(["AGTRACE_STRICT": true]).tracer.strict)
        XCTAssertFalse(try Traced().tracer.strict, "off by default")
    }

    func testSetupStillThrowsNamingTheSetting() {
        XCTAssertThrowsError(try Tracer(exporters: ["none"], settings: ["AGTRACE_STRICT": "sometimes"], ignoreEnvironment: true)) {
            guard case let .invalidConfig(detail) = $0 as? AgtraceError else { return XCTFail("\($0)") }
            XCTAssertTrue(detail.contains("AGTRACE_STRICT"), detail)
        }
        XCTAssertThrowsError(try Tracer(exporters: ["none"], settings: ["AGTRACE_CAPTURE_IO": "sometimes"], ignoreEnvironment: true)) {
            XCTAssertTrue(String(describing: $0).contains("AGTRACE_CAPTURE_IO"), "\($0)")
        }
    }
}
